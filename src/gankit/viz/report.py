"""A self-contained HTML report of a run: summary, metrics, curves, samples, time-lapse, config.

The code here gathers plain data (strings, numbers, data: URIs) into sections of blocks; the
template templates/report.html.j2 lays them out. Jinja2 escapes everything it prints, so a
file name, text sample or config value holding HTML shows as text, never as markup.
"""

from __future__ import annotations

import base64
import functools
import json
import math
import re
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

import jinja2
import numpy as np
import yaml

from gankit.errors import RunError
from gankit.files import RESUMES, write_atomic
from gankit.metrics.meanings import meaning
from gankit.viz.plots import (
    eval_curves,
    list_snapshots,
    loss_curves,
    read_metrics,
    save_snapshot,
    timelapse,
)

__all__ = ["block", "explain_block", "figure_block", "note_block", "render_page", "write_report"]

Block = dict[str, Any]  # {"kind": "figure", ...}: one piece of a section, as the template draws it
Section = tuple[str, list[Block]]  # (its heading, its blocks)


def _fmt(v: Any) -> str:
    """A number for a table: ints as they are, floats to 4 significant digits."""
    if isinstance(v, int) or not _is_number(v):  # and text, bools, nan and inf as they are
        return str(v)
    if v != 0 and (abs(v) >= 1e6 or abs(v) < 1e-3):
        return f"{v:.3e}"
    if abs(v) >= 1000:
        return f"{v:.1f}"
    return f"{v:.4g}"


def _fmt_duration(seconds: float) -> str:
    if seconds < 60:
        return f"{seconds:.1f} s"
    minutes, s = divmod(int(round(seconds)), 60)
    if minutes < 60:
        return f"{minutes} min {s:02d} s"
    hours, m = divmod(minutes, 60)
    return f"{hours} h {m:02d} min"


def _is_number(v: Any) -> bool:
    return isinstance(v, (int, float)) and not isinstance(v, bool) and math.isfinite(v)


def _data_uri(path: Path, mime: str) -> str:
    return f"data:{mime};base64," + base64.b64encode(Path(path).read_bytes()).decode("ascii")


# --------------------------------------------------------------------------------------------
# blocks: what the template knows how to draw (see its `block` macro)


def block(kind: str, **fields: Any) -> Block:
    return {"kind": kind, **fields}


def figure_block(path: Path, mime: str, alt: str, caption: str = "") -> Block:
    return block("figure", src=_data_uri(path, mime), alt=alt, caption=caption)


def note_block(text: str) -> Block:
    return block("note", text=text)


def explain_block(text: str) -> Block:
    return block("explain", text=text)


def _error(what: str, err: Exception) -> Block:
    return block("error", text=f"Could not draw {what}: {type(err).__name__}: {err}")


def _value(text: str | None, of: str = "") -> dict:
    """A card's or a cell's value (None: none, drawn as a dash) and its grey tail (`/ 8`)."""
    return {"value": text, "of": of}


def _stale(targets: list[Path], newest_source: float) -> bool:
    return any(not t.is_file() or t.stat().st_mtime < newest_source for t in targets)


# --------------------------------------------------------------------------------------------
# reading


def _read_config(run_dir: Path) -> tuple[str | None, dict]:
    path = run_dir / "config.yaml"
    if not path.is_file():
        return None, {}
    text = path.read_text(encoding="utf-8", errors="replace")
    try:
        cfg = yaml.safe_load(text)
    except yaml.YAMLError:
        cfg = None
    return text, cfg if isinstance(cfg, dict) else {}


