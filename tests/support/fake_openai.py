"""A fake OpenAI-compatible server for fault injection only (hangs, 429, 5xx, bad JSON, truncation).

The behaviour is chosen by the requested model name, `<scenario>-<anything>` (litellm strips the
`hosted_vllm/` prefix), so one server serves every fault test and each test counts its own requests
by using a unique suffix. Runs uvicorn in a thread on 127.0.0.1 and a free port. A request with
`"stream": true` gets the answer as server-sent events (as vLLM sends them: a role chunk, content
chunks, a chunk with the finish reason, a usage chunk when `stream_options.include_usage`, `[DONE]`).

Scenarios:
    ok            200 with `FakeServer.answer` as the message content (JSON), finish_reason "stop"
    text          200 with a plain-text answer
    slow          sleeps `FakeServer.slow_s`, then like ok (concurrency checks)
    drip          like ok, streamed in `FakeServer.drip_tokens` pieces, one every `FakeServer.drip_s`
                  (a busy server: slow but steady); without streaming, the whole answer after that time
    stall         streams the first 3 pieces of the answer, then never sends another byte
    queue         like drip, but serves one request at a time: the others wait in the server's queue
                  with no byte sent (a saturated server), as vLLM's waiting requests do
    hang          never answers (until the client gives up)
    ratelimit     429 on the first request of this model name, 200 (ok) afterwards
    error500      always 500
    error503then  503 on the first request, 200 afterwards
    badrequest    always 400
    badjson       200 with content that is not JSON
    truncated     200 with half a JSON object and finish_reason "length"
"""

from __future__ import annotations

import asyncio
import itertools
import json
import threading
import time
from collections import Counter
from collections.abc import AsyncIterator, Callable, Iterator
from contextlib import contextmanager
from typing import Any

import uvicorn
from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse, StreamingResponse

from judges.local_model import free_port


class FakeServer:
    """State shared between the app and the tests: request counts and in-flight peaks per model."""

    def __init__(self) -> None:
        self.requests: Counter[str] = Counter()
        self.in_flight: Counter[str] = Counter()
        self.peak: Counter[str] = Counter()
        self.bodies: list[dict[str, Any]] = []
        self.answer: dict[str, Any] = {"winner": "a", "rationale": "A is correct."}
        self.slow_s = 0.3
        self.drip_s = 0.2
        self.drip_tokens = 20
        self.base_url = ""
        self._serving: asyncio.Lock | None = None

    def app(self) -> FastAPI:
        app = FastAPI()

        @app.get("/v1/models")
        async def models() -> dict[str, Any]:
            return {"object": "list", "data": [{"id": "fake", "object": "model"}]}

        @app.post("/v1/chat/completions")
        async def chat(request: Request) -> JSONResponse:
            body = await request.json()
            model = str(body.get("model", ""))
            self.bodies.append(body)
            self.requests[model] += 1
            self.in_flight[model] += 1
            self.peak[model] = max(self.peak[model], self.in_flight[model])
            scenario = model.split("-", 1)[0]
            streaming = bool(body.get("stream"))
            try:
                error = await self._fault(scenario, self.requests[model], streaming)
                if error is not None:
                    return error
                if scenario == "queue":
                    return await self._queued(model, body, streaming)
                if streaming:
                    return self._stream(scenario, model, body)
                return _completion(model, *self._content(scenario))
            finally:
                self.in_flight[model] -= 1

        return app

    async def _queued(self, model: str, body: dict[str, Any], streaming: bool) -> Any:
        """One request at a time: wait for the server, then drip the answer (streamed or whole)."""
        if self._serving is None:
            self._serving = asyncio.Lock()
        await self._serving.acquire()
        if not streaming:
            try:
                await asyncio.sleep(self.drip_s * self.drip_tokens)
                return _completion(model, *self._content("ok"))
            finally:
                self._serving.release()
        return self._stream("drip", model, body, self._serving.release)

    def _stream(
        self, scenario: str, model: str, body: dict[str, Any], done: Callable[[], None] | None = None
    ) -> StreamingResponse:
        content, finish_reason = self._content(scenario)
        pieces = _split(content, self.drip_tokens if scenario in ("drip", "stall") else 3)
        usage = (body.get("stream_options") or {}).get("include_usage", False)
        wants = bool(body.get("logprobs"))
        self.in_flight[model] += 1  # the stream outlives the handler: count it until the last chunk

        async def events() -> AsyncIterator[str]:
            try:
                if scenario == "slow":
                    await asyncio.sleep(self.slow_s)
                yield _event(model, {"role": "assistant", "content": ""}, None)
                for index, piece in enumerate(pieces):
                    if scenario == "stall" and index == 3:
                        await asyncio.sleep(3600)
                    if scenario == "drip":
                        await asyncio.sleep(self.drip_s)
                    yield _event(model, {"content": piece}, None, logprobs=_logprobs([piece]) if wants else None)
                yield _event(model, {}, finish_reason)
                if usage:
                    yield _event(model, None, None, usage={"prompt_tokens": 7, "completion_tokens": len(pieces),
                                                           "total_tokens": 7 + len(pieces)})  # fmt: skip
                yield "data: [DONE]\n\n"
            finally:
                self.in_flight[model] -= 1
                if done is not None:
                    done()

        return StreamingResponse(events(), media_type="text/event-stream")

    def _content(self, scenario: str) -> tuple[str, str]:
        if scenario == "badjson":
            return "this {not json", "stop"
        if scenario == "truncated":
            return json.dumps(self.answer)[:12], "length"
        if scenario == "text":
            return "Rain taps the window.", "stop"
        return json.dumps(self.answer), "stop"

    async def _fault(self, scenario: str, count: int, streaming: bool) -> JSONResponse | None:
        """The error (or the wait) a scenario answers with before any content; None to answer normally."""
        if scenario == "hang" or (scenario == "stall" and not streaming):
            await asyncio.sleep(3600)
        if scenario == "slow" and not streaming:
            await asyncio.sleep(self.slow_s)
        if scenario == "drip" and not streaming:
            await asyncio.sleep(self.drip_s * self.drip_tokens)
        if scenario == "ratelimit" and count == 1:
            return _error(429, "rate limited", "rate_limit_exceeded")
        if scenario == "error503then" and count == 1:
            return _error(503, "overloaded", "server_error")
        if scenario == "error500":
            return _error(500, "boom", "server_error")
        if scenario == "badrequest":
            return _error(400, "bad request: unknown field", "invalid_request_error")
        return None


