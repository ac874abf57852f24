"""Hostile image input, where a user meets it: `gankit train --data DIR`, paired folders,
`gankit translate`. Every odd kind of file goes through the one decoder (data.pixels.open_image)
and is decoded on purpose, or skipped and counted, or refused in one line; never a traceback,
never a silently wrong picture."""

import os
import struct
import zlib
from pathlib import Path

import numpy as np
import pytest
import torch

from gankit.config import resolve_config
from gankit.data import build_data
from gankit.data.pixels import ImageError, decode_image

from .conftest import IMAGE_TINY, TRAIN_TINY, cli, model_case, sets

pytestmark = pytest.mark.hostile


# ---------------------------------------------------------------- odd files, made here


def bomb_png(path: Path, w: int = 20_000, h: int = 20_000) -> Path:
    """A PNG whose header claims w x h pixels (400 million: a decompression bomb to PIL)."""

    def chunk(kind: bytes, data: bytes) -> bytes:
        return (
            struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))
        )

    header = struct.pack(">IIBBBBB", w, h, 8, 0, 0, 0, 0)  # 8-bit grey
    rows = zlib.compress(b"\0" * (w + 1))  # one row: the header alone says how large
    path.write_bytes(
        b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", rows) + chunk(b"IEND", b"")
    )
    return path


