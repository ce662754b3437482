"""What every CLI command shares: settings, the store, one-line errors (exit 2), JSON or text output."""

from __future__ import annotations

import json
import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Annotated, Any, NoReturn

import typer
from pydantic import BaseModel, ValidationError
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeRemainingColumn

from server.settings import Settings
from server.storage import Conflict, NotFound, Store, open_store

JsonOpt = Annotated[bool, typer.Option("--json", help="Machine-readable output.")]

err = Console(stderr=True, soft_wrap=True)
out = Console(soft_wrap=True, highlight=False)


def fail(message: str, code: int = 2) -> NoReturn:
    """Print one line to stderr and exit (2 for bad input, as DESIGN.md asks)."""
    err.print(f"error: {message}", markup=False, highlight=False)
    raise typer.Exit(code)


def settings() -> Settings:
    try:
        return Settings()
    except ValidationError as exc:
        first = exc.errors()[0]
        fail(f"RUBRICATE_{'_'.join(str(p) for p in first['loc']).upper()}: {first['msg']}")


def store() -> Store:
    return open_store(settings().database_url)


@contextmanager
def user_errors() -> Iterator[None]:
    """Turn expected failures (bad input, missing or conflicting objects) into exit 2 with one line."""
    try:
        yield
    except ValidationError as exc:
        first = exc.errors()[0]
        field = ".".join(str(p) for p in first["loc"]) or "input"
        fail(f"{field}: {first['msg']}")
    except (ValueError, NotFound, Conflict, FileNotFoundError, FileExistsError) as exc:
        fail(str(exc).splitlines()[0] if str(exc) else type(exc).__name__)


def emit(data: BaseModel | dict[str, Any] | list[Any], as_json: bool, text: Callable[[], None] | None = None) -> None:
    """Print `data` as JSON (for scripts) or call `text` for people."""
    if as_json or text is None:
        payload = data.model_dump(mode="json") if isinstance(data, BaseModel) else data
        sys.stdout.write(json.dumps(payload, indent=None if as_json else 2, default=str) + "\n")
    else:
        text()


@contextmanager
def progress_bar(label: str, enabled: bool = True) -> Iterator[Callable[[int, int], None]]:
    """A terminal progress bar; yields `update(done, total)`. Quiet when stderr is not a terminal."""
    if not enabled or not err.is_terminal:
        yield lambda done, total: None
        return
    with Progress(TextColumn(label), BarColumn(), MofNCompleteColumn(), TimeRemainingColumn(), console=err) as bar:
        task = bar.add_task(label, total=None)

        def update(done: int, total: int) -> None:
            bar.update(task, completed=done, total=total)

        yield update
