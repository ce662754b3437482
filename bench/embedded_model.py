"""Embedded model speed: tokens/s of the vLLM server per dtype, at concurrency 1 and 16, against a compute bound.

For each configuration (a dtype, optionally with Intel OpenMP preloaded: `float32+iomp`) the bench
starts the embedded SmolLM2-135M server, warms it up, then sends chat requests that each generate
exactly `--tokens` tokens (`ignore_eos`, greedy) — first one at a time, then 16 in flight — and
reports output tokens per second. Configurations run one after another in one run, on the same
converted folder, so their ratio (float32 ÷ bfloat16) is measured side by side.

The compute bound is derived from the CPU: cores × vector lanes (fp32) × 2 (fused multiply-add) × FMA
units per core × clock = FLOP/s, doubled for bfloat16 where the CPU has AVX-512 BF16 (a bf16 dot
product fills two fp32 lanes) and equal to fp32 where bfloat16 is emulated; a token costs 2 ×
parameters FLOPs. Every figure it came from is printed. Decoding a 135M model is bound by memory
and overheads long before compute, so the fraction is small; it shows how far from the roof we are.

Run: ``.venv/bin/python bench/embedded_model.py [--configs bfloat16,float32] [--tokens 64]``.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import platform
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

import httpx

from judges import local_model

PROMPT = (
    "You are judging two answers to the question 'Why is the sky blue?'. Answer A: 'Because of Rayleigh "
    "scattering: shorter wavelengths scatter more in the atmosphere.' Answer B: 'Because it reflects the "
    "ocean.' Explain which answer is better and why, step by step."
)
FMA_UNITS = 2  # FMA ports per core on the x86 server cores we see (Skylake-SP and later, Zen 2 and later)


@dataclass(frozen=True)
class Cpu:
    """What the compute bound is made of."""

    model: str
    cores: int
    flags: frozenset[str]
    ghz: float
    clock_source: str

    @property
    def lanes(self) -> int:
        """fp32 lanes of the widest vector unit."""
        if "avx512f" in self.flags:
            return 16
        if "avx" in self.flags or "avx2" in self.flags:
            return 8
        return 4

    def flops(self, dtype: str) -> float:
        """Peak FLOP/s for `dtype` on all cores."""
        fma = 2 if "fma" in self.flags or "avx512f" in self.flags else 1
        fp32 = self.cores * self.lanes * fma * FMA_UNITS * self.ghz * 1e9
        native_bf16 = local_model.choose_dtype(self.flags).dtype == "bfloat16"
        return fp32 * (2 if dtype == "bfloat16" and native_bf16 else 1)


def read_cpu() -> Cpu:
    """Cores this process may use, flags, model name and clock (max frequency where the kernel says it)."""
    model, mhz = platform.processor() or "unknown", 0.0
    for line in Path("/proc/cpuinfo").read_text(errors="replace").splitlines():
        key, _, value = line.partition(":")
        if key.strip() == "model name":
            model = value.strip()
        if key.strip() == "cpu MHz" and not mhz:
            mhz = float(value)
    source = "/proc/cpuinfo cpu MHz"
    max_freq = Path("/sys/devices/system/cpu/cpu0/cpufreq/cpuinfo_max_freq")
    if max_freq.exists():
        mhz, source = int(max_freq.read_text()) / 1000, "cpufreq cpuinfo_max_freq"
    return Cpu(model, len(os.sched_getaffinity(0)), local_model.cpu_flags(), mhz / 1000, source)


def count_parameters(folder: Path) -> int:
    """Parameters in the model folder's safetensors (tied embeddings counted once)."""
    total = 0
    for path in folder.glob("*.safetensors"):
        with path.open("rb") as handle:
            header = json.loads(handle.read(int.from_bytes(handle.read(8), "little")))
        for name, entry in header.items():
            if name != "__metadata__":
                count = 1
                for size in entry["shape"]:
                    count *= size
                total += count
    return total


async def generate(client: httpx.AsyncClient, served: str, tokens: int, requests: int, concurrency: int) -> float:
    """Send `requests` chat requests of exactly `tokens` output tokens, `concurrency` at a time; tokens/s."""
    gate = asyncio.Semaphore(concurrency)
    produced = 0

    async def one() -> None:
        nonlocal produced
        async with gate:
            response = await client.post(
                "/chat/completions",
                json={
                    "model": served,
                    "messages": [{"role": "user", "content": PROMPT}],
                    "max_tokens": tokens,
                    "min_tokens": tokens,
                    "ignore_eos": True,
                    "temperature": 0.0,
                },
            )
            response.raise_for_status()
            produced += response.json()["usage"]["completion_tokens"]

    started = time.perf_counter()
    await asyncio.gather(*(one() for _ in range(requests)))
    return produced / (time.perf_counter() - started)


