"""nightmare.html: the haunted faces and places on one self-contained page, drawn by the run
report's template (viz/templates/report.html.j2) from the same kinds of blocks."""

from __future__ import annotations

import json
from pathlib import Path

import torch
from torch import Tensor

from gankit.files import write_atomic
from gankit.viz.report import block, explain_block, figure_block, note_block, render_page


def pairs_grid(pairs: list[tuple[Tensor, Tensor]], per_row: int = 4) -> Tensor:
    """uint8 [3, H, W]: before/after pairs side by side, `per_row` pairs a row, white gaps
    (and white below and right of pictures smaller than the largest)."""
    import torch.nn.functional as F
    from torchvision.utils import make_grid

    images = [img for pair in pairs for img in pair]
    h, w = max(x.shape[1] for x in images), max(x.shape[2] for x in images)
    padded = [F.pad(x, (0, w - x.shape[2], 0, h - x.shape[1]), value=255) for x in images]
    return make_grid(torch.stack(padded), nrow=2 * per_row, padding=2, pad_value=255)


def save_png(x: Tensor, path: Path) -> Path:
    """uint8 [3, H, W] as a PNG."""
    from PIL import Image

    Image.fromarray(x.permute(1, 2, 0).numpy()).save(path)
    return path


def write_page(result, summary: dict) -> Path:
    """Writes OUT/nightmare.html (and the grids it shows, OUT/haunted_*.png)."""
    out = result.out
    sections = []
    if result.faces:
        grid = save_png(pairs_grid(result.faces), out / "haunted_faces.png")
        sections.append(("Haunted faces", [
            figure_block(grid, "image/png", "faces before and after",
                         "pairs: a face drawn by the GAN, then the same face styled"),
            note_block(
                f"from {summary['faces_run']}, seed {summary['seed']}, {summary['size']} px"
            ),
        ]))  # fmt: skip
    if result.places:
        figures = []
        for name, (_, before, after) in zip(summary["places"], result.places, strict=True):
            grid = save_png(pairs_grid([(before, after)], 1), out / f"haunted_{name}.png")
            figures.append(figure_block(grid, "image/png", name, f"{name}: before, after"))
        sections.append(("Haunted places", [block("pair", parts=figures)]))
    if result.skipped:
        sections.append(("Skipped", [note_block(s) for s in result.skipped]))
    sections.append(("Style network", [
        explain_block(
            "A feed-forward network (Johnson et al. 2016, instance norm as Ulyanov et al. 2016) "
            "trained to match the Gram matrices of a style image's Inception-v3 features "
            "(Gatys et al. 2016) while keeping the content's: one pass per picture, "
            f"{summary['seconds_per_image']:.3f} s each here."
        ),
        *([figure_block(out / summary["style_image"], "image/png", "style", "the style image")]
          if summary["style_image"] else []),
        block("pre", text=json.dumps(summary["style_net"], indent=2)),
    ]))  # fmt: skip
    page = render_page("gankit nightmare", out, sections)
    path = out / "nightmare.html"
    write_atomic(path, page)
    return path
