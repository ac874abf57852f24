"""The adversarial game's options, model by model (the contract every model keeps is checked in
tests/test_contract.py)."""

import copy
import math

import pytest
import torch

from gankit.data import split_batch
from gankit.registry import MODELS

from .conftest import tiny_model

make = tiny_model


# unconditional MLP models (conditional ones need labelled data: see model_case)
VECTOR_MODELS = [e.name for e in MODELS.entries() if e.spec.data_kind == "points"]


@pytest.mark.parametrize("name", VECTOR_MODELS)
def test_any_vector_shape(name):
    """Flattened images work as well as 2-D points."""
    model, _, _ = make(name)
    model = type(model)(model.cfg, (1, 4, 4))
    model.optimizers = model.configure_optimizers()
    logs = model.train_step(torch.randn(32 * model.batches_per_step, 1, 4, 4), step=0)
    assert math.isfinite(logs["loss/G"].item())
    assert model.sample(5).shape == (5, 1, 4, 4)


def test_wgan_clips_the_critic():
    model, data, _ = make("wgan", extra=["model.clip=0.003"])
    model.train_step(data.batch(32 * 5), step=0)
    assert max(p.abs().max().item() for p in model.nets["D"].parameters()) <= 0.003 + 1e-9


def test_wgan_gp_logs_its_penalty_and_estimate():
    model, data, _ = make("wgan-gp")
    logs = model.train_step(data.batch(32 * 5), step=0)
    assert logs["loss/gp"].item() >= 0 and "wdist" in logs


def test_minimax_and_nonsaturating_give_different_generator_updates():
    results = []
    for g_loss in ("minimax", "nonsaturating"):
        model, data, _ = make("gan", extra=[f"model.loss={g_loss}"])
        torch.manual_seed(1)
        model.train_step(data.batch(32), step=0)
        results.append(torch.cat([p.flatten() for p in model.nets["G"].parameters()]))
    assert not torch.allclose(results[0], results[1])


def test_ema_tracks_the_generator():
    model, data, _ = make("gan")
    model.enable_ema(0.5)
    model.optimizers = model.configure_optimizers()
    g0 = [p.clone() for p in model.nets["G_ema"].parameters()]
    model.train_step(data.batch(32), step=0)
    model.update_ema()
    for p0, pe, pg in zip(
        g0, model.nets["G_ema"].parameters(), model.nets["G"].parameters(), strict=True
    ):
        torch.testing.assert_close(pe, 0.5 * p0 + 0.5 * pg)


def test_ema_warms_up_over_the_first_steps():
    model, data, _ = make("gan")
    model.enable_ema(0.999)
    model.optimizers = model.configure_optimizers()
    g0 = [p.clone() for p in model.nets["G_ema"].parameters()]
    model.train_step(data.batch(32), step=0)
    model.update_ema(step=0)  # decay min(0.999, 1/10) = 0.1: mostly the trained G already
    for p0, pe, pg in zip(
        g0, model.nets["G_ema"].parameters(), model.nets["G"].parameters(), strict=True
    ):
        torch.testing.assert_close(pe, 0.1 * p0 + 0.9 * pg)


# ---------------------------------------------------------------- Unrolled GAN


def _tiny_unrolled(first_order=False, k=3):
    model, _, _ = make(
        "unrolled",
        extra=[f"model.unroll_steps={k}", f"model.first_order={first_order}", "model.lr_d=0.05"],
    )
    model = model.double()
    model.optimizers = model.configure_optimizers()
    # give D's Adam a non-trivial state, as in the middle of training
    x = torch.randn(8, 2, dtype=torch.float64)
    for _ in range(2):
        loss = model.nets["D"](x).pow(2).mean()
        model.optimizers["D"].zero_grad()
        loss.backward()
        model.optimizers["D"].step()
    return model


