"""Image data sets: every registered data set's contract, epochs, exact restore, files, errors."""

from __future__ import annotations

import copy
import gzip
import io
import json
import pickle
import struct
from pathlib import Path
from urllib.error import URLError

import numpy as np
import pytest
import torch
from PIL import Image

from gankit.config import resolve_config
from gankit.data import build_data, split_batch, torchvision_sets
from gankit.data.images import ImageConfig, ImageSet, to_float
from gankit.data.torchvision_sets import IDX_FILES, read_idx
from gankit.errors import ConfigError, DataError
from gankit.registry import DATASETS

from .conftest import tiny_unpaired_folder

# ---------------------------------------------------------------- tiny fake files


def write_idx(path: Path, array: np.ndarray) -> None:
    """MNIST's idx format: zero, zero, 0x08 (bytes), ndim, big-endian dims, then the bytes."""
    header = bytes([0, 0, 8, array.ndim]) + struct.pack(f">{array.ndim}I", *array.shape)
    path.parent.mkdir(parents=True, exist_ok=True)
    with (gzip.open if path.suffix == ".gz" else open)(path, "wb") as f:
        f.write(header + array.astype(np.uint8).tobytes())


def fake_idx(folder: Path, n_train: int = 12, n_test: int = 6, gz: bool = True) -> np.ndarray:
    """The four MNIST files with random images and labels 0..9 in turn; returns train images."""
    rng = np.random.default_rng(0)
    train = rng.integers(0, 256, (n_train, 28, 28), dtype=np.uint8)
    test = rng.integers(0, 256, (n_test, 28, 28), dtype=np.uint8)
    arrays = (train, np.arange(n_train) % 10, test, np.arange(n_test) % 10)
    for name, array in zip(IDX_FILES, arrays, strict=True):
        write_idx(folder / (name + (".gz" if gz else "")), array)
    return train


def fake_cifar(root: Path, per_file: int = 3) -> None:
    folder = root / "cifar-10-batches-py"
    folder.mkdir(parents=True)
    rng = np.random.default_rng(0)
    for name in [f"data_batch_{i}" for i in range(1, 6)] + ["test_batch"]:
        batch = {"data": rng.integers(0, 256, (per_file, 3072), dtype=np.uint8)}
        batch["labels"] = list(rng.integers(0, 10, per_file))
        (folder / name).write_bytes(pickle.dumps(batch))


def png(path: Path, size=(20, 12), mode: str = "RGB", color=(200, 30, 30)) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    Image.new(mode, size, color).save(path)
    return path


def fake_folder(root: Path) -> Path:
    """Two classes, mixed sizes and modes, and a non-image file."""
    png(root / "cats" / "a.png", (20, 12))
    png(root / "cats" / "b.jpg", (9, 30), "L", 90)
    png(root / "dogs" / "c.png", (16, 16), "RGBA", (0, 0, 255, 128))
    png(root / "dogs" / "deep" / "d.bmp", (10, 10), "RGB", (0, 255, 0))
    (root / "dogs" / "notes.txt").write_text("not an image")
    return root


def _points(tmp: Path, mp) -> list[str]:
    np.save(tmp / "pts.npy", np.arange(20, dtype=np.float32).reshape(10, 2))
    return [f"data.path={tmp / 'pts.npy'}"]


def _mnist(tmp: Path, mp) -> list[str]:
    fake_idx(tmp / "MNIST" / "raw")
    return [f"data.root={tmp}", "data.download=false"]


def _fashion(tmp: Path, mp) -> list[str]:
    mp.setattr(torchvision_sets, "DEBIAN_FASHION_MNIST", tmp / "no-debian-files")
    fake_idx(tmp / "FashionMNIST" / "raw", gz=False)
    return [f"data.root={tmp}", "data.download=false"]


def _cifar(tmp: Path, mp) -> list[str]:
    fake_cifar(tmp)
    return [f"data.root={tmp}", "data.download=false"]


def _folder(tmp: Path, mp) -> list[str]:
    return [f"data.path={fake_folder(tmp / 'imgs')}", "data.workers=0", "data.img_size=8"]


