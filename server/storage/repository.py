"""The only storage API: every read and write of the service goes through `Repository`.

A repository wraps one session (one transaction from `Store.read()` / `Store.write()`); every row it
writes appends an audit event in the same transaction, by the store's flush hook (:mod:`server.storage.audit`).

>>> from server.storage import open_store
>>> store = open_store("sqlite:////tmp/rubricate-repo-doctest.db")
>>> with store.write() as session:
...     repo = Repository(session)
...     project = repo.get_or_create_project("demo")
>>> project.name
'demo'
"""

from __future__ import annotations

import hashlib
import json
import secrets
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from server.storage.audit import operation_event, set_actor
from server.storage.tables import (
    Adjudication,
    Annotator,
    Assignment,
    AuditEvent,
    CacheEntry,
    Job,
    JobError,
    Membership,
    Pair,
    Project,
    Prompt,
    Ranking,
    Response,
    Rubric,
    RubricVersion,
    Verdict,
    utcnow,
)

ROLES = ("admin", "author", "reviewer", "viewer")
TOKEN_PREFIX = "rbk_"


class NotFound(LookupError):
    """The object does not exist, or the caller may not see it."""


class Conflict(ValueError):
    """The write would contradict something already stored."""


def digest(value: Any) -> str:
    """sha256 of a JSON-canonical value: the content address used for idempotent keys.

    >>> digest({"b": 1, "a": [1, 2]}) == digest({"a": [1, 2], "b": 1})
    True
    """
    blob = value if isinstance(value, str) else json.dumps(value, sort_keys=True, separators=(",", ":"))
    return hashlib.sha256(blob.encode()).hexdigest()


