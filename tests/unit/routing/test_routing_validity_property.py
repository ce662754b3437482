"""The guarantee itself: on synthetic data with a known accuracy per confidence level, over many
calibration draws, the chosen threshold's true disagreement rate exceeds α in at most a δ share of them.

Each scenario (drawn by hypothesis, derandomized) fixes confidence levels, how often each occurs and
the disagreement rate at each; 300 calibration sets are drawn from it with a seeded generator. The
violation count is compared with the 99.9 % quantile of Binomial(300, δ): the finite number of draws'
allowance, so a correct procedure fails a scenario with probability below 0.001.
"""

from __future__ import annotations

import numpy as np
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from scipy.stats import binom

from server.routing import Judgement, PairSignals, Stage, calibrate, choose_threshold

DRAWS = 300


def allowance(delta: float) -> float:
    return binom.ppf(0.999, DRAWS, delta) / DRAWS


def true_risks(shares: np.ndarray, errors: np.ndarray) -> np.ndarray:
    """Disagreement among pairs at or above each level (levels ordered most confident first)."""
    return np.cumsum(shares * errors) / np.cumsum(shares)


def violation_rate(
    values: np.ndarray,
    shares: np.ndarray,
    errors: np.ndarray,
    *,
    n: int,
    alpha: float,
    delta: float,
    min_n: int,
    seed: int,
    naive: bool = False,
) -> float:
    rng = np.random.default_rng(seed)
    risks = true_risks(shares, errors)
    violations = 0
    for _ in range(DRAWS):
        levels = rng.choice(len(values), size=n, p=shares)
        wrong = rng.random(n) < errors[levels]
        if naive:  # the point estimate instead of a bound: what the guarantee protects against
            chosen = [j for j in range(len(values)) if wrong[levels <= j].mean() <= alpha and (levels <= j).any()]
            index = max(chosen) if chosen else None
        else:
            threshold = choose_threshold(values[levels], wrong, alpha=alpha, delta=delta, min_n=min_n).threshold
            index = None if threshold is None else int(np.flatnonzero(values == threshold)[0])
        violations += index is not None and risks[index] > alpha
    return violations / DRAWS


@st.composite
def scenarios(draw: st.DrawFn) -> dict:
    k = draw(st.integers(1, 6))
    alpha = draw(st.sampled_from([0.1, 0.15, 0.25, 0.3]))
    shares = np.array(draw(st.lists(st.integers(1, 10), min_size=k, max_size=k)), dtype=float)
    # Error rates per level around α, most confident first and mostly rising: the hard case for a bound.
    offsets = draw(st.lists(st.sampled_from([-0.08, -0.04, -0.02, 0.0, 0.01, 0.03, 0.1]), min_size=k, max_size=k))
    errors = np.clip(alpha + np.sort(np.array(offsets)), 0.0, 1.0)
    return {
        "values": np.linspace(1.0, 0.1, k),
        "shares": shares / shares.sum(),
        "errors": errors,
        "n": draw(st.integers(80, 500)),
        "alpha": alpha,
        "delta": draw(st.sampled_from([0.05, 0.1, 0.2])),
        "min_n": draw(st.sampled_from([1, 10, 30])),
        "seed": draw(st.integers(0, 2**32 - 1)),
    }


@settings(max_examples=80, deadline=None, derandomize=True, suppress_health_check=[HealthCheck.too_slow])
@given(scenarios())
def test_violation_rate_stays_at_or_below_delta(scenario: dict) -> None:
    rate = violation_rate(**scenario)
    assert rate <= allowance(scenario["delta"]), scenario


def test_a_rate_just_above_alpha_is_certified_at_most_delta_of_the_time_and_the_check_can_see_it() -> None:
    # One level whose true disagreement is just above α: every certification is a violation.
    values, shares, errors = np.array([1.0]), np.array([1.0]), np.array([0.21])
    arguments = {"n": 300, "alpha": 0.2, "delta": 0.1, "min_n": 1, "seed": 7}
    rate = violation_rate(values, shares, errors, **arguments)
    assert rate <= allowance(0.1)
    assert violation_rate(values, shares, errors, **arguments, naive=True) > allowance(0.1)  # the naive rule fails


def test_a_safe_level_is_certified_and_a_bad_one_below_it_is_not_taken() -> None:
    # 60 % of pairs at 5 % disagreement above 40 % at 60 %: certify the top, stop before the bottom.
    values, shares, errors = np.array([1.0, 0.5]), np.array([0.6, 0.4]), np.array([0.05, 0.6])
    rng = np.random.default_rng(3)
    taken = []
    for _ in range(50):
        levels = rng.choice(2, size=400, p=shares)
        wrong = rng.random(400) < errors[levels]
        taken.append(choose_threshold(values[levels], wrong, alpha=0.15, delta=0.1, min_n=30).threshold)
    assert set(taken) == {1.0}


