"""Confidence signals: two-order logprob averaging, order / panel / graded agreement, stated confidence."""

from __future__ import annotations

import math

import pytest

from server.routing import (
    Judgement,
    OrderProbabilities,
    agreement_ladder,
    agreement_with_others,
    average_preference,
    logprob_confidence,
    order_agreement,
    panel_agreement,
    preference_agreement,
    stated_confidence,
)


def test_two_orders_are_averaged_after_normalising_each() -> None:
    ab = OrderProbabilities(a=0.6, b=0.2, tie=0.0)  # 20 % on other tokens: normalised to 0.75 / 0.25
    ba = OrderProbabilities(a=0.3, b=0.7)
    assert average_preference(ab, ba) == pytest.approx({"a": 0.525, "b": 0.475, "tie": 0.0})
    assert logprob_confidence(ab, ba) == Judgement("a", pytest.approx(0.525))


def test_the_orders_can_outvote_each_other_into_the_other_outcome() -> None:
    # Position bias: each order prefers the response shown first; averaged, b wins narrowly.
    ab = OrderProbabilities(a=0.55, b=0.45)
    ba = OrderProbabilities(a=0.3, b=0.7)  # canonical terms: the swapped order already flipped back
    assert logprob_confidence(ab, ba) == Judgement("b", pytest.approx(0.575))


def test_one_order_stands_alone_and_none_gives_no_signal() -> None:
    assert logprob_confidence(None, OrderProbabilities(a=0.1, b=0.2, tie=0.7)) == Judgement("tie", 0.7)
    assert logprob_confidence(None, None) == Judgement(None, None)


def test_logprobs_become_probabilities() -> None:
    order = OrderProbabilities.from_logprobs({"a": math.log(0.7), "b": math.log(0.2), "tie": math.log(0.1)})
    assert order.normalized() == pytest.approx({"a": 0.7, "b": 0.2, "tie": 0.1})
    with pytest.raises(ValueError, match="logprobs: unknown outcome"):
        OrderProbabilities.from_logprobs({"A": 0.0})


@pytest.mark.parametrize(
    ("fields", "message"),
    [({"a": 0.0, "b": 0.0}, "all three are 0"), ({"a": 0.8, "b": 0.5}, "more than 1"), ({"a": -0.1, "b": 0.5}, "a")],
)
def test_bad_probabilities_are_refused(fields: dict, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        OrderProbabilities(**fields)
    with pytest.raises(ValueError, match="extra"):
        OrderProbabilities(a=0.5, b=0.5, c=0.0)


def test_order_agreement_ranks_disagreement_below_one_order_only() -> None:
    assert order_agreement("b", "b") == Judgement("b", 1.0)
    assert order_agreement(None, "b") == Judgement("b", 0.5)
    assert order_agreement("a", "tie") == Judgement("tie", 0.0)
    assert order_agreement(None, None) == Judgement(None, None)


def test_panel_agreement_needs_a_strict_majority_of_the_whole_panel() -> None:
    assert panel_agreement({"x": "tie", "y": "tie"}) == Judgement("tie", 1.0)
    assert panel_agreement({"x": "a", "y": None}) == Judgement(None, 0.5)  # one verdict is not agreement
    assert panel_agreement({"x": "a", "y": "b", "z": "a", "w": "a"}) == Judgement("a", 0.75)
    assert panel_agreement({"x": "a", "y": "b", "z": "tie", "w": "a"}) == Judgement(None, 0.5)
    assert panel_agreement({"x": None}) == Judgement(None, None)


def test_agreement_with_others_counts_only_judges_with_a_verdict() -> None:
    assert agreement_with_others("x", {"x": "b", "y": "b", "z": None}) == Judgement("b", 1.0)
    assert agreement_with_others("x", {"x": None, "y": "b"}) == Judgement(None, None)
    with pytest.raises(ValueError, match="judge: 'q'"):
        agreement_with_others("q", {"x": "a"})


def test_preference_agreement_is_graded_on_a_tie_b() -> None:
    assert preference_agreement("x", {"x": "tie", "y": "a"}) == Judgement("tie", 0.5)
    assert preference_agreement("x", {"x": "b", "y": "a", "z": "b"}) == Judgement("b", 0.5)
    assert preference_agreement("x", {"x": "b", "y": "tie", "z": "b"}) == Judgement("b", 0.75)
    assert preference_agreement("x", {"x": "b", "y": None}) == Judgement("b", None)


def test_stated_confidence_is_mapped_onto_zero_one() -> None:
    assert stated_confidence("a", 3, low=1, high=5) == Judgement("a", 0.5)
    assert stated_confidence("a", None) == Judgement("a", None)
    with pytest.raises(ValueError, match="value: "):
        stated_confidence("a", 6, low=1, high=5)
    with pytest.raises(ValueError, match="high: "):
        stated_confidence("a", 1, low=5, high=5)


@pytest.mark.parametrize(
    ("gpt", "pandalm", "expected"),
    [
        ("b", "b", Judgement("b", 1.0)),
        ("tie", "tie", Judgement("tie", 0.75)),
        ("tie", "a", Judgement("a", 0.5)),
        ("b", "tie", Judgement("b", 0.5)),
        ("a", "b", Judgement("a", 0.25)),
        (None, "b", Judgement("b", 0.0)),
        (None, None, Judgement(None, None)),
    ],
)
def test_agreement_ladder(gpt, pandalm, expected: Judgement) -> None:
    assert agreement_ladder({"gpt": gpt, "pandalm": pandalm}, ["gpt", "pandalm"]) == expected


def test_agreement_ladder_follows_the_priority_on_contradiction() -> None:
    assert agreement_ladder({"gpt": "a", "pandalm": "b"}, ["pandalm", "gpt"]) == Judgement("b", 0.25)
    assert agreement_ladder({"x": "a", "y": "tie", "z": "a"}, ["x"]) == Judgement("a", 0.5)
    with pytest.raises(ValueError, match="priority: "):
        agreement_ladder({"gpt": "a"}, ["claude"])
