"""Certified routing over a stored project: calibrate, route, estimate (what the CLI and the API call).

Each entry point reads the project's labels through :mod:`server.labels`, turns them into routing's
records (:mod:`server.routing.labelled`), runs the pure core (:mod:`server.routing.calibration`,
:mod:`server.routing.estimate`) and stores what it decided (:mod:`server.routing.store`).

- :func:`calibrate_project`: the calibration set is the project's pairs with a human reference;
  the record names the references used (ids, count, fingerprint).
- :func:`route_project`: every pair without a human reference is accepted or escalated under a
  stored calibration, with the same judges, signal, rubric version and reference rule; the
  decisions replace the project's earlier ones.
- :func:`estimate_project`: outcome shares with PPI++ intervals beside human-only and judge-only.
- :func:`routing_status`: the current routing's counts and the human labels it saves.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

from rubrics.outcomes import Outcome
from server.labels import PairLabels, RubricVersionRef, project_versions, read_pairs, rubric_refs
from server.routing.calibration import (
    DEFAULT_MIN_N,
    Decision,
    PairSignals,
    RoutingSummary,
    calibrate,
    check_levels,
    route,
    summarize,
)
from server.routing.estimate import Interval, outcome_shares
from server.routing.labelled import SIGNALS, human_reference, judge_signals, routing_records, stages
from server.routing.queue import audit_sampled
from server.routing.signals import Judgement
from server.routing.store import (
    CalibrationRecord,
    LabelsUsed,
    calibration_record,
    decisions,
    replace_decisions,
    routed_calibration,
    save_calibration,
)
from server.rubric_registry import resolve
from server.storage import Repository, Store
from server.storage.repos.annotators import Person

Progress = Callable[[int, int], None]
DIGEST = re.compile(r"[0-9a-f]{64}")


class CalibrateRequest(BaseModel):
    """What a calibration is asked for: the cascade (cheapest first), its signal, α, δ and min n."""

    model_config = ConfigDict(extra="forbid")
    judges: list[str] = Field(min_length=1, description="Judge models, cheapest first (a cascade).")
    rubric: str | None = Field(
        default=None, description="NAME@VERSION whose verdicts count (default: the counted rule)."
    )
    signal: str = Field(default="order", description=f"One of {', '.join(SIGNALS)}.")
    alpha: float = Field(gt=0.0, lt=1.0, description="Largest disagreement rate to certify.")
    delta: float = Field(gt=0.0, lt=1.0, description="The guarantee holds with probability ≥ 1−δ per judge.")
    min_n: int = Field(default=DEFAULT_MIN_N, ge=1, description="Fewest calibration pairs a threshold may rest on.")
    include_assisted: bool = Field(default=False, description="Count rankings made in assisted mode.")
    promise: Literal["population", "routed"] = Field(
        default="population",
        description="population: bound the judge's disagreement rate; routed: bound the disagreement among the "
        "pairs without a human reference now (their signals, not labels, go into the calibration).",
    )


class RoutedPair(BaseModel):
    """One line of `route --decisions`: the import row id (else the pair id) and the decision."""

    model_config = ConfigDict(extra="forbid")
    id: str
    pair_id: int
    status: Literal["accepted", "escalated"]
    judge: str | None
    outcome: Outcome | None
    confidence: float | None
    uncertainty: float | None


class RoutingResult(RoutingSummary):
    """A routing's counts, the calibration it used and its decisions."""

    calibration: str
    decisions: list[RoutedPair] = Field(default_factory=list)


def row_id(pair: PairLabels) -> str:
    """The id a pair was imported under, else its pair id.

    >>> row_id(PairLabels(7, key="import:123")), row_id(PairLabels(8, key="draft:1:2"))
    ('123', '8')
    >>> row_id(PairLabels(9, key="import:" + "0" * 64))
    '9'
    """
    if pair.key.startswith("import:"):
        external = pair.key.removeprefix("import:")
        if not DIGEST.fullmatch(external):  # rows imported without an id are keyed by a content hash
            return external
    return str(pair.id)


