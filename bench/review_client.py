"""The review bench's client: N closed-loop reviewers on httpx async clients, one connection each.

A turn is "POST next assignment, then POST its ranking" until the ranking is answered; every failed request
is counted by kind and sent again (a ranking with the same Idempotency-Key), so that a run always ends
with every pair confirmed and the store can be checked against what the client was told.
"""

from __future__ import annotations

import asyncio
import os
import random
import time
import uuid
from collections import Counter
from dataclasses import dataclass, field
from typing import Any

import httpx

MAX_ATTEMPTS = 200
"""A request failing this many times in a row stops its reviewer (an error kind `gave up`)."""


@dataclass
class LoadResult:
    """What the clients saw: turn latencies, errors by kind, confirmed rankings and the run's wall time."""

    turns: list[float] = field(default_factory=list)
    errors: Counter[str] = field(default_factory=Counter)
    confirmed: int = 0
    seconds: float = 0.0
    load_before: float = 0.0
    load_after: float = 0.0

    @property
    def per_second(self) -> float:
        return len(self.turns) / self.seconds if self.seconds else 0.0

    def quantile(self, q: float) -> float:
        ordered = sorted(self.turns)
        return ordered[min(len(ordered) - 1, int(q * len(ordered)))] if ordered else 0.0

    @property
    def p99(self) -> float:
        return self.quantile(0.99)

    def summary(self) -> dict[str, Any]:
        return {
            "turns": len(self.turns),
            "seconds": round(self.seconds, 2),
            "rankings_per_s": round(self.per_second, 1),
            "p50_s": round(self.quantile(0.5), 4),
            "p99_s": round(self.p99, 4),
            "errors": dict(self.errors),
            "load_before": round(self.load_before, 2),
            "load_after": round(self.load_after, 2),
        }


def _kind(reply: httpx.Response | Exception) -> str:
    """An error's kind: the status and the start of its detail, or the exception's class."""
    if isinstance(reply, Exception):
        return type(reply).__name__
    try:
        detail = str(reply.json().get("detail", ""))
    except ValueError:
        detail = reply.text
    return f"{reply.status_code} {detail[:60]}"


async def _send(client: httpx.AsyncClient, result: LoadResult, path: str, **kwargs: Any) -> httpx.Response | None:
    """POST until answered 2xx; every other answer or failure is counted and sent again."""
    for _ in range(MAX_ATTEMPTS):
        try:
            reply = await client.post(path, **kwargs)
        except httpx.HTTPError as exc:
            result.errors[_kind(exc)] += 1
        else:
            if reply.status_code < 300:
                return reply
            result.errors[_kind(reply)] += 1
        await asyncio.sleep(0.05)
    result.errors["gave up"] += 1
    return None


async def _reviewer(base: str, project_id: int, token: str, retries: int, result: LoadResult) -> None:
    rng = random.Random(token)
    headers = {"Authorization": f"Bearer {token}"}
    async with httpx.AsyncClient(base_url=base, headers=headers, timeout=300) as client:
        while True:
            started = time.perf_counter()
            reply = await _send(client, result, f"/projects/{project_id}/assignments/next")
            item = reply.json()["assignment"] if reply else None
            if item is None:
                return
            body, key = {"outcome": rng.choice(["a", "b", "tie"])}, {"Idempotency-Key": str(uuid.uuid4())}
            sent = await _send(client, result, f"/assignments/{item['id']}/ranking", json=body, headers=key)
            if sent is None:
                return
            result.turns.append(time.perf_counter() - started)
            result.confirmed += 1
            for _ in range(retries):  # the same submission again: it must answer the first ranking, new nothing
                again = await _send(client, result, f"/assignments/{item['id']}/ranking", json=body, headers=key)
                if again is None or again.json()["id"] != sent.json()["id"] or again.json()["created"]:
                    result.errors["retry answered differently"] += 1


def run_load(base: str, project_id: int, tokens: list[str], retries: int = 0) -> LoadResult:
    """Run one reviewer per token against `base` until the queue is empty."""
    result = LoadResult(load_before=os.getloadavg()[0])

    async def everyone() -> None:
        await asyncio.gather(*(_reviewer(base, project_id, t, retries, result) for t in tokens))

    started = time.perf_counter()
    asyncio.run(everyone())
    result.seconds = time.perf_counter() - started
    result.load_after = os.getloadavg()[0]
    return result
