"""Export at scale: 100,000 synthetic pairs (three human votes each) exported as DPO.

Prints rows per second for
  1. label resolution + row building (each format's row function, rows turned into columns once, as
     :func:`export_dataset` builds them),
  2. the full export (labels, rows, DatasetDict.save_to_disk, Parquet, JSONL, manifest with sha256s),
and, side by side in the same run, the per-row way the exporter avoids (a dict per row, then
``Dataset.from_list``) against the columnar ``Dataset.from_dict`` it uses.

Run: ``.venv/bin/python bench/export_scale.py [--pairs 100000]``.
"""

from __future__ import annotations

import argparse
import random
import shutil
import tempfile
import time
from pathlib import Path

import pyarrow as pa
from datasets import Dataset, DatasetInfo, disable_progress_bars

from rubrics.outcomes import OUTCOMES
from server.export import ExportPair, HumanVote, build_columns, build_rows, export_dataset, select_pairs
from server.export.trl import features_for


def synthetic_pairs(n: int, seed: int = 0) -> list[ExportPair]:
    """n pairs over n/4 prompts, half of them chat prompts, three votes each.

    Each pair has a true outcome (a or b 45% each, tie 10%) that each annotator gives with probability 0.8,
    so most pairs have a strict majority, some a tie and a few none, as in real review data.
    """
    rng = random.Random(seed)
    pairs = []
    for number in range(n):
        prompt_id = f"q{number // 4}"
        text = f"Question {prompt_id}: explain item {number} in two sentences."
        prompt: str | list[dict[str, str]] = (
            [{"role": "system", "content": "Be concise."}, {"role": "user", "content": text}] if number % 2 else text
        )
        truth = rng.choices(OUTCOMES, weights=(45, 45, 10))[0]
        pairs.append(
            ExportPair(
                pair_id=f"p{number}",
                prompt_id=prompt_id,
                prompt=prompt,
                response_a=f"Answer A to {number}. " * 8,
                response_b=f"Answer B to {number}. " * 8,
                human_labels=[
                    HumanVote(
                        annotator=f"annotator{k}",
                        outcome=truth if rng.random() < 0.8 else rng.choice(OUTCOMES),
                        rubric="helpful@1",
                    )
                    for k in range(3)
                ],
            )
        )
    return pairs


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--pairs", type=int, default=100_000)
    args = parser.parse_args()
    disable_progress_bars()

    started = time.perf_counter()
    pairs = synthetic_pairs(args.pairs)
    print(f"input models:            {args.pairs:>8} pairs in {time.perf_counter() - started:6.2f}s (not timed below)")

    started = time.perf_counter()
    kept, dropped, _ = select_pairs(pairs, format="dpo")
    columns = build_columns(kept, "dpo", conversational=True)
    elapsed = time.perf_counter() - started
    rows = len(columns["pair_id"])
    print(f"labels + row building:   {rows:>8} rows in {elapsed:6.2f}s = {rows / elapsed:>9,.0f} rows/s")
    print(f"  (from {args.pairs} pairs: {dropped.tie} ties and {dropped.no_label} without a majority dropped)")

    features = features_for("dpo", conversational=True)
    started = time.perf_counter()
    Dataset(pa.Table.from_pydict(columns, schema=features.arrow_schema), info=DatasetInfo(features=features))
    columnar = time.perf_counter() - started
    started = time.perf_counter()
    per_row = [row for pair, label in kept for row in build_rows(pair, label, "dpo", conversational=True)]
    Dataset.from_list(per_row, features=features)
    row_wise = time.perf_counter() - started
    print(
        f"rows → Arrow:            columns + pa.Table.from_pydict {columnar:5.2f}s, "
        f"row dicts + Dataset.from_list {row_wise:5.2f}s ({row_wise / columnar:.0f}x slower)"
    )

    root = Path(tempfile.mkdtemp(prefix="export-bench-"))
    try:
        started = time.perf_counter()
        manifest = export_dataset(pairs, format="dpo", out=root / "dpo", test_size=0.1, seed=0)
        elapsed = time.perf_counter() - started
        total = sum(manifest.rows.values())
        size = sum(path.stat().st_size for path in (root / "dpo").rglob("*") if path.is_file())
        print(f"full export (all files): {total:>8} rows in {elapsed:6.2f}s = {total / elapsed:>9,.0f} rows/s")
        print(f"  splits {manifest.rows}, {len(manifest.files)} files, {size / 2**20:.0f} MiB on disk")
    finally:
        shutil.rmtree(root)


if __name__ == "__main__":
    main()
