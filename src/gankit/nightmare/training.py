"""Training the style network (Johnson et al. 2016): content images in, perceptual losses out.

The content images are what is installed, nothing downloaded: scikit-image's sample photos
(public domain or CC0 by skimage.data's documentation) and gankit's 100 LFW faces
(data.faces), in random crops, scales and flips. A few photos are held out of training
(PLACES), so `gankit nightmare` and the benchmark style pictures the network has not seen.
"""

from __future__ import annotations

import hashlib
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass

import numpy as np
import torch
import torch.nn.functional as F
from torch import Tensor

from gankit.data.faces import lfw_subset_pixels
from gankit.data.pixels import to_float
from gankit.nightmare.network import StyleNet
from gankit.nightmare.perceptual import (
    CONTENT_LAYER,
    STYLE_LAYERS,
    InceptionLayers,
    content_loss,
    gram,
    style_loss,
    total_variation,
)

# skimage.data photos trained on: scenes, textures, a cat, a microscope slide, the night sky
TRAIN_PHOTOS = (
    "chelsea", "hubble_deep_field", "immunohistochemistry", "retina", "brick", "camera",
    "grass", "gravel", "coins", "moon", "clock", "cell", "page",
)  # fmt: skip
PLACES = ("astronaut", "rocket", "coffee")  # held out: haunted when no --photos are given
FACE_SHARE = 0.3  # of each batch: faces, so the network learns to keep eyes, nose and mouth


@dataclass
class StyleTraining:
    """Settings of one training; `asdict` of it goes into the saved network's metadata."""

    steps: int = 1000  # about 8 CPU-minutes (one thread): the shipped network's training
    size: int = 128  # content crops, pixels a side
    style_size: int = 256  # the style image's shorter side: sets the texture's scale
    batch: int = 4
    lr: float = 1e-3
    style_weight: float = 4.0  # against content 1: the skin cracks, eyes and mouths stay
    content_weight: float = 1.0
    tv_weight: float = 0.0
    width: int = 16  # StyleNet channels at full resolution
    seed: int = 0


def skimage_photo(name: str) -> Tensor:
    """A scikit-image sample photo as uint8 [3, H, W] (grey repeated, alpha dropped)."""
    import skimage.data

    a = np.asarray(getattr(skimage.data, name)())
    a = np.repeat(a[..., None], 3, -1) if a.ndim == 2 else a[..., :3]
    if a.dtype != np.uint8:  # a few are bool or float in [0, 1]
        a = (a.astype(np.float64) * (255 / max(a.max(), 1e-9))).round().astype(np.uint8)
    return torch.from_numpy(np.ascontiguousarray(a)).permute(2, 0, 1)


def lfw_faces(faces: bool = True) -> Tensor:
    """gankit's 100 LFW faces (faces=False: the subset's 100 patches without a face) as uint8
    [100, 3, 25, 25]."""
    return lfw_subset_pixels(faces).expand(-1, 3, -1, -1)


def fit_side(x: Tensor, side: int, longer: bool = False) -> Tensor:
    """uint8 [C, H, W] resized (antialiased bilinear) so that its shorter side (or, `longer`,
    its longer side) is `side` pixels."""
    h, w = x.shape[-2:]
    scale = side / (max(h, w) if longer else min(h, w))
    size = (max(1, round(h * scale)), max(1, round(w * scale)))
    y = F.interpolate(x[None].float(), size=size, mode="bilinear", antialias=True)
    return y[0].round().clamp(0, 255).to(torch.uint8)


class ContentSampler:
    """Batches of float [B, 3, size, size] in [-1, 1]: random crops (a quarter to all of a
    photo's shorter side), resized, flipped half the time; a share of whole faces."""

    def __init__(self, photos: list[Tensor], faces: Tensor, size: int, seed: int):
        self.photos, self.faces, self.size = photos, faces, size
        self.gen = torch.Generator().manual_seed(seed)

    def _rand(self) -> float:
        return torch.rand((), generator=self.gen).item()

    def _crop(self) -> Tensor:
        if self._rand() < FACE_SHARE:
            x = self.faces[int(self._rand() * len(self.faces))]
        else:
            x = self.photos[int(self._rand() * len(self.photos))]
            h, w = x.shape[-2:]
            side = int(min(h, w) * (0.25 + 0.75 * self._rand()))
            top, left = int(self._rand() * (h - side + 1)), int(self._rand() * (w - side + 1))
            x = x[:, top : top + side, left : left + side]
        x = F.interpolate(x[None].float(), size=(self.size, self.size), mode="bilinear",
                          antialias=True, align_corners=False)[0]  # fmt: skip
        return x.flip(-1) if self._rand() < 0.5 else x

    def __call__(self, batch: int) -> Tensor:
        return torch.stack([self._crop() for _ in range(batch)]).div_(127.5).sub_(1.0)


