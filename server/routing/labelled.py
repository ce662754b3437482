"""From stored labels to routing's records: the human reference of a pair and each judge's signal.

Pure functions over :class:`server.labels.PairLabels` (the one read model of what a stored label
means); nothing here touches storage.

The **human reference** (:func:`human_reference`) is, in this order: the adjudicated outcome, the
gold outcome, else the strict majority of the rankings (:func:`rubrics.outcomes.strict_majority`).
Rankings made in *assisted* mode are left out unless asked for: a reviewer shown the judge's verdict
anchors on it, so counting them would calibrate the judge against itself. Imported rankings carry no
mode and count as unassisted.

The **signals** (:data:`SIGNALS`), each a way to rank a judge's outcome from most to least
trustworthy (:mod:`server.routing.signals`):

- per judge (each judge named is one stage of a cascade, cheapest first):
  ``order`` agreement across the two presentation orders; ``confidence`` the verdicts' stored
  confidence (a judge job's stated 1..5 mapped onto [0, 1], an imported value as given), averaged
  over the orders; ``logprob`` the judge's probability of each outcome from its token logprobs,
  averaged over the two orders (SCOPE's strongest signal), its outcome the likeliest one;
  ``agreement`` graded agreement with the other judges named;
- over the judges named together (one stage, named ``judge1+judge2``): ``panel`` the strict
  majority and its share; ``agree`` the agreement ladder cut at an agreed tie (both agree, decisive
  above tie); ``ladder`` the whole agreement ladder (on a contradiction the first judge named wins).

>>> from server.labels import RankingLabel, VerdictLabel
>>> pair = PairLabels(1, rankings=(RankingLabel("ann", "a"), RankingLabel("bob", "a", mode="assisted")),
...                   verdicts=(VerdictLabel(1, "j", "ab", "a"), VerdictLabel(2, "j", "ba", "a")))
>>> human_reference(pair)
Reference(outcome='a', source='majority', votes=1)
>>> judge_signals(pair, ["j"], "order", {"j": None})
{'j': Judgement(outcome='a', confidence=1.0)}
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Literal, NamedTuple

from rubrics.outcomes import Outcome, strict_majority
from server.labels import PairLabels, RubricVersionRef, VerdictLabel, judgement
from server.routing.calibration import PairSignals, Stage
from server.routing.signals import (
    LADDER,
    Judgement,
    OrderProbabilities,
    agreement_ladder,
    logprob_confidence,
    order_agreement,
    panel_agreement,
    preference_agreement,
    stated_confidence,
)

PER_JUDGE = ("order", "confidence", "logprob", "agreement")
TOGETHER = ("panel", "agree", "ladder")
SIGNALS = PER_JUDGE + TOGETHER
"""Every signal name :func:`stages` and :func:`judge_signals` know."""

STATED_SCALE = (1.0, 5.0)
"""The scale of a judge job's stated confidence (judges/verdicts.py: 1 = a guess, 5 = certain)."""


class Reference(NamedTuple):
    """A pair's human reference, where it came from, and how many rankings it rests on."""

    outcome: Outcome
    source: Literal["adjudication", "gold", "majority"]
    votes: int


def human_reference(pair: PairLabels, *, include_assisted: bool = False) -> Reference | None:
    """The pair's human reference (adjudication, else gold, else strict majority), or None.

    >>> from server.labels import RankingLabel
    >>> split = PairLabels(1, rankings=(RankingLabel("x", "a"), RankingLabel("y", "b")))
    >>> human_reference(split) is None, human_reference(PairLabels(2, is_gold=True, gold_outcome="tie")).source
    (True, 'gold')
    >>> human_reference(PairLabels(3, rankings=(RankingLabel("x", "b", mode="assisted"),)), include_assisted=True)
    Reference(outcome='b', source='majority', votes=1)
    """
    if pair.adjudicated is not None:
        return Reference(pair.adjudicated, "adjudication", len(pair.rankings))
    if pair.is_gold and pair.gold_outcome is not None:
        return Reference(pair.gold_outcome, "gold", len(pair.rankings))
    votes = [r.outcome for r in pair.rankings if include_assisted or r.mode != "assisted"]
    majority = strict_majority(votes)
    return Reference(majority, "majority", len(votes)) if majority is not None else None


def check_signal(signal: str, judges: Sequence[str]) -> None:
    """Raise a ValueError naming the field when the signal or the judges cannot go together.

    >>> check_signal("panel", ["gpt"])
    Traceback (most recent call last):
    ...
    ValueError: judge: the panel signal needs at least two judges, got ['gpt']
    """
    if signal not in SIGNALS:
        raise ValueError(f"signal: must be one of {', '.join(SIGNALS)}, got {signal!r}")
    if not judges:
        raise ValueError("judge: name at least one judge")
    if len(set(judges)) != len(judges):
        raise ValueError(f"judge: each judge may be named once, got {list(judges)}")
    if signal in ("agreement", *TOGETHER) and len(judges) < 2:
        raise ValueError(f"judge: the {signal} signal needs at least two judges, got {list(judges)}")


def panel_name(judges: Sequence[str]) -> str:
    """The name of the one stage a signal over several judges makes: ``gpt+pandalm``."""
    return "+".join(judges)


def stages(judges: Sequence[str], signal: str) -> list[Stage]:
    """The cascade for `judges` (cheapest first) under `signal`: one stage per judge, or one for all.

    >>> [s.judge for s in stages(["gpt", "pandalm"], "order")], [s.judge for s in stages(["gpt", "pandalm"], "agree")]
    (['gpt', 'pandalm'], ['gpt+pandalm'])
    """
    check_signal(signal, judges)
    if signal in TOGETHER:
        return [Stage(panel_name(judges), signal)]
    return [Stage(judge, signal) for judge in judges]


