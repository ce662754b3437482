"""The agreement report of a project: people with each other, judges with people, bias and anchoring.

What counts, in one place:

- **Items** are pairs. A human vote is a ranking's outcome (or, with a ``criterion``, its outcome for
  that criterion). A judge's judgement of a pair is its verdicts in both presentation orders combined by
  :func:`rubrics.outcomes.combine_orders` (orders that disagree count as a tie); of several verdicts in
  one order (other sampling parameters) the newest counts.
- **The human reference** of a pair is its adjudicated outcome when it has one, else the strict majority
  of its human votes (:func:`rubrics.outcomes.strict_majority`); pairs without one are left out of
  judge-vs-human metrics.
- **Rubric versions.** With ``rubric`` (``NAME@VERSION``, or ``NAME`` for its newest version) only
  verdicts under that version count, and rankings made under it or under no rubric. Without it, each
  judge is scored on its verdicts under the version :func:`server.labels.counted_versions` counts (the
  newest by semver of the rubric it was last run with; the row says which); ``rubric_versions`` lists
  every version side by side.
- **Failed judgements** (every verdict of the judge on the pair failed) count as a ``tie`` by default,
  the convention of the PandaLM authors; ``failed="exclude"`` leaves those pairs out. Rows say how many.
- **Intervals** are percentile bootstrap intervals over pairs (``resamples``, ``confidence``, ``seed``).
- **Anchoring** compares, per judge shown in assisted mode, how often reviewers agree with that judge's
  judgement in assisted versus blind assignments. The judge is the one assisted mode shows
  (:func:`server.labels.shown_judgement` over the verdicts stored before the ranking); it always uses the
  overall outcome, which is what assisted mode shows.

The JSON shape is :class:`AgreementReport` (and :class:`CompareReport` for two rubric versions); both
are documented field by field and served as-is by the API.

>>> ReportOptions(rubric="hhh@1.0.0").model_dump()  # doctest: +NORMALIZE_WHITESPACE
{'rubric': 'hhh@1.0.0', 'criterion': None, 'failed': 'tie', 'resamples': 1000, 'confidence': 0.95, 'seed': 0,
 'hotspots': 20}
"""

from __future__ import annotations

import statistics
from collections import Counter, defaultdict
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from itertools import combinations
from typing import Any, Literal

import numpy as np
from pydantic import BaseModel, ConfigDict, Field

from rubrics.outcomes import OUTCOMES, Outcome, strict_majority
from rubrics.versions import version_key
from server.agreement.metrics import (
    Interval,
    agreement_features,
    alpha_from_coincidences,
    bootstrap,
    classification_scores,
    cohen_kappa,
    coincidence_features,
    confusion_features,
    fleiss_features,
    fleiss_from_sums,
    fleiss_kappa,
    fleiss_table,
    kappa_from_confusion,
    krippendorff_alpha,
    percent_agreement,
    ratings,
    scores_from_confusion,
)
from server.labels import (
    Judgement,
    PairLabels,
    RankingLabel,
    RubricVersionRef,
    VerdictLabel,
    counted_versions,
    judgement,
    read_pairs,
    shown_judgement,
)
from server.rubric_registry import resolve
from server.storage import Repository

Progress = Callable[[int, int], None]
CI = tuple[float, float] | None
CODE = {outcome: code for code, outcome in enumerate(OUTCOMES)}
METRICS = ("accuracy", "macro_precision", "macro_recall", "macro_f1", "cohen_kappa")


# ------------------------------------------------------------------------------------ JSON models


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
    cohen_kappa: float | None
    cohen_kappa_ci: CI = None
    percent_agreement: float | None


