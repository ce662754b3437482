"""Fault injection through the REAL LiteLLMBackend against a fake OpenAI-compatible server.

Each test asserts what the fake did and what we made of it: the fake saw exactly the requests our
retry policy allows, and the failure is a BackendError with the kind that follows from what the server
did (an error status, broken output, a cut, silence) — never from how fast this machine happens to be.
Wall time appears only as an upper bound with a generous `SLACK_S`, to prove that nothing hangs, and
as a lower bound where a test proves that a call waited for its no-progress deadline.
"""

from __future__ import annotations

import asyncio
import json
import math
import os
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Literal

import pytest
from pydantic import BaseModel, ConfigDict, Field

from judges.backend import BackendError, InMemoryCache, SamplingParams
from judges.litellm_backend import LiteLLMBackend
from rubrics.loader import LIBRARY, load_rubric
from server.imports.service import import_rows
from server.rubric_registry import publish
from server.storage import open_store
from server.storage.tables import Verdict
from tests.support.fake_openai import FakeServer, fake_openai_server

MESSAGES = [{"role": "user", "content": "Which answer is better?"}]
PARAMS = SamplingParams(max_tokens=64, seed=0)
SLACK_S = 8.0  # upper bounds only prove nothing hangs: a 2-core machine with both cores busy is slow
OK_STALL_S = 30.0  # no-progress deadline for calls that must succeed or fail by what the server says


class Answer(BaseModel):
    model_config = ConfigDict(extra="forbid")

    winner: Literal["a", "b", "tie"]
    rationale: str = Field(max_length=300)


@pytest.fixture(scope="module")
def fake() -> Iterator[FakeServer]:
    with fake_openai_server() as server:
        yield server


def name(scenario: str) -> str:
    """A model name unique to one test, so request counts don't mix."""
    return f"{scenario}-{uuid.uuid4().hex[:8]}"


def backend(fake: FakeServer, served: str, **kwargs: object) -> LiteLLMBackend:
    """A backend whose only deadline is a long no-progress one, unless a test sets its own."""
    options: dict = {"stall_timeout_s": OK_STALL_S, "max_retries": 2, "backoff_s": 0.05} | kwargs
    return LiteLLMBackend(f"hosted_vllm/{served}", api_base=fake.base_url, **options)


async def timed_failure(call) -> tuple[BackendError, float]:  # type: ignore[no-untyped-def]
    started = time.monotonic()
    with pytest.raises(BackendError) as info:
        await call
    return info.value, time.monotonic() - started


async def test_ok_structured_records_usage(fake: FakeServer) -> None:
    served = name("ok")
    completion = await backend(fake, served).complete(MESSAGES, Answer, PARAMS)
    assert completion.value == Answer(winner="a", rationale="A is correct.")
    assert (completion.usage.prompt_tokens, completion.usage.completion_tokens) == (7, 3)
    assert completion.attempts == 1 and not completion.cached
    assert fake.requests[served] == 1
    body = next(b for b in fake.bodies if b["model"] == served)
    assert body["response_format"]["type"] == "json_schema"  # guided decoding gets the schema
    assert body["seed"] == 0 and body["max_tokens"] == 64


async def test_token_logprobs_are_recorded_when_asked(fake: FakeServer) -> None:
    """Asked for logprobs, the backend records each streamed token with its alternatives, and the
    judge's probability of each outcome is read off the token that starts the `winner` value."""
    from judges.confidence import outcome_probabilities

    served = name("ok")
    asked = await backend(fake, served).complete(MESSAGES, Answer, PARAMS.model_copy(update={"logprobs": 3}))
    plain = await backend(fake, served).complete(MESSAGES, Answer, PARAMS)
    body = [b for b in fake.bodies if b["model"] == served]
    assert body[0]["logprobs"] is True and body[0]["top_logprobs"] == 3 and "logprobs" not in body[1]
    assert "".join(t.token for t in asked.logprobs) == asked.raw and plain.logprobs == ()
    # The value 'a' starts inside a token (': "a", "ration'); its alternatives read it as b (-2.5) or tie (-4.0).
    probabilities = outcome_probabilities(asked.raw, asked.logprobs, field="winner")
    mass = {"a": math.exp(-0.1), "b": math.exp(-2.5), "tie": math.exp(-4.0)}
    assert probabilities == pytest.approx({k: v / sum(mass.values()) for k, v in mass.items()})


