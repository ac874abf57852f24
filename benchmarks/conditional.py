"""Conditional GANs on MNIST: does G draw the class it is asked for?

Each preset (`mnist-cgan`, Mirza and Osindero's MLP cGAN; `mnist-cdcgan`, the conditional DCGAN
with a projection D) trains for its own number of steps, with its own settings, and is scored by
its own end-of-training metrics: `class-acc` (the share of samples of class k that gankit's
MNIST classifier, trained on MNIST's training images and never used in training, calls k) and
`fid-classifier` (FID in that classifier's feature space, against mnist5k's test split). The
ablation row trains mnist-cgan as it was before batch norm in G and dropout in D were its
defaults (`model.g_norm=false model.d_dropout=0`). The final samples (one row per class) are
copied beside the numbers.

    python benchmarks/conditional.py                 # results/conditional.md/.json/_*.png
    python benchmarks/conditional.py --quick         # a smoke run (20 steps, not saved)
"""

from __future__ import annotations

import argparse
import shutil
import time
from pathlib import Path

from common import save, settings

# (name in the table, preset, overrides)
BEFORE = ("model.g_norm=false", "model.d_dropout=0")
RUNS = [
    ("mnist-cgan", "mnist-cgan", ()),
    ("mnist-cgan, before (ReLU G, no dropout)", "mnist-cgan", BEFORE),
    ("mnist-cdcgan", "mnist-cdcgan", ()),
]


def train_one(name: str, preset: str, extra: tuple, args) -> dict:
    from gankit import api

    out = args.runs / name.split(",")[0].replace(" ", "_") / ("before" if extra else "now")
    shutil.rmtree(out, ignore_errors=True)
    opts = [
        *extra,
        f"train.seed={args.seed}",
        f"train.threads={args.threads}",
        "train.progress=false",
        "train.tensorboard=false",
        "train.report=false",
    ]
    if args.quick:
        opts.append("train.steps=20")
    start = time.perf_counter()
    trainer = api.train(preset, overrides=opts, out=out)
    r = trainer.results
    snapshot = sorted((out / "samples").glob("step_*.png"))[-1]
    picture = args.out / f"conditional_{preset}{'_before' if extra else ''}.png"
    shutil.copyfile(snapshot, picture)
    return {
        "name": name,
        "preset": preset,
        "overrides": list(extra),
        "seed": args.seed,
        "steps": trainer.step,
        "class_acc": r["eval/class_acc"],
        "fid_classifier": r["eval/fid_classifier"],
        "class_acc_protocol": r["eval/class_acc_protocol"],
        "train_s": round(trainer.elapsed, 1),
        "wall_s": round(time.perf_counter() - start, 1),
        "picture": picture.name,
    }


def write_markdown(rows: list[dict], path: Path, info: dict) -> None:
    lines = [
        "# Conditional GANs on MNIST (`benchmarks/conditional.py`)",
        "",
        f"Machine: {info['machine']}; torch {info['torch']}. Date: {info['date']}. Each preset at "
        f"its own steps and settings on {info['threads']} thread(s), seed {info['seed']}; "
        f"machine load while running: {info['load']}. Wall time of the invocation: "
        f"{info['total_wall_s'] / 60:.1f} min.",
        "",
        "class-acc: the share of G's samples of class k that gankit's MNIST classifier calls k "
        "(1 is perfect, 0.1 is chance); fid-classifier: FID in that classifier's features "
        "against mnist5k's test split (lower is better). The classifier never trains a GAN.",
        "",
        "| run | steps | class-acc | fid-classifier | train s | samples |",
        "|---|---|---|---|---|---|",
    ]
    for r in rows:
        lines.append(
            f"| {r['name']} | {r['steps']} | {r['class_acc']:.3f} | {r['fid_classifier']:.1f} "
            f"| {r['train_s']:.0f} | [{r['picture']}]({r['picture']}) |"
        )
    lines += ["", f"Protocol: {rows[0]['class_acc_protocol']}."]
    path.write_text("\n".join(lines) + "\n")


def main() -> None:
    import os

    import torch

    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument("--quick", action="store_true", help="20 steps each, not saved")
    ap.add_argument("--runs", type=Path, default=Path("/tmp/gankit-conditional-runs"))
    ap.add_argument("--out", type=Path, default=Path(__file__).parent / "results")
    args = ap.parse_args()
    if args.quick:
        args.out = Path("/tmp/gankit-conditional-quick")
    args.out.mkdir(parents=True, exist_ok=True)
    torch.set_num_threads(args.threads)
    start, load = time.perf_counter(), os.getloadavg()
    rows = [train_one(name, preset, extra, args) for name, preset, extra in RUNS]
    info = settings(
        threads=args.threads,
        seed=args.seed,
        load=f"{load[0]:.1f} at the start, {os.getloadavg()[0]:.1f} at the end (1-min averages)",
        total_wall_s=time.perf_counter() - start,
    )
    for r in rows:
        r["machine"] = info["machine"]
    save(args.out / "conditional", rows, info, write_markdown)


if __name__ == "__main__":
    main()
