"""The judge's probability of each outcome, read off the token log-probabilities of its answer."""

from __future__ import annotations

import asyncio
import json
import math
from typing import Any

import pytest

from judges.backend import Completion, SamplingParams, TokenLogprob, Usage
from judges.confidence import outcome_probabilities
from judges.pairwise import PairwiseJudge
from rubrics.loader import load_library


def tokens(*parts: str | tuple[str, dict[str, float]]) -> list[TokenLogprob]:
    out = []
    for part in parts:
        text, top = (part, {}) if isinstance(part, str) else part
        out.append(TokenLogprob(token=text, logprob=top.get(text, 0.0), top=top))
    return out


def test_value_at_the_start_of_a_token() -> None:
    raw = '{"overall":"tie"}'
    found = outcome_probabilities(raw, tokens('{"overall":"', ("tie", {"tie": -0.5, "a": -1.5, "b": -3.0}), '"}'))
    mass = {"a": math.exp(-1.5), "b": math.exp(-3.0), "tie": math.exp(-0.5)}
    assert found == pytest.approx({k: v / sum(mass.values()) for k, v in mass.items()})


def test_alternatives_that_start_no_outcome_are_ignored_and_the_rest_normalised() -> None:
    raw = '{"overall":"a"}'
    found = outcome_probabilities(raw, tokens('{"overall":"', ("a", {"a": -0.1, "x": -0.2, "b": -2.0}), '"}'))
    assert found is not None and set(found) == {"a", "b", "tie"} and found["tie"] == 0.0
    assert found["a"] == pytest.approx(math.exp(-0.1) / (math.exp(-0.1) + math.exp(-2.0)))


@pytest.mark.parametrize(
    ("raw", "parts"),
    [
        ('{"winner":"a"}', ['{"winner":"', "a", '"}']),  # no `overall` field
        ('{"overall":"a"}', []),  # no logprobs reported
        ('{"overall":"a"}', ['{"overal', '"b"}']),  # tokens that do not spell the text up to the value
    ],
)
def test_unknowable_is_none(raw: str, parts: list[str]) -> None:
    assert outcome_probabilities(raw, tokens(*parts)) is None


class LogprobBackend:
    """Answers every order with `a` shown first winning at p = e^-0.2, and records the params."""

    model = "fake/logprobs"

    def __init__(self) -> None:
        self.params: list[SamplingParams] = []

    async def complete(self, messages: list[dict[str, Any]], response_model: Any, params: SamplingParams) -> Any:
        self.params.append(params)
        fields = {name: "a" for name in response_model.model_json_schema()["properties"]}
        answer = fields | {"confidence": 4, "rationale": "A."}
        raw = json.dumps(answer, separators=(",", ":"))
        head, _, tail = raw.partition('"overall":"')
        parts = [head + '"overall":"', ("a", {"a": -0.2, "b": -1.8, "tie": -3.5}), tail[1:]]
        return Completion(
            value=response_model.model_validate(answer), usage=Usage(), model=self.model, raw=raw,
            logprobs=tuple(tokens(*parts)),
        )  # fmt: skip


def test_pairwise_verdicts_carry_canonical_probabilities_in_both_orders() -> None:
    backend = LogprobBackend()
    judgement = asyncio.run(PairwiseJudge(backend, load_library()["hhh"]).judge("Q?", "yes", "no"))
    ab, ba = judgement.verdicts
    assert backend.params[0].logprobs == 5  # the default judge params ask for them
    assert ab.probabilities is not None and ba.probabilities is not None
    assert ab.probabilities["a"] == pytest.approx(ba.probabilities["b"])  # shown first = b in order ba
    assert ab.probabilities["a"] > 0.75 and ba.probabilities["a"] < 0.2