def fake_usps(path: Path) -> Path:
    """USPS's HDF5 layout with 12 train and 5 test random digits."""
    import h5py

    rng = np.random.default_rng(0)
    with h5py.File(path, "w") as f:
        for split, n in (("train", 12), ("test", 5)):
            f[f"{split}/data"] = rng.random((n, 256), dtype=np.float32)
            f[f"{split}/target"] = np.arange(n) % 10
    return path


def _paired(tmp: Path) -> list[str]:
    for split, n in (("train", 5), ("test", 2)):
        for i in range(n):
            png(tmp / "pairs" / split / "A" / f"{i}.png", (12, 10), "L", 20 * i)
            png(tmp / "pairs" / split / "B" / f"{i}.png", (12, 10), "RGB", (i, 0, 0))
    return [f"data.path={tmp / 'pairs'}", "data.img_size=8", "data.workers=0", "data.channels_a=1"]


def _text(tmp: Path, mp) -> list[str]:
    from .conftest import TINY_TEXT

    return [f"data.path={TINY_TEXT}"]


def _oracle(tmp: Path, mp) -> list[str]:
    from .test_text import tiny_oracle

    return [f"data.path={tiny_oracle(tmp)[0]}", "data.n_train=20"]


def _jsb(tmp: Path, mp) -> list[str]:
    from .conftest import music_tiny

    return music_tiny()


def _bach(tmp: Path, mp) -> list[str]:
    return ["data.max_chorales=2", f"data.cache={tmp}", "data.bars=1"]


def _midi(tmp: Path, mp) -> list[str]:
    import pretty_midi

    for i in range(2):
        pm = pretty_midi.PrettyMIDI(initial_tempo=120.0)
        inst = pretty_midi.Instrument(0)
        inst.notes = [
            pretty_midi.Note(90, 60 + i + k % 5, k * 0.5, k * 0.5 + 0.5) for k in range(16)
        ]
        pm.instruments.append(inst)
        pm.write(str(tmp / f"{i}.mid"))
    return [f"data.path={tmp}", "data.bars=1", "data.test_fraction=0.5"]


# Every registered data set, and what it needs to be built here without a network. Bundled data
# (mnist5k, digits, lfw-faces, stacked-mnist from mnist5k) needs nothing.
FAKES = {
    "ring": lambda tmp, mp: [],
    "grid": lambda tmp, mp: [],
    "mixture": lambda tmp, mp: [],
    "points": _points,
    "mnist5k": lambda tmp, mp: [],
    "digits": lambda tmp, mp: [],
    "lfw-faces": lambda tmp, mp: [],
    "stacked-mnist": lambda tmp, mp: [],
    "mnist": _mnist,
    "fashion-mnist": _fashion,
    "cifar10": _cifar,
    "folder": _folder,
    "text": _text,
    "chinese-poems": _text,
    "shakespeare": _text,
    "oracle": _oracle,
    "edges2digits": lambda tmp, mp: ["data.img_size=16"],
    "paired-folder": lambda tmp, mp: _paired(tmp),
    "unpaired-folder": lambda tmp, mp: [f"data.path={tiny_unpaired_folder()}", "data.img_size=8"],
    "mnist-usps": lambda tmp, mp: [f"data.usps_path={fake_usps(tmp / 'usps.h5')}"],
    "gray2color": lambda tmp, mp: [*_folder(tmp, mp)[::2], "data.test_fraction=0.25"],
    "edges2fashion": lambda tmp, mp: [*_fashion(tmp, mp), "data.crop=12", "data.flip=true"],
    "jsb-chorales": _jsb,
    "bach-music21": _bach,
    "midi-folder": _midi,
}


@pytest.fixture
def registered(request, tmp_path, monkeypatch) -> tuple[str, list[str]]:
    """(data set name, overrides that point it at tiny fake files)."""
    name = request.param
    if name not in FAKES:
        pytest.fail(
            f"data set {name!r} has no tiny fake data: add an entry to FAKES in "
            "tests/test_images.py that makes whatever files it needs"
        )
    return name, FAKES[name](tmp_path, monkeypatch)