async def test_hang_times_out_within_the_total_cap_after_retries(fake: FakeServer) -> None:
    served = name("hang")
    capped = backend(fake, served, timeout_s=0.5)
    error, elapsed = await timed_failure(capped.complete(MESSAGES, Answer, PARAMS))
    assert error.kind == "timeout" and error.retryable and "total-time cap" in error.message
    assert error.attempts == 3 and fake.requests[served] == 3
    assert 0.5 * 3 <= elapsed < 0.5 * 3 + SLACK_S  # the default deadline is timeout_s * (max_retries + 1)


async def test_overall_deadline_cuts_retries_short(fake: FakeServer) -> None:
    served = name("hang")
    slow = backend(fake, served, timeout_s=0.4, max_retries=10, backoff_s=0.05, deadline_s=1.0)
    error, elapsed = await timed_failure(slow.complete(MESSAGES, Answer, PARAMS))
    assert error.kind == "timeout"
    assert elapsed < 1.0 + SLACK_S
    assert 2 <= error.attempts <= 3  # 0.4 + 0.05 + 0.4 + 0.1 + (what is left of 1.0)
    # the server may not even have read a request the client gave up on (both cores busy: it counted 0 once)
    assert fake.requests[served] <= error.attempts


async def test_per_call_timeout_overrides_backend_timeout(fake: FakeServer) -> None:
    served = name("hang")
    _, elapsed = await timed_failure(
        backend(fake, served, timeout_s=30, max_retries=0).complete(
            MESSAGES, Answer, PARAMS.model_copy(update={"timeout_s": 0.3})
        )
    )
    assert 0.3 <= elapsed < 0.3 + SLACK_S and fake.requests[served] == 1


async def test_slow_but_steady_server_never_times_out(fake: FakeServer) -> None:
    """20 concurrent calls to a server that streams one token per 200 ms: each takes ~4 s, four times
    the no-progress deadline, and every one succeeds in one attempt (no total cap applies)."""
    served = name("drip")
    steady = backend(fake, served, stall_timeout_s=1.0, max_retries=0)
    started = time.monotonic()
    results = await asyncio.gather(*(steady.complete(MESSAGES, Answer, PARAMS) for _ in range(20)))
    elapsed = time.monotonic() - started
    assert [r.value for r in results] == [Answer(winner="a", rationale="A is correct.")] * 20
    assert all(r.attempts == 1 for r in results) and fake.requests[served] == 20
    assert elapsed >= fake.drip_s * fake.drip_tokens > 1.0  # each call lasted longer than the deadline
    assert all(r.usage.completion_tokens == fake.drip_tokens for r in results)


async def test_without_streaming_a_finished_answer_is_the_progress(fake: FakeServer) -> None:
    """A provider that cannot stream: 20 concurrent 4 s answers succeed under a deadline longer than one
    answer (here 6 s) although the batch as a whole takes longer; with a 1 s deadline they could not."""
    served = name("drip")
    whole = backend(fake, served, stall_timeout_s=6.0, max_retries=0, stream=False)
    results = await asyncio.gather(*(whole.complete(MESSAGES, Answer, PARAMS) for _ in range(20)))
    assert all(r.attempts == 1 and r.value.winner == "a" for r in results) and fake.requests[served] == 20


@pytest.mark.parametrize("stream", [True, False])
async def test_waiting_in_a_saturated_servers_queue_is_not_a_timeout(fake: FakeServer, stream: bool) -> None:
    """A server that serves one request at a time (0.6 s each): the 8th call waits ~4 s for its first
    byte, past the 1.5 s no-progress deadline, while the calls ahead of it progress; all succeed."""
    served = name("queue")
    fake.drip_tokens, fake.drip_s = 6, 0.1
    try:
        queued = backend(fake, served, stall_timeout_s=1.5, max_retries=0, stream=stream)
        results = await asyncio.gather(*(queued.complete(MESSAGES, Answer, PARAMS) for _ in range(8)))
    finally:
        fake.drip_tokens, fake.drip_s = 20, 0.2
    assert len(results) == 8 and all(r.attempts == 1 for r in results)
    assert max(r.latency_s for r in results) > 1.5 and fake.requests[served] == 8


