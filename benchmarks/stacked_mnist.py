"""Stacked MNIST mode coverage (1,000 modes): PacGAN's Table 3 setting, D a quarter of G's width.

Protocol (Metz et al. 2016; Lin et al. 2018): 26,000 samples from the final G; each channel
classified by gankit's MNIST classifier; modes = distinct (R, G, B) digit triples seen;
KL(q || uniform over 1,000). The digits come from `mnist5k` (full MNIST is not on this machine):
its 4,000 training digits make the triples, and the classifier was trained on the same 4,000.

    python benchmarks/stacked_mnist.py                        # every preset, 3 seeds, 2 workers
    python benchmarks/stacked_mnist.py --presets stacked-pacdcgan --seeds 1

Each run trains in its own process on one thread, two at once on a 2-core machine, so a run's
wall time is that of one core with the other busy.
"""

from __future__ import annotations

import argparse
import shutil
import statistics
import tempfile
import time
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path

import torch
from common import gather, mean_se, merge_rows, save, settings

PRESETS = ["stacked-dcgan", "stacked-unrolled", "stacked-wgan-gp", "stacked-pacdcgan"]
TARGET_MODES, TARGET_MINUTES = 700, 30

PUBLISHED = [  # PacGAN Table 3 (D 1/4 of G), about 500k steps on a GPU: (method, modes, KL)
    ("DCGAN", 78.5, 5.21),
    ("Unrolled GAN, 10 steps", 327.2, 4.66),
    ("PacDCGAN4", 667.4, 1.81),
]


def run_one(preset: str, seed: int, keep: Path | None) -> dict:
    torch.set_num_threads(1)
    from gankit import api

    out = Path(tempfile.mkdtemp(prefix="stacked-")) / f"{preset}-s{seed}"
    sets = [f"train.seed={seed}", "train.progress=false", "train.tensorboard=false"]
    trainer = api.prepare(preset, overrides=sets, out=out)
    results = trainer.fit()  # ends with the preset's evaluation: stacked-modes on 26,000 samples
    row = {
        "preset": preset,
        "model": trainer.cfg.model.name,
        "seed": seed,
        "steps": trainer.step,
        "wall_s": trainer.elapsed,
        "modes": results["eval/modes"],
        "kl": results["eval/kl"],
        "protocol": results.get("eval/modes_protocol", ""),
    }
    if keep is not None:
        shutil.copy(out / "samples" / f"step_{trainer.step:07d}.png", keep / f"{preset}.png")
    shutil.rmtree(out.parent, ignore_errors=True)
    return row


def summarise(runs: list[dict]) -> list[dict]:
    rows = []
    for preset in dict.fromkeys(r["preset"] for r in runs):
        rs = [r for r in runs if r["preset"] == preset]
        modes, modes_se = mean_se([r["modes"] for r in rs])
        kl, kl_se = mean_se([r["kl"] for r in rs])
        rows.append(
            {
                "model": rs[0]["model"],
                "preset": preset,
                "seeds": [r["seed"] for r in rs],
                "modes": modes,
                "modes_se": modes_se,
                "kl": kl,
                "kl_se": kl_se,
                "wall_s": statistics.fmean(r["wall_s"] for r in rs),
                "steps": rs[0]["steps"],
                "per_seed": [
                    {k: r[k] for k in ("seed", "modes", "kl", "wall_s", "steps")} for r in rs
                ],
                "protocol": rs[0]["protocol"],
            }
        )
    return rows


def write_markdown(rows: list[dict], path: Path, info: dict) -> None:
    lines = [
        "# Stacked MNIST mode coverage (`benchmarks/stacked_mnist.py`)",
        "",
        f"Machine: {info['machine']}; torch {info['torch']}; one thread per run, "
        f"{info['workers']} runs at once. Date: {info['date']}. Wall time of the last "
        f"invocation ({', '.join(info['presets'])}): {info['total_wall_s'] / 60:.1f} min.",
        "",
        "Protocol: 26,000 samples of the final G; each channel classified by gankit's MNIST "
        "classifier (trained on mnist5k's 4,000 training digits, 98.6% on its 1,000 test "
        "digits); modes = distinct digit triples; KL(q || uniform over 1,000), natural log. "
        "Triples are drawn from mnist5k's 4,000 training digits, not the full MNIST of the "
        "papers (not available offline). Mean ± standard error over seeds "
        f"{info['seeds']}. Target: a preset with at least {TARGET_MODES} modes, trained within "
        f"{TARGET_MINUTES} minutes on two CPU cores.",
        "",
        "| preset | model | steps | modes | KL | wall min / run | target met |",
        "|---|---|---|---|---|---|---|",
    ]
    for r in rows:
        ok = all(
            s["modes"] >= TARGET_MODES and s["wall_s"] <= 60 * TARGET_MINUTES for s in r["per_seed"]
        )
        lines.append(
            f"| `{r['preset']}` | {r['model']} | {r['steps']} "
            f"| {r['modes']:.1f} ± {r['modes_se']:.1f} | {r['kl']:.2f} ± {r['kl_se']:.2f} "
            f"| {r['wall_s'] / 60:.1f} | {'yes' if ok else 'no'} |"
        )
    lines += ["", "Published (PacGAN Table 3, D a quarter of G, ~500k steps on a GPU):", ""]
    lines += ["| method | modes | KL |", "|---|---|---|"]
    lines += [f"| {name} | {m} | {kl} |" for name, m, kl in PUBLISHED]
    lines += ["", "## Per seed", "", "| preset | seed | steps | modes | KL | wall min |"]
    lines.append("|---|---|---|---|---|---|")
    for r in rows:
        for s in r["per_seed"]:
            lines.append(
                f"| `{r['preset']}` | {s['seed']} | {s['steps']} | {s['modes']:.0f} "
                f"| {s['kl']:.3f} | {s['wall_s'] / 60:.1f} |"
            )
    lines += ["", "Final samples of seed 0 (fixed noise):", ""]
    lines += [f"- `{r['preset']}`: [samples](stacked_mnist_{r['preset']}.png)" for r in rows]
    path.write_text("\n".join(lines) + "\n")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--presets", nargs="*", default=PRESETS)
    ap.add_argument("--seeds", type=int, default=3)
    ap.add_argument("--workers", type=int, default=2)
    ap.add_argument("--out", type=Path, default=Path(__file__).parent / "results")
    args = ap.parse_args()
    args.out.mkdir(parents=True, exist_ok=True)
    start = time.perf_counter()
    keep = Path(tempfile.mkdtemp(prefix="stacked-keep-"))
    with ProcessPoolExecutor(args.workers) as pool:
        futures = [
            pool.submit(run_one, p, s, keep if s == 0 else None)
            for s in range(args.seeds)
            for p in args.presets
        ]
        runs = gather(futures)
    for png in keep.glob("*.png"):
        shutil.move(png, args.out / f"stacked_mnist_{png.name}")
    stem = args.out / "stacked_mnist"
    rows = merge_rows(stem.with_suffix(".json"), summarise(runs))
    rows.sort(key=lambda r: PRESETS.index(r["preset"]) if r["preset"] in PRESETS else 99)
    info = settings(
        workers=args.workers,
        presets=args.presets,
        seeds=list(range(args.seeds)),
        total_wall_s=time.perf_counter() - start,
    )
    save(stem, rows, info, write_markdown)


if __name__ == "__main__":
    main()
