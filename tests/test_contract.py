"""The model contract, checked for every registered model from its declared tiny settings.

A new model passes here without a test of its own: a train step changes every trainable net and
logs finite detached scalars; stop and resume equals an uninterrupted run bit for bit; save ->
load and export -> load give identical samples; its declaration is consistent. (Two processes
under torchrun: tests/test_distributed.py, over the same registry.)
"""

from __future__ import annotations

import math
import shutil

import pytest
import torch

from gankit import api
from gankit.config import resolve_config
from gankit.models import ModelSpec
from gankit.registry import DATASETS, MODELS
from gankit.training.checkpoint import list_checkpoints, load_checkpoint

from .conftest import model_case, tiny_model

NAMES = MODELS.names()
STEPS, HALF = 4, 2


@pytest.mark.parametrize("name", NAMES)
def test_declaration_is_complete(name):
    entry = MODELS.entry(name)
    assert isinstance(entry.spec, ModelSpec), f"{name} declares no ModelSpec"
    assert entry.spec.default_data in DATASETS.names()
    assert entry.help, f"{name} has no one-line help"
    # with no data named, the model trains on the data it declares
    assert resolve_config(model=name).data.name == entry.spec.default_data


@pytest.mark.parametrize("name", NAMES)
def test_train_step_changes_every_trainable_net_with_finite_detached_logs(name):
    model, data, _ = tiny_model(name)
    before = {k: v.clone() for k, v in model.nets.state_dict().items()}
    logs = model.train_step(data.batch(32 * model.batches_per_step), step=0)
    nets = [k for k, net in model.nets.items() if any(p.requires_grad for p in net.parameters())]
    assert nets and "loss/G" in logs
    assert "loss/D" in logs or not any(k.startswith("D") for k in nets)
    for key, value in logs.items():
        assert value.dim() == 0 and not value.requires_grad, key
        assert math.isfinite(value.item()), key
    after = model.nets.state_dict()
    for net in nets:
        changed = [
            k for k in before if k.startswith(net + ".") and not torch.equal(before[k], after[k])
        ]
        assert changed, f"{name}: no parameter of {net} changed"


@pytest.fixture(scope="module", params=NAMES)
def runs(request, tmp_path_factory):
    """(name, trainer of an uninterrupted run of 4 steps, the same run killed after step 2 and
    resumed). Training is deterministic, so a copy of the run without its last checkpoint is
    the run killed after step 2."""
    name = request.param
    root = tmp_path_factory.mktemp(name)
    data, tiny = model_case(name)
    opts = [*tiny, f"train.steps={STEPS}", f"train.ckpt_every={HALF}", "train.sample_every=2"]
    opts.append("train.metrics=[]")  # evaluation is not the contract; it takes seconds a run
    whole = api.train(model=name, data=data, overrides=opts, out=root / "whole")
    shutil.copytree(root / "whole", root / "killed")
    (root / "killed" / "checkpoints" / f"step_{STEPS:07d}.pt").unlink()
    api.resume(root / "killed")
    return name, whole, root / "killed"


def final_state(run) -> dict:
    return load_checkpoint(list_checkpoints(run / "checkpoints")[-1])


def assert_same(a, b, where: str) -> None:
    """Equal, bit for bit, through nested dicts, lists and tensors."""
    if isinstance(a, dict):
        assert a.keys() == b.keys(), where
        for k in a:
            assert_same(a[k], b[k], f"{where}.{k}")
    elif isinstance(a, (list, tuple)):
        assert len(a) == len(b), where
        for i, (x, y) in enumerate(zip(a, b, strict=True)):
            assert_same(x, y, f"{where}[{i}]")
    elif isinstance(a, torch.Tensor):
        assert torch.equal(a, b), where
    else:
        assert (a == b) if not hasattr(a, "shape") else (a == b).all(), where


def test_stop_and_resume_equals_the_uninterrupted_run_bit_for_bit(runs):
    """Weights, optimizer and schedule states, data stream and RNGs after a kill after step 2
    and a resume equal those of the run that never stopped (all but the time)."""
    name, whole, killed = runs
    a, b = final_state(whole.run.path), final_state(killed)
    assert a["step"] == b["step"] == STEPS
    for key in a.keys() - {"elapsed"}:
        assert_same(a[key], b[key], f"{name}: {key}")


def fixed_inputs(trainer, n: int = 8):
    labels = trainer.out.fixed_labels
    return trainer.out.fixed_z[:n], None if labels is None else labels[:n]


@pytest.mark.parametrize("how", ["checkpoint", "export"])
def test_save_then_load_gives_identical_samples(runs, how, tmp_path):
    name, whole, _ = runs
    z, labels = fixed_inputs(whole)
    expected = whole.model.sample(z=z, labels=labels)
    path = whole.run.path if how == "checkpoint" else api.export_run(whole.run.path, tmp_path / "x")
    loaded = api.load(path)
    assert type(loaded) is type(whole.model) and loaded.spec == whole.model.spec
    assert torch.equal(loaded.sample(z=z, labels=labels), expected), f"{name} via {how}"


@pytest.mark.parametrize("name", DATASETS.names())
def test_data_alone_trains_the_model_for_its_declared_kind(name):
    model = resolve_config(data=name).model.name
    assert MODELS.entry(model).spec.data_kind == DATASETS.entry(name).spec
