"""Streamed image data: peak memory while DCGAN trains on a folder of 20,000 generated 256x256
JPEGs (streamed, against decoding them into memory), and images per second of the streamed path
against the in-memory one on mnist5k.

Every measurement is its own process (`--one`); the parent samples the memory of that process
and its DataLoader workers from /proc every 0.1 s. `peak_rss_mb` is the peak of the summed RSS
of the tree (pages the workers share with the main process count once per process, so it is an
upper bound); `peak_pss_mb` splits shared pages among the processes (the tree's real share).
Throughput is the Trainer's own clock between the log rows at the end of the warm-up and at the
last step, as in throughput.py; the loaders alternate within each round, so a drift of the
machine's speed slows all of them alike.

    python benchmarks/streaming.py                 # about 10 minutes on two busy cores
    python benchmarks/streaming.py --folder DIR    # keep (or reuse) the JPEGs in DIR
    python benchmarks/streaming.py --quick         # a smoke run: 500 JPEGs, few steps
"""

from __future__ import annotations

import argparse
import json
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import torch

sys.path.insert(0, str(Path(__file__).resolve().parent))
from common import peak_memory_mb, save, settings  # noqa: E402

RESULTS = Path(__file__).resolve().parent / "results"
SEED = 0
PEAKS = ("peak_rss_mb", "peak_rss_sum_mb", "peak_pss_mb")
# (a) the photo folder: DCGAN at 256x256 with narrow nets (the data's memory is measured, not
# the model's), streamed and decoded into memory
PHOTO_SIZE = 256
PHOTO_MODEL = ["model.g_channels=8", "model.d_channels=8"]
PHOTO_LOADERS = {  # loader -> data options
    "stream": ["data.in_memory=false", "data.workers=2"],
    "memory": ["data.in_memory=true", "data.workers=2"],
}
# (b) mnist5k: the bundled set in memory (today's path) against the same 4,000 training digits
# read through the streaming path: as a map-style Dataset over the same tensors (the DataLoader
# and resumable sampler alone), and written as PNGs to a folder that is decoded as it is drawn
DIGIT_LOADERS = {
    "memory": ("mnist5k", []),
    "stream": ("mnist5k-dataset", ["data.workers=0"]),
    "stream-w2": ("mnist5k-dataset", ["data.workers=2"]),
    "folder-stream": ("folder", ["data.in_memory=false", "data.workers=2"]),
    "folder-stream-w0": ("folder", ["data.in_memory=false", "data.workers=0"]),
}


# ---------------------------------------------------------------- data


def make_photos(folder: Path, n: int, size: int) -> None:
    """n smooth random colour pictures (8x8 random colours, bicubic-enlarged) as JPEGs of
    quality 90, seeded; kept when the folder already holds n JPEGs."""
    import numpy as np
    from PIL import Image

    folder.mkdir(parents=True, exist_ok=True)
    if len(list(folder.glob("*.jpg"))) == n:
        return  # made by an earlier run
    rng = np.random.default_rng(SEED)
    for i in range(n):
        small = Image.fromarray(rng.integers(0, 256, (8, 8, 3), dtype=np.uint8))
        big = small.resize((size, size), Image.Resampling.BICUBIC)
        big.save(folder / f"{i:05d}.jpg", quality=90)


def export_mnist5k(folder: Path) -> int:
    """mnist5k's training digits as 28x28 grey PNGs in one folder per class."""
    from PIL import Image

    from gankit.data import build_data
    from gankit.data.digits import Mnist5kConfig

    data = build_data(Mnist5kConfig(), SEED)
    pairs = zip(data.images[:, 0].numpy(), data.labels.tolist(), strict=True)
    for i, (img, label) in enumerate(pairs):
        path = folder / str(label) / f"{i:04d}.png"
        path.parent.mkdir(parents=True, exist_ok=True)
        Image.fromarray(img).save(path)
    return len(data.images)


class Tensors(torch.utils.data.Dataset):
    """uint8 images [N, C, H, W] and class ids [N] as a map-style Dataset."""

    def __init__(self, images: torch.Tensor, labels: torch.Tensor):
        self.images, self.labels = images, labels

    def __len__(self) -> int:
        return len(self.images)

    def __getitem__(self, i: int) -> tuple[torch.Tensor, int]:
        return self.images[i], int(self.labels[i])


def register_mnist5k_dataset() -> None:
    """`mnist5k-dataset`: mnist5k's training digits through gankit.data.from_dataset."""
    from dataclasses import dataclass

    from gankit.data import from_dataset
    from gankit.data.digits import Mnist5kConfig
    from gankit.registry import DATASETS, register_dataset

    @dataclass
    class Config:
        name: str = "mnist5k-dataset"
        workers: int = 0

    @register_dataset("mnist5k-dataset", config=Config, kind="image")
    def mnist5k_dataset(cfg: Config, seed: int):
        base = DATASETS.get("mnist5k")(Mnist5kConfig(), seed)
        dataset = Tensors(base.images, base.labels)
        return from_dataset(cfg, seed, dataset, class_names=base.class_names)


