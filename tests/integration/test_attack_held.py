"""Issue 13: what held against the outside attack, kept as tests — no BOLA/IDOR leak across projects,
undeclared fields 422, bad tokens 401, tokens stored as sha256, concurrent retries of one
Idempotency-Key store one ranking."""

from __future__ import annotations

import hashlib
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import httpx
from sqlalchemy import func, select

from server.app import create_app
from server.settings import Settings
from server.storage.tables import Annotator, Assignment, Pair, Ranking
from tests.conftest import Api
from tests.integration.test_review import make_pairs
from tests.support.live import live_server


def test_bola_matrix_no_principal_reaches_another_projects_objects(api: Api) -> None:
    ids = {}
    for name in ("alpha", "beta"):
        pid = make_pairs(api.store, 2, project=name)
        with api.store.read() as session:
            pair = session.scalar(select(Pair.id).where(Pair.project_id == pid))
        job = api.client.post(f"/projects/{pid}/exports", json={"format": "dpo"}, headers=api.auth()).json()["job"]
        ids[name] = {"project": pid, "pair": pair, "job": job}
    principals = {
        f"{role}-{p}": api.person(f"{role}-{p}", role, p) for p in ids for role in ("author", "viewer", "reviewer")
    }
    principals["outsider"] = api.person("outsider", "author")
    for name, token in list(principals.items()):
        if name.startswith("reviewer-"):  # each reviewer holds an assignment in their own project
            project = name.split("-")[1]
            api.client.post(f"/projects/{ids[project]['project']}/assignments/next", headers=api.auth(token))
    with api.store.read() as session:
        assignment = {
            p: session.scalar(select(Assignment.id).where(Assignment.project_id == ids[p]["project"])) for p in ids
        }
    routes = [
        ("get", "/projects/{project}", None), ("get", "/projects/{project}/pairs", None),
        ("get", "/pairs/{pair}", None),
        ("get", "/projects/{project}/review/settings", None), ("post", "/projects/{project}/assignments/next", None),
        ("get", "/projects/{project}/disputes", None), ("get", "/projects/{project}/agreement?resamples=0", None),
        ("get", "/jobs/{job}", None), ("post", "/jobs/{job}/cancel", None), ("get", "/exports/{job}/download", None),
        ("post", "/projects/{project}/members", {"annotator": "outsider"}),
        ("post", "/projects/{project}/import", {"rows": [{"prompt": "x"}]}),
        ("post", "/pairs/{pair}/adjudication", {"outcome": "a"}), ("put", "/pairs/{pair}/gold", {"outcome": "a"}),
        ("post", "/projects/{project}/exports", {"format": "dpo"}),
        ("post", "/assignments/{assignment}/ranking", {"outcome": "a"}),
        ("post", "/assignments/{assignment}/skip", {"reason": "other"}),
    ]  # fmt: skip
    sent = 0
    for name, token in principals.items():
        for project in ids:
            if name.endswith(f"-{project}"):
                continue  # their own project: not this matrix
            values = ids[project] | {"assignment": assignment[project]}
            for method, template, body in routes:
                headers = api.auth(token) | {"Idempotency-Key": f"bola-{name}-{project}"}
                reply = api.client.request(method, template.format(**values), json=body, headers=headers)
                sent += 1
                assert reply.status_code in (403, 404, 409), (name, project, template, reply.status_code, reply.text)
                assert project not in reply.text, (name, template, reply.text)  # no name of the other project
    assert sent == len(principals) * (len(ids) - 1) * len(routes) + len(routes)  # outsider is in neither
    with api.store.read() as session:
        assert session.scalar(select(func.count()).select_from(Ranking)) == 0


def test_tokens_are_stored_as_sha256_and_bad_ones_are_401(api: Api) -> None:
    token = api.person("rita", "reviewer")
    with api.store.read() as session:
        stored = session.scalar(select(Annotator.token_hash).where(Annotator.name == "rita"))
    assert stored == hashlib.sha256(token.encode()).hexdigest() and token not in str(stored)
    for bad in ("", "x", token[:-1], token + "x", "Bearer " + token, stored):
        assert api.client.get("/me", headers={"Authorization": f"Bearer {bad}"}).status_code in (401, 403)


def test_concurrent_retries_of_one_idempotency_key_store_one_ranking(api: Api, home: Path) -> None:
    pid = make_pairs(api.store, 1)
    token = api.person("rev1", "reviewer", "rev")
    item = api.client.post(f"/projects/{pid}/assignments/next", headers=api.auth(token)).json()["assignment"]
    app = create_app(Settings(home=home, database_url=api.store.url), store=api.store)

    def send(_: int) -> int:
        with httpx.Client(base_url=url, timeout=60) as client:
            headers = {"Authorization": f"Bearer {token}", "Idempotency-Key": "one-key-for-all"}
            reply = client.post(f"/assignments/{item['id']}/ranking", json={"outcome": "a"}, headers=headers)
            return reply.status_code

    with live_server(app) as url, ThreadPoolExecutor(max_workers=20) as pool:
        codes = list(pool.map(send, range(20)))
    assert sorted(codes) == [200] * 19 + [201], codes
    with api.store.read() as session:
        assert session.scalar(select(func.count()).select_from(Ranking)) == 1
