"""Experiment configs: dataclasses per model and data set, YAML presets, typed `--set` overrides."""

from __future__ import annotations

import dataclasses
import re
from dataclasses import dataclass, field
from importlib import resources
from pathlib import Path
from typing import Any

import yaml
from omegaconf import OmegaConf
from omegaconf.errors import OmegaConfBaseException

from gankit.errors import ConfigError
from gankit.options import check_options, option, switch
from gankit.registry import DATASETS, MODELS

SECTIONS = ("model", "data", "train")
PRECISIONS = ("auto", "fp32", "bf16", "fp16")
ON_NONFINITE = ("stop", "rollback")


@dataclass
class TrainConfig:
    """How the Trainer runs: length, batch, seed, device and the cadences of its side jobs."""

    steps: int = option(5000, min=1)  # generator updates (one `train_step` each)
    time_limit: float = option(0.0, min=0)  # seconds of training, then the run ends; 0 = none
    batch_size: int = option(256, min=1)
    seed: int = 0
    device: str = "auto"  # auto | cpu | cuda | cuda:N
    # auto | fp32 | bf16 | fp16 (autocast; fp16 adds a GradScaler per optimizer). auto: bf16 for
    # large conv models where the hardware computes in bf16, else fp32; the run records its choice
    precision: str = option("auto", choices=PRECISIONS)
    threads: int = option(0, min=0)  # intra-op CPU threads; 0 = auto: 1 for small models, else all
    # NHWC memory layout for conv nets and image batches: auto | true | false. auto: on for large
    # conv models on a CPU, and on a GPU in bf16/fp16; the run records its choice
    channels_last: str = "auto"
    compile: bool = False  # torch.compile each net (slow start, faster steps on some machines)
    sync_bn: bool = False  # batch norm over the global batch under torchrun (CUDA only)
    on_nonfinite: str = option("stop", choices=ON_NONFINITE)  # NaN/inf loss: stop, or rollback
    max_rollbacks: int = option(3, min=0)  # rollbacks in one session before training stops
    ema: float = option(0.0, min=0, below=1)  # decay of a moving average of G; 0: none
    log_every: int = option(50, min=1)
    sample_every: int = option(500, min=1)  # fixed-noise snapshots for the time-lapse
    ckpt_every: int = option(1000, min=1)
    keep_last: int = option(3, min=1)  # checkpoints kept on disk
    # 0: evaluate only at the end; 2-D data (kind points) defaults to train.sample_every
    eval_every: int = option(0, min=0)
    metrics: list[str] | None = None  # None: the data set's defaults; []: none
    n_samples: int = option(2500, min=1)  # size of the fixed-noise snapshot and of evaluations
    progress: bool = True
    tensorboard: bool = True
    report: bool = True  # write report.html when training ends

    def validate(self) -> None:
        self.channels_last = switch(self.channels_last, "train.channels_last")
        if not re.fullmatch(r"auto|cpu|cuda(:\d+)?", self.device):
            raise ConfigError(f"train.device must be auto, cpu or cuda[:N], got {self.device!r}")


@dataclass
class ExperimentConfig:
    """One experiment: `model` and `data` are the registered entries' own config dataclasses."""

    model: Any
    data: Any
    train: TrainConfig = field(default_factory=TrainConfig)

    def to_dict(self) -> dict:
        return {s: dataclasses.asdict(getattr(self, s)) for s in SECTIONS}

    def to_yaml(self) -> str:
        return yaml.safe_dump(self.to_dict(), sort_keys=False)


# ---------------------------------------------------------------- presets


def preset_dir() -> Path:
    return Path(str(resources.files("gankit") / "configs"))


def list_presets() -> dict[str, str]:
    """Preset name -> its first comment line (the description)."""
    out = {}
    for path in sorted(preset_dir().glob("*.yaml")):
        first = path.read_text().splitlines()[0] if path.stat().st_size else ""
        out[path.stem] = first.lstrip("# ").strip()
    return out


