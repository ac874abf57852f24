"""Config fields that say what values they take, so no config writes its own range checks.

    z_dim: int = option(100, min=1)
    loss: str = option("nonsaturating", choices=LOSSES)

`check_options(cfg, "model")` checks that every number is finite, then every such field, then
the config's own `validate()`, which is left for rules that tie fields together (a gradient
penalty needs a D without batch norm). The messages are one line that names the key, the rule
and the value given.
"""

from __future__ import annotations

import copy
import dataclasses
import math
from typing import Any

from gankit.errors import ConfigError


def option(
    default: Any,
    *,
    min: float | None = None,
    max: float | None = None,
    above: float | None = None,
    below: float | None = None,
    choices: tuple | None = None,
    parts: tuple | None = None,
) -> Any:
    """A dataclass field with `default` and the rules its values must keep; a list or dict
    default is copied for every instance. `parts`: the value is a comma-separated list of
    these names, or "" (none)."""
    rules = {
        "min": min, "max": max, "above": above, "below": below, "choices": choices, "parts": parts
    }  # fmt: skip
    meta = {k: v for k, v in rules.items() if v is not None}
    if isinstance(default, (list, dict)):
        return dataclasses.field(default_factory=lambda: copy.deepcopy(default), metadata=meta)
    return dataclasses.field(default=default, metadata=meta)


def _broken_rule(value: Any, rules: dict) -> str | None:
    # every float of every config is finite: no option means anything by nan or inf, and a nan
    # passes every comparison below unnoticed
    if isinstance(value, float) and not math.isfinite(value):
        return "must be a finite number"
    if "choices" in rules and value not in rules["choices"]:
        return "must be one of " + ", ".join(str(c) for c in rules["choices"])
    if "parts" in rules:
        names = [p.strip() for p in str(value).split(",")] if str(value).strip() else []
        if not all(n in rules["parts"] for n in names):
            allowed = ", ".join(rules["parts"])
            return f'must be a comma-separated list of {allowed} (or "" for none)'
    checks = (
        ("min", lambda v, b: v >= b, "at least"),
        ("max", lambda v, b: v <= b, "at most"),
        ("above", lambda v, b: v > b, "above"),
        ("below", lambda v, b: v < b, "below"),
    )
    for key, ok, words in checks:
        if key in rules and not ok(value, rules[key]):
            return f"must be {words} {rules[key]:g}"
    return None


def check_options(cfg: Any, section: str) -> None:
    """Every field's rules (see `option`), then `cfg.validate()` when it has one."""
    for f in dataclasses.fields(cfg):
        value = getattr(cfg, f.name)
        values = value if isinstance(value, list) else [value]  # a rule holds for each item
        for item in values:
            broken = _broken_rule(item, f.metadata)
            if broken:
                raise ConfigError(f"{section}.{f.name} {broken}, got {value!r}")
    validate = getattr(cfg, "validate", None)
    if validate:
        validate()


@dataclasses.dataclass
class Named:
    """The `name` field every registered entry's config starts with (the registry fills it)."""

    name: str = ""


SWITCH = ("auto", "true", "false")


def switch(value: Any, key: str) -> str:
    """An auto | true | false option in lower case. Not an option's `choices`, because a YAML
    `true` or `--set key=true` arrives in a str field as "True"."""
    value = str(value).lower()
    if value not in SWITCH:
        raise ConfigError(f"{key} must be one of {', '.join(SWITCH)}, got {value!r}")
    return value