class HumanAgreement(BaseModel):
    """People with each other, over the pairs ranked by at least two of them."""

    criterion: str | None = None
    annotators: list[str]
    n: int = Field(description="Pairs with at least two votes.")
    pairwise: list[PairwiseKappa]
    fleiss_kappa: float | None
    fleiss_kappa_ci: CI = None
    fleiss_n: int = Field(description="Pairs in Fleiss' kappa: those with the most common number of votes.")
    krippendorff_alpha: float | None
    krippendorff_alpha_ci: CI = None
    percent_agreement: float | None
    percent_agreement_ci: CI = None


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
    accuracy: float | None
    accuracy_ci: CI = None
    macro_precision: float | None
    macro_precision_ci: CI = None
    macro_recall: float | None
    macro_recall_ci: CI = None
    macro_f1: float | None
    macro_f1_ci: CI = None
    cohen_kappa: float | None
    cohen_kappa_ci: CI = None
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
    consistency: float | None = Field(description="Share of pairs judged in both orders with the same outcome.")
    consistency_ci: CI = None
    first_position_rate: float | None = Field(description="Share of decisive verdicts won by the response shown first.")
    first_position_rate_ci: CI = None
    longer_wins_judge: float | None = Field(description="Share of the judge's decisive outcomes won by the longer one.")
    longer_wins_judge_ci: CI = None
    longer_wins_humans: float | None = Field(description="The same for the human reference, on the same pairs.")
    longer_wins_humans_ci: CI = None
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
    assisted: float | None = Field(description="Share of assisted rankings that agree with the judge.")
    assisted_ci: CI = None
    blind: float | None = Field(description="Share of blind rankings that agree with the judge.")
    blind_ci: CI = None
    difference: float | None = Field(description="assisted − blind; above 0 suggests anchoring on the judge.")
    difference_ci: CI = None
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


class Scores(BaseModel):
    accuracy: float | None
    macro_precision: float | None
    macro_recall: float | None
    macro_f1: float | None
    cohen_kappa: float | None


class ScoreChange(Scores):
    accuracy_ci: CI = None
    macro_precision_ci: CI = None
    macro_recall_ci: CI = None
    macro_f1_ci: CI = None
    cohen_kappa_ci: CI = None


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


# ------------------------------------------------------------------------------ reading the store


def _num(value: Any) -> float | None:
    """A JSON number: None for nan/inf."""
    if value is None:
        return None
    value = float(value)
    return value if np.isfinite(value) else None


def _ci(interval: Interval | None) -> CI:
    return None if interval is None else (interval.low, interval.high)


@dataclass
class Item:
    pair: PairLabels
    votes: dict[str, Outcome] = field(default_factory=dict)
    rankings: dict[str, RankingLabel] = field(default_factory=dict)
    reference: Outcome | None = None


Version = RubricVersionRef | None


def _version_order(version: Version) -> tuple[bool, str, tuple[Any, ...]]:
    """Unversioned first, then by rubric name and semver (never by id or string)."""
    return (False, "", ()) if version is None else (True, version.name, version_key(version.version))


def _ref(version: Version) -> str | None:
    return None if version is None else version.ref


@dataclass
class Project:
    """A project's pairs and labels as the report reads them (:mod:`server.labels` records)."""

    id: int
    name: str
    pairs: list[PairLabels]
    criterion: str | None

    @property
    def verdicts(self) -> list[VerdictLabel]:
        return [v for pair in self.pairs for v in pair.verdicts]

    @property
    def judges(self) -> dict[str, set[Version]]:
        found: dict[str, set[Version]] = defaultdict(set)
        for verdict in self.verdicts:
            found[verdict.judge].add(verdict.rubric)
        return dict(sorted(found.items()))

    @property
    def criteria(self) -> list[str]:
        """Every criterion id that a ranking or a verdict of the project names."""
        found = {c for pair in self.pairs for r in pair.rankings for c in (r.criteria or {})}
        found |= {c for pair in self.pairs for v in pair.verdicts for c in (v.criteria or {})}
        return sorted(found)

    def outcome(self, ranking: RankingLabel) -> Outcome | None:
        if self.criterion is None:
            return ranking.outcome
        value = (ranking.criteria or {}).get(self.criterion)
        return value if value in CODE else None

    def items(self, versions: set[Version] | None) -> list[Item]:
        """Every pair with its human votes (rankings under `versions`, or all) and the human reference."""
        items = []
        for pair in self.pairs:
            item = Item(pair)
            for ranking in pair.rankings:
                if versions is not None and ranking.rubric not in versions:
                    continue
                outcome = self.outcome(ranking)
                if outcome is not None:
                    item.votes[ranking.annotator], item.rankings[ranking.annotator] = outcome, ranking
            adjudicated = pair.adjudicated if self.criterion is None else None
            item.reference = adjudicated or strict_majority(list(item.votes.values()))
            items.append(item)
        return items

    def judgement(self, pair: PairLabels, judge: str, version: Version) -> Judgement | None:
        """The judge's combined judgement of a pair under one rubric version (:func:`server.labels.judgement`)."""
        return judgement(pair.verdicts, judge, version, self.criterion)