def load_preset(name: str) -> dict:
    """A built-in preset by name, or your own YAML file by path (e.g. my-experiment.yaml)."""
    own = Path(name).expanduser()
    if own.suffix in (".yaml", ".yml"):
        if not own.is_file():
            raise ConfigError(f"preset file {own} does not exist; give a YAML file or a preset")
        path = own
    else:
        path = preset_dir() / f"{name}.yaml"
    if not path.is_file():
        raise ConfigError(
            f"unknown preset {name!r}; choose one of: {', '.join(list_presets())} "
            "(see `gankit list presets`)"
        )
    try:
        raw = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
    except (yaml.YAMLError, ValueError) as e:  # ValueError: not UTF-8
        raise ConfigError(f"preset {path} is not valid UTF-8 YAML ({e}); fix it") from None
    except OSError as e:
        raise ConfigError(f"cannot read preset {path}: {e.strerror or e}") from None
    if not isinstance(raw, dict):
        raise ConfigError(f"preset {path} must be a mapping with model, data and train sections")
    return raw


# ---------------------------------------------------------------- resolving


def parse_overrides(items: list[str]) -> dict:
    """['model.lr_g=1e-4', 'steps=10'] -> nested dict; a bare key names a unique field."""
    out: dict = {}
    for item in items:
        key, sep, value = item.partition("=")
        key = key.strip()
        if not sep or not key:
            raise ConfigError(f"--set takes key=value, got {item!r}; e.g. --set train.steps=100")
        try:
            parsed = yaml.safe_load(value) if value.strip() else ""
        except yaml.YAMLError:
            parsed = value  # a plain string; the schema decides whether a string fits
        parts = key.split(".")
        node = out
        for part in parts[:-1]:
            node = node.setdefault(part, {})
            if not isinstance(node, dict):
                raise ConfigError(f"--set {key}: {part!r} is set twice, once as a value")
        node[parts[-1]] = parsed
    return out


# the model for data of each kind when only the data is named
MODEL_FOR_KIND = {"points": "gan", "image": "dcgan", "music": "musegan", "text": "seqgan",
                  "paired": "pix2pix", "unpaired": "cyclegan"}  # fmt: skip


def _section_names(raw: dict, model: str | None, data: str | None) -> tuple[str, str]:
    """The model and data names: given, else the preset's, else defaults that fit each other
    (a model's declared `default_data`; data alone gets the model for its declared kind, and
    neither gives gan on ring)."""

    def name_of(section: str, given: str | None) -> str | None:
        value = raw.get(section, {})
        if given:
            return given
        if isinstance(value, dict) and value.get("name"):
            return str(value["name"])
        return None

    model, data = name_of("model", model), name_of("data", data)
    if data is None:
        data = MODELS.entry(model).spec.default_data if model else "ring"
    if model is None:
        model = MODEL_FOR_KIND[DATASETS.entry(data).spec]
    return model, data


def _override_name(extra: dict, section: str) -> str | None:
    value = extra.get(section)
    return str(value["name"]) if isinstance(value, dict) and value.get("name") else None


def _qualify(overrides: dict, schemas: dict[str, type]) -> dict:
    """Puts a bare key (`steps=10`) under the one section that has such a field."""
    out: dict = {}
    for key, value in overrides.items():
        if key in SECTIONS:
            out.setdefault(key, {})
            if not isinstance(value, dict):
                raise ConfigError(f"--set {key}=... needs a field, e.g. --set {key}.name=...")
            out[key].update(value)
            continue
        owners = [s for s in SECTIONS if key in {f.name for f in dataclasses.fields(schemas[s])}]
        if len(owners) != 1:
            raise ConfigError(_unknown_key_message(key, schemas))
        out.setdefault(owners[0], {})[key] = value
    return out


def _field_names(schema: type) -> set[str]:
    return {f.name for f in dataclasses.fields(schema)}


def _unknown_key_message(key: str, schemas: dict[str, type]) -> str:
    allowed = [f"{s}.{f.name}" for s in SECTIONS for f in dataclasses.fields(schemas[s])]
    section, _, name = key.rpartition(".")
    # an option of other models (model.augment: image models only) says whose it is
    owners = []
    if section in ("model", "") and name:
        owners = [n for n in MODELS.names() if name in _field_names(MODELS.entry(n).config)]
    whose = f" (an option of {', '.join(owners)}, not of this model)" if owners else ""
    return f"unknown config key {key!r}{whose}; allowed keys: {', '.join(allowed)}"