def _newest_per_order(
    verdicts: Sequence[VerdictLabel], judge: str, rubric: RubricVersionRef | None
) -> list[VerdictLabel]:
    """The judge's newest usable verdict in each order under `rubric` (the rule of server.labels)."""
    newest: dict[str, VerdictLabel] = {}
    for verdict in verdicts:
        if verdict.judge == judge and verdict.rubric == rubric and not verdict.failed and verdict.outcome:
            newest[verdict.order] = verdict
    return list(newest.values())


def stored_confidence(verdict: VerdictLabel) -> float | None:
    """A verdict's stored confidence on [0, 1]: a job's stated 1..5 mapped linearly, an import's as given.

    >>> stored_confidence(VerdictLabel(1, "j", "ab", "a", confidence=4, source="job"))
    0.75
    """
    if verdict.confidence is None:
        return None
    if verdict.source == "import":
        return min(max(float(verdict.confidence), 0.0), 1.0)
    low, high = STATED_SCALE
    return stated_confidence(verdict.outcome, min(max(verdict.confidence, low), high), low=low, high=high).confidence


def order_probabilities(verdict: VerdictLabel) -> OrderProbabilities | None:
    """A verdict's recorded probabilities of a / b / tie (canonical order), or None when it has none.

    >>> order_probabilities(VerdictLabel(1, "j", "ba", "b", probabilities={"a": 0.1, "b": 0.8, "tie": 0.1}))
    OrderProbabilities(a=0.1, b=0.8, tie=0.1)
    """
    found = verdict.probabilities
    if not found:
        return None
    return OrderProbabilities(**{k: min(max(float(found.get(k, 0.0)), 0.0), 1.0) for k in ("a", "b", "tie")})


def judge_signals(
    pair: PairLabels, judges: Sequence[str], signal: str, counted: Mapping[str, RubricVersionRef | None]
) -> dict[str, Judgement]:
    """Each stage's judgement of the pair under `signal` (keyed by the stage names of :func:`stages`).

    Args:
        pair: the pair's labels.
        judges: the judges named, cheapest first.
        signal: one of :data:`SIGNALS`.
        counted: the rubric version that counts per judge (:func:`server.labels.counted_versions`);
            a judge missing from it has no verdict here.

    >>> from server.labels import VerdictLabel
    >>> pair = PairLabels(1, verdicts=(VerdictLabel(1, "x", "ab", "a"), VerdictLabel(2, "y", "ab", "tie")))
    >>> judge_signals(pair, ["x", "y"], "ladder", {"x": None, "y": None})
    {'x+y': Judgement(outcome='a', confidence=0.5)}
    >>> judge_signals(pair, ["x", "y"], "agree", {"x": None, "y": None})
    {'x+y': Judgement(outcome=None, confidence=0.5)}
    """
    check_signal(signal, judges)
    combined = {
        judge: judgement(pair.verdicts, judge, counted[judge]) if judge in counted else None for judge in judges
    }
    outcomes = {judge: found.outcome if found else None for judge, found in combined.items()}
    if signal == "panel":
        return {panel_name(judges): panel_agreement(outcomes)}
    if signal in ("agree", "ladder"):
        found = agreement_ladder(outcomes, list(judges))
        if signal == "agree" and found.confidence is not None and found.confidence < LADDER["tie"]:
            found = Judgement(None, found.confidence)  # below an agreed tie: ranked, never accepted
        return {panel_name(judges): found}
    result = {}
    for judge in judges:
        found = combined[judge]
        if signal == "agreement":
            result[judge] = preference_agreement(judge, outcomes)
        elif found is None or found.outcome is None:
            result[judge] = Judgement(None, None)
        elif signal == "order":
            result[judge] = order_agreement(found.orders.get("ab"), found.orders.get("ba"))
        elif signal == "logprob":
            shown = {v.order: order_probabilities(v) for v in _newest_per_order(pair.verdicts, judge, counted[judge])}
            result[judge] = logprob_confidence(shown.get("ab"), shown.get("ba"))
        else:
            values = [
                value
                for verdict in _newest_per_order(pair.verdicts, judge, counted[judge])
                if (value := stored_confidence(verdict)) is not None
            ]
            result[judge] = Judgement(found.outcome, round(sum(values) / len(values), 12) if values else None)
    return result


def routing_records(
    pairs: Sequence[PairLabels],
    judges: Sequence[str],
    signal: str,
    counted: Mapping[str, RubricVersionRef | None],
    *,
    include_assisted: bool = False,
) -> tuple[list[PairSignals], list[PairSignals]]:
    """Split a project's pairs into calibration records (with a reference) and pairs to route (without).

    >>> from server.labels import RankingLabel, VerdictLabel
    >>> labelled = PairLabels(1, rankings=(RankingLabel("x", "a"),), verdicts=(VerdictLabel(1, "j", "ab", "a"),))
    >>> calibration, to_route = routing_records([labelled, PairLabels(2)], ["j"], "order", {"j": None})
    >>> [(p.pair, p.reference) for p in calibration], [p.pair for p in to_route]
    ([('1', 'a')], ['2'])
    """
    calibration, to_route = [], []
    for pair in pairs:
        reference = human_reference(pair, include_assisted=include_assisted)
        record = PairSignals(
            str(pair.id), judge_signals(pair, judges, signal, counted), reference.outcome if reference else None
        )
        (calibration if reference else to_route).append(record)
    return calibration, to_route
