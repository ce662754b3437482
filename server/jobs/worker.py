"""Workers: claim draft and judge jobs from the job table and run them under a lease.

`rubricate worker` and the API process's own worker (:class:`BackgroundWorker`, on by default so that
`rubricate serve` alone completes the jobs it is asked for) are the same loop: while it has a free slot,
claim the oldest waiting job (or one whose worker died: its lease ran out), rebuild the job from its row
(the pinned request: model and rubric version resolved when it was asked for) and run it. A worker
stopped gracefully (SIGTERM, the API shutting down) gives its jobs back to the queue; a killed one stops
renewing its leases, and another worker resumes its jobs once they run out.

>>> sorted(KINDS)
['agreement', 'draft', 'judge']
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import threading
from collections.abc import Callable
from typing import Any

from judges.backend import Backend
from server.jobs.agreement import AgreementSpec
from server.jobs.draft import DraftRequest, DraftSpec
from server.jobs.judge import JudgeRequest, judge_spec
from server.jobs.lease import DEFAULT_LEASE_S, Leases
from server.jobs.runner import JobSpec, run_claimed
from server.storage import Person, Repository, Store
from server.storage.records import Project
from server.storage.repos.job_queue import Submitted

log = logging.getLogger(__name__)
BackendFor = Callable[[str | None], Backend]  # a model name (None: the configured one) → its backend
SpecOf = Callable[[Store, Project, Backend, dict[str, Any]], Any]  # a job row's pinned request → its spec


def _draft(store: Store, project: Project, backend: Backend, request: dict[str, Any]) -> DraftSpec:
    return DraftSpec(store, project, backend, DraftRequest.model_validate(request))


def _judge(store: Store, project: Project, backend: Backend, request: dict[str, Any]) -> Any:
    return judge_spec(store, project, backend, JudgeRequest.model_validate(request))


def _agreement(store: Store, project: Project, backend: Backend, request: dict[str, Any]) -> AgreementSpec:
    return AgreementSpec.from_params(store, project.id, request)  # no model work: the backend goes unused


KINDS: dict[str, tuple[SpecOf, int]] = {"draft": (_draft, 16), "judge": (_judge, 32), "agreement": (_agreement, 1)}
"""kind → (the spec its pinned request builds, items at once)"""


def build_spec(
    store: Store, project: Project, backend: Backend, kind: str, request: dict[str, Any]
) -> JobSpec[Any, Any, Any]:
    """The job a row describes, rebuilt from its kind and pinned request."""
    spec_of, _ = KINDS[kind]
    return spec_of(store, project, backend, request)  # type: ignore[no-any-return]


def enqueue(
    store: Store,
    spec: JobSpec[Any, Any, Any],
    project_id: int,
    actor: Person | None,
    background: BackgroundWorker | None,
    lease_s: float,
) -> Submitted:
    """Queue a job (or find the identical one queued or running); the API's own worker takes it at once
    when it has room, else any worker does when one is free."""
    worker = background.start() if background is not None else None
    owner = worker.owner if worker is not None and worker.has_room() else None
    with store.write() as session:
        submitted = Repository(session, actor).submit_job(
            spec.kind, project_id, spec.params, spec.pinned, owner=owner, lease_s=lease_s
        )
    if worker is not None:
        worker.adopt(submitted.id) if submitted.claimed else worker.wake()
    return submitted


class Worker:
    """Claims and runs jobs: `slots` at a time on one event loop, each under a lease this worker renews."""

    def __init__(self, store: Store, backend_for: BackendFor, *, lease_s: float = DEFAULT_LEASE_S, slots: int = 1,
                 poll_s: float = 1.0) -> None:  # fmt: skip
        self.store, self.backend_for, self.slots, self.poll_s = store, backend_for, slots, poll_s
        self.leases = Leases(store, lease_s)
        self.ready = threading.Event()
        self.started = 0
        self._tasks: set[asyncio.Task[None]] = set()
        self._loop: asyncio.AbstractEventLoop | None = None
        self._wake: asyncio.Event | None = None
        self._stopping = False

    @property
    def owner(self) -> str:
        return self.leases.owner

    def has_room(self) -> bool:
        return self.ready.is_set() and not self._stopping and len(self._tasks) < self.slots

    async def serve(self, *, once: bool = False) -> int:
        """Claim and run jobs until stopped (with `once`: wait for one job, run it, return); jobs started."""
        self._loop, self._wake = asyncio.get_running_loop(), asyncio.Event()
        self.ready.set()
        try:
            while not self._stopping:
                while len(self._tasks) < self.slots and not (once and self.started) and (job_id := self._claim()):
                    self._start(job_id)
                if once and self.started and not self._tasks:
                    break
                self._wake.clear()
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(self._wake.wait(), self.poll_s)
        finally:
            for task in self._tasks:
                task.cancel()  # each job goes back to the queue (the runner's interrupt path)
            await asyncio.gather(*self._tasks, return_exceptions=True)
            self.leases.close()
        return self.started

    def stop(self) -> None:
        """Stop claiming and give running jobs back to the queue; safe from any thread or a signal handler."""
        self._stopping = True
        self.wake()

    def wake(self) -> None:
        """Look for work now instead of at the next poll (a job was just queued); safe from any thread."""
        if self._loop is not None and self._wake is not None and not self._loop.is_closed():
            with contextlib.suppress(RuntimeError):
                self._loop.call_soon_threadsafe(self._wake.set)

    def adopt(self, job_id: str) -> None:
        """Run a job already claimed for this worker's owner (the API claims it in the request); any thread."""
        assert self._loop is not None, "adopt() before serve() started"
        self._loop.call_soon_threadsafe(self._start, job_id)

    def _claim(self) -> str | None:
        kinds = tuple(KINDS)
        try:
            with self.store.read() as session:
                if not Repository(session).has_claimable_job(kinds):
                    return None  # idle: a read, so an idle worker never takes SQLite's write lock
            with self.store.write() as session:
                return Repository(session).claim_next(self.owner, self.leases.lease_s, kinds)
        except Exception:
            log.exception("worker %s could not claim a job", self.owner)
            return None

    def _start(self, job_id: str) -> None:
        self.started += 1
        task = asyncio.get_running_loop().create_task(self._run(job_id), name=f"job {job_id}")
        self._tasks.add(task)

        def done(finished: asyncio.Task[None]) -> None:
            self._tasks.discard(finished)
            if self._wake is not None:
                self._wake.set()

        task.add_done_callback(done)

    async def _run(self, job_id: str) -> None:
        held = self.leases.hold(job_id)
        try:
            try:
                spec, kind, actor, resumed = self._rebuild(job_id)
            except Exception as exc:  # e.g. its rubric version or model is gone: the job cannot run
                with self.store.write() as session:
                    error = f"{type(exc).__name__}: {exc}"
                    Repository(session).end_lease(job_id, self.owner, "failed", error=error)
                raise
            result = await run_claimed(self.store, spec, held, self.owner, resumed=resumed, actor=actor,
                                       concurrency=KINDS[kind][1], on_interrupt="queued")  # fmt: skip
            log.info("job %s (%s) %s: %d of %d items", job_id, kind, result.status, result.done, result.items)
        except asyncio.CancelledError:
            raise
        except Exception:
            log.exception("job %s failed", job_id)
        finally:
            self.leases.drop(job_id)

    def _rebuild(self, job_id: str) -> tuple[JobSpec[Any, Any, Any], str, Person | None, bool]:
        """The job a claimed row describes, who asked for it, and whether a worker ran it before."""
        with self.store.read() as session:
            repo = Repository(session)
            job = repo.job(job_id)
            project = repo.project(job.project_id)  # type: ignore[arg-type]
            actor = repo.person(job.created_by) if job.created_by is not None else None
            kind, request, resumed = job.kind, dict(job.request or {}), job.attempts > 1
        backend = self.backend_for(request.get("model"))
        return build_spec(self.store, project, backend, kind, request), kind, actor, resumed


class BackgroundWorker:
    """The API process's own worker: a :class:`Worker` on a thread with its own event loop."""

    def __init__(self, worker: Worker) -> None:
        self.worker = worker
        self._thread: threading.Thread | None = None
        self._lock = threading.Lock()

    def start(self) -> Worker:
        with self._lock:
            if self._thread is None:
                self._thread = threading.Thread(target=lambda: asyncio.run(self.worker.serve()),
                                                name="rubricate-worker", daemon=True)  # fmt: skip
                self._thread.start()
        self.worker.ready.wait(timeout=30)
        return self.worker

    def stop(self) -> None:
        with self._lock:
            thread, self._thread = self._thread, None
        if thread is not None:
            self.worker.stop()
            thread.join(timeout=30)