def test_pooled_over_many_scenarios_the_violation_rate_is_at_most_delta() -> None:
    # 40 seeded scenarios at δ = 0.1, pooled: 12,000 calibration draws, so the allowance is small (≈ 0.009).
    rng = np.random.default_rng(12)
    violations = 0
    for scenario in range(40):
        k = int(rng.integers(1, 7))
        alpha = float(rng.choice([0.1, 0.15, 0.25, 0.3]))
        shares = rng.integers(1, 11, size=k).astype(float)
        errors = np.clip(alpha + np.sort(rng.choice([-0.04, -0.02, 0.0, 0.01, 0.02, 0.05], size=k)), 0, 1)
        arguments = {"n": int(rng.integers(80, 500)), "alpha": alpha, "delta": 0.1, "min_n": 10, "seed": scenario}
        violations += round(violation_rate(np.linspace(1, 0.1, k), shares / shares.sum(), errors, **arguments) * DRAWS)
    assert violations / (40 * DRAWS) <= binom.ppf(0.999, 40 * DRAWS, 0.1) / (40 * DRAWS)


def test_a_continuous_signal_keeps_the_guarantee() -> None:
    # Confidence ~ U(0, 1), P(disagree | c) = (1 − c) / 2: the risk above t is (1 − t) / 4, so t < 0.6 violates α = 0.1.
    rng = np.random.default_rng(5)
    violations = 0
    for _ in range(DRAWS):
        confidence = rng.random(300)
        wrong = rng.random(300) < (1 - confidence) / 2
        threshold = choose_threshold(confidence, wrong, alpha=0.1, delta=0.1, min_n=10).threshold
        violations += threshold is not None and (1 - threshold) / 4 > 0.1
    assert violations / DRAWS <= allowance(0.1)


def test_each_stage_of_a_cascade_keeps_its_guarantee() -> None:
    # Two judges with correlated discrete signals (a joint table of 4 × 4 cells) and correlated errors.
    # Stage 2's true risk at (t1, t2) is that of the cells below t1 for judge 1 and at or above t2 for judge 2.
    rng = np.random.default_rng(8)
    levels = np.array([1.0, 0.7, 0.4, 0.1])
    alpha, delta, n = 0.2, 0.1, 400
    per_stage = np.zeros(2)
    for _ in range(6):
        mass = rng.dirichlet(np.ones(16)).reshape(4, 4)
        base = alpha + rng.choice([-0.1, -0.03, 0.0, 0.02, 0.06], size=(4, 4))
        errors = np.clip(np.stack([base + 0.02 * np.arange(4)[:, None], base + 0.02 * np.arange(4)[None, :]]), 0, 1)
        cells = np.arange(16)
        for _draw in range(100):
            drawn = rng.choice(cells, size=n, p=mass.ravel())
            l1, l2 = drawn // 4, drawn % 4
            wrong1 = rng.random(n) < errors[0][l1, l2]
            wrong2 = rng.random(n) < errors[1][l1, l2]
            pairs = [
                PairSignals(
                    str(i),
                    {
                        "one": Judgement("tie" if wrong1[i] else "a", levels[l1[i]]),
                        "two": Judgement("tie" if wrong2[i] else "a", levels[l2[i]]),
                    },
                    "a",
                )
                for i in range(n)
            ]
            one, two = calibrate(
                pairs, [Stage("one", "s"), Stage("two", "s")], alpha=alpha, delta=delta, min_n=10
            ).judges
            t1, t2 = one.threshold, two.threshold
            i1 = 0 if t1 is None else int(np.flatnonzero(levels == t1)[0]) + 1  # judge 1 accepts levels [0, i1)
            risk1 = (mass[:i1] * errors[0][:i1]).sum() / mass[:i1].sum() if i1 else 0.0
            if t2 is not None:
                i2 = int(np.flatnonzero(levels == t2)[0]) + 1
                block_mass, block_errors = mass[i1:, :i2], errors[1][i1:, :i2]
                risk2 = (block_mass * block_errors).sum() / block_mass.sum()
            else:
                risk2 = 0.0
            per_stage += [t1 is not None and risk1 > alpha, risk2 > alpha]
    draws = 6 * 100
    assert np.all(per_stage / draws <= binom.ppf(0.999, draws, delta) / draws), per_stage / draws