def _read_data_info(run_dir: Path) -> dict:
    try:
        info = json.loads((run_dir / "data.json").read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {}
    return info if isinstance(info, dict) else {}


def _read_centers(info: dict) -> np.ndarray | None:
    try:
        c = np.asarray(info["centers"], dtype=np.float64)
    except (ValueError, KeyError, TypeError):
        return None
    return c.reshape(-1, 2) if c.size and c.size % 2 == 0 else None


@dataclass
class _Game:
    """What the report knows of the run beyond its files: the model (from the latest
    checkpoint; None before the first, or for a run gankit cannot rebuild), the losses' values
    at the equilibrium, the best count of each counting metric and the steps it resumed at."""

    model: Any = None
    equilibrium: dict[str, float] = field(default_factory=dict)
    totals: dict[str, float] = field(default_factory=dict)  # {"modes": 8}
    resumes: list[int] = field(default_factory=list)


def _read_game(run_dir: Path, model: Any, info: dict, resumes: list[dict]) -> _Game:
    centers = _read_centers(info)
    total = len(centers) if centers is not None else info.get("modes")  # Stacked MNIST: 1000
    return _Game(
        model=model,
        equilibrium=dict(model.equilibrium) if model is not None else {},
        totals={"modes": total} if _is_number(total) else {},
        resumes=[r["step"] for r in resumes if _is_number(r.get("step"))],
    )


def _name(cfg: dict, section: str) -> str:
    sub = cfg.get(section)
    if isinstance(sub, dict) and sub.get("name") is not None:
        return str(sub["name"])
    return "?"


# --------------------------------------------------------------------------------------------
# sections


def _summary(cfg: dict, rows: list[dict], game: _Game) -> list[Block]:
    steps = [r["step"] for r in rows if _is_number(r.get("step"))]
    times = [r["time"] for r in rows if _is_number(r.get("time"))]
    final: dict[str, Any] = {}
    for r in rows:
        for k, v in r.items():
            if isinstance(k, str) and (k.startswith("loss/") or k == "wdist") and _is_number(v):
                final[k] = v

    train = cfg.get("train") if isinstance(cfg.get("train"), dict) else {}
    planned = train.get("steps")
    cards = []
    if steps:
        of = f"/ {_fmt(int(planned))}" if _is_number(planned) else ""
        cards.append({"label": "steps trained", **_value(_fmt(int(max(steps))), of)})
    else:
        cards.append({"label": "steps trained", **_value("no metrics yet")})
    cards.append({"label": "wall time", **_value(_fmt_duration(times[-1]) if times else None)})
    for k in sorted(final, key=lambda k: (k == "wdist", k)):
        label = "final " + (k.removeprefix("loss/") + " loss" if k.startswith("loss/") else k)
        of = f"equilibrium {_fmt(game.equilibrium[k])}" if k in game.equilibrium else ""
        cards.append({"label": label, **_value(_fmt(final[k]), of)})
    modes = [r["eval/modes"] for r in rows if _is_number(r.get("eval/modes"))]
    if modes:
        cards.append({"label": "modes covered", **_with_total("eval/modes", modes[-1], game)})
    if "seed" in train:
        cards.append({"label": "seed", **_value(str(train["seed"]))})

    blocks = [block("cards", cards=cards)]
    data = cfg.get("data") if isinstance(cfg.get("data"), dict) else {}
    params = [
        f"{k} = {_fmt(v)}"
        for k, v in data.items()
        if k != "name" and (_is_number(v) or isinstance(v, (str, bool)))
    ]
    if params:
        blocks.append(block("meta", text="data: " + ", ".join(params)))
    return blocks


def _with_total(key: str, value: Any, game: _Game) -> dict:
    """A value for a table or card, with its total when it is a count of modes: `8 / 8`."""
    total = game.totals.get(key.removeprefix("eval/"))
    return _value(_fmt(value), f"/ {_fmt(total)}" if total else "")


def _eval_tables(run_dir: Path, rows: list[dict], game: _Game) -> list[Block]:
    eval_rows = [r for r in rows if any(isinstance(k, str) and k.startswith("eval/") for k in r)]
    if not eval_rows:
        return [note_block("No evaluation yet.")]
    latest: dict[str, tuple[Any, Any]] = {}
    for r in eval_rows:
        for k, v in r.items():
            if isinstance(k, str) and k.startswith("eval/") and v is not None:
                latest[k] = (v, r.get("step"))
    keys = sorted(latest, key=lambda k: (k != "eval/modes", k))  # the headline first
    table = []
    for k in keys:
        v, s = latest[k]
        name, means = k.removeprefix("eval/"), meaning(k)
        table.append({"name": name, **_with_total(k, v, game), "step": _maybe(s), "means": means})
    blocks = [block("metrics", rows=table)]
    path = run_dir / "eval_curves.png"
    try:
        if eval_curves(rows, path, game.totals, game.resumes):
            what = "each metric at every evaluation (set by train.eval_every)"
            blocks.append(figure_block(path, "image/png", "metrics over training", what))
    except Exception as err:  # a report must not die on one bad picture
        blocks.append(_error("the metrics over training", err))

    if len(eval_rows) > 1:
        hist = sorted(eval_rows, key=lambda r: r["step"] if _is_number(r.get("step")) else -1)
        blocks.append(
            block(
                "history",
                columns=[k.removeprefix("eval/") for k in keys],
                rows=[[_maybe(r.get("step")), *(_maybe(r.get(k)) for k in keys)] for r in hist],
                open=len(hist) <= 12,
            )
        )
    return blocks


def _maybe(v: Any) -> str | None:
    """A cell that may be missing (None: drawn as a dash)."""
    return None if v is None else _fmt(v)


def _curves(run_dir: Path, rows: list[dict], game: _Game) -> list[Block]:
    path = run_dir / "loss_curves.png"
    try:
        if not loss_curves(rows, path, game.equilibrium, game.resumes):
            return [note_block("No training losses logged yet.")]
    except Exception as err:  # a report must not die on one bad picture
        return [_error("the loss curves", err)]
    figure = figure_block(path, "image/png", "loss curves")
    return [figure, explain_block(_curves_text(rows, game.equilibrium))]


def _curves_text(rows: list[dict], equilibrium: dict[str, float]) -> str:
    """Why a GAN's losses do not fall like a classifier's, and what the run's lines mean."""
    logged = {k for r in rows for k in r}
    parts = [
        "Why these losses do not fall like a classifier's: D and G play a game, and each "
        "step of one raises the other's loss. At the equilibrium, G's samples match the data "
        "and D can only guess."
    ]
    if equilibrium:
        values = ", ".join(f"{k.removeprefix('loss/')} {v:.3f}" for k, v in equilibrium.items())
        parts.append(f"The dashed lines are each loss's value there ({values}).")
        if math.isclose(equilibrium.get("loss/D", 0.0), math.log(4)):
            parts.append(
                "With binary cross-entropy D says 1/2 to every sample, which costs -ln(1/2) = "
                "ln 2 = 0.693 per batch: ln 4 = 1.386 for D, which sums its real and its fake "
                "batch, and ln 2 for G's non-saturating loss -ln D(G(z))."
            )
        parts.append(
            "Losses near their lines mean the players are balanced, not that nothing is "
            "learnt; D's loss falling towards 0 (and G's climbing) means D wins: it tells "
            "real from fake at a glance and G learns little."
        )
    if "wdist" in logged:
        parts.append(
            "A critic's losses have no such value (its scores can shift by any constant); "
            "watch the Wasserstein estimate instead: it falls as G's samples near the data."
        )
    if "d/real" in logged:
        parts.append(
            "D(real) and D(fake) are D's mean probability that a real and a generated sample "
            "are real: far apart, D separates them; both near the 1/2 line, it cannot."
        )
    parts.append("The samples and the metrics, not the losses, say how good G is.")
    return " ".join(parts)


def _resume_notes(resumes: list[dict]) -> list[Block]:
    """One line per resume: "Resumed at step 3000 on 2026-11-28 10:15, after ..."."""
    lines = []
    for r in resumes:
        if not _is_number(r.get("step")):
            continue
        step, stopped = int(r["step"]), r.get("stopped_at")
        when = str(r.get("at", "")).replace("T", " ")[:16]
        text = f"Resumed at step {step}" + (f" on {when}" if when else "")
        if _is_number(stopped) and stopped > step:
            text += (
                f", after a stop at step {int(stopped)}, past the last checkpoint: steps "
                f"{step + 1} to {int(stopped)} were trained again"
            )
        elif _is_number(stopped):
            text += f", after a stop at step {int(stopped)}"
        if _is_number(r.get("steps")):
            text += f", to train to step {int(r['steps'])}"
        if _is_number(r.get("elapsed")):
            text += f" ({_fmt_duration(r['elapsed'])} of training before)"
        lines.append(f"{text}.")
    return [block("resumes", lines=lines)] if lines else []


def _surface(run_dir: Path, game: _Game, snaps: list, centers: np.ndarray | None) -> list[Section]:
    """D's decision surface, for a 2-D run of the adversarial game with samples to draw on it."""
    from gankit.models.adversarial import AdversarialGAN
    from gankit.viz.surface import surface_figure

    model = game.model
    if not isinstance(model, AdversarialGAN) or model.data_shape != (2,) or not snaps:
        return []
    step, npy = snaps[-1]
    path = run_dir / "decision_surface.png"
    try:
        samples = np.load(npy).reshape(-1, 2)
        probabilities = surface_figure(model, samples, centers, path, f"D after step {step}")
    except Exception as err:  # a report must not die on one bad picture
        return [("What D believes", [_error("D's decision surface", err)])]
    if probabilities:
        text = (
            "D(x), the probability D gives that a point x is real, over the plane after the "
            "last step: red where D says real, blue where it says fake, white on the black "
            "line where it cannot tell (1/2: the equilibrium, reached where G's samples lie "
            "exactly on the data). Crosses: the centres of the data's modes; dots: G's samples "
            "at the last snapshot. A red mode without dots is one G has not found yet: D knows "
            "real data lives there. Far from data and samples D was never trained, so its "
            "colour there means little."
        )
    else:
        text = (
            "The critic's score D(x) over the plane after the last step: higher where it rates "
            "points as more real. Only differences matter (a constant can be added to every "
            "score); G moves its samples (dots) uphill, towards the data's modes (crosses)."
        )
    figure = figure_block(path, "image/png", "decision surface of D")
    return [("What D believes", [figure, explain_block(text)])]


def _final_samples(snaps: list[tuple[int, Path]], centers: np.ndarray | None) -> Block:
    if not snaps:
        return note_block("No samples yet.")
    step, npy = snaps[-1]
    png = npy.with_suffix(".png")
    try:
        if _stale([png], npy.stat().st_mtime):
            save_snapshot(np.load(npy), png, title=f"step {step}", centers=centers)
        n = np.load(npy, mmap_mode="r").shape[0]
    except Exception as err:  # a report must not die on one bad picture
        return _error(f"the samples of step {step}", err)
    return figure_block(png, "image/png", f"samples at step {step}", f"{n} samples at step {step}")


def _text_samples(snaps: list[tuple[int, Path]], lines: int = 20) -> tuple[Block, Block]:
    """Text runs: (the last snapshot's first lines, the first lines of up to 6 snapshots)."""
    texts = [(step, p.with_suffix(".txt")) for step, p in snaps]
    texts = [(step, p) for step, p in texts if p.is_file()]
    if not texts:
        return note_block("No samples yet."), note_block("No samples yet, so no time-lapse.")

    def head(path: Path, n: int) -> str:
        with open(path, encoding="utf-8", errors="replace") as f:
            return "".join(line for _, line in zip(range(n), f, strict=False))

    step, last = texts[-1]
    final = block("texts", texts=[{"step": step, "text": head(last, lines)}])
    chosen = [texts[round(i)] for i in np.linspace(0, len(texts) - 1, min(6, len(texts)))]
    lapse = block("texts", texts=[{"step": s, "text": head(p, 4)} for s, p in chosen])
    return final, lapse


def _timelapse(
    run_dir: Path, snaps: list[tuple[int, Path]], centers: np.ndarray | None
) -> tuple[list[Block], Block]:
    """([the GIF], the grid of panels); the GIF's list is empty when it could not be had."""
    if not snaps:
        return [], note_block("No samples yet, so no time-lapse.")
    grid, gif = run_dir / "timelapse.png", run_dir / "timelapse.gif"
    try:
        newest = max(p.stat().st_mtime for _, p in snaps)
        if _stale([grid, gif], newest):
            loaded = []
            for step, p in snaps:
                try:
                    loaded.append((step, np.load(p)))
                except (OSError, ValueError):  # a snapshot being written right now
                    continue
            if not loaded:
                return [], note_block("No readable samples yet, so no time-lapse.")
            timelapse(loaded, grid, gif, centers=centers)
    except Exception as err:
        return [], _error("the time-lapse", err)
    span = f"{len(snaps)} snapshots, steps {snaps[0][0]} to {snaps[-1][0]}"
    return (
        [figure_block(gif, "image/gif", "time-lapse animation", f"animation of all {span}")],
        figure_block(grid, "image/png", "time-lapse grid", f"evenly chosen among the {span}"),
    )


def _phases(run_dir: Path, rows: list[dict]) -> list[Section]:
    """For a model that trains in phases (ProGAN's resolutions): when each ended, and its
    fixed-noise samples at that moment as a time-lapse (samples/phase_*.npy)."""
    files = {p.stem.removeprefix("phase_"): p for p in (run_dir / "samples").glob("phase_*.npy")}
    if not files:
        return []
    ended = {r["phase"]: r for r in rows if "event" in r and isinstance(r.get("phase"), str)}

    def order(phase: str) -> tuple:
        step = ended.get(phase, {}).get("step")
        digits = [int(d) for d in re.findall(r"\d+", phase)]  # 8x8 before 16x16
        return (step if _is_number(step) else math.inf, digits, phase)

    phases = sorted(files, key=order)
    table = []
    for phase in phases:
        row = ended.get(phase, {})
        png = f"samples/phase_{phase}.png"
        table.append({
            "phase": phase,
            "step": _fmt(row["step"]) if _is_number(row.get("step")) else None,
            "wall": _fmt_duration(row["time"]) if _is_number(row.get("time")) else None,
            "link": png if (run_dir / png).is_file() else "",
        })  # fmt: skip
    table = block("phases", rows=table)
    grid, gif = run_dir / "phases.png", run_dir / "phases.gif"
    try:
        if _stale([grid, gif], max(p.stat().st_mtime for p in files.values())):
            snaps = [(i, np.load(files[phase])) for i, phase in enumerate(phases)]
            titles = {i: f"phase {phase}" for i, phase in enumerate(phases)}
            timelapse(snaps, grid, gif, titles=titles)
    except Exception as err:  # a report must not die on one bad picture
        return [("Phases", [table, _error("the phase snapshots", err)])]
    what = f"{len(phases)} phases, the fixed-noise samples at the end of each"
    animation = figure_block(gif, "image/gif", "phases animation", f"animation of the {what}")
    top = block("pair", parts=[table, animation])
    return [("Phases", [top, figure_block(grid, "image/png", "phases grid", what)])]


def _pictures(run_dir: Path) -> list[Section]:
    """The final image pictures (interpolations, nearest neighbours) when the run has them."""
    from gankit.viz.pictures import INTERPOLATION, NEAREST

    explain = {
        INTERPOLATION: "Each row walks G's input z from one point of the noise to another: "
        "gradual changes mean G learnt a smooth map from noise to images, not a look-up table.",
        NEAREST: "Each sample beside the training image closest to it, pixel by pixel: pairs "
        "that are the same picture mean G copies its data instead of making new images.",
    }
    sections = []
    for title, name in (("Latent interpolations", INTERPOLATION), ("Memorisation check", NEAREST)):
        path = run_dir / "pictures" / name
        if path.exists():
            sections.append(
                (title, [figure_block(path, "image/png", title), explain_block(explain[name])])
            )
    return sections


# --------------------------------------------------------------------------------------------
# the page


@functools.cache
def _template() -> jinja2.Template:
    # autoescape on for the whole page: every value the code passes in is escaped
    env = jinja2.Environment(
        loader=jinja2.PackageLoader("gankit.viz", "templates"),
        autoescape=True,
        undefined=jinja2.StrictUndefined,  # a misspelt field is an error, not an empty cell
        trim_blocks=True,
        lstrip_blocks=True,
    )
    return env.get_template("report.html.j2")


def render_page(title: str, folder: Path, sections: list[Section]) -> str:
    """The HTML of a page of `sections` about `folder` (a run's report, gankit nightmare's)."""
    return _template().render(
        title=title,
        run=str(Path(folder).resolve()),
        generated=datetime.now().strftime("%Y-%m-%d %H:%M"),
        sections=sections,
    )


def write_report(run_dir: Path, model: Any = None) -> Path:
    """Write RUN/report.html, one self-contained page (images inlined), and return its path.

    `model`: the run's trained model, for D's decision surface and the losses' equilibria
    (`gankit.api.report` loads it from the latest checkpoint); without it, those are left out.
    Also (re)draws RUN/loss_curves.png, RUN/eval_curves.png, RUN/decision_surface.png and,
    when missing or older than the newest snapshot, RUN/timelapse.png and RUN/timelapse.gif.
    Works on a run with no metrics or samples yet.
    """
    run_dir = Path(run_dir)
    if not run_dir.is_dir():
        raise RunError(f"{run_dir} is not a run folder (no such directory)")
    config_text, cfg = _read_config(run_dir)
    rows = read_metrics(run_dir / "metrics.jsonl")
    info = _read_data_info(run_dir)
    centers = _read_centers(info)
    snaps = list_snapshots(run_dir)
    resumes = read_metrics(run_dir / RESUMES)
    game = _read_game(run_dir, model, info, resumes)

    if info.get("kind") == "text":  # token ids are no picture: show the decoded snapshots
        samples, lapse = _text_samples(snaps)
    else:
        gif, lapse = _timelapse(run_dir, snaps, centers)
        samples = block("pair", parts=[_final_samples(snaps, centers), *gif])
    config = block("pre", text=config_text) if config_text else note_block("No config.yaml.")
    sections: list[Section] = [
        ("Summary", _summary(cfg, rows, game) + _resume_notes(resumes)),
        ("Evaluation", _eval_tables(run_dir, rows, game)),
        ("Training curves", _curves(run_dir, rows, game)),
        *_surface(run_dir, game, snaps, centers),
        ("Samples", [samples]),
        ("Time-lapse", [lapse]),
        *_phases(run_dir, rows),
        *_pictures(run_dir),
        ("Config", [config]),
    ]
    page = render_page(f"{_name(cfg, 'model')} on {_name(cfg, 'data')}", run_dir, sections)
    out = run_dir / "report.html"
    write_atomic(out, page)
    return out
