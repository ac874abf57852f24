"""Music metrics on the JSB chorales test split: the data, two baselines and the music GAN.

MuseGAN's statistics (Dong et al. 2018) and muspy's (Dong et al. 2020), computed by
`gankit.metrics.music` on 4-bar piano rolls at 16th notes: the test split's own segments (the
data row), random notes in key and an MLE RNN (the baselines), and the GAN (preset
jsb-choralegan; `--gan-preset jsb-musegan` for MuseGAN).

    python benchmarks/music.py                  # trains the GAN, then the RNN, and scores both
    python benchmarks/music.py --train-only gan --runs DIR   # trains one into DIR/PRESET
    python benchmarks/music.py --gan-run DIR --rnn-run DIR   # scores finished runs instead

Each run trains on one thread, one run at a time; its wall and CPU seconds are written beside it
(train_time.json), so a run scored later keeps its training cost.
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import tempfile
import time
from pathlib import Path

import numpy as np
import torch
from common import save, settings

from gankit.metrics.music import ALL_KEYS, MAJOR, binarize, roll_metrics
from gankit.models.musegan import TIME_BLOCK

N_SAMPLES = 1000
N_SHOWN = 8  # random segments per row in the piano-roll picture and the MIDI file
N_AUDIO = 2  # of them in the WAV (~20 s, ~0.6 MB: 8 would be 2.6 MB a row)
SAMPLE_SEED = 0  # the seed of every model row's samples and of the choice of shown segments
DISTANCES = {"pc_hist_distance", "test_nll"}  # already "lower is closer"; others: |x - data|


TRAIN_TIME = "train_time.json"  # written beside a run by `train`: wall and CPU seconds


def train(preset: str, data_path: str, out: Path) -> Path:
    """Trains `preset` into `out` on one thread; records its wall and CPU (process) seconds."""
    torch.set_num_threads(1)
    from gankit import api

    wall, cpu = time.perf_counter(), time.process_time()
    overrides = [
        f"data.path={data_path}",
        "train.progress=false",
        "train.tensorboard=false",
        "train.threads=1",
    ]
    api.train(preset, overrides=overrides, out=out)
    spent = {"wall_s": time.perf_counter() - wall, "cpu_s": time.process_time() - cpu}
    (out / TRAIN_TIME).write_text(json.dumps(spent))
    return out


def training_seconds(run: Path) -> dict[str, float | None]:
    """Wall and CPU seconds of training of a finished run: its train_time.json, else the wall
    time of its metrics.jsonl (CPU unknown)."""
    if (run / TRAIN_TIME).is_file():
        return json.loads((run / TRAIN_TIME).read_text())
    rows = [json.loads(line) for line in (run / "metrics.jsonl").read_text().splitlines()]
    return {"wall_s": max(r.get("time", 0.0) for r in rows), "cpu_s": None}


def random_in_key(n: int, shape: tuple[int, int], info: dict, seed: int = 0) -> np.ndarray:
    """Bool rolls [n, T, P]: each beat four distinct random pitches of one random major key per
    segment, held for the beat: the "random notes in key" baseline."""
    rng = np.random.default_rng(seed)
    steps, pitches = shape
    res, low = int(info["resolution"]), int(info["pitch_low"])
    rolls = np.zeros((n, steps, pitches), dtype=bool)
    for i in range(n):
        key = rng.integers(12)
        rows = [r for r in range(pitches) if (r + low - key) % 12 in MAJOR]
        for beat in range(0, steps, res):
            rolls[i, beat : beat + res, rng.choice(rows, 4, replace=False)] = True
    return rolls


def diversity(rolls: np.ndarray, n: int = 200) -> float:
    """Mean share of roll cells in which two of the first n segments differ (all pairs): near 0
    when G draws the same segment for every z (mode collapse). Reported, not a target."""
    flat = rolls[:n].reshape(min(n, len(rolls)), -1).astype(np.float32)
    ones = flat.sum(1)
    both = flat @ flat.T  # cells on in both
    differ = ones[:, None] + ones[None, :] - 2 * both
    k = len(flat)
    return float((differ.sum() / (k * (k - 1))) / flat.shape[1])


def closeness(rows: list[dict]) -> None:
    """Adds `<key>_gap` to every non-data row: how far from the data row (lower is closer)."""
    data = next(r for r in rows if r["source"] == "data")
    for r in rows:
        if r["source"] == "data":
            continue
        for key in (*ALL_KEYS, "test_nll"):
            if r.get(key) is None:
                continue
            r[f"{key}_gap"] = r[key] if key in DISTANCES else abs(r[key] - data[key])


def shown(x: np.ndarray, n: int = N_SHOWN) -> np.ndarray:
    """n segments of bool rolls x [N, T, P] chosen at random (seed SAMPLE_SEED), not the first
    n: the test split's first segments are neighbouring bars of one chorale."""
    pick = np.random.default_rng(SAMPLE_SEED).choice(len(x), min(n, len(x)), replace=False)
    return x[np.sort(pick)]


