"""`rubricate import --deidentify` as a user runs it: planted personal data never reaches the store's bytes.

The store is a real SQLite file in WAL mode. A reader connection stays open across the import, so the
import's writes are still in the -wal file when its bytes are read (the last connection to close would
checkpoint and delete it).
"""

from __future__ import annotations

import json
import os
import sqlite3
import subprocess
import sys
from pathlib import Path

import spacy

ROWS = [
    {
        "id": "r1",
        "prompt": "Hi, I am Jane Doe (jane.doe@example.org, +1 212-555-0199). Email jane.doe@example.org a summary.",
        "response_a": "Sent to jane.doe@example.org. I will call you on 212-555-0199.",
        "response_b": "Your card 4111 1111 1111 1111 and IBAN DE89 3704 0044 0532 0130 00 are on file, Jane Doe.",
        "labels": [{"annotator": "ann", "outcome": "a", "rationale": "A quotes jane.doe@example.org right"}],
    },
    {
        "id": "r2",
        "prompt": "My server 203.0.113.77 serves https://files.example.com/users/jdoe/cv.pdf; docs at https://example.com",
        "response_a": "Block 203.0.113.77 and 198.51.100.23 at the firewall.",
        "response_b": "See https://files.example.com/users/jdoe/cv.pdf for it.",
        "verdicts": [{"judge": "j", "outcome": "b", "rationale": "B keeps 203.0.113.77 out"}],
    },
    {
        "id": "r3",
        "prompt": "Pay with 5555 5555 5555 4444 or 4111-1111-1111-1111 into GB82 WEST 1234 5698 7654 32; "
        "call (415) 555-2671.",
        "response_a": "Done: 5555 5555 5555 4444 charged, GB82 WEST 1234 5698 7654 32 credited.",
        "response_b": "I cannot handle card numbers.",
    },
]
# every planted value, as written and in the forms a normaliser might have kept
PLANTED = [
    "jane.doe@example.org", "jane.doe", "212-555-0199", "2125550199", "4111 1111 1111 1111", "4111111111111111",
    "4111-1111-1111-1111", "DE89 3704 0044 0532 0130 00", "DE89370400440532013000", "203.0.113.77",
    "198.51.100.23", "files.example.com/users/jdoe", "jdoe", "5555 5555 5555 4444", "5555555555554444",
    "GB82 WEST 1234 5698 7654 32", "GB82WEST12345698765432", "555-2671", "4155552671",
]  # fmt: skip
BY_TYPE = {"CARD": 4, "EMAIL": 4, "IBAN": 3, "IP": 4, "PHONE": 3, "URL": 2}


def rubricate(*args: str, home: Path, **env: str) -> subprocess.CompletedProcess[str]:
    environ = {**os.environ, "RUBRICATE_HOME": str(home), **env}
    environ.pop("RUBRICATE_DATABASE_URL", None)
    command = [sys.executable, "-m", "server", *args]
    return subprocess.run(command, capture_output=True, text=True, env=environ, timeout=300)


def store_bytes(home: Path) -> dict[str, bytes]:
    """The raw bytes of the SQLite file and its -wal and -shm files (those that exist)."""
    db = home / "rubricate.db"
    files = [db, db.with_name(db.name + "-wal"), db.with_name(db.name + "-shm")]
    return {f.name: f.read_bytes() for f in files if f.exists()}


def import_planted(home: Path, tmp_path: Path, **env: str) -> tuple[dict, dict[str, bytes]]:
    """init, then import ROWS with --deidentify while a reader holds the WAL open; (summary, store bytes)."""
    assert rubricate("init", home=home).returncode == 0
    data = tmp_path / "planted.jsonl"
    data.write_text("".join(json.dumps(row) + "\n" for row in ROWS))
    reader = sqlite3.connect(home / "rubricate.db")
    try:
        reader.execute("SELECT count(*) FROM projects").fetchone()
        done = rubricate("import", str(data), "--project", "p", "--deidentify", "--json", home=home, **env)
        assert done.returncode == 0, done.stderr
        return json.loads(done.stdout), store_bytes(home)
    finally:
        reader.close()


