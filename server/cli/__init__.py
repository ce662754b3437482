"""The `rubricate` command: one sub-command per stage of the flow, each with `--json` for scripts.

rubricate init                       create the store and an admin (prints its token once)
rubricate import PATH --project P    bring prompts, pairs, rankings and verdicts in
rubricate import-scores PATH --project P --rubric R   people's 1..N scores of responses (pointwise)
rubricate projects                   list projects with their counts
rubricate annotator add NAME --role R [--project P]
rubricate rubric validate|publish|list|show|diff   versioned rubrics
rubricate model prepare|serve|status|stop          the embedded vLLM model
rubricate draft --project P --n N    draft candidates and form pairs (resumable job)
rubricate judge --project P --rubric NAME[@VER]    judge pairs in both orders (resumable job)
rubricate judge --mode pointwise --project P --rubric sft-quality   score responses 1..N (resumable job)
rubricate worker [--once] [--lease-s S]            run queued jobs (and those whose worker died)
rubricate job show|cancel ID         a job's progress and lease, or cancel it
rubricate export --project P --format dpo|reward|kto|sft --out DIR
rubricate export --project P --format sft --min-score S [--criterion C] --out DIR   responses scored >= S
rubricate agreement --project P [--rubric NAME@VER] [--criterion C]   judges and reviewers agreement
rubricate calibrate --project P --judge M [--judge M2 …] --alpha A --delta D   certify judge thresholds
rubricate route --project P --calibration ID [--decisions FILE]   accept certified judge labels, escalate the rest
rubricate estimate --project P --calibration ID   outcome shares with PPI++ intervals
rubricate leaderboard --project P [--source humans|judge|certified] [--judge M] [--baseline M]   model comparisons
rubricate serve [--workers N]        the API (OpenAPI at /docs); N processes need PostgreSQL
rubricate ui                         the Streamlit review screens
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Annotated

import typer

from server.cli import agreement as agreement_cli
from server.cli import export as export_cli
from server.cli import imports as imports_cli
from server.cli import jobs as jobs_cli
from server.cli import leaderboard as leaderboard_cli
from server.cli import model as model_cli
from server.cli import routing as routing_cli
from server.cli import rubric as rubric_cli
from server.cli import worker as worker_cli
from server.cli.common import JsonOpt, emit, fail, out, settings, store, user_errors
from server.storage import Person, Repository, open_store

app = typer.Typer(no_args_is_help=True, add_completion=False, help=__doc__, rich_markup_mode=None)
annotator_app = typer.Typer(no_args_is_help=True, help="People and their tokens.")
app.add_typer(annotator_app, name="annotator")
app.command("import")(imports_cli.import_)
app.command("import-scores")(imports_cli.import_scores)
app.command("export")(export_cli.export)
app.add_typer(model_cli.app, name="model")
app.add_typer(agreement_cli.app, name="agreement")
app.add_typer(rubric_cli.app, name="rubric")
app.command("draft")(jobs_cli.draft)
app.command("judge")(jobs_cli.judge)
app.command("worker")(worker_cli.worker)
app.add_typer(worker_cli.job_app, name="job")
app.command("calibrate")(routing_cli.calibrate)
app.command("route")(routing_cli.route)
app.command("estimate")(routing_cli.estimate)
app.command("leaderboard")(leaderboard_cli.leaderboard)

WORKER_HEALTHCHECK_S = 60  # uvicorn's 5 s kills a worker still importing the app on a busy machine, then respawns it


@app.command()
def init(
    admin: Annotated[str, typer.Option(help="Name of the first admin.")] = "admin",
    as_json: JsonOpt = False,
) -> None:
    """Create (or migrate) the store and, on first run, an admin whose token is printed once."""
    config = settings()
    db = store()
    with db.write() as session:
        repo = Repository(session)
        token = None
        if repo.count_admins() == 0:
            _, token = repo.create_annotator(admin, "admin")
    result = {"database": config.database_url, "admin": admin if token else None, "token": token}

    def text() -> None:
        out.print(f"store ready: {config.database_url}")
        if token:
            out.print(f"admin '{admin}' token (shown once, keep it): {token}")
        else:
            out.print("an admin exists already; no new token made")

    emit(result, as_json, text)


@app.command()
def projects(as_json: JsonOpt = False) -> None:
    """List projects with what each holds."""
    with store().read() as session:
        repo = Repository(session)
        rows = [{"id": p.id, "name": p.name, **repo.project_counts(p.id)} for p in repo.projects_for_all()]

    def text() -> None:
        if not rows:
            out.print("no projects yet: rubricate import PATH --project NAME")
        for row in rows:
            out.print(" ".join(f"{k}={v}" for k, v in row.items()))

    emit(rows, as_json, text)


@annotator_app.command("add")
def annotator_add(
    name: str,
    role: Annotated[str, typer.Option(help="admin | author | reviewer | viewer")] = "reviewer",
    project: Annotated[list[str] | None, typer.Option(help="Project(s) to join, repeatable.")] = None,
    as_json: JsonOpt = False,
) -> None:
    """Create a person and print their API token once."""
    with user_errors(), store().write() as session:
        repo = Repository(session)
        annotator, token = repo.create_annotator(name, role)
        for project_name in project or []:
            repo.add_member(repo.project_by_name(project_name), annotator)
    emit(
        {"name": name, "role": role, "projects": project or [], "token": token},
        as_json,
        lambda: out.print(f"{role} '{name}' token (shown once): {token}"),
    )


def _days(days: float | None) -> datetime | None:
    return datetime.now(UTC) + timedelta(days=days) if days is not None else None


def _person(repo: Repository, name: str) -> Person:
    """The person of that name, or exit with one line saying there is none."""
    person = repo.annotator_by_name(name)
    if person is None:
        fail(f"annotator {name!r} not found")
    return person


@annotator_app.command("rotate-token")
def annotator_rotate_token(
    name: str,
    expires_in_days: Annotated[float | None, typer.Option(help="The new token stops working after this.")] = None,
    as_json: JsonOpt = False,
) -> None:
    """Give a person a new token (the old one stops working) and print it once."""
    with user_errors(), store().write() as session:
        repo = Repository(session)
        person = _person(repo, name)
        expires = _days(expires_in_days)
        token = repo.rotate_token(person.id, expires)
    emit(
        {"name": name, "token": token, "expires_at": expires.isoformat() if expires else None},
        as_json,
        lambda: out.print(f"'{name}' new token (shown once): {token}"),
    )


@annotator_app.command("revoke-token")
def annotator_revoke_token(name: str, as_json: JsonOpt = False) -> None:
    """Revoke a person's token: it stops working at once."""
    with user_errors(), store().write() as session:
        repo = Repository(session)
        person = _person(repo, name)
        repo.revoke_token(person.id)
    emit({"name": name, "revoked": True}, as_json, lambda: out.print(f"'{name}' token revoked"))


