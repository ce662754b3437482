"""`rubricate serve` as a real subprocess on a free 127.0.0.1 port: what a deployment runs, workers included.

The process gets its own session (process group), so stopping it also stops its uvicorn workers. Each
worker imports the whole app (litellm and instructor included: ~30 s on a loaded 2-core machine), hence
the generous start timeout.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import httpx

from tests.support.postgres import free_port

ROOT = Path(__file__).resolve().parents[2]


def serve_command(port: int, workers: int = 1) -> list[str]:
    return [sys.executable, "-m", "server", "serve", "--host", "127.0.0.1", "--port", str(port), "--workers",
            str(workers)]  # fmt: skip


@contextmanager
def serve_process(home: Path, database_url: str, *, workers: int = 1, **env: str) -> Iterator[str]:
    """Yield the URL of `rubricate serve --workers N` over `database_url`; `env` adds RUBRICATE_* settings."""
    port = free_port()
    home.mkdir(parents=True, exist_ok=True)
    environment = os.environ | {"RUBRICATE_HOME": str(home), "RUBRICATE_DATABASE_URL": database_url,
                                "PYTHONPATH": str(ROOT)} | env  # fmt: skip
    log = (home / f"serve-{port}.log").open("wb")
    process = subprocess.Popen(
        serve_command(port, workers), cwd=ROOT, env=environment, stdout=log, stderr=subprocess.STDOUT,
        start_new_session=True,
    )  # fmt: skip
    url = f"http://127.0.0.1:{port}"
    try:
        _wait_ready(url, process, home / f"serve-{port}.log")
        yield url
    finally:
        _stop(process)
        log.close()


def _wait_ready(url: str, process: subprocess.Popen[bytes], log: Path, timeout: float = 300) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"rubricate serve exited with {process.returncode}:\n{log.read_text()[-3000:]}")
        try:
            if httpx.get(f"{url}/health", timeout=2).status_code == 200:
                return
        except httpx.TransportError:
            pass
        time.sleep(0.1)
    raise RuntimeError(f"rubricate serve did not answer within {timeout} s:\n{log.read_text()[-3000:]}")


def _stop(process: subprocess.Popen[bytes]) -> None:
    """SIGTERM the server's process group (uvicorn's supervisor stops its workers), SIGKILL if it lingers."""
    if process.poll() is not None:
        return
    os.killpg(process.pid, signal.SIGTERM)
    try:
        process.wait(timeout=20)
    except subprocess.TimeoutExpired:
        os.killpg(process.pid, signal.SIGKILL)
        process.wait(timeout=10)
