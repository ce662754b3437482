"""People's pointwise scores, imported: one JSONL row per (response, annotator) with levels per criterion.

There is no review screen for scoring yet, so a person's scores come in only through this import
(`rubricate import-scores`). A row names its prompt and response by their text (both are added when
missing, like any import), the annotator (an import-only annotator ``PROJECT/NAME``, as for rankings),
and its levels under the rubric version given; every level is checked against that version's anchored
scale before anything is written. Idempotent: a (response, annotator, rubric version) already scored
is skipped, so a re-run adds nothing.

>>> ScoreRow.model_validate({"prompt": "Hi", "response": "Hello!", "annotator": "ann",
...                          "scores": {"clarity": 5}}).scores
{'clarity': 5}
"""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from rubrics.schema import Rubric
from server.imports.readers import ImportFailed, detect_preset, read_records
from server.imports.schema import ImportRow, ImportSummary, Message
from server.imports.service import _Importer, describe
from server.rubric_registry import resolve
from server.storage import Repository, Store
from server.storage.repos.annotators import Person


class ScoreRow(BaseModel):
    """One person's scores of one response."""

    model_config = ConfigDict(extra="forbid")
    prompt: str | list[Message]
    response: str = Field(min_length=1)
    annotator: str = Field(min_length=1, max_length=200)
    scores: dict[str, int] = Field(min_length=1, description="criterion id -> level 1..N")
    overall: int | None = None
    rationale: str | None = None


class ScoreImportSummary(BaseModel):
    """What one score import added (a second run of the same file adds 0)."""

    project: str
    rubric: str
    prompts: int = 0
    responses: int = 0
    scores: int = 0
    annotators: int = 0
    already: int = 0


def check_levels(row: ScoreRow, rubric: Rubric, location: str) -> None:
    """Every level on its criterion's scale (1..N), every criterion the rubric's, `overall` on the widest."""
    for cid, level in row.scores.items():
        try:
            points = rubric.criterion(cid).scale.points
        except KeyError:
            known = ", ".join(c.id for c in rubric.criteria)
            raise ImportFailed(f"{location}: scores.{cid}: not a criterion of {rubric.ref} ({known})") from None
        if points is None or not 1 <= level <= points:
            raise ImportFailed(f"{location}: scores.{cid}: {level} is outside 1..{points} of {rubric.ref}")
    widest = max((c.scale.points or 0) for c in rubric.criteria)
    if row.overall is not None and not 1 <= row.overall <= widest:
        raise ImportFailed(f"{location}: overall: {row.overall} is outside 1..{widest}")


def _validated(records: Iterable[tuple[str, Any]], rubric: Rubric) -> list[ScoreRow]:
    rows = []
    for location, record in records:
        try:
            row = ScoreRow.model_validate(record)
        except ValidationError as exc:
            raise ImportFailed(f"{location}: {describe(exc)}") from None
        check_levels(row, rubric, location)
        rows.append(row)
    return rows


def import_scores(
    store: Store, records: Iterable[tuple[str, Any]], *, project: str, rubric: str, actor: Person | None = None
) -> ScoreImportSummary:
    """Validate every row under `rubric` (NAME or NAME@VERSION), then store the scores in one transaction."""
    with store.read() as session:
        version, model = resolve(Repository(session), rubric)
    if "pointwise" not in model.modes:
        raise ImportFailed(f"rubric: {model.ref} has no pointwise mode; scores need a rubric with levels")
    rows = _validated(records, model)
    summary = ScoreImportSummary(project=project, rubric=model.ref)
    with store.write() as session:
        repo = Repository(session, actor)
        target = repo.get_or_create_project(project)
        counts = ImportSummary(project=project)
        importer = _Importer(repo, target, counts)
        done = repo.score_keys(target.id)
        for row in rows:
            prompt = importer.prompt(ImportRow(prompt=row.prompt))
            response = importer.response(prompt, row.response, model=None)  # matched by text; a new one has no model
            person = importer.annotator(row.annotator)
            if (response.id, person.id, version.id) in done:
                summary.already += 1
                continue
            repo.add_score(
                project_id=target.id, response_id=response.id, annotator_id=person.id, rubric_version_id=version.id,
                criteria=row.scores, overall=row.overall, rationale=row.rationale,
            )  # fmt: skip
            done.add((response.id, person.id, version.id))
            summary.scores += 1
        summary.prompts, summary.responses, summary.annotators = counts.prompts, counts.responses, counts.annotators
        repo.record("project.import_scores", target, project_id=target.id, after=summary.model_dump())
    return summary


def import_score_file(
    store: Store, path: Path, *, project: str, rubric: str, actor: Person | None = None
) -> ScoreImportSummary:
    """Import scores from a JSONL, CSV or Parquet file or a `datasets` folder (see :class:`ScoreRow`)."""
    return import_scores(store, read_records(path, detect_preset(path)), project=project, rubric=rubric, actor=actor)
