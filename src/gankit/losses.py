"""GAN losses (Goodfellow 2014, Arjovsky, Gulrajani 2017, Karras 2018, Lim & Ye, Mao 2017)."""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from gankit.options import option

__all__ = [
    "EQUILIBRIUM",
    "LOSSES",
    "Objective",
    "r1_penalty",
    "D_LOSSES",
    "G_LOSSES",
    "binary_cross_entropy",
    "d_loss_bce",
    "d_loss_hinge",
    "d_loss_ls",
    "d_loss_wasserstein",
    "d_means",
    "epsilon_drift",
    "g_loss_hinge",
    "g_loss_ls",
    "g_loss_minimax",
    "g_loss_nonsaturating",
    "g_loss_wasserstein",
    "gradient_penalty",
]

# Conventions: every discriminator/critic output passed in here is a raw logit or score (no
# sigmoid applied), of any shape ([N], [N, 1], ...). Every loss is a scalar that the
# corresponding player *minimises*, and reductions are a mean over all elements.


# --------------------------------------------------------------------------------------------
# Original GAN (Goodfellow et al. 2014)
# --------------------------------------------------------------------------------------------


def binary_cross_entropy(logits: Tensor, target: float | Tensor) -> Tensor:
    """Mean of H(p, y) = -(y log p + (1 - y) log(1 - p)) with p = sigmoid(logits).

    logits: any shape. target: a float (broadcast to ``logits.shape``) or a tensor broadcastable
    to it. Returns a scalar.
    """
    # Computing log(sigmoid(x)) directly underflows to log(0) = -inf once |x| is large (~>17 in
    # float32); the *_with_logits form uses log(sigmoid(x)) = -softplus(-x) with the
    # log-sum-exp trick, which stays finite with finite gradients for any logit.
    target_t = torch.as_tensor(target, dtype=logits.dtype, device=logits.device)
    return F.binary_cross_entropy_with_logits(logits, target_t.broadcast_to(logits.shape))


def d_loss_bce(d_real: Tensor, d_fake: Tensor) -> Tensor:
    """Discriminator loss -(E[log D(x)] + E[log(1 - D(G(z)))]) = BCE(d_real, 1) + BCE(d_fake, 0).

    d_real, d_fake: logits of any shape (they need not match). Returns a scalar.
    """
    return binary_cross_entropy(d_real, 1.0) + binary_cross_entropy(d_fake, 0.0)


def g_loss_minimax(d_fake: Tensor) -> Tensor:
    """Saturating generator loss E[log(1 - D(G(z)))] = mean(-softplus(d_fake)).

    d_fake: logits of any shape. Returns a scalar (<= 0).

    This is the game as written in the paper. When D confidently rejects fakes (d_fake << 0),
    log(1 - sigmoid(x)) is flat and its gradient -sigmoid(x) vanishes, so G learns nothing early
    in training; prefer `g_loss_nonsaturating` in practice.
    """
    # log(1 - sigmoid(x)) = log(sigmoid(-x)) = -softplus(x); softplus is evaluated stably by
    # torch (linear for large x), whereas log(1 - sigmoid(x)) would give log(0) for x >~ 17.
    return -F.softplus(d_fake).mean()


def g_loss_nonsaturating(d_fake: Tensor) -> Tensor:
    """Non-saturating generator loss -E[log D(G(z))] = mean(softplus(-d_fake)).

    d_fake: logits of any shape. Returns a scalar (>= 0). Same fixed point as the minimax form
    but with gradient -sigmoid(-x) -> -1 (not 0) when D confidently rejects the fakes.
    """
    # -log(sigmoid(x)) = softplus(-x), the stable form (equals BCE(d_fake, 1)).
    return F.softplus(-d_fake).mean()


# --------------------------------------------------------------------------------------------
# Wasserstein GAN (Arjovsky et al. 2017) and WGAN-GP (Gulrajani et al. 2017)
# --------------------------------------------------------------------------------------------


