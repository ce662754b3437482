"""What each role may read in a project (the table is in README.md, "Who can read what").

Blind review is only blind if a reviewer cannot look the answer up, so reviewers read their own work
and the project's counts, never another person's ranking, a judge's verdict, an adjudication, or
any report or file built from them (agreement, disputes, jobs, exports). Viewers, authors and admins
produce no rankings that others' labels could sway, and read them. Non-members get 404 everywhere.

>>> may_read_labels("viewer"), may_read_labels("reviewer")
(True, False)
"""

from __future__ import annotations

from fastapi import HTTPException

from server.api.deps import check_within, project_role
from server.storage import Repository
from server.storage.records import Project
from server.storage.repos.annotators import Person

LABEL_READERS = frozenset({"viewer", "author", "admin"})


def may_read_labels(role: str) -> bool:
    """True for a project role that may read other people's labels and the judges' verdicts."""
    return role in LABEL_READERS


def check_labels(repo: Repository, user: Person, project_id: int, what: str | None = None) -> Project:
    """The project if the caller may read its labels; 404 for non-members, 403 for its reviewers."""
    if what is None:
        project, role = project_role(repo, user, project_id)
    else:
        project = check_within(repo, user, project_id, what)
        _, role = project_role(repo, user, project_id)
    if not may_read_labels(role):
        raise HTTPException(
            403, "reviewers read their own work only; labels, verdicts and reports are for viewers, authors, admins"
        )
    return project
