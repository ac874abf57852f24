"""ProGAN against DCGAN at one wall-clock budget on Fashion-MNIST 32x32, and a photo run to 64x64.

Part 1: `fashion-progan` and `fashion-dcgan` (its data padded to 32x32 like ProGAN's, so both
draw and are scored at 32x32) train for the same `train.time_limit`, one thread each, two at
once; each final G (the EMA copy) is then scored against the test split with Inception FID and
KID and FID on gankit's Fashion-MNIST classifier (`fashion_fid.score`). Part 2: `lfw-progan`
grows from 4x4 to 64x64 on the 100 LFW faces of scikit-image, upscaled (any folder of photos works
the same: `--photos DIR`), logging every step, so that every non-finite loss is counted (a
non-finite step rolls back to the last checkpoint and is recorded in metrics.jsonl). The per-phase
sample grids of both ProGAN runs are copied to results/progan_*.png.

    python benchmarks/progan.py                               # 600 s each, n = 5,000
    python benchmarks/progan.py --budget 20 --n 500 --photo-steps 60 --out /tmp/progan-smoke \
        --photo-set model.stable_images=128 --photo-set model.fade_images=128   # a smoke test
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
from fashion_fid import score, train_one

PAD32 = ("data.img_size=32", "data.fit=pad")  # Fashion-MNIST 28x28 -> 32x32, as ProGAN needs
FASHION = {"fashion-progan": ("fashion-progan", ()), "fashion-dcgan-32": ("fashion-dcgan", PAD32)}
# every step logged: a non-finite loss is then one rollback row of one step, never averaged away
PHOTO_SETS = (
    "train.log_every=1",
    "train.on_nonfinite=rollback",
    "train.max_rollbacks=1000",
    "train.progress=false",
    "train.tensorboard=false",
)


def nonfinite_steps(run: Path) -> int:
    """Steps whose loss was NaN or infinite: the Trainer's rollback rows in metrics.jsonl."""
    rows = [json.loads(line) for line in (run / "metrics.jsonl").read_text().splitlines()]
    return sum(str(r.get("event", "")).startswith("rollback") for r in rows)


def max_resolution(run: Path) -> int:
    """The resolution the run's G had grown to at its last checkpoint (the data's for DCGAN)."""
    from gankit import api

    model = api.load(run)
    phase = getattr(model, "phase", "")
    return int(phase.split("x")[0]) if phase else int(model.data_shape[-1])


def train_photos(run: Path, steps: int, photos: str, extra: list[str]) -> str:
    """The photo run: lfw-progan for `steps` steps on one thread (on a folder when given, with
    `extra` overrides); returns its wall time in seconds."""
    torch.set_num_threads(1)
    from gankit import api

    shutil.rmtree(run, ignore_errors=True)
    sets = [f"train.steps={steps}", *PHOTO_SETS, *extra]
    data = None
    if photos:
        data = "folder"
        sets += [f"data.path={photos}", "model.upscale=false"]
    start = time.perf_counter()
    api.train("lfw-progan", data=data, overrides=sets, out=run)
    return f"{time.perf_counter() - start:.0f}"


def copy_phase_grids(run: Path, out: Path, tag: str) -> list[str]:
    """samples/phase_*.png of a run -> out/progan_TAG_phase_*.png; the names copied."""
    names = []

    def resolution(png: Path) -> int:  # phase_16x16.png -> 16
        return int(png.stem.removeprefix("phase_").split("x")[0])

    for png in sorted((run / "samples").glob("phase_*.png"), key=resolution):
        name = f"progan_{tag}_{png.name}"
        shutil.copy(png, out / name)
        names.append(name)
    return names


