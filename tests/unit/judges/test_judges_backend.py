"""Backend protocol pieces: cache keys, cached round trips, error classification."""

from __future__ import annotations

import asyncio
import json

import litellm
import pytest
from pydantic import BaseModel, ValidationError

from judges.backend import (
    Backend,
    BackendError,
    InMemoryCache,
    SamplingParams,
    Usage,
    cache_key,
    completion_from_record,
    completion_record,
)
from judges.litellm_backend import LiteLLMBackend, classify
from tests.support.fake_backend import ScriptedBackend

MESSAGES = [{"role": "user", "content": "hi"}]


class Answer(BaseModel):
    winner: str


def test_cache_key_covers_model_messages_schema_and_params_but_not_timeout() -> None:
    p = SamplingParams(max_tokens=10, seed=1)
    base = cache_key("m", MESSAGES, None, p)
    assert base == cache_key("m", [dict(MESSAGES[0])], None, p)
    assert base == cache_key("m", MESSAGES, None, p.model_copy(update={"timeout_s": 3.0}))
    assert base != cache_key("m2", MESSAGES, None, p)
    assert base != cache_key("m", [{"role": "user", "content": "hi!"}], None, p)
    assert base != cache_key("m", MESSAGES, Answer.model_json_schema(), p)
    assert base != cache_key("m", MESSAGES, None, p.model_copy(update={"temperature": 0.5}))


def test_sampling_params_forbid_unknown_fields() -> None:
    with pytest.raises(ValidationError):
        SamplingParams(temprature=0.5)  # type: ignore[call-arg]


def test_cached_record_round_trips_and_is_marked_cached() -> None:
    from judges.backend import Completion

    original = Completion(
        value=Answer(winner="a"), usage=Usage(prompt_tokens=3, completion_tokens=2), model="m", raw="{}"
    )
    record = json.loads(json.dumps(completion_record(original)))  # storable as JSON
    again = completion_from_record(record, Answer)
    assert again.value == Answer(winner="a") and again.cached and again.usage == original.usage
    assert InMemoryCache().get("nothing") is None


def test_backends_satisfy_the_protocol() -> None:
    assert isinstance(ScriptedBackend(), Backend)
    assert isinstance(LiteLLMBackend("hosted_vllm/x", api_base="http://127.0.0.1:9/v1"), Backend)


@pytest.mark.parametrize(
    ("exc", "kind"),
    [
        (TimeoutError(), "timeout"),
        (litellm.Timeout("slow", model="m", llm_provider="hosted_vllm"), "timeout"),
        (litellm.RateLimitError("429", model="m", llm_provider="hosted_vllm"), "rate_limit"),
        (litellm.InternalServerError("500", model="m", llm_provider="hosted_vllm"), "server"),
        (litellm.APIConnectionError("refused", model="m", llm_provider="hosted_vllm"), "server"),
        (litellm.BadRequestError("400", model="m", llm_provider="hosted_vllm"), "client"),
        (litellm.AuthenticationError("401", model="m", llm_provider="hosted_vllm"), "client"),
        (json.JSONDecodeError("x", "doc", 0), "invalid_output"),
    ],
)
def test_classify(exc: BaseException, kind: str) -> None:
    assert classify(exc) == kind


def test_classify_looks_through_wrappers() -> None:
    try:
        try:
            raise litellm.RateLimitError("429", model="m", llm_provider="hosted_vllm")
        except litellm.RateLimitError as inner:
            raise RuntimeError("wrapped") from inner
    except RuntimeError as outer:
        assert classify(outer) == "rate_limit"


def test_backend_error_message_and_flags() -> None:
    err = BackendError("incomplete", "hit max_tokens", raw='{"a"', usage=Usage(completion_tokens=5))
    assert not err.retryable and err.raw == '{"a"' and err.usage.completion_tokens == 5


def test_invalid_backend_settings_are_refused() -> None:
    for kwargs in ({"max_concurrency": 0}, {"timeout_s": 0}, {"max_retries": -1}):
        with pytest.raises(ValueError):
            LiteLLMBackend("hosted_vllm/x", **kwargs)  # type: ignore[arg-type]


def test_no_event_loop_is_created_at_construction() -> None:
    LiteLLMBackend("hosted_vllm/x")
    with pytest.raises(RuntimeError):
        asyncio.get_running_loop()



def test_a_hosted_provider_keeps_its_own_key(monkeypatch: pytest.MonkeyPatch) -> None:
    """No api_base: nothing is sent as api_key, so litellm reads the provider's key from the environment
    (a placeholder would override it); with an api_base (our vLLM) a placeholder is sent."""
    import judges.litellm_backend as module

    sent: list[dict] = []

    async def refuse(**kwargs: object) -> None:
        sent.append(dict(kwargs))
        raise ValueError("stop here")

    monkeypatch.setattr(module.litellm, "acompletion", refuse)
    for backend in (LiteLLMBackend("anthropic/claude-x", max_retries=0),
                    LiteLLMBackend("hosted_vllm/x", api_base="http://127.0.0.1:9/v1", max_retries=0)):  # fmt: skip
        with pytest.raises(BackendError):
            asyncio.run(backend.complete([{"role": "user", "content": "hi"}], None, SamplingParams()))
    assert [s["api_key"] for s in sent] == [None, "EMPTY"]
