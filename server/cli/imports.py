"""`rubricate import` and `rubricate import-scores`: bring prompts, pairs, labels and people's scores in."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from server.cli.common import JsonOpt, emit, out, progress_bar, settings, store, user_errors
from server.imports.readers import parse_mapping
from server.imports.schema import ImportSummary
from server.imports.scores import import_score_file
from server.imports.service import import_path

DeidentifyOpt = Annotated[
    bool,
    typer.Option(
        "--deidentify",
        help="Replace e-mails, phones, card numbers, IBANs, IPs, URLs with paths (and person names where a "
        "spaCy pipeline is installed) by placeholders like <EMAIL_1> before storing anything.",
    ),
]


def _print_summary(summary: ImportSummary) -> None:
    """What an import added (and skipped, and replaced), for a person."""
    for line in summary.skipped_rows:
        out.print(f"skipped {line}", markup=False)
    counts = summary.model_dump(exclude={"project", "skipped_rows", "deidentified", "replaced"})
    out.print(f"project {summary.project}: added " + ", ".join(f"{k} {v}" for k, v in counts.items()))
    if summary.deidentified:
        found = ", ".join(f"{k} {v}" for k, v in summary.replaced.items()) or "nothing"
        out.print(f"de-identified: replaced {found}")


def import_(
    path: Annotated[
        Path,
        typer.Argument(help="File or folder: JSONL, CSV, Parquet, a datasets folder, or a preset's folder."),
    ],
    project: Annotated[str, typer.Option(help="Project to import into (created if missing).")],
    preset: Annotated[str | None, typer.Option(help="pandalm | jsonl | csv | parquet | hf (default: guessed).")] = None,
    map_: Annotated[
        list[str] | None,
        typer.Option("--map", help="FIELD=COLUMN, repeatable; e.g. prompt=question, labels.alice=col."),
    ] = None,
    skip_invalid: Annotated[
        bool, typer.Option("--skip-invalid", help="Skip and report bad rows instead of aborting.")
    ] = False,
    labels_as_accounts: Annotated[
        bool,
        typer.Option(
            "--labels-as-accounts",
            help="Label names are existing accounts (default: import-only annotators PROJECT/NAME, no token).",
        ),
    ] = False,
    deidentify: DeidentifyOpt = False,
    as_json: JsonOpt = False,
) -> None:
    """Import data, validated whole before a row is written; a re-run of the same data adds nothing."""
    with user_errors():
        mapping = parse_mapping(map_ or [])
        scrub = None
        if deidentify:  # Presidio and spaCy load only when asked for (seconds of imports)
            from server.imports.deidentify import deidentifier

            scrub = deidentifier(settings().deidentify_names_model)
        with progress_bar(f"importing {path.name}", not as_json) as update:
            summary = import_path(
                store(),
                path,
                project=project,
                preset=preset,
                mapping=mapping,
                skip_invalid=skip_invalid,
                progress=update,
                labels_as_accounts=labels_as_accounts,
                deidentify=scrub,
            )

    emit(
        summary.model_dump(exclude={"skipped_rows", "failed_verdicts"}) if as_json else summary,
        as_json,
        lambda: _print_summary(summary),
    )


def import_scores(
    path: Annotated[Path, typer.Argument(help="JSONL (or CSV, Parquet, datasets folder) of people's scores.")],
    project: Annotated[str, typer.Option(help="Project to import into (created if missing).")],
    rubric: Annotated[str, typer.Option(help="NAME or NAME@VERSION the scores were given under (pointwise).")],
    as_json: JsonOpt = False,
) -> None:
    """Import people's 1..N scores of responses: {prompt, response, annotator, scores: {criterion: level}}."""
    with user_errors():
        summary = import_score_file(store(), path, project=project, rubric=rubric)

    def text() -> None:
        counts = summary.model_dump(exclude={"project", "rubric"})
        out.print(f"project {summary.project} ({summary.rubric}): " + ", ".join(f"{k} {v}" for k, v in counts.items()))

    emit(summary.model_dump(), as_json, text)