def d_loss_wasserstein(d_real: Tensor, d_fake: Tensor) -> Tensor:
    """Critic loss mean(d_fake) - mean(d_real).

    d_real, d_fake: critic scores of any shape. Returns a scalar. The critic minimises this, so
    its negative, mean(d_real) - mean(d_fake), is the Wasserstein-1 estimate (valid only if the
    critic is kept ~1-Lipschitz, e.g. by weight clipping or `gradient_penalty`).
    """
    return d_fake.mean() - d_real.mean()


def g_loss_wasserstein(d_fake: Tensor) -> Tensor:
    """Generator loss -mean(d_fake). d_fake: critic scores of any shape. Returns a scalar."""
    return -d_fake.mean()


def gradient_penalty(
    D: Callable[[Tensor], Tensor],
    x_real: Tensor,
    x_fake: Tensor,
    generator: torch.Generator | None = None,
) -> Tensor:
    """WGAN-GP two-sided penalty mean_i((||grad_x D(x_hat_i)||_2 - 1)^2).

    x_hat = eps * x_real + (1 - eps) * x_fake with eps ~ U[0, 1] drawn once per sample.

    D: the critic, mapping [N, ...] to scores of shape [N] or [N, 1].
    x_real, x_fake: [N, ...] batches of the same shape (any data shape, e.g. [N, C, H, W]).
    generator: optional RNG for eps, for reproducibility. Returns a scalar, differentiable
    w.r.t. D's parameters (multiply by lambda, typically 10, and add to the critic loss).
    """
    n = x_real.shape[0]
    # One eps per sample, shape [N, 1, 1, ...], broadcast over all data dims.
    eps_shape = (n,) + (1,) * (x_real.dim() - 1)
    eps = torch.rand(eps_shape, generator=generator, device=x_real.device, dtype=x_real.dtype)
    # The penalty constrains D only: no gradient must flow back into G through x_fake (nor into
    # whatever produced x_real), so x_hat is a fresh leaf we differentiate with respect to.
    x_hat = eps * x_real.detach() + (1 - eps) * x_fake.detach()
    x_hat.requires_grad_(True)
    scores = D(x_hat)
    # Summing is valid because sample i's score depends only on x_hat[i], so d(sum)/d x_hat[i]
    # = d D(x_hat[i]) / d x_hat[i] (this is why WGAN-GP critics avoid batch norm).
    # create_graph=True keeps the graph of the gradient itself, so the penalty can be
    # backpropagated into D's parameters (a double backward).
    (grads,) = torch.autograd.grad(scores.sum(), x_hat, create_graph=True)
    # Per-sample L2 norm over all non-batch dims.
    grad_norm = grads.reshape(n, -1).norm(2, dim=1)
    return ((grad_norm - 1) ** 2).mean()


def epsilon_drift(d_real: Tensor) -> Tensor:
    """Drift penalty mean(d_real^2) of Progressive GAN (Karras et al. 2018), weighted by 0.001.

    d_real: critic scores of real data, any shape. Returns a scalar. The Wasserstein loss only
    sees score differences, so the critic's scores can drift as a whole, far from 0; this keeps
    them near 0 without changing what the critic ranks.
    """
    return d_real.pow(2).mean()


def r1_penalty(d_real: Tensor, x_real: Tensor) -> Tensor:
    """R1 penalty mean_i ||grad_x D(x_i)||^2 on real data (Mescheder et al. 2018).

    d_real: D's scores [N] computed from x_real [N, ...], which must require grad, so the
    penalty reuses the forward pass of the D loss instead of running D again.
    Multiply by gamma / 2 and add to D's loss.
    """
    (grads,) = torch.autograd.grad(d_real.sum(), x_real, create_graph=True)
    return grads.reshape(x_real.shape[0], -1).pow(2).sum(1).mean()


# --------------------------------------------------------------------------------------------
# Hinge loss (Lim & Ye 2017; Miyato et al. 2018)
# --------------------------------------------------------------------------------------------


