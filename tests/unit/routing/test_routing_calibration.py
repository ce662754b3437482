"""Fixed-sequence Clopper–Pearson calibration, checked against exact binomial figures from scipy.stats."""

from __future__ import annotations

import numpy as np
import pytest
from scipy.stats import beta, binomtest

from server.routing import (
    Calibration,
    Judgement,
    PairSignals,
    Stage,
    calibrate,
    choose_threshold,
    risk_upper_bound,
    route,
    summarize,
)


def exact_upper(k: int, n: int, delta: float) -> float:
    """The one-sided 1−δ Clopper–Pearson upper bound, as scipy's exact two-sided interval at 1−2δ."""
    return binomtest(k, n).proportion_ci(confidence_level=1 - 2 * delta, method="exact").high


def reference_choice(values: list[float], wrong: list[bool], alpha: float, delta: float, min_n: int):
    """A plain loop: distinct values from the top, skip n < min_n, stop at the first failing bound."""
    chosen = None
    for threshold in sorted(set(values), reverse=True):
        accepted = [w for v, w in zip(values, wrong, strict=True) if v >= threshold]
        if len(accepted) < min_n:
            continue
        bound = exact_upper(sum(accepted), len(accepted), delta)
        if bound > alpha:
            break
        chosen = (threshold, len(accepted), sum(accepted), bound)
    return chosen


@pytest.mark.parametrize("delta", [0.01, 0.05, 0.1, 0.2])
@pytest.mark.parametrize(("k", "n"), [(0, 1), (0, 22), (1, 10), (5, 50), (17, 100), (49, 50), (120, 500), (7, 7)])
def test_upper_bound_is_the_exact_clopper_pearson_bound(k: int, n: int, delta: float) -> None:
    ours = risk_upper_bound(k, n, delta)
    assert ours == pytest.approx(exact_upper(k, n, delta), abs=1e-9)
    expected = 1.0 if k == n else beta.ppf(1 - delta, k + 1, n - k)
    assert ours == pytest.approx(expected, abs=1e-12)


def test_upper_bound_is_vectorised() -> None:
    bounds = risk_upper_bound(np.array([0, 3, 10]), np.array([10, 30, 10]), 0.1)
    assert bounds.tolist() == pytest.approx([exact_upper(0, 10, 0.1), exact_upper(3, 30, 0.1), 1.0])


def test_upper_bound_rejects_impossible_counts() -> None:
    with pytest.raises(ValueError, match="disagreements"):
        risk_upper_bound(5, 4, 0.1)


def test_ties_are_accepted_together_and_the_threshold_is_an_observed_value() -> None:
    # 40 pairs at 1.0 (2 wrong), 40 at 0.5 (4 wrong), 40 at 0.0 (30 wrong): three candidate thresholds.
    values = [1.0] * 40 + [0.5] * 40 + [0.0] * 40
    wrong = [i < 2 for i in range(40)] + [i < 4 for i in range(40)] + [i < 30 for i in range(40)]
    choice = choose_threshold(values, wrong, alpha=0.2, delta=0.1, min_n=10)
    assert choice.threshold == 0.5
    assert (choice.accepted, choice.disagreements) == (80, 6)
    assert choice.risk_upper_bound == pytest.approx(exact_upper(6, 80, 0.1))
    assert choice.tested == 3
    assert choice.n_calibration == 120


def test_min_n_never_certifies_a_threshold_resting_on_fewer_pairs() -> None:
    # Ten perfect pairs at the top, then 100 pairs with 10 % disagreement.
    values = [0.99] * 10 + [0.6] * 100
    wrong = [False] * 10 + [i < 10 for i in range(100)]
    assert choose_threshold(values[:10], wrong[:10], alpha=0.3, delta=0.1, min_n=11).threshold is None
    skipped = choose_threshold(values, wrong, alpha=0.3, delta=0.1, min_n=11)
    assert skipped.threshold == 0.6 and skipped.accepted == 110  # the top threshold was skipped, not failed
    assert skipped == choose_threshold(values, wrong, alpha=0.3, delta=0.1, min_n=110)
    assert choose_threshold(values, wrong, alpha=0.3, delta=0.1, min_n=111).threshold is None


