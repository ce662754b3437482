"""Issue 13 item 6: an author names only models the operator allowed, and the operator's key goes only
to the configured base URL."""

from __future__ import annotations

from server.llm import make_backend
from server.settings import Settings
from server.storage.tables import Job
from tests.conftest import Api
from tests.unit.jobs.test_jobs import rows


def test_author_cannot_send_project_data_to_an_unlisted_model(api: Api) -> None:
    pid = api.client.post("/projects", json={"name": "p"}, headers=api.auth()).json()["id"]
    author = api.auth(api.person("au", "author", "p"))
    for model in ("ollama/probe-model", "gpt-4o", "anthropic/claude-3-haiku"):
        reply = api.client.post(f"/projects/{pid}/jobs/draft", json={"model": model}, headers=author)
        assert reply.status_code == 422 and "RUBRICATE_ALLOWED_MODELS" in reply.json()["error"]["message"], model
    assert rows(api.store, Job) == []  # no job started, nothing sent


def test_operator_key_goes_to_the_configured_base_url_only(api: Api) -> None:
    settings = Settings(home="/tmp/rb", model_api_key="sk-operator", allowed_models=["ollama/x"])
    local = make_backend(settings, api.store, "hosted_vllm/smollm2-135m-instruct")
    assert (local.api_key, local.api_base) == ("sk-operator", settings.model_base_url)
    other = make_backend(settings, api.store, "ollama/x")
    assert other.api_key is None and other.api_base is None
