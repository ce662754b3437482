"""Prompts, responses and pairs (with their gold outcome), and whole pair views.

Part of :class:`server.storage.repository.Repository`, over its one session; reads and writes return frozen
records (:mod:`server.storage.records`).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import bindparam, exists, func, select
from sqlalchemy.orm import aliased

from server.storage import records
from server.storage.records import PairView
from server.storage.repos.base import NotFound, UnitOfWork, digest
from server.storage.tables import (
    Adjudication,
    Annotator,
    Pair,
    Prompt,
    Ranking,
    Response,
    Verdict,
)

_SHOWN_A, _SHOWN_B = Response.__table__.alias("shown_a"), Response.__table__.alias("shown_b")
_P, _PROMPT, _V = Pair.__table__, Prompt.__table__, Verdict.__table__
# a review turn shows a pair on every click: Core, built once (no ORM statement to build and compile per call)
_SHOWN = (
    select(_P.c.id, _PROMPT.c.messages, _SHOWN_A.c.text, _SHOWN_B.c.text, exists().where(_V.c.pair_id == _P.c.id))
    .join(_PROMPT, _PROMPT.c.id == _P.c.prompt_id)
    .join(_SHOWN_A, _SHOWN_A.c.id == _P.c.response_a_id)
    .join(_SHOWN_B, _SHOWN_B.c.id == _P.c.response_b_id)
    .where(_P.c.id == bindparam("pair"))
)


@dataclass(frozen=True)
class PairTexts:
    """What a reviewer is shown of a pair: the prompt's messages and the two responses' texts."""

    pair_id: int
    messages: list[dict[str, str]]
    response_a: str
    response_b: str
    judged: bool = False  # some judge has a verdict on it (else assisted mode has nothing to show)


class Pairs(UnitOfWork):
    """Prompts, responses and pairs (with their gold outcome), and whole pair views."""

    def prompt_hashes(self, project_id: int) -> dict[str, records.Prompt]:
        rows = self.session.scalars(select(Prompt).where(Prompt.project_id == project_id))
        return {p.content_hash: records.Prompt.of(p) for p in rows}

    def add_prompt(
        self,
        project_id: int,
        messages: list[dict[str, str]],
        *,
        is_chat: bool,
        reference: str | None = None,
        meta: dict[str, Any] | None = None,
    ) -> records.Prompt:
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
        return records.Prompt.of(prompt)

    def responses_by_hash(self, project_id: int) -> dict[tuple[int, str], records.Response]:
        rows = self.session.scalars(select(Response).join(Prompt).where(Prompt.project_id == project_id))
        return {(r.prompt_id, r.content_hash): records.Response.of(r) for r in rows}

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
    ) -> records.Response:
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
        return records.Response.of(response)

    def responses_for_prompt(self, prompt_id: int) -> list[records.Response]:
        rows = self.session.scalars(select(Response).where(Response.prompt_id == prompt_id).order_by(Response.id))
        return [records.Response.of(r) for r in rows]

    def responses_from(self, prompt_id: int, source: str) -> list[records.Response]:
        rows = self.session.scalars(
            select(Response).where(Response.prompt_id == prompt_id, Response.source == source).order_by(Response.id)
        )
        return [records.Response.of(r) for r in rows]

    def pair_texts(self, project_id: int) -> dict[str, tuple[str, str, str]]:
        """Pair key → content hashes of (prompt, response a, response b), for every pair of the project."""
        a, b = aliased(Response), aliased(Response)
        rows = self.session.execute(
            select(Pair.key, Prompt.content_hash, a.content_hash, b.content_hash)
            .join(Prompt, Pair.prompt_id == Prompt.id)
            .join(a, Pair.response_a_id == a.id)
            .join(b, Pair.response_b_id == b.id)
            .where(Pair.project_id == project_id)
        )
        return {key: (p, ra, rb) for key, p, ra, rb in rows}

    def pair_keys(self, project_id: int) -> dict[str, records.Pair]:
        return {
            p.key: records.Pair.of(p) for p in self.session.scalars(select(Pair).where(Pair.project_id == project_id))
        }

    def add_pair(
        self,
        project_id: int,
        prompt_id: int,
        a: records.Response,
        b: records.Response,
        *,
        key: str,
        meta: dict[str, Any] | None = None,
    ) -> records.Pair:
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
        return records.Pair.of(pair)

    def prompts(self, project_id: int, *, limit: int | None = None) -> list[records.Prompt]:
        query = select(Prompt).where(Prompt.project_id == project_id).order_by(Prompt.id)
        return [records.Prompt.of(p) for p in self.session.scalars(query.limit(limit) if limit else query)]

    def pairs(self, project_id: int, *, offset: int = 0, limit: int | None = None) -> list[records.Pair]:
        query = select(Pair).where(Pair.project_id == project_id).order_by(Pair.id).offset(offset)
        return [records.Pair.of(p) for p in self.session.scalars(query.limit(limit) if limit else query)]

    def _pair_row(self, pair_id: int) -> Pair:
        pair = self.session.get(Pair, pair_id)
        if pair is None:
            raise NotFound(f"pair {pair_id} not found")
        return pair

    def pair(self, pair_id: int) -> records.Pair:
        return records.Pair.of(self._pair_row(pair_id))

    def shown_pair(self, pair_id: int) -> PairTexts:
        """:class:`PairTexts` of a pair in one query (a review turn needs no labels unless assisted)."""
        found = self.session.execute(_SHOWN, {"pair": pair_id}).first()
        if found is None:
            raise NotFound(f"pair {pair_id} not found")
        return PairTexts(found[0], found[1], found[2], found[3], bool(found[4]))

    def count_pairs(self, project_id: int) -> int:
        return self.session.scalar(select(func.count()).where(Pair.project_id == project_id)) or 0

    def pair_views(self, pairs: Sequence[records.Pair]) -> list[PairView]:
        """Load prompts, responses and labels for many pairs in a handful of queries."""
        if not pairs:
            return []
        ids = [p.id for p in pairs]
        prompt_ids = {p.prompt_id for p in pairs}
        prompts = {
            p.id: records.Prompt.of(p) for p in self.session.scalars(select(Prompt).where(Prompt.id.in_(prompt_ids)))
        }
        response_ids = {p.response_a_id for p in pairs} | {p.response_b_id for p in pairs}
        responses = {
            r.id: records.Response.of(r)
            for r in self.session.scalars(select(Response).where(Response.id.in_(response_ids)))
        }
        rankings: dict[int, list[tuple[records.Ranking, str]]] = {i: [] for i in ids}
        for ranking, name in self.session.execute(
            select(Ranking, Annotator.name).join(Annotator).where(Ranking.pair_id.in_(ids)).order_by(Ranking.id)
        ):
            rankings[ranking.pair_id].append((records.Ranking.of(ranking), name))
        verdicts: dict[int, list[records.Verdict]] = {i: [] for i in ids}
        for verdict in self.session.scalars(select(Verdict).where(Verdict.pair_id.in_(ids)).order_by(Verdict.id)):
            verdicts[verdict.pair_id].append(records.Verdict.of(verdict))  # type: ignore[index]
        adjudications = {
            a.pair_id: records.Adjudication.of(a)
            for a in self.session.scalars(select(Adjudication).where(Adjudication.pair_id.in_(ids)))
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

    def set_gold(self, pair: records.Pair, outcome: str | None) -> records.Pair:
        """Make the pair a gold pair with this known outcome, or (None) an ordinary pair again."""
        row = self._pair_row(pair.id)
        row.is_gold, row.gold_outcome = outcome is not None, outcome
        self.session.flush()
        return records.Pair.of(row)

    def pair_sources(self, project_id: int) -> dict[int, tuple[dict[str, Any], str, str]]:
        """Pair id → (the pair's meta, source of response a, source of response b), for every pair of a project."""
        a, b = aliased(Response), aliased(Response)
        rows = self.session.execute(
            select(Pair.id, Pair.meta, a.source, b.source)
            .join(a, Pair.response_a_id == a.id)
            .join(b, Pair.response_b_id == b.id)
            .where(Pair.project_id == project_id)
        )
        return {pair_id: (dict(meta or {}), source_a, source_b) for pair_id, meta, source_a, source_b in rows}

    def response_lengths(self, pairs: Sequence[records.Pair]) -> dict[int, tuple[int, int]]:
        """Characters in each pair's two responses (pair id → (a, b)), counted by the database."""
        ids = {p.response_a_id for p in pairs} | {p.response_b_id for p in pairs}
        rows = self.session.execute(select(Response.id, func.length(Response.text)).where(Response.id.in_(ids)))
        lengths = {response_id: length for response_id, length in rows}
        return {p.id: (lengths[p.response_a_id], lengths[p.response_b_id]) for p in pairs}
