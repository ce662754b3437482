"""Rankings, verdicts and adjudications: the labels on pairs.

Part of :class:`server.storage.repository.Repository`, over its one session.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import func, select

from server.storage.repos.annotators import Person
from server.storage.repos.base import NotFound, UnitOfWork
from server.storage.tables import (
    Adjudication,
    Annotator,
    Pair,
    Ranking,
    Verdict,
    utcnow,
)


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
    ) -> Ranking:
        """Store an annotator's ranking of a pair (outcome in the pair's canonical order)."""
        ranking = Ranking(
            project_id=project_id, pair_id=pair_id, annotator_id=annotator_id, outcome=outcome,
            assignment_id=assignment_id, rubric_version_id=rubric_version_id, strength=strength,
            criteria=criteria or {}, rationale=rationale, confidence=confidence, mode=mode, seconds=seconds,
            source=source, idempotency_key=idempotency_key, created_at=created_at or utcnow(),
        )  # fmt: skip
        self.session.add(ranking)
        return ranking

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
    ) -> Verdict:
        """Store a judge's verdict in one presentation order (a failed one has `error` and no outcome)."""
        verdict = Verdict(
            key=key, project_id=project_id, pair_id=pair_id, judge_model=judge_model, order=order, outcome=outcome,
            rubric_version_id=rubric_version_id, kind=kind, criteria=criteria or {}, confidence=confidence,
            probabilities=probabilities, rationale=rationale, raw=raw, error=error, params=params or {},
            usage=usage or {}, meta=meta or {}, latency_s=latency_s, source=source, job_id=job_id,
            created_at=created_at or utcnow(),
        )  # fmt: skip
        self.session.add(verdict)
        return verdict

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
    ) -> Verdict:
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

    def ranking_by_key(self, key: str) -> Ranking | None:
        return self.session.scalar(select(Ranking).where(Ranking.idempotency_key == key))

    def ranking_for(self, pair_id: int, annotator_id: int) -> Ranking | None:
        return self.session.scalar(
            select(Ranking).where(Ranking.pair_id == pair_id, Ranking.annotator_id == annotator_id)
        )

    def rankings(self, project_id: int) -> list[Ranking]:
        return list(self.session.scalars(select(Ranking).where(Ranking.project_id == project_id).order_by(Ranking.id)))

    def set_adjudication(
        self, pair: Pair, annotator: Person, outcome: str, note: str, reason: str | None = None
    ) -> Adjudication:
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
        return adjudication

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