def build(name: str, overrides: list[str] = (), seed: int = 0):
    return build_data(resolve_config(data=name, overrides=list(overrides)).data, seed)


def assert_same(a, b) -> None:
    (xa, ya), (xb, yb) = split_batch(a), split_batch(b)
    assert torch.equal(xa, xb)
    assert (ya is None and yb is None) or torch.equal(ya, yb)


# ---------------------------------------------------------------- the contract, for all


@pytest.mark.parametrize("registered", DATASETS.names(), indirect=True)
def test_every_registered_dataset_keeps_the_contract(registered):
    name, overrides = registered
    cfg = resolve_config(data=name, overrides=overrides).data
    data = build_data(cfg, seed=1)
    x, y = split_batch(data.batch(7))
    info = data.info()
    if info.get("kind") in ("paired", "unpaired"):  # (a, b): b is what a model makes
        assert x.shape == (7, info["channels_a"], *data.shape[1:])
        x, y = y, None
    # text is token ids; everything else floats
    assert x.shape == (7, *data.shape)
    assert x.dtype == (torch.int64 if info.get("kind") == "text" else torch.float32)
    json.dumps(info)  # the Trainer writes it as JSON
    if info.get("kind") == "images":
        assert len(data.shape) == 3 and x.min() >= -1 and x.max() <= 1
        assert info["shape"] == list(data.shape) and info["key"]
    if data.num_classes:
        assert y.dtype == torch.int64 and y.shape == (7,)
        assert 0 <= y.min() and y.max() < data.num_classes
        assert len(data.class_names) == data.num_classes
    else:
        assert y is None

    # a fresh source (another seed, as on resume) continues exactly where the state was taken;
    # three batches of 7 cross the epoch end of the tiny fakes
    state = copy.deepcopy(data.state_dict())
    expected = [data.batch(7) for _ in range(3)]
    resumed = build_data(cfg, seed=2)
    resumed.load_state_dict(state)
    for want in expected:
        assert_same(resumed.batch(7), want)

    ref = data.reference(5)
    assert ref[0].shape[1:] == data.shape and 1 <= len(ref[0]) <= 5  # fewer if the data has fewer
    assert_same(ref, build_data(cfg, seed=3).reference(5))


# ---------------------------------------------------------------- the in-memory base


def tiny_set(n: int = 10, flip: bool = False, seed: int = 0, labels: bool = True) -> ImageSet:
    """Image i is filled with the value i (left half) and 255 - i (right half)."""
    x = torch.arange(n, dtype=torch.uint8)[:, None, None, None].repeat(1, 1, 4, 4)
    x[..., 2:] = 255 - x[..., 2:]
    y = torch.arange(n) % 3 if labels else None
    names = ("a", "b", "c") if labels else ()
    return ImageSet(ImageConfig(name="tiny", flip=flip), seed, (x, y), None, names)


def test_batches_are_epochs_without_replacement():
    data = tiny_set(10)
    x, y = data.batch(25)  # two and a half epochs
    ids = ((x[:, 0, 0, 0] + 1) * 127.5).round().long()
    for epoch in (ids[:10], ids[10:20]):
        assert sorted(epoch.tolist()) == list(range(10))
    assert len(set(ids[20:].tolist())) == 5
    assert torch.equal(y, ids % 3)  # labels travel with their images
    assert not torch.equal(ids[:10], ids[10:20])  # each epoch a new permutation


def test_exact_restore_through_a_checkpoint_with_flips(tmp_path):
    data = tiny_set(10, flip=True, seed=5)
    data.batch(7)
    torch.save(data.state_dict(), tmp_path / "state.pt")
    expected = [data.batch(6) for _ in range(4)]
    other = tiny_set(10, flip=True, seed=9)
    other.load_state_dict(torch.load(tmp_path / "state.pt", weights_only=True))
    for want in expected:
        assert_same(other.batch(6), want)
    with pytest.raises(DataError, match="drew from 10 images.*now has 11"):
        tiny_set(11).load_state_dict(data.state_dict())


