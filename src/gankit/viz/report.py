"""A self-contained HTML report of a run: summary, metrics, curves, samples, time-lapse, config."""

from __future__ import annotations

import base64
import html
import json
import math
import re
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

import numpy as np
import yaml

from gankit.errors import GankitError, RunError
from gankit.files import write_atomic
from gankit.metrics.meanings import meaning
from gankit.training.run import RESUMES
from gankit.viz.plots import (
    eval_curves,
    list_snapshots,
    loss_curves,
    read_metrics,
    save_snapshot,
    timelapse,
)

__all__ = ["write_report"]


def _esc(x: Any) -> str:
    return html.escape(str(x), quote=True)


def _fmt(v: Any) -> str:
    """A number for a table: ints as they are, floats to 4 significant digits."""
    if isinstance(v, bool) or not isinstance(v, (int, float)):
        return _esc(v)
    if isinstance(v, int):
        return str(v)
    if not math.isfinite(v):
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


def _img(path: Path, mime: str, alt: str, caption: str = "") -> str:
    cap = f"<figcaption>{_esc(caption)}</figcaption>" if caption else ""
    return f'<figure><img src="{_data_uri(path, mime)}" alt="{_esc(alt)}">{cap}</figure>'


def _note(text: str) -> str:
    return f'<p class="note">{_esc(text)}</p>'


def _error(what: str, err: Exception) -> str:
    return (
        f'<p class="error">Could not draw {_esc(what)}: {_esc(type(err).__name__)}: {_esc(err)}</p>'
    )


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


def _load_model(run_dir: Path) -> Any:
    from gankit.api import load_run

    try:
        return load_run(run_dir, with_data=False)[0]
    except GankitError:  # no checkpoint yet, or a folder only partly a run: no model parts
        return None


def _read_game(run_dir: Path, model: Any, info: dict, resumes: list[dict]) -> _Game:
    model = model if model is not None else _load_model(run_dir)
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


def _summary(cfg: dict, rows: list[dict], game: _Game) -> str:
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
        value = _fmt(int(max(steps)))
        if _is_number(planned):
            value += f' <span class="of">/ {_fmt(int(planned))}</span>'
        cards.append(("steps trained", value))
    else:
        cards.append(("steps trained", "no metrics yet"))
    cards.append(("wall time", _esc(_fmt_duration(times[-1])) if times else "&ndash;"))
    for k in sorted(final, key=lambda k: (k == "wdist", k)):
        label = "final " + (k.removeprefix("loss/") + " loss" if k.startswith("loss/") else k)
        value = _fmt(final[k])
        if k in game.equilibrium:
            value += f' <span class="of">equilibrium {_fmt(game.equilibrium[k])}</span>'
        cards.append((_esc(label), value))
    modes = [r["eval/modes"] for r in rows if _is_number(r.get("eval/modes"))]
    if modes:
        cards.append(("modes covered", _with_total("eval/modes", modes[-1], game)))
    if "seed" in train:
        cards.append(("seed", _esc(train["seed"])))

    parts = ['<div class="cards">']
    for label, value in cards:
        parts.append(f'<div class="card"><div class="label">{label}</div>')
        parts.append(f'<div class="value">{value}</div></div>')
    parts.append("</div>")

    data = cfg.get("data") if isinstance(cfg.get("data"), dict) else {}
    params = [
        f"{_esc(k)} = {_fmt(v)}"
        for k, v in data.items()
        if k != "name" and (_is_number(v) or isinstance(v, (str, bool)))
    ]
    if params:
        parts.append(f'<p class="meta">data: {", ".join(params)}</p>')
    return "\n".join(parts)


def _with_total(key: str, value: Any, game: _Game) -> str:
    """A value for a table or card, with its total when it is a count of modes: `8 / 8`."""
    total = game.totals.get(key.removeprefix("eval/"))
    return _fmt(value) + (f' <span class="of">/ {_fmt(total)}</span>' if total else "")


