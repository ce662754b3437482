"""Pointwise labels on responses: judges' scores (verdicts of kind ``pointwise``) and people's (``scores``).

Part of :class:`server.storage.repository.Repository`, over its one session. A judge's score is a
verdict row (same natural key, provenance and failure record as a pairwise verdict), found by its
response; a person's score is a :class:`~server.storage.tables.Score` row, one per (response,
annotator, rubric version).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import asdict, dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy import select

from server.storage import records
from server.storage.repos.base import NotFound, UnitOfWork
from server.storage.tables import Annotator, Prompt, Response, Score, Verdict, utcnow


@dataclass(frozen=True)
class ScoreAnswer:
    """What a judge answered when asked to score one response: the part of its verdict a re-run replaces."""

    scores: dict[str, int]  # criterion (and "overall") -> level; empty when it failed
    rationale: str | None = None
    raw: str | None = None
    error: str | None = None
    params: dict[str, Any] = field(default_factory=dict)
    usage: dict[str, Any] = field(default_factory=dict)
    latency_s: float | None = None
    meta: dict[str, Any] = field(default_factory=dict)


class Scores(UnitOfWork):
    """Pointwise labels on responses: judges' scores and people's."""

    def scorable_responses(
        self, project_id: int, *, limit: int | None = None
    ) -> list[tuple[records.Response, records.Prompt]]:
        """A project's responses with their prompts, in id order (the first `limit`)."""
        query = (
            select(Response, Prompt)
            .join(Prompt, Prompt.id == Response.prompt_id)
            .where(Prompt.project_id == project_id)
            .order_by(Response.id)
        )
        rows = self.session.execute(query.limit(limit) if limit else query)
        return [(records.Response.of(r), records.Prompt.of(p)) for r, p in rows]

    def add_pointwise_verdict(
        self,
        *,
        key: str,
        project_id: int,
        response_id: int,
        rubric_version_id: int,
        judge_model: str,
        job_id: str,
        answer: ScoreAnswer,
    ) -> None:
        """Store a judge's score of one response (failed: `error` set, `scores` empty)."""
        verdict = Verdict(
            key=key, project_id=project_id, pair_id=None, response_id=response_id, order=None, outcome=None,
            rubric_version_id=rubric_version_id, judge_model=judge_model, kind="pointwise", source="job",
            job_id=job_id, created_at=utcnow(), criteria={}, **asdict(answer),
        )  # fmt: skip
        self.session.add(verdict)

    def replace_pointwise_verdict(self, verdict_id: int, *, job_id: str, answer: ScoreAnswer) -> None:
        """Overwrite a failed score with a new answer to the same question (same natural key): the answer
        changes, never what was asked (response, judge, rubric version)."""
        verdict = self.session.get(Verdict, verdict_id)
        if verdict is None or verdict.kind != "pointwise":
            raise NotFound(f"pointwise verdict {verdict_id} not found")
        for name, value in asdict(answer).items():
            setattr(verdict, name, value)
        verdict.job_id = job_id

    def pointwise_verdict_rows(self, project_id: int) -> list[Any]:
        """A project's pointwise verdicts in id order, without raw output, parameters or usage."""
        query = (
            select(
                Verdict.id,
                Verdict.response_id,
                Verdict.judge_model,
                Verdict.scores,
                Verdict.error.is_not(None).label("failed"),
                Verdict.rubric_version_id,
                Verdict.created_at,
            )
            .where(Verdict.project_id == project_id, Verdict.kind == "pointwise")
            .order_by(Verdict.id)
        )
        return list(self.session.execute(query))

    def score_keys(self, project_id: int) -> set[tuple[int, int, int]]:
        """(response, annotator, rubric version) of every person's score in the project."""
        rows = self.session.execute(
            select(Score.response_id, Score.annotator_id, Score.rubric_version_id).where(Score.project_id == project_id)
        )
        return {(r, a, v) for r, a, v in rows}

    def add_score(
        self,
        *,
        project_id: int,
        response_id: int,
        annotator_id: int,
        rubric_version_id: int,
        criteria: dict[str, int],
        overall: int | None = None,
        rationale: str | None = None,
        source: str = "import",
        created_at: datetime | None = None,
    ) -> None:
        """Store a person's scores of one response under one rubric version."""
        score = Score(
            project_id=project_id, response_id=response_id, annotator_id=annotator_id,
            rubric_version_id=rubric_version_id, criteria=criteria, overall=overall, rationale=rationale,
            source=source, created_at=created_at or utcnow(),
        )  # fmt: skip
        self.session.add(score)

    def human_score_rows(self, project_id: int) -> list[Any]:
        """People's scores in a project, in id order, with the annotator's name."""
        query = (
            select(
                Score.id,
                Score.response_id,
                Annotator.name.label("annotator"),
                Score.criteria,
                Score.overall,
                Score.rubric_version_id,
                Score.created_at,
            )
            .join(Annotator, Annotator.id == Score.annotator_id)
            .where(Score.project_id == project_id)
            .order_by(Score.id)
        )
        return list(self.session.execute(query))

    def responses_by_id(self, ids: Sequence[int]) -> dict[int, tuple[records.Response, records.Prompt]]:
        """Responses with their prompts, by response id."""
        if not ids:
            return {}
        rows = self.session.execute(
            select(Response, Prompt).join(Prompt, Prompt.id == Response.prompt_id).where(Response.id.in_(list(ids)))
        )
        return {r.id: (records.Response.of(r), records.Prompt.of(p)) for r, p in rows}