def d_loss_hinge(d_real: Tensor, d_fake: Tensor) -> Tensor:
    """Discriminator loss mean(relu(1 - d_real)) + mean(relu(1 + d_fake)).

    d_real, d_fake: scores of any shape. Returns a scalar. Samples already beyond the margin
    (d_real >= 1, d_fake <= -1) contribute neither loss nor gradient.
    """
    return F.relu(1 - d_real).mean() + F.relu(1 + d_fake).mean()


def g_loss_hinge(d_fake: Tensor) -> Tensor:
    """Generator loss -mean(d_fake) (not clipped). d_fake: any shape. Returns a scalar."""
    return -d_fake.mean()


# --------------------------------------------------------------------------------------------
# Least squares GAN (Mao et al. 2017), with targets a = 0 (fake), b = c = 1 (real)
# --------------------------------------------------------------------------------------------


def d_loss_ls(d_real: Tensor, d_fake: Tensor) -> Tensor:
    """Discriminator loss 0.5 * mean((d_real - 1)^2) + 0.5 * mean(d_fake^2).

    d_real, d_fake: raw scores of any shape (no sigmoid). Returns a scalar.
    """
    return 0.5 * ((d_real - 1) ** 2).mean() + 0.5 * (d_fake**2).mean()


def g_loss_ls(d_fake: Tensor) -> Tensor:
    """Generator loss 0.5 * mean((d_fake - 1)^2). d_fake: any shape. Returns a scalar."""
    return 0.5 * ((d_fake - 1) ** 2).mean()


# Name -> function tables for configs.
D_LOSSES: dict[str, Callable[[Tensor, Tensor], Tensor]] = {
    "bce": d_loss_bce,
    "wasserstein": d_loss_wasserstein,
    "hinge": d_loss_hinge,
    "ls": d_loss_ls,
}

G_LOSSES: dict[str, Callable[[Tensor], Tensor]] = {
    "minimax": g_loss_minimax,
    "nonsaturating": g_loss_nonsaturating,
    "wasserstein": g_loss_wasserstein,
    "hinge": g_loss_hinge,
    "ls": g_loss_ls,
}


# --------------------------------------------------------------------------------------------
# The equilibrium: G's samples match the data, and D can do no better than a coin
# --------------------------------------------------------------------------------------------

# The logged losses at the equilibrium of each game, where p_g = p_data and D is the same
# everywhere: D(x) = 1/2 in BCE and least squares (logit 0), any score in [-1, 1] in hinge.
# D's BCE is the sum over its real and fake batch: ln 2 + ln 2 = ln 4. Hinge's G loss and both
# Wasserstein losses have no such value (a critic's scores may shift by any constant).
EQUILIBRIUM: dict[str, dict[str, float]] = {
    "nonsaturating": {"loss/D": math.log(4), "loss/G": math.log(2)},  # -log 1/2
    "minimax": {"loss/D": math.log(4), "loss/G": -math.log(2)},  # log(1 - 1/2)
    "ls": {"loss/D": 0.25, "loss/G": 0.125},  # 0.5 (1/2 - 1)^2 + 0.5 (1/2)^2; 0.5 (1/2 - 1)^2
    "hinge": {"loss/D": 2.0},  # relu(1 - s) + relu(1 + s) = 2 for every s in [-1, 1]
}


def d_means(d_real: Tensor, d_fake: Tensor) -> dict[str, Tensor]:
    """D's mean probability that its real and its fake batch are real, as logs `d/real` and
    `d/fake` (both 1/2 at the equilibrium), from BCE logits of any shape already computed."""
    return {
        "d/real": torch.sigmoid(d_real.detach().float()).mean(),
        "d/fake": torch.sigmoid(d_fake.detach().float()).mean(),
    }


# --------------------------------------------------------------------------------------------
# The objective of a game, as data
# --------------------------------------------------------------------------------------------

LOSSES = ("nonsaturating", "minimax", "wasserstein", "hinge", "ls")


