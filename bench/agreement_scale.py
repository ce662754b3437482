"""Agreement at scale: our alpha against a bare ``krippendorff.alpha`` on the same matrix, and the bootstrap.

Prints, measured side by side in one run:

1. Krippendorff's alpha over 100,000 items × 10 raters with 30% of the ratings missing (3 categories),
   through :func:`server.agreement.krippendorff_alpha` and through a bare ``krippendorff.alpha`` call on
   the same NaN matrix, best of ``--repeat`` interleaved runs each, the ratio (goal: ≤ 1.1×) and both
   values (they must be equal); also our call on the same data as lists with ``None`` (the report's shape).
2. 1,000-resample bootstrap intervals over 10,000 items: alpha (10 raters, 30% missing) and a judge's
   accuracy / macro P/R/F1 / Cohen's kappa against a reference (goal: ≤ 10 s each). Items with equal
   contributions are drawn as kinds (multinomial counts); the last line forces the general path where
   every item is distinct and each resample is a weight vector over all 10,000 items.
3. ``--store-pairs N``: the report out of a real SQLite store (:mod:`agreement_seed`: N pairs × 3
   rankings + 2 judges × 2 orders, bulk-inserted), as the agreement job computes and stores it: the
   read time apart from the compute time, the stored report's cached re-read (fingerprint + stored row),
   and the recompute after one new ranking. ``--store-pairs 333334`` is the 1,000,000-ranking project.

Run: ``.venv/bin/python bench/agreement_scale.py [--items 100000] [--raters 10] [--repeat 5]``, or
``.venv/bin/python bench/agreement_scale.py --store-pairs 100000 [--store-only]``.
"""

from __future__ import annotations

import argparse
import resource
import shutil
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import krippendorff
import numpy as np
from agreement_seed import seed_project

from server.agreement import bootstrap, krippendorff_alpha
from server.agreement.metrics import (
    alpha_from_coincidences,
    coincidence_features,
    confusion_features,
    ratings,
    scores_from_confusion,
)
from server.agreement.models import ReportOptions
from server.agreement.stored import current_fingerprint
from server.jobs.agreement import served_report
from server.storage import Repository, Store, open_store


def reliability_matrix(items: int, raters: int, missing: float, seed: int = 0) -> np.ndarray:
    """raters × items over {0, 1, 2}: a true label per item that each rater gives with probability 0.8."""
    rng = np.random.default_rng(seed)
    truth = rng.choice(3, size=items, p=[0.45, 0.45, 0.10])
    noise = rng.integers(0, 3, size=(raters, items))
    data = np.where(rng.random((raters, items)) < 0.8, truth, noise).astype(float)
    data[rng.random((raters, items)) < missing] = np.nan
    return data


def best_of(repeat: int, *calls: Callable[[], Any]) -> list[tuple[float, Any]]:
    """Best wall time of each call over `repeat` rounds, the calls interleaved within each round."""
    best = [float("inf")] * len(calls)
    values: list[Any] = [None] * len(calls)
    for _ in range(repeat):
        for number, call in enumerate(calls):
            started = time.perf_counter()
            values[number] = call()
            best[number] = min(best[number], time.perf_counter() - started)
    return list(zip(best, values, strict=True))


