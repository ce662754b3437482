"""The only storage API: every read and write of the service goes through `Repository`.

A repository wraps one session (one transaction from `Store.read()` / `Store.write()`). Its reads return
frozen records (:mod:`server.storage.records`: the tables' column names, assignment raises), never live ORM
rows, so changing stored data always goes through one of its typed write methods; every row such a method
writes appends an audit event in the same transaction, by the store's flush hook (:mod:`server.storage.audit`).

>>> from server.storage import open_store
>>> import tempfile
>>> store = open_store(f"sqlite:///{tempfile.mkdtemp(prefix='rubricate-repo-')}/rubricate.db")
>>> with store.write() as session:
...     repo = Repository(session)
...     project = repo.get_or_create_project("demo")
>>> project.name
'demo'
>>> project.name = "renamed"
Traceback (most recent call last):
...
dataclasses.FrozenInstanceError: cannot assign to field 'name'
"""

from __future__ import annotations

from server.storage.records import PairView
from server.storage.repos.annotators import Annotators
from server.storage.repos.assignments import Assignments
from server.storage.repos.base import (
    ROLES,
    TOKEN_PREFIX,
    Conflict,
    NotFound,
    UnitOfWork,
    digest,
    hash_token,
    new_token,
)
from server.storage.repos.job_queue import JobQueue
from server.storage.repos.jobs import Jobs
from server.storage.repos.labels import Labels
from server.storage.repos.pairs import Pairs
from server.storage.repos.projects import Projects
from server.storage.repos.rate_windows import RateWindows
from server.storage.repos.reports import Reports
from server.storage.repos.rubrics import Rubrics
from server.storage.repos.scores import Scores


class Repository(
    Annotators, Projects, Pairs, Labels, Scores, Assignments, Rubrics, Jobs, JobQueue, Reports, RateWindows
):
    """Queries and writes over one session, by aggregate; callers own the transaction boundaries."""


__all__ = [
    "ROLES",
    "TOKEN_PREFIX",
    "Annotators",
    "Assignments",
    "Conflict",
    "Jobs",
    "Labels",
    "NotFound",
    "PairView",
    "Pairs",
    "Projects",
    "RateWindows",
    "Reports",
    "Repository",
    "Rubrics",
    "Scores",
    "UnitOfWork",
    "digest",
    "hash_token",
    "new_token",
]
