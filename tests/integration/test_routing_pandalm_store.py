"""The must-show validity study through the store, on 3 PandaLM splits (SQLite): import the calibration half
with its labels and the test half without, calibrate, route, compare with the held-back majority.

It reproduces the pure study (server/routing/validity.py) exactly on the same splits: the store, the label
read model and the signals add nothing and lose nothing. Figures of the 20-split run: README, "Certified
routing" (bench/routing_store_validity.py).
"""

from __future__ import annotations

from pathlib import Path

from rubrics.outcomes import strict_majority
from server.imports.pandalm import read_pandalm
from server.routing.store_study import store_study
from server.routing.validity import Item, ladder_strategy, study

JUDGES = ["gpt-3.5-turbo", "pandalm-7b"]


def test_both_agree_decisive_above_tie_keeps_its_promise_through_the_store(pandalm_dir: Path, tmp_path: Path) -> None:
    rows = [row for _, row in read_pandalm(pandalm_dir)]
    through_store = store_study(
        rows,
        lambda split: f"sqlite:///{tmp_path / f'split-{split}.db'}",
        judges=JUDGES,
        signal="agree",
        alphas=[0.15, 0.25],
        delta=0.1,
        splits=3,
        n_calibration=500,
        seed=12,
    )
    nothing, certified = through_store
    assert (nothing.certified, nothing.coverage) == (0, 0.0)  # α = 0.15: nothing is certifiable on PandaLM
    assert certified.broken == 0 and certified.certified == 3
    assert certified.coverage > 0.6 and certified.disagreement < 0.25

    items = [
        Item(
            row["id"],
            {v["judge"]: v.get("outcome") for v in row["verdicts"]},
            strict_majority(list(row["labels"].values())),
        )
        for row in rows
    ]
    pure = study(
        items,
        ladder_strategy(JUDGES, lowest="tie"),
        alphas=[0.15, 0.25],
        delta=0.1,
        splits=3,
        n_calibration=500,
        seed=12,
    )
    assert through_store == pure