def alpha_side_by_side(items: int, raters: int, missing: float, repeat: int) -> None:
    data = reliability_matrix(items, raters, missing)
    ours_call = lambda: krippendorff_alpha(data, level="nominal")  # noqa: E731
    bare_call = lambda: float(krippendorff.alpha(reliability_data=data, level_of_measurement="nominal"))  # noqa: E731
    (ours, ours_value), (bare, bare_value) = best_of(repeat, ours_call, bare_call)
    print(f"alpha, {items:,} items × {raters} raters, {missing:.0%} missing, nominal, best of {repeat}:")
    print(f"  server.agreement.krippendorff_alpha(ndarray)   {ours:8.3f} s   alpha = {ours_value:.6f}")
    print(f"  bare krippendorff.alpha(reliability_data=...)  {bare:8.3f} s   alpha = {bare_value:.6f}")
    print(f"  ratio ours / bare                              {ours / bare:8.2f}×   (goal ≤ 1.10×)")
    assert abs(ours_value - bare_value) < 1e-9, "our alpha must equal the package's"
    as_lists = [[None if np.isnan(v) else int(v) for v in row] for row in data]
    [(lists, lists_value)] = best_of(max(1, repeat // 2), lambda: krippendorff_alpha(as_lists))
    print(f"  server.agreement.krippendorff_alpha(lists with None) {lists:6.3f} s   (conversion included)")
    assert abs(lists_value - bare_value) < 1e-9


def bootstrap_timings(items: int, raters: int, missing: float, resamples: int) -> None:
    data = reliability_matrix(items, raters, missing, seed=1)
    started = time.perf_counter()
    counts = ratings(data).value_counts()
    features = coincidence_features(counts)
    [interval] = bootstrap(features, lambda s: alpha_from_coincidences(s.reshape(-1, 3, 3)), resamples=resamples)
    alpha_s = time.perf_counter() - started
    print(f"bootstrap, {resamples:,} resamples over {items:,} items (goal ≤ 10 s each):")
    print(
        f"  alpha ({raters} raters, {missing:.0%} missing)                {alpha_s:8.3f} s   "
        f"alpha = {krippendorff_alpha(data):.4f} [{interval.low:.4f}, {interval.high:.4f}]"  # type: ignore[union-attr]
    )
    rng = np.random.default_rng(2)
    reference = rng.choice(3, size=items, p=[0.45, 0.45, 0.10])
    judge = np.where(rng.random(items) < 0.7, reference, rng.integers(0, 3, size=items))
    started = time.perf_counter()
    features = confusion_features(reference, judge, 3)
    intervals = bootstrap(
        features,
        lambda s: np.column_stack(list(scores_from_confusion(s.reshape(-1, 3, 3)).values())),
        resamples=resamples,
    )
    judge_s = time.perf_counter() - started
    names = ("accuracy", "macro P", "macro R", "macro F1", "kappa")
    shown = ", ".join(f"{n} [{i.low:.3f}, {i.high:.3f}]" for n, i in zip(names, intervals, strict=True) if i)
    print(f"  judge vs reference: 5 metrics at once          {judge_s:8.3f} s   {shown}")
    # Worst case: every item distinct (an id column nobody reads), so each resample weighs 10,000 items.
    distinct = np.column_stack([coincidence_features(counts), np.arange(items)])
    started = time.perf_counter()
    [interval] = bootstrap(
        distinct, lambda s: alpha_from_coincidences(s[:, :-1].reshape(-1, 3, 3)), resamples=resamples
    )
    print(
        f"  alpha, every item distinct (per-item weights)  {time.perf_counter() - started:8.3f} s   "
        f"[{interval.low:.4f}, {interval.high:.4f}]"  # type: ignore[union-attr]
    )


def peak_rss_mib() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def store_case(pairs: int, resamples: int, recompute: bool = True) -> None:
    """The store-backed report: seed, first computation (read vs compute), cached re-read, recompute."""
    root = Path(tempfile.mkdtemp(prefix="agreement-store-bench-"))
    try:
        store = open_store(f"sqlite:///{root}/rubricate.db")
        project_id, seeded = seed_project(store, pairs)
        size = sum(f.stat().st_size for f in root.iterdir()) / 2**20
        print(f"store-backed report, SQLite, {pairs:,} pairs × 3 rankings + 2 judges × 2 orders "
              f"({3 * pairs:,} rankings, {4 * pairs:,} verdicts), {resamples} resamples:")  # fmt: skip
        print(f"  seeded with bulk inserts in {seeded:8.2f} s ({size:,.0f} MiB on disk)")
        options = ReportOptions(resamples=resamples)
        started, cpu = time.perf_counter(), time.process_time()
        first = served_report(store, project_id, options)
        total, cpu = time.perf_counter() - started, time.process_time() - cpu
        assert first.stored is not None and first.counts.rankings == 3 * pairs
        print(
            f"  first request (agreement job): {total:8.2f} s = read {first.stored.read_s:.2f} s + compute "
            f"{first.stored.compute_s:.2f} s + fingerprint, job row and storing the report; {cpu:.2f} CPU-s "
            f"(this process had {cpu / total:.0%} of a core: other work shared the cores)"
        )
        fingerprinted = best_of(3, lambda: _fingerprint(store, project_id, options))[0][0]
        [(cached, again)] = best_of(3, lambda: served_report(store, project_id, options))
        assert again.stored == first.stored, "nothing changed: the stored report must be served"
        print(
            f"  cached re-read (fingerprint + stored report), best of 3: {cached:8.3f} s "
            f"({fingerprinted:.3f} s of it the fingerprint); {total / cached:,.0f}× faster than computing"
        )
        if recompute:
            _recompute(store, project_id, options, pairs)
        print(f"  peak memory of this process: {peak_rss_mib():,.0f} MiB")
    finally:
        shutil.rmtree(root)


def _recompute(store: Store, project_id: int, options: ReportOptions, pairs: int) -> None:
    """One new ranking makes the stored report stale: the next request recomputes it."""
    with store.write() as session:
        repo = Repository(session)
        person, _ = repo.create_annotator("late", "reviewer", with_token=False)
        repo.add_ranking(project_id=project_id, pair_id=1, annotator_id=person.id, outcome="a")
    started, cpu = time.perf_counter(), time.process_time()
    after = served_report(store, project_id, options)
    assert after.stored is not None and after.counts.rankings == 3 * pairs + 1
    print(
        f"  after one new ranking: stale, recomputed in {time.perf_counter() - started:8.2f} s "
        f"(read {after.stored.read_s:.2f} s, compute {after.stored.compute_s:.2f} s; "
        f"{time.process_time() - cpu:.2f} CPU-s)"
    )


def _fingerprint(store: Store, project_id: int, options: ReportOptions) -> str:
    with store.read() as session:
        return current_fingerprint(Repository(session), project_id, options)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--items", type=int, default=100_000)
    parser.add_argument("--raters", type=int, default=10)
    parser.add_argument("--missing", type=float, default=0.3)
    parser.add_argument("--repeat", type=int, default=5)
    parser.add_argument("--bootstrap-items", type=int, default=10_000)
    parser.add_argument("--resamples", type=int, default=1000)
    parser.add_argument("--store-pairs", type=int, default=0, help="Also run the store-backed report over N pairs.")
    parser.add_argument("--store-only", action="store_true", help="Only the store-backed case.")
    parser.add_argument("--no-recompute", action="store_true", help="Skip the recompute after one new ranking.")
    args = parser.parse_args()
    if not args.store_only:
        alpha_side_by_side(args.items, args.raters, args.missing, args.repeat)
        bootstrap_timings(args.bootstrap_items, args.raters, args.missing, args.resamples)
    if args.store_pairs:
        store_case(args.store_pairs, args.resamples, recompute=not args.no_recompute)


if __name__ == "__main__":
    main()
