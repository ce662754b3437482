"""The PandaLM validity study through the store: import the calibration half with its labels and the test
half without, calibrate, route, compare the accepted test pairs with their held-back majority.

The same 20 random 500/499 splits as bench/routing_validity.py (seed 12), one fresh SQLite store per split,
α = 0.15, 0.25, 0.3 at δ = 0.1, for the signals of server/routing/labelled.py that PandaLM's verdicts carry
(one order per judge, no confidence): "both agree" (panel), "both agree, decisive above tie" (agree), the
agreement ladder with pandalm first on a contradiction (ladder), and a cascade gpt → pandalm each by its
graded agreement with the other. Columns as in bench/routing_validity.py.

Run: ``.venv/bin/python bench/routing_store_validity.py [--splits 20] [--data DIR]``.
"""

from __future__ import annotations

import argparse
import tempfile
import time
from pathlib import Path

from server.imports.pandalm import read_pandalm
from server.routing.store_study import store_study

DATA = Path(__file__).resolve().parents[1].parent / "shared" / "data" / "pandalm"
GPT, PANDALM = "gpt-3.5-turbo", "pandalm-7b"
STRATEGIES = {
    "both agree (panel)": ([GPT, PANDALM], "panel"),
    "both agree, decisive above tie (agree)": ([GPT, PANDALM], "agree"),
    "ladder, pandalm first (ladder)": ([PANDALM, GPT], "ladder"),
    "cascade gpt → pandalm, graded agreement": ([GPT, PANDALM], "agreement"),
}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", type=Path, default=DATA)
    parser.add_argument("--splits", type=int, default=20)
    parser.add_argument("--seed", type=int, default=12)
    args = parser.parse_args()
    rows = [row for _, row in read_pandalm(args.data)]
    print(f"PandaLM through the store, {len(rows)} pairs, {args.splits} splits 500/499, delta = 0.1, min_n = 30")
    print(f"{'strategy':<42}  alpha  broken  violated  certified  coverage  disagree  ceiling")
    with tempfile.TemporaryDirectory() as folder:
        for name, (judges, signal) in STRATEGIES.items():
            started = time.perf_counter()
            found = store_study(
                rows,
                lambda split, n=name: f"sqlite:///{folder}/{abs(hash(n))}-{split}.db",
                judges=judges,
                signal=signal,
                alphas=(0.15, 0.25, 0.3),
                delta=0.1,
                splits=args.splits,
                n_calibration=500,
                seed=args.seed,
                name=name,
            )
            for row in found:
                print(
                    f"{row.strategy:<42}  {row.alpha:<5}  {row.broken:>2}/{row.splits:<3}"
                    f"  {row.violated:>3}/{row.splits:<4}"
                    f"  {row.certified:>4}/{row.splits:<4}  {row.coverage:>7.1%}  {row.disagreement:>8.1%}"
                    f"  {row.ceiling:>7.1%}"
                )
            print(f"  ({time.perf_counter() - started:.0f} s)")


if __name__ == "__main__":
    main()
