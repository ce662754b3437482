"""Concurrent reviewers over HTTP (httpx async): each loops "next assignment, then ranking", split across servers.

Reviewer i works against server i mod S. Unless retries are off, every third turn the same ranking (same
Idempotency-Key) goes to its server and to the next one at the same moment; every third turn, one after the
other; both answers must name the same ranking. What each server said is kept, so a test can compare it with the store.
"""

from __future__ import annotations

import asyncio
import random
import time
import uuid
from collections import Counter
from dataclasses import dataclass, field

import httpx


@dataclass
class LoadResult:
    """What the reviewers saw: confirmed rankings by assignment, answers by status, retries that disagreed."""

    confirmed: dict[int, int] = field(default_factory=dict)  # assignment id -> ranking id
    statuses: Counter[int] = field(default_factory=Counter)
    created: Counter[bool] = field(default_factory=Counter)
    disagreeing_retries: list[tuple[int, int]] = field(default_factory=list)
    errors: Counter[str] = field(default_factory=Counter)
    retries: int = 0  # submissions sent a second time with the same key (to the other server)
    turns: int = 0
    elapsed_s: float = 0.0

    @property
    def rankings_per_s(self) -> float:
        return self.turns / self.elapsed_s if self.elapsed_s else 0.0


async def _post(client: httpx.AsyncClient, path: str, result: LoadResult, **kwargs: object) -> httpx.Response:
    """POST, retried on a transport error or a 5xx (what a reviewer's screen does); every answer is counted."""
    for _ in range(20):
        try:
            reply = await client.post(path, **kwargs)  # type: ignore[arg-type]
        except httpx.TransportError as exc:
            result.errors[type(exc).__name__] += 1
            await asyncio.sleep(0.2)
            continue
        result.statuses[reply.status_code] += 1
        if reply.status_code < 500:
            return reply
        await asyncio.sleep(0.2)
    raise RuntimeError(f"POST {path} kept failing: {result.statuses} {result.errors}")


async def _rank(home: httpx.AsyncClient, other: httpx.AsyncClient, item: int, turn: int, result: LoadResult,
                headers: dict[str, str], body: dict[str, str], retries: bool) -> None:  # fmt: skip
    path = f"/assignments/{item}/ranking"
    headers = headers | {"Idempotency-Key": str(uuid.uuid4())}
    if not retries:
        replies = [await _post(home, path, result, json=body, headers=headers)]
    elif turn % 3 == 0:  # the same submission at once on two servers
        replies = await asyncio.gather(*(_post(c, path, result, json=body, headers=headers) for c in (home, other)))
    elif turn % 3 == 1:  # a retry on the other server after the first answer
        replies = [await _post(home, path, result, json=body, headers=headers)]
        replies.append(await _post(other, path, result, json=body, headers=headers))
    else:
        replies = [await _post(home, path, result, json=body, headers=headers)]
    result.retries += len(replies) - 1
    for reply in replies:
        assert reply.status_code in (200, 201), reply.text
        result.created[reply.json()["created"]] += 1
    ids = {reply.json()["id"] for reply in replies}
    if len(ids) > 1:
        result.disagreeing_retries.append((item, len(ids)))
    result.confirmed[item] = replies[0].json()["id"]


async def _reviewer(
    clients: list[httpx.AsyncClient], index: int, token: str, project_id: int, result: LoadResult, retries: bool
) -> None:
    home, other = clients[index % len(clients)], clients[(index + 1) % len(clients)]
    headers = {"Authorization": f"Bearer {token}"}
    rng = random.Random(index)
    turn = index
    while True:
        reply = await _post(home, f"/projects/{project_id}/assignments/next", result, headers=headers)
        assert reply.status_code == 200, reply.text
        item = reply.json()["assignment"]
        if item is None:
            return
        body = {"outcome": rng.choice(["a", "b", "tie"])}
        await _rank(home, other, item["id"], turn, result, headers, body, retries)
        result.turns += 1
        turn += 1


async def run_reviewers(urls: list[str], tokens: list[str], project_id: int, *, retries: bool = True) -> LoadResult:
    """Run one reviewer per token until none gets an assignment; the result holds what the servers said.

    `retries=False` sends each ranking once (a throughput load: no deliberate duplicates)."""
    result = LoadResult()
    # idle connections are dropped before uvicorn's 5 s keep-alive closes them, so no request is sent on a socket
    # the server is closing (that race shows as a ReadError, not as anything the server did)
    limits = httpx.Limits(
        max_connections=4 * len(tokens), max_keepalive_connections=4 * len(tokens), keepalive_expiry=2
    )
    clients = [httpx.AsyncClient(base_url=url, timeout=300, limits=limits) for url in urls]
    started = time.perf_counter()
    try:
        await asyncio.gather(
            *(_reviewer(clients, i, token, project_id, result, retries) for i, token in enumerate(tokens))
        )
    finally:
        result.elapsed_s = time.perf_counter() - started
        for client in clients:
            await client.aclose()
    return result