def write_markdown(rows: list[dict], path: Path, info: dict) -> None:
    lines = [
        "# ProGAN against DCGAN at a fixed budget, and a photo run to 64x64 "
        "(`benchmarks/progan.py`)",
        "",
        f"Machine: {info['machine']}; torch {info['torch']}. Date: {info['date']}. Training: one "
        "thread per run, the two Fashion-MNIST runs at once, each stopped by "
        f"`train.time_limit` = {info['budget']:.0f} s; seeds: the presets' `train.seed` (0). "
        f"Wall time of the last invocation: {info['total_wall_s'] / 60:.1f} min.",
        "",
        f"Protocol: n = {info['n']} generated samples (the EMA copy of G, in eval mode) against "
        f"the first {info['n']} of a fixed permutation of the 10,000 test images, all padded "
        "from 28x28 to 32x32 (DCGAN trains on the same padded images: `data.img_size=32 "
        "data.fit=pad`); Inception and classifier features and KID as in "
        "[fashion_fid.md](fashion_fid.md) (the classifier resizes 32 -> 28). `max_resolution`: "
        "the resolution G had grown to when the run ended; `nonfinite_steps`: steps with a NaN "
        "or infinite loss. Target: ProGAN at least as good as DCGAN at equal compute.",
        "",
        "| model | run | budget s | steps | max resolution | FID (Inception) | KID (Inception) "
        "| FID (classifier) | non-finite steps |",
        "|---|---|---|---|---|---|---|---|---|",
    ]
    for r in rows:
        fid = f"{r['fid_inception']:.2f}" if r.get("fid_inception") is not None else "n/a"
        kid = f"{r['kid_inception']:.4f}" if r.get("kid_inception") is not None else "n/a"
        clf = f"{r['fid_classifier']:.2f}" if r.get("fid_classifier") is not None else "n/a"
        budget = f"{r['budget_s']:.0f}" if r["budget_s"] else "&ndash;"  # the photo run: steps
        lines.append(
            f"| {r['model']} | `{r['preset']}` | {budget} | {r.get('steps', '')} "
            f"| {r['max_resolution']} | {fid} | {kid} | {clf} | {r['nonfinite_steps']} |"
        )
    photo = info.get("photo")
    if photo:
        lines += [
            "",
            f"Photo run: `lfw-progan` on {photo['data']}, {photo['steps']} steps "
            f"(overrides: {', '.join(photo['overrides']) or 'none'}) "
            f"({photo['wall_s']} s on one thread), every step logged; it grew to "
            f"{photo['max_resolution']}x{photo['max_resolution']} with "
            f"{photo['nonfinite_steps']} non-finite steps.",
        ]
        if photo.get("reused"):
            lines[-1] += (
                f" This invocation counted an existing run (`--photo-run {photo['reused']}`), "
                "trained earlier with the settings above (its config.yaml)."
            )
    lines += ["", "Samples of the fixed noise at the end of each phase (upscaled for display):", ""]
    for tag, names in info.get("grids", {}).items():
        links = ", ".join(f"[{n.split('phase_')[-1].removesuffix('.png')}]({n})" for n in names)
        lines.append(f"- `{tag}`: {links}")
    path.write_text("\n".join(lines) + "\n")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--budget", type=float, default=600.0, help="training seconds per run")
    ap.add_argument("--n", type=int, default=5000, help="samples per score")
    ap.add_argument("--photo-steps", type=int, default=4000, help="steps of the photo run")
    ap.add_argument("--photos", default="", help="a folder of photos instead of the LFW faces")
    ap.add_argument("--photo-set", action="append", default=[], help="override for the photo run")
    ap.add_argument(
        "--photo-run", type=Path, default=None, help="count an existing lfw-progan run instead"
    )
    ap.add_argument("--runs", type=Path, default=Path("/tmp/gankit-progan-runs"))
    ap.add_argument("--skip-train", action="store_true", help="score the runs of a previous call")
    ap.add_argument("--out", type=Path, default=Path(__file__).parent / "results")
    args = ap.parse_args()
    args.out.mkdir(parents=True, exist_ok=True)
    args.runs.mkdir(parents=True, exist_ok=True)
    start = time.perf_counter()
    photo_run = args.photo_run or args.runs / "lfw-progan"
    with ProcessPoolExecutor(2) as pool:
        if not args.skip_train:
            names, presets, extras = zip(*[(k, p, e) for k, (p, e) in FASHION.items()], strict=True)
            k = len(names)
            jobs = pool.map(train_one, presets, [args.budget] * k, [args.runs] * k, extras, names)
            for name in jobs:
                print(f"trained {name}", flush=True)
            # the photo run takes one core while this process scores on the other
            if not args.photo_run:
                photo_job = pool.submit(
                    train_photos, photo_run, args.photo_steps, args.photos, args.photo_set
                )
        torch.set_num_threads(1)
        rows = []
        for name in FASHION:
            run = args.runs / name
            row = {**score(run, args.n), "max_resolution": max_resolution(run)}
            row["nonfinite_steps"] = nonfinite_steps(run)
            print(json.dumps(row), flush=True)
            rows.append(row)
        if args.skip_train or args.photo_run:
            last = (photo_run / "metrics.jsonl").read_text().splitlines()[-1]
            wall = f"{json.loads(last)['time']:.0f}"
        else:
            wall = photo_job.result()
    photo = {
        "data": args.photos or "the 100 LFW faces (skimage), upscaled to 64x64",
        "steps": args.photo_steps,
        "overrides": args.photo_set,
        "wall_s": wall,
        "reused": str(args.photo_run or ""),
        "max_resolution": max_resolution(photo_run),
        "nonfinite_steps": nonfinite_steps(photo_run),
    }
    print(json.dumps(photo), flush=True)
    rows.append(
        {
            "model": "progan",
            "preset": "lfw-progan",
            "budget_s": 0,
            "steps": args.photo_steps,
            "fid_inception": None,  # 100 faces: too few for a meaningful FID
            "kid_inception": None,
            "fid_classifier": None,
            "max_resolution": photo["max_resolution"],
            "nonfinite_steps": photo["nonfinite_steps"],
        }
    )
    grids = {
        "fashion-progan": copy_phase_grids(args.runs / "fashion-progan", args.out, "fashion"),
        "lfw-progan": copy_phase_grids(photo_run, args.out, "photos"),
    }
    stem = args.out / "progan"
    info = settings(
        n=args.n,
        budget=args.budget,
        photo=photo,
        grids=grids,
        total_wall_s=time.perf_counter() - start,
    )
    save(stem, merge_rows(stem.with_suffix(".json"), rows), info, write_markdown)


if __name__ == "__main__":
    main()
