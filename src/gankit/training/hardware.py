"""What this machine runs well: the precision and the number of threads a run should use.

bf16 pays only where the hardware computes in it: on a CPU with bf16 dot-product instructions
(Intel AMX, or AVX-512 BF16 as on AMD Zen 4 and Intel Cooper Lake) a DCGAN step is about 1.7x
faster than in fp32; on a CPU without them (AVX2-only, e.g. AMD Zen 3) oneDNN emulates bf16 and
the same step is about 10x slower. So `train.precision=auto` picks bf16 only for models whose
work is large convolutions, and only on such hardware; everything else trains in fp32.

`train.channels_last=auto` stores the images and convolution weights of large conv models
channels-last (NHWC) on a CPU, where oneDNN's convolutions run faster on it (a DCGAN 32x32 step,
measured interleaved in one process on this project's EPYC: about 10% faster in fp32 and 15% in
bf16; benchmarks/throughput.py's rows `bf16` and `bf16+channels_last` measure it on any machine),
and on a GPU only in bf16/fp16, where tensor cores want it; small models keep the default layout.

Small models (2-D MLPs, LSTMs) gain nothing from several intra-op threads and slow down badly
when the cores are shared, so `train.threads=0` (auto) runs them on one thread; large models keep
the process's thread count (torch's default: every core, or what the caller set).
"""

from __future__ import annotations

import functools
from pathlib import Path

import torch

BF16_CPU_FLAGS = ("amx_bf16", "avx512_bf16")  # /proc/cpuinfo flags of native bf16 matrix work


def cpu_flags() -> set[str]:
    """The CPU's feature flags as Linux reports them; empty where /proc/cpuinfo is absent."""
    try:
        text = Path("/proc/cpuinfo").read_text()
    except OSError:
        return set()
    for line in text.splitlines():
        if line.startswith(("flags", "Features")):
            return set(line.partition(":")[2].split())
    return set()


def cpu_name() -> str:
    """The CPU's model name, for results files; the platform's processor string elsewhere."""
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.partition(":")[2].strip()
    except OSError:
        pass
    import platform

    return platform.processor() or platform.machine()


@functools.cache
def native_bf16(device_type: str) -> tuple[bool, str]:
    """(whether `device_type` computes in bf16 natively, why), detected once per process."""
    if device_type == "cuda":
        major, _ = torch.cuda.get_device_capability()
        return major >= 8, f"CUDA compute capability {major}.x (bf16 tensor cores from 8.0)"
    if device_type != "cpu":
        return False, f"{device_type}: fp32 unless asked"
    found = [f for f in BF16_CPU_FLAGS if f in cpu_flags()]
    if found:
        return True, f"the CPU has {', '.join(found)}"
    return False, "the CPU has no bf16 instructions (amx_bf16, avx512_bf16): bf16 would be emulated"


def resolve_precision(requested: str, device: torch.device, compute_bound: bool) -> tuple[str, str]:
    """(precision, why) for `train.precision=requested`; only "auto" is decided here."""
    if requested != "auto":
        return requested, "as configured"
    if not compute_bound:
        return "fp32", "auto: a small model, where bf16 does not pay"
    native, why = native_bf16(device.type)
    return ("bf16" if native else "fp32"), f"auto: {why}"


def resolve_channels_last(
    requested: str, device: torch.device, precision: str, compute_bound: bool
) -> str:
    """ "true" or "false" for `train.channels_last=requested` (auto | true | false)."""
    if requested != "auto":
        return requested
    wanted = compute_bound and (device.type == "cpu" or precision in ("bf16", "fp16"))
    return "true" if wanted else "false"


def resolve_threads(requested: int, compute_bound: bool) -> int:
    """Intra-op threads for `train.threads=requested` (0 = auto): one for a small model, else
    the process's current count."""
    if requested > 0:
        return requested
    return torch.get_num_threads() if compute_bound else 1