def measure(config: str, model: local_model.PreparedModel, tokens: int) -> dict[str, float]:
    """Start the server in one configuration, warm it up, measure c=1 and c=16, stop it."""
    dtype, _, extra = config.partition("+")
    saved = os.environ.get("LD_PRELOAD")
    if extra == "iomp":
        os.environ["LD_PRELOAD"] = str(Path(sys.prefix) / "lib" / "libiomp5.so")
    home = Path(tempfile.mkdtemp(prefix="rubricate-bench-model-"))
    try:
        server = local_model.serve(
            model.path, home=home, port=local_model.free_port(), served_name=model.served_name,
            ready_timeout=900, dtype=dtype,
        )  # fmt: skip
    finally:
        if saved is None:
            os.environ.pop("LD_PRELOAD", None)
        else:
            os.environ["LD_PRELOAD"] = saved
    try:

        async def run() -> dict[str, float]:
            async with httpx.AsyncClient(base_url=server.api_base, timeout=1800) as client:
                await generate(client, server.served_name, tokens, 16, 16)  # warm-up: compiles the shapes
                single = await generate(client, server.served_name, tokens, 4, 1)
                batched = await generate(client, server.served_name, tokens, 48, 16)
            return {"c1": single, "c16": batched, "ready_s": server.ready_s or 0.0}

        return asyncio.run(run())
    finally:
        local_model.stop(home)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--configs", default="bfloat16,float32", help="comma-separated: dtype[+iomp]")
    parser.add_argument("--tokens", type=int, default=64, help="output tokens per request")
    args = parser.parse_args()

    cpu = read_cpu()
    model = local_model.prepare(
        Path(tempfile.mkdtemp(prefix="rubricate-bench-home-")),
        cache_dir=Path("~/.cache/rubricate/models").expanduser(),
    )
    params = count_parameters(model.path)
    choice = local_model.choose_dtype(cpu.flags)
    shown = sorted(cpu.flags & {"avx", "avx2", "fma", "f16c", "avx512f", "avx512_bf16", "amx_bf16", "avx_vnni"})
    print(f"CPU: {cpu.model}; {cpu.cores} cores; flags {' '.join(shown)}; clock {cpu.ghz:.2f} GHz ({cpu.clock_source})")
    print(f"auto dtype here: {choice.dtype} ({choice.reason})")
    print(f"model: {model.path.name}, {params / 1e6:.1f}M parameters -> {2 * params / 1e6:.0f} MFLOP per token")
    for dtype in ("float32", "bfloat16"):
        factor = " x 2 (native bf16 dot product)" if cpu.flops(dtype) > cpu.flops("float32") else ""
        print(
            f"compute bound {dtype}: {cpu.cores} cores x {cpu.lanes} fp32 lanes x 2 (FMA) x {FMA_UNITS} FMA units"
            f" x {cpu.ghz:.2f} GHz{factor} = {cpu.flops(dtype) / 1e9:.0f} GFLOP/s"
            f" = {cpu.flops(dtype) / (2 * params):,.0f} tokens/s"
        )
    results: dict[str, dict[str, float]] = {}
    for config in args.configs.split(","):
        print(f"measuring {config} …", flush=True)
        results[config] = measure(config, model, args.tokens)

    print(f"\n{'config':<16}{'ready s':>9}{'c=1 tok/s':>12}{'c=16 tok/s':>12}{'c=16 / bound':>14}")
    for config, row in results.items():
        bound = cpu.flops(config.partition("+")[0]) / (2 * params)
        print(f"{config:<16}{row['ready_s']:>9.0f}{row['c1']:>12.1f}{row['c16']:>12.1f}{row['c16'] / bound:>13.1%}")
    if "float32" in results and "bfloat16" in results:
        f32, b16 = results["float32"], results["bfloat16"]
        print(
            f"float32 / bfloat16: {f32['c1'] / b16['c1']:.2f}x at c=1, {f32['c16'] / b16['c16']:.2f}x at c=16"
            f" (auto picks {choice.dtype} here)"
        )


if __name__ == "__main__":
    main()
