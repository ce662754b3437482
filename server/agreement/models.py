"""The agreement report's JSON: what a report is asked for, and every part of what it answers.

A figure with a bootstrap interval is one :class:`Estimate` (``{"value", "low", "high"}``), never a
value and a twin ``_ci`` field. How intervals are drawn is one :class:`Bootstrap` value.

>>> Estimate.of(0.5, None).model_dump()
{'value': 0.5, 'low': None, 'high': None}
>>> ReportOptions(rubric="hhh@1.0.0").model_dump()  # doctest: +NORMALIZE_WHITESPACE
{'rubric': 'hhh@1.0.0', 'criterion': None, 'failed': 'tie', 'resamples': 1000, 'confidence': 0.95, 'seed': 0,
 'hotspots': 20}
"""

from __future__ import annotations

from datetime import datetime
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

from rubrics.outcomes import Outcome
from server.agreement.estimate import Bootstrap, Estimate, number  # noqa: F401  (number: re-exported)
from server.routing.audit import AuditAgreement

METRICS = ("accuracy", "macro_precision", "macro_recall", "macro_f1", "cohen_kappa")


class ReportOptions(BaseModel):
    """What a report is about and how its intervals are drawn."""

    model_config = ConfigDict(extra="forbid")
    rubric: str | None = Field(
        default=None,
        description="NAME@VERSION (or NAME: its newest version): only verdicts under it; rankings under it or none.",
    )
    criterion: str | None = Field(default=None, description="Score this criterion's outcomes instead of the overall.")
    failed: Literal["tie", "exclude"] = Field(
        default="tie", description="A pair whose judge verdicts all failed counts as a tie, or is left out."
    )
    resamples: int = Field(default=1000, ge=0, le=20_000, description="Bootstrap resamples (0: no intervals).")
    confidence: float = Field(default=0.95, gt=0.5, lt=1, description="Coverage of the intervals.")
    seed: int = Field(default=0, description="Seed of the bootstrap.")
    hotspots: int = Field(default=20, ge=0, le=1000, description="How many disagreement hotspots to list.")

    @property
    def bootstrap(self) -> Bootstrap:
        return Bootstrap(resamples=self.resamples, confidence=self.confidence, seed=self.seed)

    def settings(self) -> ReportSettings:
        return ReportSettings(failed=self.failed, **self.bootstrap.model_dump())


class ProjectRef(BaseModel):
    id: int
    name: str


class Counts(BaseModel):
    pairs: int
    rankings: int = Field(description="Rankings counted (after the rubric and criterion filters).")
    verdicts: int = Field(description="Pairwise verdicts counted, failed ones included.")
    annotators: int
    judges: int
    references: dict[str, int] = Field(description="Pairs per human reference outcome (a, b, tie).")


class ReportSettings(BaseModel):
    failed: Literal["tie", "exclude"]
    resamples: int
    confidence: float
    seed: int
    level: Literal["nominal"] = "nominal"
    reference: str = "adjudicated outcome, else the strict majority of human votes"


class PairwiseKappa(BaseModel):
    """Two annotators over the pairs both ranked."""

    annotators: tuple[str, str]
    n: int
    cohen_kappa: Estimate
    percent_agreement: float | None


class HumanAgreement(BaseModel):
    """People with each other, over the pairs ranked by at least two of them."""

    criterion: str | None = None
    annotators: list[str]
    n: int = Field(description="Pairs with at least two votes.")
    pairwise: list[PairwiseKappa]
    fleiss_kappa: Estimate
    fleiss_n: int = Field(description="Pairs in Fleiss' kappa: those with the most common number of votes.")
    krippendorff_alpha: Estimate
    percent_agreement: Estimate


class HumanHuman(HumanAgreement):
    criteria: list[HumanAgreement] = Field(default_factory=list, description="The same, per criterion.")


class JudgeHuman(BaseModel):
    """One judge against the human reference (adjudication, else strict majority)."""

    judge: str
    rubric: str | None
    criterion: str | None = None
    n: int
    failed: int = Field(description="Pairs with a reference where every verdict of the judge failed.")
    failed_as: Literal["tie", "excluded"]
    accuracy: Estimate
    macro_precision: Estimate
    macro_recall: Estimate
    macro_f1: Estimate
    cohen_kappa: Estimate
    krippendorff_alpha_with_judge: float | None = Field(
        description="Alpha over the human votes with the judge added as one more rater."
    )


