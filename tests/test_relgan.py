"""RelGAN: the relational memory, the RSGAN losses, the Gumbel-softmax temperature schedule, what
each phase's updates move, save/load and the command line on a tiny oracle."""

import json
import math

import pytest
import torch

from gankit import api
from gankit.data.text import load_oracle
from gankit.errors import ConfigError
from gankit.models.relgan import RelationalMemory, rsgan_losses
from gankit.registry import MODELS

from .conftest import TRAIN_TINY, model_case
from .conftest import cli as run_cli
from .test_text import moved, tiny_oracle, tiny_seqgan


def tiny_relgan(extra=()):
    return tiny_seqgan(extra, model="relgan")


def test_relational_memory_shape_and_its_gates_keep_it_bounded():
    torch.manual_seed(0)
    core = RelationalMemory(in_dim=5, slots=3, heads=2, head_size=4)
    memory = core.initial(7)
    assert memory.shape == (7, 3, 8)
    assert torch.equal(memory[0], torch.eye(3, 8))  # slots start distinct
    for _ in range(300):  # large inputs for many steps: sigmoid gates times tanh and memory
        new = core(torch.randn(7, 5) * 100, memory)
        assert new.shape == (7, 3, 8)
        # |new| <= sigmoid(i) * 1 + sigmoid(f) * |old| < 1 + |old|, and it does not drift up
        assert (new.abs() < 1 + memory.abs()).all()
        memory = new
    assert memory.isfinite().all() and memory.abs().max() < 10


def test_rsgan_losses_equal_hand_computed_values():
    real = torch.tensor([[3.0, 0.0]])
    fake = torch.tensor([[1.0, 1.0]])  # real - fake: 2 and -1
    d_loss, g_loss = rsgan_losses(real, fake)
    sp = lambda v: math.log1p(math.exp(v))  # noqa: E731  softplus: -log sigmoid(-v)
    assert d_loss.item() == pytest.approx((sp(-2) + sp(1)) / 2, rel=1e-6)
    assert g_loss.item() == pytest.approx((sp(2) + sp(-1)) / 2, rel=1e-6)


def test_gumbel_temperature_follows_the_exponential_schedule():
    model, _, _ = tiny_relgan(["model.mle_steps=10", "model.adv_steps=100", "model.beta_max=1000"])
    assert model.beta_at(0) == 1.0 and model.beta_at(10) == 1.0  # MLE, then the first adv step
    assert model.beta_at(60) == pytest.approx(1000**0.5)  # halfway: sqrt(beta_max)
    assert model.beta_at(85) == pytest.approx(1000**0.75)
    assert model.beta_at(110) == pytest.approx(1000) and model.beta_at(5000) == pytest.approx(1000)


def test_each_phase_moves_the_right_nets():
    model, data, _ = tiny_relgan(["model.mle_steps=1"])
    G, D = model.nets["G"], model.nets["D"]
    g0, d0 = [p.clone() for p in G.parameters()], [p.clone() for p in D.parameters()]
    logs = model.train_step(data.batch(32), 0)  # MLE: G only
    assert logs["phase"].item() == 0 and logs["loss/mle"].item() > 0
    assert moved(g0, G) and not moved(d0, D)
    g0 = [p.clone() for p in G.parameters()]
    model.g_step(data.batch(8), beta=2.0)  # the adversarial G update: G only, through D
    assert moved(g0, G) and not moved(d0, D)
    g0 = [p.clone() for p in G.parameters()]
    model.d_step(data.batch(8), beta=2.0)  # the D update: D only
    assert moved(d0, D) and not moved(g0, G)
    logs = model.train_step(data.batch(32), 1)
    assert logs["phase"].item() == 1 and logs["beta"].item() == 1.0


def test_gumbel_fakes_are_distributions_and_padding_after_eos():
    model, _, _ = tiny_relgan()
    torch.manual_seed(0)
    soft = model.fakes(64, beta=3.0)
    assert soft.shape == (64, 12, model.vocab_size)
    torch.testing.assert_close(soft.sum(-1), torch.ones(64, 12))
    tokens = soft.argmax(-1)  # the argmax of beta * (o + g) is the drawn token
    after = ~model.real_tokens(tokens)
    assert after.any()  # the tiny G writes <eos> early, and padding follows it
    assert (tokens[after] == model.pad_id).all() and (soft.amax(-1)[after] == 1).all()


def test_save_load_gives_identical_samples(tmp_path):
    sets = [*model_case("relgan")[1], "train.steps=3"]
    trainer = api.train(None, "relgan", "text", sets, tmp_path / "run")
    here = trainer.model.sample(10, seed=3)
    assert torch.equal(here, api.sample(tmp_path / "run", 10, seed=3))


def test_cli_trains_the_oracle_preset_end_to_end(tmp_path, capsys):
    """`gankit train oracle-relgan` at tiny sizes: 2 MLE steps, 2 adversarial, NLL_oracle."""
    path, _ = tiny_oracle(tmp_path, V=6, E=3, H=4)
    out = tmp_path / "run"
    sets = [*MODELS.entry("relgan").spec.tiny, *TRAIN_TINY, f"data.path={path}",
            "data.n_train=40", "data.seq_len=8", "model.mle_steps=2", "train.steps=4",
            "train.log_every=1"]  # fmt: skip
    args = [a for s in sets for a in ("--set", s)]
    code, _, err = run_cli(capsys, "train", "oracle-relgan", "--out", out, *args)
    assert code == 0, err
    lines = [json.loads(x) for x in (out / "metrics.jsonl").read_text().splitlines()]
    phases = [r["phase"] for r in lines if "phase" in r]
    assert phases == [0, 0, 1, 1]
    nll = [r["eval/nll_oracle"] for r in lines if "eval/nll_oracle" in r]
    assert nll and 0 < nll[-1] < 10
    x = api.sample(out, 50, seed=0)
    assert x.shape == (50, 8) and int(x.max()) < 6
    assert math.isfinite(load_oracle(path).nll(x))


def test_filter_wider_than_the_text_is_a_clear_error():
    with pytest.raises(ConfigError, match="do not fit sequences of 12 tokens"):
        tiny_relgan(["model.d_widths=[2,30]"])
