"""The default frightening style image of `gankit nightmare`, drawn from noise, so gankit owns it.

    python -m gankit.nightmare.style_image [OUT.png] [--seed 13] [--size 512]

remakes src/gankit/nightmare/styles/nightmare.png (seed 13, 512 x 512) bit for bit on the same
numpy and scipy. The picture: cracked, bloody veins (Worley-noise cell edges, domain-warped so no
straight line shows) over dark red smoke (fractal noise), pale bone-white scars along the
widest cracks, ghostly pale wisps, mottling like rotten skin, and a vignette that sinks the
corners into black. Only numpy and scipy: no font, photo or other work of anyone else goes in.
"""

from __future__ import annotations

import argparse
from pathlib import Path

import numpy as np
from scipy import ndimage
from scipy.spatial import cKDTree

DEFAULT_SEED = 13
DEFAULT_SIZE = 512


def fractal_noise(rng: np.random.Generator, size: int, octaves: int = 6, base: int = 4):
    """Fractal value noise in [0, 1] [size, size]: random grids of growing resolution upsampled
    (cubic spline) and summed with halving weights, as in Perlin's 1985 texture synthesis."""
    total, weight, norm = np.zeros((size, size)), 1.0, 0.0
    for k in range(octaves):
        cells = base * 2**k
        grid = rng.random((cells + 3, cells + 3))  # a margin so the spline has neighbours
        up = ndimage.zoom(grid, size / cells, order=3, mode="wrap")
        offset = int(size / cells)  # one cell: skips the margin's edge effects
        total += weight * up[offset : offset + size, offset : offset + size]
        norm += weight
        weight *= 0.5
    total /= norm
    return (total - total.min()) / (total.max() - total.min())


def warp(rng: np.random.Generator, field: np.ndarray, strength: float) -> np.ndarray:
    """field sampled at coordinates pushed about by two noise fields: straight edges curl."""
    size = field.shape[0]
    dy, dx = (strength * (fractal_noise(rng, size, 4) - 0.5) for _ in range(2))
    yy, xx = np.mgrid[0:size, 0:size].astype(float)
    return ndimage.map_coordinates(field, [yy + dy, xx + dx], order=1, mode="reflect")


def cracks(rng: np.random.Generator, size: int, cells: int, width: float) -> np.ndarray:
    """Cell edges of Worley noise (Worley 1996) in [0, 1]: 1 on an edge, falling off within
    about `width` pixels: the gap between the nearest and second-nearest feature point."""
    points = rng.random((cells, 2)) * size
    yy, xx = np.mgrid[0:size, 0:size]
    d, _ = cKDTree(points).query(np.stack([yy.ravel(), xx.ravel()], 1), k=2)
    gap = (d[:, 1] - d[:, 0]).reshape(size, size)
    return np.exp(-gap / width)


def make_style_image(seed: int = DEFAULT_SEED, size: int = DEFAULT_SIZE) -> np.ndarray:
    """uint8 [size, size, 3]: the frightening style image of `seed`."""
    rng = np.random.default_rng(seed)
    smoke = fractal_noise(rng, size)
    veins = warp(rng, cracks(rng, size, 90, 2.5), size / 12)  # large cracks
    capillaries = warp(rng, cracks(rng, size, 600, 1.2), size / 24)  # fine ones between them
    ridges = 1 - np.abs(2 * fractal_noise(rng, size, 7, 8) - 1)  # ridged noise: bulging flesh
    yy, xx = (np.mgrid[0:size, 0:size] / (size - 1) - 0.5) * 2
    vignette = np.clip(1.15 - 0.55 * (yy**2 + xx**2), 0, 1)

    fade = fractal_noise(rng, size, 5) ** 1.5  # some veins glow, others sink into the dark
    blood = np.clip((0.9 * veins + 0.5 * capillaries * smoke) * (0.3 + 1.2 * fade), 0, 1)
    rot = fractal_noise(rng, size, 7, 32)  # fine mottling: rotten skin, not smooth paint
    flesh = (0.3 * smoke**2 + 0.22 * ridges**6) * (0.6 + 0.8 * rot)
    wisps = np.clip(warp(rng, smoke, size / 8) - 0.6, 0, None) * 1.6  # pale ghostly smoke
    red = flesh + 0.95 * blood + 0.35 * wisps
    green = 0.25 * flesh**1.5 + 0.12 * blood**3 + 0.33 * wisps
    blue = 0.22 * flesh**1.5 + 0.1 * blood**3 + 0.3 * wisps
    scar = np.clip(veins - 0.8, 0, None) * 4 * (smoke > 0.55)  # pale edges of the deepest cuts
    rgb = np.stack([red + 0.6 * scar, green + 0.55 * scar, blue + 0.45 * scar], -1)
    rgb *= vignette[..., None] * (0.55 + 0.6 * smoke[..., None])  # light falls in patches
    return (np.clip(rgb, 0, 1) ** 0.9 * 255).round().astype(np.uint8)


def main(argv: list[str] | None = None) -> None:
    from PIL import Image

    here = Path(__file__).with_name("styles") / "nightmare.png"
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("out", nargs="?", type=Path, default=here)
    parser.add_argument("--seed", type=int, default=DEFAULT_SEED)
    parser.add_argument("--size", type=int, default=DEFAULT_SIZE)
    args = parser.parse_args(argv)
    Image.fromarray(make_style_image(args.seed, args.size)).save(args.out, optimize=True)
    print(f"wrote {args.out}")


if __name__ == "__main__":
    main()