def render(
    x: np.ndarray, info: dict, out: Path, name: str, title: str, pick: bool = True
) -> list[str]:
    """MIDI and piano-roll PNG of N_SHOWN random segments (the first ones without `pick`), and
    a WAV of N_AUDIO of them, into the results folder."""
    from gankit.viz.music import write_midi, write_piano_rolls, write_wav

    path = out / f"music_{name}.mid"
    rolls = shown(x) if pick else x[:N_SHOWN]
    write_midi(rolls, info, path)  # pretty_midi and wave overwrite: each invocation renews
    write_wav(rolls[:N_AUDIO], info, path.with_suffix(".wav"))
    write_piano_rolls(rolls, info, path.with_suffix(".png"), title, nrow=4)
    return [path.name, path.with_suffix(".wav").name, path.with_suffix(".png").name]


BEFORE = (
    "Before ChoraleGAN (2026-11-27, preset jsb-musegan, 20 min): MuseGAN was mode-collapsed, "
    "every sample the same 4 bars (diversity 0.008 against the data's 0.136, 11.9 pitch classes "
    "a bar against 7.05), and farther from the data than the MLE RNN on 5 of 6 statistics "
    "(tied on empty bars)."
)


TRIED = (
    "How the preset was chosen (short runs on one thread, scored with these statistics on the "
    "test split; MuseGAN's settings not retried): WGAN-GP with 2 critic steps at lr 1e-3 was "
    "diverse after 750 steps (diversity 0.089) but rough (qualified notes 0.65, polyphony 3.37); "
    "lr 5e-4 with an EMA of G, 8th-note voices (model.note_steps=2) and one critic step "
    "collapsed or scored worse (polyphony 3.16, 1.03 and 1.09; the last diversity 0.000). A "
    "first 5,000-step run of the 2-critic-step setting drifted into unison (polyphony 3.0 at "
    "step 1,000, 1.3 at 2,000) and was stopped; the preset adds distinct voices and a linear "
    "learning-rate decay over the second half, and trained once, for the row above."
)


