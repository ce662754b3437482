"""What an export holds and how it was made: the manifest written as ``manifest.json`` next to its files.

An export's files are checked against their manifest's sha256s by :func:`verify` (before publishing,
:func:`server.export.trl.push_to_hub` refuses a changed export); :func:`seal` writes the manifest last,
once every other file is in place.
"""

from __future__ import annotations

import importlib.metadata
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from server.export.files import MANIFEST, file_checksums
from server.export.formats import ExportFormat
from server.export.labels import LabelSource


class Filters(BaseModel):
    """The filters an export applied."""

    model_config = ConfigDict(extra="forbid")

    rubric: str | None
    min_agreement: float | None
    drop_ties: bool


class Dropped(BaseModel):
    """Pairs left out of an export, by reason (a pair counts once, under the first reason that applies)."""

    model_config = ConfigDict(extra="forbid")

    no_label: int = 0
    below_agreement: int = 0
    tie: int = 0


class CertifiedCounts(BaseModel):
    """A ``certified`` export: the calibration routed, and how many pairs each kind of label gave."""

    model_config = ConfigDict(extra="forbid")

    calibration: str | None
    alpha: float | None
    delta: float | None
    judge_labels: int = Field(default=0, description="exported pairs labelled by an accepted judge label")
    escalated_left_out: int = Field(description="escalated pairs without a human label (also in dropped.no_label)")


class SplitSpec(BaseModel):
    """How rows were split: by prompt, with this test fraction and seed."""

    model_config = ConfigDict(extra="forbid")

    by: Literal["prompt_id"] = "prompt_id"
    test_size: float
    seed: int


class ExportManifest(BaseModel):
    """What an export holds and how it was made; written as ``manifest.json`` next to the files."""

    model_config = ConfigDict(extra="forbid")

    format: ExportFormat
    source: LabelSource
    conversational: bool
    filters: Filters
    split: SplitSpec
    pairs_in: int
    pairs_exported: int
    rows: dict[str, int]
    prompts: dict[str, int]
    dropped: Dropped
    columns: list[str]
    files: dict[str, str]
    rubricate_version: str
    created_at: datetime
    certified: CertifiedCounts | None = None


def load_manifest(out: Path) -> ExportManifest:
    """Read ``out/manifest.json``."""
    return ExportManifest.model_validate_json((Path(out) / MANIFEST).read_text(encoding="utf-8"))


def verify(out: Path) -> list[str]:
    """Files whose sha256 no longer matches the manifest (or that appeared or went missing); [] when intact."""
    out = Path(out)
    recorded, actual = load_manifest(out).files, file_checksums(out)
    return sorted(name for name in recorded.keys() | actual.keys() if recorded.get(name) != actual.get(name))


def rubricate_version() -> str:
    """The installed rubricate version, recorded in every manifest."""
    try:
        return importlib.metadata.version("rubricate")
    except importlib.metadata.PackageNotFoundError:
        return "unknown"


def seal(tmp: Path, **fields: Any) -> ExportManifest:
    """Checksum every file written under `tmp` and write the manifest (with `fields`) next to them."""
    manifest = ExportManifest(
        **fields, files=file_checksums(tmp), rubricate_version=rubricate_version(), created_at=datetime.now(UTC)
    )
    (tmp / MANIFEST).write_text(manifest.model_dump_json(indent=2) + "\n", encoding="utf-8")
    return manifest
