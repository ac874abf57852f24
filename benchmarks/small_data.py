"""Small data: DCGAN with and without DiffAugment (model.augment) at an equal budget of steps.

Two training sets of a few hundred images, where D memorises the data (Zhao et al. 2020):
the 100 LFW faces of scikit-image (`lfw-faces`, 32x32 grey) and 500 Fashion-MNIST training images
(`fashion-mnist` with `data.limit=500`, a fixed subset). Each is trained twice, the same seed,
settings and number of steps: `model.augment=""` and `model.augment=color,translation,cutout`
(the paper's policy for small sets). Then, in this process, each final G (its EMA copy) is
scored by gankit's KID (Inception features, unbiased MMD^2, cubic kernel): LFW against its 100
training faces (it has no test split: the reference the model was fitted to); Fashion against
the whole 10,000-image test split (images the model never saw). One picture per data set shows
the data beside the samples of both runs. The cost of the augmentation per step is measured in
the same process, the two models' steps interleaved.

    python benchmarks/small_data.py            # the benchmark: results/small_data.md/.json/.png
    python benchmarks/small_data.py --quick    # a smoke run of everything (tiny, not saved)
    python benchmarks/small_data.py --cost-only   # only the seconds per step, both ways
    python benchmarks/small_data.py --data lfw-faces &  python benchmarks/small_data.py \
        --data fashion-mnist                   # the two data sets in parallel, a core each
"""

from __future__ import annotations

import argparse
import json
import shutil
import statistics
import time
from pathlib import Path

import torch
from common import merge_rows, save, settings

POLICY = "color,translation,cutout"
# data set -> (its overrides, reference split for KID, what the reference is)
CASES = {
    "lfw-faces": ((), "train", "the training faces: no test split"),
    "fashion-mnist": (("data.limit=500",), "test", "images no run saw"),
}
MODEL = ("model.g_channels=64", "model.d_channels=64")  # as the fashion-dcgan preset
QUICK_MODEL = ("model.g_channels=8", "model.d_channels=8", "model.z_dim=16")


def run_name(data: str, augment: str) -> str:
    return f"{data}-{'augment' if augment else 'plain'}"


def train_one(data: str, augment: str, args, runs: Path) -> dict:
    """Trains DCGAN on `data` for args.steps steps; returns its row (without the scores)."""
    from gankit import api

    out = runs / run_name(data, augment)
    shutil.rmtree(out, ignore_errors=True)
    extra, _, _ = CASES[data]
    opts = [
        *(QUICK_MODEL if args.quick else MODEL),
        *extra,
        f"model.augment={augment}",
        f"train.steps={args.steps}",
        f"train.seed={args.seed}",
        "train.batch_size=64",
        "train.ema=0.999",
        f"train.threads={args.threads}",
        "train.metrics=[]",
        "train.progress=false",
        "train.tensorboard=false",
        "train.report=false",
        f"train.sample_every={args.steps}",
        f"train.ckpt_every={args.steps}",
        f"train.log_every={max(1, args.steps // 20)}",
    ]
    start = time.perf_counter()
    trainer = api.train(model="dcgan", data=data, overrides=opts, out=out)
    wall = time.perf_counter() - start
    return {
        "data": data if not extra else f"{data} ({', '.join(extra)})",
        "augment": augment,
        "steps": trainer.step,
        "train_s": round(trainer.elapsed, 1),
        "wall_s": round(wall, 1),
        "seed": args.seed,
        "n_train": trainer.data.info()["n_train"],
        "run": str(out),
    }


def score(row: dict, data_name: str, args) -> dict:
    """KID of the run's final G_ema: args.n samples against the case's reference split."""
    from gankit import api
    from gankit.metrics.features import generated_features, inception, real_features
    from gankit.metrics.images import kid_from_features

    model, data, _, _ = api.load_run(row["run"])
    _, split, what = CASES[data_name]
    ex = inception()
    start = time.perf_counter()
    total = len(data.test[0]) if split == "test" else len(data.images)
    n_ref = min(args.n_ref, total) if split == "test" else total
    real = real_features(data, ex, n_ref, split)
    gen = generated_features(model, ex, args.n, seed=0)
    mean, std, size = kid_from_features(gen, real, seed=0)
    return {
        **row,
        "kid": mean,
        "kid_std": std,
        "kid_protocol": f"n_gen={len(gen)} (G_ema, seed 0) against {data_name} {split} "
        f"n_ref={len(real)} of {total} ({what}); features={ex.name}; 100 subsets of {size}, poly3",
        "score_s": round(time.perf_counter() - start, 1),
    }