# ---------------------------------------------------------------- one measurement (a child)


def run_one(spec: dict) -> dict:
    """Trains as `spec` says; images per second between the warm-up and the last step."""
    from gankit import api

    if spec["data"] == "mnist5k-dataset":
        register_mnist5k_dataset()
    warm, timed, batch = spec["warm"], spec["timed"], spec["batch"]
    opts = [
        *spec["options"],
        f"train.steps={warm + timed}",
        f"train.batch_size={batch}",
        f"train.log_every={warm}",
        f"train.seed={SEED}",
        "train.device=cpu",
        "train.progress=false",
        "train.tensorboard=false",
        "train.report=false",
        "train.sample_every=1000000",
        "train.ckpt_every=1000000",
        "train.n_samples=16",
    ]
    t0 = time.perf_counter()
    trainer = api.prepare(None, "dcgan", spec["data"], opts, spec["out"])
    ready = time.perf_counter() - t0  # imports aside: listing, checking or decoding the data
    trainer.evaluate = lambda *a, **k: {}  # after the timed steps; not what is measured
    # nor the end-of-run pictures: their nearest-neighbour panel holds 10,000 reference images
    # as float32 at once (7.9 GB at 256x256), whichever way the data is read
    trainer.finish = lambda *a, **k: None
    trainer.fit()
    rows = [json.loads(line) for line in trainer.run.metrics.read_text().splitlines()]
    t = {r["step"]: r["time"] for r in rows if "loss/D" in r}
    return {"img_per_s": timed * batch / (t[warm + timed] - t[warm]), "data_ready_s": ready}


# ---------------------------------------------------------------- the parent


def measure(spec: dict) -> dict:
    """Runs `spec` in a child process, sampling its tree's memory; the child's result + peaks."""
    cmd = ["nice", sys.executable, __file__, "--one", json.dumps(spec)]
    t0 = time.time()
    with tempfile.TemporaryFile("w+") as out, tempfile.TemporaryFile("w+") as err:
        proc = subprocess.Popen(cmd, stdout=out, stderr=err, text=True)
        peak = peak_memory_mb(proc)
        out.seek(0), err.seek(0)
        if proc.returncode:
            raise RuntimeError(f"{spec['data']} failed:\n{err.read()[-3000:]}")
        result = json.loads(out.read().strip().splitlines()[-1])
    wall = time.time() - t0
    return {
        **result,
        "peak_rss_mb": peak["tree"],
        "peak_rss_sum_mb": peak["rss_sum"],
        "peak_pss_mb": peak["pss"],
        "wall_s": wall,
    }


def photo_rows(folder: Path, n: int, steps: tuple[int, int], work: Path) -> list[dict]:
    rows = []
    for loader, options in PHOTO_LOADERS.items():
        spec = {
            "data": "folder",
            "options": [f"data.path={folder}", f"data.img_size={PHOTO_SIZE}"]
            + options
            + PHOTO_MODEL,
            "warm": steps[0],
            "timed": steps[1],
            "batch": 16,
            "out": str(work / f"photos-{loader}"),
        }
        r = measure(spec)
        print(f"photos {loader}: {r}", flush=True)
        rows.append(row("photo-folder", n, PHOTO_SIZE, loader, r, spec))
    return rows


def digit_rows(folder: Path, n: int, rounds: int, steps: tuple[int, int], work: Path):
    runs: dict[str, list[dict]] = {k: [] for k in DIGIT_LOADERS}
    specs = {}
    for r in range(rounds):
        for loader, (data, options) in DIGIT_LOADERS.items():
            path = [f"data.path={folder}", "data.channels=1", "data.img_size=28"]
            specs[loader] = {
                "data": data,
                "options": (path if data == "folder" else []) + options,
                "warm": steps[0],
                "timed": steps[1],
                "batch": 64,
                "out": str(work / f"digits-{loader}-{r}"),
            }
            runs[loader].append(measure(specs[loader]))
            print(f"round {r}: mnist5k {loader}: {runs[loader][-1]}", flush=True)
    rows = []
    for loader, results in runs.items():
        median = {
            "img_per_s": statistics.median(x["img_per_s"] for x in results),
            "img_per_s_runs": [round(x["img_per_s"], 1) for x in results],
            **{k: max(x[k] for x in results) for k in PEAKS},
            "data_ready_s": statistics.median(x["data_ready_s"] for x in results),
            "wall_s": sum(x["wall_s"] for x in results),
        }
        rows.append(row("mnist5k", n, 28, loader, median, specs[loader]))
    return rows