def test_testing_stops_at_the_first_failing_threshold() -> None:
    # Top 50 perfect; the next 30 all wrong (fails); the next 400 perfect would pass again if reached.
    values = [0.9] * 50 + [0.8] * 30 + [0.7] * 400
    wrong = [False] * 50 + [True] * 30 + [False] * 400
    assert exact_upper(30, 480, 0.1) < 0.1  # a procedure that skipped failures would accept 0.7
    choice = choose_threshold(values, wrong, alpha=0.1, delta=0.1, min_n=30)
    assert (choice.threshold, choice.accepted, choice.tested) == (0.9, 50, 2)


def test_nothing_certified_when_the_first_step_fails() -> None:
    choice = choose_threshold([0.9] * 40 + [0.1] * 40, [True] * 10 + [False] * 70, alpha=0.1, delta=0.1, min_n=5)
    assert (choice.threshold, choice.accepted, choice.risk_upper_bound, choice.tested) == (None, 0, None, 1)
    assert choose_threshold([], [], alpha=0.1, delta=0.1).threshold is None


@pytest.mark.parametrize("seed", range(30))
def test_choice_matches_a_plain_loop_over_scipy_binomtest(seed: int) -> None:
    rng = np.random.default_rng(seed)
    n = int(rng.integers(5, 300))
    levels = rng.choice([0.2, 0.4, 0.5, 0.7, 0.9, 1.0], size=int(rng.integers(1, 6)), replace=False)
    values = rng.choice(levels, size=n).tolist()
    wrong = (rng.random(n) < 0.3 * (1.2 - np.array(values))).tolist()
    alpha, delta, min_n = float(rng.choice([0.1, 0.2, 0.3])), float(rng.choice([0.05, 0.1])), int(rng.integers(1, 40))
    expected = reference_choice(values, wrong, alpha, delta, min_n)
    choice = choose_threshold(values, wrong, alpha=alpha, delta=delta, min_n=min_n)
    if expected is None:
        assert choice.threshold is None
    else:
        assert (choice.threshold, choice.accepted, choice.disagreements) == expected[:3]
        assert choice.risk_upper_bound == pytest.approx(expected[3], abs=1e-9)


def pairs_for_cascade() -> list[PairSignals]:
    """Cheap judge `small` is right where its signal is 1.0; `large` is right on what is left at 0.9."""
    pairs = []
    for i in range(200):
        reference = "a" if i % 2 else "b"
        confident = i < 100  # small is sure and right on the first 100
        small = Judgement(reference if confident or i % 3 == 0 else "tie", 1.0 if confident else 0.2)
        large = Judgement(reference if i % 10 else "tie", 0.9 if i % 10 else 0.4)
        pairs.append(PairSignals(f"p{i}", {"small": small, "large": large}, reference))
    return pairs


def test_cascade_calibrates_each_judge_on_what_the_earlier_ones_left() -> None:
    pairs = [*pairs_for_cascade(), PairSignals("unlabelled", {"small": Judgement("a", 1.0)})]
    result = calibrate(pairs, [Stage("small", "logprob"), Stage("large", "logprob")], alpha=0.1, delta=0.1)
    small, large = result.judges
    assert result.n_calibration == 200  # the pair without a reference is not calibration data
    assert (small.threshold, small.accepted, small.n_calibration) == (1.0, 100, 200)
    assert small.risk_upper_bound == pytest.approx(exact_upper(0, 100, 0.1))
    # large sees only pairs 100..199: 90 at 0.9, all right; 10 at 0.4, all wrong.
    assert (large.threshold, large.accepted, large.n_calibration) == (0.9, 90, 100)
    assert large.risk_upper_bound == pytest.approx(exact_upper(0, 90, 0.1))
    alone = calibrate(pairs, [Stage("large", "logprob")], alpha=0.1, delta=0.1).judges[0]
    assert alone.accepted == 180 and alone.n_calibration == 200  # not what it got inside the cascade


