"""Shared fixtures: tiny settings so every end-to-end test runs in seconds on two CPU cores."""

from __future__ import annotations

import pytest
import torch

TINY = [
    "model.z_dim=4",
    "model.g_hidden=16",
    "model.d_hidden=16",
    "model.g_layers=1",
    "model.d_layers=1",
    "train.batch_size=32",
    "train.n_samples=200",
    "train.log_every=5",
    "train.sample_every=10",
    "train.ckpt_every=10",
    "train.progress=false",
    "train.tensorboard=false",
    "train.report=false",
]


@pytest.fixture(autouse=True)
def _one_thread():
    # Results must not depend on thread scheduling; one thread also keeps tests from contending.
    n = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(n)