def hash_token(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def new_token() -> str:
    return TOKEN_PREFIX + secrets.token_urlsafe(32)


@dataclass(frozen=True)
class PairView:
    """A pair with its prompt, both responses and every label, as the API and exporters read it."""

    pair: Pair
    prompt: Prompt
    response_a: Response
    response_b: Response
    rankings: list[tuple[Ranking, str]]  # (ranking, annotator name)
    verdicts: list[Verdict]
    adjudication: Adjudication | None


class Repository:
    """Queries and writes over one session; callers own the transaction boundaries."""

    def __init__(self, session: Session, actor: Annotator | None = None) -> None:
        self.session = session
        self.actor = actor
        set_actor(session, actor.id if actor else None)

    # --- audit: every row written is audited by the flush hook in server.storage.audit --------
    def record(
        self, action: str, obj: Any, *, project_id: int | None = None, after: dict[str, Any] | None = None
    ) -> None:
        """One summary event for an operation that is more than its rows (an import); rows audit themselves."""
        operation_event(self.session, action, obj, project_id=project_id, after=after)

    def audit_events(self, *, limit: int = 100) -> list[AuditEvent]:
        return list(self.session.scalars(select(AuditEvent).order_by(AuditEvent.id.desc()).limit(limit)))

    # --- annotators -------------------------------------------------------------------------
    def create_annotator(self, name: str, role: str, *, with_token: bool = True) -> tuple[Annotator, str | None]:
        """Create a person; returns the plain token once (only its hash is stored)."""
        if role not in ROLES:
            raise ValueError(f"role: must be one of {', '.join(ROLES)}, got {role!r}")
        if self.session.scalar(select(Annotator).where(Annotator.name == name)):
            raise Conflict(f"annotator {name!r} already exists")
        token = new_token() if with_token else None
        annotator = Annotator(name=name, role=role, token_hash=hash_token(token) if token else None)
        self.session.add(annotator)
        self.session.flush()
        return annotator, token

    def annotator_by_token(self, token: str) -> Annotator | None:
        return self.session.scalar(select(Annotator).where(Annotator.token_hash == hash_token(token)))

    def annotator_by_name(self, name: str) -> Annotator | None:
        return self.session.scalar(select(Annotator).where(Annotator.name == name))

    def list_annotators(self) -> list[Annotator]:
        return list(self.session.scalars(select(Annotator).order_by(Annotator.id)))

    def count_admins(self) -> int:
        return self.session.scalar(select(func.count()).where(Annotator.role == "admin")) or 0

    # --- projects ----------------------------------------------------------------------------
    def create_project(self, name: str, description: str = "", settings: dict[str, Any] | None = None) -> Project:
        if self.session.scalar(select(Project).where(Project.name == name)):
            raise Conflict(f"project {name!r} already exists")
        project = Project(name=name, description=description, settings=settings or {})
        self.session.add(project)
        self.session.flush()
        return project

    def get_or_create_project(self, name: str) -> Project:
        project = self.session.scalar(select(Project).where(Project.name == name))
        return project or self.create_project(name)

    def project_by_name(self, name: str) -> Project:
        project = self.session.scalar(select(Project).where(Project.name == name))
        if project is None:
            raise NotFound(f"project {name!r} not found")
        return project

    def project(self, project_id: int) -> Project:
        project = self.session.get(Project, project_id)
        if project is None:
            raise NotFound(f"project {project_id} not found")
        return project

    def projects_for(self, annotator: Annotator) -> list[Project]:
        """Every project for admins; member projects for everyone else."""
        query = select(Project).order_by(Project.id)
        if annotator.role != "admin":
            query = query.join(Membership).where(Membership.annotator_id == annotator.id)
        return list(self.session.scalars(query))

    def projects_for_all(self) -> list[Project]:
        return list(self.session.scalars(select(Project).order_by(Project.id)))

    def membership(self, project_id: int, annotator_id: int) -> Membership | None:
        return self.session.get(Membership, (project_id, annotator_id))

    def add_member(self, project: Project, annotator: Annotator, role: str | None = None) -> Membership:
        """Give an annotator access to a project (idempotent); the role defaults to theirs."""
        role = role or annotator.role
        if role not in ROLES:
            raise ValueError(f"role: must be one of {', '.join(ROLES)}, got {role!r}")
        existing = self.membership(project.id, annotator.id)
        if existing:
            return existing
        member = Membership(project_id=project.id, annotator_id=annotator.id, role=role)
        self.session.add(member)
        return member

    def members(self, project_id: int) -> list[tuple[Membership, Annotator]]:
        rows = self.session.execute(
            select(Membership, Annotator).join(Annotator).where(Membership.project_id == project_id)
        )
        return [(m, a) for m, a in rows]

    def project_counts(self, project_id: int) -> dict[str, int]:
        """How many of each stored thing a project holds."""

        def count(model: Any) -> int:
            return (
                self.session.scalar(select(func.count()).select_from(model).where(model.project_id == project_id)) or 0
            )

        responses = (
            self.session.scalar(
                select(func.count()).select_from(Response).join(Prompt).where(Prompt.project_id == project_id)
            )
            or 0
        )
        failed = (
            self.session.scalar(
                select(func.count())
                .select_from(Verdict)
                .where(Verdict.project_id == project_id, Verdict.error.is_not(None))
            )
            or 0
        )
        return {
            "prompts": count(Prompt),
            "responses": responses,
            "pairs": count(Pair),
            "rankings": count(Ranking),
            "verdicts": count(Verdict),
            "failed_verdicts": failed,
            "annotators": len(self.members(project_id)),
        }

    # --- prompts, responses, pairs -----------------------------------------------------------
    def prompt_hashes(self, project_id: int) -> dict[str, Prompt]:
        return {p.content_hash: p for p in self.session.scalars(select(Prompt).where(Prompt.project_id == project_id))}

    def add_prompt(
        self,
        project_id: int,
        messages: list[dict[str, str]],
        *,
        is_chat: bool,
        reference: str | None = None,
        meta: dict[str, Any] | None = None,
    ) -> Prompt:
        prompt = Prompt(
            project_id=project_id,
            messages=messages,
            is_chat=is_chat,
            content_hash=digest(messages),
            reference=reference,
            meta=meta or {},
        )
        self.session.add(prompt)
        self.session.flush()
        return prompt

    def responses_by_hash(self, project_id: int) -> dict[tuple[int, str], Response]:
        rows = self.session.scalars(select(Response).join(Prompt).where(Prompt.project_id == project_id))
        return {(r.prompt_id, r.content_hash): r for r in rows}

    def add_response(
        self,
        prompt_id: int,
        text: str,
        *,
        source: str,
        params: dict[str, Any] | None = None,
        usage: dict[str, Any] | None = None,
        meta: dict[str, Any] | None = None,
        job_id: str | None = None,
    ) -> Response:
        response = Response(
            prompt_id=prompt_id,
            text=text,
            source=source,
            content_hash=digest(text),
            params=params or {},
            usage=usage or {},
            meta=meta or {},
            job_id=job_id,
        )
        self.session.add(response)
        self.session.flush()
        return response

    def responses_for_prompt(self, prompt_id: int) -> list[Response]:
        return list(self.session.scalars(select(Response).where(Response.prompt_id == prompt_id).order_by(Response.id)))

    def pair_keys(self, project_id: int) -> dict[str, Pair]:
        return {p.key: p for p in self.session.scalars(select(Pair).where(Pair.project_id == project_id))}

    def add_pair(
        self,
        project_id: int,
        prompt_id: int,
        a: Response,
        b: Response,
        *,
        key: str,
        meta: dict[str, Any] | None = None,
    ) -> Pair:
        if a.prompt_id != prompt_id or b.prompt_id != prompt_id:
            raise ValueError("pair: both responses must answer the pair's prompt")
        pair = Pair(
            project_id=project_id,
            prompt_id=prompt_id,
            response_a_id=a.id,
            response_b_id=b.id,
            key=key,
            meta=meta or {},
        )
        self.session.add(pair)
        self.session.flush()
        return pair

    def prompts(self, project_id: int, *, limit: int | None = None) -> list[Prompt]:
        query = select(Prompt).where(Prompt.project_id == project_id).order_by(Prompt.id)
        return list(self.session.scalars(query.limit(limit) if limit else query))

    def pairs(self, project_id: int, *, offset: int = 0, limit: int | None = None) -> list[Pair]:
        query = select(Pair).where(Pair.project_id == project_id).order_by(Pair.id).offset(offset)
        return list(self.session.scalars(query.limit(limit) if limit else query))

    def pair(self, pair_id: int) -> Pair:
        pair = self.session.get(Pair, pair_id)
        if pair is None:
            raise NotFound(f"pair {pair_id} not found")
        return pair

    def count_pairs(self, project_id: int) -> int:
        return self.session.scalar(select(func.count()).where(Pair.project_id == project_id)) or 0

    def pair_views(self, pairs: Sequence[Pair]) -> list[PairView]:
        """Load prompts, responses and labels for many pairs in a handful of queries."""
        if not pairs:
            return []
        ids = [p.id for p in pairs]
        prompts = {
            p.id: p for p in self.session.scalars(select(Prompt).where(Prompt.id.in_({p.prompt_id for p in pairs})))
        }
        response_ids = {p.response_a_id for p in pairs} | {p.response_b_id for p in pairs}
        responses = {r.id: r for r in self.session.scalars(select(Response).where(Response.id.in_(response_ids)))}
        rankings: dict[int, list[tuple[Ranking, str]]] = {i: [] for i in ids}
        for ranking, name in self.session.execute(
            select(Ranking, Annotator.name).join(Annotator).where(Ranking.pair_id.in_(ids)).order_by(Ranking.id)
        ):
            rankings[ranking.pair_id].append((ranking, name))
        verdicts: dict[int, list[Verdict]] = {i: [] for i in ids}
        for verdict in self.session.scalars(select(Verdict).where(Verdict.pair_id.in_(ids)).order_by(Verdict.id)):
            verdicts[verdict.pair_id].append(verdict)  # type: ignore[index]
        adjudications = {
            a.pair_id: a for a in self.session.scalars(select(Adjudication).where(Adjudication.pair_id.in_(ids)))
        }
        return [
            PairView(
                p,
                prompts[p.prompt_id],
                responses[p.response_a_id],
                responses[p.response_b_id],
                rankings[p.id],
                verdicts[p.id],
                adjudications.get(p.id),
            )
            for p in pairs
        ]

    # --- rankings and verdicts ---------------------------------------------------------------
    def ranking_keys(self, project_id: int) -> set[tuple[int, int]]:
        rows = self.session.execute(
            select(Ranking.pair_id, Ranking.annotator_id).where(Ranking.project_id == project_id)
        )
        return {(p, a) for p, a in rows}

    def add_ranking(self, **fields: Any) -> Ranking:
        ranking = Ranking(**fields)
        self.session.add(ranking)
        return ranking

    def verdict_keys(self, project_id: int) -> set[str]:
        return set(self.session.scalars(select(Verdict.key).where(Verdict.project_id == project_id)))

    def add_verdict(self, **fields: Any) -> Verdict:
        verdict = Verdict(**fields)
        self.session.add(verdict)
        return verdict

    def verdicts(
        self, project_id: int, *, rubric_version_id: int | None = None, job_id: str | None = None
    ) -> list[Verdict]:
        query = select(Verdict).where(Verdict.project_id == project_id)
        if rubric_version_id is not None:
            query = query.where(Verdict.rubric_version_id == rubric_version_id)
        if job_id is not None:
            query = query.where(Verdict.job_id == job_id)
        return list(self.session.scalars(query.order_by(Verdict.id)))

    # --- rubrics ------------------------------------------------------------------------------
    def rubric_version(self, version_id: int) -> RubricVersion | None:
        return self.session.get(RubricVersion, version_id)

    def rubric_versions(self, name: str) -> list[RubricVersion]:
        """Every published version of a rubric, oldest first by publication."""
        return list(
            self.session.scalars(
                select(RubricVersion).join(Rubric).where(Rubric.name == name).order_by(RubricVersion.id)
            )
        )

    def rubric_names(self) -> list[str]:
        return list(self.session.scalars(select(Rubric.name).order_by(Rubric.name)))

    def add_rubric_version(self, name: str, version: str, content: dict[str, Any], content_hash: str) -> RubricVersion:
        """Store a published version (the caller has checked the publish rules)."""
        rubric = self.session.scalar(select(Rubric).where(Rubric.name == name))
        if rubric is None:
            rubric = Rubric(name=name)
            self.session.add(rubric)
            self.session.flush()
        row = RubricVersion(
            rubric_id=rubric.id,
            version=version,
            content=content,
            content_hash=content_hash,
            published_by=self.actor.id if self.actor else None,
        )
        self.session.add(row)
        self.session.flush()
        return row

    # --- review: assignments, rankings, adjudications ----------------------------------------
    def lock_project(self, project_id: int) -> Project:
        """Serialise assignment-making per project: a row lock on PostgreSQL; SQLite's IMMEDIATE write
        transaction already holds the database's one write lock."""
        project = self.session.scalar(select(Project).where(Project.id == project_id).with_for_update())
        if project is None:
            raise NotFound(f"project {project_id} not found")
        return project

    def pending_assignment(self, project_id: int, annotator_id: int) -> Assignment | None:
        return self.session.scalar(
            select(Assignment)
            .where(
                Assignment.project_id == project_id,
                Assignment.annotator_id == annotator_id,
                Assignment.status == "pending",
            )
            .order_by(Assignment.id)
            .limit(1)
        )

    def assignment(self, assignment_id: int) -> Assignment:
        assignment = self.session.get(Assignment, assignment_id)
        if assignment is None:
            raise NotFound(f"assignment {assignment_id} not found")
        return assignment

    def next_open_pair(self, project_id: int, annotator_id: int, overlap: int, *, gold: bool) -> Pair | None:
        """The first pair this annotator has not been given that still needs reviewers.

        Pairs closest to their `overlap` are served first so that finished pairs accumulate; gold pairs
        have no overlap limit (every reviewer may see them).
        """
        taken = (
            select(Assignment.pair_id, func.count().label("n"))
            .where(Assignment.project_id == project_id, Assignment.status != "skipped")
            .group_by(Assignment.pair_id)
            .subquery()
        )
        mine = select(Assignment.pair_id).where(Assignment.annotator_id == annotator_id)
        count = func.coalesce(taken.c.n, 0)
        query = (
            select(Pair)
            .outerjoin(taken, taken.c.pair_id == Pair.id)
            .where(Pair.project_id == project_id, Pair.is_gold.is_(gold), Pair.id.not_in(mine))
        )
        if not gold:
            query = query.where(count < overlap)
        return self.session.scalar(query.order_by(count.desc(), Pair.id).limit(1))

    def add_assignment(self, **fields: Any) -> Assignment:
        assignment = Assignment(**fields)
        self.session.add(assignment)
        self.session.flush()
        return assignment

    def assignment_progress(self, project_id: int, annotator_id: int) -> dict[str, int]:
        rows = self.session.execute(
            select(Assignment.status, func.count())
            .where(Assignment.project_id == project_id, Assignment.annotator_id == annotator_id)
            .group_by(Assignment.status)
        )
        return {status: n for status, n in rows}

    def ranking_by_key(self, key: str) -> Ranking | None:
        return self.session.scalar(select(Ranking).where(Ranking.idempotency_key == key))

    def ranking_for(self, pair_id: int, annotator_id: int) -> Ranking | None:
        return self.session.scalar(
            select(Ranking).where(Ranking.pair_id == pair_id, Ranking.annotator_id == annotator_id)
        )

    def rankings(self, project_id: int) -> list[Ranking]:
        return list(self.session.scalars(select(Ranking).where(Ranking.project_id == project_id).order_by(Ranking.id)))

    def count_open_pairs(self, project_id: int, overlap: int) -> int:
        """Non-gold pairs that still need reviewers."""
        taken = (
            select(Assignment.pair_id, func.count().label("n"))
            .where(Assignment.project_id == project_id, Assignment.status != "skipped")
            .group_by(Assignment.pair_id)
            .subquery()
        )
        return (
            self.session.scalar(
                select(func.count())
                .select_from(Pair)
                .outerjoin(taken, taken.c.pair_id == Pair.id)
                .where(Pair.project_id == project_id, Pair.is_gold.is_(False), func.coalesce(taken.c.n, 0) < overlap)
            )
            or 0
        )

    def set_adjudication(self, pair: Pair, annotator: Annotator, outcome: str, note: str) -> Adjudication:
        existing = self.session.scalar(select(Adjudication).where(Adjudication.pair_id == pair.id))
        if existing:
            existing.outcome, existing.note, existing.annotator_id = outcome, note, annotator.id
            adjudication = existing
        else:
            adjudication = Adjudication(pair_id=pair.id, annotator_id=annotator.id, outcome=outcome, note=note)
            self.session.add(adjudication)
        self.session.flush()
        return adjudication

    def set_gold(self, pair: Pair, outcome: str | None) -> Pair:
        pair.is_gold, pair.gold_outcome = outcome is not None, outcome
        return pair

    def update_project_settings(self, project: Project, changes: dict[str, Any]) -> Project:
        before = dict(project.settings)
        project.settings = {**before, **changes}
        return project

    # --- LLM cache ---------------------------------------------------------------------------
    def cache_get(self, key: str) -> dict[str, Any] | None:
        entry = self.session.get(CacheEntry, key)
        return entry.value if entry else None

    def cache_put(self, key: str, value: dict[str, Any]) -> None:
        if self.session.get(CacheEntry, key) is None:
            self.session.add(CacheEntry(key=key, value=value))

    def responses_from(self, prompt_id: int, source: str) -> list[Response]:
        return list(
            self.session.scalars(
                select(Response).where(Response.prompt_id == prompt_id, Response.source == source).order_by(Response.id)
            )
        )

    def verdicts_by_key(self, keys: Sequence[str]) -> dict[str, Verdict]:
        if not keys:
            return {}
        return {v.key: v for v in self.session.scalars(select(Verdict).where(Verdict.key.in_(keys)))}

    def verdict_versions(self, project_id: int) -> list[tuple[str, int | None, int]]:
        """(judge, rubric version id, newest verdict id) per judge and version of a project's pairwise verdicts."""
        rows = self.session.execute(
            select(Verdict.judge_model, Verdict.rubric_version_id, func.max(Verdict.id))
            .where(Verdict.project_id == project_id, Verdict.kind == "pairwise")
            .group_by(Verdict.judge_model, Verdict.rubric_version_id)
        )
        return [(judge, version, newest) for judge, version, newest in rows]

    # --- jobs --------------------------------------------------------------------------------
    def create_job(self, job_id: str, kind: str, project_id: int | None, params: dict[str, Any], total: int = 0) -> Job:
        job = Job(
            id=job_id,
            kind=kind,
            project_id=project_id,
            params=params,
            total=total,
            created_by=self.actor.id if self.actor else None,
        )
        self.session.add(job)
        self.session.flush()
        return job

    def job(self, job_id: str) -> Job:
        job = self.session.get(Job, job_id)
        if job is None:
            raise NotFound(f"job {job_id!r} not found")
        return job

    def update_job(self, job_id: str, **fields: Any) -> Job:
        job = self.job(job_id)
        for name, value in fields.items():
            setattr(job, name, value)
        job.updated_at = utcnow()
        return job

    def add_job_error(self, job_id: str, item: str, error: str) -> None:
        self.session.add(JobError(job_id=job_id, item=item, error=error))

    def job_errors(self, job_id: str) -> list[JobError]:
        return list(self.session.scalars(select(JobError).where(JobError.job_id == job_id).order_by(JobError.id)))

    def jobs(self, project_id: int | None = None) -> list[Job]:
        query = select(Job).order_by(Job.created_at.desc())
        if project_id is not None:
            query = query.where(Job.project_id == project_id)
        return list(self.session.scalars(query))

    # --- agreement: the labels of many pairs without texts, raw output or usage -------------
    def response_lengths(self, pairs: Sequence[Pair]) -> dict[int, tuple[int, int]]:
        """Characters in each pair's two responses (pair id → (a, b)), counted by the database."""
        ids = {p.response_a_id for p in pairs} | {p.response_b_id for p in pairs}
        rows = self.session.execute(select(Response.id, func.length(Response.text)).where(Response.id.in_(ids)))
        lengths = {response_id: length for response_id, length in rows}
        return {p.id: (lengths[p.response_a_id], lengths[p.response_b_id]) for p in pairs}

    def ranking_rows(self, pair_ids: Sequence[int]) -> list[Any]:
        """Rankings of these pairs in id order: pair, annotator name, outcome, criteria, rubric, mode, time."""
        query = (
            select(
                Ranking.pair_id,
                Annotator.name.label("annotator"),
                Ranking.outcome,
                Ranking.criteria,
                Ranking.rubric_version_id,
                Ranking.mode,
                Ranking.seconds,
                Ranking.created_at,
            )
            .join(Annotator, Annotator.id == Ranking.annotator_id)
            .where(Ranking.pair_id.in_(pair_ids))
            .order_by(Ranking.id)
        )
        return list(self.session.execute(query))

    def verdict_rows(self, pair_ids: Sequence[int]) -> list[Any]:
        """Verdicts of these pairs in id order, without raw output, rationale, parameters or usage."""
        query = (
            select(
                Verdict.id,
                Verdict.pair_id,
                Verdict.judge_model,
                Verdict.kind,
                Verdict.order,
                Verdict.outcome,
                Verdict.criteria,
                Verdict.error.is_not(None).label("failed"),
                Verdict.rubric_version_id,
                Verdict.created_at,
                Verdict.confidence,  # routing's stated / imported confidence signal
                Verdict.source,
            )
            .where(Verdict.pair_id.in_(pair_ids))
            .order_by(Verdict.id)
        )
        return list(self.session.execute(query))

    def adjudicated_outcomes(self, pair_ids: Sequence[int]) -> dict[int, str]:
        """Adjudicated outcome per pair id, for the pairs that have one."""
        rows = self.session.execute(
            select(Adjudication.pair_id, Adjudication.outcome).where(Adjudication.pair_id.in_(pair_ids))
        )
        return {pair_id: outcome for pair_id, outcome in rows}