def load_project(
    repo: Repository, project_id: int, criterion: str | None = None, progress: Progress | None = None
) -> Project:
    """Read a project's pairs with their rankings and verdicts (no texts), a page at a time, with progress."""
    project = repo.project(project_id)
    loaded = Project(project.id, project.name, read_pairs(repo, project_id, progress), criterion)
    if criterion is not None and criterion not in loaded.criteria:
        raise ValueError(
            f"criterion: no ranking or verdict in project {project.name!r} has criterion {criterion!r}"
            f" (criteria: {', '.join(loaded.criteria) or 'none'})"
        )
    return loaded


# --------------------------------------------------------------------------------- the report parts


def _matrix(items: Sequence[Item], annotators: Sequence[str]) -> list[list[Outcome | None]]:
    return [[item.votes.get(name) for item in items] for name in annotators]


def human_agreement(items: Sequence[Item], options: ReportOptions, criterion: str | None = None) -> HumanAgreement:
    """Cohen's kappa per annotator pair, Fleiss' kappa, Krippendorff's alpha and percent agreement."""
    rated = [item for item in items if len(item.votes) >= 2]
    annotators = sorted({name for item in items for name in item.votes})
    matrix = _matrix(rated, annotators)
    draw = {"resamples": options.resamples, "confidence": options.confidence, "seed": options.seed}
    pairwise = []
    for (i, x), (j, y) in combinations(enumerate(annotators), 2):
        shared = [(a, b) for a, b in zip(matrix[i], matrix[j], strict=True) if a is not None and b is not None]
        if not shared:
            continue
        first, second = [s[0] for s in shared], [s[1] for s in shared]
        features = confusion_features([CODE[a] for a in first], [CODE[b] for b in second], len(OUTCOMES))
        [interval] = bootstrap(features, lambda s: kappa_from_confusion(s.reshape(-1, 3, 3)), **draw)
        pairwise.append(
            PairwiseKappa(
                annotators=(x, y),
                n=len(shared),
                cohen_kappa=_num(cohen_kappa(first, second)),
                cohen_kappa_ci=_ci(interval),
                percent_agreement=sum(a == b for a, b in shared) / len(shared),
            )
        )
    if not rated:
        return HumanAgreement(
            criterion=criterion,
            annotators=annotators,
            n=0,
            pairwise=pairwise,
            fleiss_kappa=None,
            fleiss_n=0,
            krippendorff_alpha=None,
            percent_agreement=None,
        )
    counts = ratings(matrix, domain=OUTCOMES).value_counts()
    [alpha_ci] = bootstrap(coincidence_features(counts), lambda s: alpha_from_coincidences(s.reshape(-1, 3, 3)), **draw)
    [agree_ci] = bootstrap(agreement_features(counts), lambda s: s[:, 0] / s[:, 1], **draw)
    table = fleiss_table(matrix)
    fleiss_ci = None
    if len(table):
        raters = int(table[0].sum())
        features = np.column_stack([fleiss_features(table), np.ones(len(table))])
        [fleiss_ci] = bootstrap(features, lambda s: fleiss_from_sums(s[:, :-1], s[:, -1], raters), **draw)
    return HumanAgreement(
        criterion=criterion,
        annotators=annotators,
        n=len(rated),
        pairwise=pairwise,
        fleiss_kappa=_num(fleiss_kappa(matrix)),
        fleiss_kappa_ci=_ci(fleiss_ci),
        fleiss_n=len(table),
        krippendorff_alpha=_num(krippendorff_alpha(matrix)),
        krippendorff_alpha_ci=_ci(alpha_ci),
        percent_agreement=_num(percent_agreement(matrix)),
        percent_agreement_ci=_ci(agree_ci),
    )


