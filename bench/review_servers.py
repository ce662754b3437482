"""The review bench's servers: `rubricate serve` and the bare app, each a real process on 127.0.0.1."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import httpx

ROOT = Path(__file__).resolve().parent.parent


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def serve_has_workers() -> bool:
    """Whether this checkout's `rubricate serve` takes --workers."""
    help_text = subprocess.run(
        [sys.executable, "-m", "server", "serve", "--help"], capture_output=True, text=True, cwd=ROOT,
        env=os.environ | {"PYTHONPATH": str(ROOT)},
    ).stdout  # fmt: skip
    return "--workers" in help_text


@contextmanager
def _process(command: list[str], env: dict[str, str], log: Path, port: int) -> Iterator[subprocess.Popen]:
    """Start `command`, wait for /health on `port`, stop it (SIGINT, then kill) afterwards."""
    with log.open("w") as out:
        process = subprocess.Popen(command, env=os.environ | {"PYTHONPATH": str(ROOT)} | env, cwd=ROOT,
                                   stdout=out, stderr=subprocess.STDOUT)  # fmt: skip
        try:
            deadline = time.monotonic() + 300
            while True:
                if process.poll() is not None:
                    raise RuntimeError(f"{command[2]} exited: {log.read_text()[-2000:]}")
                try:
                    if httpx.get(f"http://127.0.0.1:{port}/health", timeout=2).status_code == 200:
                        break
                except httpx.TransportError:
                    pass
                if time.monotonic() > deadline:
                    raise RuntimeError(f"{command[2]} did not answer /health in 300 s: {log.read_text()[-2000:]}")
                time.sleep(0.1)
            yield process
        finally:
            process.send_signal(signal.SIGINT)
            try:
                process.wait(timeout=15)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()


@contextmanager
def _py_spy(pid: int, output: str | None) -> Iterator[None]:
    """Record `pid` with py-spy (speedscope format) while the block runs, when `output` is given; an output
    ending in ``.gil.json`` records only the thread holding the GIL (where the CPU goes), others every thread."""
    if output is None:
        yield
        return
    spy = subprocess.Popen(
        [str(Path(sys.executable).with_name("py-spy")), "record", "--pid", str(pid), "--format", "speedscope",
         "--output", output, "--rate", "200", "--nonblocking", *(["--gil"] if output.endswith(".gil.json") else [])],
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )  # fmt: skip
    time.sleep(1)
    try:
        yield
    finally:
        spy.send_signal(signal.SIGINT)
        spy.wait(timeout=60)


@contextmanager
def rubricate_server(folder: Path, database_url: str, workers: int, py_spy: str | None) -> Iterator[str]:
    """`python -m server serve` on a free port over `database_url`, home in `folder`."""
    port = free_port()
    command = [sys.executable, "-m", "server", "serve", "--host", "127.0.0.1", "--port", str(port)]
    if workers > 1:
        command += ["--workers", str(workers)]
    env = {"RUBRICATE_HOME": str(folder / "home"), "RUBRICATE_DATABASE_URL": database_url}
    with _process(command, env, folder / "rubricate.log", port) as process, _py_spy(process.pid, py_spy):
        yield f"http://127.0.0.1:{port}"


@contextmanager
def bare_server(folder: Path, pairs: int) -> Iterator[str]:
    """`bench/bare_app.py` under uvicorn on a free port, its SQLite file in `folder`."""
    port = free_port()
    folder.mkdir(parents=True, exist_ok=True)
    command = [sys.executable, "-m", "uvicorn", "bench.bare_app:app", "--host", "127.0.0.1", "--port", str(port),
               "--log-level", "info"]  # fmt: skip
    env = {"BARE_DATABASE": str(folder / "bare.db"), "BARE_PAIRS": str(pairs)}
    with _process(command, env, folder / "bare.log", port):
        yield f"http://127.0.0.1:{port}"
