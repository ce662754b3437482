"""One runner for every job: it owns the job row, resume, progress, concurrency, errors and the lease.

A job is a :class:`JobSpec`: which items, what is pending for one item, the model work for it, and how
to save what came back. The runner runs a job its worker has claimed (:mod:`server.storage.repos.job_queue`)
at a bounded concurrency, commits every item on its own behind the lease's fence (so an interrupted or
killed job keeps what it finished and whoever resumes it skips that), records item errors, writes
progress to the job row at most twice a second, and leaves the row ``done``, ``failed``, ``cancelled``,
or back in the queue (``queued`` from a worker, ``interrupted`` from the CLI).

>>> ItemOutcome(counts={"verdicts": 2}).counts
{'verdicts': 2}
"""

from __future__ import annotations

import asyncio
import time
from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any, Generic, Literal, Protocol, TypeVar

from pydantic import BaseModel

from judges.backend import SamplingParams
from server.jobs.lease import DEFAULT_LEASE_S, Held, Leases
from server.storage import Repository, Store
from server.storage.records import Project
from server.storage.repos.annotators import Person
from server.storage.repos.job_queue import JobCounts, LeaseLost

Progress = Callable[[int, int], None]
Kind = Literal["draft", "judge", "agreement"]
Item = TypeVar("Item")
Todo = TypeVar("Todo")
Done = TypeVar("Done")


class JobResult(BaseModel):
    """What a finished (or interrupted) job did; the CLI prints it with `--json`."""

    job: str
    kind: Kind
    status: str
    resumed: bool
    items: int
    done: int
    skipped: int
    failed: int
    responses: int = 0
    pairs_added: int = 0
    verdicts: int = 0
    inconsistent: int = 0
    elapsed_s: float
    completion_tokens: int = 0
    rate_per_s: float = 0.0


@dataclass
class ItemOutcome:
    """What saving one item did: counts to add up, whether it failed, errors to record (item, error)."""

    counts: dict[str, int] = field(default_factory=dict)
    failed: bool = False
    errors: list[tuple[str, str]] = field(default_factory=list)


class JobSpec(Protocol, Generic[Item, Todo, Done]):
    """A kind of job: everything that is not the runner's."""

    kind: Kind
    params: dict[str, Any]  # the job row's parameters: an unfinished row with the same ones is resumed
    pinned: dict[str, Any]  # the request with its defaults resolved (model, rubric version): a worker's input
    produced: str  # the count the rate is taken over (responses, verdicts)

    def items(self) -> Sequence[Item]: ...

    def pending(self, item: Item) -> Todo: ...  # falsy: nothing to ask for this item (it is still saved)

    async def work(self, item: Item, todo: Todo) -> Done: ...

    def save(self, repo: Repository, job_id: str, item: Item, todo: Todo, done: Done | None) -> ItemOutcome: ...

    def result(self, counts: Counter[str], failed_items: int) -> dict[str, int]: ...  # JobResult's counts


def params_key(params: SamplingParams) -> dict[str, Any]:
    """Sampling parameters as they enter natural keys and job parameters (no timeout)."""
    return params.model_dump(exclude={"timeout_s"})


class _Tracker:
    """Counts finished and failed items and writes them to the job row (at most twice a second), fenced by
    the lease: a write for a job this worker no longer holds marks it lost and writes nothing."""

    def __init__(self, store: Store, held: Held, owner: str, total: int, progress: Progress | None,
                 actor: Person | None) -> None:  # fmt: skip
        self.store, self.held, self.owner, self.total = store, held, owner, total
        self.progress, self.actor = progress, actor
        self.done = self.failed = self.skipped = 0
        self._flushed = 0.0

    def item(self, *, failed: bool = False, skipped: bool = False) -> None:
        self.done += 1
        self.failed += failed
        self.skipped += skipped
        if self.progress:
            self.progress(self.done, self.total)
        if time.monotonic() - self._flushed > 0.5 or self.done == self.total:
            self.flush()

    def flush(self) -> None:
        self._write(lambda repo: repo.record_progress(self.held.job_id, self.owner, self._counts()))

    def end(self, status: str, *, result: dict[str, Any] | None = None, error: str | None = None) -> str:
        """Free the lease with the job's end (or its way back to the queue); the status the row now has."""
        ended: list[str] = []
        self._write(lambda repo: ended.append(repo.end_lease(self.held.job_id, self.owner, status, self._counts(),
                                                             result=result, error=error).status))  # fmt: skip
        return ended[0] if ended else "lost"

    def _counts(self) -> JobCounts:
        return JobCounts(total=self.total, done=self.done, failed=self.failed)

    def _write(self, write: Callable[[Repository], Any]) -> None:
        self._flushed = time.monotonic()
        if self.held.lost:
            return
        try:
            with self.store.write() as session:
                write(Repository(session, self.actor))
        except LeaseLost:
            self.held.lose()


