"""Registries of models, data sets and metrics: `register`, `create`, `names`, as in timm."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from gankit.errors import ConfigError


@dataclass(frozen=True)
class Entry:
    name: str
    obj: Any
    config: type | None  # the dataclass of the entry's options, when it has any
    help: str
    spec: Any = None  # what the entry declares it is (a model's ModelSpec)
    defaults: dict = field(default_factory=dict)  # the entry's own defaults of config fields

    def make_config(self) -> Any:
        """The entry's config with its defaults: the schema its options are checked against."""
        fields = getattr(self.config, "__dataclass_fields__", {})
        name = {"name": self.name} if "name" in fields else {}
        return self.config(**name, **self.defaults)


class Registry:
    """A name -> (object, config dataclass, one-line help) table of one kind of thing."""

    def __init__(self, kind: str):
        self.kind = kind
        self._entries: dict[str, Entry] = {}

    def register(
        self,
        name: str,
        config: type | None = None,
        help: str = "",
        spec: Any = None,
        defaults: dict | None = None,
    ) -> Callable:
        """A decorator that registers its object under `name`; called on an object that is
        registered already (`register_model("wgan", ...)(AdversarialGAN)`) it registers a
        variant: the same object with its own `defaults` of the config's fields."""

        def deco(obj: Any) -> Any:
            if name in self._entries:
                raise ValueError(f"{self.kind} {name!r} is registered twice")
            doc = help or ((obj.__doc__ or "").strip().splitlines() or [""])[0]
            self._entries[name] = Entry(name, obj, config, doc, spec, dict(defaults or {}))
            return obj

        return deco

    def entry(self, name: str) -> Entry:
        _load_builtins()
        if name not in self._entries:
            raise ConfigError(
                f"unknown {self.kind} {name!r}; choose one of: {', '.join(self.names())} "
                f"(see `gankit list {self.kind}s`)"
            )
        return self._entries[name]

    def get(self, name: str) -> Any:
        return self.entry(name).obj

    def names(self) -> list[str]:
        _load_builtins()
        return sorted(self._entries)

    def entries(self) -> list[Entry]:
        return [self._entries[n] for n in self.names()]


MODELS = Registry("model")
DATASETS = Registry("dataset")
METRICS = Registry("metric")

register_metric = METRICS.register
DATA_KINDS = ("points", "image", "music", "text", "paired", "unpaired")


def register_model(
    name: str,
    config: type | None = None,
    help: str = "",
    *,
    spec: Any,
    defaults: dict | None = None,
):
    """Registers a model with its declaration, a `ModelSpec` (gankit.models.base): what data it
    trains on, its default data, and so on; `defaults` registers a variant of an existing class
    with its own defaults of the config's fields."""
    if type(spec).__name__ != "ModelSpec":
        raise TypeError(f"model {name!r}: spec= must be a ModelSpec, got {spec!r}")
    return MODELS.register(name, config, help, spec=spec, defaults=defaults)


def register_dataset(name: str, config: type | None = None, help: str = "", *, kind: str):
    """Registers a data set that gives data of `kind` (one of DATA_KINDS: what a model declares
    it trains on); a model for it is chosen by kind when none is named."""
    if kind not in DATA_KINDS:
        raise ValueError(f"data set {name!r}: kind must be one of {DATA_KINDS}, got {kind!r}")
    return DATASETS.register(name, config, help, spec=kind)


def _load_builtins() -> None:
    # Importing the packages runs their @register decorators; done lazily to avoid import cycles.
    # Every module of gankit.models is imported, so a new model file needs no import list.
    import importlib
    import pkgutil

    import gankit.data  # noqa: F401
    import gankit.metrics  # noqa: F401
    import gankit.models

    for module in pkgutil.iter_modules(gankit.models.__path__):
        importlib.import_module(f"gankit.models.{module.name}")


# ---------------------------------------------------------------- sample writers
# What samples become on disk, per kind of data (its info()["kind"]). Here, low in the import
# graph, so a data module can register its writer without importing the viz package.


@dataclass(frozen=True)
class SampleWriter:
    suffixes: tuple[str, ...]  # the first is the default (`gankit sample`, snapshots)
    # (samples, the run's data.json, out path, title, samples per row) -> None
    write: Callable[..., None]
    snapshot_suffix: str = ""  # what training snapshots are written as; "" = suffixes[0]

    @property
    def snapshot(self) -> str:
        return self.snapshot_suffix or self.suffixes[0]


WRITERS = Registry("writer")


def register_writer(kind: str, suffixes: tuple[str, ...], snapshot_suffix: str = "") -> Callable:
    """Decorator: `write(x, info, out, title, nrow)` writes samples of data of this kind."""

    def deco(fn: Callable) -> Callable:
        doc = ((fn.__doc__ or "").strip().splitlines() or [""])[0]
        WRITERS.register(kind, help=doc)(SampleWriter(tuple(suffixes), fn, snapshot_suffix))
        return fn

    return deco
