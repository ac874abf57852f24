"""gankit nightmare: the style losses by hand, the style network's training step and file, and
the command end to end on tiny settings, with a user's mistakes as one line and exit code 2."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from PIL import Image

from gankit.errors import GankitError
from gankit.nightmare import StyleNet, StyleTraining, gram, load_style_net, save_style_net
from gankit.nightmare.perceptual import style_loss
from gankit.nightmare.training import ContentSampler, train_style_net

from .conftest import IMAGE_TINY, TRAIN_TINY, sets
from .conftest import cli as run


def test_gram_and_style_loss_by_hand():
    # two channels of two pixels: features [[1, 2], [3, 4]], C * H * W = 4
    f = torch.tensor([[1.0, 2.0], [3.0, 4.0]]).reshape(1, 2, 2, 1)
    expected = torch.tensor([[[5.0, 11.0], [11.0, 25.0]]]) / 4
    assert torch.allclose(gram(f), expected)
    # against the identity: squared differences 0.0625 + 2 * 7.5625 + 27.5625 = 42.75,
    # relative to the identity's squared size 2
    loss = style_loss({"a": f}, {"a": torch.eye(2)[None]})
    assert loss.shape == (1,)
    assert loss.item() == pytest.approx(21.375)


def _random_sampler(size: int) -> ContentSampler:
    g = torch.Generator().manual_seed(0)
    photos = [torch.randint(0, 256, (3, 80, 90), generator=g, dtype=torch.uint8)]
    faces = torch.randint(0, 256, (2, 3, 25, 25), generator=g, dtype=torch.uint8)
    return ContentSampler(photos, faces, size, seed=0)


def test_a_train_step_changes_the_style_network():
    cfg = StyleTraining(steps=1, size=64, style_size=64, batch=1, width=4, seed=3)
    style = torch.randint(0, 256, (3, 64, 64), dtype=torch.uint8)
    net, info = train_style_net(style, cfg, sampler=_random_sampler(64))
    torch.manual_seed(cfg.seed)
    untrained = StyleNet(cfg.width)  # the same initial weights as train_style_net's
    changed = [
        not torch.equal(a, b) for a, b in zip(net.parameters(), untrained.parameters(), strict=True)
    ]
    assert all(changed)
    assert info["training"]["steps"] == 1 and set(info["final_losses"]) >= {"style", "content"}


def test_save_load_round_trip_gives_identical_output(tmp_path):
    torch.manual_seed(0)
    net = StyleNet(width=4, blocks=1).eval()
    for p in net.parameters():  # instance norm's scale and shift too, not just their defaults
        p.data.add_(0.1 * torch.randn_like(p))
    save_style_net(net, tmp_path / "net.safetensors", {"steps": 7})
    back, info = load_style_net(tmp_path / "net.safetensors")
    x = torch.rand(2, 3, 37, 50) * 2 - 1  # not a multiple of 4: padded and cropped back
    with torch.no_grad():
        y = net(x)
        assert y.shape == x.shape
        assert torch.equal(back(x), y)
    assert info == {"steps": 7}


@pytest.mark.parametrize("content", [b"not safetensors", b""])
def test_a_foreign_style_net_file_is_refused(tmp_path, content):
    (tmp_path / "bad.safetensors").write_bytes(content)
    with pytest.raises(GankitError, match="cannot be read as a gankit style network"):
        load_style_net(tmp_path / "bad.safetensors")


# ------------------------------------------------------------------ the command end to end


@pytest.fixture(scope="module")
def faces_run(tmp_path_factory):
    """A tiny DCGAN of 4 steps on the LFW faces: faces only in name, but a faces run."""
    from gankit.cli import main

    out = tmp_path_factory.mktemp("nightmare") / "faces"
    args = ["train", "--model", "dcgan", "--data", "lfw-faces", "--steps", "4", "--out", out]
    with pytest.raises(SystemExit) as e:
        main([str(a) for a in [*args, *sets(*IMAGE_TINY, *TRAIN_TINY)]])
    assert e.value.code == 0
    return out


@pytest.fixture(scope="module")
def tiny_net(tmp_path_factory):
    path = tmp_path_factory.mktemp("nightmare") / "tiny.safetensors"
    torch.manual_seed(0)
    save_style_net(StyleNet(width=4, blocks=1), path, {"note": "untrained, for the tests"})
    return path


@pytest.fixture
def photos(tmp_path):
    folder = tmp_path / "photos"
    folder.mkdir()
    rng = np.random.default_rng(0)
    Image.fromarray(rng.integers(0, 256, (40, 70, 3), dtype=np.uint8)).save(folder / "a.png")
    Image.fromarray(rng.integers(0, 256, (50, 30), dtype=np.uint8)).save(folder / "b.jpg")
    return folder


def _nightmare(capsys, *args):
    return run(capsys, "nightmare", "--size", 64, *args)


def test_nightmare_writes_faces_places_and_page(capsys, tmp_path, faces_run, tiny_net, photos):
    out = tmp_path / "out"
    code, stdout, err = _nightmare(
        capsys, "--faces", faces_run, "--style-net", tiny_net, "--photos", photos,
        "--n-faces", 3, "--out", out,
    )  # fmt: skip
    assert code == 0, err
    assert "haunted 3 face(s) and 2 place(s)" in stdout
    faces = sorted(p.name for p in (out / "faces").iterdir())
    assert faces == [f"{k}face_00{i}.png" for k in ("before_", "") for i in range(3)]
    with Image.open(out / "faces" / "face_000.png") as im:
        assert im.size == (64, 64) and im.mode == "RGB"  # grey faces made RGB, at --size
    with Image.open(out / "places" / "a.png") as im:
        assert im.size == (64, 37)  # the longer side at --size, the aspect kept
    assert (out / "places" / "before_b.png").is_file()
    page = (out / "nightmare.html").read_text()
    assert "Haunted faces" in page and "Haunted places" in page and "data:image/png" in page
    assert (out / "nightmare.json").is_file()


def test_nightmare_trains_a_style_network_on_a_style_image(capsys, tmp_path, faces_run):
    style = tmp_path / "style.png"
    rng = np.random.default_rng(1)
    Image.fromarray(rng.integers(0, 256, (96, 96, 3), dtype=np.uint8)).save(style)
    out = tmp_path / "out"
    code, _, err = _nightmare(
        capsys, "--faces", faces_run, "--style", style, "--steps", 1, "--n-faces", 1,
        "--photos", style, "--out", out,
    )  # fmt: skip
    assert code == 0, err
    net, info = load_style_net(out / "style_net.safetensors")
    assert info["training"]["steps"] == 1 and info["style_image"] == str(style)
    assert (out / "style.png").is_file()  # shown on the page
    code, _, err = _nightmare(  # and reused
        capsys, "--faces", faces_run, "--style-net", out / "style_net.safetensors",
        "--n-faces", 1, "--photos", style, "--out", tmp_path / "again",
    )  # fmt: skip
    assert code == 0, err


@pytest.mark.slow
def test_nightmare_trains_a_faces_gan_when_given_no_run(capsys, tmp_path, tiny_net):
    out = tmp_path / "out"
    code, stdout, err = _nightmare(
        capsys, "--style-net", tiny_net, "--faces-steps", 2, "--n-faces", 2, "--out", out
    )
    assert code == 0, err
    assert "training a faces GAN for 2 steps" in err
    assert (out / "faces-gan" / "config.yaml").is_file()  # a run to give as --faces later
    assert "haunted 2 face(s) and 3 place(s)" in stdout  # scikit-image's photos as places


def test_nightmare_skips_and_counts_files_that_are_not_images(
    capsys, tmp_path, faces_run, tiny_net, photos
):
    (photos / "notes.txt").write_text("not a picture")
    (photos / "broken.png").write_bytes(b"\x89PNG\r\n\x1a\n truncated")
    code, stdout, err = _nightmare(
        capsys, "--n-faces", 0, "--style-net", tiny_net, "--photos", photos,
        "--out", tmp_path / "out",
    )  # fmt: skip
    assert code == 0, err
    assert "0 face(s) and 2 place(s)" in stdout
    assert "skipped 2 file(s)" in err


def _refused(capsys, *args) -> str:
    code, _, err = _nightmare(capsys, *args)
    assert code == 2
    lines = err.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("gankit: error: "), err
    return lines[0]


def test_nightmare_refuses_mistakes_in_one_line(capsys, tmp_path, faces_run, tiny_net, photos):
    net = ("--n-faces", 0, "--style-net", tiny_net)
    assert "does not exist" in _refused(capsys, *net, "--photos", tmp_path / "nowhere")
    junk = tmp_path / "junk"
    junk.mkdir()
    (junk / "a.png").write_text("no image")
    assert "none of the 1 file(s)" in _refused(capsys, *net, "--photos", junk)
    bad_style = tmp_path / "style.png"
    bad_style.write_text("no image")
    assert "--style" in _refused(capsys, "--style", bad_style, "--photos", photos)
    assert "not both" in _refused(capsys, "--style", bad_style, "--style-net", tiny_net)
    assert "--style-net" in _refused(capsys, "--style-net", tmp_path / "none.safetensors")
    assert "not a gankit run" in _refused(capsys, "--faces", tmp_path, "--style-net", tiny_net)
    assert not (tmp_path / "runs").exists()  # nothing written: every check comes first


def test_nightmare_never_writes_into_a_folder_with_files(capsys, tmp_path, tiny_net, photos):
    out = tmp_path / "out"
    out.mkdir()
    (out / "mine.txt").write_text("keep me")
    message = _refused(capsys, "--n-faces", 0, "--style-net", tiny_net, "--photos", photos,
                       "--out", out)  # fmt: skip
    assert "not an empty folder" in message
    assert [p.name for p in out.iterdir()] == ["mine.txt"]
    assert (out / "mine.txt").read_text() == "keep me"


# ------------------------------------------------------------------ the shipped style


def test_the_shipped_style_image_is_what_its_script_draws():
    from gankit.nightmare.haunt import DEFAULT_STYLE, read_style_image
    from gankit.nightmare.style_image import DEFAULT_SEED, DEFAULT_SIZE, make_style_image

    drawn = torch.from_numpy(make_style_image(DEFAULT_SEED, DEFAULT_SIZE)).permute(2, 0, 1)
    shipped = read_style_image(DEFAULT_STYLE)
    # equal on the numpy and scipy it was drawn with; within rounding on others
    assert (drawn.float() - shipped.float()).abs().mean() < 1.0
    red, green, blue = shipped.float().mean(dim=(1, 2))
    assert red > 2 * green and red > 2 * blue and red < 128  # dark, and blood red


def test_the_shipped_style_network_was_trained_on_the_shipped_image():
    import hashlib

    from gankit.nightmare.haunt import DEFAULT_STYLE, DEFAULT_STYLE_NET, read_style_image

    net, info = load_style_net(DEFAULT_STYLE_NET)
    image = read_style_image(DEFAULT_STYLE)
    assert info["style_sha256"] == hashlib.sha256(image.numpy().tobytes()).hexdigest()
    assert info["cpu_seconds"] < 20 * 60  # the budget of its training
    with torch.no_grad():
        y = net(torch.zeros(1, 3, 64, 64))
    assert y.shape == (1, 3, 64, 64) and y.abs().max() <= 1
