"""Unrolled GAN (Metz et al. 2016): G is trained against D advanced k optimiser steps ahead.

The game is the original GAN's (BCE, Adam, one D step), on MLP nets (`unrolled`, the paper's 2-D
experiments) or DCGAN's conv nets (`unrolled-dcgan`, its stacked-MNIST table).
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
from torch import Tensor
from torch.func import functional_call

from gankit.batch import Batch, split_batch
from gankit.losses import d_loss_bce, d_means, g_loss_nonsaturating
from gankit.models.adversarial import AdversarialGAN
from gankit.models.base import Optim
from gankit.models.dcgan import IMAGES
from gankit.models.gan import POINTS
from gankit.nn.augment import Augment
from gankit.nn.conv import ConvNets
from gankit.nn.mlp import MLPNets
from gankit.options import Named, option
from gankit.registry import register_model


@dataclass
class Unroll:
    """The unrolling options (a config part)."""

    unroll_steps: int = option(5, min=0)  # k: D optimiser steps that G looks ahead
    first_order: bool = False  # treat the unrolled D as a constant (cheaper, loses the point)


@dataclass
class UnrolledConfig(Unroll, Optim, MLPNets, Named):
    lr_g: float = option(1e-3, above=0.0)  # Metz et al.'s 2-D settings: Adam, G 1e-3, D 1e-4
    lr_d: float = option(1e-4, above=0.0)


@dataclass
class UnrolledDCGANConfig(Augment, Unroll, Optim, ConvNets, Named):
    """DCGAN's nets and Adam settings with unrolling (and DiffAugment, model.augment)."""


def _adam_state(opt: torch.optim.Adam, p: Tensor) -> tuple[Tensor, Tensor, float]:
    state = opt.state.get(p, {})
    if "exp_avg" not in state:
        return torch.zeros_like(p), torch.zeros_like(p), 0.0
    return state["exp_avg"], state["exp_avg_sq"], float(state["step"])


class UnrolledGAN(AdversarialGAN):
    """Unrolled GAN (Metz et al. 2016): MLP G and D; G's loss differentiates through k D steps."""

    def unrolled_d_params(self, x_real: Tensor, x_fake: Tensor) -> dict[str, Tensor]:
        """D's parameters after k Adam steps from its current state (weights and moments).

        With create_graph the steps stay differentiable, so the result depends on G through
        x_fake: that dependence is the unrolled gradient. The steps are written out functionally
        because torch.optim updates in place and cannot be differentiated through.
        """
        D, opt = self.nets["D"], self.optimizers["D"]
        group = opt.param_groups[0]
        lr, (b1, b2), eps = group["lr"], group["betas"], group["eps"]
        names = [n for n, _ in D.named_parameters()]
        params = [p.detach().requires_grad_(True) for _, p in D.named_parameters()]
        moments = [_adam_state(opt, p) for _, p in D.named_parameters()]
        m = [mo[0] for mo in moments]
        v = [mo[1] for mo in moments]
        t = moments[0][2] if moments else 0.0
        create_graph = not self.cfg.first_order
        if not create_graph:
            x_fake = x_fake.detach()
        # D's k steps see one augmentation of the batch (model.augment), as its own step would
        x_real, x_fake = self.augment(x_real), self.augment(x_fake)
        separate = self.d_mixes_samples  # batch norm: never normalise real and fake together
        x_both, n_real = torch.cat([x_real, x_fake]), x_real.shape[0]
        for _ in range(self.cfg.unroll_steps):
            weights = dict(zip(names, params, strict=True))
            if separate:
                d_real, d_fake = (functional_call(D, weights, x) for x in (x_real, x_fake))
            else:  # one D pass, not two
                d_real, d_fake = functional_call(D, weights, x_both).split([n_real] * 2)
            loss = d_loss_bce(d_real, d_fake)
            grads = torch.autograd.grad(loss, params, create_graph=create_graph)
            grads = self.engine.average(list(grads))  # the global batch's step
            t += 1
            m = [b1 * mi + (1 - b1) * g for mi, g in zip(m, grads, strict=True)]
            v = [b2 * vi + (1 - b2) * g * g for vi, g in zip(v, grads, strict=True)]
            # eps^2 inside the root keeps its derivative finite where a gradient is exactly 0
            params = [
                p - lr * (mi / (1 - b1**t)) / ((vi / (1 - b2**t) + eps * eps).sqrt() + eps)
                for p, mi, vi in zip(params, m, v, strict=True)
            ]
        return dict(zip(names, params, strict=True))

    def unrolled_generator_loss(self, x_real: Tensor, z: Tensor) -> Tensor:
        """G's non-saturating loss against the unrolled D, on the same real batch and z."""
        x_fake = self.nets["G"](z)
        weights = self.unrolled_d_params(x_real, x_fake)
        d_fake = functional_call(self.nets["D"], weights, self.augment(x_fake))
        return g_loss_nonsaturating(d_fake)

    def train_step(self, batch: Batch, step: int) -> dict[str, Tensor]:
        G, D = self.nets["G"], self.nets["D"]
        x_real = split_batch(batch)[0]  # [B, *data_shape]
        # G first, from the current D and its optimiser state; D's own update stays ordinary
        loss_g = self.unrolled_generator_loss(x_real, self.noise(x_real.shape[0]))
        self.update("G", loss_g, inputs=list(G.parameters()))
        with torch.no_grad():
            x_fake = G(self.noise(x_real.shape[0]))
        d_real, d_fake = D(self.augment(x_real)), D(self.augment(x_fake))
        loss_d = d_loss_bce(d_real, d_fake)
        self.update("D", loss_d)
        return {"loss/D": loss_d.detach(), "loss/G": loss_g.detach(), **d_means(d_real, d_fake)}


register_model(
    "unrolled",
    config=UnrolledConfig,
    spec=POINTS,
    help="Unrolled GAN (Metz et al. 2016): MLP G and D; G's loss differentiates through k D steps.",
)(UnrolledGAN)

register_model(
    "unrolled-dcgan",
    config=UnrolledDCGANConfig,
    spec=IMAGES,
    help="Unrolled GAN (Metz et al. 2016) on DCGAN's conv nets, as in its stacked-MNIST table.",
)(UnrolledGAN)