def write_markdown(rows: list[dict], path: Path, info: dict) -> None:
    names = {
        "empty_bar_rate": "empty bars",
        "pitch_classes_per_bar": "pitch classes / bar",
        "qualified_note_rate": "qualified notes",
        "polyphony": "polyphony",
        "in_scale_ratio": "in scale",
        "pc_hist_distance": "PC hist. distance",
        "test_nll": "test NLL",
    }
    keys = list(names)
    fmt = lambda v: "n/a" if v is None else f"{v:.3f}"  # noqa: E731
    mins = lambda v: "" if v is None else f"{v / 60:.1f}"  # noqa: E731
    lines = [
        "# Music metrics on the JSB chorales test split (`benchmarks/music.py`)",
        "",
        f"Machine: {info['machine']}; torch {info['torch']}. Date: {info['date']}. Each model "
        "trained on one thread, one at a time, on a machine shared with other jobs (wall time "
        "is about twice the CPU time); CPU time is the training process's own. Wall time of "
        f"the scoring: {info['total_wall_s'] / 60:.1f} min.",
        "",
        f"Data: `{info['data']}` (Boulanger-Lewandowski split, 16th-note SATB file), 4-bar "
        "segments (64 steps x 48 pitches, MIDI 36..83), one segment per bar of each piece. The "
        f"data row is all {info['n_test']} test segments; every model row is {N_SAMPLES} "
        f"samples (seed {SAMPLE_SEED}) binarised at 0; random-in-key is as many segments as the "
        "test split. Pitch-class histogram distance: total variation against the train split "
        "(so the data row is the test split's own distance). Qualified notes: notes of at "
        "least an 8th note (2 steps). Test NLL: nats per time step over all test segments, for "
        "the model with a likelihood only.",
        "",
        "| row | source | "
        + " | ".join(names[k] for k in keys)
        + " | diversity | steps | train CPU min | train wall min |",
        "|---|---|" + "---|" * (len(keys) + 4),
    ]
    for r in rows:
        cells = " | ".join(fmt(r.get(k)) for k in (*keys, "diversity"))
        lines.append(
            f"| {r['name']} | {r['source']} | {cells} | {r.get('steps', '')} | "
            f"{mins(r.get('cpu_s'))} | {mins(r.get('wall_s'))} |"
        )
    lines += [
        "",
        "Diversity: the mean share of cells in which two of the first 200 segments of a row "
        "differ; near 0 means the same segment for every z (mode collapse). Target: at least "
        "half the data's.",
        "",
        BEFORE,
        "",
        TRIED,
        "",
        "Distance to the data (|value - data| per statistic; the distances as they are; lower "
        "is closer):",
        "",
        "| row | " + " | ".join(names[k] for k in keys) + " |",
        "|---|" + "---|" * len(keys),
    ]
    for r in rows:
        if r["source"] != "data":
            lines.append(
                f"| {r['name']} | " + " | ".join(fmt(r.get(f"{k}_gap")) for k in keys) + " |"
            )
    lines += ["", "Models as trained (one thread each):", ""]
    for r in rows:
        if "model" in r:
            opts = ", ".join(f"{k}={v}" for k, v in r["model"].items() if k != "name")
            lines.append(
                f"- {r['name']}: `{r['model']['name']}` from preset `{r['preset']}`, {opts}; "
                f"batch {r['batch_size']}, training segments every {r['train_hop_beats']} beats, "
                f"train.seed {r['train_seed']}; {r['steps']} steps in "
                f"{mins(r.get('cpu_s'))} CPU min ({mins(r['wall_s'])} wall min)"
            )
    gan = next(r for r in rows if r["source"] == "gan")
    data = next(r for r in rows if r["source"] == "data")
    lines += [
        "",
        "Target: on every statistic the GAN is closer to the data than the baseline (a tie, "
        "such as 0.000 empty bars for both, is not closer; the GAN has no likelihood, so test "
        "NLL cannot be compared).",
        "",
    ]
    for r in rows:
        if r["source"] == "baseline":
            worse = [names[k] for k in ALL_KEYS if gan[f"{k}_gap"] > r[f"{k}_gap"]]
            tied = [names[k] for k in ALL_KEYS if gan[f"{k}_gap"] == r[f"{k}_gap"]]
            verdict = "met" if not worse + tied else "not met"
            verdict += f"; farther on {', '.join(worse)}" if worse else ""
            verdict += f"; tied (not closer) on {', '.join(tied)}" if tied else ""
            lines.append(f"- GAN vs {r['name']}: {verdict}.")
    half = gan["diversity"] >= data["diversity"] / 2
    lines.append(
        f"- GAN diversity {gan['diversity']:.3f} vs half the data's {data['diversity'] / 2:.3f}: "
        + ("met." if half else "not met.")
    )
    lines += [
        "",
        f"Samples: {N_SHOWN} random segments of each row (seed {SAMPLE_SEED}) as piano rolls "
        f"(time right, pitch up, dotted lines at bars) and MIDI; the WAV holds the first "
        f"{N_AUDIO} of them, to keep the files small.",
        "",
    ]
    for r in rows:
        png = r["files"][2]
        links = ", ".join(f"[{f}]({f})" for f in r["files"])
        lines += [f"### {r['name']}", "", links, "", f"![{r['name']}]({png})", ""]
        if "primed_files" in r:
            links = ", ".join(f"[{f}]({f})" for f in r["primed_files"])
            lines += [
                f"{r['name']} primed (as `gankit sample RUN --prime FILE.mid`): the first bar of "
                f"each of the {N_SHOWN} test segments shown above in the data row, bars 2-4 "
                "written by G (seed 0):",
                "",
                links,
                "",
                f"![{r['name']} primed]({r['primed_files'][2]})",
                "",
            ]
    path.write_text("\n".join(lines))