def _scored(
    items: Sequence[Item], judged: dict[int, Judgement], failed: str
) -> tuple[list[Outcome], list[Outcome], list[int], int]:
    """(reference, judge outcome, item index) for items with a reference; and how many the judge failed."""
    reference, predicted, index, failures = [], [], [], 0
    for number, item in enumerate(items):
        judgement = judged.get(number)
        if item.reference is None or judgement is None:
            continue
        outcome = judgement.outcome
        if judgement.failed:
            failures += 1
            if failed == "exclude":
                continue
            outcome = "tie"
        if outcome is None:
            continue
        reference.append(item.reference)
        predicted.append(outcome)
        index.append(number)
    return reference, predicted, index, failures


def judge_human(
    judge: str,
    rubric: str | None,
    items: Sequence[Item],
    judged: dict[int, Judgement],
    options: ReportOptions,
    criterion: str | None = None,
) -> JudgeHuman:
    """Accuracy, macro P/R/F1 and kappa of one judge against the human reference, with intervals."""
    reference, predicted, _, failures = _scored(items, judged, options.failed)
    scores = classification_scores(reference, predicted)
    features = confusion_features([CODE[r] for r in reference], [CODE[p] for p in predicted], len(OUTCOMES))
    intervals = bootstrap(
        features,
        lambda s: np.column_stack(list(scores_from_confusion(s.reshape(-1, 3, 3)).values())),
        resamples=options.resamples,
        confidence=options.confidence,
        seed=options.seed,
    )
    annotators = sorted({name for item in items for name in item.votes})
    judge_row = [_judge_vote(judged.get(n), options.failed) for n in range(len(items))]
    with_judge = [*_matrix(items, annotators), judge_row]
    row: dict[str, Any] = {"n": len(reference), "failed": failures}
    for metric, interval in zip(METRICS, intervals, strict=True):
        row[metric], row[f"{metric}_ci"] = _num(scores[metric]), _ci(interval)
    return JudgeHuman(
        judge=judge,
        rubric=rubric,
        criterion=criterion,
        failed_as="tie" if options.failed == "tie" else "excluded",
        krippendorff_alpha_with_judge=_num(krippendorff_alpha(with_judge)) if items else None,
        **row,
    )


def _judge_vote(judgement: Judgement | None, failed: str) -> Outcome | None:
    if judgement is None:
        return None
    if judgement.failed:
        return "tie" if failed == "tie" else None
    return judgement.outcome


def judge_annotators(
    judge: str, rubric: str | None, items: Sequence[Item], judged: dict[int, Judgement], failed: str
) -> list[JudgeAnnotator]:
    rows = []
    for name in sorted({name for item in items for name in item.votes}):
        pairs = [
            (item.votes[name], vote)
            for number, item in enumerate(items)
            if name in item.votes and (vote := _judge_vote(judged.get(number), failed)) is not None
        ]
        theirs, judges = [p[0] for p in pairs], [p[1] for p in pairs]
        rows.append(
            JudgeAnnotator(
                judge=judge,
                rubric=rubric,
                annotator=name,
                n=len(pairs),
                accuracy=sum(a == b for a, b in pairs) / len(pairs) if pairs else None,
                cohen_kappa=_num(cohen_kappa(theirs, judges)) if pairs else None,
            )
        )
    return rows


