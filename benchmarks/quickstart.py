"""The quick start as a newcomer meets it: wall time of `gankit train` (the default job) on a quiet
machine and on busy cores, and what the number of threads does to a small model.

Every measurement is a whole process (`python -m gankit train ...` in a fresh folder), so imports,
data, the end-of-run evaluation, pictures and report all count. A "busy" measurement first
starts one CPU-bound process per core (a matrix multiply in a loop, one thread each), as other
users' jobs on a shared machine would be. Configurations alternate within each round, so a drift
of the machine's speed slows all of them alike.

    python benchmarks/quickstart.py              # about 25 minutes on two cores
    python benchmarks/quickstart.py --quick      # a smoke run: a few steps, one round
    python benchmarks/quickstart.py --as-found   # on a machine other jobs keep busy, as it is
"""

from __future__ import annotations

import argparse
import os
import re
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from common import save, settings  # noqa: E402

RESULTS = Path(__file__).resolve().parent / "results"
BURNER = "import torch\ntorch.set_num_threads(1)\na = torch.randn(384, 384)\nwhile True: a @ a"


def busy_cores(n: int) -> list[subprocess.Popen]:
    return [subprocess.Popen([sys.executable, "-c", BURNER]) for _ in range(n)]


def run_job(steps: int | None, threads: int | None) -> dict:
    """One `gankit train` of the default job (to `steps` when given) in a fresh folder."""
    cmd = [sys.executable, "-m", "gankit", "train", "--set", "train.progress=false"]
    if steps is not None:
        cmd += ["--steps", str(steps)]
    if threads is not None:
        cmd += ["--set", f"train.threads={threads}"]
    with tempfile.TemporaryDirectory() as tmp:
        start = time.perf_counter()
        out = subprocess.run(cmd, cwd=tmp, capture_output=True, text=True, check=True).stdout
        wall = time.perf_counter() - start
    modes = re.search(r"modes (\S+)\s+hq_pct (\S+)\s+rev_kl (\S+)", out)
    row = {"wall_s": round(wall, 1)}
    if modes:
        row.update(modes=float(modes[1]), hq_pct=float(modes[2]), rev_kl=float(modes[3]))
    return row


def measure(configs: list[dict], rounds: int) -> list[dict]:
    """Each config `rounds` times, configs alternating within a round; medians per config."""
    walls: dict[int, list[dict]] = {k: [] for k in range(len(configs))}
    for r in range(rounds):
        for k, c in enumerate(configs):
            burners = busy_cores(os.cpu_count() or 2) if c["load"] == "busy" else []
            try:
                time.sleep(1.0 if burners else 0.0)  # let the burners take their cores
                load = os.getloadavg()[0]
                result = {**run_job(c["steps"], c["threads"]), "load_before": load}
            finally:
                for p in burners:
                    p.kill()
                    p.wait()
            walls[k].append(result)
            print(f"round {r}: {c} -> {result}", flush=True)
    rows = []
    for k, c in enumerate(configs):
        runs = walls[k]
        rows.append(
            {
                **c,
                "threads": c["threads"] if c["threads"] is not None else "auto",
                "steps": c["steps"] or 5000,
                "wall_s": statistics.median(x["wall_s"] for x in runs),
                "walls_s": [x["wall_s"] for x in runs],
                "load_before": [round(x["load_before"], 1) for x in runs],
                **{m: runs[-1][m] for m in ("modes", "hq_pct", "rev_kl") if m in runs[-1]},
            }
        )
    return rows


def write_markdown(rows: list[dict], path: Path, info: dict) -> None:
    lines = [
        "# The quick start: `gankit train` wall time (`benchmarks/quickstart.py`)",
        "",
        f"Machine: {info['machine']}; torch {info['torch']}. Date: {info['date']}. "
        f"{info['rounds']} rounds, configurations alternating in each; the median is shown, every "
        f"run in `walls s`. Wall time of the whole invocation: {info['total_wall_s'] / 60:.1f} "
        "min.",
        "",
        "Each run is the whole process `python -m gankit train [--steps N] [--set "
        "train.threads=T]` in a fresh folder: the `default` preset (the Unrolled GAN on the "
        "8-Gaussian ring, 5,000 steps), imports, data, end-of-run evaluation, pictures and "
        "report included. `busy`: one CPU-bound process per core (a 384x384 matrix multiply in a "
        "loop on one thread) runs beside the job. `threads auto` is `train.threads=0`, which "
        "gives this small model one thread.",
        "",
        "`as found`: no burners; the machine as other jobs kept it (their load: `load before`, "
        "the 1-minute load average when the run started).",
        "",
        "| job | load | threads | steps | wall s (median) | walls s | load before | modes | % HQ "
        "| reverse KL |",
        "|---|---|---|---|---|---|---|---|---|---|",
    ]
    for r in rows:
        walls = ", ".join(f"{w:.0f}" for w in r["walls_s"])
        loads = ", ".join(f"{x:.1f}" for x in r["load_before"])
        lines.append(
            f"| {r['job']} | {r['load']} | {r['threads']} | {r['steps']} | {r['wall_s']:.0f} "
            f"| {walls} | {loads} | {r.get('modes', '')} | {r.get('hq_pct', '')} "
            f"| {r.get('rev_kl', '')} |"
        )
    path.write_text("\n".join(lines) + "\n")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--rounds", type=int, default=2)
    ap.add_argument("--short-steps", type=int, default=300, help="steps of the thread comparison")
    ap.add_argument("--quick", action="store_true", help="a smoke run: few steps, one round")
    ap.add_argument(
        "--as-found",
        action="store_true",
        help="no burners and no quiet runs: measure on the machine as other jobs keep it busy",
    )
    ap.add_argument("--out", type=Path, default=RESULTS)
    args = ap.parse_args()
    full, short, rounds = (20, 10, 1) if args.quick else (None, args.short_steps, args.rounds)
    loads = ["as found"] if args.as_found else ["quiet", "busy"]
    configs = [
        {"job": "default", "load": load, "steps": full, "threads": None} for load in loads
    ] + [
        {"job": f"default, {short} steps", "load": load, "steps": short, "threads": threads}
        for load in loads
        for threads in (1, 2)
    ]
    start = time.perf_counter()
    rows = measure(configs, rounds)
    args.out.mkdir(parents=True, exist_ok=True)
    info = settings(rounds=rounds, total_wall_s=time.perf_counter() - start)
    stem = args.out / ("quickstart_smoke" if args.quick else "quickstart")
    save(stem, rows, info, write_markdown)


if __name__ == "__main__":
    main()
