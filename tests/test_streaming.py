"""Streamed image data: a folder read by a DataLoader with workers, resumable bit for bit, and a
person's own torch Dataset registered in a few lines."""

from __future__ import annotations

import copy
import dataclasses
import io

import pytest
import torch
from PIL import Image

from gankit.config import resolve_config
from gankit.data import build_data, from_dataset, split_batch
from gankit.data import folder as folder_module
from gankit.data.images import ImageSet
from gankit.data.streaming import StreamSet
from gankit.errors import ConfigError, DataError
from gankit.registry import DATASETS, register_dataset

from .conftest import TRAIN_TINY


def photos(root, n: int = 23, classes: bool = True):
    """n smooth random JPEGs and PNGs of a few sizes, in two class folders (or none)."""
    g = torch.Generator().manual_seed(0)
    for i in range(n):
        small = torch.rand(1, 3, 4, 4, generator=g)
        h, w = (40, 30) if i % 3 else (12, 20)  # some smaller than img_size: upscaled
        big = torch.nn.functional.interpolate(small, size=(h, w), mode="bilinear")
        img = Image.fromarray((big[0] * 255).byte().permute(1, 2, 0).numpy())
        sub = root / (("cats", "dogs")[i % 2] if classes else "")
        sub.mkdir(parents=True, exist_ok=True)
        img.save(sub / f"{i:03d}.{'jpg' if i % 2 else 'png'}")
    return root


def build(root, *extra: str, seed: int = 0):
    overrides = [f"data.path={root}", "data.img_size=16", "data.workers=0", *extra]
    return build_data(resolve_config(data="folder", overrides=overrides).data, seed)


def same(a, b) -> bool:
    (xa, ya), (xb, yb) = split_batch(a), split_batch(b)
    return torch.equal(xa, xb) and ((ya is None and yb is None) or torch.equal(ya, yb))


def test_streamed_folder_gives_the_batches_of_the_in_memory_one(tmp_path):
    root = photos(tmp_path / "imgs")
    streamed = build(root, "data.in_memory=false", "data.flip=true")
    memory = build(root, "data.in_memory=true", "data.flip=true")
    assert isinstance(streamed, StreamSet) and isinstance(memory, ImageSet)
    assert streamed.shape == (3, 16, 16) and streamed.class_names == ("cats", "dogs")
    for n in (5, 16, 30, 1):  # across epoch ends (23 images), batch sizes changing
        x, y = streamed.batch(n)
        assert x.shape == (n, 3, 16, 16) and x.dtype == torch.float32 and y.shape == (n,)
        assert -1 <= x.min() and x.max() <= 1
        assert same((x, y), memory.batch(n))
    assert same(streamed.reference(7), memory.reference(7))
    info, mem_info = streamed.info(), memory.info()
    assert info["streamed"] and info["key"] != mem_info["key"]
    for k in ("n_train", "skipped", "ignored", "n_upscaled", "upscaled_from", "class_names"):
        assert info[k] == mem_info[k]
    assert info["n_upscaled"] == 8 and info["upscaled_from"] == 12


@pytest.mark.parametrize("workers", [0, 2])
def test_stop_and_resume_equals_an_uninterrupted_stream(tmp_path, workers):
    root = photos(tmp_path / "imgs")
    opts = ["data.in_memory=false", "data.flip=true", f"data.workers={workers}"]
    data = build(root, *opts, seed=3)
    data.batch(9)
    data.batch(20)  # the workers have read ahead of this
    buf = io.BytesIO()
    torch.save(data.state_dict(), buf)  # as a checkpoint holds it
    expected = [data.batch(n) for n in (7, 16, 3, 25)]
    resumed = build(root, *opts, seed=99)
    resumed.batch(4)  # a stream that was elsewhere
    resumed.load_state_dict(torch.load(io.BytesIO(buf.getvalue()), weights_only=True))
    for n, want in zip((7, 16, 3, 25), expected, strict=True):
        assert same(resumed.batch(n), want)


def test_streaming_leaves_the_global_rng_alone(tmp_path):
    data = build(photos(tmp_path / "imgs"), "data.in_memory=false", "data.workers=2")
    state = torch.random.get_rng_state()
    data.batch(5)
    data.load_state_dict(data.state_dict())  # a new loader
    data.batch(5)
    data.reference(3)
    assert torch.equal(torch.random.get_rng_state(), state)