def test_route_takes_the_first_judge_that_reaches_its_threshold() -> None:
    result = calibrate(pairs_for_cascade(), [Stage("small", "s"), Stage("large", "l")], alpha=0.1, delta=0.1)
    new = [
        PairSignals("both", {"small": Judgement("a", 1.0), "large": Judgement("b", 0.95)}),
        PairSignals("second", {"small": Judgement("a", 0.5), "large": Judgement("b", 0.9)}),
        PairSignals("neither", {"small": Judgement("a", 0.5), "large": Judgement("b", 0.3)}),
        PairSignals("no verdict", {"small": Judgement(None, None)}),
        PairSignals("signal without outcome", {"small": Judgement(None, 1.0)}),
    ]
    decisions = {d.pair: d for d in route(new, result)}
    assert (decisions["both"].judge, decisions["both"].outcome, decisions["both"].confidence) == ("small", "a", 1.0)
    assert (decisions["second"].judge, decisions["second"].outcome) == ("large", "b")
    assert decisions["neither"].status == "escalated" and decisions["neither"].uncertainty == pytest.approx(0.5)
    assert decisions["no verdict"].status == "escalated" and decisions["no verdict"].uncertainty is None
    assert decisions["signal without outcome"].status == "escalated"
    summary = summarize(list(decisions.values()))
    assert (summary.pairs, summary.accepted, summary.escalated) == (5, 2, 3)
    assert summary.by_judge == {"small": 1, "large": 1} and summary.coverage == pytest.approx(0.4)


def test_nothing_certified_gives_every_judge_a_null_threshold_and_escalates_everything() -> None:
    pairs = [PairSignals(str(i), {"x": Judgement("a", 1.0), "y": Judgement("b", 0.7)}, "tie") for i in range(50)]
    result = calibrate(pairs, [Stage("x", "agree"), Stage("y", "agree")], alpha=0.2, delta=0.1, calibration="c1")
    assert not result.certified
    assert [(j.threshold, j.accepted, j.risk_upper_bound) for j in result.judges] == [(None, 0, None)] * 2
    assert [j.n_calibration for j in result.judges] == [50, 50]
    decisions = route(pairs, result)
    assert {d.status for d in decisions} == {"escalated"} and {d.calibration for d in decisions} == {"c1"}


def test_json_has_the_documented_shape() -> None:
    result = calibrate(pairs_for_cascade(), [Stage("small", "logprob")], alpha=0.1, delta=0.1)
    document = result.model_dump(mode="json")
    # The shape, in its order; `promise` (population / routed) follows it, for the stored record.
    assert list(document) == ["calibration", "alpha", "delta", "n_calibration", "judges", "promise"]
    assert document["promise"] == "population"
    assert document["calibration"] is None
    assert set(document["judges"][0]) >= {"judge", "signal", "threshold", "accepted", "risk_upper_bound"}
    assert Calibration.model_validate_json(result.model_dump_json()) == result
    with pytest.raises(ValueError, match="extra"):
        Calibration.model_validate({**document, "unexpected": 1})


@pytest.mark.parametrize(
    ("levels", "field"),
    [
        ({"alpha": 0.0}, "alpha"),
        ({"alpha": 1.0}, "alpha"),
        ({"alpha": -0.1}, "alpha"),
        ({"alpha": "0.1"}, "alpha"),
        ({"alpha": True}, "alpha"),
        ({"delta": 0.0}, "delta"),
        ({"delta": 1.5}, "delta"),
        ({"min_n": 0}, "min_n"),
        ({"min_n": 2.5}, "min_n"),
        ({"min_n": True}, "min_n"),
    ],
)
def test_bad_levels_name_the_field(levels: dict, field: str) -> None:
    arguments = {"alpha": 0.1, "delta": 0.1, "min_n": 30, **levels}
    with pytest.raises(ValueError, match=rf"^{field}: "):
        calibrate(pairs_for_cascade(), [Stage("small", "s")], **arguments)
    with pytest.raises(ValueError, match=rf"^{field}: "):
        choose_threshold([1.0], [False], **arguments)


def test_a_cascade_names_each_judge_once() -> None:
    with pytest.raises(ValueError, match=r"^judges: "):
        calibrate(pairs_for_cascade(), [Stage("small", "s"), Stage("small", "t")], alpha=0.1, delta=0.1)
    with pytest.raises(ValueError, match=r"^judges: "):
        calibrate(pairs_for_cascade(), [], alpha=0.1, delta=0.1)