def judge_bias(
    judge: str, rubric: str | None, items: Sequence[Item], judged: dict[int, Judgement], options: ReportOptions
) -> JudgeBias:
    """Consistency across orders, first-position wins, and how often the longer response wins."""
    rows = []
    for number, item in enumerate(items):
        judgement = judged.get(number)
        if judgement is None or not judgement.orders:
            continue
        orders = judgement.orders
        both = "ab" in orders and "ba" in orders
        decisive = [(order, o) for order, o in orders.items() if o in ("a", "b")]
        first = sum((order, o) in (("ab", "a"), ("ba", "b")) for order, o in decisive)
        len_a, len_b = item.pair.lengths
        longer = None if len_a == len_b else ("a" if len_a > len_b else "b")
        judge_side = longer is not None and judgement.outcome in ("a", "b")
        human_side = longer is not None and item.reference in ("a", "b")
        rows.append(
            [
                both,
                both and bool(judgement.consistent),
                len(decisive),
                first,
                judge_side,
                judge_side and judgement.outcome == longer,
                human_side,
                human_side and item.reference == longer,
            ]
        )
    features = np.array(rows, dtype=float).reshape(-1, 8)
    sums = features.sum(axis=0)

    def rates(s: np.ndarray) -> np.ndarray:
        with np.errstate(divide="ignore", invalid="ignore"):
            return s[:, 1::2] / s[:, 0::2]

    point = rates(sums[np.newaxis])[0]
    intervals = bootstrap(
        features, rates, resamples=options.resamples, confidence=options.confidence, seed=options.seed
    )
    names = ("consistency", "first_position_rate", "longer_wins_judge", "longer_wins_humans")
    values: dict[str, Any] = {}
    for name, value, interval in zip(names, point, intervals, strict=True):
        values[name], values[f"{name}_ci"] = _num(value), _ci(interval)
    counts = BiasCounts(
        both_orders=int(sums[0]),
        consistent=int(sums[1]),
        decisive_verdicts=int(sums[2]),
        first_position_wins=int(sums[3]),
        judge_decisive_unequal=int(sums[4]),
        humans_decisive_unequal=int(sums[6]),
    )
    return JudgeBias(judge=judge, rubric=rubric, n=len(rows), counts=counts, **values)


def hotspots(items: Sequence[Item], judged: dict[str, dict[int, Judgement]], limit: int) -> list[Hotspot]:
    """Pairs where people split most, then where most judges disagree with the human reference."""
    found = []
    for number, item in enumerate(items):
        votes = Counter(item.votes.values())
        n = sum(votes.values())
        split = 1 - max(votes.values()) / n if n >= 2 else 0.0
        outcomes = {judge: j.outcome for judge, by_item in judged.items() if (j := by_item.get(number))}
        against = sum(o is not None and item.reference is not None and o != item.reference for o in outcomes.values())
        if split > 0 or against > 0:
            found.append((-split, -against, -n, item.pair.id, number, outcomes, votes, split, against))
    found.sort(key=lambda row: row[:4])
    rows = []
    for *_, number, outcomes, votes, split, against in found[:limit]:
        item = items[number]
        rows.append(
            Hotspot(
                pair=item.pair.id,
                key=item.pair.key,
                disagreement=split,
                judges_disagreeing=against,
                reference=item.reference,
                votes={o: votes.get(o, 0) for o in OUTCOMES},
                rankings=[HotspotVote(annotator=a, outcome=o) for a, o in sorted(item.votes.items())],
                judges=outcomes,
            )
        )
    return rows


def _anchoring_stats(features: np.ndarray, options: ReportOptions) -> dict[str, Any]:
    """Rates from per-item (n_assisted, agree_assisted, n_blind, agree_blind), with intervals."""

    def rates(s: np.ndarray) -> np.ndarray:
        with np.errstate(divide="ignore", invalid="ignore"):
            assisted, blind = s[:, 1] / s[:, 0], s[:, 3] / s[:, 2]
        return np.column_stack([assisted, blind, assisted - blind])

    sums = features.sum(axis=0)
    point = rates(sums[np.newaxis])[0]
    intervals = bootstrap(
        features, rates, resamples=options.resamples, confidence=options.confidence, seed=options.seed
    )
    values: dict[str, Any] = {"n": int(sums[0] + sums[2]), "counts": {"assisted": int(sums[0]), "blind": int(sums[2])}}
    for name, value, interval in zip(("assisted", "blind", "difference"), point, intervals, strict=True):
        values[name], values[f"{name}_ci"] = _num(value), _ci(interval)
    return values