def step_cost(data: str, args, steps: int) -> dict:
    """Seconds per train step of DCGAN on `data` without and with the augmentation: the two
    models' steps alternate in one process, so both see the same machine load, and the median
    of each is taken, so a burst of another job's work on a shared machine does not count."""
    from gankit.config import resolve_config
    from gankit.data import build_data
    from gankit.models import build_model

    torch.set_num_threads(args.cost_threads)
    extra, _, _ = CASES[data]
    models = {}
    for augment in ("", POLICY):
        opts = [*(QUICK_MODEL if args.quick else MODEL), *extra, f"model.augment={augment}"]
        cfg = resolve_config(model="dcgan", data=data, overrides=opts)
        torch.manual_seed(0)
        source = build_data(cfg.data, seed=0)
        model = build_model(cfg.model, source.shape, data_info=source.info())
        model.start(cfg.train)
        models[augment] = (model, source)
    times: dict[str, list[float]] = {k: [] for k in models}
    for i in range(steps + 3):  # the first 3 of each warm up and are not counted
        for augment, (model, source) in models.items():
            batch = source.batch(64)
            start = time.perf_counter()
            model.train_step(batch, i)
            if i >= 3:
                times[augment].append(time.perf_counter() - start)
    per = {k: statistics.median(v) for k, v in times.items()}
    return {
        "data": data,
        "steps_each": steps,
        "threads": torch.get_num_threads(),
        "s_per_step_plain": per[""],
        "s_per_step_augment": per[POLICY],
        "ratio": per[POLICY] / per[""],
    }


def picture(rows: list[dict], data_name: str, path: Path, n: int = 64) -> None:
    """The data, then the samples without and with augmentation: three 8x8 grids side by side."""
    from torchvision.utils import make_grid, save_image

    from gankit import api
    from gankit.data.pixels import to_float

    panels = []
    for k, row in enumerate(rows):
        model, data, _, _ = api.load_run(row["run"])
        if k == 0:  # the first n training images (a set of 100 repeats from the start)
            panels.append(to_float(data.images[torch.arange(n) % len(data.images)]))
        panels.append(model.sample(n, seed=1).cpu())
    grids = [make_grid((p + 1) / 2, nrow=8, padding=1, pad_value=1.0) for p in panels]
    gap = torch.ones(3, grids[0].shape[1], 6)
    save_image(torch.cat([t for g in grids for t in (g, gap)][:-1], dim=2), path)


