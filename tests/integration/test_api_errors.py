"""Issue 13 item 3: what an outside attack turned into unhandled 500s answers in the one error shape."""

from __future__ import annotations

import json
from collections.abc import Iterator

import httpx

from tests.conftest import Api

BIG = 2**63  # one past the largest signed 64-bit integer


def _shape(reply: httpx.Response, code: int) -> dict:
    assert reply.status_code == code, (reply.status_code, reply.text)
    assert reply.headers["content-type"] == "application/json"
    error = reply.json()["error"]
    assert error["code"] == code and error["message"]
    return error


def _project(api: Api, name: str = "p") -> int:
    return api.client.post("/projects", json={"name": name}, headers=api.auth()).json()["id"]


def test_ids_and_offsets_beyond_64_bit_are_422_not_500(api: Api) -> None:
    pid = _project(api)
    for url in [f"/projects/{BIG}", f"/pairs/{BIG}", f"/projects/{pid}/pairs?offset={BIG}"]:
        _shape(api.client.get(url, headers=api.auth()), 422)
    for kind in ("draft", "judge"):
        reply = api.client.post(f"/projects/{pid}/jobs/{kind}", json={"limit": BIG}, headers=api.auth())
        assert "limit" in _shape(reply, 422)["message"]


def test_export_naming_an_unknown_judge_is_422(api: Api) -> None:
    pid = _project(api)
    reply = api.client.post(f"/projects/{pid}/exports", json={"format": "dpo", "judge": "nope"}, headers=api.auth())
    assert "nope" in _shape(reply, 422)["message"]


def test_lone_surrogates_and_nul_in_a_body_are_422_and_store_nothing(api: Api) -> None:
    pid = _project(api)
    for text in ("\ud800", "x\x00y"):
        body = json.dumps({"rows": [{"prompt": "fine"}, {"prompt": text}]})  # ASCII: "\\ud800", "\\u0000"
        headers = api.auth() | {"Content-Type": "application/json"}
        reply = api.client.post(f"/projects/{pid}/import", content=body, headers=headers)
        assert "rows.1.prompt" in _shape(reply, 422)["message"]
    assert api.client.get(f"/projects/{pid}", headers=api.auth()).json()["counts"]["prompts"] == 0


def test_datetimes_in_replies_carry_a_timezone(api: Api) -> None:
    pid = _project(api)
    job = api.client.post(f"/projects/{pid}/exports", json={"format": "dpo"}, headers=api.auth()).json()["job"]
    reply = api.client.get(f"/jobs/{job}", headers=api.auth()).json()
    for field in ("created_at", "updated_at"):
        assert reply[field].endswith("+00:00") or reply[field].endswith("Z"), reply[field]


def test_405_names_the_allowed_methods(api: Api) -> None:
    reply = api.client.delete("/projects", headers=api.auth())
    _shape(reply, 405)
    assert set(reply.headers["allow"].replace(" ", "").split(",")) == {"GET", "POST"}


def test_chunked_body_over_the_limit_is_413(api: Api) -> None:
    """Issue 13 item 5: no Content-Length (Transfer-Encoding: chunked), 40 × the limit → 413, not 400."""
    pid = _project(api)

    def chunks() -> Iterator[bytes]:
        yield b'{"rows": ['
        for _ in range(2500):  # ~2.5 MiB against the 64 KiB test limit
            yield b'{"prompt": "' + b"x" * 1000 + b'"},'
        yield b'{"prompt": "end"}]}'

    headers = api.auth() | {"Content-Type": "application/json"}
    reply = api.client.post(f"/projects/{pid}/import", content=chunks(), headers=headers)
    assert "over" in _shape(reply, 413)["message"]