def anchoring(items: Sequence[Item], shown: dict[str, Version], options: ReportOptions) -> list[Anchoring]:
    """Agreement with the judge shown in assisted mode, assisted vs blind rankings.

    `shown` is each judge's counted rubric version as the review screen counts it (no report filter).
    """
    per_judge: dict[str, dict[str, dict[int, list[int]]]] = defaultdict(lambda: defaultdict(dict))
    for number, item in enumerate(items):
        for name, ranking in item.rankings.items():
            if ranking.mode not in ("assisted", "blind"):
                continue
            hint = shown_judgement(item.pair, shown, before=ranking.created_at)  # in the stored (a, b) order
            if hint is None:
                continue
            agree = int(ranking.outcome == hint.outcome)
            cell = [1, agree, 0, 0] if ranking.mode == "assisted" else [0, 0, 1, agree]
            per_judge[hint.judge][name][number] = cell
    rows = []
    for judge in sorted(per_judge):
        by_annotator = per_judge[judge]
        pooled: dict[int, np.ndarray] = defaultdict(lambda: np.zeros(4))
        annotator_rows = []
        for name in sorted(by_annotator):
            cells = by_annotator[name]
            for number, cell in cells.items():
                pooled[number] += cell
            stats = _anchoring_stats(np.array(list(cells.values()), dtype=float), options)
            annotator_rows.append(AnchoringAnnotator(annotator=name, **stats))
        stats = _anchoring_stats(np.array(list(pooled.values())), options)
        rows.append(Anchoring(judge=judge, per_annotator=annotator_rows, **stats))
    return rows


def annotator_stats(items: Sequence[Item], criterion: str | None) -> list[AnnotatorStats]:
    rows = []
    for name in sorted({name for item in items for name in item.votes}):
        mine = [item for item in items if name in item.votes]
        votes = [item.votes[name] for item in mine]
        seconds = [s for item in mine if (s := item.rankings[name].seconds) is not None]
        agree = others = 0
        theirs: list[Outcome] = []
        majority: list[Outcome] = []
        for item in mine:
            rest = [o for other, o in item.votes.items() if other != name]
            agree += sum(o == item.votes[name] for o in rest)
            others += len(rest)
            if (m := strict_majority(rest)) is not None:
                theirs.append(item.votes[name])
                majority.append(m)
        gold = [item for item in mine if criterion is None and item.pair.is_gold and item.pair.gold_outcome in CODE]
        rows.append(
            AnnotatorStats(
                annotator=name,
                n=len(votes),
                tie_rate=votes.count("tie") / len(votes),
                median_seconds=statistics.median(seconds) if seconds else None,
                modes=dict(Counter(item.rankings[name].mode for item in mine if item.rankings[name].mode)),
                shared=sum(len(item.votes) > 1 for item in mine),
                agreement_with_others=agree / others if others else None,
                kappa_with_others=_num(cohen_kappa(theirs, majority)) if theirs else None,
                gold_n=len(gold),
                gold_accuracy=(
                    sum(item.votes[name] == item.pair.gold_outcome for item in gold) / len(gold) if gold else None
                ),
            )
        )
    return rows


# ------------------------------------------------------------------------------------ entry points


def _versions_rule(version: Version) -> set[Version]:
    """Rankings counted for a rubric version: made under it, or under no rubric."""
    return {None, version}


def _resolve(repo: Repository, ref: str) -> RubricVersionRef:
    row, rubric = resolve(repo, ref)
    return RubricVersionRef(row.id, rubric.name, rubric.version)