def row(data: str, n: int, size: int, loader: str, r: dict, spec: dict) -> dict:
    out = {
        "data": data,
        "n_images": n,
        "img_size": size,
        "loader": loader,
        "peak_rss_mb": round(r["peak_rss_mb"]),
        "img_per_s": round(r["img_per_s"], 1),
        "peak_rss_sum_mb": round(r["peak_rss_sum_mb"]),
        "peak_pss_mb": round(r["peak_pss_mb"]),
        "data_ready_s": round(r["data_ready_s"], 1),
        "batch": spec["batch"],
        "steps": f"{spec['warm']} warm-up + {spec['timed']} timed",
        "options": [o for o in spec["options"] if not o.startswith("data.path=")],
        "wall_s": round(r["wall_s"], 1),
    }
    if "img_per_s_runs" in r:
        out["img_per_s_runs"] = r["img_per_s_runs"]
    return out


def write_markdown(rows: list[dict], path: Path, info: dict) -> None:
    lines = [
        "# Streamed image data: peak memory and throughput",
        "",
        "Produced by `python benchmarks/streaming.py`. Settings:",
        "",
        *[f"- {k}: {v}" for k, v in info.items()],
        "",
        "| data | images | img_size | loader | peak RSS MB (tree) | RSS summed | PSS | img/s | "
        "data ready s | batch | steps |",
        "|---|---|---|---|---|---|---|---|---|---|---|",
    ]
    for r in rows:
        runs = f" ({', '.join(map(str, r['img_per_s_runs']))})" if "img_per_s_runs" in r else ""
        lines.append(
            f"| {r['data']} | {r['n_images']} | {r['img_size']} | {r['loader']} | "
            f"{r['peak_rss_mb']} | {r['peak_rss_sum_mb']} | {r['peak_pss_mb']} | "
            f"{r['img_per_s']}{runs} | "
            f"{r['data_ready_s']} | {r['batch']} | {r['steps']} |"
        )
    lines += [
        "",
        "- peak RSS (tree): the resident memory of the training process plus the private "
        "pages of its DataLoader workers, each page once (workers share the trainer's pages "
        "copy-on-write); RSS summed counts a shared page once per process (an upper bound); "
        "PSS shares shared pages out. Sampled every 0.1 s.",
        "- data ready: seconds from `api.prepare` to a Trainer ready to step (listing and "
        "checking every file when streamed, decoding them all when in memory; imports count).",
        "- img/s on the photo folder is with narrow nets (model.g_channels=8, d_channels=8): the "
        "row measures the data path's memory, not DCGAN at 256x256.",
    ]
    path.write_text("\n".join(lines) + "\n")


def cpu_model() -> str:
    out = subprocess.run(["lscpu"], capture_output=True, text=True, check=False).stdout
    return next((ln.split(":", 1)[1].strip() for ln in out.splitlines() if "Model name" in ln), "")


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--one", help=argparse.SUPPRESS)
    p.add_argument("--folder", type=Path, help="where the JPEGs go (default: a temp folder)")
    p.add_argument("--n-images", type=int, default=20_000)
    p.add_argument("--rounds", type=int, default=3, help="rounds of the mnist5k loaders")
    p.add_argument("--quick", action="store_true", help="500 JPEGs, few steps, one round")
    p.add_argument("--shared", default="", help="a note on what else ran on the machine")
    p.add_argument("--digits-only", action="store_true", help="keep the saved photo rows")
    args = p.parse_args()
    if args.one:
        print(json.dumps(run_one(json.loads(args.one))))
        return
    t0 = time.time()
    n, rounds = (500, 1) if args.quick else (args.n_images, args.rounds)
    photo_steps, digit_steps = ((1, 2), (2, 4)) if args.quick else ((2, 8), (10, 60))
    with tempfile.TemporaryDirectory(prefix="gankit-streaming-") as tmp:
        work = Path(tmp)
        folder = args.folder or work / "photos"
        rows, photos = [], "as saved before"
        if not args.digits_only:
            t = time.time()
            make_photos(folder, n, PHOTO_SIZE)
            photos = (
                f"{n} JPEGs {PHOTO_SIZE}x{PHOTO_SIZE} quality 90, smooth random blobs "
                f"(seed {SEED}), made in {time.time() - t:.0f} s"
            )
            print(photos, flush=True)
            rows = photo_rows(folder, n, photo_steps, work)
        n_digits = export_mnist5k(work / "digits")
        rows += digit_rows(work / "digits", n_digits, rounds, digit_steps, work)
    info = settings(
        cpu_lscpu=cpu_model(),
        seed=SEED,
        threads=torch.get_num_threads(),
        photos=photos,
        mnist5k_rounds=rounds,
        wall_s=round(time.time() - t0, 1),
        machine_shared=args.shared or "not noted",
    )
    print(json.dumps(rows, indent=1))
    if not args.quick:
        saved = RESULTS / "streaming.json"
        if args.digits_only and saved.exists():
            rows = [r for r in json.loads(saved.read_text()) if r["data"] != "mnist5k"] + rows
        save(RESULTS / "streaming", rows, info, write_markdown)


if __name__ == "__main__":
    main()