async def test_stalled_stream_fails_every_call_as_timeout_within_its_deadline(fake: FakeServer) -> None:
    """20 concurrent calls to a server that sends 3 tokens and then nothing: every call fails as
    `timeout` once nothing has progressed for the 1 s deadline (times 2 attempts), keeping its partial text."""
    served = name("stall")
    stalled = backend(fake, served, stall_timeout_s=1.0, max_retries=1, backoff_s=0.05)
    started = time.monotonic()
    outcomes = await asyncio.gather(
        *(stalled.complete(MESSAGES, Answer, PARAMS) for _ in range(20)), return_exceptions=True
    )
    elapsed = time.monotonic() - started
    assert all(isinstance(o, BackendError) and o.kind == "timeout" and o.attempts == 2 for o in outcomes)
    assert all("no progress for 1s" in o.message and o.raw for o in outcomes)  # type: ignore[union-attr]
    assert fake.requests[served] == 40
    assert 2 * 1.0 <= elapsed < 2 * 1.0 + 0.05 + SLACK_S


async def test_silent_server_fails_as_timeout_after_the_no_progress_deadline(fake: FakeServer) -> None:
    served = name("hang")
    silent = backend(fake, served, stall_timeout_s=0.5, max_retries=0)
    error, elapsed = await timed_failure(silent.complete(MESSAGES, Answer, PARAMS))
    assert error.kind == "timeout" and "no progress" in error.message and fake.requests[served] == 1
    assert 0.5 <= elapsed < 0.5 + SLACK_S


async def test_rate_limit_is_retried_then_succeeds(fake: FakeServer) -> None:
    served = name("ratelimit")
    completion = await backend(fake, served).complete(MESSAGES, Answer, PARAMS)
    assert completion.value.winner == "a"
    assert completion.attempts == 2 and fake.requests[served] == 2


async def test_503_is_retried_then_succeeds_for_free_text(fake: FakeServer) -> None:
    served = name("error503then")
    completion = await backend(fake, served).complete(MESSAGES, None, PARAMS)
    assert isinstance(completion.value, str) and completion.attempts == 2
    assert fake.requests[served] == 2


async def test_persistent_500_fails_as_server_after_all_retries(fake: FakeServer) -> None:
    served = name("error500")
    error, elapsed = await timed_failure(backend(fake, served).complete(MESSAGES, Answer, PARAMS))
    assert error.kind == "server" and error.attempts == 3
    assert fake.requests[served] == 3
    assert elapsed < 0.05 + 0.1 + SLACK_S


async def test_400_is_not_retried(fake: FakeServer) -> None:
    served = name("badrequest")
    error, _ = await timed_failure(backend(fake, served).complete(MESSAGES, Answer, PARAMS))
    assert error.kind == "client" and not error.retryable
    assert error.attempts == 1 and fake.requests[served] == 1


async def test_invalid_json_gets_one_validation_reask_then_fails(fake: FakeServer) -> None:
    served = name("badjson")
    error, _ = await timed_failure(backend(fake, served).complete(MESSAGES, Answer, PARAMS))
    assert error.kind == "invalid_output" and error.attempts == 1
    assert fake.requests[served] == 2  # the first answer plus instructor's one re-ask; no backend retry


async def test_invalid_json_without_reask(fake: FakeServer) -> None:
    served = name("badjson")
    error, _ = await timed_failure(backend(fake, served, validation_retries=0).complete(MESSAGES, Answer, PARAMS))
    assert error.kind == "invalid_output" and fake.requests[served] == 1


async def test_truncated_output_is_incomplete_and_not_retried(fake: FakeServer) -> None:
    served = name("truncated")
    error, _ = await timed_failure(backend(fake, served).complete(MESSAGES, Answer, PARAMS))
    assert error.kind == "incomplete" and fake.requests[served] == 1
    assert error.raw and error.raw.startswith('{"winner"')
    assert error.usage.completion_tokens == 3


async def test_connection_refused_is_a_server_error(fake: FakeServer) -> None:
    from judges.local_model import free_port

    nowhere = LiteLLMBackend(
        "hosted_vllm/ok-x", api_base=f"http://127.0.0.1:{free_port()}/v1", max_retries=1, backoff_s=0.05
    )
    error, elapsed = await timed_failure(nowhere.complete(MESSAGES, Answer, PARAMS))
    assert error.kind == "server" and error.attempts == 2
    assert elapsed < 1.0 + SLACK_S


async def test_cache_hit_sends_no_request(fake: FakeServer) -> None:
    served = name("ok")
    cached = backend(fake, served, cache=InMemoryCache())
    first = await cached.complete(MESSAGES, Answer, PARAMS)
    second = await cached.complete(MESSAGES, Answer, PARAMS)
    other_seed = await cached.complete(MESSAGES, Answer, PARAMS.model_copy(update={"seed": 1}))
    assert not first.cached and second.cached and not other_seed.cached
    assert second.value == first.value and second.usage == first.usage and second.attempts == 0
    assert fake.requests[served] == 2


