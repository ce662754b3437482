"""The validity study: does certified routing keep its promise on held-out pairs, and at what coverage?

Each split draws a calibration half and a test half of human-labelled items. A :data:`Strategy` turns
the calibration half into a :class:`Plan` (the cascade's stages and how an item's judge outcomes
become signals); the plan is calibrated on its calibration items, the test half is routed, and the
accepted test pairs are compared with their held-back reference. A split *breaks the promise* when
the realized disagreement among its accepted test pairs is above α. The *ceiling* is the coverage of
the best fixed thresholds for the same plan, chosen with hindsight on the test half.

Strategies for a panel of judges that carry only outcomes (imported verdicts, one order, no
confidence), in the spirit of the signals that exist for them:

- :func:`panel_strategy`: one stage, "both judges agree" (the panel's strict majority);
- :func:`cascade_strategy`: the panel first, then each judge alone, cheapest first;
- :func:`agreement_strategy`: each judge alone, ranked by its graded agreement with the others;
- :func:`ladder_strategy`: one stage, decisive agreement > agreed tie > tie vs a side > contradiction;
- :func:`learned_cells_strategy`: one stage whose signal is the accuracy, learned on a share of the
  calibration half held out from calibration, of the best outcome in each *cell* (the tuple of all
  judges' outcomes): it ranks "both agree", "one says tie", "they contradict" by what they were
  worth, judge tie habits included. With ``learn_share=0`` it learns on the very pairs it then
  calibrates on: that ordering is chosen with the labels and the guarantee no longer covers it.

>>> items = [Item(str(i), {"x": "a", "y": "a" if i % 4 else "b"}, "a" if i % 10 else "b") for i in range(400)]
>>> rows = study(items, panel_strategy(["x", "y"]), alphas=[0.2], delta=0.1, splits=2, n_calibration=200)
>>> [(row.broken, round(row.coverage, 2), round(row.ceiling, 2)) for row in rows]
[(0, 0.75, 0.75)]
"""

from __future__ import annotations

import itertools
from collections import defaultdict
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass

import numpy as np

from rubrics.outcomes import OUTCOMES, Outcome
from server.routing.calibration import DEFAULT_MIN_N, PairSignals, Stage, calibrate, route
from server.routing.signals import LADDER, Judgement, agreement_ladder, panel_agreement, preference_agreement

PANEL = "panel"


@dataclass(frozen=True, slots=True)
class Item:
    """A human-labelled pair: each judge's outcome (None: no usable verdict) and the human reference."""

    pair: str
    outcomes: Mapping[str, Outcome | None]
    reference: Outcome | None


@dataclass(frozen=True, slots=True)
class Plan:
    """What a strategy made of a calibration half: stages, signals per item, the items to calibrate on."""

    stages: tuple[Stage, ...]
    signals: Callable[[Item], dict[str, Judgement]]
    calibrate_on: tuple[Item, ...]


Strategy = Callable[[Sequence[Item], np.random.Generator], Plan]


@dataclass(frozen=True, slots=True)
class Row:
    """One strategy at one α over all splits.

    `broken`: splits whose accepted test pairs disagree with the reference more than α. `violated`:
    splits whose certified thresholds disagree more than α on all the items (calibration and test
    halves together, the study's population): the guarantee's own event. A test half can break
    the promise by its sampling noise alone when the risk sits just under α, the more often as the
    calibration half looked better than the pool (the two halves of a fixed pool are anti-correlated).
    """

    strategy: str
    alpha: float
    splits: int
    broken: int
    violated: int
    certified: int
    coverage: float
    disagreement: float
    ceiling: float


def _panel(outcomes: Mapping[str, Outcome | None], judges: Sequence[str]) -> Judgement:
    return panel_agreement({judge: outcomes.get(judge) for judge in judges})


def panel_strategy(judges: Sequence[str]) -> Strategy:
    """One stage: the panel's strict-majority outcome, accepted when the judges agree."""

    def plan(calibration: Sequence[Item], rng: np.random.Generator) -> Plan:
        return Plan(
            (Stage(PANEL, "panel_agreement"),),
            lambda item: {PANEL: _panel(item.outcomes, judges)},
            tuple(calibration),
        )

    return plan


