"""CycleGAN between MNIST and USPS digits: does translation keep the digit?

The `mnist-usps-cyclegan` preset is trained without labels (seed 0). Then every USPS test digit
is translated into MNIST style and classified by gankit's MNIST classifier, and every MNIST test
digit (mnist5k's 1,000) into USPS style and classified by a USPS classifier that gankit trains
(`python -m gankit.metrics.classifier --data usps`). The baseline feeds the
untranslated digits to the other domain's classifier; the ceiling is each classifier on its
own domain. Target (issue 4): at least 95% for USPS -> MNIST.

    python benchmarks/cyclegan_digits.py
    python benchmarks/cyclegan_digits.py --skip-train
"""

from __future__ import annotations

import argparse
import json
import shutil
import time
from pathlib import Path

import torch
from common import merge_rows, save, settings

PRESET = "mnist-usps-cyclegan"
TARGET = 0.95  # USPS -> MNIST
DIRECTIONS = {  # direction -> (source domain, G's direction, judging classifier, its domain)
    "USPS->MNIST": ("B", "BtoA", "mnist", "A"),
    "MNIST->USPS": ("A", "AtoB", "usps", "B"),
}
BACK = {"BtoA": "AtoB", "AtoB": "BtoA"}
SOURCE_CLASSIFIER = {"A": "mnist", "B": "usps"}


def overrides(usps: str, precision: str) -> list[str]:
    return [
        f"data.usps_path={usps}",
        f"train.precision={precision}",
        "train.progress=false",
        "train.tensorboard=false",
    ]


def train(run: Path, usps: str, precision: str) -> None:
    from gankit import api

    shutil.rmtree(run, ignore_errors=True)
    api.train(PRESET, overrides=overrides(usps, precision), out=run)


def score(run: Path) -> list[dict]:
    from gankit import api
    from gankit.metrics.classifier import accuracy, classifier_info, load_classifier, predict
    from gankit.metrics.translation import translate_all

    model, data, cfg, step = api.load_run(run)
    rows = []
    for direction, (source, g_direction, clf_name, clf_domain) in DIRECTIONS.items():
        x, y = data.domain(source).reference(10**9, "test")  # the whole test split
        x_own, y_own = data.domain(clf_domain).reference(10**9, "test")
        clf = load_classifier(clf_name)
        moved = translate_all(model, x, g_direction)
        pred = predict(clf, moved)[0].argmax(1)
        back = translate_all(model, moved, BACK[g_direction])  # and home again
        rows.append(
            {
                "direction": direction,
                "classifier": f"{clf_name} (test acc {classifier_info(clf_name)['test_acc']})",
                "n": len(x),
                "acc_translated": float((pred == y).float().mean()),
                "acc_translated_per_class": [
                    round(float((pred[y == k] == k).float().mean()), 4) for k in range(10)
                ],
                "acc_round_trip": accuracy(load_classifier(SOURCE_CLASSIFIER[source]), back, y),
                "acc_untranslated": accuracy(clf, x, y),
                "acc_own_domain": accuracy(clf, x_own, y_own),
                "steps": step,
                "precision": cfg.train.precision,
                "target": TARGET if direction == "USPS->MNIST" else None,
            }
        )
    return rows


def picture(run: Path, path: Path) -> None:
    """8 test digits of each domain: x | translated | translated back (the snapshot panels)."""
    from torchvision.utils import save_image

    from gankit import api

    model, data, _, _ = api.load_run(run)
    panels = model.sample(z=torch.cat(data.pairs(8, "test"), 1))  # 8 MNIST rows, 8 USPS rows
    panels = torch.stack(panels.chunk(2), 1).flatten(0, 1)  # interleaved: MNIST left, USPS right
    panels = torch.nn.functional.interpolate(panels, scale_factor=2, mode="nearest")
    save_image(panels, path, nrow=2, normalize=True, value_range=(-1, 1), padding=2)


def write_markdown(rows: list[dict], path: Path, info: dict) -> None:
    lines = [
        "# CycleGAN MNIST <-> USPS label preservation (`benchmarks/cyclegan_digits.py`)",
        "",
        f"Machine: {info['machine']}; torch {info['torch']}. Date: {info['date']}. Wall time "
        f"of the last invocation: {info['total_wall_s'] / 60:.1f} min "
        f"(training {info['train_s'] / 60:.1f} min, {info['threads']} thread(s)).",
        "",
        f"Settings: preset `{PRESET}` (32x32 grey; ResNet generators with 6 blocks and 32 base "
        "channels, PatchGAN discriminators with 32, instance norm; least-squares GAN loss, "
        "cycle 10, identity 5, a pool of 50 past fakes; Adam 2e-4 / beta1 0.5, linear decay "
        f"over the second half; batch 16; seed 0; precision {rows[0]['precision']}; "
        f"{rows[0]['steps']} steps). No labels are used in training. Translated digits are "
        "judged by the target domain's classifier (gankit's small CNN; inputs resized to "
        "28x28): MNIST = trained on mnist5k's 4,000, USPS = trained on USPS train (7,291). "
        "Test sets: USPS test (2,007), mnist5k test (1,000).",
        "",
        "| direction | classifier | n | accuracy translated | accuracy untranslated "
        "| classifier on its own domain | target |",
        "|---|---|---|---|---|---|---|",
    ]
    for r in rows:
        target = f">= {r['target']:.0%}" if r["target"] else ""
        if r["target"]:
            target += " (met)" if r["acc_translated"] >= r["target"] else " (NOT met)"
        lines.append(
            f"| {r['direction']} | {r['classifier']} | {r['n']} | {r['acc_translated']:.4f} "
            f"| {r['acc_untranslated']:.4f} | {r['acc_own_domain']:.4f} | {target} |"
        )
    lines += [
        "",
        "Accuracy of the translated digits per class (0-9) and after the round trip "
        "(translated there and back, judged by the source domain's classifier):",
        "",
    ]
    lines += [
        f"- {r['direction']}: {', '.join(f'{a:.2f}' for a in r['acc_translated_per_class'])}; "
        f"round trip {r['acc_round_trip']:.4f}"
        for r in rows
    ]
    lines += [
        "",
        "Test digits, each row x | translated | translated back "
        "([cyclegan_digits.png](cyclegan_digits.png)); left: MNIST -> USPS -> MNIST, right: "
        "USPS -> MNIST -> USPS:",
        "",
        "![panels](cyclegan_digits.png)",
    ]
    path.write_text("\n".join(lines) + "\n")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--usps", default="", help="usps.h5 (default: the file shipped with gankit)")
    ap.add_argument("--precision", default="auto", help="auto (bf16 where native), fp32 or bf16")
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--run", type=Path, default=Path("/tmp/gankit-cyclegan-digits"))
    ap.add_argument("--skip-train", action="store_true")
    ap.add_argument("--out", type=Path, default=Path(__file__).parent / "results")
    args = ap.parse_args()
    torch.set_num_threads(args.threads)
    args.out.mkdir(parents=True, exist_ok=True)
    start = time.time()
    if not args.skip_train:
        train(args.run, args.usps, args.precision)
    rows = score(args.run)
    for r in rows:
        print(r, flush=True)
    picture(args.run, args.out / "cyclegan_digits.png")
    last = json.loads((args.run / "metrics.jsonl").read_text().splitlines()[-1])
    info = settings(threads=args.threads, train_s=last["time"], total_wall_s=time.time() - start)
    stem = args.out / "cyclegan_digits"
    save(stem, merge_rows(stem.with_suffix(".json"), rows, key="direction"), info, write_markdown)


if __name__ == "__main__":
    main()