def test_unrolled_gradient_matches_finite_differences():
    """d/dθ_G of f(θ_G, θ_D^k(θ_G)), differentiated through k Adam steps, against central
    differences of the same function computed from scratch."""
    model = _tiny_unrolled()
    g = torch.Generator().manual_seed(3)
    x_real = torch.randn(8, 2, generator=g, dtype=torch.float64)
    z = torch.randn(8, model.z_dim, generator=g, dtype=torch.float64)
    params = list(model.nets["G"].parameters())
    grads = torch.autograd.grad(model.unrolled_generator_loss(x_real, z), params)

    h = 1e-6
    checked = 0
    for p, grad in zip(params, grads, strict=True):
        flat, gflat = p.data.view(-1), grad.view(-1)
        for i in range(0, flat.numel(), max(1, flat.numel() // 4)):
            old = flat[i].item()
            flat[i] = old + h
            up = model.unrolled_generator_loss(x_real, z).item()
            flat[i] = old - h
            down = model.unrolled_generator_loss(x_real, z).item()
            flat[i] = old
            assert gflat[i].item() == pytest.approx((up - down) / (2 * h), rel=1e-4, abs=1e-8)
            checked += 1
    assert checked >= 8


def test_first_order_shortcut_drops_the_second_order_term():
    full = _tiny_unrolled(first_order=False)
    short = copy.deepcopy(full)
    short.cfg.first_order = True
    x_real, z = torch.randn(8, 2, dtype=torch.float64), torch.randn(8, 4, dtype=torch.float64)
    g_full = torch.autograd.grad(
        full.unrolled_generator_loss(x_real, z), full.nets["G"].parameters()
    )
    g_short = torch.autograd.grad(
        short.unrolled_generator_loss(x_real, z), short.nets["G"].parameters()
    )
    assert not all(torch.allclose(a, b) for a, b in zip(g_full, g_short, strict=True))


def test_zero_unroll_steps_is_the_plain_nonsaturating_gan():
    model = _tiny_unrolled(k=0)
    x_real, z = torch.randn(8, 2, dtype=torch.float64), torch.randn(8, 4, dtype=torch.float64)
    d_fake = model.nets["D"](model.nets["G"](z))
    expected = torch.nn.functional.softplus(-d_fake).mean()
    torch.testing.assert_close(model.unrolled_generator_loss(x_real, z), expected)


def test_unrolling_leaves_d_and_its_optimizer_untouched():
    model = _tiny_unrolled()
    model.optimizers["D"].zero_grad(set_to_none=True)
    before = copy.deepcopy(model.nets["D"].state_dict())
    opt_before = copy.deepcopy(model.optimizers["D"].state_dict())
    model.unrolled_generator_loss(torch.randn(8, 2).double(), torch.randn(8, 4).double()).backward()
    for k, v in model.nets["D"].state_dict().items():
        assert torch.equal(v, before[k])
    assert all(p.grad is None for p in model.nets["D"].parameters())
    after = model.optimizers["D"].state_dict()["state"]
    for k, st in opt_before["state"].items():
        assert torch.equal(st["exp_avg"], after[k]["exp_avg"])


def test_r1_penalty_option():
    model, data, _ = make("gan", extra=["model.r1_gamma=10"])
    logs = model.train_step(data.batch(32), step=0)
    assert logs["loss/r1"].item() > 0


def test_linear_lr_decay_over_the_second_half():
    model, _, _ = make("gan", extra=["model.lr_decay_start=0.5", "model.lr_g=0.1"])
    scheds = model.configure_schedulers(total_steps=10)
    lrs = []
    for _ in range(10):
        for opt in model.optimizers.values():
            opt.step()
        for s in scheds.values():
            s.step()
        lrs.append(model.optimizers["G"].param_groups[0]["lr"])
    assert lrs[:5] == [0.1] * 5
    assert lrs[5:] == pytest.approx([0.08, 0.06, 0.04, 0.02, 0.0])
    assert make("gan")[0].configure_schedulers(total_steps=10) == {}


def test_packed_discriminator_judges_groups(tmp_path):
    from gankit import api
    from gankit.errors import ConfigError

    model, data, _ = make("gan", extra=["model.pack=4"])
    assert model.nets["D"](torch.randn(32, 2)).shape == (8,)
    logs = model.train_step(data.batch(32), step=0)
    assert math.isfinite(logs["loss/G"].item())
    with pytest.raises(ConfigError, match="multiple of model.pack"):
        api.prepare(
            model="gan", overrides=["model.pack=3", "train.batch_size=32"], out=tmp_path / "r"
        )
    assert not (tmp_path / "r").exists()  # refused before the run folder is made


@pytest.mark.parametrize("name, one_pass", [("gan", True), ("wgan-gp", True), ("dcgan", False)])
def test_one_d_pass_over_real_and_fake_only_without_batch_norm(name, one_pass):
    model, data, _ = make(name, extra=["data.img_size=16"] if name == "dcgan" else [])
    x_real = data.batch(16)
    x_real = x_real[0] if isinstance(x_real, tuple) else x_real
    x_fake = model.sample(16)
    calls = []
    handle = model.nets["D"].register_forward_hook(lambda m, i, o: calls.append(len(i[0])))
    d_real, d_fake = model.discriminate_pair(x_real, x_fake)
    handle.remove()
    assert calls == ([32] if one_pass else [16, 16])
    torch.testing.assert_close(d_real, model.discriminate(x_real), rtol=1e-5, atol=1e-6)
    torch.testing.assert_close(d_fake, model.discriminate(x_fake), rtol=1e-5, atol=1e-6)


def test_unrolled_steps_keep_real_and_fake_apart_under_batch_norm():
    """The look-ahead D must be the D that trains: with batch norm, real and fake batches are
    normalised separately (a joint pass would mix their statistics)."""
    model, data, _ = make("unrolled-dcgan", extra=["data.img_size=16", "model.unroll_steps=2"])
    assert model.d_mixes_samples
    sizes = []
    handle = model.nets["D"].register_forward_pre_hook(lambda m, i: sizes.append(len(i[0])))
    model.unrolled_d_params(split_batch(data.batch(8))[0], model.sample(8))
    handle.remove()
    assert sizes == [8, 8, 8, 8]