def bad_files(folder: Path) -> int:
    """Writes every kind of file that cannot be decoded into folder, and a folder symlink loop;
    returns how many image files it wrote."""
    from PIL import Image

    folder.mkdir(parents=True, exist_ok=True)
    (folder / "notes.png").write_text("a text file with an image suffix\n")
    (folder / "empty.png").write_bytes(b"")
    Image.fromarray(np.random.default_rng(0).integers(0, 256, (32, 32, 3), np.uint8)).save(
        folder / "whole.png"
    )
    data = (folder / "whole.png").read_bytes()
    (folder / "truncated.png").write_bytes(data[: len(data) // 2])
    (folder / "whole.png").unlink()
    bomb_png(folder / "bomb.png")
    os.symlink("loop_b.png", folder / "loop_a.png")  # a -> b -> a
    os.symlink("loop_a.png", folder / "loop_b.png")
    os.symlink(".", folder / "up")  # a folder symlink to the folder that holds it
    return 6


def grey16(path: Path, value: int = 128 * 257, size=(12, 10)) -> Path:
    """A 16-bit grey PNG (PIL mode I;16) of one value."""
    from PIL import Image

    path.parent.mkdir(parents=True, exist_ok=True)
    Image.fromarray(np.full(size[::-1], value, np.uint16)).save(path)
    return path


def odd_but_good(folder: Path) -> dict[str, tuple[int, int, int]]:
    """Images of odd kinds that must decode, and the RGB colour each must decode to."""
    from PIL import Image

    folder.mkdir(parents=True, exist_ok=True)
    grey16(folder / "café photo ü 16-bit.png")  # unicode and spaces in the name too
    Image.fromarray(np.full((10, 12), 128 * 257, np.int32)).save(folder / "int32.tif")  # mode I
    Image.fromarray(np.full((10, 12), 0.5, np.float32)).save(folder / "float.tif")  # mode F
    Image.new("CMYK", (12, 10), (0, 255, 255, 0)).save(folder / "cmyk.jpg", quality=95)
    palette = Image.new("P", (12, 10), 0)
    palette.putpalette([255, 255, 255, 255, 0, 0] + [0] * 762)
    palette.paste(1, (6, 0, 12, 10))  # right half red, left half white but transparent
    palette.save(folder / "palette.png", transparency=0)
    frames = [Image.new("RGB", (12, 10), c) for c in ((255, 0, 0), (0, 0, 255))]
    frames[0].save(folder / "anim.gif", save_all=True, append_images=frames[1:], duration=50)
    return {
        "café photo ü 16-bit.png": (128, 128, 128),
        "int32.tif": (128, 128, 128),
        "float.tif": (128, 128, 128),
        "cmyk.jpg": (255, 0, 0),
        "palette.png": (127, 0, 0),  # half black (transparent), half red, averaged
        "anim.gif": (255, 0, 0),  # the first frame
    }


def test_the_decoder_decodes_each_odd_kind_on_purpose(tmp_path):
    for name, rgb in odd_but_good(tmp_path).items():
        x = decode_image(tmp_path / name, 10, 3).pixels  # [3, 10, 10]
        mean = x.float().mean((1, 2))
        assert torch.allclose(mean, torch.tensor(rgb, dtype=torch.float), atol=8), (name, mean)
    from PIL import Image

    exif = Image.Exif()
    exif[0x0112] = 6  # shown turned 90 degrees clockwise, as a phone held upright stores it
    Image.new("RGB", (12, 10), (0, 200, 0)).save(tmp_path / "phone.jpg", exif=exif)
    upright = decode_image(tmp_path / "phone.jpg", 10, 3)
    assert (upright.height, upright.width) == (12, 10)
    bad_files(tmp_path / "bad")
    os.mkfifo(tmp_path / "bad" / "pipe.png")  # opening it would wait for a writer for ever
    for name in ("notes.png", "empty.png", "truncated.png", "bomb.png", "loop_a.png", "pipe.png"):
        with pytest.raises(ImageError, match=name):
            decode_image(tmp_path / "bad" / name, 10, 3)


# ---------------------------------------------------------------- gankit train --data DIR


def test_training_on_a_folder_of_odd_files(tmp_path, capsys, monkeypatch):
    monkeypatch.chdir(tmp_path)
    root = tmp_path / "photos"
    n_good = len(odd_but_good(root))
    n_bad = bad_files(root)
    args = ["train", "--data", root, "--model", "dcgan", "--steps", "2", "--out", "run"]
    data = ["data.img_size=8", "data.workers=0", "data.labels=none"]
    code, _, err = cli(capsys, *args, *sets(*IMAGE_TINY, *TRAIN_TINY, *data))
    assert code == 0, err
    warnings = [line for line in err.splitlines() if "skipped" in line]
    assert len(warnings) == 1 and f"skipped {n_bad} unreadable image(s)" in warnings[0]
    # the 16-bit, 32-bit and float grey images are mid-grey, not white
    source = build_data(
        resolve_config(data="folder", overrides=[f"data.path={root}", *data]).data, 0
    )
    assert source.info()["n_train"] == n_good
    grey = [source.images[i] for i in range(n_good) if source.images[i].float().std(0).max() < 1]
    assert len(grey) == 3 and all(abs(float(g.float().mean()) - 128) < 2 for g in grey)


# ---------------------------------------------------------------- paired folders


def pair_files(root: Path, n: int, layout: str, size=(12, 8)) -> None:
    """n pairs: A grey, B a colour; in A/ and B/ folders or side by side (A | B)."""
    from PIL import Image

    w, h = size
    for i in range(n):
        a = Image.new("L", (w, h), 20 * i)
        b = Image.new("RGB", (w, h), (200, 30, 10 * i))
        if layout == "AB":
            for side, img in (("A", a), ("B", b)):
                (root / side).mkdir(parents=True, exist_ok=True)
                img.save(root / side / f"p{i}.png")
        else:
            both = Image.new("RGB", (2 * w, h))
            both.paste(a, (0, 0))
            both.paste(b, (w, 0))
            root.mkdir(parents=True, exist_ok=True)
            both.save(root / f"p{i}.png")


def spoil(root: Path, layout: str) -> int:
    """Turns some pairs bad (a zero-byte image, a corrupt one, a symlink loop); how many."""
    folder_a = root / "A" if layout == "AB" else root
    folder_b = root / "B" if layout == "AB" else root
    (folder_a / "p0.png").write_bytes(b"")
    (folder_b / "p1.png").write_text("not a picture")
    for folder in {folder_a, folder_b}:
        os.symlink("loop_b.png", folder / "loop_a.png")
        os.symlink("loop_a.png", folder / "loop_b.png")
        os.symlink(".", folder / "up")
    return 4


PIX2PIX = [*model_case("pix2pix")[1], "data.img_size=8", "data.workers=0"]


@pytest.mark.parametrize("layout", ["AB", "side-by-side"])
def test_paired_training_drops_pairs_with_a_bad_image(tmp_path, capsys, layout):
    pair_files(tmp_path / "pairs", 5, layout)
    n_bad = spoil(tmp_path / "pairs", layout)
    code, _, err = cli(
        capsys,
        *["train", "--model", "pix2pix", "--data", "paired-folder", "--steps", "2"],
        *["--out", tmp_path / "run"],
        *sets(f"data.path={tmp_path / 'pairs'}", *PIX2PIX),
    )
    assert code == 0, err
    dropped = [line for line in err.splitlines() if "dropped" in line]
    assert len(dropped) == 1 and f"dropped {n_bad} of {n_bad + 3} pair(s)" in dropped[0]


@pytest.mark.parametrize("layout", ["AB", "side-by-side"])
def test_paired_data_with_no_good_pair_is_refused_in_one_line(tmp_path, capsys, layout):
    pair_files(tmp_path / "pairs", 2, layout)
    spoil(tmp_path / "pairs", layout)
    code, _, err = cli(
        capsys,
        *["train", "--model", "pix2pix", "--data", "paired-folder", "--steps", "2"],
        *["--out", tmp_path / "run"],
        *sets(f"data.path={tmp_path / 'pairs'}", *PIX2PIX),
    )
    assert code == 2 and err.count("\n") == 1 and "none of the 4 pair(s)" in err
    assert not (tmp_path / "run").exists()


def paired(path: Path, *extra: str):
    overrides = [f"data.path={path}", "data.img_size=8", "data.workers=0", *extra]
    return build_data(resolve_config(data="paired-folder", overrides=overrides).data, 0)


def test_side_by_side_halves_are_fitted_as_a_and_b_files_are(tmp_path):
    """Non-square halves are cropped, as A/ and B/ images are, not squashed."""
    from PIL import Image

    rng = np.random.default_rng(0)
    a, b = (Image.fromarray(rng.integers(0, 256, (8, 20, 3), np.uint8)) for _ in "ab")
    for side, img in (("A", a), ("B", b)):
        (tmp_path / "ab" / side).mkdir(parents=True)
        img.save(tmp_path / "ab" / side / "x.png")
    both = Image.new("RGB", (40, 8))
    both.paste(a, (0, 0))
    both.paste(b, (20, 0))
    (tmp_path / "sbs").mkdir()
    both.save(tmp_path / "sbs" / "x.png")
    ab, sbs = paired(tmp_path / "ab").pairs(1, "train"), paired(tmp_path / "sbs").pairs(1, "train")
    assert torch.equal(ab[0], sbs[0]) and torch.equal(ab[1], sbs[1])


def test_direction_b_to_a_swaps_the_pairs_for_training_eval_and_translate(tmp_path, capsys):
    from PIL import Image

    from gankit import api

    pair_files(tmp_path / "pairs", 3, "AB")
    grey_a = [f"data.path={tmp_path / 'pairs'}", "data.channels_a=1"]
    a, b = paired(tmp_path / "pairs", *grey_a, "data.direction=BtoA").pairs(3, "train")
    a0, b0 = paired(tmp_path / "pairs", *grey_a).pairs(3, "train")
    assert a.shape[1] == 3 and b.shape[1] == 1 and torch.equal(a, b0) and torch.equal(b, a0)

    run = tmp_path / "run"
    api.train(
        None,
        "pix2pix",
        "paired-folder",
        [*PIX2PIX, *grey_a, "data.direction=BtoA", "train.steps=2"],
        run,
    )
    assert "direction: BtoA" in (run / "config.yaml").read_text()
    model, source, _, _ = api.load_run(run)  # eval and translate rebuild the data from it
    assert source.info()["direction"] == "BtoA" and model.input_channels() == 3
    Image.new("RGB", (8, 8), (200, 30, 10)).save(tmp_path / "colour.png")
    code, _, err = cli(capsys, "translate", run, tmp_path / "colour.png", "--out", tmp_path / "o")
    assert code == 0 and "as the model expects" not in err  # colour in, as the B files were
    assert Image.open(tmp_path / "o" / "colour.png").mode == "L"  # grey out, as the A files


# ---------------------------------------------------------------- gankit translate


def test_translate_skips_undecodable_inputs_and_follows_no_loop(pix2pix_run, tmp_path, capsys):
    from PIL import Image

    n_bad = bad_files(tmp_path / "in") - 1  # the bomb is refused: left out here
    (tmp_path / "in" / "bomb.png").unlink()
    Image.new("L", (8, 8), 99).save(tmp_path / "in" / "ok photo é.png")
    code, out, err = cli(capsys, "translate", pix2pix_run, tmp_path / "in", "--out", tmp_path / "o")
    assert code == 0, err
    warnings = [line for line in err.splitlines() if "skipped" in line]
    assert len(warnings) == 1 and f"skipped {n_bad} input(s)" in warnings[0]
    assert [p.name for p in (tmp_path / "o").iterdir()] == ["ok photo é.png"]


def test_translate_refuses_a_bomb_and_an_out_file_in_one_line(pix2pix_run, tmp_path, capsys):
    bomb = bomb_png(tmp_path / "bomb.png")
    code, _, err = cli(capsys, "translate", pix2pix_run, bomb, "--out", tmp_path / "o")
    assert code == 2 and err.count("\n") == 1
    assert "400,000,000 pixels" in err and "--max-image-pixels" in err
    grey = grey16(tmp_path / "g.png")
    (tmp_path / "taken").write_text("mine")
    code, _, err = cli(capsys, "translate", pix2pix_run, grey, "--out", tmp_path / "taken")
    assert code == 2 and err.count("\n") == 1 and "is a file, not a folder" in err
    assert (tmp_path / "taken").read_text() == "mine"


def test_translate_reads_16_bit_images_as_their_8_bit_twins(pix2pix_run, tmp_path, capsys):
    from PIL import Image

    grey16(tmp_path / "deep" / "x.png", 128 * 257, (16, 16))
    (tmp_path / "flat").mkdir()
    Image.new("L", (16, 16), 128).save(tmp_path / "flat" / "x.png")
    for kind in ("deep", "flat"):
        code, _, err = cli(
            capsys, "translate", pix2pix_run, tmp_path / kind, "--out", tmp_path / f"o{kind}"
        )
        assert code == 0, err
    deep, flat = (np.asarray(Image.open(tmp_path / f"o{k}" / "x.png")) for k in ("deep", "flat"))
    assert np.array_equal(deep, flat)


def test_translating_a_large_image_says_how_large_and_how_long(pix2pix_run, tmp_path, capsys):
    from PIL import Image

    Image.new("L", (300, 280), 128).save(tmp_path / "big.png")
    code, _, err = cli(
        capsys,
        "translate",
        pix2pix_run,
        tmp_path / "big.png",
        "--out",
        tmp_path / "o",
        "--max-pixels",
        100,
    )
    assert code == 0, err
    notes = [line for line in err.splitlines() if "big.png is 300x280" in line]
    assert len(notes) == 1 and "4 tile(s) of 256 pixels, about" in notes[0]
    assert Image.open(tmp_path / "o" / "big.png").size == (300, 280)


# ---------------------------------------------------------------- config values


@pytest.mark.parametrize(
    "data, override, words",
    [
        ("folder", "data.channels=2", "data.channels must be one of 1, 3, got 2"),
        ("folder", "data.workers=-1", "data.workers must be at least 0"),
        ("paired-folder", "data.direction=sideways", "data.direction must be one of AtoB, BtoA"),
        ("paired-folder", "data.crop=-2", "data.crop must be at least 0"),
        ("gray2color", "data.test_fraction=1", "data.test_fraction must be below 1"),
        ("cifar10", "data.img_size=0", "data.img_size must be at least 1"),
        ("edges2digits", "data.sigma=0", "data.sigma must be above 0"),
        ("stacked-mnist", "data.source=svhn", "data.source must be one of mnist5k, mnist"),
    ],
)
def test_image_data_options_say_what_values_they_take(data, override, words):
    from gankit.errors import ConfigError

    with pytest.raises(ConfigError, match=words):
        resolve_config(data=data, overrides=[override])


def test_translate_with_a_nan_in_the_runs_config_is_one_line(pix2pix_run, tmp_path, capsys):
    """A config.yaml edited to hold nan (here beta1, which no range rule names) is refused
    when the run is read, not when Adam is built from it."""
    import shutil

    from PIL import Image

    run = tmp_path / "run"
    shutil.copytree(pix2pix_run, run)
    text = (run / "config.yaml").read_text()
    (run / "config.yaml").write_text(text.replace("beta1: ", "beta1: .nan #", 1))
    Image.new("L", (8, 8), 99).save(tmp_path / "in.png")
    code, _, err = cli(capsys, "translate", run, tmp_path / "in.png", "--out", tmp_path / "o")
    assert code == 2 and err.count("\n") == 1 and "model.beta1 must be a finite number" in err
    assert not (tmp_path / "o").exists()


def test_unpaired_domains_skip_and_count_odd_files(tmp_path, capsys):
    """CycleGAN's two folders read through the same decoder: odd files skipped and counted."""
    from PIL import Image

    for side in ("A", "B"):
        (tmp_path / f"train{side}").mkdir()
        for i in range(3):
            Image.new("RGB", (12, 12), (40 * i, 90, 200)).save(tmp_path / f"train{side}/{i}.png")
    n_bad = bad_files(tmp_path / "trainA" / "odd")
    tiny = [o for o in model_case("cyclegan")[1] if not o.startswith("data.")]
    code, _, err = cli(
        capsys, "train", "--model", "cyclegan", "--data", "unpaired-folder", "--out",
        tmp_path / "run", *sets(f"data.path={tmp_path}", "data.img_size=8", "data.workers=0",
                                "train.steps=1", *tiny),
    )  # fmt: skip
    assert code == 0, err
    warnings = [line for line in err.splitlines() if line.startswith("warning")]
    assert len(warnings) == 1 and f"skipped {n_bad} unreadable image(s)" in warnings[0], (err, _)


@pytest.mark.parametrize("model, data", [("cyclegan", "mnist-usps"), ("pix2pix", "edges2digits")])
def test_images_too_small_for_the_patchgan_are_one_line(model, data, tmp_path, capsys):
    """16x16 through 3 halvings leaves no pixel for the PatchGAN's last layers: refused before
    training, where it was a traceback from instance norm at the first step."""
    code, _, err = cli(
        capsys, "train", "--model", model, "--data", data, "--out", tmp_path / "run",
        *sets("data.img_size=16", "model.d_layers=3", "train.steps=1", *TRAIN_TINY),
    )  # fmt: skip
    assert code == 2 and err.count("\n") == 1 and "at least 24x24" in err, err
    assert not (tmp_path / "run").exists()