def default_sampler(size: int, seed: int) -> ContentSampler:
    return ContentSampler([skimage_photo(n) for n in TRAIN_PHOTOS], lfw_faces(), size, seed)


class PerceptualLoss:
    """Johnson et al.'s loss against one style image: style (Gram, at STYLE_LAYERS), content
    (CONTENT_LAYER features of the input), total variation; each per image [N]."""

    def __init__(self, style: Tensor, style_size: int):
        self.features = InceptionLayers((*STYLE_LAYERS, CONTENT_LAYER))
        s = to_float(fit_side(style, style_size)[None])
        with torch.no_grad():
            self.grams = {k: gram(v) for k, v in self.features(s).items() if k in STYLE_LAYERS}

    def style(self, x: Tensor) -> Tensor:
        """The style loss per image [N] of images x in [-1, 1] (no gradient kept)."""
        with torch.no_grad():
            return style_loss(self.features(x), self.grams)

    def __call__(self, y: Tensor, x: Tensor, cfg: StyleTraining) -> dict[str, Tensor]:
        """Batch means of the losses of styled images y from content images x."""
        fy = self.features(y)
        with torch.no_grad():
            fx = self.features(x)[CONTENT_LAYER]
        parts = {
            "style": style_loss(fy, self.grams).mean(),
            "content": content_loss(fy[CONTENT_LAYER], fx).mean(),
            "tv": total_variation(y).mean(),
        }
        parts["total"] = (
            cfg.style_weight * parts["style"]
            + cfg.content_weight * parts["content"]
            + cfg.tv_weight * parts["tv"]
        )
        return parts


def train_style_net(
    style: Tensor,
    cfg: StyleTraining,
    sampler: ContentSampler | None = None,
    on_step: Callable[[int, dict[str, float]], None] | None = None,
) -> tuple[StyleNet, dict]:
    """A StyleNet trained to paint content images in the style of `style` (uint8 [3, H, W]),
    and a record of the training (settings, style image hash, losses, wall and CPU seconds)."""
    torch.manual_seed(cfg.seed)
    net = StyleNet(cfg.width)
    loss = PerceptualLoss(style, cfg.style_size)
    sampler = sampler or default_sampler(cfg.size, cfg.seed)
    opt = torch.optim.Adam(net.parameters(), lr=cfg.lr)
    wall, cpu = time.perf_counter(), time.process_time()
    parts = {}
    for step in range(1, cfg.steps + 1):
        x = sampler(cfg.batch)
        parts = loss(net(x), x, cfg)
        opt.zero_grad(set_to_none=True)
        parts["total"].backward()
        opt.step()
        if on_step is not None:
            on_step(step, {k: v.item() for k, v in parts.items()})
    info = {
        "training": asdict(cfg),
        "style_sha256": hashlib.sha256(style.numpy().tobytes()).hexdigest(),
        "style_shape": list(style.shape),
        "content": {"skimage.data": list(TRAIN_PHOTOS), "lfw_faces": 100},
        "final_losses": {k: round(v.item(), 6) for k, v in parts.items()},
        "wall_seconds": round(time.perf_counter() - wall, 1),
        "cpu_seconds": round(time.process_time() - cpu, 1),
        "threads": torch.get_num_threads(),
        "torch": torch.__version__,
    }
    return net.eval(), info


def main(argv: list[str] | None = None) -> None:
    """python -m gankit.nightmare.training [OUT] [--steps N] [--threads T]: trains the network
    shipped as styles/nightmare_net.safetensors on styles/nightmare.png (seed 0)."""
    import argparse
    from pathlib import Path

    from gankit.nightmare.haunt import DEFAULT_STYLE, DEFAULT_STYLE_NET, read_style_image
    from gankit.nightmare.network import save_style_net

    parser = argparse.ArgumentParser(description=main.__doc__.split(":")[0])
    parser.add_argument("out", nargs="?", type=Path, default=DEFAULT_STYLE_NET)
    parser.add_argument("--steps", type=int, default=StyleTraining.steps)
    parser.add_argument("--threads", type=int, default=1)
    args = parser.parse_args(argv)
    torch.set_num_threads(args.threads)

    def report(step: int, parts: dict[str, float]) -> None:
        if step % 100 == 0:
            print(step, {k: round(v, 4) for k, v in parts.items()}, flush=True)

    net, info = train_style_net(
        read_style_image(DEFAULT_STYLE), StyleTraining(steps=args.steps), on_step=report
    )
    info["style_image"] = "gankit/nightmare/styles/nightmare.png"
    save_style_net(net, args.out, info)
    print(f"wrote {args.out}: {info}")


if __name__ == "__main__":
    main()
