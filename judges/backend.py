"""The one interface every judge, drafter and panel calls: `Backend.complete`.

A backend turns chat messages into either a validated pydantic object (when a `response_model` is
given: structured output, e.g. a verdict) or free text (drafting). Everything else a caller needs to
keep provenance travels in the returned :class:`Completion`: token usage, the model, the raw text,
whether it came from the cache, and the latency. Every failure is one exception type,
:class:`BackendError`, whose `kind` says what went wrong, so judges record failed verdicts instead of
crashing or inventing a magic value.

Caching is content-addressed (:func:`cache_key`): the same model, messages, JSON schema and sampling
parameters give the same key, so a re-run of a finished job pays nothing. :class:`InMemoryCache` is
the reference implementation; the server plugs in a storage-backed one with the same two methods.

>>> params = SamplingParams(temperature=0.0, max_tokens=64, seed=1)
>>> key = cache_key("hosted_vllm/m", [{"role": "user", "content": "hi"}], None, params)
>>> key == cache_key("hosted_vllm/m", [{"role": "user", "content": "hi"}], None, params)
True
>>> key == cache_key("hosted_vllm/m", [{"role": "user", "content": "hi"}], None, params.model_copy(update={"seed": 2}))
False
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass, field
from typing import Any, Generic, Literal, Protocol, TypeVar, runtime_checkable

from pydantic import BaseModel, ConfigDict, Field

T = TypeVar("T", bound=BaseModel)

ErrorKind = Literal["timeout", "rate_limit", "server", "invalid_output", "incomplete", "client"]
"""Why a call failed. `timeout`, `rate_limit` and `server` are transient (a backend retries them);
`invalid_output` (no valid object after validation), `incomplete` (the model hit `max_tokens`) and
`client` (4xx: bad request, auth, unknown model) are not."""

RETRYABLE: frozenset[str] = frozenset({"timeout", "rate_limit", "server"})


class SamplingParams(BaseModel):
    """How to sample: part of every verdict's provenance and of the cache key.

    `timeout_s` overrides the backend's total-time cap for this call; it is not part of the cache key
    (it changes how long we wait, not what the model says). `logprobs` asks for the log-probabilities
    of each generated token and its `logprobs` most likely alternatives, where the provider reports
    them (a provider that cannot is asked without, and the completion carries none).

    >>> SamplingParams(max_tokens=128).temperature
    0.0
    >>> SamplingParams(temprature=1.0)  # doctest: +IGNORE_EXCEPTION_DETAIL
    Traceback (most recent call last):
    pydantic_core._pydantic_core.ValidationError: 1 validation error for SamplingParams
    """

    model_config = ConfigDict(extra="forbid", frozen=True)

    temperature: float = Field(default=0.0, ge=0.0, le=2.0)
    top_p: float = Field(default=1.0, gt=0.0, le=1.0)
    max_tokens: int = Field(default=512, ge=1)
    seed: int | None = None
    timeout_s: float | None = Field(default=None, gt=0)
    logprobs: int | None = Field(default=None, ge=1, le=20)


class Usage(BaseModel):
    """Tokens of the request that produced an answer (or, on failure, of the last partial answer).

    >>> Usage(prompt_tokens=10, completion_tokens=5).total_tokens
    15
    """

    model_config = ConfigDict(extra="forbid", frozen=True)

    prompt_tokens: int = 0
    completion_tokens: int = 0

    @property
    def total_tokens(self) -> int:
        """Prompt plus completion tokens."""
        return self.prompt_tokens + self.completion_tokens

    def __add__(self, other: Usage) -> Usage:
        return Usage(
            prompt_tokens=self.prompt_tokens + other.prompt_tokens,
            completion_tokens=self.completion_tokens + other.completion_tokens,
        )


class TokenLogprob(BaseModel):
    """One generated token with its log-probability and the most likely alternatives at that position.

    >>> TokenLogprob(token="a", logprob=-0.1, top={"a": -0.1, "b": -2.4}).top["b"]
    -2.4
    """

    model_config = ConfigDict(extra="forbid", frozen=True)

    token: str
    logprob: float
    top: dict[str, float] = Field(default_factory=dict)


@dataclass(frozen=True)
class Completion(Generic[T]):
    """One answer from a backend, with what provenance needs.

    Attributes:
        value: the validated object (structured call) or the text (free-text call).
        usage: tokens spent.
        model: the model that answered (the backend's model string).
        raw: the raw text the model produced (the JSON for structured calls).
        cached: True when served from the cache (then no tokens were spent now; `usage` is the original's).
        latency_s: wall time of this call, including retries.
        finish_reason: the server's finish reason (`stop`, `length`, ...) when known.
        attempts: how many requests this call took (1 without retries; 0 from the cache).
        logprobs: per generated token, when `SamplingParams.logprobs` asked and the provider reported them.
    """

    value: T | str
    usage: Usage
    model: str
    raw: str
    cached: bool = False
    latency_s: float = 0.0
    finish_reason: str | None = None
    attempts: int = 1
    logprobs: tuple[TokenLogprob, ...] = ()


class BackendError(Exception):
    """The one failure type of :meth:`Backend.complete`.

    >>> err = BackendError("timeout", "no answer within 5s", attempts=4)
    >>> err.kind, err.retryable, str(err)
    ('timeout', True, 'timeout after 4 attempt(s): no answer within 5s')
    """

    def __init__(
        self, kind: ErrorKind, message: str, *, attempts: int = 1, raw: str | None = None, usage: Usage | None = None
    ) -> None:
        super().__init__(f"{kind} after {attempts} attempt(s): {message}")
        self.kind: ErrorKind = kind
        self.message = message
        self.attempts = attempts
        self.raw = raw
        self.usage = usage or Usage()

    @property
    def retryable(self) -> bool:
        """Whether this kind of failure is transient (worth another attempt)."""
        return self.kind in RETRYABLE


@runtime_checkable
class Backend(Protocol):
    """What judges, drafters and panels call. One method; any provider behind it.

    Implementations: :class:`judges.litellm_backend.LiteLLMBackend` (every litellm provider, including
    our vLLM server) and the scripted fake in the unit tests.
    """

    model: str

    async def complete(
        self, messages: list[dict[str, Any]], response_model: type[T] | None, params: SamplingParams
    ) -> Completion[T]:
        """Answer `messages`: a validated `response_model` instance, or text when it is None.

        Raises:
            BackendError: on every failure, with its kind.
        """
        ...


class Cache(Protocol):
    """A content-addressed store of finished completions (see :func:`cache_key`)."""

    def get(self, key: str) -> dict[str, Any] | None:
        """The record stored under `key`, or None."""
        ...

    def put(self, key: str, record: dict[str, Any]) -> None:
        """Store `record` (JSON-serialisable) under `key`."""
        ...


@dataclass
class InMemoryCache:
    """A dict-backed :class:`Cache` for one process (tests, notebooks, a single CLI run).

    >>> cache = InMemoryCache()
    >>> cache.put("k", {"raw": "x"}); cache.get("k"), cache.get("missing")
    ({'raw': 'x'}, None)
    """

    records: dict[str, dict[str, Any]] = field(default_factory=dict)

    def get(self, key: str) -> dict[str, Any] | None:
        return self.records.get(key)

    def put(self, key: str, record: dict[str, Any]) -> None:
        self.records[key] = record


def cache_key(
    model: str, messages: list[dict[str, Any]], json_schema: dict[str, Any] | None, params: SamplingParams
) -> str:
    """sha256 over the model, the messages, the response JSON schema and the sampling parameters.

    `timeout_s` is left out: it does not change the answer.
    """
    payload = {
        "model": model,
        "messages": messages,
        "schema": json_schema,
        "params": params.model_dump(exclude={"timeout_s"}),
    }
    blob = json.dumps(payload, sort_keys=True, separators=(",", ":"), ensure_ascii=False, default=str)
    return hashlib.sha256(blob.encode()).hexdigest()


def completion_record(completion: Completion[Any]) -> dict[str, Any]:
    """The JSON-serialisable form of a completion, as stored in a :class:`Cache`."""
    value = completion.value
    return {
        "value": value.model_dump(mode="json") if isinstance(value, BaseModel) else value,
        "usage": completion.usage.model_dump(),
        "model": completion.model,
        "raw": completion.raw,
        "finish_reason": completion.finish_reason,
        "logprobs": [token.model_dump() for token in completion.logprobs],
    }


def completion_from_record(record: dict[str, Any], response_model: type[T] | None) -> Completion[T]:
    """Rebuild a cached completion; the value is validated again against `response_model`."""
    value = record["value"] if response_model is None else response_model.model_validate(record["value"])
    return Completion(
        value=value,
        usage=Usage(**record["usage"]),
        model=record["model"],
        raw=record["raw"],
        cached=True,
        latency_s=0.0,
        finish_reason=record.get("finish_reason"),
        attempts=0,
        logprobs=tuple(TokenLogprob(**token) for token in record.get("logprobs") or ()),
    )


def as_messages(prompt: str | list[dict[str, Any]]) -> list[dict[str, Any]]:
    """A prompt as a messages list: a plain string is one user message.

    >>> as_messages("Hi")
    [{'role': 'user', 'content': 'Hi'}]
    """
    if isinstance(prompt, str):
        return [{"role": "user", "content": prompt}]
    return list(prompt)