def _eval_tables(run_dir: Path, rows: list[dict], game: _Game) -> str:
    eval_rows = [r for r in rows if any(isinstance(k, str) and k.startswith("eval/") for k in r)]
    if not eval_rows:
        return _note("No evaluation yet.")
    latest: dict[str, tuple[Any, Any]] = {}
    for r in eval_rows:
        for k, v in r.items():
            if isinstance(k, str) and k.startswith("eval/") and v is not None:
                latest[k] = (v, r.get("step"))
    keys = sorted(latest, key=lambda k: (k != "eval/modes", k))  # the headline first
    out = ['<table class="kv"><thead><tr><th>metric</th><th>value</th><th>at step</th>']
    out.append("<th>what it means</th></tr></thead><tbody>")
    for k in keys:
        v, s = latest[k]
        out.append(
            f"<tr><td>{_esc(k.removeprefix('eval/'))}</td>"
            f"<td class='num'>{_with_total(k, v, game)}</td>"
            f"<td class='num'>{_fmt(s) if s is not None else '&ndash;'}</td>"
            f"<td class='means'>{_esc(meaning(k))}</td></tr>"
        )
    out.append("</tbody></table>")
    path = run_dir / "eval_curves.png"
    try:
        if eval_curves(rows, path, game.totals, game.resumes):
            what = "each metric at every evaluation (set by train.eval_every)"
            out.append(_img(path, "image/png", "metrics over training", what))
    except Exception as err:  # a report must not die on one bad picture
        out.append(_error("the metrics over training", err))

    if len(eval_rows) > 1:
        hist = sorted(eval_rows, key=lambda r: r["step"] if _is_number(r.get("step")) else -1)
        head = "".join(f"<th>{_esc(k.removeprefix('eval/'))}</th>" for k in keys)
        body = []
        for r in hist:
            cells = "".join(
                f"<td class='num'>{_fmt(r[k]) if r.get(k) is not None else '&ndash;'}</td>"
                for k in keys
            )
            step = _fmt(r["step"]) if r.get("step") is not None else "&ndash;"
            body.append(f"<tr><td class='num'>{step}</td>{cells}</tr>")
        is_open = " open" if len(hist) <= 12 else ""
        out.append(f"<details{is_open}><summary>all {len(hist)} evaluations</summary>")
        out.append(f'<div class="scroll"><table class="hist"><thead><tr><th>step</th>{head}</tr>')
        out.append(f"</thead><tbody>{''.join(body)}</tbody></table></div></details>")
    return "\n".join(out)


def _curves(run_dir: Path, rows: list[dict], game: _Game) -> str:
    path = run_dir / "loss_curves.png"
    try:
        if not loss_curves(rows, path, game.equilibrium, game.resumes):
            return _note("No training losses logged yet.")
    except Exception as err:  # a report must not die on one bad picture
        return _error("the loss curves", err)
    return _img(path, "image/png", "loss curves") + _curves_text(rows, game.equilibrium)


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
    return f"<p class='explain'>{_esc(' '.join(parts))}</p>"


def _resume_notes(resumes: list[dict]) -> str:
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
        lines.append(f"<li>{_esc(text)}.</li>")
    if not lines:
        return ""
    return f'<ul class="resumes">{"".join(lines)}</ul>'


def _surface(run_dir: Path, game: _Game, snaps: list, centers: np.ndarray | None) -> list:
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
        return [("What D believes", _error("D's decision surface", err))]
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
    figure = _img(path, "image/png", "decision surface of D")
    return [("What D believes", f"{figure}<p class='explain'>{_esc(text)}</p>")]


def _final_samples(snaps: list[tuple[int, Path]], centers: np.ndarray | None) -> str:
    if not snaps:
        return _note("No samples yet.")
    step, npy = snaps[-1]
    png = npy.with_suffix(".png")
    try:
        if _stale([png], npy.stat().st_mtime):
            save_snapshot(np.load(npy), png, title=f"step {step}", centers=centers)
        n = np.load(npy, mmap_mode="r").shape[0]
    except Exception as err:  # a report must not die on one bad picture
        return _error(f"the samples of step {step}", err)
    return _img(png, "image/png", f"samples at step {step}", f"{n} samples at step {step}")