async def test_failures_are_not_cached(fake: FakeServer) -> None:
    served = name("badrequest")
    cache = InMemoryCache()
    for _ in range(2):
        await timed_failure(backend(fake, served, cache=cache).complete(MESSAGES, Answer, PARAMS))
    assert fake.requests[served] == 2 and not cache.records


async def test_concurrency_limit_holds_and_queueing_does_not_time_out(fake: FakeServer) -> None:
    served = name("slow")
    limited = backend(fake, served, max_concurrency=2, stall_timeout_s=1.0, max_retries=0)
    results = await asyncio.gather(*(limited.complete(MESSAGES, Answer, PARAMS) for _ in range(6)))
    assert len(results) == 6 and fake.peak[served] == 2


@pytest.mark.parametrize(
    ("scenario", "kind"),
    [("hang", "timeout"), ("error500", "server"), ("badrequest", "client"), ("truncated", "incomplete")],
)
async def test_judge_records_failed_verdicts_with_their_kind(
    fake: FakeServer, scenario: str, kind: Literal["timeout", "server", "client", "incomplete"]
) -> None:
    from judges.pairwise import PairwiseJudge
    from rubrics.loader import load_library

    rubric = load_library()["hhh"]
    judge = PairwiseJudge(backend(fake, name(scenario), stall_timeout_s=1.0, max_retries=1), rubric)
    started = time.monotonic()
    judgement = await judge.judge("What is 2+2?", "4", "5")
    assert time.monotonic() - started < 1.0 * 2 + SLACK_S
    assert [v.order for v in judgement.verdicts] == ["ab", "ba"]
    assert all(v.outcome is None and v.error and v.error_kind == kind for v in judgement.verdicts)
    assert judgement.outcome is None and judgement.consistent is None


def test_one_backend_serves_several_event_loops(fake: FakeServer) -> None:
    served = name("slow")
    shared = backend(fake, served, max_concurrency=1, max_retries=0)

    async def burst() -> None:  # contention makes the semaphore bind to this loop
        await asyncio.gather(*(shared.complete(MESSAGES, Answer, PARAMS) for _ in range(2)))

    asyncio.run(burst())
    asyncio.run(burst())  # a second loop: would raise "bound to a different event loop" with one semaphore
    assert fake.requests[served] == 4 and fake.peak[served] == 1


def test_judge_job_over_a_failing_server_records_every_failure_and_finishes(fake: FakeServer, tmp_path: Path) -> None:
    """The whole path a user runs: `rubricate judge` against a server answering 500, then one that hangs.

    The kinds follow from what the server does: 500s fail as `server` however slow the machine (no
    deadline comes near), silence fails as `timeout` after the 1 s no-progress deadline.
    """
    home = tmp_path / "home"
    env = {**os.environ, "RUBRICATE_HOME": str(home), "RUBRICATE_MODEL_BASE_URL": fake.base_url,
           "RUBRICATE_STALL_TIMEOUT_S": "1.0"}  # fmt: skip
    env.pop("RUBRICATE_REQUEST_TIMEOUT_S", None)
    env.pop("RUBRICATE_DATABASE_URL", None)
    store = open_store(f"sqlite:///{home / 'rubricate.db'}")
    rows = [(f"r{i}", {"prompt": f"Q{i}?", "response_a": "yes", "response_b": "no"}) for i in range(3)]
    import_rows(store, rows, project="p")
    publish(store, load_rubric(LIBRARY / "hhh.yaml"))
    for scenario, kind in (("error500", "server"), ("hang", "timeout")):
        served = name(scenario)
        started = time.monotonic()
        done = subprocess.run(
            [sys.executable, "-m", "server", "judge", "--project", "p", "--rubric", "hhh",
             "--model", f"hosted_vllm/{served}", "--json"],
            capture_output=True, text=True, env=env, timeout=120,
        )  # fmt: skip
        assert done.returncode == 0, done.stderr
        assert json.loads(done.stdout) | {"job": None} == {
            "job": None, "pairs": 3, "verdicts": 6, "failed": 6, "inconsistent": 0
        }  # fmt: skip
        assert time.monotonic() - started < 90  # every call ended (4 attempts x 1 s of silence, + start-up)
        with store.read() as session:
            failed = session.query(Verdict).filter(Verdict.judge_model == f"hosted_vllm/{served}").all()
        assert len(failed) == 6 and all(v.outcome is None and v.meta["error_kind"] == kind for v in failed)
        assert all(v.error and v.rubric_version_id and v.order in ("ab", "ba") for v in failed)
