"""The service's LLM backend, built from settings: one litellm backend with the store as its cache."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from server.settings import Settings
from server.storage import Repository, Store

if TYPE_CHECKING:  # litellm and instructor take seconds to import: only a process that calls a model pays
    from judges.litellm_backend import LiteLLMBackend


class StoreCache:
    """The backend's content-addressed cache, kept in the one storage layer (table `llm_cache`)."""

    def __init__(self, store: Store) -> None:
        self.store = store

    def get(self, key: str) -> dict[str, Any] | None:
        with self.store.read() as session:
            return Repository(session).cache_get(key)

    def put(self, key: str, record: dict[str, Any]) -> None:
        with self.store.write() as session:
            Repository(session).cache_put(key, record)


def allowed_model(settings: Settings, model: str | None) -> bool:
    """True for a model a request may name: the configured judge model or one the operator listed.

    >>> s = Settings(home="/tmp/rb", allowed_models=["hosted_vllm/big"])
    >>> allowed_model(s, None), allowed_model(s, "hosted_vllm/big"), allowed_model(s, "ollama/probe-model")
    (True, True, False)
    """
    return model is None or model == settings.judge_model or model in settings.allowed_models


def make_backend(settings: Settings, store: Store, model: str | None = None) -> LiteLLMBackend:
    """A backend for `model` (default: the configured judge model).

    `hosted_vllm/…` and `openai/…` models talk to RUBRICATE_MODEL_BASE_URL with RUBRICATE_MODEL_API_KEY;
    any other litellm provider (`anthropic/…`, `gpt-4o`, …) uses its own endpoint and its own key from
    the environment — the operator's key goes to the configured base URL only. Which models a request
    may name is :func:`allowed_model`'s rule.

    """
    from judges.litellm_backend import LiteLLMBackend

    name = model or settings.judge_model
    local = name.startswith(("hosted_vllm/", "openai/"))
    return LiteLLMBackend(
        name,
        api_base=settings.model_base_url if local else None,
        api_key=settings.model_api_key if local else None,
        max_concurrency=settings.max_concurrency,
        stall_timeout_s=settings.stall_timeout_s,
        timeout_s=settings.request_timeout_s,
        stream=settings.model_stream,
        cache=StoreCache(store),
    )
