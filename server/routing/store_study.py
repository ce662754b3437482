"""The validity study through the store: import, calibrate, route, compare — as a user of the service would.

Per split (the same random splits as :func:`server.routing.validity.study` for one seed): a fresh store
gets the calibration half imported *with* its labels and the test half *without* (the labels are dropped
from the rows, so routing sees only the judges' verdicts), then for each α the service calibrates
(:func:`server.routing.service.calibrate_project`) and routes (:func:`server.routing.service.route_project`),
and the accepted test pairs are compared, by their import row id, with the held-back reference (the strict
majority of the dropped labels). A split *breaks the promise* when their realized disagreement is above α.
The *ceiling* is the best fixed threshold chosen with hindsight on the test half, for the same signal.

>>> rows = [{"id": str(i), "prompt": f"p{i}", "response_a": "x", "response_b": "y",
...          "labels": {"h1": "a", "h2": "a"}, "verdicts": [{"judge": "j", "outcome": "a"}]} for i in range(80)]
>>> import tempfile
>>> folder = tempfile.mkdtemp()
>>> [row] = store_study(rows, lambda split: f"sqlite:///{folder}/{split}.db", judges=["j"], signal="order",
...                     alphas=[0.2], delta=0.1, splits=1, n_calibration=40)
>>> row.broken, row.certified, row.coverage
(0, 1, 1.0)
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

import numpy as np

from rubrics.outcomes import Outcome, strict_majority
from server.imports.service import import_rows
from server.routing.calibration import DEFAULT_MIN_N, JudgeCalibration, PairSignals, Stage, route
from server.routing.service import CalibrateRequest, calibrate_project, project_signals, route_project, row_id
from server.routing.validity import Item, Plan, Row, Run, hindsight_ceiling, summarize
from server.storage import Repository, Store, open_store


def _reference(row: dict[str, Any]) -> Outcome | None:
    labels = row.get("labels") or {}
    return strict_majority(list(labels.values() if isinstance(labels, dict) else [x["outcome"] for x in labels]))


def store_study(
    rows: Sequence[dict[str, Any]],
    database: Callable[[int], str],
    *,
    judges: Sequence[str],
    signal: str,
    alphas: Sequence[float],
    delta: float,
    splits: int,
    n_calibration: int,
    min_n: int = DEFAULT_MIN_N,
    seed: int = 0,
    name: str = "",
) -> list[Row]:
    """Run the split study through a fresh store per split (`database(split)` gives its URL).

    `rows` are import rows (ImportRow-shaped dicts with an `id`); those without a strict-majority
    reference are left out, as in :func:`server.routing.validity.study`, so the splits are the same.
    """
    labelled = [row for row in rows if _reference(row) is not None]
    if not 0 < n_calibration < len(labelled):
        raise ValueError(f"n_calibration: must leave a test half, got {n_calibration} of {len(labelled)} rows")
    results: dict[float, list[Run]] = {alpha: [] for alpha in alphas}
    references = {str(row["id"]): _reference(row) for row in labelled}
    rng = np.random.default_rng(seed)
    for split in range(splits):
        order = rng.permutation(len(labelled))
        calibration = [labelled[i] for i in order[:n_calibration]]
        test = [labelled[i] for i in order[n_calibration:]]
        store = open_store(database(split))
        try:
            project_id = _load_split(store, calibration, test)
            for alpha in alphas:
                request = CalibrateRequest(judges=list(judges), signal=signal, alpha=alpha, delta=delta, min_n=min_n)
                results[alpha].append(_run(store, project_id, request, references, len(test)))
        finally:
            store.dispose()
    return summarize(name, splits, results)


def _load_split(store: Store, calibration: Sequence[dict[str, Any]], test: Sequence[dict[str, Any]]) -> int:
    """Import one split into project `study`: the calibration rows with their labels, the test rows without."""
    records = [(f"calibration {i}", row) for i, row in enumerate(calibration)]
    records += [(f"test {i}", {**row, "labels": {}}) for i, row in enumerate(test)]
    import_rows(store, records, project="study")
    with store.read() as session:
        return Repository(session).project_by_name("study").id


def _run(
    store: Store, project_id: int, request: CalibrateRequest, references: dict[str, Outcome | None], n_test: int
) -> Run:
    """Calibrate and route one split at one α; what the study counts of it (see :func:`summarize`)."""
    alpha = request.alpha
    record = calibrate_project(store, project_id, request)
    routed = route_project(store, project_id, int(record.calibration))
    accepted = [d for d in routed.decisions if d.status == "accepted"]
    wrong = sum(d.outcome != references[d.id] for d in accepted)
    rate = wrong / len(accepted) if accepted else 0.0
    pairs, with_reference, to_route = project_signals(store, project_id, record)
    ids = {str(pair.id): row_id(pair) for pair in pairs}
    everything = [*with_reference, *to_route]  # the population: both halves, references held back
    pooled = [d for d in route(everything, record.as_calibration()) if d.status == "accepted"]
    pooled_wrong = sum(d.outcome != references[ids[d.pair]] for d in pooled)
    ceiling = _ceiling(record.judges, to_route, ids, references, alpha)
    return (rate > alpha, pooled_wrong > alpha * len(pooled), record.certified, len(accepted) / n_test, rate, ceiling)


def _ceiling(
    judges: Sequence[JudgeCalibration],
    to_route: Sequence[PairSignals],
    ids: dict[str, str],
    references: dict[str, Outcome | None],
    alpha: float,
) -> float:
    """:func:`server.routing.validity.hindsight_ceiling` on the routed test pairs' stored signals."""
    signals = {pair.pair: dict(pair.judgements) for pair in to_route}
    items = [Item(pair.pair, {}, references[ids[pair.pair]]) for pair in to_route]
    stages = tuple(Stage(judge.judge, judge.signal) for judge in judges)
    return hindsight_ceiling(Plan(stages, lambda item: signals[item.pair], tuple(items)), items, alpha)
