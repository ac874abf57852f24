"""Shared by the benchmark scripts: mean and standard error, machine description, row merging."""

from __future__ import annotations

import json
import math
import os
import platform
import statistics
from datetime import datetime, timezone
from pathlib import Path

import torch


def mean_se(values: list[float]) -> tuple[float, float]:
    """Mean and standard error of the mean (0 for a single value)."""
    if len(values) < 2:
        return values[0], 0.0
    return statistics.fmean(values), statistics.stdev(values) / math.sqrt(len(values))


def settings(**extra) -> dict:
    """What every result file records: machine (CPU model, whether it computes bf16 natively,
    the load when the script ended), torch, date, plus the script's own settings."""
    from gankit.training.hardware import cpu_name, native_bf16

    load = ", ".join(f"{x:.1f}" for x in os.getloadavg())
    return {
        "machine": f"{cpu_name()}, {platform.machine()}, {os.cpu_count()} cores, "
        f"bf16 native: {native_bf16('cpu')[0]}, load average {load} (1, 5, 15 min)",
        "cpu": cpu_name(),
        "bf16_native": native_bf16("cpu")[0],
        "torch": torch.__version__,
        "date": datetime.now(timezone.utc).strftime("%Y-%m-%d"),
        **extra,
    }


def merge_rows(path: Path, rows: list[dict], key: str = "preset") -> list[dict]:
    """The rows of `path` whose `key` was not run this time, then this run's rows."""
    if not path.exists():
        return rows
    fresh = {r[key] for r in rows}
    return [r for r in json.loads(path.read_text()) if r[key] not in fresh] + rows


def gather(futures) -> list[dict]:
    """Results of the futures in order, each printed as a JSON line as it arrives."""
    runs = []
    for f in futures:
        runs.append(f.result())
        print(json.dumps(runs[-1]), flush=True)
    return runs


def save(stem: Path, rows: list[dict], info: dict, write_markdown) -> None:
    """STEM.json (the rows) and STEM.md (by the script's `write_markdown(rows, path, info)`)."""
    stem.with_suffix(".json").write_text(json.dumps(rows, indent=1))
    write_markdown(rows, stem.with_suffix(".md"), info)
    print(f"wrote {stem}.md and {stem}.json")