def cascade_strategy(judges: Sequence[str]) -> Strategy:
    """The panel first, then each judge alone (signal: it has a verdict), in the order given."""

    def signals(item: Item) -> dict[str, Judgement]:
        alone = {
            judge: Judgement(item.outcomes.get(judge), None if item.outcomes.get(judge) is None else 1.0)
            for judge in judges
        }
        return {PANEL: _panel(item.outcomes, judges), **alone}

    def plan(calibration: Sequence[Item], rng: np.random.Generator) -> Plan:
        stages = (Stage(PANEL, "panel_agreement"), *(Stage(judge, "verdict") for judge in judges))
        return Plan(stages, signals, tuple(calibration))

    return plan


def agreement_strategy(stages: Sequence[str], panel: Sequence[str]) -> Strategy:
    """A cascade of judges alone (`stages`, in order), each ranked by its graded agreement with the `panel`.

    One judge's stage accepts, from the top, "the others agree", then "one of us said tie", then "we
    contradict each other" (:func:`server.routing.signals.preference_agreement`): an ordering fixed
    before any label is seen.
    """
    missing = set(stages) - set(panel)
    if missing:
        raise ValueError(f"stages: {sorted(missing)} not in the panel {list(panel)}")

    def signals(item: Item) -> dict[str, Judgement]:
        outcomes = {judge: item.outcomes.get(judge) for judge in panel}
        return {judge: preference_agreement(judge, outcomes) for judge in stages}

    def plan(calibration: Sequence[Item], rng: np.random.Generator) -> Plan:
        return Plan(tuple(Stage(judge, "preference_agreement") for judge in stages), signals, tuple(calibration))

    return plan


def ladder_strategy(judges: Sequence[str], lowest: str = "alone") -> Strategy:
    """One stage, the panel ranked by :func:`server.routing.signals.agreement_ladder` (`judges` in priority order).

    Levels below `lowest` (a name in :data:`server.routing.signals.LADDER`) keep their rank but lose
    their outcome, so they are never accepted: ``lowest="tie"`` is "both agree", decisive first.
    """
    if lowest not in LADDER:
        raise ValueError(f"lowest: must be one of {list(LADDER)}, got {lowest!r}")

    def signals(item: Item) -> dict[str, Judgement]:
        judgement = agreement_ladder({judge: item.outcomes.get(judge) for judge in judges}, judges)
        if judgement.confidence is not None and judgement.confidence < LADDER[lowest]:
            judgement = Judgement(None, judgement.confidence)
        return {PANEL: judgement}

    def plan(calibration: Sequence[Item], rng: np.random.Generator) -> Plan:
        return Plan((Stage(PANEL, "agreement_ladder"),), signals, tuple(calibration))

    return plan


def learned_cells_strategy(judges: Sequence[str], learn_share: float = 0.4) -> Strategy:
    """One stage ranked by each cell's learned accuracy (Laplace-smoothed), on a held-out share.

    `learn_share` of the calibration half (drawn at random) learns, per cell of judge outcomes, the
    outcome any judge gave there that most often matched the reference and its smoothed accuracy
    (hits + 1) / (n + 2); the rest is calibrated on. Unseen cells are never accepted.
    """
    if not 0.0 <= learn_share < 1.0:
        raise ValueError(f"learn_share: must be in [0, 1), got {learn_share!r}")

    def plan(calibration: Sequence[Item], rng: np.random.Generator) -> Plan:
        order = rng.permutation(len(calibration))
        cut = round(learn_share * len(calibration))
        learn = [calibration[i] for i in order[:cut]] if cut else list(calibration)
        rest = tuple(calibration[i] for i in order[cut:])
        seen: dict[tuple[Outcome | None, ...], list[Outcome | None]] = defaultdict(list)
        for item in learn:
            seen[tuple(item.outcomes.get(judge) for judge in judges)].append(item.reference)
        table: dict[tuple[Outcome | None, ...], Judgement] = {}
        for cell, references in seen.items():
            candidates = [outcome for outcome in OUTCOMES if outcome in cell]
            if candidates:
                best = max(candidates, key=lambda outcome: references.count(outcome))
                table[cell] = Judgement(best, round((references.count(best) + 1) / (len(references) + 2), 12))

        def signals(item: Item) -> dict[str, Judgement]:
            cell = tuple(item.outcomes.get(judge) for judge in judges)
            return {"cells": table.get(cell, Judgement(None, None))}

        return Plan((Stage("cells", "learned_cell_accuracy"),), signals, rest)

    return plan