class JudgeAnnotator(BaseModel):
    """One judge against one annotator, over the pairs both judged."""

    judge: str
    rubric: str | None
    annotator: str
    n: int
    accuracy: float | None
    cohen_kappa: float | None


class BiasCounts(BaseModel):
    both_orders: int = Field(description="Pairs judged in both presentation orders.")
    consistent: int
    decisive_verdicts: int = Field(description="Single-order verdicts that picked a side.")
    first_position_wins: int
    judge_decisive_unequal: int = Field(description="Pairs of unequal length where the judge picked a side.")
    humans_decisive_unequal: int = Field(description="The same pairs where the human reference picked a side.")


class JudgeBias(BaseModel):
    """Position consistency, first-position wins and length preference of one judge."""

    judge: str
    rubric: str | None
    n: int = Field(description="Pairs with at least one usable verdict of the judge.")
    consistency: Estimate = Field(description="Share of pairs judged in both orders with the same outcome.")
    first_position_rate: Estimate = Field(description="Share of decisive verdicts won by the response shown first.")
    longer_wins_judge: Estimate = Field(description="Share of the judge's decisive outcomes won by the longer one.")
    longer_wins_humans: Estimate = Field(description="The same for the human reference, on the same pairs.")
    counts: BiasCounts


class HotspotVote(BaseModel):
    annotator: str
    outcome: Outcome


class Hotspot(BaseModel):
    """A pair worth a second look: people split, or judges disagree with them."""

    pair: int
    key: str
    disagreement: float = Field(description="1 − (largest share of one outcome among the human votes).")
    judges_disagreeing: int
    reference: Outcome | None
    votes: dict[str, int] = Field(description="Human votes per outcome (a, b, tie).")
    rankings: list[HotspotVote]
    judges: dict[str, Outcome | None] = Field(description="Each judge that judged the pair; None: its verdicts failed.")


class AnchoringStats(BaseModel):
    n: int
    assisted: Estimate = Field(description="Share of assisted rankings that agree with the judge.")
    blind: Estimate = Field(description="Share of blind rankings that agree with the judge.")
    difference: Estimate = Field(description="assisted − blind; above 0 suggests anchoring on the judge.")
    counts: dict[str, int]


class AnchoringAnnotator(AnchoringStats):
    annotator: str


class Anchoring(AnchoringStats):
    """Agreement with the judge shown in assisted mode, assisted vs blind, overall and per annotator."""

    judge: str
    per_annotator: list[AnchoringAnnotator] = Field(default_factory=list)


class AnnotatorStats(BaseModel):
    """One annotator: agreement with the others and with gold pairs, tie rate, time per item."""

    annotator: str
    n: int
    tie_rate: float | None
    median_seconds: float | None
    modes: dict[str, int]
    shared: int = Field(description="Pairs this annotator ranked along with at least one other.")
    agreement_with_others: float | None = Field(description="Share of the others' votes on shared pairs that agree.")
    kappa_with_others: float | None = Field(description="Cohen's kappa against the others' strict majority.")
    gold_n: int
    gold_accuracy: float | None


class VersionJudge(BaseModel):
    judge: str
    n: int
    accuracy: float | None
    macro_f1: float | None
    cohen_kappa: float | None


class RubricVersionRow(BaseModel):
    """Judges under one rubric version (None: verdicts under no rubric) against the human reference."""

    rubric: str | None
    rankings: int
    verdicts: int
    krippendorff_alpha: float | None = Field(description="Humans' alpha over the rankings counted for this version.")
    judges: list[VersionJudge]


class PointwiseAgreement(BaseModel):
    """One judge's scores against people's on one criterion (None: the overall level)."""

    judge: str
    rubric: str | None
    criterion: str | None
    levels: int = Field(description="N of the 1..N scale.")
    n: int = Field(description="Responses scored by the judge and at least one person.")
    annotators: int
    exact: float | None = Field(description="Share of responses where the judge's level is the people's reference.")
    weighted_kappa: Estimate = Field(description="Quadratic-weighted Cohen's kappa, judge vs the people's reference.")
    krippendorff_alpha_with_judge: float | None = Field(description="Ordinal alpha, people plus the judge as a rater.")
    krippendorff_alpha_humans: float | None = Field(description="Ordinal alpha over the people alone.")


