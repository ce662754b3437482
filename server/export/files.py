"""Export files: sha256 checksums of what an export wrote, and JSON lines that no reader splits wrongly.

>>> json_line({"a": 1})
'{"a": 1}'
"""

from __future__ import annotations

import hashlib
import json
import shutil
import uuid
from collections.abc import Iterable, Iterator, Mapping
from contextlib import contextmanager
from pathlib import Path
from typing import Any

MANIFEST = "manifest.json"
_CHUNK = 1 << 20


def sha256_file(path: Path) -> str:
    """Hex sha256 of a file.

    >>> import tempfile, pathlib
    >>> p = pathlib.Path(tempfile.mkdtemp()) / "x"
    >>> _ = p.write_bytes(b"abc")
    >>> sha256_file(p)[:16]
    'ba7816bf8f01cfea'
    """
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        while chunk := handle.read(_CHUNK):
            digest.update(chunk)
    return digest.hexdigest()


def file_checksums(out: Path) -> dict[str, str]:
    """sha256 of every file under an export folder except the manifest, keyed by relative POSIX path."""
    return {
        path.relative_to(out).as_posix(): sha256_file(path)
        for path in sorted(out.rglob("*"))
        if path.is_file() and path.relative_to(out).as_posix() != MANIFEST
    }


_LINE_BREAKS = str.maketrans({"\x85": "\\u0085", "\u2028": "\\u2028", "\u2029": "\\u2029"})


def json_line(row: dict[str, Any]) -> str:
    """One JSONL line: UTF-8 text kept readable, but every character a reader might split lines on escaped.

    ``json.dumps`` escapes control characters; NEL and the Unicode line/paragraph separators it leaves raw,
    and ``str.splitlines`` (and some JSONL readers) would break a row on them.

    >>> print(json_line({"text": "é" + chr(0x2028) + "x"}))
    {"text": "é\\u2028x"}
    """
    return json.dumps(row, ensure_ascii=False).translate(_LINE_BREAKS)


def write_jsonl(path: Path, rows: Iterable[Mapping[str, Any]]) -> None:
    """Rows as JSON lines (:func:`json_line`), one per line."""
    with path.open("w", encoding="utf-8") as handle:
        for row in rows:
            handle.write(json_line(row))
            handle.write("\n")


@contextmanager
def replaced_atomically(out: Path) -> Iterator[Path]:
    """A temporary sibling folder to write into, renamed onto `out` (replacing it) only when the block ends
    normally; removed otherwise, so a failed export never leaves half a dataset."""
    out.parent.mkdir(parents=True, exist_ok=True)
    token = uuid.uuid4().hex[:12]
    tmp = out.with_name(f".{out.name}.tmp-{token}")
    tmp.mkdir()  # not mkdtemp: the folder keeps the umask's permissions once renamed into place
    try:
        yield tmp
        if out.exists():
            old = out.with_name(f".{out.name}.old-{token}")
            out.rename(old)
            tmp.rename(out)
            shutil.rmtree(old)
        else:
            tmp.rename(out)
    finally:
        if tmp.exists():
            shutil.rmtree(tmp, ignore_errors=True)
