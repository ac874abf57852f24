"""Tests for gankit.losses: every loss against values worked out by hand from explicit numbers."""

import math

import pytest
import torch

from gankit import losses as L


def sig(x: float) -> float:
    return 1.0 / (1.0 + math.exp(-x))


def t(*values: float) -> torch.Tensor:
    return torch.tensor(values, dtype=torch.float64)


def close(actual: torch.Tensor, expected: float, tol: float = 1e-10) -> None:
    assert actual.shape == ()
    assert actual.item() == pytest.approx(expected, abs=tol, rel=tol)


# --------------------------------------------------------------------------------------------
# BCE / original GAN
# --------------------------------------------------------------------------------------------


def test_bce_hand_values():
    # logits [0, 2]: p = [1/2, 1/(1+e^-2)]
    p0, p1 = 0.5, 1.0 / (1.0 + math.exp(-2.0))
    # target 1: -log p averaged
    close(L.binary_cross_entropy(t(0.0, 2.0), 1.0), -(math.log(p0) + math.log(p1)) / 2)
    # target 0: -log(1 - p) averaged
    close(L.binary_cross_entropy(t(0.0, 2.0), 0.0), -(math.log(1 - p0) + math.log(1 - p1)) / 2)
    # log 2 for logit 0 with either target
    close(L.binary_cross_entropy(t(0.0), 1.0), math.log(2.0))


def test_bce_matches_lecture_formula_on_probabilities():
    logits = [-3.0, -0.5, 0.0, 1.25, 4.0]
    ys = [0.0, 1.0, 0.3, 0.9, 1.0]  # soft targets too, given as a tensor
    expected = 0.0
    for x, y in zip(logits, ys, strict=True):
        p = sig(x)
        expected += -(y * math.log(p) + (1 - y) * math.log(1 - p))
    expected /= len(logits)
    close(L.binary_cross_entropy(t(*logits), t(*ys)), expected)


def test_bce_float_target_broadcasts_over_shape():
    logits = torch.tensor([[0.0], [2.0]], dtype=torch.float64)  # [N, 1]
    p1 = sig(2.0)
    close(L.binary_cross_entropy(logits, 1.0), (math.log(2.0) - math.log(p1)) / 2)


def test_d_loss_bce_hand_values():
    # d_real logits [0, 2], d_fake logits [-1, 3]
    d_real, d_fake = t(0.0, 2.0), t(-1.0, 3.0)
    real_term = -(math.log(0.5) + math.log(sig(2.0))) / 2
    fake_term = -(math.log(1 - sig(-1.0)) + math.log(1 - sig(3.0))) / 2
    close(L.d_loss_bce(d_real, d_fake), real_term + fake_term)
    # a discriminator at chance (all logits 0) has loss 2 log 2
    close(L.d_loss_bce(t(0.0, 0.0), t(0.0)), 2 * math.log(2.0))


def test_g_loss_minimax_hand_values():
    # E[log(1 - D(G(z)))] with D = sigmoid
    expected = (math.log(1 - sig(-1.0)) + math.log(1 - sig(2.0))) / 2
    close(L.g_loss_minimax(t(-1.0, 2.0)), expected)


def test_g_loss_nonsaturating_hand_values():
    expected = -(math.log(sig(-1.0)) + math.log(sig(2.0))) / 2
    close(L.g_loss_nonsaturating(t(-1.0, 2.0)), expected)


def test_minimax_saturates_nonsaturating_does_not():
    # D confidently rejects the fake (D(G(z)) = sigmoid(-10) ~ 4.5e-5): the lecture's
    # saturation point. d/dx log(1 - sigmoid(x)) = -sigmoid(x) ~ 0, whereas
    # d/dx -log(sigmoid(x)) = -(1 - sigmoid(x)) ~ -1.
    x = -10.0
    d_fake = t(x).requires_grad_(True)
    (g_mm,) = torch.autograd.grad(L.g_loss_minimax(d_fake), d_fake)
    d_fake = t(x).requires_grad_(True)
    (g_ns,) = torch.autograd.grad(L.g_loss_nonsaturating(d_fake), d_fake)
    assert g_mm.item() == pytest.approx(-sig(x), rel=1e-9)
    assert g_ns.item() == pytest.approx(-(1 - sig(x)), rel=1e-9)
    assert abs(g_mm.item()) < 1e-4
    assert g_ns.item() < -0.9999
    # Same direction (both push d_fake up) but wildly different magnitude.
    assert abs(g_ns.item()) / abs(g_mm.item()) > 1e4


