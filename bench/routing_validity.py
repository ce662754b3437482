"""Certified routing on PandaLM: does the promise hold on held-out pairs, and how much does it cover?

Reads /work/shared/data/pandalm/ through the repo's own reader (server/imports/pandalm.py: "1"/"2"/"0"
or "Tie" = a / b / tie, unreadable GPT output = no verdict); the reference is the strict majority of
the three annotators (rubrics/outcomes.py). Prints, measured in one run:

1. The validity table: for each strategy (server/routing/validity.py: "both agree" alone, cascades
   of "both agree" then each judge alone, each judge by its graded agreement with the other, the
   agreement ladder, cell accuracies learned on a held-out share), 20 random 500/499
   calibration/test splits (the same splits for every strategy and α), α = 0.15, 0.25, 0.3 at
   δ = 0.1: calibrate on the 500, route the 499, compare the accepted test pairs with their
   held-back majority. Columns: splits that broke the promise (realized disagreement > α), splits
   whose certified thresholds disagree more than α on all 999 pairs (the guarantee's own event),
   splits where anything was certified, mean coverage of the test half, mean realized disagreement
   among accepted pairs, and the mean coverage of the best fixed thresholds chosen with hindsight on
   the test half (the ceiling, same strategy).
2. The PPI figure: outcome shares' interval width (90 %) with PPI++ (each judge on all 999 pairs,
   corrected by n human labels) against human-only at the same n, averaged over random draws of the
   n human-labelled pairs, and the effective number of human labels each judge was worth.

Run: ``.venv/bin/python bench/routing_validity.py [--splits 20] [--draws 20] [--data DIR]``.
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path

import numpy as np

from rubrics.outcomes import strict_majority
from server.imports.pandalm import read_pandalm
from server.routing.estimate import outcome_shares
from server.routing.validity import (
    Item,
    Row,
    agreement_strategy,
    cascade_strategy,
    ladder_strategy,
    learned_cells_strategy,
    panel_strategy,
    study,
)

DATA = Path(__file__).resolve().parents[1].parent / "shared" / "data" / "pandalm"
JUDGES = ("gpt-3.5-turbo", "pandalm-7b")  # the stronger judge first; the strategies try both orders
ALPHAS = (0.15, 0.25, 0.3)
DELTA = 0.1


def load_items(folder: Path = DATA) -> list[Item]:
    """PandaLM's 999 pairs as study items: both judges' outcomes and the annotators' strict majority."""
    items = []
    for _, row in read_pandalm(folder):
        outcomes = {verdict["judge"]: verdict.get("outcome") for verdict in row["verdicts"]}
        items.append(Item(row["id"], outcomes, strict_majority(list(row["labels"].values()))))
    return items


def strategies() -> dict[str, tuple[object, dict[str, bool]]]:
    """The strategies compared, by the name printed in the table, with the study's options for each."""
    gpt, pandalm = JUDGES
    population, joint, routed = {}, {"joint": True}, {"routed": True}
    return {
        "both agree (reference)": (panel_strategy(JUDGES), population),
        "cascade: both agree → gpt → pandalm": (cascade_strategy(JUDGES), population),
        "cascade: both agree → pandalm → gpt": (cascade_strategy(JUDGES[::-1]), population),
        "gpt by graded agreement": (agreement_strategy([gpt], JUDGES), population),
        "pandalm by graded agreement": (agreement_strategy([pandalm], JUDGES), population),
        "cascade: gpt → pandalm, graded agreement": (agreement_strategy([gpt, pandalm], JUDGES), population),
        "cascade: pandalm → gpt, graded agreement": (agreement_strategy([pandalm, gpt], JUDGES), population),
        "cascade: gpt → pandalm, graded, δ/2 per stage": (agreement_strategy([gpt, pandalm], JUDGES), joint),
        "both agree, decisive above tie (ladder to tie)": (ladder_strategy(JUDGES, lowest="tie"), population),
        "ladder to tie vs a side": (ladder_strategy(JUDGES, lowest="partial"), population),
        "ladder, gpt first on contradiction": (ladder_strategy(JUDGES), population),
        "ladder, pandalm first on contradiction": (ladder_strategy(JUDGES[::-1]), population),
        "learned cells, 40% held out to learn": (learned_cells_strategy(JUDGES, learn_share=0.4), population),
        "learned cells, 20% held out to learn": (learned_cells_strategy(JUDGES, learn_share=0.2), population),
        "learned cells on the same pairs (no guarantee)": (learned_cells_strategy(JUDGES, 0.0), population),
        "routed promise: both agree": (panel_strategy(JUDGES), routed),
        "routed promise: decisive above tie": (ladder_strategy(JUDGES, lowest="tie"), routed),
        "routed promise: ladder, gpt first": (ladder_strategy(JUDGES), routed),
        "routed promise: ladder, pandalm first": (ladder_strategy(JUDGES[::-1]), routed),
        "routed promise: gpt by graded agreement": (agreement_strategy([gpt], JUDGES), routed),
        "routed promise: learned cells, 20% held out": (learned_cells_strategy(JUDGES, learn_share=0.2), routed),
    }


