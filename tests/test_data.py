"""The registered data sources: shapes, seeded streams, exact restore, user files."""

import numpy as np
import pytest
import torch

from gankit.config import resolve_config
from gankit.data import build_data
from gankit.errors import ConfigError, DataError


@pytest.mark.parametrize("name, modes", [("ring", 8), ("grid", 25), ("mixture", 2)])
def test_mixtures(name, modes):
    data = build_data(resolve_config(data=name).data, seed=0)
    x = data.batch(64)
    assert x.shape == (64, 2) and x.dtype == torch.float32
    assert len(data.info()["centers"]) == modes and data.default_metrics == ("modes",)


def test_stream_restores_exactly_from_its_state():
    data = build_data(resolve_config(data="ring").data, seed=3)
    data.batch(10)
    state = {k: v.clone() for k, v in data.state_dict().items()}
    expected = data.batch(10)
    data.batch(10)
    data.load_state_dict(state)
    assert torch.equal(data.batch(10), expected)
    assert not torch.equal(build_data(resolve_config(data="ring").data, seed=4).batch(10), expected)


def test_user_points(tmp_path):
    path = tmp_path / "pts.npy"
    np.save(path, np.arange(30, dtype=np.float32).reshape(10, 3))
    data = build_data(resolve_config(data="points", overrides=[f"data.path={path}"]).data, 0)
    x = data.batch(100)
    assert data.shape == (3,) and x.shape == (100, 3)
    # every batch row is one of the file's rows
    assert set(map(tuple, x.tolist())) <= set(map(tuple, np.load(path).tolist()))


def test_points_need_a_file():
    with pytest.raises(ConfigError, match="needs a file"):
        build_data(resolve_config(data="points").data, 0)


def test_wrongly_shaped_points_file(tmp_path):
    path = tmp_path / "flat.npy"
    np.save(path, np.zeros(10))
    with pytest.raises(DataError, match="flat.npy"):
        build_data(resolve_config(data="points", overrides=[f"data.path={path}"]).data, 0)


def test_bad_mixture_description():
    with pytest.raises(DataError, match="data.centers"):
        build_data(resolve_config(data="mixture", overrides=["data.centers=[[1,2,3]]"]).data, 0)
    with pytest.raises((ConfigError, DataError), match="data.std"):
        build_data(resolve_config(data="mixture", overrides=["data.std=-1"]).data, 0)
