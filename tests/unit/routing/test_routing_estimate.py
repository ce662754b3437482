"""Outcome shares: PPI++ intervals from ppi-python beside human-only and judge-only figures."""

from __future__ import annotations

import warnings

import numpy as np
import pytest

from server.routing import one_hot, outcome_shares

OUTCOMES = np.array(["a", "b", "tie"])


def synthetic(n_human: int, n_unlabelled: int, accuracy: float, seed: int = 0):
    rng = np.random.default_rng(seed)
    truth = rng.choice(OUTCOMES, size=n_human + n_unlabelled, p=[0.45, 0.45, 0.1])
    noise = rng.choice(OUTCOMES, size=truth.size)
    judge = np.where(rng.random(truth.size) < accuracy, truth, noise)
    return truth[:n_human].tolist(), judge[:n_human].tolist(), judge[n_human:].tolist()


def test_intervals_are_ppi_pythons_own() -> None:
    with warnings.catch_warnings():  # importing ppi_py turns every warning off for the whole process
        from ppi_py import classical_mean_ci, ppi_mean_ci

    human, judge_labelled, judge_unlabelled = synthetic(200, 2000, accuracy=0.8)
    shares = outcome_shares(human, judge_labelled, judge_unlabelled, delta=0.1)
    y, y_hat, y_hat_u = one_hot(human), one_hot(judge_labelled), one_hot(judge_unlabelled)
    for column, share in enumerate(shares.shares):
        low, high = ppi_mean_ci(y[:, column], y_hat[:, column], y_hat_u[:, column], alpha=0.1)
        assert (share.ppi.low, share.ppi.high) == pytest.approx((float(low[0]), float(high[0])))
        assert (share.human.low, share.human.high) == pytest.approx(classical_mean_ci(y[:, column], alpha=0.1))
        assert share.judge == pytest.approx(np.vstack([y_hat, y_hat_u])[:, column].mean())
        assert share.effective_human_labels == pytest.approx(200 * (share.human.width / share.ppi.width) ** 2)
    assert [share.outcome for share in shares.shares] == ["a", "b", "tie"]
    assert (shares.n_human, shares.n_unlabelled, shares.delta) == (200, 2000, 0.1)


def test_a_good_judge_is_worth_more_human_labels_than_a_poor_one() -> None:
    good = outcome_shares(*synthetic(200, 5000, accuracy=0.95))
    poor = outcome_shares(*synthetic(200, 5000, accuracy=0.2))
    assert good.effective_human_labels > 2 * 200
    assert all(share.ppi.width < share.human.width for share in good.shares)
    assert poor.effective_human_labels == pytest.approx(200, rel=0.15)  # λ ≈ 0: PPI++ falls back to human-only


def test_a_judge_that_never_says_tie_gives_the_human_interval_for_tie() -> None:
    human = ["a", "b", "tie", "a", "b", "tie", "a", "b"] * 5
    judge = ["a", "b", "a", "a", "b", "b", "a", "b"] * 5
    shares = outcome_shares(human, judge, ["a", "b"] * 100)
    tie = shares.shares[2]
    assert (tie.ppi.low, tie.ppi.high) == pytest.approx((tie.human.low, tie.human.high))
    assert tie.judge == 0.0 and tie.effective_human_labels == pytest.approx(40)


def test_missing_judge_labels_are_zero_rows() -> None:
    shares = outcome_shares(["a", "b", "a", "b"], ["a", None, "a", "b"], [None, "a", "b"])
    assert [share.judge for share in shares.shares] == pytest.approx([3 / 7, 2 / 7, 0.0])


@pytest.mark.parametrize(
    ("arguments", "field"),
    [
        ((["a", "b"], ["a"], []), "judge_on_labelled"),
        ((["a"], ["a"], []), "human"),
        ((["a", None], ["a", "b"], []), "human"),
        ((["a", "b"], ["a", "x"], []), "labels"),
    ],
)
def test_bad_input_names_the_field(arguments: tuple, field: str) -> None:
    with pytest.raises(ValueError, match=rf"^{field}: "):
        outcome_shares(*arguments)
    with pytest.raises(ValueError, match=r"^delta: "):
        outcome_shares(["a", "b"], ["a", "b"], [], delta=1.0)
