"""Shared by the benchmark scripts: mean and standard error, machine description, row merging."""

from __future__ import annotations

import json
import math
import os
import platform
import statistics
import subprocess
import time
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


def merge_rows(path: Path, rows: list[dict], key: str | tuple[str, ...] = "preset") -> list[dict]:
    """The rows of `path` whose `key` (a field, or several) was not run this time, then this
    run's rows."""
    if not path.exists():
        return rows
    keys = (key,) if isinstance(key, str) else key

    def ident(row: dict) -> tuple:
        return tuple(row.get(k) for k in keys)

    fresh = {ident(r) for r in rows}
    return [r for r in json.loads(path.read_text()) if ident(r) not in fresh] + rows


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


def tree(pid: int) -> list[int]:
    """pid and all its descendants, from /proc."""
    children: dict[int, list[int]] = {}
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            try:
                ppid = int(Path(f"/proc/{entry}/stat").read_text().rsplit(")", 1)[1].split()[1])
            except (OSError, IndexError, ValueError):
                continue  # gone meanwhile
            children.setdefault(ppid, []).append(int(entry))
    out, todo = [], [pid]
    while todo:
        p = todo.pop()
        out.append(p)
        todo.extend(children.get(p, []))
    return out


def memory_mb(pids: list[int]) -> dict[str, float]:
    """MB of the process tree pids (the first is its root): `tree` counts each resident page
    once (the root's RSS plus the private pages of the others; DataLoader workers share the
    root's pages copy-on-write), `rss_sum` adds up every process's RSS (shared pages counted
    once per process) and `pss` shares shared pages out among the processes that map them."""
    out = {"tree": 0.0, "rss_sum": 0.0, "pss": 0.0}
    for k, p in enumerate(pids):
        try:
            text = Path(f"/proc/{p}/smaps_rollup").read_text()
        except OSError:
            continue  # gone meanwhile
        kb = {}
        for line in text.splitlines()[1:]:
            parts = line.split()
            if len(parts) >= 2 and parts[1].isdigit():
                kb[parts[0].rstrip(":")] = int(parts[1])
        private = kb.get("Private_Clean", 0) + kb.get("Private_Dirty", 0)
        out["tree"] += (kb.get("Rss", 0) if k == 0 else private) / 1024
        out["rss_sum"] += kb.get("Rss", 0) / 1024
        out["pss"] += kb.get("Pss", 0) / 1024
    return out


def peak_memory_mb(proc: subprocess.Popen, every: float = 0.1) -> dict[str, float]:
    """Peaks of `memory_mb` over `proc`'s process tree, sampled every `every` s until it ends."""
    peak = {"tree": 0.0, "rss_sum": 0.0, "pss": 0.0}
    while proc.poll() is None:
        for k, v in memory_mb(tree(proc.pid)).items():
            peak[k] = max(peak[k], v)
        time.sleep(every)
    return peak


def settings_section(info: dict, md: Path) -> list[str]:
    """The md's closing lines: the invocation's settings, then the hand-written findings of
    STEM_notes.md beside it, if any (kept across re-runs)."""
    lines = ["", "## Settings (of the latest invocation)", ""]
    lines += [f"- {k}: {v}" for k, v in info.items()]
    notes = md.with_name(md.stem + "_notes.md")
    if notes.exists():
        lines += ["", notes.read_text().rstrip()]
    return lines


def previous_settings(md: Path) -> dict:
    """The settings list of an existing md written with `settings_section` (to write the md
    again from its json with the settings of the run that made them)."""
    if not md.exists():
        return {}
    text = md.read_text().split("## Settings", 1)[-1].split("\n## ", 1)[0]
    pairs = (line[2:].split(": ", 1) for line in text.splitlines() if line.startswith("- "))
    return {k: v for k, v in pairs}


def render_again(stem: Path, write_markdown) -> None:
    """STEM.md written again from STEM.json, with the settings of the run that made the rows
    (for a script's --render-only, after its notes or its table changed)."""
    rows = json.loads(stem.with_suffix(".json").read_text())
    write_markdown(rows, stem.with_suffix(".md"), previous_settings(stem.with_suffix(".md")))