def test_planted_pii_is_nowhere_in_the_store_and_counted_by_type(home: Path, tmp_path: Path) -> None:
    summary, raw = import_planted(home, tmp_path)
    assert summary["deidentified"] is True and summary["replaced"] == BY_TYPE
    assert summary["pairs"] == 3 and summary["rankings"] == 1 and summary["verdicts"] == 1
    assert len(raw["rubricate.db-wal"]) > 0  # the import's pages are in the WAL, and are read too
    for name, content in raw.items():
        for value in PLANTED:
            assert value.encode() not in content, f"{value!r} found in {name}"
    everything = b"".join(raw.values())
    assert b"<EMAIL_1>" in everything and b"<IBAN_1>" in everything  # the placeholders were stored instead

    with sqlite3.connect(home / "rubricate.db") as db:
        texts = dict(db.execute("SELECT content_hash, text FROM responses").fetchall()).values()
        prompts = [json.loads(m)[0]["content"] for (m,) in db.execute("SELECT messages FROM prompts ORDER BY id")]
        settings = json.loads(db.execute("SELECT settings FROM projects WHERE name = 'p'").fetchone()[0])
        audit = [json.loads(a or "null") for (a,) in db.execute("SELECT after FROM audit_events")]
    assert prompts[0] == "Hi, I am Jane Doe (<EMAIL_1>, <PHONE_1>). Email <EMAIL_1> a summary."  # names: no model
    assert "Sent to <EMAIL_1>. I will call you on <PHONE_1>." in texts  # the same value, the same number
    assert prompts[2] == "Pay with <CARD_1> or <CARD_2> into <IBAN_1>; call <PHONE_1>."  # numbered per row
    assert "docs at https://example.com" in prompts[1]  # a URL with no path names nobody: kept
    assert settings["deidentified"] == {
        "whole_project": True,
        "recognizers": [
            "CreditCardRecognizer", "IbanRecognizer", "IpRecognizer", "OfflineEmailRecognizer",
            "PersonalUrlRecognizer", "PhoneRecognizer",
        ],
    }  # fmt: skip
    assert {"deidentified": True, "replaced": BY_TYPE}.items() <= next(
        a for a in audit if a and "replaced" in a
    ).items()  # the import's summary event counts, and holds no text

    again = rubricate("import", str(tmp_path / "planted.jsonl"), "--project", "p", "--deidentify", "--json", home=home)
    assert json.loads(again.stdout)["pairs"] == 0  # de-identification is deterministic: a re-run adds nothing
    raw_import = rubricate("import", str(tmp_path / "planted.jsonl"), "--project", "p", home=home)
    assert raw_import.returncode == 2 and "holds de-identified data" in raw_import.stderr


def test_person_names_go_too_where_a_spacy_pipeline_is_installed(home: Path, tmp_path: Path) -> None:
    # A spaCy pipeline whose entity ruler knows one name stands in for an installed NER model.
    nlp = spacy.blank("en")
    nlp.add_pipe("entity_ruler").add_patterns([{"label": "PERSON", "pattern": "Jane Doe"}])
    nlp.to_disk(tmp_path / "names")
    summary, raw = import_planted(home, tmp_path, RUBRICATE_DEIDENTIFY_NAMES_MODEL=str(tmp_path / "names"))
    assert summary["replaced"] == BY_TYPE | {"PERSON": 2}
    assert all(b"Jane Doe" not in content for content in raw.values())
    with sqlite3.connect(home / "rubricate.db") as db:
        settings = json.loads(db.execute("SELECT settings FROM projects WHERE name = 'p'").fetchone()[0])
    assert "SpacyRecognizer" in settings["deidentified"]["recognizers"]