def agreement_report(
    repo: Repository, project_id: int, options: ReportOptions | None = None, progress: Progress | None = None
) -> AgreementReport:
    """The whole report for a project (see the module docstring for what counts).

    Args:
        repo: a repository over a read session.
        project_id: the project.
        options: rubric / criterion filters, failed-verdict rule, bootstrap settings.
        progress: called with (pairs read, total pairs) while reading.

    Raises:
        NotFound: the project or the rubric version does not exist.
        ValueError: a bad rubric reference or an unknown criterion.
    """
    options = options or ReportOptions()
    rubric = _resolve(repo, options.rubric) if options.rubric else None
    project = load_project(repo, project_id, options.criterion, progress)
    items = project.items(_versions_rule(rubric) if rubric else None)
    judges = project.judges
    chosen = counted_versions(project.verdicts, rubric)
    judged = {
        judge: {n: j for n, item in enumerate(items) if (j := project.judgement(item.pair, judge, version))}
        for judge, version in chosen.items()
    }
    if options.criterion is not None:  # judges that never gave this criterion are not scored on it
        judged = {judge: found for judge, found in judged.items() if any(not j.failed for j in found.values())}
        chosen = {judge: version for judge, version in chosen.items() if judge in judged}
    ref = {judge: _ref(version) for judge, version in chosen.items()}

    judge_rows = [judge_human(j, ref[j], items, judged[j], options) for j in chosen]
    per_criterion: list[HumanAgreement] = []
    if options.criterion is None:
        for criterion in project.criteria:
            scoped = Project(project.id, project.name, project.pairs, criterion)
            scoped_items = scoped.items(_versions_rule(rubric) if rubric else None)
            per_criterion.append(human_agreement(scoped_items, options, criterion))
            for judge, version in chosen.items():
                by_item = {
                    n: j for n, item in enumerate(scoped_items) if (j := scoped.judgement(item.pair, judge, version))
                }
                if any(not j.failed for j in by_item.values()):  # a judge that never gave this criterion: no row
                    judge_rows.append(judge_human(judge, ref[judge], scoped_items, by_item, options, criterion))
    human = human_agreement(items, options)
    counted_verdicts = sum(1 for v in project.verdicts if v.judge in chosen and chosen[v.judge] == v.rubric)
    return AgreementReport(
        project=ProjectRef(id=project.id, name=project.name),
        rubric=_ref(rubric),
        criterion=options.criterion,
        settings=ReportSettings(
            failed=options.failed, resamples=options.resamples, confidence=options.confidence, seed=options.seed
        ),
        counts=Counts(
            pairs=len(items),
            rankings=sum(len(item.votes) for item in items),
            verdicts=counted_verdicts,
            annotators=len(human.annotators),
            judges=len(chosen),
            references={o: sum(item.reference == o for item in items) for o in OUTCOMES},
        ),
        annotators=annotator_stats(items, options.criterion),
        human_human=HumanHuman(**human.model_dump(), criteria=per_criterion),
        judge_human=judge_rows,
        judge_annotator=[row for j in chosen for row in judge_annotators(j, ref[j], items, judged[j], options.failed)],
        judge_bias=[judge_bias(j, ref[j], items, judged[j], options) for j in chosen],
        hotspots=hotspots(items, judged, options.hotspots),
        anchoring=anchoring(items, counted_versions(project.verdicts), options),
        rubric_versions=rubric_versions(project, judges, options),
    )