def test_minimax_and_nonsaturating_relationship():
    # At D(G(z)) = 1/2 both gradients are -1/2; the losses differ (-log 2 vs +log 2).
    d_fake = t(0.0).requires_grad_(True)
    mm = L.g_loss_minimax(d_fake)
    close(mm, -math.log(2.0))
    (g_mm,) = torch.autograd.grad(mm, d_fake)
    d_fake = t(0.0).requires_grad_(True)
    ns = L.g_loss_nonsaturating(d_fake)
    close(ns, math.log(2.0))
    (g_ns,) = torch.autograd.grad(ns, d_fake)
    assert g_mm.item() == pytest.approx(-0.5) and g_ns.item() == pytest.approx(-0.5)


@pytest.mark.parametrize("dtype", [torch.float32, torch.float64])
def test_numerical_stability_extreme_logits(dtype):
    big = torch.tensor([100.0, -100.0], dtype=dtype)
    fns = [
        lambda x: L.binary_cross_entropy(x, 1.0),
        lambda x: L.binary_cross_entropy(x, 0.0),
        lambda x: L.d_loss_bce(x, x),
        L.g_loss_minimax,
        L.g_loss_nonsaturating,
    ]
    for fn in fns:
        x = big.clone().requires_grad_(True)
        loss = fn(x)
        (grad,) = torch.autograd.grad(loss, x)
        assert torch.isfinite(loss).all()
        assert torch.isfinite(grad).all()
    # Values: -log sigmoid(100) ~ 0 and -log sigmoid(-100) ~ 100 (not inf).
    close(L.binary_cross_entropy(big, 1.0), (0.0 + 100.0) / 2, tol=1e-5)
    close(L.g_loss_nonsaturating(big), (0.0 + 100.0) / 2, tol=1e-5)
    close(L.g_loss_minimax(big), -(100.0 + 0.0) / 2, tol=1e-5)


# --------------------------------------------------------------------------------------------
# Wasserstein
# --------------------------------------------------------------------------------------------


def test_wasserstein_hand_values():
    d_real, d_fake = t(1.0, 3.0), t(-2.0, 0.0, 5.0)  # means 2 and 1
    close(L.d_loss_wasserstein(d_real, d_fake), 1.0 - 2.0)
    close(L.g_loss_wasserstein(d_fake), -1.0)
    # [N, 1] shapes reduce over all elements
    close(L.d_loss_wasserstein(d_real[:, None], d_fake[:, None]), -1.0)


# --------------------------------------------------------------------------------------------
# Gradient penalty
# --------------------------------------------------------------------------------------------


def linear_critic(w: torch.Tensor):
    # D(x) = flatten(x) @ w, whose input gradient is w everywhere.
    return lambda x: x.reshape(x.shape[0], -1) @ w


def test_gradient_penalty_linear_critic_exact():
    w = t(3.0, 4.0)  # ||w|| = 5 -> penalty (5 - 1)^2 = 16 for any interpolation
    torch.manual_seed(0)
    x_real, x_fake = torch.randn(7, 2, dtype=torch.float64), torch.randn(7, 2, dtype=torch.float64)
    close(L.gradient_penalty(linear_critic(w), x_real, x_fake), 16.0)
    # Also when real and fake coincide, and for a [N, 1]-shaped critic output.
    close(L.gradient_penalty(lambda x: (x @ w)[:, None], x_real, x_real), 16.0)


def test_gradient_penalty_zero_for_unit_norm():
    w = t(0.6, 0.8)  # ||w|| = 1
    x_real, x_fake = t(1.0, 2.0, 3.0, 4.0).reshape(2, 2), t(-1.0, 0.5, 2.0, 0.0).reshape(2, 2)
    close(L.gradient_penalty(linear_critic(w), x_real, x_fake), 0.0)