def _counted(
    repo: Repository, project_id: int, judges: list[str], rubric: str | None
) -> tuple[dict[str, RubricVersionRef | None], RubricVersionRef | None]:
    ref = None
    if rubric:
        row, _ = resolve(repo, rubric)
        ref = rubric_refs(repo, [row.id])[row.id]
    counted = project_versions(repo, project_id, ref)
    missing = [judge for judge in judges if judge not in counted]
    if missing:
        known = ", ".join(sorted(counted)) or "none"
        under = f" under {ref.ref}" if ref else ""
        raise ValueError(f"judge: {missing[0]!r} has no pairwise verdicts{under} in this project (judges: {known})")
    return counted, ref


def calibrate_project(
    store: Store,
    project_id: int,
    request: CalibrateRequest,
    *,
    actor: Person | None = None,
    progress: Progress | None = None,
) -> CalibrationRecord:
    """Calibrate the cascade on the project's human-labelled pairs and store the calibration."""
    cascade = stages(request.judges, request.signal)
    check_levels(request.alpha, request.delta, request.min_n)
    with store.read() as session:
        repo = Repository(session)
        repo.project(project_id)
        counted, ref = _counted(repo, project_id, request.judges, request.rubric)
        pairs = read_pairs(repo, project_id, progress)
    records, to_route = routing_records(
        pairs, request.judges, request.signal, counted, include_assisted=request.include_assisted
    )
    routed = to_route if request.promise == "routed" else None
    result = calibrate(records, cascade, alpha=request.alpha, delta=request.delta, min_n=request.min_n, routed=routed)
    references = [
        (pair.id, found.outcome, found.source)
        for pair in pairs
        if (found := human_reference(pair, include_assisted=request.include_assisted)) is not None
    ]
    with store.write() as session:
        return save_calibration(
            session,
            project_id,
            result,
            signal=request.signal,
            min_n=request.min_n,
            judge_models=request.judges,
            rubric=ref,
            include_assisted=request.include_assisted,
            labels=LabelsUsed.of(references),
            actor=actor,
        )


def project_signals(
    store: Store, project_id: int, record: CalibrationRecord, progress: Progress | None = None
) -> tuple[list[PairLabels], list[PairSignals], list[PairSignals]]:
    """The project's pairs now, split into (all pairs, with a human reference, without) under the
    calibration's judges, signal, rubric version and reference rule."""
    judges = record.judge_models
    with store.read() as session:
        repo = Repository(session)
        counted, _ = _counted(repo, project_id, judges, record.rubric)
        pairs = read_pairs(repo, project_id, progress)
    labelled, to_route = routing_records(
        pairs, judges, record.signal, counted, include_assisted=record.include_assisted
    )
    return pairs, labelled, to_route


def route_project(
    store: Store,
    project_id: int,
    calibration_id: int,
    *,
    actor: Person | None = None,
    progress: Progress | None = None,
) -> RoutingResult:
    """Route every pair without a human reference under a stored calibration; store the decisions."""
    with store.read() as session:
        record = calibration_record(session, project_id, calibration_id)
    pairs, _, to_route = project_signals(store, project_id, record, progress)
    decisions: list[Decision] = route(to_route, record.as_calibration())
    with store.write() as session:
        replace_decisions(session, project_id, calibration_id, decisions, actor)
    by_id = {str(pair.id): pair for pair in pairs}
    summary = summarize(decisions)
    return RoutingResult(
        **summary.model_dump(),
        calibration=record.calibration,
        decisions=[
            RoutedPair(
                id=row_id(by_id[d.pair]),
                pair_id=int(d.pair),
                status=d.status,
                judge=d.judge,
                outcome=d.outcome,
                confidence=d.confidence,
                uncertainty=d.uncertainty,
            )
            for d in decisions
        ],
    )


class ShareEstimate(BaseModel):
    """One outcome's share: PPI++ and human-only intervals, the judge-only figure, what the judge was worth."""

    outcome: Outcome
    ppi: Interval
    human: Interval
    judge: float
    effective_human_labels: float


