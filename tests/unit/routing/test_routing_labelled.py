"""From stored labels to routing's records: the reference rule, assisted rankings, and each signal."""

from __future__ import annotations

import pytest

from server.labels import PairLabels, RankingLabel, RubricVersionRef, VerdictLabel
from server.routing.labelled import human_reference, judge_signals, routing_records, stages, stored_confidence

V1, V2 = RubricVersionRef(1, "hhh", "1.9.0"), RubricVersionRef(2, "hhh", "1.10.0")


def ranking(name: str, outcome: str, mode: str | None = None) -> RankingLabel:
    return RankingLabel(name, outcome, mode=mode)  # type: ignore[arg-type]


def test_reference_is_adjudication_then_gold_then_strict_majority() -> None:
    votes = (ranking("x", "a"), ranking("y", "a"), ranking("z", "b"))
    assert human_reference(PairLabels(1, rankings=votes)).outcome == "a"
    assert human_reference(PairLabels(1, rankings=votes, is_gold=True, gold_outcome="tie")).source == "gold"
    both = PairLabels(1, rankings=votes, is_gold=True, gold_outcome="tie", adjudicated="b")
    assert human_reference(both)[:2] == ("b", "adjudication")
    assert human_reference(PairLabels(1, rankings=votes[:1] + votes[2:])) is None  # a against b: no majority


def test_assisted_rankings_count_only_when_asked() -> None:
    votes = (
        ranking("x", "a"),
        ranking("y", "b", "assisted"),
        ranking("z", "b", "assisted"),
        ranking("w", "a", "blind"),
    )
    assert human_reference(PairLabels(1, rankings=votes))[:3] == ("a", "majority", 2)
    assert human_reference(PairLabels(1, rankings=votes), include_assisted=True) is None  # 2 a, 2 b


def test_order_signal_and_the_counted_version() -> None:
    verdicts = (
        VerdictLabel(1, "j", "ab", "a", rubric=V1),
        VerdictLabel(2, "j", "ba", "b", rubric=V1),
        VerdictLabel(3, "j", "ab", "b", rubric=V2),
        VerdictLabel(4, "j", "ba", "b", rubric=V2),
    )
    pair = PairLabels(1, verdicts=verdicts)
    assert judge_signals(pair, ["j"], "order", {"j": V1})["j"] == ("tie", 0.0)
    assert judge_signals(pair, ["j"], "order", {"j": V2})["j"] == ("b", 1.0)
    one_order = PairLabels(1, verdicts=verdicts[2:3])
    assert judge_signals(one_order, ["j"], "order", {"j": V2})["j"] == ("b", 0.5)
    assert judge_signals(PairLabels(2), ["j"], "order", {"j": V2})["j"] == (None, None)


def test_confidence_signal_maps_stated_and_keeps_imported_and_ignores_failed() -> None:
    verdicts = (
        VerdictLabel(1, "j", "ab", "a", confidence=5, source="job"),
        VerdictLabel(2, "j", "ba", "a", confidence=2, source="job"),
        VerdictLabel(3, "k", "ab", "b", confidence=0.8, source="import"),
        VerdictLabel(4, "k", "ba", None, failed=True, confidence=0.1, source="import"),
    )
    found = judge_signals(PairLabels(1, verdicts=verdicts), ["j", "k"], "confidence", {"j": None, "k": None})
    assert found["j"].outcome == "a" and found["j"].confidence == pytest.approx((1.0 + 0.25) / 2)
    assert found["k"] == ("b", 0.8)
    assert stored_confidence(VerdictLabel(1, "j", "ab", "a", source="job")) is None


def test_logprob_signal_averages_the_two_orders_probabilities() -> None:
    """SCOPE: the orders' canonical probabilities averaged; the outcome is the likeliest, even where the
    two orders' outcomes disagree (the combined verdict is then an inconsistent tie)."""
    verdicts = (
        VerdictLabel(1, "j", "ab", "a", probabilities={"a": 0.9, "b": 0.08, "tie": 0.02}),
        VerdictLabel(2, "j", "ba", "b", probabilities={"a": 0.4, "b": 0.55, "tie": 0.05}),
        VerdictLabel(3, "k", "ab", "b", probabilities={"a": 0.3, "b": 0.7, "tie": 0.0}),  # one order only
        VerdictLabel(4, "m", "ab", "a"),  # no probabilities recorded
    )
    counted = {"j": None, "k": None, "m": None}
    found = judge_signals(PairLabels(1, verdicts=verdicts), ["j", "k", "m"], "logprob", counted)
    assert found["j"].outcome == "a" and found["j"].confidence == pytest.approx((0.9 + 0.4) / 2)
    assert found["k"].outcome == "b" and found["k"].confidence == pytest.approx(0.7)
    assert found["m"] == (None, None)  # escalated: nothing to be confident about


def test_panel_signals_are_one_stage_named_after_the_judges() -> None:
    pair = PairLabels(1, verdicts=(VerdictLabel(1, "x", "ab", "a"), VerdictLabel(2, "y", "ab", "a")))
    counted = {"x": None, "y": None}
    assert [s.judge for s in stages(["x", "y"], "ladder")] == ["x+y"]
    assert judge_signals(pair, ["x", "y"], "panel", counted) == {"x+y": ("a", 1.0)}
    assert judge_signals(pair, ["x", "y"], "agree", counted) == {"x+y": ("a", 1.0)}
    contradict = PairLabels(1, verdicts=(VerdictLabel(1, "x", "ab", "a"), VerdictLabel(2, "y", "ab", "b")))
    assert judge_signals(contradict, ["y", "x"], "ladder", counted) == {"y+x": ("b", 0.25)}
    assert judge_signals(contradict, ["y", "x"], "agree", counted) == {"y+x": (None, 0.25)}
    graded = judge_signals(contradict, ["x", "y"], "agreement", counted)
    assert graded == {"x": ("a", 0.0), "y": ("b", 0.0)}


@pytest.mark.parametrize(
    ("judges", "signal", "message"),
    [
        (["x"], "logits", "signal: must be one of"),
        (["x", "x"], "order", "judge: each judge may be named once"),
        ([], "order", "judge: name at least one judge"),
        (["x"], "agree", "judge: the agree signal needs at least two judges"),
    ],
)
def test_bad_cascades_name_the_field(judges: list[str], signal: str, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        stages(judges, signal)


def test_records_split_by_reference_and_keep_the_pair_id() -> None:
    labelled = PairLabels(5, rankings=(ranking("x", "b"),), verdicts=(VerdictLabel(1, "j", "ab", "b"),))
    assisted_only = PairLabels(6, rankings=(ranking("x", "b", "assisted"),))
    calibration, to_route = routing_records([labelled, assisted_only], ["j"], "order", {"j": None})
    assert [(p.pair, p.reference) for p in calibration] == [("5", "b")]
    assert [p.pair for p in to_route] == ["6"]  # its only ranking was assisted: it is routed like an unlabelled pair