@dataclass
class Objective:
    """What D and G minimise and how D is kept in check: a config part, so the lecture's GANs
    are settings of one game rather than copies of it.

    GAN = nonsaturating (or minimax); WGAN = wasserstein, clip 0.01, rmsprop, 5 D steps;
    WGAN-GP = wasserstein, gp_lambda 10, 5 D steps; hinge + spectral norm; least squares;
    R1 (Mescheder et al. 2018) and ProGAN's drift term as extra penalties.
    """

    loss: str = option("nonsaturating", choices=LOSSES)
    d_steps: int = option(1, min=1)  # D (critic) updates per G update, each on fresh real data
    clip: float = option(0.0, min=0.0)  # WGAN weight clipping of D (Arjovsky et al. 2017)
    gp_lambda: float = option(0.0, min=0.0)  # WGAN-GP gradient penalty (Gulrajani et al. 2017)
    r1_gamma: float = option(0.0, min=0.0)  # R1 penalty on real data (Mescheder et al. 2018)
    drift: float = option(0.0, min=0.0)  # ProGAN's weight of mean(D(x_real)^2) (Karras 2018)
    optimizer: str = option("adam", choices=("adam", "rmsprop"))  # rmsprop: the WGAN paper's

    def d_loss(
        self,
        d_real: Tensor,
        d_fake: Tensor,
        x_real: Tensor,
        x_fake: Tensor,
        critic: Callable[[Tensor], Tensor],
    ) -> tuple[Tensor, dict[str, Tensor]]:
        """D's loss on its scores of a real and a fake batch, with the penalties that are on,
        and extra logs. `critic` scores new inputs (for the gradient penalty); for R1, x_real
        must have required grad when d_real was computed."""
        kind = "bce" if self.probabilities else self.loss
        loss = D_LOSSES[kind](d_real, d_fake)
        logs = d_means(d_real, d_fake) if self.probabilities else {}
        if self.loss == "wasserstein":  # the critic's estimate of W(P_r, P_g)
            logs["wdist"] = (d_real.mean() - d_fake.mean()).detach()
        if self.gp_lambda:
            gp = gradient_penalty(critic, x_real, x_fake)
            loss = loss + self.gp_lambda * gp
            logs["loss/gp"] = gp.detach()
        if self.r1_gamma:
            r1 = r1_penalty(d_real, x_real)
            loss = loss + 0.5 * self.r1_gamma * r1
            logs["loss/r1"] = r1.detach()
        if self.drift:
            drift = epsilon_drift(d_real)
            loss = loss + self.drift * drift
            logs["loss/drift"] = drift.detach()
        return loss, logs

    def g_loss(self, d_fake: Tensor) -> Tensor:
        return G_LOSSES[self.loss](d_fake)

    @property
    def probabilities(self) -> bool:
        """D's sigmoid is a probability that x is real (BCE games); a critic's score is not."""
        return self.loss in ("nonsaturating", "minimax")

    def verdict(self, scores: Tensor) -> Tensor:
        """D's raw scores as a reader takes them: probabilities in a BCE game, else as they are."""
        return torch.sigmoid(scores) if self.probabilities else scores

    @property
    def equilibrium(self) -> dict[str, float]:
        """The logged losses' values at the equilibrium (EQUILIBRIUM), where they have one. A
        gradient penalty or drift term, added to loss/D, is not 0 there, so D's value is left
        out with them; R1 is 0 there (D is flat at 1/2 on the data) and leaves it as it is."""
        values = dict(EQUILIBRIUM.get(self.loss, {}))
        if self.gp_lambda or self.drift:
            values.pop("loss/D", None)
        return values

    @torch.no_grad()
    def after_d_step(self, D: nn.Module) -> None:
        """Weight clipping keeps the critic (roughly) K-Lipschitz, as the Kantorovich-Rubinstein
        dual needs."""
        if self.clip:
            for p in D.parameters():
                p.clamp_(-self.clip, self.clip)

    @property
    def differentiates_d_twice(self) -> bool:
        return bool(self.gp_lambda or self.r1_gamma)
