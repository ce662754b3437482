"""The leaderboard's JSON: the options it was asked with, one row per model, one per pair of models.

`--json` and `GET /projects/{id}/leaderboard` print a :class:`Leaderboard`: `models` (rating, its
interval, win rate and length-controlled win rate, against the baseline when one is named) sorted by
rating, and `pairs` with `win` counted for `a`.
"""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

from server.leaderboard.prediction import PpiWinRate

Source = Literal["humans", "judge", "certified"]


class LeaderboardOptions(BaseModel):
    """What the CLI and the API ask: whose labels, which judge, the baseline, the bootstrap."""

    model_config = ConfigDict(extra="forbid")
    source: Source = Field(
        default="humans",
        description="humans (adjudication, else strict majority) | judge | certified, as `export --source` reads them.",
    )
    judge: str | None = Field(default=None, description="Judge model for --source judge (needed with several).")
    rubric: str | None = Field(default=None, description="Only labels under NAME@VERSION (or NAME: its newest).")
    baseline: str | None = Field(default=None, description="Win rates against this model (else against all).")
    resamples: int = Field(default=1000, ge=0, le=10_000, description="Bootstrap resamples of the ratings' interval.")
    confidence: float = Field(default=0.95, gt=0.5, lt=1.0)
    seed: int = 0
    calibration: int | None = Field(
        default=None, ge=1, le=2**63 - 1, description="A routing calibration: add PPI++ win rates from its judges."
    )
    delta: float = Field(default=0.1, gt=0.0, lt=1.0, description="PPI intervals at two-sided level 1−δ.")


class ModelRow(BaseModel):
    """A model's standing: Bradley–Terry log-strength with its interval, and its win rates (ties ½)."""

    model: str
    rating: float
    rating_ci: tuple[float, float] | None = Field(description="Percentile bootstrap interval (null without resamples).")
    win_rate: float | None = Field(description="Share won, a tie half: against the baseline, else against all.")
    lc_win_rate: float | None = Field(description="AlpacaEval 2's length-controlled win rate, same opponents.")
    comparisons: int
    wins: int
    losses: int
    ties: int
    ppi_win_rate: PpiWinRate | None = Field(
        default=None, description="With a calibration: the judge's win rate corrected by the human labels (PPI++)."
    )


class PairRow(BaseModel):
    """How often model `a` beat (`win`), lost to and tied with model `b`."""

    a: str
    b: str
    win: int
    lose: int
    tie: int


class LeftOut(BaseModel):
    """Pairs that are no comparison of two models, by why."""

    unlabelled: int = Field(0, description="No label under the chosen source (no strict majority, no judge label, …).")
    unknown_model: int = Field(0, description="A side whose model the store does not know.")
    same_model: int = Field(0, description="Both responses by one model (e.g. two drafts).")


class Leaderboard(BaseModel):
    """Model comparisons from a project's labels."""

    project: str
    source: Source
    judge: str | None
    baseline: str | None
    ties: str = "half a win for each side in ratings and win rates; counted as ties in pairs"
    comparisons: int
    left_out: LeftOut
    resamples: int
    confidence: float
    calibration: int | None = None
    models: list[ModelRow]
    pairs: list[PairRow]
