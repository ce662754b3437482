"""The leaderboard's pure parts on hand-computable comparisons: pair counts, Bradley–Terry, win rates."""

from __future__ import annotations

import math

import pytest

from server.leaderboard import Comparison, bradley_terry, lc_win_rate, pair_counts, win_rate
from server.leaderboard.ratings import comparison_matrix


def times(n: int, a: str, b: str, outcome: str, la: int = 10, lb: int = 10) -> list[Comparison]:
    return [Comparison(a, b, outcome, la, lb)] * n  # type: ignore[arg-type]


def three_models() -> list[Comparison]:
    """A beats B 8–2, B beats C 8–2, A beats C 9–0 with one tie."""
    return (
        times(8, "A", "B", "a") + times(2, "A", "B", "b")
        + times(8, "C", "B", "b") + times(2, "C", "B", "a")  # B on side b: its wins are outcome b
        + times(9, "A", "C", "a") + times(1, "A", "C", "tie")
    )  # fmt: skip


def test_pair_counts_put_win_on_the_first_model_whichever_side_it_was_on() -> None:
    counts = {(p.a, p.b): (p.win, p.lose, p.tie) for p in pair_counts(three_models())}
    assert counts == {("A", "B"): (8, 2, 0), ("A", "C"): (9, 0, 1), ("B", "C"): (8, 2, 0)}
    flipped = {(p.a, p.b): (p.win, p.lose, p.tie) for p in pair_counts(three_models(), order=["C", "B", "A"])}
    assert flipped == {("C", "B"): (2, 8, 0), ("C", "A"): (0, 9, 1), ("B", "A"): (2, 8, 0)}


def test_a_tie_is_half_a_win_in_both_cells_of_the_matrix() -> None:
    matrix = comparison_matrix(times(1, "x", "y", "tie") + times(2, "x", "y", "a"), ["x", "y"])
    assert matrix.tolist() == [[0.0, 2.5], [0.5, 0.0]]


def test_bradley_terry_orders_the_three_models_and_brackets_each_rating() -> None:
    fit = bradley_terry(three_models(), resamples=200, seed=1)
    assert fit["A"].rating > fit["B"].rating > fit["C"].rating
    assert math.isclose(sum(r.rating for r in fit.values()), 0.0, abs_tol=1e-9)
    for rating in fit.values():
        assert rating.low is not None and rating.high is not None
        assert rating.low <= rating.rating <= rating.high
    assert bradley_terry(three_models(), resamples=200, seed=1) == fit  # the seed fixes the interval


def test_two_models_rating_gap_is_the_log_odds_of_winning() -> None:
    fit = bradley_terry(times(3, "x", "y", "a") + times(1, "x", "y", "b"), resamples=0)
    assert fit["x"].rating - fit["y"].rating == pytest.approx(math.log(3), abs=0.02)  # less a little: ALPHA
    assert fit["x"].low is None


def test_win_rates_count_ties_as_half_against_a_baseline_or_everyone() -> None:
    found = three_models()
    assert win_rate(found, "A", baseline="C") == pytest.approx(9.5 / 10)
    assert win_rate(found, "A") == pytest.approx((8 + 9.5) / 20)
    assert win_rate(found, "C", baseline="C") is None
    assert win_rate(found, "D") is None


def test_length_controlled_win_rate_equals_the_raw_one_when_lengths_are_equal() -> None:
    found = three_models()
    for model in ("A", "B", "C"):
        assert lc_win_rate(found, model) == pytest.approx(win_rate(found, model), abs=1e-6)
        assert lc_win_rate(found, model, "A" if model != "A" else "B") == pytest.approx(
            win_rate(found, model, "A" if model != "A" else "B"), abs=1e-6
        )


def test_length_controlled_win_rate_takes_away_what_length_won() -> None:
    # x wins 9 of 10: 8 with the longer answer, and 1 of the 2 at equal length
    found = times(8, "x", "y", "a", 300, 100) + times(1, "x", "y", "a", 100, 100) + times(1, "x", "y", "b", 100, 100)
    assert win_rate(found, "x") == pytest.approx(0.9)
    lc = lc_win_rate(found, "x", baseline="y")
    assert lc == pytest.approx(0.5, abs=0.01)  # length explains every other win
    assert lc_win_rate(found, "y") == pytest.approx(1 - lc, abs=1e-6)  # the GLM is symmetric


def test_undefined_rates_are_none() -> None:
    assert lc_win_rate(three_models(), "A", baseline="A") is None
    assert lc_win_rate(times(2, "x", "y", "a"), "x") == 1.0  # never lost: nothing to regress


def test_ppi_win_rate_with_a_perfect_judge_is_its_rate_and_narrower_than_humans_alone() -> None:
    from server.leaderboard.prediction import Labelled, ppi_win_rate

    labelled = [Labelled("x", "y", o, o) for o in ["a"] * 6 + ["b"] * 3 + ["tie"]]
    unlabelled = [Labelled("y", "x", None, o) for o in ["b"] * 60 + ["a"] * 30 + ["tie"] * 10]  # x on side b
    rate = ppi_win_rate(labelled + unlabelled, "x", delta=0.1)
    assert rate is not None and (rate.n_human, rate.n_unlabelled) == (10, 100)
    assert rate.human.estimate == pytest.approx(0.65) and rate.judge == pytest.approx(0.65)
    assert rate.ppi.estimate == pytest.approx(0.65, abs=1e-6)
    assert rate.ppi.high - rate.ppi.low < (rate.human.high - rate.human.low) / 2
    assert ppi_win_rate(labelled[:1] + unlabelled, "x") is None  # one human label: no interval


def test_import_rows_name_models_only_for_a_pair() -> None:
    from pydantic import ValidationError

    from server.imports.schema import ImportRow

    row = ImportRow.model_validate({"prompt": "Hi", "response_a": "Yo", "response_b": "Hey", "model_b": "m2"})
    assert row.models() == {"b": "m2"}
    with pytest.raises(ValidationError, match="model_a and model_b name the models of a pair"):
        ImportRow.model_validate({"prompt": "Hi", "model_a": "m1"})
