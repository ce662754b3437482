"""One runner for every job: it owns the job row, resume, progress, concurrency and errors.

A job is a :class:`JobSpec`: which items, what is pending for one item, the model work for it, and how
to save what came back. The runner resumes the unfinished job row of the same kind and parameters,
runs the items at a bounded concurrency, commits every item on its own (so an interrupted job keeps
what it finished and the same command run again skips it), records item errors, writes progress to
the job row at most twice a second, and leaves the row ``done``, ``interrupted`` or ``failed``.

>>> ItemOutcome(counts={"verdicts": 2}).counts
{'verdicts': 2}
"""

from __future__ import annotations

import asyncio
import json
import logging
import threading
import time
import uuid
from collections import Counter
from collections.abc import Callable, Coroutine, Sequence
from dataclasses import dataclass, field
from typing import Any, Generic, Literal, Protocol, TypeVar

from pydantic import BaseModel

from judges.backend import SamplingParams
from server.storage import Repository, Store
from server.storage.repos.annotators import Person
from server.storage.tables import Job, Project

log = logging.getLogger(__name__)
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
    produced: str  # the count the rate is taken over (responses, verdicts)

    def items(self) -> Sequence[Item]: ...

    def pending(self, item: Item) -> Todo: ...  # falsy: nothing to ask for this item (it is still saved)

    async def work(self, item: Item, todo: Todo) -> Done: ...

    def save(self, repo: Repository, job_id: str, item: Item, todo: Todo, done: Done | None) -> ItemOutcome: ...

    def result(self, counts: Counter[str], failed_items: int) -> dict[str, int]: ...  # JobResult's counts


def params_key(params: SamplingParams) -> dict[str, Any]:
    """Sampling parameters as they enter natural keys and job parameters (no timeout)."""
    return params.model_dump(exclude={"timeout_s"})


_running: dict[tuple[str, int, str], str] = {}  # (kind, project, params) → the job id this process runs
_running_lock = threading.Lock()


def _running_key(kind: str, project: Project, params: dict[str, Any]) -> tuple[str, int, str]:
    return kind, project.id, json.dumps(params, sort_keys=True, default=str)


def _start(
    store: Store, kind: str, project: Project, params: dict[str, Any], total: int, actor: Person | None
) -> tuple[str, bool]:
    """Reuse the unfinished job with the same kind and parameters, or create one."""
    with store.write() as session:
        repo = Repository(session, actor)
        for job in repo.jobs(project.id):
            if job.kind == kind and job.status in ("running", "interrupted") and job.params == params:
                repo.update_job(job.id, status="running", total=total)
                return job.id, True
        job_id = str(uuid.uuid4())
        repo.create_job(job_id, kind, project.id, params, total=total)
        return job_id, False


class _Tracker:
    """Counts finished and failed items and writes them to the job row (at most twice a second)."""

    def __init__(self, store: Store, job_id: str, total: int, progress: Progress | None, actor: Person | None) -> None:
        self.store, self.job_id, self.total, self.progress, self.actor = store, job_id, total, progress, actor
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

    def flush(self, **fields: Any) -> Job:
        self._flushed = time.monotonic()
        with self.store.write() as session:
            return Repository(session, self.actor).update_job(self.job_id, done=self.done, failed=self.failed, **fields)


async def _run_all(items: Sequence[Any], work: Callable[[Any], Any], concurrency: int) -> None:
    """Run `work` over items with at most `concurrency` in flight."""
    gate = asyncio.Semaphore(concurrency)

    async def one(item: Any) -> None:
        async with gate:
            await work(item)

    await asyncio.gather(*(one(item) for item in items))


async def _finish(tracker: _Tracker, run: Callable[[], Any]) -> str:
    """Run the job body; an interrupt leaves the job `interrupted` (finished items stay stored)."""
    try:
        await run()
    except (asyncio.CancelledError, KeyboardInterrupt):
        tracker.flush(status="interrupted")
        raise
    except Exception as exc:
        tracker.flush(status="failed", error=f"{type(exc).__name__}: {exc}")
        raise
    return "done"


async def run_job(
    store: Store,
    project: Project,
    spec: JobSpec[Any, Any, Any],
    *,
    actor: Person | None = None,
    progress: Progress | None = None,
    concurrency: int = 16,
    on_start: Callable[[str], None] | None = None,
) -> JobResult:
    """Run a job spec over its items: resume, progress, per-item commits, errors, the job row, the result.

    The same job requested again while this process runs it is not run twice: the second caller gets
    the running job's id (and a result saying `running`) and can follow its progress there.
    """
    items = spec.items()
    key = _running_key(spec.kind, project, spec.params)
    with _running_lock:
        running = _running.get(key)
        if running is None:
            job_id, resumed = _start(store, spec.kind, project, spec.params, len(items), actor)
            _running[key] = job_id
    if running is not None:
        if on_start:
            on_start(running)
        return JobResult(
            job=running, kind=spec.kind, status="running", resumed=True, items=len(items),
            done=0, skipped=0, failed=0, elapsed_s=0.0,
        )  # fmt: skip
    try:
        if on_start:
            on_start(job_id)
        return await _run_spec(store, spec, items, job_id, resumed, actor=actor, progress=progress,
                               concurrency=concurrency)  # fmt: skip
    finally:
        with _running_lock:
            _running.pop(key, None)


async def _run_spec(
    store: Store,
    spec: JobSpec[Any, Any, Any],
    items: Sequence[Any],
    job_id: str,
    resumed: bool,
    *,
    actor: Person | None,
    progress: Progress | None,
    concurrency: int,
) -> JobResult:
    """The body of :func:`run_job` for a job this process now owns."""
    tracker = _Tracker(store, job_id, len(items), progress, actor)
    counts: Counter[str] = Counter()
    started = time.perf_counter()

    async def one(item: Any) -> None:
        todo = spec.pending(item)
        done = await spec.work(item, todo) if todo else None
        with store.write() as session:
            repo = Repository(session, actor)
            outcome = spec.save(repo, job_id, item, todo, done)
            for where, error in outcome.errors:
                repo.add_job_error(job_id, where, error)
        counts.update(outcome.counts)
        tracker.item(failed=outcome.failed, skipped=not todo)

    status = await _finish(tracker, lambda: _run_all(items, one, concurrency))
    tracker.flush(status=status, result=dict(counts))
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


def start_in_background(job: Callable[[Callable[[str], None]], Coroutine[Any, Any, JobResult]]) -> str:
    """Run `job(on_start)` on its own thread and event loop; return its id once it has one.

    The API uses this so a long draft or judge job neither blocks a request nor the server's loop;
    progress is then read at `GET /jobs/{id}`. An error before the job starts (an unknown rubric, a
    bad argument) is raised here, so the request fails with it.
    """
    started = threading.Event()
    box: dict[str, Any] = {}

    def on_start(job_id: str) -> None:
        box["id"] = job_id
        started.set()

    def run() -> None:
        try:
            asyncio.run(job(on_start))
        except BaseException as exc:
            if "id" in box:  # the job row already says `failed` with the error (see _finish)
                log.exception("job %s failed", box["id"])
            box.setdefault("error", exc)
        finally:
            started.set()

    threading.Thread(target=run, name="rubricate-job", daemon=True).start()
    started.wait()
    if "id" not in box:
        raise box["error"]
    return str(box["id"])