class StoredRef(BaseModel):
    """Where a served report comes from: its stored computation and whether the labels changed since."""

    fingerprint: str = Field(description="Digest of the label state and parameters it was computed from.")
    computed_at: datetime
    job: str | None = Field(description="The agreement job that computed it.")
    read_s: float = Field(description="Seconds its computation spent reading the labels.")
    compute_s: float = Field(description="Seconds it spent computing from them.")
    stale: bool = Field(default=False, description="The labels changed since; `refresh` is the job recomputing it.")
    refresh: str | None = None


class Acceptance(BaseModel):
    """One reviewer's (or everyone's) acceptance of the shown suggestion, against blind agreement."""

    annotator: str | None = Field(description="None: every reviewer pooled.")
    counts: dict[str, int] = Field(description="assisted / blind rankings that had a suggestion to compare with.")
    acceptance: Estimate = Field(description="Share of assisted rankings equal to the suggestion shown.")
    blind_agreement: Estimate = Field(description="Share of blind rankings equal to the suggestion not shown.")
    excess: Estimate = Field(description="acceptance − blind agreement.")
    rubber_stamp: bool = Field(description="The excess interval lies wholly above 0.")
    seconds_accepting: float | None = Field(description="Median time on item, assisted rankings that accepted.")
    seconds_overriding: float | None = Field(description="Median time on item, assisted rankings that overrode.")
    n_accepting: int
    n_overriding: int


class TaxonomyRow(BaseModel):
    """Skips and adjudications by reason under one rubric version (None: no rubric)."""

    rubric: str | None
    assignments: int = Field(description="Assignments made under this version (the rates' denominator).")
    skips: dict[str, int]
    adjudications: dict[str, int]
    rates: dict[str, float | None] = Field(description="(skips + adjudications) of a reason per assignment.")


class ReviewSignals(BaseModel):
    overall: Acceptance | None
    per_annotator: list[Acceptance]
    rubber_stamping: list[str] = Field(description="Reviewers flagged (their excess interval is above 0).")
    taxonomy: dict[str, int] = Field(description="Skips and adjudications together, by reason.")
    by_rubric: list[TaxonomyRow] = Field(description="Per rubric version, oldest first (by semver).")


class AgreementReport(BaseModel):
    """`GET /projects/{id}/agreement` and `rubricate agreement --json`."""

    project: ProjectRef
    rubric: str | None
    criterion: str | None
    settings: ReportSettings
    counts: Counts
    annotators: list[AnnotatorStats]
    human_human: HumanHuman
    judge_human: list[JudgeHuman]
    judge_annotator: list[JudgeAnnotator]
    judge_bias: list[JudgeBias]
    hotspots: list[Hotspot]
    anchoring: list[Anchoring]
    rubric_versions: list[RubricVersionRow]
    audit: list[AuditAgreement] = Field(
        default_factory=list, description="certified routing: per calibration routed, agreement on audited pairs"
    )
    pointwise: list[PointwiseAgreement] = Field(
        default_factory=list, description="pointwise scores: each judge against people, per criterion (ordinal)"
    )
    stored: StoredRef | None = Field(default=None, description="The stored computation this report was served from.")
    review_signals: ReviewSignals | None = Field(
        default=None, description="acceptance of the judge's suggestions, rubber-stamping, skip/adjudication taxonomy"
    )


class Scores(BaseModel):
    accuracy: float | None
    macro_precision: float | None
    macro_recall: float | None
    macro_f1: float | None
    cohen_kappa: float | None


class ScoreChange(BaseModel):
    """new − old per metric, with the paired interval."""

    accuracy: Estimate
    macro_precision: Estimate
    macro_recall: Estimate
    macro_f1: Estimate
    cohen_kappa: Estimate


class CompareJudge(BaseModel):
    """One judge under two rubric versions on the same pairs; `change` is new − old."""

    judge: str
    n: int
    old: Scores
    new: Scores
    change: ScoreChange
    fixed: int = Field(description="Pairs wrong under old and right under new.")
    broken: int = Field(description="Pairs right under old and wrong under new.")


class CompareReport(BaseModel):
    """`GET /projects/{id}/agreement/compare` and `rubricate agreement compare --json`."""

    project: ProjectRef
    old: str
    new: str
    criterion: str | None
    settings: ReportSettings
    judges: list[CompareJudge]
