"""The validity study of bench/routing_validity.py on fewer splits: PandaLM, 5 splits of 500/499, δ = 0.1.

Floors, from the 20 splits of bench/routing_validity.py (seed 12):
- "both agree" at α = 0.25 certifies the agreeing pairs (67.8 % of the test half, 19.5 % realized
  disagreement, far under α) in 19 of 20 splits and nothing in one; the floor 0.5 over 5 splits
  allows one split in five to certify nothing (4/5 × 67.8 % = 54 %).
- "both agree, decisive above tie" at α = 0.25 certified in all 20 splits at 67.8 % (its ceiling);
  the floor 0.6 allows one split in five to fall back to decisive agreement alone or a little less.
- the ladder (pandalm first on contradiction) at α = 0.3 accepted 79.3 % with 0 broken splits in 20,
  certifying in all; the floor 0.7 leaves room for one split at the agreement-only level (67.8 %).
"""

from __future__ import annotations

from pathlib import Path

import pytest

from rubrics.outcomes import strict_majority
from server.imports.pandalm import read_pandalm
from server.routing.validity import Item, ladder_strategy, panel_strategy, study

PANDALM = Path(__file__).resolve().parents[3].parent / "shared" / "data" / "pandalm"
JUDGES = ("gpt-3.5-turbo", "pandalm-7b")


@pytest.fixture(scope="module")
def items() -> list[Item]:
    assert (PANDALM / "testset-v1.json").is_file(), f"the PandaLM data is expected at {PANDALM}"
    rows = [row for _, row in read_pandalm(PANDALM)]
    return [
        Item(
            row["id"],
            {verdict["judge"]: verdict.get("outcome") for verdict in row["verdicts"]},
            strict_majority(list(row["labels"].values())),
        )
        for row in rows
    ]


@pytest.mark.parametrize(
    ("strategy", "alpha", "floor"),
    [
        (panel_strategy(JUDGES), 0.25, 0.5),
        (ladder_strategy(JUDGES, lowest="tie"), 0.25, 0.6),
        (ladder_strategy(JUDGES[::-1]), 0.3, 0.7),
    ],
    ids=["both-agree-0.25", "decisive-agreement-0.25", "ladder-pandalm-first-0.3"],
)
def test_no_split_breaks_the_promise_and_coverage_stays_above_the_floor(
    items: list[Item], strategy, alpha: float, floor: float
) -> None:
    assert len(items) == 999
    (row,) = study(items, strategy, alphas=[alpha], delta=0.1, splits=5, n_calibration=500, min_n=30, seed=12)
    assert row.broken == 0 and row.violated == 0
    assert row.coverage >= floor
    assert row.coverage <= row.ceiling + 1e-9  # without a broken split the hindsight ceiling cannot be beaten
