"""Image-translation throughput: pix2pix and CycleGAN training and translation, in images per
second, at 64x64 and 256x256 on the CPU.

The models have the papers' sizes (pix2pix: U-Net and 70x70 PatchGAN with 64 base channels,
batch norm; CycleGAN: ResNet generators with 64 base channels, 6 blocks at 64x64 and 9 at
256x256, instance norm). Training is the model's `train_step` on batches from a synthetic
paired or unpaired folder (speed does not depend on content), after one warm-up step, in fp32
and under bf16 autocast (`train.precision=bf16`). Translation is `model.translate` in fp32, one
image per call as `gankit translate` does, and in batches of 16 at 64x64.

    python benchmarks/translation_speed.py           # about 15 minutes on two CPU cores
    python benchmarks/translation_speed.py --quick   # a smoke run
"""

from __future__ import annotations

import argparse
import tempfile
import time
from pathlib import Path

import torch
from common import save, settings

# model -> (data set, options at size s)
MODELS = {
    "pix2pix": ("paired-folder", lambda s: ["model.g_channels=64", "model.d_channels=64"]),
    "cyclegan": (
        "unpaired-folder",
        lambda s: [
            "model.g_channels=64",
            "model.d_channels=64",
            f"model.g_blocks={9 if s >= 256 else 6}",
        ],
    ),
}
TRAIN_BATCH = {64: 4, 256: 1}  # the papers train with batch 1; 4 at 64x64 fills the cores
MIN_SECONDS = 10.0  # each timing runs at least this long (and at least 2 steps or calls)


def make_folders(root: Path, size: int, n: int = 8) -> None:
    """root/paired/{A,B} and root/unpaired/{trainA,trainB}: n smooth random RGB images each."""
    from PIL import Image

    g = torch.Generator().manual_seed(size)
    for sub in ("paired/A", "paired/B", "unpaired/trainA", "unpaired/trainB"):
        (root / sub).mkdir(parents=True)
        small = torch.rand(n, 3, 8, 8, generator=g)
        big = torch.nn.functional.interpolate(small, size=size, mode="bilinear")
        for i, img in enumerate((big * 255).byte().permute(0, 2, 3, 1).numpy()):
            Image.fromarray(img).save(root / sub / f"{i:02d}.png")


def timed(fn, images_per_call: int, min_s: float) -> float:
    """Images per second of fn() after one warm-up call."""
    fn()
    calls, start = 0, time.perf_counter()
    while calls < 2 or time.perf_counter() - start < min_s:
        fn()
        calls += 1
    return calls * images_per_call / (time.perf_counter() - start)


def measure(model_name: str, size: int, root: Path, min_s: float) -> list[dict]:
    from gankit import api

    data, options = MODELS[model_name]
    folder = root / ("paired" if data == "paired-folder" else "unpaired")
    rows = []
    for precision in ("fp32", "bf16"):
        batch = TRAIN_BATCH[size]
        opts = [
            f"data.path={folder}",
            f"data.img_size={size}",
            "data.channels_a=3",
            "data.channels_b=3",
            f"train.batch_size={batch}",
            f"train.precision={precision}",
            "train.progress=false",
            "train.tensorboard=false",
            *options(size),
        ]
        trainer = api.prepare(None, model_name, data, opts, root / f"run-{time.time_ns()}")
        model, step = trainer.model, [0]

        def train_step(trainer=trainer, model=model, step=step):
            with model.engine.autocast():
                model.train_step(trainer.next_batch(), step[0])
            step[0] += 1

        row = {"model": model_name, "size": size, "precision": precision}
        speed = timed(train_step, batch, min_s)
        rows.append({**row, "task": "train", "batch": batch, "img_per_s": speed})
        print(rows[-1], flush=True)
        if precision == "fp32":  # translate has no precision option: fp32 only
            for n in (1, 16) if size <= 64 else (1,):
                x = torch.rand(n, 3, size, size) * 2 - 1
                speed = timed(lambda x=x, m=model: m.translate(x), n, min_s)
                rows.append({**row, "task": "translate", "batch": n, "img_per_s": speed})
                print(rows[-1], flush=True)
    return rows


def write_markdown(rows: list[dict], path: Path, info: dict) -> None:
    lines = [
        "# Image-translation throughput (`benchmarks/translation_speed.py`)",
        "",
        f"Machine: {info['machine']}; torch {info['torch']}; {info['threads']} threads. Date: "
        f"{info['date']}. Wall time: {info['total_wall_s'] / 60:.1f} min. Load average at the "
        f"start: {info['load']}.",
        "",
        "Models at the papers' sizes: pix2pix = U-Net + 70x70 PatchGAN, 64 base channels, batch "
        "norm; CycleGAN = two ResNet generators (6 blocks at 64x64, 9 at 256x256) and two "
        "PatchGANs, 64 base channels, instance norm. Training = the model's `train_step` (both "
        "nets' updates) on RGB images, after one warm-up step, each timing at least "
        f"{info['min_s']:.0f} s and 2 steps; translation = `model.translate` in fp32 (what "
        "`gankit translate` runs, one image per call), also batched at 64x64.",
        "",
        "| model | size | task | precision | batch | images / s |",
        "|---|---|---|---|---|---|",
    ]
    for r in rows:
        lines.append(
            f"| {r['model']} | {r['size']}x{r['size']} | {r['task']} | {r['precision']} "
            f"| {r['batch']} | {r['img_per_s']:.2f} |"
        )
    path.write_text("\n".join(lines) + "\n")


def main() -> None:
    import os

    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--sizes", type=int, nargs="*", default=[64, 256])
    ap.add_argument("--quick", action="store_true", help="0.5 s timings, 64x64 only")
    ap.add_argument("--out", type=Path, default=Path(__file__).parent / "results")
    args = ap.parse_args()
    torch.set_num_threads(args.threads)
    min_s = 0.5 if args.quick else MIN_SECONDS
    sizes = [64] if args.quick else args.sizes
    load = " ".join(f"{x:.2f}" for x in os.getloadavg())
    start, rows = time.time(), []
    with tempfile.TemporaryDirectory() as tmp:
        for size in sizes:
            root = Path(tmp) / str(size)
            make_folders(root, size)
            for name in MODELS:
                rows += measure(name, size, root, min_s)
    info = settings(threads=args.threads, min_s=min_s, load=load, total_wall_s=time.time() - start)
    args.out.mkdir(parents=True, exist_ok=True)
    save(args.out / "translation_speed", rows, info, write_markdown)


if __name__ == "__main__":
    main()
