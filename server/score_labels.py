"""What a response's stored pointwise scores mean: frozen records, which scores count, humans over the judge.

The pointwise half of :mod:`server.labels` (same records-not-rows idea, same version rule), kept apart
because scores are about one response, not a pair. Export and agreement read scores only through here.

- **Records**: a :class:`ScoreLabel` is a judge's score (a verdict of kind ``pointwise``) or a person's
  (a ``scores`` row), with its levels per criterion and ``overall``, its rubric version, failed or not.
- **One rubric name** (:func:`counted_scores`): the one asked for (``NAME`` or ``NAME@VERSION``), else
  the rubric of the newest score in the project; scores under other rubric names never count, so a
  judge's and a person's scores are only ever compared under one rubric.
- **Which version counts** per scorer: exactly the one asked for, else the newest **by semver**
  (:func:`server.labels.counted_versions`, ``1.10.0`` beats ``1.9.0``) of that rubric the scorer used.
- **A response's score** (:func:`response_scores`): the mean of the people's counted scores where any
  person scored it (``humans``), else the chosen judge's newest successful counted score (``judge``).

>>> v = RubricVersionRef(1, "sft-quality", "1.0.0")
>>> found = [ScoreLabel(1, 7, "j", False, {"overall": 2}, rubric=v),
...          ScoreLabel(2, 7, "ann", True, {"overall": 5}, rubric=v),
...          ScoreLabel(3, 8, "j", False, {"overall": 4}, rubric=v)]
>>> picked = response_scores(counted_scores(found), judge="j")
>>> (picked[7].value, picked[7].source), (picked[8].value, picked[8].source)
((5.0, 'humans'), (4.0, 'judge'))
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from statistics import fmean
from typing import Any, Literal

from server.labels import RubricVersionRef, counted_versions, rubric_refs
from server.storage import Repository

ScoreSource = Literal["humans", "judge"]


@dataclass(frozen=True, slots=True)
class ScoreLabel:
    """One judge's or one person's scores of a response: level per criterion, and ``overall``."""

    id: int
    response_id: int
    scorer: str  # the judge model, or the annotator's name
    human: bool
    levels: Mapping[str, int] = field(default_factory=dict)
    failed: bool = False
    rubric: RubricVersionRef | None = None
    created_at: datetime | None = None

    def level(self, criterion: str | None = None) -> int | None:
        """The overall level, or one criterion's (None: failed, or no level for it)."""
        value = None if self.failed else self.levels.get(criterion or "overall")
        return value if isinstance(value, int) else None

    @property
    def who(self) -> str:
        return f"human:{self.scorer}" if self.human else f"judge:{self.scorer}"


@dataclass(frozen=True, slots=True)
class ResponseScore:
    """The score a response counts with, and where it came from."""

    value: float
    source: ScoreSource
    scorers: tuple[str, ...]
    rubric: str | None


def counted_scores(found: Sequence[ScoreLabel], rubric: RubricVersionRef | str | None = None) -> list[ScoreLabel]:
    """The scores that count (see the module docstring): one rubric name, one version per scorer.

    Args:
        found: a project's scores (any order).
        rubric: a version (counts exactly), a bare rubric name (its newest per scorer), or None.
    """
    if isinstance(rubric, RubricVersionRef):
        return [s for s in found if s.rubric == rubric]
    versioned = [s for s in found if s.rubric is not None]
    if not versioned:
        return []
    name = rubric or max(versioned, key=lambda s: (s.created_at or datetime.min, s.id)).rubric.name  # type: ignore[union-attr]
    named = [s for s in versioned if s.rubric.name == name]  # type: ignore[union-attr]
    chosen = counted_versions([(s.who, s.rubric, s.id) for s in named])
    return [s for s in named if chosen.get(s.who) == s.rubric]


def scorers(scores: Iterable[ScoreLabel], *, human: bool) -> list[str]:
    """The judges (or people) among these scores, sorted."""
    return sorted({s.scorer for s in scores if s.human == human})


def response_scores(
    counted: Iterable[ScoreLabel], *, judge: str | None = None, criterion: str | None = None
) -> dict[int, ResponseScore]:
    """Each scored response's score: the people's mean where they scored it, else `judge`'s newest."""
    people: dict[int, list[ScoreLabel]] = {}
    machine: dict[int, ScoreLabel] = {}
    for score in sorted(counted, key=lambda s: s.id):
        if score.level(criterion) is None:
            continue
        if score.human:
            people.setdefault(score.response_id, []).append(score)
        elif judge is not None and score.scorer == judge:
            machine[score.response_id] = score  # in id order: the newest wins
    picked = {
        rid: ResponseScore(
            fmean(s.level(criterion) for s in found),  # type: ignore[misc]
            "humans",
            tuple(s.scorer for s in found),
            found[0].rubric.ref if found[0].rubric else None,
        )
        for rid, found in people.items()
    }
    for rid, score in machine.items():
        if rid not in picked:
            level = score.level(criterion)
            picked[rid] = ResponseScore(
                float(level or 0), "judge", (score.scorer,), score.rubric.ref if score.rubric else None
            )
    return picked


def read_scores(repo: Repository, project_id: int) -> list[ScoreLabel]:
    """Every pointwise score of a project, judges' and people's, as :class:`ScoreLabel` records."""
    judged, people = repo.pointwise_verdict_rows(project_id), repo.human_score_rows(project_id)
    refs = rubric_refs(repo, [r.rubric_version_id for r in [*judged, *people]])
    labels = [
        ScoreLabel(r.id, r.response_id, r.judge_model, False, dict(r.scores or {}), bool(r.failed),
                   refs.get(r.rubric_version_id), r.created_at)
        for r in judged
    ]  # fmt: skip
    labels += [
        ScoreLabel(
            r.id, r.response_id, r.annotator, True, _levels(r), False, refs.get(r.rubric_version_id), r.created_at
        )
        for r in people
    ]
    return labels


def _levels(row: Any) -> dict[str, int]:
    levels = dict(row.criteria or {})
    if row.overall is not None:
        levels["overall"] = row.overall
    return levels