def test_flip_mirrors_some_images_and_leaves_the_rest():
    x = tiny_set(10, flip=True, labels=False).batch(40)
    left, right = x[:, 0, 0, 0], x[:, 0, 0, 3]
    flipped = left > right  # image i has i on the left, 255 - i on the right (i < 128)
    assert 0 < flipped.sum() < 40
    assert torch.equal(x[flipped].flip(-1).min(), x[~flipped].min())


def test_to_float_range():
    x = to_float(torch.tensor([0, 255, 128], dtype=torch.uint8))
    assert x.dtype == torch.float32 and x[0] == -1 and x[1] == 1 and abs(x[2]) < 0.01


def test_reference_is_fixed_and_capped_and_splits_are_checked():
    data = tiny_set(10, seed=1)
    x, y = data.reference(100)
    assert x.shape == (10, 1, 4, 4)  # n above the split's size: all of it
    assert torch.equal(tiny_set(10, seed=2).reference(4)[0], x[:4])  # independent of the seed
    with pytest.raises(DataError, match="no test split"):
        data.reference(4, "test")
    with pytest.raises(ConfigError, match="'train' or 'test'"):
        data.reference(4, "valid")


# ---------------------------------------------------------------- bundled sets


def test_mnist5k_splits_4000_1000_and_key_follows_the_size():
    data = build("mnist5k")
    info = data.info()
    assert (info["n_train"], info["n_test"], data.num_classes) == (4000, 1000, 10)
    assert info["splits"] == ["train", "test"] and build("lfw-faces").info()["splits"] == ["train"]
    assert data.default_metrics == ("fid-classifier",)
    x_test, y_test = data.reference(2000, "test")
    assert x_test.shape == (1000, 1, 28, 28) and sorted(set(y_test.tolist())) == list(range(10))
    assert build("mnist5k", ["data.img_size=16"]).info()["key"] != info["key"]


def test_pad_centres_the_native_image():
    native, padded = (
        build("mnist5k").reference(3)[0],
        build("mnist5k", ["data.img_size=32", "data.fit=pad"]).reference(3)[0],
    )
    assert padded.shape == (3, 1, 32, 32)
    assert torch.equal(padded[..., 2:30, 2:30], native)
    assert (padded[..., :2, :] == -1).all()
    with pytest.raises(ConfigError, match="img_size >= 28"):
        build("mnist5k", ["data.img_size=16", "data.fit=pad"])


def test_digits_and_faces():
    digits = build("digits")
    assert digits.shape == (1, 8, 8) and digits.info()["n_test"] == 1797 // 5
    assert digits.reference(2000)[0].shape[0] == 1797 - 1797 // 5
    faces = build("lfw-faces")
    assert faces.shape == (1, 32, 32) and faces.num_classes == 0
    assert faces.info()["n_train"] == 100 and faces.default_metrics == ()


def test_bad_image_options():
    with pytest.raises(ConfigError, match="data.img_size"):
        resolve_config(data="digits", overrides=["data.img_size=0"])
    with pytest.raises(ConfigError, match="data.fit"):
        resolve_config(data="digits", overrides=["data.fit=stretch"])


# ---------------------------------------------------------------- torchvision sets


def test_mnist_reads_gzipped_or_unpacked_idx(tmp_path):
    train = fake_idx(tmp_path / "a" / "MNIST" / "raw", gz=True)
    fake_idx(tmp_path / "b" / "MNIST" / "raw", gz=False)
    for root in ("a", "b"):
        data = build("mnist", [f"data.root={tmp_path / root}", "data.download=false"])
        assert data.info()["n_train"] == 12 and data.info()["n_test"] == 6
        assert data.class_names == tuple("0123456789")
        assert torch.equal(data.images[:, 0], torch.from_numpy(train))


def test_mnist_missing_files_say_which_and_where(tmp_path):
    with pytest.raises(DataError) as e:
        build("mnist", [f"data.root={tmp_path}", "data.download=false"])
    msg = str(e.value)
    assert f"{tmp_path / 'MNIST' / 'raw'}" in msg and "\n" not in msg
    assert all(f"{name}.gz" in msg for name in IDX_FILES) and "download is false" in msg