@annotator_app.command("expire-token")
def annotator_expire_token(
    name: str,
    in_days: Annotated[float, typer.Option(help="Days from now (0: now).")],
    as_json: JsonOpt = False,
) -> None:
    """Make a person's token stop working after IN_DAYS days."""
    with user_errors(), store().write() as session:
        repo = Repository(session)
        person = _person(repo, name)
        expires = _days(in_days)
        repo.expire_token(person.id, expires)
    emit({"name": name, "expires_at": expires.isoformat() if expires else None}, as_json,
         lambda: out.print(f"'{name}' token expires at {expires}"))  # fmt: skip


@app.command()
def serve(
    host: Annotated[str | None, typer.Option(help="Default: RUBRICATE_API_HOST (127.0.0.1).")] = None,
    port: Annotated[int | None, typer.Option(help="Default: RUBRICATE_API_PORT (8400).")] = None,
    workers: Annotated[
        int | None,
        typer.Option(
            min=1,
            max=64,
            help="API processes on the one port (default: RUBRICATE_API_WORKERS, 1); >1 needs PostgreSQL.",
        ),
    ] = None,
) -> None:
    """Run the API (OpenAPI docs at /docs), in one process or in N worker processes on PostgreSQL."""
    import uvicorn

    from server.app import create_app

    config = settings()
    host, port, workers = host or config.api_host, port or config.api_port, workers or config.api_workers
    try:
        store = open_store(config.database_url)  # migrate once here, before any worker starts
    except Exception as exc:  # the store could not be opened: say why in one line
        fail(f"cannot open the store at {config.database_url}: {exc}")
    if workers > 1 and store.dialect != "postgresql":
        store.dispose()
        fail(
            f"--workers {workers} needs PostgreSQL: SQLite has one writer per file, so processes would queue on "
            "its lock (and fail with 'database is locked' under load); one process already runs requests on a "
            "thread pool. Set RUBRICATE_DATABASE_URL=postgresql://... or use --workers 1."
        )
    if workers == 1:
        uvicorn.run(create_app(config, store=store), host=host, port=port, log_level="info")
        return
    store.dispose()  # each worker opens its own pool, with the settings it reads from the environment
    uvicorn.run(
        "server.app:create_app", factory=True, workers=workers, host=host, port=port, log_level="info",
        timeout_worker_healthcheck=WORKER_HEALTHCHECK_S,
    )  # fmt: skip


@app.command()
def ui(port: Annotated[int, typer.Option(help="Port of the review screens on 127.0.0.1.")] = 8501) -> None:
    """Run the Streamlit review screens; they reach the API at RUBRICATE_API_URL (default: the serve address)."""
    import os
    import subprocess
    import sys

    import review_ui

    entry = Path(review_ui.__file__).parent / "app.py"
    env = os.environ | {"RUBRICATE_API_URL": settings().api_url}
    command = [
        sys.executable,
        "-m",
        "streamlit",
        "run",
        str(entry),
        "--server.address",
        "127.0.0.1",
        "--server.port",
        str(port),
        "--server.headless",
        "true",
        "--browser.gatherUsageStats",
        "false",
    ]
    raise typer.Exit(subprocess.call(command, env=env))