def print_table(rows: list[Row]) -> None:
    width = max(len(row.strategy) for row in rows)
    print(f"{'strategy':<{width}}  alpha  broken  violated  certified  coverage  disagree  ceiling")
    for row in rows:
        print(
            f"{row.strategy:<{width}}  {row.alpha:<5}  {row.broken:>2}/{row.splits:<3}"
            f"  {row.violated:>3}/{row.splits:<4}"
            f"  {row.certified:>4}/{row.splits:<4}  {row.coverage:>7.1%}  {row.disagreement:>8.1%}  {row.ceiling:>7.1%}"
        )


def ppi_figure(items: list[Item], sizes: tuple[int, ...], draws: int, seed: int) -> None:
    """Interval widths of the outcome shares, PPI++ vs human-only, at n human labels."""
    rng = np.random.default_rng(seed)
    print(f"\nPPI++ vs human-only, 90% intervals on the a / b / tie shares ({draws} draws of the human-labelled pairs)")
    print("judge           n_human  width human (a/b/tie)   width PPI++ (a/b/tie)   effective n  judge-only a/b/tie")
    for judge in JUDGES:
        for n in sizes:
            human_w, ppi_w, effective = [], [], []
            for _ in range(draws):
                order = rng.permutation(len(items))
                labelled, unlabelled = [items[i] for i in order[:n]], [items[i] for i in order[n:]]
                shares = outcome_shares(
                    [item.reference for item in labelled],
                    [item.outcomes.get(judge) for item in labelled],
                    [item.outcomes.get(judge) for item in unlabelled],
                    delta=0.1,
                )
                human_w.append([share.human.width for share in shares.shares])
                ppi_w.append([share.ppi.width for share in shares.shares])
                effective.append(shares.effective_human_labels)
            h, p = np.mean(human_w, axis=0), np.mean(ppi_w, axis=0)
            judge_only = "/".join(f"{share.judge:.3f}" for share in shares.shares)
            print(
                f"{judge:<15} {n:>7}  {'/'.join(f'{w:.3f}' for w in h):<22}  {'/'.join(f'{w:.3f}' for w in p):<22}"
                f"  {np.mean(effective):>11.0f}  {judge_only}"
            )
    human_share = {o: np.mean([item.reference == o for item in items]) for o in ("a", "b", "tie")}
    print("human majority on all 999 pairs a/b/tie: " + "/".join(f"{v:.3f}" for v in human_share.values()))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", type=Path, default=DATA)
    parser.add_argument("--splits", type=int, default=20)
    parser.add_argument("--draws", type=int, default=20)
    parser.add_argument("--min-n", type=int, default=30)
    parser.add_argument("--seed", type=int, default=12)
    args = parser.parse_args()
    items = load_items(args.data)
    started = time.perf_counter()
    rows = []
    for name, (strategy, options) in strategies().items():
        rows += study(
            items,
            strategy,
            alphas=ALPHAS,
            delta=DELTA,
            splits=args.splits,
            n_calibration=500,
            min_n=args.min_n,
            seed=args.seed,
            name=name,
            **options,
        )
    print(f"PandaLM, {len(items)} pairs, {args.splits} splits 500/499, delta = {DELTA}, min_n = {args.min_n}")
    print_table(rows)
    print(f"({time.perf_counter() - started:.1f} s)")
    ppi_figure(items, (100, 250, 500), args.draws, args.seed)


if __name__ == "__main__":
    main()
