"""Does a change keep every preset's numbers? Trains each preset for a few steps with this
checkout and with an earlier revision, and compares the logged losses and the final weights.

    python benchmarks/same_numbers.py --base REV [--steps 3] [--preset NAME ...]

Each preset runs `--steps` steps in fp32 on one thread with batch 20, logging every step, no
evaluation; a row is "same" when every logged value and a SHA-256 of every net's final weights
are equal, bit for bit. This is stronger than re-running a benchmark within noise: a refactor
that keeps behaviour gives the same bits. Presets that need your own photos are left out.
Results: benchmarks/results/same_numbers.{md,json}.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from common import save, settings  # noqa: E402

ROOT = Path(__file__).resolve().parent.parent
NEEDS_PHOTOS = {"progan", "lfw-progan"}
# shorter growth phases, so a few steps reach past the first fade-in check
EXTRA = {"fashion-progan": ["model.stable_images=20", "model.fade_images=20"]}


def run_presets(presets: list[str], steps: int, out: Path) -> None:
    """(In the child process of one checkout.) Losses and weight hashes of each preset."""
    import torch

    from gankit import api

    torch.set_num_threads(1)
    results = {}
    for preset in presets:
        sets = [f"train.steps={steps}", "train.log_every=1", "train.progress=false",
                "train.tensorboard=false", "train.report=false", "train.metrics=[]",
                "train.n_samples=64", "train.sample_every=1000", "train.ckpt_every=1000",
                "train.precision=fp32", "train.batch_size=20", *EXTRA.get(preset, [])]  # fmt: skip
        folder = Path(tempfile.mkdtemp(prefix="same-numbers-"))
        try:
            trainer = api.train(preset, overrides=sets, out=folder / "run")
            rows = (folder / "run" / "metrics.jsonl").read_text().splitlines()
            logged = [{k: v for k, v in json.loads(r).items() if k != "time"} for r in rows]
            digest = hashlib.sha256()
            for key, value in sorted(trainer.model.nets.state_dict().items()):
                digest.update(key.encode())
                digest.update(value.detach().cpu().contiguous().numpy().tobytes())
            results[preset] = {"logged": logged, "weights": digest.hexdigest()}
        except Exception as e:  # the same error in both checkouts is the same behaviour
            results[preset] = {"error": f"{type(e).__name__}: {e}"}
    out.write_text(json.dumps(results))


def in_checkout(src: Path, presets: list[str], steps: int, out: Path) -> float:
    env = {**os.environ, "PYTHONPATH": str(src), "OMP_NUM_THREADS": "1"}
    cmd = [sys.executable, __file__, "--child", str(out), "--steps", str(steps), *presets]
    start = time.perf_counter()
    subprocess.run(cmd, env=env, check=True, cwd=tempfile.gettempdir())
    return time.perf_counter() - start


def write_markdown(rows: list[dict], path: Path, info: dict) -> None:
    same = sum(r["same"] for r in rows)
    rows_old = [r for r in rows if not r.get("new")]
    lines = [
        "# Same numbers before and after a change",
        "",
        f"`python benchmarks/same_numbers.py --base {info['base']} --steps {info['steps']}`: "
        f"each preset trained {info['steps']} steps (fp32, one thread, batch 20, seed 0, "
        "logging every step, no evaluation) with this checkout "
        f"({info['head']}) and with {info['base']}; **{same} of {len(rows_old)} presets give the "
        "same logged values and the same final weights, bit for bit.**",
        "" if len(rows_old) == len(rows) else f"({len(rows) - len(rows_old)} presets are new "
        f"in this checkout and have nothing to compare with.)",
        "",
        f"Machine: {info['machine']}. Wall time: {info['wall_s']:.0f} s for both checkouts.",
        "",
        "| preset | same | note |",
        "|---|---|---|",
    ]
    for r in rows:
        same = "yes" if r["same"] else "new" if r.get("new") else "**no**"
        lines.append(f"| {r['preset']} | {same} | {r['note']} |")
    path.write_text("\n".join(lines) + "\n")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("presets", nargs="*")
    ap.add_argument("--base", default="HEAD")
    ap.add_argument("--steps", type=int, default=3)
    ap.add_argument("--child")
    args = ap.parse_args()
    if args.child:
        return run_presets(args.presets, args.steps, Path(args.child))
    from gankit.config import list_presets

    presets = args.presets or [p for p in list_presets() if p not in NEEDS_PHOTOS]
    rev = lambda r: subprocess.run(  # noqa: E731
        ["git", "rev-parse", "--short", r], cwd=ROOT, capture_output=True, text=True
    ).stdout.strip()
    with tempfile.TemporaryDirectory() as tmp:
        base_tree = Path(tmp) / "base"
        subprocess.run(["git", "worktree", "add", "--detach", str(base_tree), args.base],
                       cwd=ROOT, check=True, capture_output=True)  # fmt: skip
        try:
            wall = in_checkout(base_tree / "src", presets, args.steps, Path(tmp) / "base.json")
            wall += in_checkout(ROOT / "src", presets, args.steps, Path(tmp) / "head.json")
            before = json.loads((Path(tmp) / "base.json").read_text())
            after = json.loads((Path(tmp) / "head.json").read_text())
        finally:
            subprocess.run(["git", "worktree", "remove", "--force", str(base_tree)], cwd=ROOT)
    rows = []
    for p in presets:
        a, b = before.get(p, {}), after.get(p, {})
        note = a.get("error", "")[:120] or f"{len(a.get('logged', []))} rows compared"
        new = "unknown preset" in a.get("error", "") and "error" not in b
        note = "new preset: nothing to compare with" if new else note
        row = {"preset": p, "same": a == b, "new": new, "note": note}
        rows.append({**row, "before": a, "after": b})
    info = settings(base=f"{args.base} ({rev(args.base)})", head=rev("HEAD"), steps=args.steps,
                    wall_s=wall)  # fmt: skip
    save(ROOT / "benchmarks" / "results" / "same_numbers", rows, info, write_markdown)


if __name__ == "__main__":
    main()