def test_failed_download_says_where_to_put_the_files(tmp_path, monkeypatch):
    import torchvision.datasets

    def offline(self):
        raise URLError("[Errno -3] Temporary failure in name resolution")

    monkeypatch.setattr(torchvision.datasets.FashionMNIST, "download", offline)
    monkeypatch.setattr(torchvision_sets, "DEBIAN_FASHION_MNIST", tmp_path / "absent")
    with pytest.raises(DataError, match="download failed.*name resolution") as e:
        build("fashion-mnist", [f"data.root={tmp_path}"])
    assert f"{tmp_path / 'FashionMNIST' / 'raw'}" in str(e.value)
    assert "train-images-idx3-ubyte.gz" in str(e.value)


def test_broken_idx_file(tmp_path):
    fake_idx(tmp_path / "MNIST" / "raw")
    (tmp_path / "MNIST" / "raw" / "t10k-labels-idx1-ubyte.gz").write_bytes(b"garbage")
    with pytest.raises(DataError, match="t10k-labels-idx1-ubyte.gz"):
        build("mnist", [f"data.root={tmp_path}", "data.download=false"])
    write_idx(tmp_path / "x.idx", np.zeros((2, 3), np.uint8))
    assert read_idx(tmp_path / "x.idx").shape == (2, 3)


def test_cifar10_files(tmp_path):
    with pytest.raises(DataError, match="data_batch_1.*cifar-10-batches-py"):
        build("cifar10", [f"data.root={tmp_path}", "data.download=false"])
    fake_cifar(tmp_path)
    data = build("cifar10", [f"data.root={tmp_path}", "data.download=false"])
    assert data.shape == (3, 32, 32) and data.info()["n_train"] == 15
    assert data.info()["n_test"] == 3 and data.class_names[0] == "airplane"


def test_relative_root_is_saved_absolute(tmp_path, monkeypatch):
    fake_idx(tmp_path / "MNIST" / "raw")
    monkeypatch.chdir(tmp_path)
    cfg = resolve_config(data="mnist", overrides=["data.root=.", "data.download=false"]).data
    build_data(cfg, 0)
    assert cfg.root == str(tmp_path.resolve())


@pytest.mark.skipif(
    not torchvision_sets.DEBIAN_FASHION_MNIST.is_dir(),
    reason="Debian's fashion-mnist not installed",
)
def test_fashion_mnist_from_debian_files():
    data = build("fashion-mnist", ["data.download=false"])
    info = data.info()
    assert (info["n_train"], info["n_test"], data.shape) == (60000, 10000, (1, 28, 28))
    assert str(torchvision_sets.DEBIAN_FASHION_MNIST) in info["key"]
    assert data.class_names[9] == "Ankle boot"


# ---------------------------------------------------------------- Stacked MNIST


def test_stacked_mnist_triples_and_mode_labels(tmp_path):
    data = build("stacked-mnist")
    x = data.batch(6)
    assert isinstance(x, torch.Tensor) and x.shape == (6, 3, 28, 28)
    assert data.info()["modes"] == 1000 and data.default_metrics == ("stacked-modes",)
    x, modes = data.reference(50, "test")
    assert x.shape == (50, 3, 28, 28) and 0 <= modes.min() and modes.max() < 1000
    # each channel is a test digit, and the mode's digits are their labels
    digits, labels = data.digits.test
    same = [(to_float(digits) == x[0, c]).flatten(1).all(1) for c in range(3)]  # [N] each
    a, b, c = (int(labels[s.nonzero()[0]]) for s in same)
    assert modes[0] == 100 * a + 10 * b + c

    fake_idx(tmp_path / "MNIST" / "raw")
    small = build("stacked-mnist", ["data.source=mnist", f"data.root={tmp_path}"])
    assert small.info()["n_train"] == 12 and small.info()["source"] == "mnist"
    with pytest.raises(ConfigError, match="data.source"):
        resolve_config(data="stacked-mnist", overrides=["data.source=cifar10"])