class EstimateReport(BaseModel):
    """Outcome shares that use both the judges' and the humans' labels (see :func:`estimate_project`)."""

    calibration: str
    judge: str = Field(description="what labels every pair: the first judge named that has an outcome")
    delta: float
    n_human: int
    n_unlabelled: int
    shares: list[ShareEstimate]
    effective_human_labels: float = Field(description="n_human × (width_human / width_PPI)², averaged over outcomes")


def _predicted(signals: dict[str, Judgement], order: list[str]) -> Outcome | None:
    return next((found.outcome for stage in order if (found := signals.get(stage)) and found.outcome), None)


def estimate_project(
    store: Store, project_id: int, calibration_id: int, *, delta: float = 0.1, progress: Progress | None = None
) -> EstimateReport:
    """The share of a / b / tie outcomes: PPI++ (judge labels on all pairs, corrected by the human
    ones), human-only, and judge-only, at two-sided level 1−δ.

    The judge label of a pair is the outcome of the first judge named (cheapest first) that has one,
    thresholds ignored: the predictor must not be chosen with the human labels it corrects.
    """
    if not 0.0 < delta < 1.0:
        raise ValueError(f"delta: must be strictly between 0 and 1, got {delta!r}")
    with store.read() as session:
        record = calibration_record(session, project_id, calibration_id)
    pairs, labelled, to_route = project_signals(store, project_id, record, progress)
    with store.read() as session:
        counted, _ = _counted(Repository(session), project_id, record.judge_models, record.rubric)
    outcomes = {
        str(pair.id): judge_signals(pair, record.judge_models, "order", counted) for pair in pairs
    }  # each judge's own outcome, orders combined
    if len(labelled) < 2:
        raise ValueError(
            f"calibration: estimates need at least 2 human-labelled pairs, the project has {len(labelled)}"
        )
    shares = outcome_shares(
        [pair.reference for pair in labelled],  # type: ignore[misc]
        [_predicted(outcomes[pair.pair], record.judge_models) for pair in labelled],
        [_predicted(outcomes[pair.pair], record.judge_models) for pair in to_route],
        delta=delta,
    )
    return EstimateReport(
        calibration=record.calibration,
        judge=" → ".join(record.judge_models),
        delta=delta,
        n_human=shares.n_human,
        n_unlabelled=shares.n_unlabelled,
        shares=[ShareEstimate.model_validate(share.model_dump()) for share in shares.shares],
        effective_human_labels=shares.effective_human_labels,
    )


class RoutingStatus(BaseModel):
    """A project's current routing, as the dashboard shows it (`GET /projects/{id}/routing`)."""

    calibration: CalibrationRecord | None = Field(description="the calibration routed last; null: never routed")
    pairs: int
    accepted: int
    escalated: int
    coverage: float
    by_judge: dict[str, int]
    audit_rate: float
    audit_sample: int = Field(description="accepted pairs in the audit sample (they still go to reviewers)")
    overlap: int
    human_labels_saved: int = Field(description="(accepted − audit sample) × overlap: rankings not needed")


def routing_status(store: Store, project_id: int) -> RoutingStatus:
    """Counts of the project's current routing and the human labels it saves under its review policy."""
    from server.review import review_settings  # review imports routing's queue; this import stays local

    with store.read() as session:
        project = Repository(session).project(project_id)
        policy = review_settings(project.settings)
        routed = decisions(session, project_id)
        current = routed_calibration(session, project_id)
        record = calibration_record(session, project_id, current) if current is not None else None
    accepted = [pair for pair, d in routed.items() if d.status == "accepted"]
    by_judge: dict[str, int] = {}
    for d in routed.values():
        if d.status == "accepted" and d.judge:
            by_judge[d.judge] = by_judge.get(d.judge, 0) + 1
    sample = sum(audit_sampled(pair, policy.audit_rate) for pair in accepted)
    return RoutingStatus(
        calibration=record,
        pairs=len(routed),
        accepted=len(accepted),
        escalated=len(routed) - len(accepted),
        coverage=len(accepted) / len(routed) if routed else 0.0,
        by_judge=by_judge,
        audit_rate=policy.audit_rate,
        audit_sample=sample,
        overlap=policy.overlap,
        human_labels_saved=(len(accepted) - sample) * policy.overlap,
    )
