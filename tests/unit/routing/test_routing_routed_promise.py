"""The promise on the routed pairs: an exact hypergeometric bound, checked by enumeration."""

from __future__ import annotations

import numpy as np
import pytest
from scipy.stats import hypergeom

from server.routing import Judgement, PairSignals, Stage, calibrate, choose_threshold, routed_upper_bound


def brute_force_bound(k: int, n: int, m: int, delta: float) -> float:
    """The smallest j such that 'more than j routed pairs disagree' is refuted at level δ, by a plain loop."""
    for j in range(m):
        total = k + j + 1
        p = sum(hypergeom.pmf(x, n + m, total, n) for x in range(k + 1))
        if p <= delta:
            return j / m
    return 1.0


@pytest.mark.parametrize(("k", "n", "m"), [(0, 30, 10), (3, 40, 60), (10, 100, 100), (25, 200, 50), (9, 10, 5)])
@pytest.mark.parametrize("delta", [0.05, 0.1, 0.2])
def test_bound_matches_a_plain_loop(k: int, n: int, m: int, delta: float) -> None:
    assert routed_upper_bound(k, n, m, delta) == pytest.approx(brute_force_bound(k, n, m, delta))


@pytest.mark.parametrize(("n", "m"), [(50, 50), (120, 40), (60, 200)])
@pytest.mark.parametrize("delta", [0.05, 0.1])
def test_bound_covers_the_routed_share_with_probability_at_least_one_minus_delta(n: int, m: int, delta: float) -> None:
    # For every total K of disagreements in the n + m pairs, enumerate the labelled count exactly.
    for total in range(0, n + m + 1, 7):
        draws = np.arange(max(0, total - m), min(n, total) + 1)
        pmf = hypergeom.pmf(draws, n + m, total, n)
        missed = sum(
            p
            for k, p in zip(draws, pmf, strict=True)
            if (total - k) > round(routed_upper_bound(int(k), n, m, delta) * m)
        )
        assert missed <= delta + 1e-12, (total, missed)


def test_nothing_routed_bounds_nothing_and_bad_input_names_the_field() -> None:
    assert routed_upper_bound(3, 10, 0, 0.1) == 0.0
    with pytest.raises(ValueError, match=r"^delta: "):
        routed_upper_bound(0, 10, 10, 0.0)
    with pytest.raises(ValueError, match=r"^disagreements: "):
        routed_upper_bound(11, 10, 10, 0.1)
    with pytest.raises(ValueError, match=r"^routed: "):
        choose_threshold([1.0], [False], alpha=0.1, delta=0.1, min_n=1, routed=[float("nan")])


def test_each_step_bounds_the_routed_pairs_above_its_threshold() -> None:
    values = [0.9] * 100 + [0.5] * 100
    wrong = [i < 5 for i in range(100)] + [i < 40 for i in range(100)]
    routed = [0.95] * 30 + [0.9] * 50 + [0.5] * 120 + [0.1] * 10  # 80 above 0.9, 200 above 0.5
    choice = choose_threshold(values, wrong, alpha=0.15, delta=0.1, min_n=10, routed=routed)
    assert choice.threshold == 0.9
    assert choice.risk_upper_bound == pytest.approx(routed_upper_bound(5, 100, 80, 0.1))
    assert routed_upper_bound(45, 200, 200, 0.1) > 0.15  # the second step fails on its own routed pairs
    population = choose_threshold(values, wrong, alpha=0.15, delta=0.1, min_n=10)
    assert population.threshold == 0.9 and population.risk_upper_bound < choice.risk_upper_bound


def test_calibrate_with_routed_pairs_records_the_promise_and_passes_what_is_left_down_the_cascade() -> None:
    labelled = [
        PairSignals(
            str(i), {"x": Judgement("a" if i < 60 else "b", 1.0 if i < 60 else 0.2), "y": Judgement("a", 0.8)}, "a"
        )
        for i in range(120)
    ]
    routed = [
        PairSignals(f"r{i}", {"x": Judgement("b", 1.0 if i < 30 else 0.2), "y": Judgement("b", 0.8)}) for i in range(90)
    ]
    result = calibrate(labelled, [Stage("x", "s"), Stage("y", "s")], alpha=0.1, delta=0.1, routed=routed)
    assert result.promise == "routed"
    x, y = result.judges
    assert (x.threshold, x.accepted) == (1.0, 60)
    assert x.risk_upper_bound == pytest.approx(routed_upper_bound(0, 60, 30, 0.1))
    assert (y.threshold, y.accepted, y.n_calibration) == (0.8, 60, 60)
    assert y.risk_upper_bound == pytest.approx(routed_upper_bound(0, 60, 60, 0.1))  # the 60 routed x left
    assert calibrate(labelled, [Stage("x", "s")], alpha=0.1, delta=0.1).promise == "population"