def model_row(k: str, run: Path, preset: str, data, info: dict, out: Path) -> dict:
    """The statistics, diversity, training cost and rendered samples of a finished run."""
    from gankit import api
    from gankit.metrics import evaluate

    model, _, cfg, step = api.load_run(run, with_data=False)
    metrics = ["music", "test-nll"] if hasattr(model, "test_nll") else ["music"]
    results = evaluate(model, data, metrics, N_SAMPLES, seed=SAMPLE_SEED)
    name = NAMES.get(cfg.model.name, cfg.model.name)
    row = {
        "source": "gan" if k == "gan" else "baseline",
        "name": name,
        "preset": preset,
        "model": dataclasses.asdict(cfg.model),  # as trained, overrides included
        "batch_size": cfg.train.batch_size,
        "train_hop_beats": cfg.data.hop_beats,
        "train_seed": cfg.train.seed,
        "sample_seed": SAMPLE_SEED,
    }
    row |= {key.removeprefix("eval/"): v for key, v in results.items() if not isinstance(v, str)}
    row.setdefault("test_nll", None)
    row |= {"steps": step, **training_seconds(run), "run": str(run)}
    samples = binarize(model.sample(N_SAMPLES, seed=SAMPLE_SEED))  # what `evaluate` scored
    row["diversity"] = diversity(samples)
    row["files"] = render(samples, info, out, k, f"{name}: {N_SHOWN} random samples")
    if "prime" in model.spec.sample_options:  # continuations of the first bars of test segments
        test = binarize(data.reference(10**9, "test")[0])
        primes = torch.from_numpy(shown(test)[:, :TIME_BLOCK])
        cont = binarize(model.sample(len(primes), seed=SAMPLE_SEED, prime=primes))
        title = f"{name}: bars 2-4 written after the first bar of {len(primes)} test segments"
        row["primed_files"] = render(cont, info, out, f"{k}_primed", title, pick=False)
    return row


NAMES = {"music-rnn": "MLE RNN (music-rnn)", "musegan": "MuseGAN", "choralegan": "ChoraleGAN"}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--data", default="", help="JSB JSON (default: the file shipped with gankit)")
    ap.add_argument("--gan-preset", default="jsb-choralegan")
    ap.add_argument("--rnn-preset", default="jsb-rnn")
    ap.add_argument("--gan-run", type=Path, help="score this finished run instead of training")
    ap.add_argument("--rnn-run", type=Path, help="score this finished run instead of training")
    ap.add_argument("--train-only", choices=("gan", "rnn"), help="train this one and stop")
    ap.add_argument("--runs", type=Path, help="folder for trained runs (default: a temp folder)")
    ap.add_argument("--out", type=Path, default=Path(__file__).parent / "results")
    args = ap.parse_args()
    start = time.perf_counter()
    torch.set_num_threads(1)
    presets = {"gan": args.gan_preset, "rnn": args.rnn_preset}
    runs = {"gan": args.gan_run, "rnn": args.rnn_run}
    todo = [args.train_only] if args.train_only else [k for k in runs if not runs[k]]
    root = args.runs or Path(tempfile.mkdtemp(prefix="music-bench-"))
    for k in todo:  # one at a time: each on one thread, the other core left to the machine
        runs[k] = train(presets[k], args.data, root / presets[k])
        print(f"trained {k}: {runs[k]} {json.loads((runs[k] / TRAIN_TIME).read_text())}")
    if args.train_only:
        return

    from gankit.config import resolve_config
    from gankit.data import build_data

    # the protocol's own data (a segment per bar), whatever segments the runs trained on
    cfg = resolve_config(data="jsb-chorales", overrides=[f"data.path={args.data}"])
    data = build_data(cfg.data, seed=0)
    info = data.info()
    train_rolls = binarize(data.reference(10**9, "train")[0])
    test_rolls = binarize(data.reference(10**9, "test")[0])
    rand = random_in_key(len(test_rolls), test_rolls.shape[1:], info)
    rows = []
    for source, name, key, rolls in (
        ("data", "JSB test split", "data", test_rolls),
        ("baseline", "random notes in key", "random_in_key", rand),
    ):
        row = {"source": source, "name": name, **roll_metrics(rolls, train_rolls, info)}
        row["files"] = render(rolls, info, args.out, key, f"{name}: {N_SHOWN} random segments")
        row |= {"diversity": diversity(rolls), "test_nll": None}
        rows.append(row)
    rows.append(model_row("rnn", runs["rnn"], presets["rnn"], data, info, args.out))
    rows.append(model_row("gan", runs["gan"], presets["gan"], data, info, args.out))
    closeness(rows)
    extra = settings(
        data=info["source"], n_test=len(test_rolls), total_wall_s=time.perf_counter() - start
    )
    for r in rows:  # the json alone says where and when each row was measured
        r |= {k: extra[k] for k in ("machine", "torch", "date")}
    save(args.out / "music", rows, extra, write_markdown)


if __name__ == "__main__":
    main()
