"""pix2pix's loss ablation on edges2fashion: cGAN + L1 against L1 alone and cGAN alone.

Isola et al. 2017 (Table 1, Figure 4) show that L1 alone gives blurry translations that score
well on per-pixel measures, the cGAN alone gives sharp ones with artefacts, and the sum gives
both. Each variant trains the `edges2fashion-pix2pix` preset for the same number of steps (one
thread, seed 0); then the test edges (10,000 Fashion-MNIST test images through Canny) are
translated and scored against their real images: L1, SSIM and PSNR (torchmetrics), classifier
FID (gankit's Fashion-MNIST classifier, translated test images against the real test images)
and a sharpness ratio (variance of the Laplacian, translated over real: 1 is as sharp as the
data, below 1 blurrier).

    python benchmarks/pix2pix.py                   # train the three variants, then score
    python benchmarks/pix2pix.py --skip-train      # score the runs of a previous call
"""

from __future__ import annotations

import argparse
import shutil
import time
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path

import torch
import torch.nn.functional as F
from common import merge_rows, save, settings

PRESET = "edges2fashion-pix2pix"
VARIANTS = {  # name -> overrides; the paper's rows of its Table 1
    "cgan+l1": [],
    "l1": ["model.gan_weight=0"],
    "cgan": ["model.lambda_l1=0"],
}


def run_dir(runs: Path, variant: str) -> Path:
    return runs / f"pix2pix-{variant.replace('+', '_')}"


def train_one(variant: str, runs: Path) -> str:
    torch.set_num_threads(1)
    from gankit import api

    out = run_dir(runs, variant)
    shutil.rmtree(out, ignore_errors=True)
    sets = ["train.progress=false", "train.tensorboard=false", *VARIANTS[variant]]
    api.train(PRESET, overrides=sets, out=out)
    return variant


def sharpness(x: torch.Tensor) -> float:
    """Mean variance of the Laplacian of images [N, C, H, W] (a standard focus measure)."""
    kernel = torch.tensor([[0.0, 1, 0], [1, -4, 1], [0, 1, 0]]).view(1, 1, 3, 3)
    lap = F.conv2d(x.flatten(0, 1)[:, None].float(), kernel)
    return float(lap.flatten(1).var(1).mean())


def score(variant: str, runs: Path, n: int) -> tuple[dict, torch.Tensor]:
    """The variant's row, and its translations of the first 8 test edges (for the picture)."""
    from gankit import api
    from gankit.metrics.features import classifier_extractor
    from gankit.metrics.images import fid_from_features
    from gankit.metrics.translation import paired_scores, to_unit, translate_all

    run = run_dir(runs, variant)
    model, data, cfg, step = api.load_run(run)
    start = time.perf_counter()
    a, b = data.pairs(n, "test")
    fake = translate_all(model, a)
    clf = classifier_extractor("fashion-mnist")
    row = {
        "variant": variant,
        "lambda_l1": cfg.model.lambda_l1,
        "gan_weight": cfg.model.gan_weight,
        "steps": step,
        "n": len(a),
        **paired_scores(fake, b),
        "fid_classifier": fid_from_features(clf(fake), clf(b)),
        "sharpness_ratio": sharpness(to_unit(fake)) / sharpness(to_unit(b)),
        "score_s": time.perf_counter() - start,
    }
    return row, fake[:8]


def floor(runs: Path, n: int) -> dict:
    """Real against real: classifier FID of the test images against n train images."""
    from gankit.config import resolve_config
    from gankit.data import build_data
    from gankit.metrics.features import classifier_extractor
    from gankit.metrics.images import fid_from_features

    data = build_data(resolve_config(PRESET).data, seed=0)
    clf = classifier_extractor("fashion-mnist")
    fid = fid_from_features(clf(data.pairs(n, "train")[1]), clf(data.pairs(n, "test")[1]))
    return {"variant": "real (train vs test)", "n": n, "fid_classifier": fid}