# ---------------------------------------------------------------- folders


def folder(path: Path, *extra: str, workers: int = 0):
    return build("folder", [f"data.path={path}", f"data.workers={workers}", *extra])


def test_folder_classes_sizes_and_modes(tmp_path):
    root = fake_folder(tmp_path / "imgs")
    png(root / "dogs" / "e.gif", (8, 14), "P", 3)
    Image.new("CMYK", (12, 12), (0, 255, 0, 0)).save(root / "cats" / "f.jpg")
    im = Image.new("P", (10, 10), 1)
    im.save(root / "cats" / "g.png", transparency=1)
    data = folder(root, "data.img_size=8", workers=2)
    assert data.class_names == ("cats", "dogs") and data.shape == (3, 8, 8)
    info = data.info()
    assert (info["n_train"], info["ignored"], info["skipped"]) == (7, 1, 0)
    # files in sorted order: cats/a.png (red), cats/b.jpg (grey 90), ...; dogs/ is class 1
    assert data.labels.tolist() == [0, 0, 0, 0, 1, 1, 1]
    assert data.images[0, :, 4, 4].tolist() == [200, 30, 30]
    assert data.images[1, :, 4, 4].tolist() == [90, 90, 90]
    grey = folder(root, "data.img_size=8", "data.channels=1", "data.labels=none")
    assert grey.shape == (1, 8, 8) and grey.num_classes == 0


def test_folder_without_class_folders(tmp_path):
    png(tmp_path / "top.png")
    png(tmp_path / "sub" / "a.png")
    png(tmp_path / "other" / "b.png")
    data = folder(tmp_path, "data.img_size=4")
    assert data.num_classes == 0 and data.info()["n_train"] == 3


def test_folder_skips_and_counts_broken_images(tmp_path, capsys):
    root = fake_folder(tmp_path / "imgs")
    buf = io.BytesIO()
    Image.new("RGB", (64, 64), (1, 2, 3)).save(buf, format="PNG", compress_level=0)
    (root / "cats" / "a_truncated.png").write_bytes(buf.getvalue()[: len(buf.getvalue()) // 2])
    (root / "dogs" / "x.png").write_text("I am text")
    data = folder(root, "data.img_size=8")
    info = data.info()
    assert info["skipped"] == 2 and info["skipped_files"] == ["cats/a_truncated.png", "dogs/x.png"]
    assert info["n_train"] == 4 and len(data.labels) == 4
    err = capsys.readouterr().err.strip()
    assert err.count("\n") == 0 and "skipped 2" in err and "cats/a_truncated.png" in err


def test_folder_errors(tmp_path):
    with pytest.raises(ConfigError, match="--set data.path=DIR"):
        build("folder")
    with pytest.raises(DataError, match="does not exist"):
        folder(tmp_path / "nowhere")
    with pytest.raises(DataError, match="not a folder"):
        folder(png(tmp_path / "one.png"))
    (tmp_path / "empty").mkdir()
    (tmp_path / "empty" / "readme.md").write_text("hi")
    with pytest.raises(DataError, match=r"no images \(.png, .jpg.*1 other files"):
        folder(tmp_path / "empty")
    (tmp_path / "bad").mkdir()
    (tmp_path / "bad" / "x.png").write_text("text")
    with pytest.raises(DataError, match="none of the 1 images"):
        folder(tmp_path / "bad")
    with pytest.raises(DataError, match="lower data.img_size or raise data.max_mb"):
        folder(tmp_path, "data.img_size=1000", "data.max_mb=1")
    with pytest.raises(ConfigError, match="data.channels"):
        resolve_config(data="folder", overrides=["data.channels=2"])


def test_folder_path_is_saved_absolute(tmp_path, monkeypatch):
    png(tmp_path / "imgs" / "a.png")
    monkeypatch.chdir(tmp_path)
    cfg = resolve_config(data="folder", overrides=["data.path=imgs", "data.workers=0"]).data
    build_data(cfg, 0)
    assert cfg.path == str(tmp_path.resolve() / "imgs")
