"""The `rubricate` command as a user runs it: real process, real SQLite store, JSON output."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path


def rubricate(*args: str, home: Path) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "RUBRICATE_HOME": str(home)}
    env.pop("RUBRICATE_DATABASE_URL", None)
    return subprocess.run([sys.executable, "-m", "server", *args], capture_output=True, text=True, env=env, timeout=300)


def test_init_import_projects_round_trip(home: Path, pandalm_dir: Path) -> None:
    init = rubricate("init", "--json", home=home)
    assert init.returncode == 0, init.stderr
    assert json.loads(init.stdout)["token"].startswith("rbk_")
    assert json.loads(rubricate("init", "--json", home=home).stdout)["token"] is None  # printed once only

    first = rubricate("import", str(pandalm_dir), "--project", "pandalm", "--preset", "pandalm", "--json", home=home)
    assert first.returncode == 0, first.stderr
    assert json.loads(first.stdout) == {
        "project": "pandalm",
        "prompts": 170,
        "responses": 722,
        "pairs": 999,
        "rankings": 2997,
        "verdicts": 1998,
        "annotators": 3,
        "skipped": 0,
        "deidentified": False,
        "replaced": {},
    }
    second = json.loads(rubricate("import", str(pandalm_dir), "--project", "pandalm", "--json", home=home).stdout)
    assert {k: v for k, v in second.items() if k not in ("project", "deidentified", "replaced")} == dict.fromkeys(
        ["prompts", "responses", "pairs", "rankings", "verdicts", "annotators", "skipped"], 0
    )

    listed = json.loads(rubricate("projects", "--json", home=home).stdout)
    assert listed[0]["name"] == "pandalm" and listed[0]["failed_verdicts"] == 25


def test_bad_input_exits_2_with_one_line(home: Path, tmp_path: Path) -> None:
    bad = tmp_path / "bad.jsonl"
    bad.write_text('{"prompt": "x", "response_a": "a"}\n')
    result = rubricate("import", str(bad), "--project", "p", home=home)
    assert result.returncode == 2
    assert result.stderr.strip().count("\n") == 0
    assert "bad.jsonl:row 1: " in result.stderr and "response_a and response_b come together" in result.stderr
    missing = rubricate("import", str(tmp_path / "nope.csv"), "--project", "p", home=home)
    assert missing.returncode == 2 and "no such file" in missing.stderr


def test_annotator_add_prints_a_token_that_the_api_accepts(home: Path) -> None:
    rubricate("init", home=home)
    added = rubricate("annotator", "add", "rita", "--role", "reviewer", "--json", home=home)
    assert added.returncode == 0, added.stderr
    token = json.loads(added.stdout)["token"]
    from fastapi.testclient import TestClient

    from server.app import create_app
    from server.settings import Settings

    with TestClient(create_app(Settings(home=home))) as client:
        me = client.get("/me", headers={"Authorization": f"Bearer {token}"}).json()
    assert me == {"id": 2, "name": "rita", "role": "reviewer"}
    dup = rubricate("annotator", "add", "rita", home=home)
    assert dup.returncode == 2 and "already exists" in dup.stderr
