"""Review turns per second of `rubricate serve --workers N` on a real PostgreSQL, for N = 1, 2, 4.

The load of tests/integration/test_several_processes.py without its deliberate retries: R reviewers
(httpx async) loop "next assignment, then ranking" over P pairs at overlap k until the queue is empty.
Each N gets a fresh database; PostgreSQL, the servers and the reviewers share this machine's cores, so
the curve says how far more processes help on it, not what a fleet would do. To say why, the CPU time
each part spent per turn is read from /proc: the API processes, PostgreSQL's backends, the reviewers.

    PYTHONPATH=$PWD python bench/serve_workers.py --workers 1 2 4 --reviewers 50 --pairs 1000 --overlap 1
"""

from __future__ import annotations

import argparse
import asyncio
import os
import tempfile
import time
from pathlib import Path

from server.storage import open_store
from tests.integration.test_several_processes import assert_review_held, review_project
from tests.support.postgres import create_database, postgres_server
from tests.support.reviewers import run_reviewers
from tests.support.serve_process import serve_process


def _processes() -> dict[int, tuple[int, str, float]]:
    """pid -> (parent pid, command line, CPU seconds so far) for every process we can read."""
    found = {}
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text()
            command = (entry / "cmdline").read_bytes().replace(b"\0", b" ").decode()
        except (OSError, ValueError):
            continue
        fields = stat.rsplit(")", 1)[1].split()
        found[int(entry.name)] = (
            int(fields[1]),
            command,
            (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK"),
        )
    return found


def _tree_cpu(processes: dict[int, tuple[int, str, float]], marker: str) -> float:
    """CPU seconds of the process whose command line holds `marker`, and of all its descendants."""
    roots = {pid for pid, (_, command, _) in processes.items() if marker in command}
    tree, grew = set(roots), True
    while grew:
        more = {pid for pid, (parent, _, _) in processes.items() if parent in tree} - tree
        tree, grew = tree | more, bool(more)
    return sum(processes[pid][2] for pid in tree)


def _cpu(api_port: str, db_port: str) -> tuple[float, float, float]:
    processes = _processes()
    api = _tree_cpu(processes, f"--port {api_port} ")
    db = _tree_cpu(processes, f"-p {db_port} ")  # the postmaster and its backends
    return api, db, time.process_time()


def measure(server: str, workers: int, reviewers: int, pairs: int, overlap: int, home: Path) -> str:
    store = open_store(create_database(server, f"bench_w{workers}"))
    db_port = server.rsplit(":", 1)[1]
    try:
        project_id, tokens = review_project(store, pairs=pairs, reviewers=reviewers, overlap=overlap)
        with serve_process(home / f"w{workers}", store.url, workers=workers) as url:
            api_port = url.rsplit(":", 1)[1]
            before = _cpu(api_port, db_port)
            result = asyncio.run(run_reviewers([url], tokens, project_id, retries=False))
            after = _cpu(api_port, db_port)
        spent = [(b - a) * 1000 / result.turns for a, b in zip(before, after, strict=True)]
        assert_review_held(store, project_id, result, pairs=pairs, overlap=overlap)
    finally:
        store.dispose()
    return (
        f"workers={workers}: {result.turns} turns in {result.elapsed_s:.1f} s = {result.rankings_per_s:.1f} "
        f"rankings/s; CPU ms per turn: API {spent[0]:.1f}, PostgreSQL {spent[1]:.1f}, reviewers {spent[2]:.1f} "
        f"(sum {sum(spent):.1f}); load average {os.getloadavg()[0]:.1f}; invariants held"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--workers", type=int, nargs="+", default=[1, 2, 4])
    parser.add_argument("--reviewers", type=int, default=50)
    parser.add_argument("--pairs", type=int, default=1000)
    parser.add_argument("--overlap", type=int, default=1)
    args = parser.parse_args()
    print(f"{os.cpu_count()} CPUs; {args.reviewers} reviewers, {args.pairs} pairs, overlap {args.overlap}")
    home = Path(tempfile.mkdtemp(prefix="rubricate-bench-workers-"))
    with postgres_server() as server:
        for workers in args.workers:
            print(measure(server, workers, args.reviewers, args.pairs, args.overlap, home), flush=True)


if __name__ == "__main__":
    main()
