"""Pairwise judging under a rubric, in both presentation orders, combined once.

For each order the pair is rendered by :func:`rubrics.render.render_pairwise_messages` (for `ba` the
responses are swapped before rendering, so the judge sees b first and calls it "a"), the backend
answers with the rubric's verdict model, the answer is mapped back to the canonical order with
:func:`rubrics.outcomes.to_canonical`, and the two orders are combined with
:func:`rubrics.outcomes.combine_orders` — overall and per criterion. That is the only place position
bias is undone; nothing else in the code swaps a pair.

A backend failure becomes a failed :class:`judges.verdicts.PairwiseVerdict` (outcome None, error
and error kind set); the other order still counts on its own (consistency unknown).

Example::

    judge = PairwiseJudge(backend, load_rubric(path), params=SamplingParams(max_tokens=200))
    judgement = await judge.judge([{"role": "user", "content": "2+2?"}], "4", "5")
    judgement.outcome, judgement.consistent  # ('a', True)
"""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from typing import Any, cast

from pydantic import BaseModel

from judges.backend import Backend, BackendError, SamplingParams, as_messages
from judges.confidence import outcome_probabilities
from judges.verdicts import (
    CombinedOutcome,
    PairwiseJudgement,
    PairwiseVerdict,
    criteria_answers,
    pairwise_verdict_model,
)
from rubrics.outcomes import Order, combine_orders, to_canonical
from rubrics.render import render_pairwise_messages

DEFAULT_JUDGE_PARAMS = SamplingParams(temperature=0.0, max_tokens=256, seed=0, logprobs=5)
"""Greedy, bounded: a verdict is a few enum fields and a rationale of at most 300 characters; the top 5
alternatives of each token are recorded where the provider reports them (the judge's confidence)."""


def _check_orders(orders: Sequence[str]) -> tuple[Order, ...]:
    if not orders or len(set(orders)) != len(orders) or not set(orders) <= {"ab", "ba"}:
        raise ValueError(f"orders must be distinct values from ('ab', 'ba'), got {tuple(orders)!r}")
    return tuple(orders)  # type: ignore[return-value]


class PairwiseJudge:
    """One judge model comparing two responses under one rubric version.

    Args:
        backend: any :class:`judges.backend.Backend`.
        rubric: a `rubrics.schema.Rubric`.
        params: sampling parameters recorded with every verdict (default :data:`DEFAULT_JUDGE_PARAMS`).
        orders: presentation orders to judge; both by default (position-bias control).
        criteria_ids: judge only these criteria (default: all of the rubric's).
    """

    def __init__(
        self,
        backend: Backend,
        rubric: Any,
        *,
        params: SamplingParams = DEFAULT_JUDGE_PARAMS,
        orders: Sequence[Order] = ("ab", "ba"),
        criteria_ids: Sequence[str] | None = None,
    ) -> None:
        self.backend = backend
        self.rubric = rubric
        self.params = params
        self.orders = _check_orders(orders)
        self.criteria_ids = list(criteria_ids) if criteria_ids is not None else None
        self.response_model: type[BaseModel] = pairwise_verdict_model(rubric, self.criteria_ids)

    @property
    def model(self) -> str:
        """The judge model (the backend's model string)."""
        return self.backend.model

    async def judge(
        self,
        prompt: str | list[dict[str, Any]],
        response_a: str,
        response_b: str,
        *,
        reference: str | None = None,
    ) -> PairwiseJudgement:
        """Judge the pair (a, b) in every configured order and combine.

        Args:
            prompt: the conversation both responses answer (messages, or a string).
            response_a, response_b: the pair in its canonical order.
            reference: a reference answer; when given the judge is reference-guided.

        Returns:
            The judgement, with one verdict per order (failed ones included).
        """
        messages = as_messages(prompt)
        verdicts = await asyncio.gather(
            *(self.verdict(order, messages, response_a, response_b, reference=reference) for order in self.orders)
        )
        return combine(list(verdicts), judge_model=self.model, rubric_ref=self.rubric.ref)

    async def verdict(
        self,
        order: Order,
        prompt: list[dict[str, Any]],
        response_a: str,
        response_b: str,
        *,
        reference: str | None = None,
    ) -> PairwiseVerdict:
        """One verdict in one presentation order, in canonical terms (or a recorded failure)."""
        first, second = (response_a, response_b) if order == "ab" else (response_b, response_a)
        messages = render_pairwise_messages(
            self.rubric, prompt, first, second, reference=reference, criteria_ids=self.criteria_ids
        )
        common: dict[str, Any] = {
            "order": order,
            "judge_model": self.model,
            "rubric_ref": self.rubric.ref,
            "params": self.params,
        }
        try:
            completion = await self.backend.complete(messages, self.response_model, self.params)
        except BackendError as exc:
            return PairwiseVerdict(
                **common,
                outcome=None,
                error=str(exc),
                error_kind=exc.kind,
                usage=exc.usage,
                raw=exc.raw,
            )
        answer = cast(BaseModel, completion.value)  # a structured call returns the response model
        said = answer.overall  # type: ignore[attr-defined]
        seen = outcome_probabilities(completion.raw, completion.logprobs)
        return PairwiseVerdict(
            **common,
            outcome=to_canonical(said, order),
            presented_outcome=said,
            criteria={cid: to_canonical(value, order) for cid, value in criteria_answers(answer).items()},
            probabilities=None if seen is None else {to_canonical(k, order): p for k, p in seen.items()},
            confidence=answer.confidence,  # type: ignore[attr-defined]
            rationale=answer.rationale,  # type: ignore[attr-defined]
            usage=completion.usage,
            latency_s=completion.latency_s,
            cached=completion.cached,
            raw=completion.raw,
        )


def combine(verdicts: list[PairwiseVerdict], *, judge_model: str, rubric_ref: str) -> PairwiseJudgement:
    """Combine one judge's canonical-order verdicts (at most one per order) into a judgement.

    Overall and per criterion via :func:`rubrics.outcomes.combine_orders`; a failed or missing order
    counts as absent.

    >>> p = SamplingParams()
    >>> ab = PairwiseVerdict(order="ab", outcome="a", criteria={"x": "a"}, judge_model="m", rubric_ref="r@1", params=p)
    >>> ba = PairwiseVerdict(order="ba", outcome="b", criteria={"x": "a"}, judge_model="m", rubric_ref="r@1", params=p)
    >>> j = combine([ab, ba], judge_model="m", rubric_ref="r@1")
    >>> j.outcome, j.consistent, j.criteria["x"].outcome
    ('tie', False, 'a')
    """
    by_order = {v.order: v for v in verdicts}
    ab, ba = by_order.get("ab"), by_order.get("ba")
    overall = combine_orders(ab.outcome if ab else None, ba.outcome if ba else None)
    criterion_ids: list[str] = []
    for verdict in verdicts:
        criterion_ids += [cid for cid in verdict.criteria if cid not in criterion_ids]
    criteria = {
        cid: CombinedOutcome(
            **combine_orders(ab.criteria.get(cid) if ab else None, ba.criteria.get(cid) if ba else None)._asdict()
        )
        for cid in criterion_ids
    }
    return PairwiseJudgement(
        judge_model=judge_model,
        rubric_ref=rubric_ref,
        verdicts=verdicts,
        outcome=overall.outcome,
        consistent=overall.consistent,
        criteria=criteria,
    )
