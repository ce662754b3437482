"""Rankings, verdicts and adjudications: the labels on pairs.

Part of :class:`server.storage.repository.Repository`, over its one session; reads return frozen records
(:mod:`server.storage.records`). `add_ranking` and `add_verdict` return nothing: imports call them by the
thousand and their rows are flushed together; read one back with `ranking_for` or `verdicts_by_key`. A
review turn's ranking is one Core insert instead (`add_review_ranking`, audited through
:func:`server.storage.audit.written`): one row per click, where a flush costs more than the turn.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import Text, and_, bindparam, func, insert, or_, select, type_coerce
from sqlalchemy.orm import aliased

from server.storage import records
from server.storage.audit import append_events, written
from server.storage.repos.annotators import Person
from server.storage.repos.base import NotFound, UnitOfWork
from server.storage.tables import (
    Adjudication,
    Annotator,
    Pair,
    Ranking,
    Response,
    Verdict,
    utcnow,
)

_R = Ranking.__table__
_FOR = select(_R).where(_R.c.pair_id == bindparam("pair"), _R.c.annotator_id == bindparam("annotator"))
_ANSWERS = select(_R).where(
    or_(
        _R.c.idempotency_key == bindparam("key"),
        and_(_R.c.pair_id == bindparam("pair"), _R.c.annotator_id == bindparam("annotator")),
    )
)
_ADD_RANKING = insert(_R).returning(*_R.c)
Answer = records.Ranking | None


def _decoded(value: Any, seen: dict[str, Any] | None = None) -> Any:
    """A JSON column read as text, decoded (PostgreSQL's driver hands it over decoded already).

    With `seen`, equal texts decode to one shared object: label criteria repeat a handful of values over
    millions of rows. The records built from them are frozen, so sharing is safe.
    """
    if not isinstance(value, str):
        return value
    if seen is None:
        return json.loads(value)
    found = seen.get(value)
    if found is None:
        found = seen[value] = json.loads(value)
    return found


class Labels(UnitOfWork):
    """Rankings, verdicts and adjudications: the labels on pairs."""

    def ranking_keys(self, project_id: int) -> set[tuple[int, int]]:
        rows = self.session.execute(
            select(Ranking.pair_id, Ranking.annotator_id).where(Ranking.project_id == project_id)
        )
        return {(p, a) for p, a in rows}

    def add_ranking(
        self,
        *,
        project_id: int,
        pair_id: int,
        annotator_id: int,
        outcome: str,
        assignment_id: int | None = None,
        rubric_version_id: int | None = None,
        strength: int | None = None,
        criteria: dict[str, str] | None = None,
        rationale: str | None = None,
        confidence: int | None = None,
        mode: str | None = None,
        seconds: float | None = None,
        source: str = "review",
        idempotency_key: str | None = None,
        created_at: datetime | None = None,
    ) -> None:
        """Store an annotator's ranking of a pair (outcome in the pair's canonical order)."""
        ranking = Ranking(
            project_id=project_id, pair_id=pair_id, annotator_id=annotator_id, outcome=outcome,
            assignment_id=assignment_id, rubric_version_id=rubric_version_id, strength=strength,
            criteria=criteria or {}, rationale=rationale, confidence=confidence, mode=mode, seconds=seconds,
            source=source, idempotency_key=idempotency_key, created_at=created_at or utcnow(),
        )  # fmt: skip
        self.session.add(ranking)

    def failed_verdict_kinds(self, project_id: int, judge_model: str | None = None) -> dict[str, int]:
        """How many of a project's verdicts failed, by error kind (`timeout`, `incomplete`, …)."""
        query = (
            select(Verdict.meta)
            .join(Pair, Pair.id == Verdict.pair_id)
            .where(Pair.project_id == project_id, Verdict.outcome.is_(None))
        )
        if judge_model is not None:
            query = query.where(Verdict.judge_model == judge_model)
        kinds: dict[str, int] = {}
        for (meta,) in self.session.execute(query):
            kind = str((meta or {}).get("error_kind"))
            kinds[kind] = kinds.get(kind, 0) + 1
        return kinds

    def verdict_keys(self, project_id: int) -> set[str]:
        return set(self.session.scalars(select(Verdict.key).where(Verdict.project_id == project_id)))

    def add_verdict(
        self,
        *,
        key: str,
        project_id: int,
        pair_id: int | None,
        judge_model: str,
        order: str | None = "ab",
        outcome: str | None = None,
        rubric_version_id: int | None = None,
        kind: str = "pairwise",
        criteria: dict[str, Any] | None = None,
        confidence: float | None = None,
        probabilities: dict[str, float] | None = None,
        rationale: str | None = None,
        raw: str | None = None,
        error: str | None = None,
        params: dict[str, Any] | None = None,
        usage: dict[str, Any] | None = None,
        meta: dict[str, Any] | None = None,
        latency_s: float | None = None,
        source: str = "job",
        job_id: str | None = None,
        created_at: datetime | None = None,
    ) -> None:
        """Store a judge's verdict in one presentation order (a failed one has `error` and no outcome)."""
        verdict = Verdict(
            key=key, project_id=project_id, pair_id=pair_id, judge_model=judge_model, order=order, outcome=outcome,
            rubric_version_id=rubric_version_id, kind=kind, criteria=criteria or {}, confidence=confidence,
            probabilities=probabilities, rationale=rationale, raw=raw, error=error, params=params or {},
            usage=usage or {}, meta=meta or {}, latency_s=latency_s, source=source, job_id=job_id,
            created_at=created_at or utcnow(),
        )  # fmt: skip
        self.session.add(verdict)

    def replace_verdict(
        self,
        verdict_id: int,
        *,
        job_id: str,
        outcome: str | None,
        criteria: dict[str, Any],
        confidence: float | None,
        rationale: str | None,
        raw: str | None,
        error: str | None,
        params: dict[str, Any],
        usage: dict[str, Any],
        latency_s: float | None,
        meta: dict[str, Any],
        probabilities: dict[str, float] | None = None,
    ) -> records.Verdict:
        """Overwrite a failed verdict with a new answer to the same question (same natural key): the answer
        changes, never what was asked (pair, judge, order, rubric version)."""
        verdict = self.session.get(Verdict, verdict_id)
        if verdict is None:
            raise NotFound(f"verdict {verdict_id} not found")
        verdict.outcome, verdict.criteria, verdict.confidence, verdict.rationale = (
            outcome,
            criteria,
            confidence,
            rationale,
        )
        verdict.raw, verdict.error, verdict.params, verdict.usage = raw, error, params, usage
        verdict.latency_s, verdict.meta, verdict.job_id = latency_s, meta, job_id
        verdict.probabilities = probabilities
        self.session.flush()
        return records.Verdict.of(verdict)

    def verdicts(
        self, project_id: int, *, rubric_version_id: int | None = None, job_id: str | None = None
    ) -> list[records.Verdict]:
        query = select(Verdict).where(Verdict.project_id == project_id)
        if rubric_version_id is not None:
            query = query.where(Verdict.rubric_version_id == rubric_version_id)
        if job_id is not None:
            query = query.where(Verdict.job_id == job_id)
        return [records.Verdict.of(v) for v in self.session.scalars(query.order_by(Verdict.id))]

    def verdicts_by_key(self, keys: Sequence[str]) -> dict[str, records.Verdict]:
        if not keys:
            return {}
        return {
            v.key: records.Verdict.of(v) for v in self.session.scalars(select(Verdict).where(Verdict.key.in_(keys)))
        }

    def verdict_versions(self, project_id: int) -> list[tuple[str, int | None, int]]:
        """(judge, rubric version id, newest verdict id) per judge and version of a project's pairwise verdicts."""
        rows = self.session.execute(
            select(Verdict.judge_model, Verdict.rubric_version_id, func.max(Verdict.id))
            .where(Verdict.project_id == project_id, Verdict.kind == "pairwise")
            .group_by(Verdict.judge_model, Verdict.rubric_version_id)
        )
        return [(judge, version, newest) for judge, version, newest in rows]

    def ranking_for(self, pair_id: int, annotator_id: int) -> records.Ranking | None:
        row = self.session.execute(_FOR, {"pair": pair_id, "annotator": annotator_id}).first()
        return records.Ranking.of_optional(row)

    def answers_to(self, key: str, pair_id: int, annotator_id: int) -> tuple[Answer, Answer]:
        """(the ranking stored with Idempotency-Key `key`, the annotator's ranking of the pair), in one read."""
        params = {"key": key, "pair": pair_id, "annotator": annotator_id}
        rows = [records.Ranking.of(row) for row in self.session.execute(_ANSWERS, params)]
        by_key = next((r for r in rows if r.idempotency_key == key), None)
        mine = next((r for r in rows if r.pair_id == pair_id and r.annotator_id == annotator_id), None)
        return by_key, mine

    def add_review_ranking(self, **values: Any) -> records.Ranking:
        """Store a reviewer's ranking (the columns of `rankings` by name) and its audit event; the stored row."""
        row = self.session.execute(_ADD_RANKING, {"criteria": {}, "source": "review"} | values).one()
        append_events(self.session, [written(self.session, "rankings", row)])
        return records.Ranking.of(row)

    def rankings(self, project_id: int) -> list[records.Ranking]:
        rows = self.session.scalars(select(Ranking).where(Ranking.project_id == project_id).order_by(Ranking.id))
        return [records.Ranking.of(r) for r in rows]

    def set_adjudication(
        self, pair: records.Pair, annotator: Person, outcome: str, note: str, reason: str | None = None
    ) -> records.Adjudication:
        existing = self.session.scalar(select(Adjudication).where(Adjudication.pair_id == pair.id))
        if existing:
            existing.outcome, existing.note, existing.annotator_id = outcome, note, annotator.id
            existing.reason = reason
            adjudication = existing
        else:
            adjudication = Adjudication(
                pair_id=pair.id, annotator_id=annotator.id, outcome=outcome, note=note, reason=reason
            )
            self.session.add(adjudication)
        self.session.flush()
        return records.Adjudication.of(adjudication)

    def adjudication_reasons(self, project_id: int) -> list[tuple[int, str | None]]:
        """(pair id, typed reason) of every adjudication in a project (null: none given)."""
        rows = self.session.execute(
            select(Adjudication.pair_id, Adjudication.reason)
            .join(Pair, Pair.id == Adjudication.pair_id)
            .where(Pair.project_id == project_id)
            .order_by(Adjudication.id)
        )
        return [(pair_id, reason) for pair_id, reason in rows]

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
                Verdict.probabilities,  # routing's logprob signal
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

    # --- a whole project's labels as plain tuples: one query each, no ORM rows (agreement at scale) -----

    def pair_label_columns(self, project_id: int) -> list[tuple[Any, ...]]:
        """(id, key, is_gold, gold outcome, length of a, length of b, adjudicated outcome) per pair, in id order."""
        a, b = aliased(Response), aliased(Response)
        query = (
            select(Pair.id, Pair.key, Pair.is_gold, Pair.gold_outcome, func.length(a.text), func.length(b.text),
                   Adjudication.outcome)
            .join(a, a.id == Pair.response_a_id)
            .join(b, b.id == Pair.response_b_id)
            .outerjoin(Adjudication, Adjudication.pair_id == Pair.id)
            .where(Pair.project_id == project_id)
            .order_by(Pair.id)
        )  # fmt: skip
        return [tuple(row) for row in self.session.connection().execute(query)]

    def ranking_columns(self, project_id: int) -> list[tuple[Any, ...]]:
        """(pair id, annotator name, outcome, criteria, rubric version id, mode, seconds, created at) per
        ranking of a project, in id order."""
        names = dict(self.session.execute(select(Annotator.id, Annotator.name)).all())
        query = (
            select(Ranking.pair_id, Ranking.annotator_id, Ranking.outcome, type_coerce(Ranking.criteria, Text),
                   Ranking.rubric_version_id, Ranking.mode, Ranking.seconds, Ranking.created_at)
            .where(Ranking.project_id == project_id)
            .order_by(Ranking.id)
        )  # fmt: skip
        seen: dict[str, Any] = {}
        return [
            (pair, names[who], outcome, _decoded(criteria, seen), version, mode, seconds, created)
            for pair, who, outcome, criteria, version, mode, seconds, created in self.session.connection().execute(
                query
            )
        ]

    def pairwise_verdict_columns(self, project_id: int) -> list[tuple[Any, ...]]:
        """(id, pair id, judge, order, outcome, criteria, failed, rubric version id, created at, confidence,
        probabilities, source) per pairwise verdict of a project, in id order (no raw output, usage, text)."""
        query = (
            select(Verdict.id, Verdict.pair_id, Verdict.judge_model, Verdict.order, Verdict.outcome,
                   type_coerce(Verdict.criteria, Text), Verdict.error.is_not(None), Verdict.rubric_version_id,
                   Verdict.created_at, Verdict.confidence, type_coerce(Verdict.probabilities, Text), Verdict.source)
            .where(Verdict.project_id == project_id, Verdict.kind == "pairwise", Verdict.pair_id.is_not(None))
            .order_by(Verdict.id)
        )  # fmt: skip
        seen: dict[str, Any] = {}
        return [
            (*row[:5], _decoded(row[5], seen), bool(row[6]), *row[7:10], _decoded(row[10]), row[11])
            for row in self.session.connection().execute(query)
        ]