def _realized(plan: Plan, items: Sequence[Item], thresholds: Sequence[float | None]) -> tuple[int, int]:
    """Accepted count and disagreements among them for fixed thresholds per stage."""
    accepted = wrong = 0
    for item in items:
        judgements = plan.signals(item)
        for stage, threshold in zip(plan.stages, thresholds, strict=True):
            judgement = judgements.get(stage.judge)
            if (
                threshold is not None
                and judgement is not None
                and judgement.outcome is not None
                and judgement.confidence is not None
                and judgement.confidence >= threshold
            ):
                accepted += 1
                wrong += judgement.outcome != item.reference
                break
    return accepted, wrong


def hindsight_ceiling(plan: Plan, test: Sequence[Item], alpha: float, limit: int = 20_000) -> float:
    """The largest test coverage of any fixed thresholds (one per stage) whose realized disagreement ≤ α.

    Candidates per stage are its distinct signal values on the test items, and None (accept nothing).
    """
    grids = []
    for stage in plan.stages:
        values = {
            judgement.confidence
            for item in test
            if (judgement := plan.signals(item).get(stage.judge)) is not None
            and judgement.outcome is not None
            and judgement.confidence is not None
        }
        grids.append([None, *sorted(values)])
    if np.prod([len(grid) for grid in grids]) > limit:
        raise ValueError(f"thresholds: more than {limit} combinations to search; coarsen the signal")
    best = 0
    for thresholds in itertools.product(*grids):
        accepted, wrong = _realized(plan, test, thresholds)
        if accepted and wrong <= alpha * accepted:
            best = max(best, accepted)
    return best / len(test)


def study(
    items: Sequence[Item],
    strategy: Strategy,
    *,
    alphas: Sequence[float],
    delta: float,
    splits: int,
    n_calibration: int,
    min_n: int = DEFAULT_MIN_N,
    seed: int = 0,
    name: str = "",
    joint: bool = False,
    routed: bool = False,
) -> list[Row]:
    """Run the split study of one strategy at each α; the same splits (one seed) for every α.

    With `joint`, each of the k stages is calibrated at δ/k, so that all hold at once with
    probability ≥ 1−δ (the union bound); otherwise each stage at δ. With `routed`, calibration is
    given the test half's signals (not its labels) and bounds the disagreement among the routed
    test pairs (``promise="routed"``). Items without a reference are left out. Returns one
    :class:`Row` per α.
    """
    labelled = [item for item in items if item.reference is not None]
    if not 0 < n_calibration < len(labelled):
        raise ValueError(f"n_calibration: must leave a test half, got {n_calibration} of {len(labelled)} items")
    results: dict[float, list[tuple[bool, bool, bool, float, float, float]]] = {alpha: [] for alpha in alphas}
    rng = np.random.default_rng(seed)
    for split in range(splits):
        order = rng.permutation(len(labelled))
        calibration = [labelled[i] for i in order[:n_calibration]]
        test = [labelled[i] for i in order[n_calibration:]]
        plan = strategy(calibration, np.random.default_rng([seed, split]))  # the splits stay the same per seed
        to_pairs = [PairSignals(item.pair, plan.signals(item), item.reference) for item in plan.calibrate_on]
        test_pairs = [PairSignals(item.pair, plan.signals(item)) for item in test]
        references = {item.pair: item.reference for item in test}
        for alpha in alphas:
            level = delta / len(plan.stages) if joint else delta
            result = calibrate(
                to_pairs, plan.stages, alpha=alpha, delta=level, min_n=min_n, routed=test_pairs if routed else None
            )
            accepted = [d for d in route(test_pairs, result) if d.status == "accepted"]
            wrong = sum(d.outcome != references[d.pair] for d in accepted)
            rate = wrong / len(accepted) if accepted else 0.0
            ceiling = hindsight_ceiling(plan, test, alpha)
            pooled, pooled_wrong = _realized(plan, labelled, [judge.threshold for judge in result.judges])
            violated = pooled_wrong > alpha * pooled
            results[alpha].append((rate > alpha, violated, result.certified, len(accepted) / len(test), rate, ceiling))
    rows = []
    for alpha, runs in results.items():
        broken, violated, certified, coverage, rate, ceiling = zip(*runs, strict=True)
        accepted_rates = [r for r, c in zip(rate, coverage, strict=True) if c > 0]
        rows.append(
            Row(
                strategy=name,
                alpha=alpha,
                splits=splits,
                broken=sum(broken),
                violated=sum(violated),
                certified=sum(certified),
                coverage=float(np.mean(coverage)),
                disagreement=float(np.mean(accepted_rates)) if accepted_rates else 0.0,
                ceiling=float(np.mean(ceiling)),
            )
        )
    return rows