def rubric_versions(
    project: Project, judges: dict[str, set[Version]], options: ReportOptions
) -> list[RubricVersionRow]:
    """Every rubric version judges were run with (and unversioned verdicts), side by side."""
    versions = sorted({v for found in judges.values() for v in found}, key=_version_order)
    rows = []
    for version in versions:
        items = project.items(_versions_rule(version))
        judge_rows = []
        for judge in judges:
            if version not in judges[judge]:
                continue
            judged = {n: j for n, item in enumerate(items) if (j := project.judgement(item.pair, judge, version))}
            reference, predicted, _, _ = _scored(items, judged, options.failed)
            scores = classification_scores(reference, predicted)
            judge_rows.append(
                VersionJudge(
                    judge=judge,
                    n=len(reference),
                    accuracy=_num(scores["accuracy"]),
                    macro_f1=_num(scores["macro_f1"]),
                    cohen_kappa=_num(scores["cohen_kappa"]),
                )
            )
        annotators = sorted({name for item in items for name in item.votes})
        rated = [item for item in items if len(item.votes) >= 2]
        rows.append(
            RubricVersionRow(
                rubric=_ref(version),
                rankings=sum(1 for pair in project.pairs for r in pair.rankings if r.rubric == version),
                verdicts=sum(1 for v in project.verdicts if v.rubric == version),
                krippendorff_alpha=_num(krippendorff_alpha(_matrix(rated, annotators))) if rated else None,
                judges=judge_rows,
            )
        )
    return rows


def compare_report(
    repo: Repository,
    project_id: int,
    old: str,
    new: str,
    options: ReportOptions | None = None,
    progress: Progress | None = None,
) -> CompareReport:
    """How each judge's agreement with the human reference changes from rubric version `old` to `new`.

    Only pairs with a human reference that the judge judged under both versions count, so the change is
    paired; its interval resamples those pairs once for both versions. Rankings made under either
    version or under no rubric form the reference.
    """
    options = options or ReportOptions()
    old_version, new_version = _resolve(repo, old), _resolve(repo, new)
    if old_version == new_version:
        raise ValueError(f"new: {new_version.ref} is the same version as old")
    project = load_project(repo, project_id, options.criterion, progress)
    items = project.items({None, old_version, new_version})
    rows = []
    for judge, versions in project.judges.items():
        if old_version not in versions or new_version not in versions:
            continue
        reference, before, after = [], [], []
        for item in items:
            if item.reference is None:
                continue
            pair = [
                _judge_vote(project.judgement(item.pair, judge, v), options.failed) for v in (old_version, new_version)
            ]
            if None in pair:
                continue
            reference.append(item.reference)
            before.append(pair[0])
            after.append(pair[1])
        codes = [CODE[r] for r in reference]
        features = np.column_stack(
            [
                confusion_features(codes, [CODE[o] for o in before], 3),
                confusion_features(codes, [CODE[o] for o in after], 3),
            ]
        ).reshape(-1, 18)

        def change(s: np.ndarray) -> np.ndarray:
            first = scores_from_confusion(s[:, :9].reshape(-1, 3, 3))
            second = scores_from_confusion(s[:, 9:].reshape(-1, 3, 3))
            return np.column_stack([second[m] - first[m] for m in METRICS])

        intervals = bootstrap(
            features, change, resamples=options.resamples, confidence=options.confidence, seed=options.seed
        )
        old_scores, new_scores = classification_scores(reference, before), classification_scores(reference, after)
        delta: dict[str, Any] = {}
        for metric, interval in zip(METRICS, intervals, strict=True):
            a, b = _num(old_scores[metric]), _num(new_scores[metric])
            delta[metric] = None if a is None or b is None else b - a
            delta[f"{metric}_ci"] = _ci(interval)
        rows.append(
            CompareJudge(
                judge=judge,
                n=len(reference),
                old=Scores(**{m: _num(old_scores[m]) for m in METRICS}),
                new=Scores(**{m: _num(new_scores[m]) for m in METRICS}),
                change=ScoreChange(**delta),
                fixed=sum(r != b and r == a for r, b, a in zip(reference, before, after, strict=True)),
                broken=sum(r == b and r != a for r, b, a in zip(reference, before, after, strict=True)),
            )
        )
    return CompareReport(
        project=ProjectRef(id=project.id, name=project.name),
        old=old_version.ref,
        new=new_version.ref,
        criterion=options.criterion,
        settings=ReportSettings(
            failed=options.failed, resamples=options.resamples, confidence=options.confidence, seed=options.seed
        ),
        judges=rows,
    )