def write_markdown(rows: list[dict], path: Path, info: dict) -> None:
    lines = [
        "# Small data: DiffAugment against none (`benchmarks/small_data.py`)",
        "",
        f"Machine: {info['machine']}; torch {info['torch']}. Date: {info['date']}. DCGAN "
        f"({info['model']}, batch 64, EMA 0.999), {info['steps']} steps per run on "
        f"{info['threads']} thread(s), seed {info['seed']}, both runs of a data set identical "
        f'but for `model.augment` ("" against `{POLICY}`). Wall time of the invocation: '
        f"{info['total_wall_s'] / 60:.1f} min.",
        "",
        "KID: gankit's (Inception features of the 2015-12-05 TF Inception-v3, unbiased MMD^2, "
        "cubic kernel, mean and std over 100 subsets; raw, not x1000; lower is better) of "
        f"{info['n']} samples of G_ema against: LFW, its 100 training faces (no test split "
        "exists: a score of fitting those faces; every subset holds all 100 faces and 100 of the "
        "samples, so the std comes from the samples alone); "
        f"Fashion-MNIST, {info['n_ref']} images of the test split (all 10,000 in the benchmark), "
        "which no run saw.",
        "",
        "| data | augment | KID | KID std | steps | train s | wall s | seed |",
        "|---|---|---|---|---|---|---|---|",
    ]
    for r in rows:
        lines.append(
            f"| {r['data']} | `{r['augment'] or 'none'}` | {r['kid']:.4f} | {r['kid_std']:.4f} "
            f"| {r['steps']} | {r['train_s']:.0f} | {r['wall_s']:.0f} | {r['seed']} |"
        )
    lines += [
        "",
        "Cost of the augmentation per train step (one process, the two models' steps alternating, "
        "median seconds per step):",
        "",
    ]
    lines += ["| data | s/step none | s/step augment | ratio |", "|---|---|---|---|"]
    for c in {r["step_cost"]["data"]: r["step_cost"] for r in rows}.values():
        lines.append(
            f"| {c['data']} | {c['s_per_step_plain']:.4f} | {c['s_per_step_augment']:.4f} "
            f"| {c['ratio']:.2f} |"
        )
    lines += ["", "Pictures (data | no augmentation | augmentation, 64 each):", ""]
    lines += [f"- {d}: ![{d}](small_data_{d}.png)" for d in {r["case"] for r in rows}]
    lines += ["", "Machine and load of each row:", ""]
    lines += [f"- {r['data']}, `{r['augment'] or 'none'}`: {r['machine']}" for r in rows]
    lines += ["", "Protocols as recorded:", ""]
    lines += [f"- {r['data']}, `{r['augment'] or 'none'}`: {r['kid_protocol']}" for r in rows]
    path.write_text("\n".join(lines) + "\n")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--steps", type=int, default=3000, help="train steps of every run")
    ap.add_argument("--n", type=int, default=2000, help="generated samples per KID")
    ap.add_argument("--n-ref", type=int, default=10_000, help="Fashion test images for KID")
    ap.add_argument("--seed", type=int, default=0)
    # one: on 2 shared cores with other jobs, 2 threads made a step 3x slower (1.45 s vs 0.48)
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument("--data", nargs="*", default=list(CASES), choices=list(CASES))
    ap.add_argument("--quick", action="store_true", help="tiny nets, 20 steps, not saved")
    ap.add_argument("--cost-threads", type=int, default=1, help="threads of the cost steps")
    ap.add_argument("--cost-only", action="store_true", help="only the per-step cost, printed")
    ap.add_argument("--runs", type=Path, default=Path("/tmp/gankit-small-data-runs"))
    ap.add_argument("--out", type=Path, default=Path(__file__).parent / "results")
    args = ap.parse_args()
    if args.quick:  # everything runs, nothing is kept in results/
        args.steps, args.n, args.n_ref = 20, 100, 500
        args.out = Path("/tmp/gankit-small-data-quick")
    args.out.mkdir(parents=True, exist_ok=True)
    args.runs.mkdir(parents=True, exist_ok=True)
    torch.set_num_threads(args.threads)
    start = time.perf_counter()
    for data in args.data:
        cost = step_cost(data, args, 10 if args.quick else 40)
        print(json.dumps(cost), flush=True)
        torch.set_num_threads(args.threads)
        if args.cost_only:
            continue
        pair = []
        for augment in ("", POLICY):
            pair.append(score(train_one(data, augment, args, args.runs), data, args))
            print(json.dumps(pair[-1]), flush=True)
        picture(pair, data, args.out / f"small_data_{data}.png")
        save_rows(pair, cost, args, start)


def save_rows(pair: list[dict], cost: dict, args, start: float) -> None:
    """Saves a data set's two rows as soon as they exist, merged with the other data set's rows
    already in the results (data sets may run in separate processes, one a core)."""
    info = settings(
        steps=args.steps,
        model=", ".join(QUICK_MODEL if args.quick else MODEL),
        n=args.n,
        n_ref=args.n_ref,
        threads=args.threads,
        seed=args.seed,
        total_wall_s=time.perf_counter() - start,
    )
    for r in pair:
        r.update(machine=info["machine"], step_cost=cost, step_cost_ratio=cost["ratio"])
        r["case"] = cost["data"]
    stem = args.out / "small_data"
    save(stem, merge_rows(stem.with_suffix(".json"), pair, key="data"), info, write_markdown)


if __name__ == "__main__":
    main()
