"""`rubricate rubric …`: validate, publish, list, show and diff versioned rubrics."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from rubrics.diff import diff_rubrics
from rubrics.loader import RubricError, load_rubric
from rubrics.render import render_guidelines
from server.cli.common import JsonOpt, emit, fail, out, store, user_errors
from server.rubric_registry import publish, resolve
from server.storage import Repository

app = typer.Typer(no_args_is_help=True, help="Versioned rubrics: validate, publish, list, show, diff.")


def _load_all(paths: list[Path]) -> list:
    loaded = []
    for path in paths:
        try:
            loaded.append(load_rubric(path))
        except RubricError as exc:
            fail(str(exc))
    return loaded


@app.command()
def validate(paths: Annotated[list[Path], typer.Argument(help="Rubric YAML files.")], as_json: JsonOpt = False) -> None:
    """Check rubric files; errors name the file, the line and the field (exit 2)."""
    rubrics = _load_all(paths)
    rows = [
        {"file": str(p), "ref": r.ref, "criteria": [c.id for c in r.criteria]}
        for p, r in zip(paths, rubrics, strict=True)
    ]
    emit(
        rows,
        as_json,
        lambda: [out.print(f"ok  {r['file']}  {r['ref']}  ({len(r['criteria'])} criteria)") for r in rows],
    )


@app.command("publish")
def publish_(paths: Annotated[list[Path], typer.Argument(help="Rubric YAML files.")], as_json: JsonOpt = False) -> None:
    """Publish each file as name@version; identical content is a no-op, changed content needs a new version."""
    db = store()
    results = []
    with user_errors():
        for rubric in _load_all(paths):
            results.append(publish(db, rubric).model_dump())
    emit(
        results,
        as_json,
        lambda: [out.print(f"{r['status']:<9} {r['ref']}  sha256 {r['sha256'][:12]}") for r in results],
    )


@app.command("list")
def list_(as_json: JsonOpt = False) -> None:
    """Published rubrics and their versions."""
    with store().read() as session:
        repo = Repository(session)
        rows = [{"name": n, "versions": [v.version for v in repo.rubric_versions(n)]} for n in repo.rubric_names()]
    emit(
        rows,
        as_json,
        lambda: (
            [out.print(f"{r['name']}: {', '.join(r['versions'])}") for r in rows]
            if rows
            else out.print("no rubrics published yet: rubricate rubric publish rubrics/library/*.yaml")
        ),
    )


@app.command()
def show(ref: Annotated[str, typer.Argument(help="NAME or NAME@VERSION")], as_json: JsonOpt = False) -> None:
    """A published version: its content (JSON) or its reviewer guidelines (text)."""
    with user_errors(), store().read() as session:
        row, rubric = resolve(Repository(session), ref)
    emit(
        {"ref": rubric.ref, "sha256": row.content_hash, "rubric": rubric.model_dump(mode="json")},
        as_json,
        lambda: out.print(render_guidelines(rubric), markup=False),
    )


@app.command()
def diff(
    old: Annotated[str, typer.Argument(help="NAME@VERSION")],
    new: Annotated[str, typer.Argument(help="NAME@VERSION")],
    as_json: JsonOpt = False,
) -> None:
    """Semantic diff of two published versions: criteria added, removed and changed (which fields)."""
    with user_errors(), store().read() as session:
        repo = Repository(session)
        result = diff_rubrics(resolve(repo, old)[1], resolve(repo, new)[1])
    data = result.model_dump(mode="json")

    def text() -> None:
        out.print(f"{result.old} -> {result.new}", markup=False)
        if result.is_empty:
            out.print("  same content")
        for cid in result.criteria_added:
            out.print(f"  added    {cid}", markup=False)
        for cid in result.criteria_removed:
            out.print(f"  removed  {cid}", markup=False)
        for change in result.criteria_changed:
            out.print(f"  changed  {change.id}: {', '.join(change.fields)}", markup=False)
        flags = [k.removesuffix("_changed").replace("_", " ") for k, v in data.items() if v is True]
        lists = [f"{k.replace('_', ' ')} {', '.join(v)}" for k, v in data.items() if k.startswith("modes") and v]
        for line in [*lists, *(f"{flag} changed" for flag in flags)]:
            out.print(f"  {line}", markup=False)

    emit(data, as_json, text)
