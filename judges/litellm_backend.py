"""The one LLM backend: litellm for any provider, instructor for structured output.

This is the only module that imports litellm and instructor. Our embedded vLLM server is
`hosted_vllm/<served name>` with `api_base="http://127.0.0.1:PORT/v1"`; any other litellm provider
string (`openai/gpt-4o-mini`, `anthropic/...`) works the same way.

Structured calls use instructor's JSON_SCHEMA mode in three steps: instructor turns the response
model into the request (`response_format` with its JSON schema, so vLLM's guided decoding enforces
it), we stream the answer with `litellm.acompletion`, and instructor validates the text into the
pydantic model (and writes the re-ask when it does not validate). Free-text calls (drafting) stream
the same way without a schema. We own the HTTP stream, not instructor, because the timeout rule
below needs to see every chunk.

Timeouts: a call fails for what the server did, never for time spent waiting behind other work.

- **No progress** (`stall_timeout_s`, default 120 s): an attempt times out only when neither it nor
  any other call of this backend (on this event loop) has received a chunk or a whole answer for
  `stall_timeout_s`. A request queued in a busy server, or slowed by 31 others in the same batch,
  waits as long as the server keeps producing tokens for somebody; a server that stalls, hangs or
  stops answering is detected after `stall_timeout_s` of silence. Streaming (the default) makes every
  token progress; with `stream=False` (providers that cannot stream) only finished answers count, so
  keep `max_concurrency` near what such a provider serves at once.
- **Total time** (`timeout_s`, default off): an optional cap on one attempt's wall time, for providers
  billed or limited by time; `SamplingParams.timeout_s` overrides it for one call. When set, the
  whole call's budget (`deadline_s`) defaults to `timeout_s * (max_retries + 1)`; no attempt runs
  past it and no retry starts whose back-off the deadline would cut short.
- **Concurrency**: one `asyncio.Semaphore(max_concurrency)` per backend and event loop. Waiting for a
  slot counts against nothing.

We chose "no progress" over bounding in-flight requests by the server's `/metrics` (running/waiting):
it needs no provider-specific endpoint, holds for every litellm provider, and still detects a dead
server within `stall_timeout_s`.

Retries: only transient failures — `timeout`, `rate_limit` (HTTP 429) and `server` (5xx, connection
refused/reset) — up to `max_retries` more attempts, with exponential back-off `backoff_s * 2**i`.
Client errors (other 4xx), truncated output (`incomplete`: the model hit `max_tokens`) and invalid
output are never retried by us: the same request would fail the same way. Instructor's re-ask gets
`validation_retries` (default 1) extra requests inside one attempt when the JSON does not validate
(rare under guided decoding); after that the call fails with kind `invalid_output`. litellm's and the
OpenAI SDK's own retries are off (`num_retries=0`), so these are the real request counts.

litellm is made quiet: no cost-map download at import (`LITELLM_LOCAL_MODEL_COST_MAP=True`), no
debug banners, no message logging, no callbacks; nothing is contacted but the `api_base` given.

Example::

    backend = LiteLLMBackend("hosted_vllm/smollm2-135m-instruct", api_base="http://127.0.0.1:8000/v1")
    completion = await backend.complete([{"role": "user", "content": "Say hi"}], None, SamplingParams(max_tokens=16))
    print(completion.value, completion.usage)
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import os
import time
import weakref
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from typing import Any, TypeVar

from pydantic import BaseModel
from pydantic import ValidationError as PydanticValidationError

from judges.backend import (
    BackendError,
    Cache,
    Completion,
    ErrorKind,
    SamplingParams,
    TokenLogprob,
    Usage,
    cache_key,
    completion_from_record,
    completion_record,
)

# Before litellm is imported: use the bundled model-cost map instead of fetching one from the internet.
os.environ.setdefault("LITELLM_LOCAL_MODEL_COST_MAP", "True")
os.environ.setdefault("LITELLM_LOG", "ERROR")

import instructor
import litellm
from instructor.core import IncompleteOutputException, InstructorRetryException
from instructor.processing import handle_reask_kwargs, handle_response_model, process_response

litellm.suppress_debug_info = True
litellm.turn_off_message_logging = True
litellm.drop_params = False
litellm.num_retries = None
for _name in ("LiteLLM", "LiteLLM Router", "LiteLLM Proxy", "litellm", "instructor", "instructor.v2.retry"):
    logging.getLogger(_name).setLevel(logging.CRITICAL)

log = logging.getLogger(__name__)
T = TypeVar("T", bound=BaseModel)
MODE = instructor.Mode.JSON_SCHEMA
HTTP_TIMEOUT_S = 24 * 3600.0
"""What litellm's HTTP client is told when no total cap is set: our watchdog, not httpx, ends a call."""


