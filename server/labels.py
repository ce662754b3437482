"""What a pair's stored labels mean: frozen records, and the one rule for which verdicts count.

Agreement, export, the review hint, disputes and jobs read labels only through this module, so they
agree about a judge's label for a pair. The records hold what a pair carries — rankings (mode, rubric
version, annotator), pairwise verdicts (judge, order, rubric version, failed or not), adjudication and
gold — without texts, raw output or usage.

The rule, in one place:

- **Which rubric version counts** for a judge (:func:`counted_versions`): the one asked for, when a
  caller names one (resolved by :func:`server.rubric_registry.resolve`, semver for a bare name).
  Otherwise the newest version **by semver** (:func:`rubrics.versions.version_key`, so ``1.10.0`` beats
  ``1.9.0``) of the rubric the judge was last run with; versions of different rubric names are never
  compared. Verdicts under no rubric count only for a judge that has no versioned verdict.
- **How orders combine** (:func:`judgement`): the judge's verdicts under that version, per presentation
  order the newest (by id), combined by :func:`rubrics.outcomes.combine_orders` (orders that disagree
  are an inconsistent tie; one missing order stands alone, consistency unknown). Failed verdicts give no
  outcome; a judgement whose verdicts all failed is ``failed``.
- **Pointwise scores** are about one response, not a pair: :mod:`server.score_labels` reads them (judges'
  pointwise verdicts and people's imported scores) and counts them by the same rule, through
  :func:`counted_versions` per scorer within one rubric name.

>>> new, old = RubricVersionRef(1, "hhh", "1.10.0"), RubricVersionRef(2, "hhh", "1.9.0")
>>> found = [VerdictLabel(1, "j", "ab", "a", rubric=new), VerdictLabel(2, "j", "ab", "b", rubric=old),
...          VerdictLabel(3, "j", "ba", "b", rubric=old)]
>>> counted = counted_versions(found)
>>> counted["j"].ref
'hhh@1.10.0'
>>> judgement(found, "j", counted["j"]).outcome
'a'
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from rubrics.outcomes import OUTCOMES, Order, Outcome, combine_orders
from rubrics.versions import version_key
from server.storage import Repository

Progress = Callable[[int, int], None]
PAGE = 2000


@dataclass(frozen=True, slots=True)
class RubricVersionRef:
    """A published rubric version as labels point at it: its row id, name and semver string.

    >>> RubricVersionRef(3, "hhh", "1.10.0").ref
    'hhh@1.10.0'
    """

    id: int
    name: str
    version: str

    @property
    def ref(self) -> str:
        return f"{self.name}@{self.version}"


@dataclass(frozen=True, slots=True)
class RankingLabel:
    """One annotator's ranking of a pair, in the pair's canonical order."""

    annotator: str
    outcome: Outcome
    criteria: Mapping[str, Any] = field(default_factory=dict)
    rubric: RubricVersionRef | None = None
    mode: str | None = None
    seconds: float | None = None
    created_at: datetime | None = None


@dataclass(frozen=True, slots=True)
class VerdictLabel:
    """One pairwise verdict of a judge in one presentation order (outcome in canonical order)."""

    id: int
    judge: str
    order: Order
    outcome: Outcome | None
    criteria: Mapping[str, Any] = field(default_factory=dict)
    failed: bool = False
    rubric: RubricVersionRef | None = None
    created_at: datetime | None = None
    rationale: str | None = None
    confidence: float | None = None
    source: str | None = None
    probabilities: Mapping[str, float] | None = None
    """`confidence` is the stored one (a judge job's stated 1..5, an import's own value); `source` job | import;
    `probabilities` the judge's probability of a / b / tie (canonical) from token logprobs, when recorded."""

    def outcome_for(self, criterion: str | None) -> Outcome | None:
        """The overall outcome, or the outcome for one criterion (None when it gave none)."""
        if self.failed:
            return None
        if criterion is None:
            return self.outcome
        value = self.criteria.get(criterion)
        return value if value in OUTCOMES else None