def picture(runs: Path, outputs: dict[str, torch.Tensor], path: Path) -> None:
    """Rows: 8 test edges; columns: edges | each variant's output | real image."""
    from torchvision.utils import save_image

    from gankit import api

    _, data, _, _ = api.load_run(run_dir(runs, next(iter(outputs))))
    a, b = data.pairs(8, "test")
    columns = [a, *outputs.values(), b]
    grid = torch.stack(columns, 1).flatten(0, 1)  # [8 * cols, C, H, W], row by row
    grid = F.interpolate(grid, scale_factor=3, mode="nearest")
    save_image(grid, path, nrow=len(columns), normalize=True, value_range=(-1, 1), padding=2)


def write_markdown(rows: list[dict], path: Path, info: dict) -> None:
    lines = [
        "# pix2pix loss ablation on edges2fashion (`benchmarks/pix2pix.py`)",
        "",
        f"Machine: {info['machine']}; torch {info['torch']}. Date: {info['date']}. Wall time "
        f"of the last invocation: {info['total_wall_s'] / 60:.1f} min.",
        "",
        f"Settings: preset `{PRESET}` (32x32; U-Net and PatchGAN with 32 base channels, the "
        "PatchGAN's 70x70 receptive field covering the whole image; batch norm, dropout 0.5, "
        "Adam 2e-4 / beta1 0.5, batch 32, seed 0), each variant trained for the same steps on "
        "one thread. "
        "Score: the Fashion-MNIST test split (edges by scikit-image's Canny, sigma 1) translated "
        "by G in eval mode (dropout on, with a fixed seed), 8-bit images on the [0, 1] scale. "
        "L1 = mean absolute error; SSIM = torchmetrics, Gaussian 11x11 window, sigma 1.5; "
        "PSNR = torchmetrics per image, then the mean; classifier FID = gankit's Fashion-MNIST "
        "classifier (128-d features), translated test images against the real test images; "
        "sharpness = variance of the Laplacian, translated over real.",
        "",
        "| variant | lambda L1 | cGAN weight | steps | L1 (lower) | SSIM (higher) "
        "| PSNR dB (higher) | classifier FID (lower) | sharpness / real |",
        "|---|---|---|---|---|---|---|---|---|",
    ]
    for r in rows:
        if "l1" not in r:
            continue
        lines.append(
            f"| {r['variant']} | {r['lambda_l1']:g} | {r['gan_weight']:g} | {r['steps']} "
            f"| {r['l1']:.4f} | {r['ssim']:.4f} | {r['psnr']:.2f} | {r['fid_classifier']:.2f} "
            f"| {r['sharpness_ratio']:.2f} |"
        )
    lines += [
        "",
        "Floor of the classifier FID (real train images against real test images, same n): "
        + ", ".join(f"{r['fid_classifier']:.2f}" for r in rows if "l1" not in r)
        + ".",
        "",
        "Picture ([pix2pix_ablation.png](pix2pix_ablation.png)): each row is one test image; "
        "columns: Canny edges | "
        + " | ".join(r["variant"] for r in rows if "l1" in r)
        + " | real image.",
        "",
        "![ablation](pix2pix_ablation.png)",
    ]
    path.write_text("\n".join(lines) + "\n")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--variants", nargs="*", default=list(VARIANTS), choices=list(VARIANTS))
    ap.add_argument("--n", type=int, default=10_000, help="test pairs scored")
    ap.add_argument("--runs", type=Path, default=Path("/tmp/gankit-pix2pix-runs"))
    ap.add_argument("--skip-train", action="store_true")
    ap.add_argument("--out", type=Path, default=Path(__file__).parent / "results")
    args = ap.parse_args()
    args.out.mkdir(parents=True, exist_ok=True)
    start = time.time()
    if not args.skip_train:
        with ProcessPoolExecutor(2) as pool:
            list(pool.map(train_one, args.variants, [args.runs] * len(args.variants)))
    rows, outputs = [], {}
    for variant in args.variants:
        row, outputs[variant] = score(variant, args.runs, args.n)
        print(row, flush=True)
        rows.append(row)
    picture(args.runs, outputs, args.out / "pix2pix_ablation.png")
    rows.append(floor(args.runs, args.n))
    info = settings(n=args.n, total_wall_s=time.time() - start)
    stem = args.out / "pix2pix"
    save(stem, merge_rows(stem.with_suffix(".json"), rows, key="variant"), info, write_markdown)


if __name__ == "__main__":
    main()