class StallTimeout(TimeoutError):
    """No chunk for this call, and no progress by any other call of the backend, for the stall timeout."""


def classify(exc: BaseException) -> ErrorKind:
    """Map an exception from litellm/instructor/asyncio onto a :data:`judges.backend.ErrorKind`.

    Looks through instructor's wrapper (`InstructorRetryException`) and `__cause__` chains to the
    original error; HTTP errors are classified by status code (408 timeout, 429 rate limit, 5xx
    server — litellm reports connection failures as 500 —, other 4xx client).

    >>> classify(TimeoutError()), classify(ValueError("?"))
    ('timeout', 'client')
    """
    seen: set[int] = set()
    current: BaseException | None = exc
    while current is not None and id(current) not in seen:
        seen.add(id(current))
        if isinstance(current, IncompleteOutputException):
            return "incomplete"
        if isinstance(current, TimeoutError):
            return "timeout"
        if isinstance(current, PydanticValidationError | json.JSONDecodeError):
            return "invalid_output"
        status = getattr(current, "status_code", None)
        if isinstance(status, int):
            if status == 408:
                return "timeout"
            if status == 429:
                return "rate_limit"
            if status >= 500:
                return "server"
            return "client"
        if isinstance(current, InstructorRetryException) and current.failed_attempts:
            return "invalid_output"
        current = current.__cause__ or current.__context__
    return "client"


def _usage(response: Any) -> Usage:
    usage = getattr(response, "usage", None)
    if usage is None:
        return Usage()
    return Usage(
        prompt_tokens=int(getattr(usage, "prompt_tokens", 0) or 0),
        completion_tokens=int(getattr(usage, "completion_tokens", 0) or 0),
    )


@dataclass
class _Progress:
    """When any call of one backend (on one event loop) last received a chunk or a whole answer."""

    last: float = field(default_factory=time.monotonic)

    def touch(self) -> None:
        self.last = time.monotonic()


@dataclass
class _Answer:
    """One streamed (or whole) answer, assembled: what validation and provenance need."""

    text: str = ""
    finish_reason: str | None = None
    usage: Usage = field(default_factory=Usage)
    chunks: int = 0
    logprobs: list[TokenLogprob] = field(default_factory=list)

    def as_response(self) -> Any:
        """The answer as the chat-completion object instructor parses."""
        return litellm.ModelResponse(
            choices=[
                {
                    "index": 0,
                    "message": {"role": "assistant", "content": self.text},
                    "finish_reason": self.finish_reason or "stop",
                }
            ],
            usage={
                "prompt_tokens": self.usage.prompt_tokens,
                "completion_tokens": self.usage.completion_tokens,
                "total_tokens": self.usage.total_tokens,
            },
        )

    def add_chunk(self, chunk: Any) -> None:
        self.chunks += 1
        if (usage := _usage(chunk)).total_tokens:
            self.usage = usage
        for choice in getattr(chunk, "choices", None) or []:
            delta = getattr(choice, "delta", None)
            content = getattr(delta, "content", None) if delta is not None else None
            if content:
                self.text += content
            self.logprobs += _token_logprobs(getattr(choice, "logprobs", None))
            if getattr(choice, "finish_reason", None):
                self.finish_reason = choice.finish_reason

    def add_whole(self, response: Any) -> None:
        try:
            choice = response.choices[0]
        except (AttributeError, IndexError, TypeError):
            choice = None
        message = getattr(choice, "message", None)
        self.text = getattr(message, "content", None) or ""
        self.finish_reason = getattr(choice, "finish_reason", None)
        self.usage = _usage(response)
        self.chunks = 1
        self.logprobs = _token_logprobs(getattr(choice, "logprobs", None))