@dataclass(frozen=True, slots=True)
class PairLabels:
    """A pair with every label on it, without its texts."""

    id: int
    key: str = ""
    is_gold: bool = False
    gold_outcome: Outcome | None = None
    lengths: tuple[int, int] = (0, 0)
    adjudicated: Outcome | None = None
    adjudicator: str | None = None
    rankings: tuple[RankingLabel, ...] = ()
    verdicts: tuple[VerdictLabel, ...] = ()


@dataclass(frozen=True, slots=True)
class Judgement:
    """A judge's one label for a pair under one rubric version: both orders combined."""

    judge: str
    rubric: RubricVersionRef | None
    outcome: Outcome | None
    consistent: bool | None
    failed: bool
    orders: Mapping[str, Outcome]


Run = tuple[str, RubricVersionRef | None, int]
"""(judge, rubric version, newest verdict id): what :func:`counted_versions` needs of a judge's verdicts."""


def runs(verdicts: Iterable[VerdictLabel]) -> list[Run]:
    """The (judge, rubric version, verdict id) of each verdict, for :func:`counted_versions`."""
    return [(v.judge, v.rubric, v.id) for v in verdicts]


def counted_versions(
    found: Iterable[VerdictLabel] | Iterable[Run], rubric: RubricVersionRef | None = None
) -> dict[str, RubricVersionRef | None]:
    """The rubric version whose verdicts count, per judge (see the module docstring for the rule).

    Args:
        found: the verdicts (or their :data:`Run` tuples) of the project or pair.
        rubric: a version the caller asked for; judges never run under it are left out.

    Returns:
        judge → rubric version (None: the judge's verdicts are under no rubric).

    >>> a, b = RubricVersionRef(1, "hhh", "1.9.0"), RubricVersionRef(2, "rlhf-5", "2.0.0")
    >>> c = RubricVersionRef(3, "hhh", "1.10.0")
    >>> counted = counted_versions([("j", c, 10), ("j", a, 11), ("k", b, 12), ("k", a, 13), ("u", None, 14)])
    >>> counted["j"].ref, counted["k"].ref, counted["u"]
    ('hhh@1.10.0', 'hhh@1.9.0', None)
    >>> counted_versions([("j", c, 10), ("k", a, 11)], rubric=a)
    {'k': RubricVersionRef(id=1, name='hhh', version='1.9.0')}
    """
    versions: dict[str, set[RubricVersionRef | None]] = {}
    last_name: dict[str, tuple[int, str]] = {}
    for item in found:
        judge, version, number = (item.judge, item.rubric, item.id) if isinstance(item, VerdictLabel) else item
        versions.setdefault(judge, set()).add(version)
        if version is not None and number >= last_name.get(judge, (-1, ""))[0]:
            last_name[judge] = (number, version.name)
    chosen: dict[str, RubricVersionRef | None] = {}
    for judge in sorted(versions):
        if rubric is not None:
            if rubric in versions[judge]:
                chosen[judge] = rubric
        elif judge not in last_name:
            chosen[judge] = None
        else:
            name = last_name[judge][1]
            chosen[judge] = max(
                (v for v in versions[judge] if v is not None and v.name == name), key=lambda v: version_key(v.version)
            )
    return chosen


