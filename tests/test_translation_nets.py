"""The image-to-image building blocks: shapes, skip connections, patch sizes."""

import pytest
import torch

from gankit.nn.translation import (
    PatchDiscriminator,
    ResnetGenerator,
    UNetGenerator,
    receptive_field,
)


@pytest.mark.parametrize("size, n_down", [(16, 4), (32, 5), (256, 8)])
def test_unet_maps_images_to_images_of_the_same_size(size, n_down):
    G = UNetGenerator(1, 3, n_down, width=8).eval()
    y = G(torch.randn(2, 1, size, size))
    assert y.shape == (2, 3, size, size) and y.abs().max() <= 1
    dropouts = [m for m in G.modules() if isinstance(m, torch.nn.Dropout)]
    assert len(dropouts) == min(3, n_down - 2)


def test_unet_output_pixels_depend_most_on_the_input_around_them():
    """The skips carry detail straight across: an output pixel's strongest input is nearby."""
    torch.manual_seed(0)
    G = UNetGenerator(1, 1, 4, width=8).eval()
    x = torch.randn(1, 1, 16, 16, requires_grad=True)
    G(x)[0, 0, 5, 9].backward()
    grad = x.grad[0, 0].abs()
    assert grad[2:9, 6:13].sum() > 0.8 * grad.sum()  # most of it within 3 pixels


@pytest.mark.parametrize("n_layers", [1, 2, 3])
def test_patchgan_logit_sees_its_receptive_field(n_layers):
    D = PatchDiscriminator(3, width=8, n_layers=n_layers).eval()
    size = 160
    x = torch.randn(1, 3, size, size, requires_grad=True)
    out = D(x)
    i = out.shape[-1] // 2
    out[0, 0, i, i].backward()
    cols = (x.grad[0].abs().sum((0, 1)) > 0).nonzero()
    seen = int(cols.max() - cols.min() + 1)
    assert seen == receptive_field(n_layers)
    assert receptive_field(3) == 70  # pix2pix's 70x70 PatchGAN


@pytest.mark.parametrize("norm", ["batch", "instance"])
def test_resnet_generator_shapes(norm):
    G = ResnetGenerator(3, 1, blocks=2, width=8, norm=norm)
    assert G(torch.randn(2, 3, 20, 28)).shape == (2, 1, 20, 28)
