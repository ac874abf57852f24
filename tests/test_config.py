import pytest

from gankit.config import TrainConfig, list_presets, load_preset, parse_overrides, resolve_config
from gankit.errors import ConfigError


def test_defaults_and_names():
    cfg = resolve_config(model="wgan", data="grid")
    assert cfg.model.name == "wgan" and cfg.data.name == "grid"
    # the WGAN paper's defaults
    assert (cfg.model.lr_d, cfg.model.clip, cfg.model.d_steps) == (5e-5, 0.01, 5)
    assert cfg.data.std == 0.05


def test_overrides_are_typed_and_nested():
    cfg = resolve_config(
        model="gan",
        overrides=["model.lr_g=3e-4", "train.steps=7", "ema=0.5", "data.std=0.02"],
    )
    assert cfg.model.lr_g == pytest.approx(3e-4) and isinstance(cfg.model.lr_g, float)
    assert cfg.train.steps == 7 and cfg.train.ema == 0.5 and cfg.data.std == 0.02


def test_mixture_centers_from_the_command_line():
    cfg = resolve_config(data="mixture", overrides=["data.centers=[[0,0],[3,1.5]]"])
    assert cfg.data.centers == [[0.0, 0.0], [3.0, 1.5]]


@pytest.mark.parametrize(
    "overrides, words",
    [
        (["model.nope=1"], ["unknown config key", "model.nope", "model.lr_g"]),
        (["nope=1"], ["unknown config key", "nope"]),
        (["train.steps=abc"], ["train.steps", "int"]),
        (["train.steps=0"], ["train.steps", "at least 1"]),
        (["train.precision=fp8"], ["train.precision", "bf16"]),
        (["model.loss=hinge2"], ["model.loss", "minimax"]),
        (["steps"], ["key=value"]),
    ],
)
def test_bad_overrides_name_the_key(overrides, words):
    with pytest.raises(ConfigError) as e:
        resolve_config(model="gan", overrides=overrides)
    for word in words:
        assert word in str(e.value)
    assert "\n" not in str(e.value)


def test_unknown_names():
    with pytest.raises(ConfigError, match="unknown model 'nope'.*gan"):
        resolve_config(model="nope")
    with pytest.raises(ConfigError, match="unknown dataset 'nope'.*ring"):
        resolve_config(data="nope")
    with pytest.raises(ConfigError, match="unknown preset 'nope'"):
        resolve_config("nope")


def test_presets_resolve_and_describe_themselves():
    presets = list_presets()
    assert "default" in presets
    for name, text in presets.items():
        assert text, f"preset {name} has no description line"
        cfg = resolve_config(name)
        assert cfg.model.name == load_preset(name)["model"]["name"]


def test_changing_the_model_drops_the_presets_model_options():
    cfg = resolve_config("default", model="wgan")
    assert cfg.model.name == "wgan" and cfg.model.lr_d == 5e-5


def test_yaml_round_trip():
    cfg = resolve_config(model="unrolled", data="ring", overrides=["model.unroll_steps=3"])
    again = resolve_config(__import__("yaml").safe_load(cfg.to_yaml()))
    assert again == cfg


def test_parse_overrides_nests_and_parses_yaml_values():
    assert parse_overrides(["a.b=1", "a.c=[1, 2]", "d=x"]) == {"a": {"b": 1, "c": [1, 2]}, "d": "x"}


def test_train_fields_a_config_leaves_out_take_their_defaults():
    # e.g. a run's config.yaml written before a train field existed
    cfg = resolve_config({"model": {"name": "gan"}, "data": {"name": "ring"}, "train": {"seed": 7}})
    # ... and 2-D points, cheap to score, are evaluated at every snapshot
    assert cfg.train == TrainConfig(seed=7, eval_every=TrainConfig().sample_every)


def test_own_yaml_file_as_preset(tmp_path):
    path = tmp_path / "mine.yaml"
    path.write_text("model: {name: wgan-gp, gp_lambda: 5}\ndata: {name: grid}\ntrain: {steps: 9}\n")
    cfg = resolve_config(str(path))
    assert (cfg.model.name, cfg.model.gp_lambda, cfg.data.name, cfg.train.steps) == (
        "wgan-gp",
        5.0,
        "grid",
        9,
    )
    with pytest.raises(ConfigError, match="does not exist"):
        resolve_config(str(tmp_path / "missing.yaml"))
    path.write_text("- just\n- a list\n")
    with pytest.raises(ConfigError, match="must be a mapping"):
        resolve_config(str(path))


@pytest.mark.parametrize(
    "model, data",
    [
        ("musegan", "jsb-chorales"),
        ("seqgan", "oracle"),
        ("pix2pix", "edges2digits"),
        ("cyclegan", "mnist-usps"),
        ("progan", "digits"),
        ("dcgan", "mnist5k"),
        ("gan", "ring"),
    ],
)
def test_a_model_alone_gets_data_it_can_train_on(model, data):
    assert resolve_config(model=model).data.name == data
    assert resolve_config(model=model, data="ring").data.name == "ring"  # --data still wins