def _merge(base: dict, extra: dict) -> dict:
    out = dict(base)
    for key, value in extra.items():
        if isinstance(value, dict) and isinstance(out.get(key), dict):
            out[key] = _merge(out[key], value)
        else:
            out[key] = value
    return out


def resolve_config(
    preset: str | dict | None = None,
    model: str | None = None,
    data: str | None = None,
    overrides: list[str] | dict | None = None,
) -> ExperimentConfig:
    """Preset (a name or a dict), then --model/--data, then --set overrides, checked by type."""
    raw = load_preset(preset) if isinstance(preset, str) else dict(preset or {})
    for section, value in raw.items():
        if section not in SECTIONS or not isinstance(value, dict):
            raise ConfigError(
                f"config section {section!r} is not one of {', '.join(SECTIONS)} (a mapping each)"
            )
    extra = parse_overrides(overrides) if isinstance(overrides, list) else dict(overrides or {})
    # names first: they choose the schemas against which everything else is checked
    model = model or _override_name(extra, "model")
    data = data or _override_name(extra, "data")
    model_name, data_name = _section_names(raw, model, data)
    for section, name in (("model", model_name), ("data", data_name)):
        if isinstance(raw.get(section), dict) and raw[section].get("name", name) != name:
            raw[section] = {}  # the preset's options belong to another model or data set
    entries = {"model": MODELS.entry(model_name), "data": DATASETS.entry(data_name)}
    schemas = {
        "model": entries["model"].config,
        "data": entries["data"].config,
        "train": TrainConfig,
    }
    merged = _merge(raw, _qualify(extra, schemas))
    merged.setdefault("model", {})["name"] = model_name
    if entries["model"].spec.batch_size:  # the model's own default, under preset and --set
        merged.setdefault("train", {}).setdefault("batch_size", entries["model"].spec.batch_size)
    if entries["data"].spec == "points":  # their metrics are cheap: score every snapshot
        train = merged.setdefault("train", {})
        train.setdefault("eval_every", train.get("sample_every", TrainConfig().sample_every))
    merged.setdefault("data", {})["name"] = data_name
    # each entry's own defaults (wgan: RMSProp, clipping ...) under the preset and overrides
    defaults = {s: entries[s].make_config() for s in ("model", "data")}
    schema = OmegaConf.structured(ExperimentConfig(**defaults, train=TrainConfig()))
    try:
        cfg = OmegaConf.to_object(OmegaConf.merge(schema, merged))
    except OmegaConfBaseException as e:
        raise ConfigError(_rephrase(e, schemas)) from None
    for section in SECTIONS:
        check_options(getattr(cfg, section), section)
    return cfg


def _rephrase(e: OmegaConfBaseException, schemas: dict[str, type]) -> str:
    key = getattr(e, "full_key", None) or ""
    msg = str(e).splitlines()[0]
    if "not in" in msg or type(e).__name__ == "ConfigKeyError":
        return _unknown_key_message(key or msg, schemas)
    section, _, name = key.partition(".")
    fields = {f.name: f for f in dataclasses.fields(schemas[section])} if section in schemas else {}
    want = fields[name].type if name in fields else "another type"
    return f"bad value for {key}: {msg}; it must be {want}"


def load_config_file(path: Path, overrides: list[str] | None = None) -> ExperimentConfig:
    """Reads a run's config.yaml back into dataclasses, with `--set` overrides when given."""
    try:
        raw = yaml.safe_load(Path(path).read_text())
    except (OSError, ValueError, yaml.YAMLError) as e:  # ValueError: not UTF-8
        raise ConfigError(f"cannot read config {path}: {e}") from None
    if not isinstance(raw, dict):
        raise ConfigError(f"{path} is not a gankit config (a mapping with model, data, train)")
    return resolve_config(raw, overrides=overrides)
