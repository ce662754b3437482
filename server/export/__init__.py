"""The export layer's pure part: consensus labels and TRL-ready datasets, with no FastAPI or database.

The storage layer adapts stored pairs and their votes into :class:`ExportPair`; :func:`resolve_label`
gives each pair its label (:mod:`server.export.labels` holds the rules), one small row function per TRL
format makes its rows (:mod:`server.export.formats`), and :func:`export_dataset` writes them with
provenance, grouped splits, Parquet/JSONL files and a manifest (:mod:`server.export.trl`).
:func:`push_to_hub` publishes an export (needs network).
"""

from server.export.labels import ExportPair, HumanVote, JudgeVote, Label, LabelSource, resolve_label, strict_majority
from server.export.trl import (
    ExportFormat,
    ExportManifest,
    build_columns,
    build_rows,
    export_dataset,
    load_manifest,
    push_to_hub,
    select_pairs,
    split_by_prompt,
    verify,
)

__all__ = [
    "ExportFormat",
    "ExportManifest",
    "ExportPair",
    "HumanVote",
    "JudgeVote",
    "Label",
    "LabelSource",
    "build_columns",
    "build_rows",
    "export_dataset",
    "load_manifest",
    "push_to_hub",
    "resolve_label",
    "select_pairs",
    "split_by_prompt",
    "strict_majority",
    "verify",
]
