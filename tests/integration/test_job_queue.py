"""The durable job queue on real SQLite and real PostgreSQL: one active job per identical request, held
by the database across engines (as across processes); exclusive claims; leases that run out are taken
over, and the worker that lost one is fenced off; cancellation."""

from __future__ import annotations

import threading
from collections import Counter
from collections.abc import Callable
from typing import Any

import pytest

from server.storage import Conflict, Repository, Store
from server.storage.repos.job_queue import JobCounts, LeaseLost
from server.storage.tables import Job


def at_once(store: Store, callers: int, call: Callable[[Repository], Any]) -> list[Any]:
    """`call` from `callers` threads, each on its own engine (its own connections, like a process), at once;
    each repeats it while it returns a str (a claimed job id), and every result is kept."""
    results: list[Any] = []
    barrier = threading.Barrier(callers)

    def one() -> None:
        own = Store(store.url)
        barrier.wait()
        try:
            while True:
                with own.write() as session:
                    result = call(Repository(session))
                results.append(result)
                if result is None or not isinstance(result, str):
                    break
        finally:
            own.dispose()

    threads = [threading.Thread(target=one) for _ in range(callers)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)
    return results


def submit(repo: Repository, n: int = 0, **kwargs: Any) -> Any:
    params = {"rubric": "hhh@1.0.0", "limit": n}
    return repo.submit_job("judge", None, params, {"rubric": "hhh@1.0.0", "limit": n or None}, **kwargs)


def jobs(store: Store) -> list[Job]:
    with store.read() as session:
        return list(session.query(Job).order_by(Job.created_at))


def test_identical_requests_at_once_make_one_job_and_a_finished_one_makes_room(store: Store) -> None:
    made = at_once(store, 6, lambda repo: submit(repo, 1))
    assert len({m.id for m in made}) == 1 and sum(m.created for m in made) == 1
    assert len(jobs(store)) == 1 and jobs(store)[0].status == "queued"
    job_id = made[0].id
    with store.write() as session:
        repo = Repository(session)
        assert repo.claim_job(job_id, "w1", 30.0)
        repo.end_lease(job_id, "w1", "interrupted", JobCounts(total=1, done=0, failed=0))
    with store.write() as session:
        again = submit(Repository(session), 1)
    assert (again.id, again.created, again.status) == (job_id, False, "queued")  # asked again: resumed
    with store.write() as session:
        repo = Repository(session)
        assert repo.claim_next("w1", 30.0, ("judge",)) == job_id
        repo.end_lease(job_id, "w1", "done", JobCounts(total=1, done=1, failed=0))
    with store.write() as session:
        fresh = submit(Repository(session), 1)
    assert fresh.created and fresh.id != job_id and len(jobs(store)) == 2


def test_claims_are_exclusive_and_a_run_out_lease_is_taken_over_and_fenced(store: Store) -> None:
    with store.write() as session:
        repo = Repository(session)
        queued = {submit(repo, n).id for n in range(1, 9)}
    claims = at_once(store, 4, lambda repo: repo.claim_next(f"w{threading.get_ident()}", 30.0, ("judge",)))
    claimed = [c for c in claims if c is not None]
    assert sorted(claimed) == sorted(queued)  # every job claimed, none twice
    owners = Counter(job.lease_owner for job in jobs(store))
    assert sum(owners.values()) == 8 and all(job.status == "running" and job.attempts == 1 for job in jobs(store))

    first = jobs(store)[0]
    with store.write() as session:
        repo = Repository(session)
        assert repo.claim_next("late", 30.0, ("judge",)) is None  # every lease is live
        assert repo.renew_leases(first.lease_owner, -1.0)  # that worker's leases run out (it "died")
    with store.write() as session:
        repo = Repository(session)
        taken = repo.claim_next("late", 30.0, ("judge",))
    assert taken == first.id
    with store.read() as session:
        job = Repository(session).job(first.id)
        assert (job.lease_owner, job.attempts, job.status) == ("late", 2, "running")
    with pytest.raises(LeaseLost), store.write() as session:
        # the old worker writes nothing
        Repository(session).record_progress(first.id, first.lease_owner, JobCounts(total=1, done=1, failed=0))
    with store.write() as session:
        assert first.id not in Repository(session).renew_leases(first.lease_owner, 30.0)


def test_cancel_a_queued_job_at_once_a_running_one_through_its_worker(store: Store) -> None:
    with store.write() as session:
        repo = Repository(session)
        waiting, running = submit(repo, 1).id, submit(repo, 2, owner="w1").id
    with store.write() as session:
        repo = Repository(session)
        assert repo.cancel_job(waiting).status == "cancelled"
        assert repo.cancel_job(running).status == "cancelling"
        assert repo.renew_leases("w1", 30.0) == {running: "cancelling"}  # the heartbeat tells the worker
        with pytest.raises(Conflict, match="already cancelled"):
            repo.cancel_job(waiting)
    with store.write() as session:
        assert Repository(session).end_lease(running, "w1", "interrupted").status == "cancelled"
    with store.write() as session:
        repo = Repository(session)
        orphan = submit(repo, 3, owner="w2").id
        repo.cancel_job(orphan)
        repo.renew_leases("w2", -1.0)  # its worker died while cancelling
    with store.write() as session:
        assert Repository(session).claim_next("w3", 30.0, ("judge",)) is None  # nothing to run: it is swept
    assert {job.id: job.status for job in jobs(store)}[orphan] == "cancelled"
