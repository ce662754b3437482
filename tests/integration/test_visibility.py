"""Issue 13 item 1: the README's role × route visibility table, walked cell by cell against the API.

Reviewers read their own work and the project's counts only; before this, a reviewer listed every
ranking and judge outcome with `GET /projects/1/agreement?resamples=0&hotspots=1000` and downloaded
exports.
"""

from __future__ import annotations

import re
from typing import Any

import pytest

from rubrics.loader import LIBRARY, load_rubric_text
from server.rubric_registry import publish
from tests.conftest import ROOT, Api

ROLES = ("admin", "author", "viewer", "reviewer", "non-member")


def readme_table() -> list[tuple[str, str, dict[str, str]]]:
    """(method, path, {role: cell}) for each row between the README's visibility markers."""
    text = (ROOT / "README.md").read_text()
    block = text.split("<!-- visibility:start -->")[1].split("<!-- visibility:end -->")[0]
    rows = []
    for line in block.strip().splitlines()[2:]:
        cells = [c.strip() for c in line.strip().strip("|").split("|")]
        method, path = re.fullmatch(r"`(\w+) (\S+)`", cells[0]).groups()  # type: ignore[union-attr]
        rows.append((method, path, dict(zip(ROLES, cells[1:], strict=True))))
    return rows


def labelled(reply: dict[str, Any]) -> list[bool]:
    """Per pair in a pairs reply: does it carry rankings or verdicts or an adjudication?"""
    items = reply.get("items", [reply])
    return [bool(p["rankings"] or p["verdicts"] or p["adjudication"]) for p in items]


@pytest.fixture
def world(api: Api) -> dict[str, Any]:
    text = (LIBRARY / "hhh.yaml").read_text()
    publish(api.store, load_rubric_text(text))
    publish(api.store, load_rubric_text(text.replace("version: 1.0.0", "version: 1.0.1")))
    pid = api.client.post("/projects", json={"name": "vis"}, headers=api.auth()).json()["id"]
    rows = [
        {
            "id": str(i),
            "prompt": f"Q{i}?",
            "response_a": f"A{i}",
            "response_b": f"B{i}",
            "model_a": "m1",
            "model_b": "m2",
            "labels": {"ext1": "a", "ext2": "b" if i % 2 else "a"},
            "verdicts": [{"judge": "gpt-x", "outcome": "a", "order": "ab"}],
        }
        for i in range(6)
    ]
    assert api.client.post(f"/projects/{pid}/import", json={"rows": rows}, headers=api.auth()).status_code == 200
    pair = api.client.get(f"/projects/{pid}/pairs?limit=1", headers=api.auth()).json()["items"][0]["id"]
    assert api.client.post(f"/pairs/{pair}/adjudication", json={"outcome": "a"}, headers=api.auth()).status_code == 201
    job = api.client.post(f"/projects/{pid}/exports", json={"format": "dpo"}, headers=api.auth()).json()["job"]
    tokens = {
        "admin": api.admin_token,
        "author": api.person("au", "author", "vis"),
        "viewer": api.person("vi", "viewer", "vis"),
        "reviewer": api.person("re", "reviewer", "vis"),
        "non-member": api.person("out", "reviewer"),
    }
    return {"project": pid, "pair": pair, "job": job, "tokens": tokens}


def test_readme_visibility_table_holds_for_every_route_and_role(api: Api, world: dict[str, Any]) -> None:
    table = readme_table()
    assert len(table) >= 13
    params = {
        "agreement": {"resamples": 0, "hotspots": 1000},
        "leaderboard": {"resamples": 0},
        "compare": {"old": "hhh@1.0.0", "new": "hhh@1.0.1"},
    }
    walked = 0
    for method, template, cells in table:
        url = template.format(**{k: world[k] for k in ("project", "pair", "job")})
        query = params.get(url.rsplit("/", 1)[-1], {})
        for role, cell in cells.items():
            reply = api.client.request(method, url, params=query, headers=api.auth(world["tokens"][role]))
            where = f"{method} {template} as {role}: {reply.status_code} {reply.text[:200]}"
            walked += 1
            if cell in ("403", "404"):
                assert reply.status_code == int(cell), where
                continue
            assert reply.status_code == 200, where
            if "/pairs" in template:
                assert any(labelled(reply.json())) == (cell == "labels"), where
    assert walked == len(table) * len(ROLES)


def test_reviewer_cannot_list_hotspots_with_every_ranking(api: Api, world: dict[str, Any]) -> None:
    """The attack's request, as a reviewer of the project."""
    reviewer = api.auth(world["tokens"]["reviewer"])
    url = f"/projects/{world['project']}/agreement?resamples=0&hotspots=1000"
    assert api.client.get(url, headers=reviewer).status_code == 403
    assert api.client.get(url, headers=api.auth(world["tokens"]["viewer"])).json()["hotspots"]


def test_reviewer_cannot_read_the_leaderboard_built_from_labels(api: Api, world: dict[str, Any]) -> None:
    """Model win counts are labels summed up: a reviewer would learn how others ranked the pairs."""
    url = f"/projects/{world['project']}/leaderboard?resamples=0"
    assert api.client.get(url, headers=api.auth(world["tokens"]["reviewer"])).status_code == 403
    board = api.client.get(url, headers=api.auth(world["tokens"]["viewer"])).json()
    # six pairs m1 vs m2: the three even ones a,a → a (the first also adjudicated a); the odd ones a,b → no majority
    assert board["pairs"] == [{"a": "m1", "b": "m2", "win": 3, "lose": 0, "tie": 0}]
    assert board["left_out"]["unlabelled"] == 3