def _token_logprobs(logprobs: Any) -> list[TokenLogprob]:
    """The OpenAI-shaped `choice.logprobs.content` (objects or dicts) as :class:`TokenLogprob` records."""
    content = getattr(logprobs, "content", None) if not isinstance(logprobs, dict) else logprobs.get("content")
    tokens = []
    for entry in content or []:
        item = entry if isinstance(entry, dict) else entry.model_dump() if hasattr(entry, "model_dump") else vars(entry)
        top = {alt["token"]: float(alt["logprob"]) for alt in item.get("top_logprobs") or []}
        tokens.append(TokenLogprob(token=item["token"], logprob=float(item["logprob"]), top=top))
    return tokens


class _AttemptFailed(Exception):
    """Carries the partial answer of a failed attempt next to the error that ended it."""

    def __init__(self, error: BaseException, answer: _Answer) -> None:
        super().__init__(str(error))
        self.error = error
        self.answer = answer


class LiteLLMBackend:
    """A :class:`judges.backend.Backend` over `litellm.acompletion` (+ instructor for structured output).

    Args:
        model: a litellm model string; `hosted_vllm/<served name>` for our vLLM server.
        api_base: the OpenAI-compatible base URL, e.g. `http://127.0.0.1:8000/v1`.
        api_key: the provider key; vLLM without `--api-key` accepts any (a placeholder is sent).
        max_concurrency: requests in flight at once from this backend.
        stall_timeout_s: fail an attempt as `timeout` after this long without progress (see the module doc).
        timeout_s: optional cap on one attempt's total time (overridden per call by `SamplingParams.timeout_s`).
        max_retries: extra attempts for transient failures (timeout, 429, 5xx).
        backoff_s: first back-off; doubles for each further retry.
        deadline_s: the whole call's budget, all attempts and back-offs included (default: none, or
            `timeout_s * (max_retries + 1)` when a total cap applies).
        validation_retries: instructor re-asks when structured output does not validate.
        stream: stream answers (every chunk is progress); False for providers that cannot stream.
        cache: a content-addressed :class:`judges.backend.Cache`; hits cost no request.
    """

    def __init__(
        self,
        model: str,
        *,
        api_base: str | None = None,
        api_key: str | None = None,
        max_concurrency: int = 32,
        stall_timeout_s: float = 120.0,
        timeout_s: float | None = None,
        max_retries: int = 3,
        backoff_s: float = 1.0,
        deadline_s: float | None = None,
        validation_retries: int = 1,
        stream: bool = True,
        cache: Cache | None = None,
    ) -> None:
        if max_concurrency < 1:
            raise ValueError(f"max_concurrency must be at least 1, got {max_concurrency}")
        if stall_timeout_s <= 0:
            raise ValueError(f"stall_timeout_s must be positive, got {stall_timeout_s}")
        if timeout_s is not None and timeout_s <= 0:
            raise ValueError(f"timeout_s must be positive or None, got {timeout_s}")
        if max_retries < 0 or validation_retries < 0:
            raise ValueError("max_retries and validation_retries must be 0 or more")
        self.model = model
        self.api_base = api_base
        self.api_key = api_key
        self.max_concurrency = max_concurrency
        self.stall_timeout_s = stall_timeout_s
        self.timeout_s = timeout_s
        self.max_retries = max_retries
        self.backoff_s = backoff_s
        self.deadline_s = deadline_s
        self.validation_retries = validation_retries
        self.stream = stream
        self.cache = cache
        # Per event loop: a backend built once may serve several `asyncio.run` calls (CLI jobs), and an
        # asyncio primitive must not cross loops; the progress clock is shared by the calls of one loop.
        self._loops: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, tuple[asyncio.Semaphore, _Progress]] = (
            weakref.WeakKeyDictionary()
        )

    def __repr__(self) -> str:
        return f"LiteLLMBackend({self.model!r}, api_base={self.api_base!r})"

    async def complete(
        self, messages: list[dict[str, Any]], response_model: type[T] | None, params: SamplingParams
    ) -> Completion[T]:
        """Answer `messages` as a validated `response_model` (or text when None); see the module doc.

        Raises:
            BackendError: with kind timeout / rate_limit / server / invalid_output / incomplete / client.
        """
        schema = response_model.model_json_schema() if response_model is not None else None
        key = cache_key(self.model, messages, schema, params) if self.cache is not None else None
        if key is not None and self.cache is not None and (record := self.cache.get(key)) is not None:
            return completion_from_record(record, response_model)

        loop = asyncio.get_running_loop()
        if loop not in self._loops:
            self._loops[loop] = (asyncio.Semaphore(self.max_concurrency), _Progress())
        semaphore, progress = self._loops[loop]
        async with semaphore:
            completion = await self._with_retries(messages, response_model, params, progress)
        if key is not None and self.cache is not None:
            self.cache.put(key, completion_record(completion))
        return completion

    async def _with_retries(
        self,
        messages: list[dict[str, Any]],
        response_model: type[T] | None,
        params: SamplingParams,
        progress: _Progress,
    ) -> Completion[T]:
        cap = params.timeout_s or self.timeout_s
        budget = self.deadline_s if self.deadline_s is not None else (cap * (self.max_retries + 1) if cap else None)
        started = time.monotonic()
        deadline = started + budget if budget is not None else None
        attempt = 0
        while True:
            attempt += 1
            limit = cap
            if deadline is not None:
                left = deadline - time.monotonic()
                limit = left if limit is None else min(limit, left)
            try:
                async with asyncio.timeout(limit):
                    value, answer = await self._attempt(messages, response_model, params, limit, progress)
            except Exception as exc:  # every failure becomes a BackendError below
                error, partial = (exc.error, exc.answer) if isinstance(exc, _AttemptFailed) else (exc, _Answer())
                kind = classify(error)
                message = _describe(error, limit, self.stall_timeout_s)
                backoff = self.backoff_s * 2 ** (attempt - 1)
                retry = (
                    kind in ("timeout", "rate_limit", "server")
                    and attempt <= self.max_retries
                    and (deadline is None or time.monotonic() + backoff < deadline)
                )
                log.debug("%s attempt %d failed (%s): %s", self.model, attempt, kind, message)
                if not retry:
                    raise BackendError(
                        kind, message[:2000], attempts=attempt, raw=partial.text or None, usage=partial.usage
                    ) from error
                await asyncio.sleep(backoff)
                continue
            return Completion(
                value=value,
                usage=answer.usage,
                model=self.model,
                raw=answer.text,
                cached=False,
                latency_s=round(time.monotonic() - started, 4),
                finish_reason=answer.finish_reason,
                attempts=attempt,
                logprobs=tuple(answer.logprobs),
            )

    async def _attempt(
        self,
        messages: list[dict[str, Any]],
        response_model: type[T] | None,
        params: SamplingParams,
        limit: float | None,
        progress: _Progress,
    ) -> tuple[Any, _Answer]:
        """One attempt: the request, and instructor's re-asks while the answer does not validate."""
        kwargs: dict[str, Any] = {
            "model": self.model,
            "messages": messages,
            "temperature": params.temperature,
            "top_p": params.top_p,
            "max_tokens": params.max_tokens,
            "timeout": limit or HTTP_TIMEOUT_S,
            "num_retries": 0,
            "api_base": self.api_base,
            # vLLM without --api-key accepts any key and litellm's OpenAI-compatible path wants one; a hosted
            # provider (no api_base) finds its own key in the environment, which a placeholder would override.
            "api_key": self.api_key or ("EMPTY" if self.api_base else None),
        }
        if params.seed is not None:
            kwargs["seed"] = params.seed
        if params.logprobs and self._reports_logprobs():
            kwargs |= {"logprobs": True, "top_logprobs": params.logprobs}
        if response_model is None:
            answer = await self._request(kwargs, progress)
            return answer.text, answer
        prepared, kwargs = handle_response_model(response_model, mode=MODE, **kwargs)
        for reask in range(self.validation_retries + 1):
            answer = await self._request(kwargs, progress)
            response = answer.as_response()
            try:
                value = process_response(response, response_model=prepared, stream=False, mode=MODE)
            except (PydanticValidationError, json.JSONDecodeError) as exc:
                if reask == self.validation_retries:
                    raise _AttemptFailed(exc, answer) from exc
                kwargs = handle_reask_kwargs(kwargs, MODE, response, exc)
            except Exception as exc:  # IncompleteOutputException and the like: keep the partial answer
                raise _AttemptFailed(exc, answer) from exc
            else:
                # A clean instance: instructor attaches the raw response as a private attribute.
                return response_model.model_validate(value.model_dump(by_alias=True)), answer
        raise AssertionError("unreachable")  # pragma: no cover

    def _reports_logprobs(self) -> bool:
        """Whether litellm knows this provider to accept `logprobs` (we never send what it would refuse)."""
        provider, _, name = self.model.partition("/")
        try:
            supported = litellm.get_supported_openai_params(
                model=name or provider, custom_llm_provider=provider if name else None
            )
        except Exception:  # an unknown provider: ask without
            return False
        return bool(supported) and "top_logprobs" in supported

    async def _request(self, kwargs: dict[str, Any], progress: _Progress) -> _Answer:
        """Send one request and read its answer, failing only when nothing progresses (see the module doc)."""
        answer = _Answer()
        own = _Progress()
        try:
            if not self.stream:
                answer.add_whole(await self._watch(litellm.acompletion(**kwargs), own, progress))
                progress.touch()
                return answer
            stream = await self._watch(
                litellm.acompletion(**kwargs, stream=True, stream_options={"include_usage": True}), own, progress
            )
            try:
                iterator: AsyncIterator[Any] = stream.__aiter__()
                while True:
                    try:
                        chunk = await self._watch(iterator.__anext__(), own, progress)
                    except StopAsyncIteration:
                        break
                    own.touch()
                    progress.touch()
                    answer.add_chunk(chunk)
            finally:
                with contextlib.suppress(Exception):
                    await stream.aclose()  # vLLM aborts a request whose client went away
            progress.touch()
        except Exception as exc:
            raise _AttemptFailed(exc, answer) from exc
        return answer

    async def _watch(self, awaitable: Any, own: _Progress, shared: _Progress) -> Any:
        """Await `awaitable` until it finishes or neither this call nor the backend progressed for the stall timeout."""
        task = asyncio.ensure_future(awaitable)
        try:
            while True:
                idle = time.monotonic() - max(own.last, shared.last)
                remaining = self.stall_timeout_s - idle
                if remaining <= 0:
                    raise StallTimeout(f"no progress for {self.stall_timeout_s:g}s")
                done, _ = await asyncio.wait({task}, timeout=remaining)
                if done:
                    return task.result()
        finally:
            if not task.done():
                task.cancel()
                with contextlib.suppress(BaseException):
                    await task


def _describe(error: BaseException, limit: float | None, stall_s: float) -> str:
    """A one-line reason for a failed attempt."""
    if isinstance(error, StallTimeout):
        return f"no progress for {stall_s:g}s (no chunk for this call, none for any other)"
    if isinstance(error, TimeoutError) and limit is not None:
        return f"no answer within {limit:.1f}s (total-time cap)"
    return f"{type(error).__name__}: {error}" if str(error) else type(error).__name__