def _text_samples(snaps: list[tuple[int, Path]], lines: int = 20) -> tuple[str, str]:
    """Text runs: (the last snapshot's first lines, the first lines of up to 6 snapshots)."""
    texts = [(step, p.with_suffix(".txt")) for step, p in snaps]
    texts = [(step, p) for step, p in texts if p.is_file()]
    if not texts:
        return _note("No samples yet."), _note("No samples yet, so no time-lapse.")

    def head(path: Path, n: int) -> str:
        with open(path, encoding="utf-8", errors="replace") as f:
            return "".join(line for _, line in zip(range(n), f, strict=False))

    step, last = texts[-1]
    final = f"<p class='meta'>step {step}</p><pre>{_esc(head(last, lines))}</pre>"
    chosen = [texts[round(i)] for i in np.linspace(0, len(texts) - 1, min(6, len(texts)))]
    lapse = "".join(f"<p class='meta'>step {s}</p><pre>{_esc(head(p, 4))}</pre>" for s, p in chosen)
    return final, lapse


def _timelapse(
    run_dir: Path, snaps: list[tuple[int, Path]], centers: np.ndarray | None
) -> tuple[str, str]:
    """(the GIF, the grid of panels) as HTML; the GIF part is empty when it could not be had."""
    if not snaps:
        return "", _note("No samples yet, so no time-lapse.")
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
                return "", _note("No readable samples yet, so no time-lapse.")
            timelapse(loaded, grid, gif, centers=centers)
    except Exception as err:
        return "", _error("the time-lapse", err)
    span = f"{len(snaps)} snapshots, steps {snaps[0][0]} to {snaps[-1][0]}"
    return (
        _img(gif, "image/gif", "time-lapse animation", f"animation of all {span}"),
        _img(grid, "image/png", "time-lapse grid", f"evenly chosen among the {span}"),
    )


# --------------------------------------------------------------------------------------------
# the page

_CSS = """
:root { --fg: #1d2433; --muted: #5b6475; --line: #dfe3ea; --bg: #f6f7f9; --accent: #1f5fa8; }
* { box-sizing: border-box; }
body { margin: 0; background: var(--bg); color: var(--fg);
  font: 15px/1.5 system-ui, -apple-system, "Segoe UI", Roboto, Helvetica, Arial, sans-serif; }
main { max-width: 1120px; margin: 0 auto; padding: 28px 24px 48px; }
h1 { font-size: 26px; margin: 0 0 4px; }
h2 { font-size: 18px; margin: 0 0 12px; }
.meta { color: var(--muted); margin: 0 0 4px; font-size: 13px; }
section { background: #fff; border: 1px solid var(--line); border-radius: 8px;
  padding: 18px 20px; margin: 18px 0; }
.cards { display: flex; flex-wrap: wrap; gap: 10px; margin-bottom: 8px; }
.card { border: 1px solid var(--line); border-radius: 6px; padding: 8px 14px; min-width: 120px; }
.card .label { color: var(--muted); font-size: 12px; text-transform: uppercase;
  letter-spacing: .04em; }
.card .value { font-size: 20px; font-weight: 600; font-variant-numeric: tabular-nums; }
.card .of { font-size: 14px; color: var(--muted); font-weight: 400; }
table { border-collapse: collapse; font-variant-numeric: tabular-nums; font-size: 14px; }
th, td { padding: 4px 12px; border-bottom: 1px solid var(--line); text-align: left; }
th { background: #f0f2f5; font-weight: 600; }
td.num { text-align: right; }
tbody tr:nth-child(even) { background: #fafbfc; }
details { margin-top: 14px; }
summary { cursor: pointer; color: var(--accent); margin-bottom: 8px; }
.scroll { overflow-x: auto; max-height: 420px; overflow-y: auto; }
figure { margin: 0; }
figure img { max-width: 100%; height: auto; display: block; border: 1px solid var(--line); }
figcaption { color: var(--muted); font-size: 13px; margin-top: 4px; }
.pair { display: flex; flex-wrap: wrap; gap: 18px; align-items: flex-start; }
.pair figure { flex: 0 1 460px; min-width: 0; }
pre { background: #f3f4f7; border: 1px solid var(--line); border-radius: 6px; padding: 12px;
  overflow-x: auto; font: 13px/1.45 ui-monospace, SFMono-Regular, Menlo, Consolas, monospace; }
.note { color: var(--muted); font-style: italic; margin: 0; }
td.means { color: var(--muted); font-size: 13px; max-width: 560px; }
.explain { color: var(--muted); font-size: 14px; max-width: 900px; margin: 8px 0 0; }
.resumes { margin: 8px 0 0; padding-left: 20px; }
.error { color: #a61b1b; margin: 0; }
"""