def test_gradient_penalty_image_shaped_input():
    n, c, h, w_ = 3, 2, 4, 4
    # w has entries 0.5 everywhere: ||w|| = 0.5 * sqrt(32)
    w = torch.full((c * h * w_,), 0.5, dtype=torch.float64)
    x_real = torch.ones(n, c, h, w_, dtype=torch.float64)
    x_fake = torch.zeros(n, c, h, w_, dtype=torch.float64)
    close(L.gradient_penalty(linear_critic(w), x_real, x_fake), (0.5 * math.sqrt(32) - 1) ** 2)


def test_gradient_penalty_per_sample_norm_and_eps_per_sample():
    # Critic sum_j x_j^2 / 2 has gradient x; with x_real = 2 * 1 and x_fake = 0 the interpolate is
    # 2 * eps_i * 1 over 4 dims, so ||grad|| = 4 * eps_i. Recover eps from the same seed.
    n = 5
    x_real = torch.full((n, 1, 2, 2), 2.0, dtype=torch.float64)
    x_fake = torch.zeros(n, 1, 2, 2, dtype=torch.float64)
    gen = torch.Generator().manual_seed(123)
    gp = L.gradient_penalty(lambda x: 0.5 * (x**2).flatten(1).sum(1), x_real, x_fake, gen)
    eps = torch.rand(
        (n, 1, 1, 1), generator=torch.Generator().manual_seed(123), dtype=torch.float64
    )
    expected = sum((4.0 * e - 1.0) ** 2 for e in eps.flatten().tolist()) / n
    close(gp, expected)


def test_gradient_penalty_differentiable_wrt_critic_params():
    w = t(3.0, 4.0, 12.0).requires_grad_(True)  # ||w|| = 13
    x_real, x_fake = torch.randn(4, 3, dtype=torch.float64), torch.randn(4, 3, dtype=torch.float64)
    gp = L.gradient_penalty(linear_critic(w), x_real, x_fake)
    close(gp, 144.0)
    (grad_w,) = torch.autograd.grad(gp, w)
    # d/dw (||w|| - 1)^2 = 2 (||w|| - 1) w / ||w|| = 2 * 12 * w / 13
    expected = [2 * 12 * v / 13 for v in (3.0, 4.0, 12.0)]
    assert grad_w.tolist() == pytest.approx(expected, rel=1e-10)


def test_gradient_penalty_does_not_backprop_into_fake():
    # x_fake comes from G: the penalty must train D only, so nothing flows back into x_fake.
    x_fake = torch.randn(4, 3, dtype=torch.float64, requires_grad=True)
    w = t(1.0, 2.0, 2.0).requires_grad_(True)

    def critic(x):
        return (x**3).sum(1) + x @ w  # nonlinear, so the penalty depends on x_hat

    gp = L.gradient_penalty(critic, torch.zeros(4, 3, dtype=torch.float64), x_fake)
    gp.backward()
    assert x_fake.grad is None
    assert w.grad is not None and torch.isfinite(w.grad).all()


def test_gradient_penalty_reproducible_with_generator():
    # A nonlinear critic so that the penalty depends on where x_hat lands, i.e. on eps.
    def critic(x):
        return (x**3).flatten(1).sum(1)

    x_real = torch.randn(6, 2, 3, 3, dtype=torch.float64)
    x_fake = torch.randn(6, 2, 3, 3, dtype=torch.float64)
    a = L.gradient_penalty(critic, x_real, x_fake, torch.Generator().manual_seed(7))
    b = L.gradient_penalty(critic, x_real, x_fake, torch.Generator().manual_seed(7))
    c = L.gradient_penalty(critic, x_real, x_fake, torch.Generator().manual_seed(8))
    assert a.item() == b.item()
    assert a.item() != c.item()


# --------------------------------------------------------------------------------------------
# Hinge
# --------------------------------------------------------------------------------------------