def test_streamed_folder_skips_and_counts_broken_images(tmp_path, capsys):
    root = photos(tmp_path / "imgs", n=6)
    buf = io.BytesIO()
    Image.new("RGB", (64, 64), (1, 2, 3)).save(buf, format="JPEG")
    (root / "cats" / "a_truncated.jpg").write_bytes(buf.getvalue()[: len(buf.getvalue()) // 2])
    (root / "dogs" / "x.png").write_text("I am text")
    (root / "dogs" / "notes.txt").write_text("not an image")
    data = build(root, "data.in_memory=false")
    info = data.info()
    assert info["skipped"] == 2 and info["skipped_files"] == ["cats/a_truncated.jpg", "dogs/x.png"]
    assert info["n_train"] == 6 and info["ignored"] == 1
    err = capsys.readouterr().err.strip()
    assert err.count("\n") == 0 and "skipped 2" in err and "cats/a_truncated.jpg" in err
    x, y = data.batch(12)
    assert x.shape == (12, 3, 16, 16)


def test_a_file_gone_while_streaming_is_a_one_line_error(tmp_path):
    root = photos(tmp_path / "imgs", n=4, classes=False)
    data = build(root, "data.in_memory=false", "data.workers=2")
    for f in root.iterdir():
        f.unlink()
    with pytest.raises(DataError, match="cannot be read any more") as e:
        data.batch(4)
    assert "\n" not in str(e.value)


def test_in_memory_auto_streams_large_folders(tmp_path, monkeypatch):
    root = photos(tmp_path / "imgs", n=4)
    assert isinstance(build(root), ImageSet)  # 4 tiny images: in memory
    monkeypatch.setattr(folder_module, "AUTO_MEMORY_MB", 0.001)
    assert isinstance(build(root), StreamSet)
    assert isinstance(build(root, "data.in_memory=true"), ImageSet)
    with pytest.raises(DataError, match="data.in_memory=false"):
        build(root, "data.in_memory=true", "data.max_mb=1", "data.img_size=1000")
    with pytest.raises(ConfigError, match="data.in_memory must be one of auto, true, false"):
        build(root, "data.in_memory=maybe")


def test_unpaired_domains_stream_like_the_in_memory_ones(tmp_path):
    for name, n in (("trainA", 9), ("trainB", 7), ("testA", 3), ("testB", 2)):
        photos(tmp_path / name, n=n, classes=False)
    opts = [f"data.path={tmp_path}", "data.img_size=8", "data.flip=true", "data.channels_b=1"]

    def unpaired(*extra: str, seed: int = 0):
        cfg = resolve_config(data="unpaired-folder", overrides=[*opts, *extra]).data
        return build_data(cfg, seed)

    streamed = unpaired("data.in_memory=false", "data.workers=2")
    memory = unpaired("data.in_memory=true", "data.workers=0")
    assert isinstance(streamed.domain("A"), StreamSet) and isinstance(memory.domain("B"), ImageSet)
    assert streamed.info() == memory.info()  # n_train [9, 7], both splits
    for n in (4, 11):
        assert all(
            torch.equal(s, m) for s, m in zip(streamed.batch(n), memory.batch(n), strict=True)
        )
    assert all(torch.equal(s, m) for s, m in zip(streamed.pairs(3), memory.pairs(3), strict=True))
    state = copy.deepcopy(streamed.state_dict())
    expected = streamed.batch(6)
    resumed = unpaired("data.in_memory=false", "data.workers=0", seed=7)
    resumed.load_state_dict(state)
    assert all(torch.equal(r, e) for r, e in zip(resumed.batch(6), expected, strict=True))


# ---------------------------------------------------------------- your own Dataset


class Blobs(torch.utils.data.Dataset):
    """A person's own Dataset: item i is a 3x32x32 image in [-1, 1] and its class, i % 2."""

    def __init__(self, n: int, bad: int = -1):
        self.n, self.bad = n, bad

    def __len__(self) -> int:
        return self.n

    def __getitem__(self, i: int):
        g = torch.Generator().manual_seed(i)  # the same item every time
        x = torch.rand(3, 32, 32, generator=g) * 2 - 1
        if i == self.bad:
            x = x * 3  # out of range
        return x, i % 2


@dataclasses.dataclass
class BlobsConfig:
    name: str = "test-blobs"
    n: int = 40
    bad: int = -1
    flip: bool = False
    workers: int = 0


@pytest.fixture
def own_registry(monkeypatch):
    """Registrations made by a test are forgotten after it."""
    DATASETS.names()  # the built-in ones first
    monkeypatch.setattr(DATASETS, "_entries", dict(DATASETS._entries))


def test_your_own_dataset_in_a_few_lines(own_registry, tmp_path):
    from gankit import api

    @register_dataset("test-blobs", config=BlobsConfig, kind="image")
    def blobs(cfg: BlobsConfig, seed: int):
        """Blobs: a test's own torch Dataset."""
        return from_dataset(cfg, seed, Blobs(cfg.n, cfg.bad), class_names=["odd", "even"])

    cfg = resolve_config(data="test-blobs", overrides=["data.flip=true"]).data
    data = build_data(cfg, seed=0)
    x, y = data.batch(7)
    assert x.shape == (7, 3, 32, 32) and data.num_classes == 2 and y.dtype == torch.int64
    state = copy.deepcopy(data.state_dict())
    expected = [data.batch(n) for n in (30, 11)]
    again = build_data(cfg, seed=5)
    again.load_state_dict(state)
    assert all(same(again.batch(n), want) for n, want in zip((30, 11), expected, strict=True))
    assert "key" not in data.info()  # gankit cannot name a Dataset's contents: no feature cache

    opts = ["train.steps=2", "train.batch_size=8", *TRAIN_TINY[1:], "train.n_samples=8"]
    trainer = api.train(model="dcgan", data="test-blobs", overrides=opts, out=tmp_path / "run")
    assert trainer.run.path.is_dir()

    bad = dataclasses.replace(cfg, bad=3)
    with pytest.raises(DataError, match=r"pixels in \[.*\]; float images must lie in \[-1, 1\]"):
        build_data(bad, seed=0).batch(40)


def test_your_own_dataset_mistakes_are_one_line():
    cfg = BlobsConfig()
    with pytest.raises(DataError, match="name the classes"):
        from_dataset(cfg, 0, Blobs(4))
    with pytest.raises(DataError, match=r"an image must be \[C, H, W\]"):
        from_dataset(cfg, 0, [torch.zeros(5)] * 3)
    with pytest.raises(DataError, match="has no items"):
        from_dataset(cfg, 0, [])

    class Broken(Blobs):
        def __getitem__(self, i):
            if i == 2:
                raise FileNotFoundError("no such file: blob2.png")
            return super().__getitem__(i)[0]

    data = from_dataset(dataclasses.replace(cfg, workers=2), 0, Broken(4))
    with pytest.raises(DataError, match="item 2 of data set 'test-blobs': FileNotFound") as e:
        data.batch(4)
    assert "\n" not in str(e.value)