def _phases(run_dir: Path, rows: list[dict]) -> list[tuple[str, str]]:
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
    table = ["<table><thead><tr><th>phase</th><th>ended at step</th><th>wall time</th>"]
    table.append("<th>samples</th></tr></thead><tbody>")
    for phase in phases:
        row = ended.get(phase, {})
        step = _fmt(row["step"]) if _is_number(row.get("step")) else "&ndash;"
        wall = _esc(_fmt_duration(row["time"])) if _is_number(row.get("time")) else "&ndash;"
        png = f"samples/phase_{phase}.png"
        link = f'<a href="{_esc(png)}">{_esc(png)}</a>' if (run_dir / png).is_file() else ""
        table.append(
            f"<tr><td>{_esc(phase)}</td><td class='num'>{step}</td><td class='num'>{wall}</td>"
            f"<td>{link}</td></tr>"
        )
    table.append("</tbody></table>")
    grid, gif = run_dir / "phases.png", run_dir / "phases.gif"
    try:
        if _stale([grid, gif], max(p.stat().st_mtime for p in files.values())):
            snaps = [(i, np.load(files[phase])) for i, phase in enumerate(phases)]
            titles = {i: f"phase {phase}" for i, phase in enumerate(phases)}
            timelapse(snaps, grid, gif, titles=titles)
    except Exception as err:  # a report must not die on one bad picture
        return [("Phases", "\n".join(table) + _error("the phase snapshots", err))]
    what = f"{len(phases)} phases, the fixed-noise samples at the end of each"
    animation = _img(gif, "image/gif", "phases animation", f"animation of the {what}")
    top = f'<div class="pair"><div>{"".join(table)}</div>{animation}</div>'
    return [("Phases", top + _img(grid, "image/png", "phases grid", what))]


def _pictures(run_dir: Path) -> list[tuple[str, str]]:
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
            text = f"<p class='explain'>{_esc(explain[name])}</p>"
            sections.append((title, _img(path, "image/png", title) + text))
    return sections


def write_report(run_dir: Path, model: Any = None) -> Path:
    """Write RUN/report.html, one self-contained page (images inlined), and return its path.

    `model`: the run's trained model when the caller holds it; else it is loaded from the
    latest checkpoint, when there is one, for D's decision surface and the losses' equilibria.
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
    model_name, data = _name(cfg, "model"), _name(cfg, "data")

    if info.get("kind") == "text":  # token ids are no picture: show the decoded snapshots
        samples_html, grid_html = _text_samples(snaps)
    else:
        gif_html, grid_html = _timelapse(run_dir, snaps, centers)
        samples_html = f'<div class="pair">{_final_samples(snaps, centers)}{gif_html}</div>'
    generated = datetime.now().strftime("%Y-%m-%d %H:%M")
    config_html = f"<pre>{_esc(config_text)}</pre>" if config_text else _note("No config.yaml.")
    sections = [
        ("Summary", _summary(cfg, rows, game) + _resume_notes(resumes)),
        ("Evaluation", _eval_tables(run_dir, rows, game)),
        ("Training curves", _curves(run_dir, rows, game)),
        *_surface(run_dir, game, snaps, centers),
        ("Samples", samples_html),
        ("Time-lapse", grid_html),
        *_phases(run_dir, rows),
        *_pictures(run_dir),
        ("Config", config_html),
    ]
    body = "\n".join(
        f"<section><h2>{_esc(t)}</h2>\n{content}\n</section>" for t, content in sections
    )
    title = f"{model_name} on {data}"
    page = f"""<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>{_esc(title)} &middot; gankit report</title>
<style>{_CSS}</style>
</head>
<body>
<main>
<h1>{_esc(title)}</h1>
<p class="meta">run {_esc(run_dir.resolve())} &middot; report written {_esc(generated)}</p>
{body}
</main>
</body>
</html>
"""
    out = run_dir / "report.html"
    write_atomic(out, page)
    return out
