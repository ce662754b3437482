"""`rubricate export`: a TRL-ready dataset (DPO, reward, KTO, SFT) with provenance and a manifest."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from server.cli.common import emit, out, store, user_errors
from server.export.manifest import ExportManifest
from server.export.scored import ScoredManifest
from server.export.stored import ExportOptions, export_project
from server.export.trl import push_to_hub
from server.storage import Repository

SourceOpt = Annotated[
    str,
    typer.Option(
        help="humans (majority; adjudication overrides) | judge | consensus | certified (humans where they "
        "exist, else the judge label certified routing accepted)"
    ),
]
MinScoreOpt = Annotated[
    float | None,
    typer.Option(
        help="sft only: keep responses scored at least S (pointwise; people's mean where they scored, "
        "else the judge's; the score_source column says which). --source is then not used."
    ),
]
CriterionOpt = Annotated[str | None, typer.Option(help="With --min-score: this criterion's level (default overall).")]
PushOpt = Annotated[str | None, typer.Option("--push-to-hub", help="Also push to this Hub repo (needs network).")]


def _summary(manifest: ExportManifest | ScoredManifest, project: str, out_dir: Path, job_id: str) -> str:
    """The one line a person reads after an export: rows per split, what was kept and dropped."""
    rows = ", ".join(f"{split} {n}" for split, n in manifest.rows.items())
    dropped = manifest.dropped.model_dump()
    if isinstance(manifest, ScoredManifest):
        kept, seen, noun = manifest.responses_exported, manifest.responses_in, f"responses {manifest.by_source}"
    else:
        kept, seen, noun = manifest.pairs_exported, manifest.pairs_in, "pairs"
    return (
        f"{manifest.format} export of {project} to {out_dir}: {rows} rows from {kept} "
        f"of {seen} {noun}; dropped {dropped}; job {job_id}"
    )


def export(
    project: Annotated[str, typer.Option(help="Project to export.")],
    format: Annotated[str, typer.Option("--format", help="dpo | reward | kto | sft")],
    out_dir: Annotated[Path, typer.Option("--out", help="Folder to write (must not exist unless --overwrite).")],
    source: SourceOpt = "humans",
    rubric: Annotated[str | None, typer.Option(help="Only labels under NAME@VERSION.")] = None,
    judge: Annotated[str | None, typer.Option(help="Judge model for --source judge/consensus.")] = None,
    min_agreement: Annotated[float | None, typer.Option(help="Drop pairs whose label agreement is below X.")] = None,
    drop_ties: Annotated[bool, typer.Option("--drop-ties", help="Also drop ties from sft.")] = False,
    test_size: Annotated[float, typer.Option(help="Fraction of prompts in the test split.")] = 0.0,
    seed: Annotated[int, typer.Option(help="Seed of the split.")] = 0,
    min_score: MinScoreOpt = None,
    criterion: CriterionOpt = None,
    overwrite: Annotated[bool, typer.Option("--overwrite", help="Replace an existing --out.")] = False,
    push_to_hub_repo: PushOpt = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print the manifest as JSON.")] = False,
) -> None:
    """Write a datasets.DatasetDict, Parquet and JSONL per split, and manifest.json with sha256s."""
    import datasets

    datasets.disable_progress_bars()  # our own line below says what was written
    db = store()
    with user_errors():
        options = ExportOptions.model_validate(
            {
                "format": format,
                "source": source,
                "rubric": rubric,
                "judge": judge,
                "min_agreement": min_agreement,
                "drop_ties": drop_ties,
                "test_size": test_size,
                "seed": seed,
                "min_score": min_score,
                "criterion": criterion,
            }
        )
        with db.read() as session:
            target = Repository(session).project_by_name(project)
        job_id, manifest = export_project(db, target, options, out_dir, overwrite=overwrite)
        if push_to_hub_repo:
            push_to_hub(out_dir, push_to_hub_repo)

    summary = _summary(manifest, project, out_dir, job_id)
    emit(manifest.model_dump(mode="json") | {"job": job_id, "out": str(out_dir)}, as_json, lambda: out.print(summary))