def judgement(
    verdicts: Iterable[VerdictLabel],
    judge: str,
    rubric: RubricVersionRef | None,
    criterion: str | None = None,
    *,
    before: datetime | None = None,
) -> Judgement | None:
    """The judge's combined label for a pair under one rubric version; None when never judged under it.

    Args:
        verdicts: the pair's verdicts, in id order.
        judge: the judge model.
        rubric: the version that counts (from :func:`counted_versions`).
        criterion: combine this criterion's outcomes instead of the overall ones.
        before: only verdicts stored at or before this moment (what a reviewer could have seen).

    >>> v = RubricVersionRef(1, "hhh", "1.0.0")
    >>> both = judgement([VerdictLabel(1, "j", "ab", "a", rubric=v), VerdictLabel(2, "j", "ba", "b", rubric=v)], "j", v)
    >>> both.outcome, both.consistent, both.orders
    ('tie', False, {'ab': 'a', 'ba': 'b'})
    >>> judgement([VerdictLabel(1, "j", "ab", None, failed=True, rubric=v)], "j", v).failed
    True
    """
    orders: dict[str, Outcome] = {}
    failed = False
    limit = None if before is None else _utc(before)
    for verdict in verdicts:  # in id order: of two verdicts in one order the newer wins
        if verdict.judge != judge or verdict.rubric != rubric:
            continue
        if limit is not None and _utc(verdict.created_at) > limit:
            continue
        if verdict.failed:
            failed = True
        elif (outcome := verdict.outcome_for(criterion)) is not None:
            orders[verdict.order] = outcome
    if not orders:  # a verdict without this criterion's outcome is no judgement of it
        return Judgement(judge, rubric, None, None, True, {}) if failed else None
    combined = combine_orders(orders.get("ab"), orders.get("ba"))
    return Judgement(judge, rubric, combined.outcome, combined.consistent, False, orders)


def judgements(pair: PairLabels, counted: Mapping[str, RubricVersionRef | None]) -> dict[str, Judgement]:
    """Every counted judge's judgement of the pair (judges that never judged it are left out)."""
    return {judge: found for judge, version in counted.items() if (found := judgement(pair.verdicts, judge, version))}


def shown_judgement(
    pair: PairLabels, counted: Mapping[str, RubricVersionRef | None], *, before: datetime | None = None
) -> Judgement | None:
    """The one judgement a reviewer is shown: the judge with the newest usable counted verdict.

    Its outcome is in the pair's canonical order; None when no counted judgement has an outcome.

    >>> v = RubricVersionRef(1, "hhh", "1.0.0")
    >>> pair = PairLabels(1, verdicts=(VerdictLabel(1, "j", "ab", "b", rubric=v),))
    >>> shown_judgement(pair, {"j": v}).outcome
    'b'
    """
    limit = None if before is None else _utc(before)
    usable = [
        v
        for v in pair.verdicts
        if v.judge in counted
        and v.rubric == counted[v.judge]
        and not v.failed
        and v.outcome
        and (limit is None or _utc(v.created_at) <= limit)
    ]
    if not usable:
        return None
    judge = max(usable, key=lambda v: v.id).judge
    found = judgement(pair.verdicts, judge, counted[judge], before=before)
    return found if found is not None and found.outcome is not None else None


def rationale(pair: PairLabels, found: Judgement) -> str | None:
    """The first rationale among the verdicts behind a judgement."""
    return next(
        (v.rationale for v in pair.verdicts if v.judge == found.judge and v.rubric == found.rubric and v.rationale),
        None,
    )


# ------------------------------------------------------------------------------ reading the store


def _utc(moment: datetime | None) -> datetime:
    if moment is None:
        return datetime.min.replace(tzinfo=UTC)
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


def rubric_refs(repo: Repository, ids: Iterable[int | None]) -> dict[int, RubricVersionRef]:
    """The :class:`RubricVersionRef` of stored rubric version ids."""
    refs = {}
    for version_id in {i for i in ids if i}:
        row = repo.rubric_version(version_id)
        if row is not None:
            refs[version_id] = RubricVersionRef(row.id, row.content["name"], row.version)
    return refs


def project_versions(
    repo: Repository, project_id: int, rubric: RubricVersionRef | None = None
) -> dict[str, RubricVersionRef | None]:
    """:func:`counted_versions` over every pairwise verdict of a project, read in one query."""
    found = repo.verdict_versions(project_id)
    refs = rubric_refs(repo, (version for _, version, _ in found))
    return counted_versions([(judge, refs.get(v) if v else None, n) for judge, v, n in found], rubric)