def _split(text: str, parts: int) -> list[str]:
    """`text` in `parts` pieces of nearly equal length (the fake's "tokens"; fewer when it is shorter)."""
    bounds = [len(text) * i // parts for i in range(parts + 1)]
    return [text[start:end] for start, end in itertools.pairwise(bounds) if end > start]


def _logprobs(pieces: list[str]) -> dict[str, Any]:
    """OpenAI-shaped logprobs: each piece at -0.1; alternatives with its first `a` read as `b` (-2.5) or `t` (-4.0)."""
    content = []
    for piece in pieces:
        top = {piece: -0.1, piece.replace("a", "b", 1): -2.5, piece.replace("a", "t", 1): -4.0}
        alternatives = [{"token": token, "logprob": logprob} for token, logprob in top.items()]
        content.append({"token": piece, "logprob": -0.1, "top_logprobs": alternatives})
    return {"content": content}


def _event(
    model: str,
    delta: dict[str, Any] | None,
    finish_reason: str | None,
    usage: dict | None = None,
    logprobs: dict[str, Any] | None = None,
) -> str:
    choice = {"index": 0, "delta": delta, "finish_reason": finish_reason, "logprobs": logprobs}
    chunk: dict[str, Any] = {
        "id": "chatcmpl-fake",
        "object": "chat.completion.chunk",
        "created": int(time.time()),
        "model": model,
        "choices": [] if delta is None else [choice],
    }
    if usage is not None:
        chunk["usage"] = usage
    return f"data: {json.dumps(chunk)}\n\n"


def _error(status: int, message: str, kind: str) -> JSONResponse:
    return JSONResponse({"error": {"message": message, "type": kind, "code": status}}, status_code=status)


def _completion(model: str, content: str, finish_reason: str) -> JSONResponse:
    return JSONResponse(
        {
            "id": "chatcmpl-fake",
            "object": "chat.completion",
            "created": int(time.time()),
            "model": model,
            "choices": [
                {
                    "index": 0,
                    "message": {"role": "assistant", "content": content},
                    "finish_reason": finish_reason,
                }
            ],
            "usage": {"prompt_tokens": 7, "completion_tokens": 3, "total_tokens": 10},
        }
    )


@contextmanager
def fake_openai_server() -> Iterator[FakeServer]:
    """Start the fake on 127.0.0.1:<free port> in a thread; stop it on exit."""
    state = FakeServer()
    port = free_port()
    config = uvicorn.Config(
        state.app(), host="127.0.0.1", port=port, log_level="warning", timeout_graceful_shutdown=1, lifespan="off"
    )
    server = uvicorn.Server(config)
    thread = threading.Thread(target=server.run, name="fake-openai", daemon=True)
    thread.start()
    deadline = time.monotonic() + 10
    while not server.started:
        if time.monotonic() > deadline or not thread.is_alive():
            raise RuntimeError("the fake OpenAI server did not start")
        time.sleep(0.02)
    state.base_url = f"http://127.0.0.1:{port}/v1"
    try:
        yield state
    finally:
        server.should_exit = True
        thread.join(timeout=10)
