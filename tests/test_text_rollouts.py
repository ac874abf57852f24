"""SeqGAN's Monte Carlo rewards: the strided, early-stopping rollouts against the plain loop of
every prefix, the auto stride, and the options of the adversarial phase."""

import pytest
import torch

from gankit.config import resolve_config
from gankit.data import build_data
from gankit.models import build_model

from .conftest import TEXT_TINY


def build(data: str, extra=()):
    sets = list(TEXT_TINY) if data == "text" else [
        "data.n_train=40", "data.seq_len=8", *TEXT_TINY[3:],
    ]  # fmt: skip
    cfg = resolve_config(model="seqgan", data=data, overrides=[*sets, *extra])
    torch.manual_seed(0)
    source = build_data(cfg.data, seed=0)
    return build_model(cfg.model, source.shape, data_info=source.info())


@torch.no_grad()
def loop_rewards(model, x):
    """The rewards as first written: every prefix rolled out to the full length, no shortcut."""
    D, G, R = model.nets["D"], model.nets["G_rollout"], model.cfg.rollouts
    N, T = x.shape
    D.eval()
    h, c = G.states(x)
    q = torch.empty(N, T)
    for t in range(1, T):
        tail = G.generate(h[t].repeat(R, 1), c[t].repeat(R, 1), T - t)
        full = model.pad_after_eos(torch.cat([x[:, :t].repeat(R, 1), tail], 1))
        q[:, t - 1] = torch.sigmoid(D(full)).view(R, N).mean(0)
    q[:, T - 1] = torch.sigmoid(D(x))
    return q


def test_fixed_length_rewards_equal_the_loop_bit_for_bit():
    model = build("oracle", ["model.rollouts=3"])  # no <eos>: the oracle benchmark's case
    assert model.rollout_stride == 1
    x = model.fakes(6)
    torch.manual_seed(5)
    want = loop_rewards(model, x)
    torch.manual_seed(5)
    assert torch.equal(model.rewards(x), want)


def test_text_rewards_equal_the_loop_where_rows_have_ended():
    model = build("text", ["model.rollouts=3"])
    x = model.fakes(40)
    ended = ~model.real_tokens(x)
    assert ended.any() and not ended[:, 1].all()  # some rows end early, not all at once
    torch.manual_seed(5)
    want = loop_rewards(model, x)
    torch.manual_seed(5)
    # a prefix holding <eos> is the whole text: the mean of R equal scores, D(x) up to rounding
    torch.testing.assert_close(model.rewards(x), want, rtol=0, atol=1e-6)


def test_generate_stopping_at_eos_gives_the_same_text():
    model = build("text")
    G, eos = model.nets["G"], model.eos_id
    h, c = torch.zeros(50, 8), torch.zeros(50, 8)
    torch.manual_seed(1)
    u = torch.rand(50, 12)
    full = model.pad_after_eos(G.generate(h, c, 12, u))
    early = model.pad_after_eos(G.generate(h, c, 12, u, stop=eos))
    assert torch.equal(early, full)


def test_strided_rewards_are_shared_within_each_stride():
    model = build("oracle", ["model.rollouts=2", "model.rollout_stride=3"])
    x = model.fakes(5)
    q = model.rewards(x)
    # prefixes of 3 and 6 tokens rolled out: tokens 0-2 share one Q, 3-5 another, 6-7 are the
    # full sequence's
    for block in (q[:, 0:3], q[:, 3:6], q[:, 6:8]):
        assert torch.equal(block, block[:, :1].expand_as(block))
    model.nets["D"].eval()
    torch.testing.assert_close(q[:, 7], torch.sigmoid(model.nets["D"](x)))


@pytest.mark.parametrize(("max_len", "stride"), [(12, 1), (32, 1), (33, 3), (64, 4), (128, 8)])
def test_auto_stride_keeps_short_text_at_every_prefix(max_len, stride):
    model = build("text", [f"data.max_len={max_len}"])
    assert model.rollout_stride == stride


def test_reward_baseline_centres_each_position_over_real_tokens():
    model = build("text", ["model.reward_baseline=true"])
    q = torch.tensor([[0.2, 0.4, 0.9], [0.6, 0.8, 0.1]])
    x = torch.tensor([[5, 6, 7], [5, model.eos_id, model.pad_id]])
    means = model.position_means(q, x)
    # the last column: only row 0 is text there (row 1 is padding after its <eos>)
    torch.testing.assert_close(means, torch.tensor([0.4, 0.6, 0.9]))


def test_adversarial_lr_is_its_own():
    model = build("text", ["model.lr_g=0.01", "model.lr_adv=0.002"])
    assert model.configure_optimizers()["G"].param_groups[0]["lr"] == 0.01
    assert model.configure_optimizers()["G_adv"].param_groups[0]["lr"] == 0.002
    model = build("text", ["model.lr_g=0.01"])
    assert model.configure_optimizers()["G_adv"].param_groups[0]["lr"] == 0.01
