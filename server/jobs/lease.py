"""A worker's leases: its owner id, the jobs it holds, and the heartbeat thread that renews them.

The heartbeat runs on its own thread, not on the jobs' event loop, so a loop busy with a long database
write or a burst of model answers does not let a lease run out. Each beat renews every lease of the
owner in one statement and reads back which jobs it still holds: a job cancelled meanwhile is told to
stop at its next item, a job another worker claimed (this one's lease ran out) is told it is lost.

>>> held = Held("job-1")
>>> held.cancel(); (held.stopping, held.cancelled, held.lost)
(True, True, False)
"""

from __future__ import annotations

import logging
import os
import socket
import threading
import uuid
from types import TracebackType

from server.storage import Repository, Store

log = logging.getLogger(__name__)
DEFAULT_LEASE_S = 30.0


class Held:
    """One job a worker holds, and why it should stop (cancelled, or lost to another worker), if it should."""

    def __init__(self, job_id: str) -> None:
        self.job_id = job_id
        self.reason: str | None = None

    def cancel(self) -> None:
        self.reason = self.reason or "cancelled"

    def lose(self) -> None:
        self.reason = "lost"

    @property
    def stopping(self) -> bool:
        return self.reason is not None

    @property
    def cancelled(self) -> bool:
        return self.reason == "cancelled"

    @property
    def lost(self) -> bool:
        return self.reason == "lost"


class Leases:
    """The leases of one worker (a `rubricate worker`, the API's own worker, or one CLI job)."""

    def __init__(self, store: Store, lease_s: float = DEFAULT_LEASE_S) -> None:
        self.store, self.lease_s = store, lease_s
        self.owner = f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:8]}"
        self._held: dict[str, Held] = {}
        self._lock = threading.Lock()
        self._closed = threading.Event()
        self._thread: threading.Thread | None = None

    def hold(self, job_id: str) -> Held:
        """Start renewing a job this owner has claimed."""
        with self._lock:
            held = self._held.setdefault(job_id, Held(job_id))
            if self._thread is None:
                self._thread = threading.Thread(target=self._beat_until_closed, name="rubricate-lease", daemon=True)
                self._thread.start()
        return held

    def drop(self, job_id: str) -> None:
        with self._lock:
            self._held.pop(job_id, None)

    def beat(self) -> None:
        """One heartbeat: renew every lease held; tell each job that was cancelled or lost."""
        with self._lock:
            held = dict(self._held)
        if not held:
            return
        with self.store.write() as session:
            still = Repository(session).renew_leases(self.owner, self.lease_s, list(held))
        for job_id, job in held.items():
            if job_id not in still:
                job.lose()
            elif still[job_id] == "cancelling":
                job.cancel()

    def _beat_until_closed(self) -> None:
        while not self._closed.wait(self.lease_s / 3):
            try:
                self.beat()
            except Exception:  # the next beat tries again; a lease that runs out meanwhile is fenced
                log.exception("heartbeat of %s failed", self.owner)

    def close(self) -> None:
        self._closed.set()
        if self._thread is not None:
            self._thread.join(timeout=10)

    def __enter__(self) -> Leases:
        return self

    def __exit__(self, kind: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None) -> None:
        self.close()