async def _run_all(items: Sequence[Any], work: Callable[[Any], Any], concurrency: int, held: Held) -> None:
    """Run `work` over items with at most `concurrency` in flight; once the job must stop (cancelled, or
    lost to another worker) the items not yet saved are abandoned: their model calls are cancelled."""
    gate = asyncio.Semaphore(concurrency)

    async def one(item: Any) -> None:
        async with gate:
            if not held.stopping:
                await work(item)

    tasks = [asyncio.ensure_future(one(item)) for item in items]

    async def watch() -> None:
        while not held.stopping:
            await asyncio.sleep(0.1)
        for task in tasks:
            task.cancel()  # a save has no await in it, so none is cut in half

    watcher = asyncio.ensure_future(watch())
    try:
        results = await asyncio.gather(*tasks, return_exceptions=True)
    finally:
        watcher.cancel()
    for result in results:
        if isinstance(result, BaseException) and not isinstance(result, asyncio.CancelledError):
            raise result


async def _finish(tracker: _Tracker, run: Callable[[], Any], on_interrupt: str) -> None:
    """Run the job body; an interrupt gives the job back as `on_interrupt` (finished items stay stored)."""
    try:
        await run()
    except (asyncio.CancelledError, KeyboardInterrupt):
        tracker.end(on_interrupt)
        raise
    except Exception as exc:
        tracker.end("failed", error=f"{type(exc).__name__}: {exc}")
        raise


async def run_job(
    store: Store,
    project: Project,
    spec: JobSpec[Any, Any, Any],
    *,
    actor: Person | None = None,
    progress: Progress | None = None,
    concurrency: int = 16,
    on_start: Callable[[str], None] | None = None,
    lease_s: float = DEFAULT_LEASE_S,
) -> JobResult:
    """Run a job in this process (the CLI's way): submit it, claim it with a lease, run it to its end.

    The same job requested again while some worker holds it is not run twice: the second caller gets
    that job's id (and a result with its status, `running`) and can follow its progress there. An
    unfinished job of the same kind and parameters (interrupted, or whose worker died) is resumed.
    """
    items = spec.items()
    with Leases(store, lease_s) as leases:
        with store.write() as session:
            submitted = Repository(session, actor).submit_job(
                spec.kind, project.id, spec.params, spec.pinned, total=len(items), owner=leases.owner,
                lease_s=lease_s,
            )  # fmt: skip
        if on_start:
            on_start(submitted.id)
        if not submitted.claimed:
            return JobResult(
                job=submitted.id, kind=spec.kind, status=submitted.status, resumed=True, items=len(items),
                done=0, skipped=0, failed=0, elapsed_s=0.0,
            )  # fmt: skip
        held = leases.hold(submitted.id)
        return await run_claimed(store, spec, held, leases.owner, resumed=not submitted.created, items=items,
                                 actor=actor, progress=progress, concurrency=concurrency)  # fmt: skip


async def run_claimed(
    store: Store,
    spec: JobSpec[Any, Any, Any],
    held: Held,
    owner: str,
    *,
    resumed: bool,
    items: Sequence[Any] | None = None,
    actor: Person | None = None,
    progress: Progress | None = None,
    concurrency: int = 16,
    on_interrupt: str = "interrupted",
) -> JobResult:
    """Run a job `owner` holds: each item is fenced by the lease, and stops early if the job is cancelled
    (at the next item) or lost to another worker (nothing more is written)."""
    items = spec.items() if items is None else items
    job_id = held.job_id
    tracker = _Tracker(store, held, owner, len(items), progress, actor)
    counts: Counter[str] = Counter()
    started = time.perf_counter()

    async def one(item: Any) -> None:
        if held.stopping:
            return
        todo = spec.pending(item)
        done = await spec.work(item, todo) if todo else None
        try:
            with store.write() as session:
                repo = Repository(session, actor)
                if repo.hold_job(job_id, owner) == "cancelling":
                    held.cancel()  # this item is paid for: keep it; the others stop
                outcome = spec.save(repo, job_id, item, todo, done)
                for where, error in outcome.errors:
                    repo.add_job_error(job_id, where, error)
        except LeaseLost:
            held.lose()
            return
        counts.update(outcome.counts)
        tracker.item(failed=outcome.failed, skipped=not todo)

    await _finish(tracker, lambda: _run_all(items, one, concurrency, held), on_interrupt)
    stopped = held.cancelled and tracker.done < tracker.total
    status = tracker.end("cancelled" if stopped else "done", result=dict(counts))
    elapsed = time.perf_counter() - started
    return JobResult(
        job=job_id,
        kind=spec.kind,
        status=status,
        resumed=resumed,
        items=tracker.total,
        done=tracker.done,
        skipped=tracker.skipped,
        elapsed_s=round(elapsed, 3),
        completion_tokens=counts["tokens"],
        rate_per_s=round(counts[spec.produced] / elapsed, 3) if elapsed else 0.0,
        **spec.result(counts, tracker.failed),
    )
