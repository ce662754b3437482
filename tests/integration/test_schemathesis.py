"""Issue 13, "must show": schemathesis against the live API's OpenAPI document, every operation, as an
admin and as a reviewer, bounded examples: no server error and no response outside its declared schema.

Run with `-s` to see how many cases ran (printed at the end of the module).
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import schemathesis
from hypothesis import HealthCheck, given, settings
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import response_schema_conformance

from server.app import create_app
from server.imports.service import import_rows
from server.settings import Settings
from server.storage import Repository, open_store
from tests.support.live import live_server
from tests.support.postgres import free_port

EXAMPLES = 40
CASES: Counter[str] = Counter()


@pytest.fixture(scope="module")
def live(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, Any]]:
    home: Path = tmp_path_factory.mktemp("schemathesis")
    store = open_store(f"sqlite:///{home / 'rubricate.db'}")
    rows = [
        (f"r{i}", {"id": str(i), "prompt": f"Q{i}?", "response_a": f"A{i}", "response_b": f"B{i}",
                   "labels": {"ext1": "a", "ext2": "b"}, "verdicts": [{"judge": "j", "outcome": "a"}]})
        for i in range(5)
    ]  # fmt: skip
    import_rows(store, rows, project="p")
    with store.write() as session:
        repo = Repository(session)
        _, admin = repo.create_annotator("admin", "admin")
        person, reviewer = repo.create_annotator("rev", "reviewer")
        repo.add_member(repo.project_by_name("p"), person)
    settings_ = Settings(
        home=home,
        database_url=store.url,
        rate_heavy="100000/minute",
        rate_failed_auth="100000/minute",
        model_base_url=f"http://127.0.0.1:{free_port()}/v1",  # nothing listens: a job fails at once
        stall_timeout_s=1,
    )
    with live_server(create_app(settings_, store=store)) as url:
        yield {"url": url, "tokens": {"admin": admin, "reviewer": reviewer}}
    print(f"\nschemathesis: {sum(CASES.values())} cases over {len(CASES)} operation × role runs: {dict(CASES)}")
    store.dispose()


def _fuzz(operation: Any, role: str, headers: dict[str, str]) -> Any:
    """A Hypothesis test of one operation: each case sent to the live API and its reply checked."""

    @given(case=operation.as_strategy())
    @settings(max_examples=EXAMPLES, deadline=None, suppress_health_check=list(HealthCheck), database=None)
    def run(case: Any) -> None:
        CASES[f"{operation.label} as {role}"] += 1
        response = case.call(headers=headers, timeout=60)
        case.validate_response(response, checks=[not_a_server_error, response_schema_conformance], headers=headers)

    return run


def _run(role: str, live: dict[str, Any]) -> list[str]:
    """Every operation of the live document, `EXAMPLES` cases each, as `role`; the failures found."""
    schema = schemathesis.openapi.from_url(f"{live['url']}/openapi.json")
    headers = {"Authorization": f"Bearer {live['tokens'][role]}"}
    failures = []
    for result in schema.get_all_operations():
        operation = result.ok()
        try:
            _fuzz(operation, role, headers)()
        except Exception as exc:  # one operation's failure must not hide the others'
            failures.append(f"{operation.label} as {role}: {str(exc)[:2000]}")
    return failures


def test_every_operation_as_admin(live: dict[str, Any]) -> None:
    assert _run("admin", live) == []


def test_every_operation_as_reviewer(live: dict[str, Any]) -> None:
    assert _run("reviewer", live) == []