def test_d_loss_hinge_hand_values_with_clipping():
    # d_real [2, 0.5, -1]: 1 - x = [-1 (clipped to 0), 0.5, 2] -> mean 2.5 / 3
    # d_fake [-3, 0]:      1 + x = [-2 (clipped to 0), 1]      -> mean 0.5
    close(L.d_loss_hinge(t(2.0, 0.5, -1.0), t(-3.0, 0.0)), 2.5 / 3 + 0.5)
    # all samples beyond the margin: zero loss and zero gradient
    d_real = t(1.0, 5.0).requires_grad_(True)
    d_fake = t(-1.0, -4.0).requires_grad_(True)
    loss = L.d_loss_hinge(d_real, d_fake)
    close(loss, 0.0)
    loss.backward()
    assert d_real.grad.tolist() == [0.0, 0.0] and d_fake.grad.tolist() == [0.0, 0.0]


def test_d_loss_hinge_gradient_inside_margin():
    d_real = t(0.0, 2.0).requires_grad_(True)
    d_fake = t(0.0, -2.0).requires_grad_(True)
    L.d_loss_hinge(d_real, d_fake).backward()
    assert d_real.grad.tolist() == [-0.5, 0.0]
    assert d_fake.grad.tolist() == [0.5, 0.0]


def test_g_loss_hinge_hand_values():
    close(L.g_loss_hinge(t(-3.0, 1.0, 5.0)), -1.0)  # not clipped
    close(L.g_loss_hinge(t(-3.0, 1.0, 5.0)[:, None]), -1.0)


# --------------------------------------------------------------------------------------------
# Least squares
# --------------------------------------------------------------------------------------------


def test_ls_hand_values():
    # d_real [1, 3, -1]: (x - 1)^2 = [0, 4, 4] -> mean 8/3;  d_fake [0, 2]: x^2 -> mean 2
    close(L.d_loss_ls(t(1.0, 3.0, -1.0), t(0.0, 2.0)), 0.5 * 8 / 3 + 0.5 * 2)
    # perfect discriminator: zero
    close(L.d_loss_ls(t(1.0, 1.0), t(0.0)), 0.0)
    # d_fake [0, 2, 1]: (x - 1)^2 = [1, 1, 0] -> 0.5 * 2/3
    close(L.g_loss_ls(t(0.0, 2.0, 1.0)), 0.5 * 2 / 3)
    close(L.g_loss_ls(t(0.0, 2.0, 1.0)[:, None]), 0.5 * 2 / 3)


# --------------------------------------------------------------------------------------------
# Registries and float32 default
# --------------------------------------------------------------------------------------------


def test_registries():
    assert L.D_LOSSES == {
        "bce": L.d_loss_bce,
        "wasserstein": L.d_loss_wasserstein,
        "hinge": L.d_loss_hinge,
        "ls": L.d_loss_ls,
    }
    assert L.G_LOSSES == {
        "minimax": L.g_loss_minimax,
        "nonsaturating": L.g_loss_nonsaturating,
        "wasserstein": L.g_loss_wasserstein,
        "hinge": L.g_loss_hinge,
        "ls": L.g_loss_ls,
    }


@pytest.mark.parametrize("name", ["bce", "wasserstein", "hinge", "ls"])
def test_d_losses_scalar_float32(name):
    d_real = torch.tensor([[0.5], [1.5]])
    d_fake = torch.tensor([[-0.5], [0.25], [2.0]])
    loss = L.D_LOSSES[name](d_real, d_fake)
    assert loss.shape == () and loss.dtype == torch.float32 and torch.isfinite(loss)


def test_r1_penalty_of_a_quadratic_critic_by_hand():
    # D(x) = sum(x^2) has gradient 2x: per sample ||2x||^2 = 4 * (1 + 4) = 20 and 4 * 9 = 36
    x = torch.tensor([[1.0, 2.0], [3.0, 0.0]], requires_grad=True)
    d_real = (x**2).sum(1)
    penalty = L.r1_penalty(d_real, x)
    assert penalty.item() == pytest.approx((20.0 + 36.0) / 2)
    # differentiable: d/dx of mean ||2x||^2 = 4x
    (g,) = torch.autograd.grad(penalty, x)
    torch.testing.assert_close(g, 4.0 * x.detach())