def verdict_label(row: Any, refs: Mapping[int, RubricVersionRef]) -> VerdictLabel:
    """A stored verdict (an ORM row or a row with the same fields) as a :class:`VerdictLabel`."""
    failed = row.failed if hasattr(row, "failed") else row.error is not None
    return VerdictLabel(
        id=row.id,
        judge=row.judge_model,
        order=row.order or "ab",
        outcome=row.outcome,
        criteria=row.criteria or {},
        failed=bool(failed),
        rubric=refs.get(row.rubric_version_id) if row.rubric_version_id else None,
        created_at=row.created_at,
        rationale=getattr(row, "rationale", None),
        confidence=getattr(row, "confidence", None),
        source=getattr(row, "source", None),
        probabilities=getattr(row, "probabilities", None),
    )


def pair_labels(view: Any, refs: Mapping[int, RubricVersionRef], adjudicator: str | None = None) -> PairLabels:
    """A :class:`server.storage.repository.PairView` as :class:`PairLabels` (texts left out)."""
    pair = view.pair
    return PairLabels(
        id=pair.id,
        key=pair.key,
        is_gold=pair.is_gold,
        gold_outcome=pair.gold_outcome,
        lengths=(len(view.response_a.text), len(view.response_b.text)),
        adjudicated=view.adjudication.outcome if view.adjudication else None,
        adjudicator=adjudicator,
        rankings=tuple(
            RankingLabel(
                annotator=name,
                outcome=r.outcome,
                criteria=r.criteria or {},
                rubric=refs.get(r.rubric_version_id) if r.rubric_version_id else None,
                mode=r.mode,
                seconds=r.seconds,
                created_at=r.created_at,
            )
            for r, name in view.rankings
        ),
        verdicts=tuple(verdict_label(v, refs) for v in view.verdicts if v.kind == "pairwise"),
    )


def view_refs(repo: Repository, views: Sequence[Any]) -> dict[int, RubricVersionRef]:
    """The rubric versions the rankings and verdicts of these pair views point at."""
    ids = {v.rubric_version_id for view in views for v in view.verdicts}
    ids |= {r.rubric_version_id for view in views for r, _ in view.rankings}
    return rubric_refs(repo, ids)


def read_pairs(repo: Repository, project_id: int, progress: Progress | None = None) -> list[PairLabels]:
    """Every pair of a project with its labels (no texts), with progress.

    One query per kind of row over the whole project, read as plain columns (no ORM object per row), so
    a million rankings take seconds: pages of ``IN (...)`` lists and ORM rows took minutes.
    """
    pairs = repo.pair_label_columns(project_id)
    total = len(pairs)
    if progress:
        progress(0, total)
    ranking_rows, verdict_rows = repo.ranking_columns(project_id), repo.pairwise_verdict_columns(project_id)
    refs = rubric_refs(repo, {row[4] for row in ranking_rows} | {row[7] for row in verdict_rows})
    rankings: dict[int, list[RankingLabel]] = {}
    for pair, annotator, outcome, criteria, version, mode, seconds, created in ranking_rows:
        rubric = refs.get(version) if version else None
        label = RankingLabel(annotator, outcome, criteria or {}, rubric, mode, seconds, created)
        rankings.setdefault(pair, []).append(label)
    verdicts: dict[int, list[VerdictLabel]] = {}
    for (
        number,
        pair,
        judge,
        order,
        outcome,
        criteria,
        failed,
        version,
        created,
        confidence,
        chances,
        source,
    ) in verdict_rows:
        rubric = refs.get(version) if version else None
        label = VerdictLabel(number, judge, order or "ab", outcome, criteria or {}, failed, rubric, created,
                             confidence=confidence, source=source, probabilities=chances)  # fmt: skip
        verdicts.setdefault(pair, []).append(label)
    found = []
    for done, (pair, key, is_gold, gold, a, b, adjudicated) in enumerate(pairs, 1):
        found.append(
            PairLabels(pair, key, is_gold, gold, (a, b), adjudicated, None,
                       tuple(rankings.get(pair, ())), tuple(verdicts.get(pair, ())))
        )  # fmt: skip
        if progress and (done % PAGE == 0 or done == total):
            progress(done, total)
    return found
