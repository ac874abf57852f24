"""The `gankit` command: list, train, sample, eval, translate, nightmare, export, report, serve."""

from __future__ import annotations

import json
import re
import sys
from pathlib import Path
from typing import Annotated

import numpy as np
import typer

from gankit.errors import GankitError
from gankit.files import free_path

try:  # typer >= 0.22 carries its own copy of click
    from typer._click.exceptions import ClickException
except ImportError:  # older typer runs on click itself
    from click.exceptions import ClickException

app = typer.Typer(
    add_completion=False,
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    help="gankit: train, sample, evaluate and report generative adversarial networks.",
)

LIST_KINDS = ("models", "datasets", "presets", "metrics")
_ARGV: list[str] = []  # the command line, for `train --nproc` to hand on to torchrun


def _echo_table(rows: list[tuple[str, str]]) -> None:
    width = max((len(n) for n, _ in rows), default=0)
    for name, text in rows:
        typer.echo(f"  {name:<{width}}  {text}")


@app.command("list")
def list_(
    what: Annotated[str, typer.Argument(help="models, datasets, presets or metrics")] = "",
) -> None:
    """List what can be named: models, data sets, presets, metrics."""
    from gankit.config import list_presets
    from gankit.registry import DATASETS, METRICS, MODELS

    if what and what not in LIST_KINDS:
        raise GankitError(f"cannot list {what!r}; choose one of: {', '.join(LIST_KINDS)}")
    tables = {
        "models": [(e.name, e.help) for e in MODELS.entries()],
        "datasets": [(e.name, e.help) for e in DATASETS.entries()],
        "presets": list(list_presets().items()),
        "metrics": [(e.name, e.help) for e in METRICS.entries()],
    }
    for kind in [what] if what else LIST_KINDS:
        typer.echo(f"{kind}:")
        _echo_table(tables[kind])


@app.command()
def train(
    preset: Annotated[
        str | None, typer.Argument(help="a preset name (`gankit list presets`)")
    ] = None,
    model: Annotated[str | None, typer.Option(help="model name (`gankit list models`)")] = None,
    data: Annotated[
        str | None,
        typer.Option(
            help="data set name, a folder of images, a .npy/.csv file of points or a .txt file"
        ),
    ] = None,
    steps: Annotated[int | None, typer.Option(help="train this many steps in all")] = None,
    out: Annotated[Path | None, typer.Option(help="run folder (default runs/NAME-TIME)")] = None,
    set_: Annotated[
        list[str] | None,
        typer.Option("--set", help="override a config value: --set model.lr_g=1e-4"),
    ] = None,
    resume: Annotated[
        Path | None, typer.Option(help="continue the run in this folder from its last checkpoint")
    ] = None,
    nproc: Annotated[
        int | None,
        typer.Option(help="train data-parallel in this many processes (runs torchrun for you)"),
    ] = None,
) -> None:
    """Train a GAN (the `default` preset when nothing is named); or continue one with --resume."""
    from gankit import api
    from gankit.registry import DATASETS
    from gankit.training.control import TrainingStopped

    if nproc is not None:
        _relaunch_with_torchrun(nproc)
    if resume is not None:
        given = [
            name
            for name, v in [
                ("PRESET", preset),
                ("--model", model),
                ("--data", data),
                ("--out", out),
            ]
            if v
        ]
        if given:
            raise GankitError(
                f"--resume continues a run as configured; drop {', '.join(given)} "
                "(only --steps and --set train.time_limit=SECONDS may change)"
            )
        trainer = api.prepare_resume(resume, steps, set_)
    else:
        if preset is None and model is None and data is None:
            preset = "default"
        overrides = list(set_ or [])
        if data and Path(data).suffix.lower() in (".npy", ".csv"):
            overrides.append(f"data.path={data}")
            data = "points"
        elif data and Path(data).suffix.lower() == ".txt":
            overrides.append(f"data.path={data}")
            data = "text"
        elif data and ("/" in data or (Path(data).is_dir() and data not in DATASETS.names())):
            overrides.append(f"data.path={data}")
            data = "folder"
        if steps is not None:
            overrides.append(f"train.steps={steps}")
        trainer = api.prepare(preset, model, data, overrides, out)
    main = trainer.ranks.is_main  # under torchrun, one process speaks
    if main:
        typer.echo(f"run folder: {trainer.run.path} (from step {trainer.step})")
        t = trainer.cfg.train
        threads = f"{trainer.threads} thread{'s' * (trainer.threads > 1)}"
        layout = ", channels-last" if trainer.channels_last else ""
        typer.echo(f"precision {t.precision} ({trainer.precision_reason}){layout}, {threads}")
        mb = trainer.checkpoint_bytes() / 2**20
        size = f"{mb:,.0f}" if mb >= 10 else f"{mb:.1f}"
        typer.echo(f"checkpoints about {size} MB each, {t.keep_last} kept (train.keep_last)")
    try:
        trainer.fit()
    except KeyboardInterrupt as e:
        how = "after a checkpointed step" if isinstance(e, TrainingStopped) else "at once"
        resume_hint = f"`gankit train --resume {trainer.run.path}` goes on from its last checkpoint"
        if main:
            typer.echo(f"gankit: stopped {how}; {resume_hint}", err=True)
        sys.exit(130)
    if main:
        _print_results(trainer.run.path, trainer.step)


def _relaunch_with_torchrun(nproc: int) -> None:
    """`gankit train --nproc N ...` is `torchrun --standalone --nproc_per_node N -m gankit
    train ...`: torchrun starts, watches and stops the processes."""
    import os
    import subprocess

    if nproc < 1:
        raise GankitError(f"--nproc must be at least 1, got {nproc}")
    if nproc == 1 or os.environ.get("WORLD_SIZE"):
        return  # one process, or already one of torchrun's
    args, skip = [], False
    for a in _ARGV:
        if skip:
            skip = False
        elif a == "--nproc":
            skip = True
        elif not a.startswith("--nproc="):
            args.append(a)
    cmd = [sys.executable, "-m", "torch.distributed.run", "--standalone"]
    cmd += ["--nproc_per_node", str(nproc), "-m", "gankit", *args]
    sys.exit(subprocess.run(cmd).returncode)


def _print_results(run_dir: Path, step: int) -> None:
    from gankit.viz import read_metrics

    evals = [
        r for r in read_metrics(run_dir / "metrics.jsonl") if any(k.startswith("eval/") for k in r)
    ]
    typer.echo(f"trained to step {step}")
    if evals:
        typer.echo(
            "  "
            + "  ".join(
                f"{k[5:]} {v:.4g}"
                for k, v in evals[-1].items()
                if k.startswith("eval/") and not isinstance(v, str)  # protocols: metrics.jsonl
            )
        )
    report = run_dir / "report.html"
    if report.exists():
        typer.echo(f"report: {report}")


@app.command()
def sample(
    run_dir: Annotated[Path, typer.Argument(help="a run folder")],
    n: Annotated[int, typer.Option(help="how many samples")] = 1000,
    out: Annotated[
        Path | None,
        typer.Option(
            help="file to write: .png, .npy or .csv for images; .txt or .npy for text; .mid for "
            "music (with .png and .wav beside it)"
        ),
    ] = None,
    seed: Annotated[int, typer.Option(help="noise seed")] = 0,
    class_: Annotated[
        int | None,
        typer.Option("--class", help="draw only this class (conditional models); default: all"),
    ] = None,
    temperature: Annotated[
        float | None, typer.Option(help="softmax temperature (text models); default 1")
    ] = None,
    prime: Annotated[
        Path | None,
        typer.Option(
            help="a MIDI file whose first bar every sample starts with, the rest generated "
            "(music models that continue a bar: choralegan)"
        ),
    ] = None,
) -> None:
    """Draw samples from a trained run and write them to a file (text is printed too)."""
    import torch

    from gankit import api
    from gankit.training.run import RunDir
    from gankit.viz.samples import write_samples, writer_for

    if n < 1:
        raise GankitError(f"--n must be at least 1, got {n}")
    info = RunDir.open(run_dir).read_data_info()
    tag = "" if class_ is None else f"_class{class_}"
    default = writer_for(info).suffixes[0]
    out = out or free_path(Path(run_dir) / "samples" / f"sample_n{n}_seed{seed}{tag}{default}")
    if out.suffix.lower() not in writer_for(info).suffixes:
        write_samples(np.zeros(0), info, out)  # raises: the suffixes this run's data allows
    if out.exists():
        raise GankitError(f"{out} exists; choose another --out (gankit never overwrites a file)")
    model, _, cfg, step = api.load_run(run_dir, with_data=False)
    labels, nrow = None, None
    if class_ is not None:
        if not model.spec.conditional:
            raise GankitError(
                f"--class needs a conditional model ({_models_that('conditional')}); {run_dir} "
                f"was trained with {cfg.model.name!r}"
            )
        labels = torch.full((n,), class_)
    elif model.num_classes:  # one row per class, as many columns as fit
        nrow = max(1, n // model.num_classes)
        labels = torch.arange(n) // nrow % model.num_classes
    extra = {}
    if temperature is not None:
        if "temperature" not in model.spec.sample_options:
            raise GankitError(
                f"--temperature needs a model that samples with a temperature "
                f"({_models_that('temperature')}); {run_dir} was trained with {cfg.model.name!r}"
            )
        extra["temperature"] = temperature
    if prime is not None:
        extra["prime"] = api.prime_bar_for(model, prime, info, run_dir)
    x = model.sample(n, seed=seed, labels=labels, **extra).cpu().numpy()
    write_samples(x, info, out, f"{n} samples, step {step}", nrow=nrow)
    if out.suffix.lower() == ".txt":
        typer.echo(out.read_text(encoding="utf-8"), nl=False)
    typer.echo(f"wrote {n} samples to {out}")


@app.command("eval")
def eval_(
    run_dir: Annotated[Path, typer.Argument(help="a run folder")],
    metric: Annotated[
        list[str] | None, typer.Option(help="metric name (`gankit list metrics`); repeatable")
    ] = None,
    n: Annotated[int | None, typer.Option(help="samples to score (default: the run's)")] = None,
    seed: Annotated[int, typer.Option(help="noise seed")] = 0,
    data: Annotated[
        str | None, typer.Option(help="score against this data set instead of the run's own")
    ] = None,
    set_: Annotated[
        list[str] | None,
        typer.Option("--set", help="data option for --data, e.g. data.img_size=32; repeatable"),
    ] = None,
    reference: Annotated[
        Path | None,
        typer.Option(
            help="text runs: your held-out file (one sentence a line) for bleu and nll-test, "
            "instead of the data's test split"
        ),
    ] = None,
) -> None:
    """Evaluate a run's latest checkpoint; prints and appends to its metrics.jsonl."""
    from gankit import api
    from gankit.config import resolve_config
    from gankit.data import build_data
    from gankit.metrics import check_metrics, evaluate
    from gankit.registry import METRICS
    from gankit.training.run import RunDir

    if n is not None and n < 1:
        raise GankitError(f"--n must be at least 1, got {n}")
    if set_ and not data:
        raise GankitError("--set needs --data: it sets options of the data set to score against")
    names = list(metric or [])
    for name in names:
        METRICS.entry(name)  # unknown names fail before the model is loaded
    model, source, cfg, step = api.load_run(run_dir, with_data=data is None)
    if data is not None:
        bad = [o for o in set_ or [] if not o.startswith("data.")]
        if bad:
            raise GankitError(f"--set takes data options only (data.KEY=VALUE), got {bad[0]!r}")
        source = build_data(resolve_config(data=data, overrides=set_).data, seed=cfg.train.seed)
        # text of any length is re-read with the run's tokenizer and vocabulary (metrics.text)
        other_shape = tuple(source.shape) != tuple(model.data_shape)
        if other_shape and model.spec.data_kind != "text":
            raise GankitError(
                f"{run_dir} makes samples of shape {list(model.data_shape)} but data {data!r} "
                f"gives {list(source.shape)}; choose data of the run's shape (e.g. --set "
                "data.img_size=... and data.channels=...)"
            )
    if reference is not None:
        from gankit.data.text import with_held_out_text

        if model.spec.data_kind != "text":
            raise GankitError(f"--reference is for text runs; {run_dir} is a {cfg.model.name} run")
        with_held_out_text(source, str(reference))
        names = names or ["bleu", "nll-test"]
    names = names or list(cfg.train.metrics or source.default_metrics)
    if not names:
        raise GankitError(
            f"no metric applies by default to {source.cfg.name!r}; name one with --metric"
        )
    check_metrics(names, source)
    results = evaluate(model, source, names, n or cfg.train.n_samples, seed=seed)
    row = {"step": step, "source": "gankit eval", **results}
    if data is not None:
        row["data"] = data
    if reference is not None:
        row["reference"] = str(source.held_out_text.cfg.path)
    RunDir.open(run_dir).append_metrics(row)
    typer.echo(json.dumps({"step": step, **results}))


@app.command()
def translate(
    run_dir: Annotated[Path, typer.Argument(help="a run of a translator (pix2pix, cyclegan)")],
    inputs: Annotated[list[Path], typer.Argument(help="image files or folders of images")],
    out: Annotated[Path, typer.Option(help="folder for the translations (same file names)")],
    direction: Annotated[str, typer.Option(help="AtoB or BtoA (CycleGAN)")] = "AtoB",
    max_pixels: Annotated[
        int, typer.Option(help="larger images are translated in tiles with blended seams")
    ] = 1024 * 1024,
    max_image_pixels: Annotated[
        int,
        typer.Option(help="refuse larger images (a guard against decompression bombs)", min=1),
    ] = 89_478_485,  # PIL's own limit, as gankit.data.pixels.MAX_IMAGE_PIXELS
) -> None:
    """Translate your own images of any size with a trained pix2pix or CycleGAN."""
    from gankit import api
    from gankit.translate import translate_files

    model = api.load(run_dir)
    written = translate_files(
        model, list(inputs), out, direction, max_pixels, max_image_pixels=max_image_pixels
    )
    typer.echo(f"wrote {len(written)} translated image(s) to {out}")


@app.command()
def nightmare(
    faces: Annotated[
        Path | None,
        typer.Option(help="a run of an image GAN trained on faces (default: train one first)"),
    ] = None,
    photos: Annotated[
        list[Path] | None,
        typer.Option(help="your photos, files or folders; repeatable (default: skimage's)"),
    ] = None,
    style: Annotated[
        Path | None, typer.Option(help="train a style network on this image of your own")
    ] = None,
    style_net: Annotated[
        Path | None, typer.Option(help="a style_net.safetensors an earlier nightmare trained")
    ] = None,
    steps: Annotated[
        int | None, typer.Option(help="training steps of a --style network (default 1000)", min=1)
    ] = None,
    n_faces: Annotated[int, typer.Option(help="faces to haunt; 0 for none", min=0)] = 16,
    faces_steps: Annotated[
        int | None,
        typer.Option(help="training steps of the faces GAN when no --faces (default 1500)", min=1),
    ] = None,
    size: Annotated[
        int, typer.Option(help="pixels: faces' side, photos' longer side", min=64)
    ] = 256,
    seed: Annotated[int, typer.Option(help="seed of the faces drawn (and of any training)")] = 0,
    out: Annotated[
        Path | None, typer.Option(help="a new folder to write (default runs/nightmare-TIME)")
    ] = None,
) -> None:
    """MIT's Nightmare Machine: haunted faces from a faces GAN and your photos made
    frightening by a learned style; images and nightmare.html in a new folder."""
    from gankit.nightmare import StyleTraining, haunt
    from gankit.nightmare.haunt import FACES_STEPS

    result = haunt(
        out, faces, n_faces, faces_steps or FACES_STEPS, photos, style, style_net,
        StyleTraining(seed=seed, **({"steps": steps} if steps else {})), size, seed,
    )  # fmt: skip
    typer.echo(
        f"haunted {len(result.faces)} face(s) and {len(result.places)} place(s), "
        f"{result.seconds_per_image:.2f} s each: {result.out / 'nightmare.html'}"
    )


@app.command()
def export(
    run_dir: Annotated[Path, typer.Argument(help="a run folder")],
    out: Annotated[
        Path | None, typer.Option(help="folder to write (default RUN_DIR/export)")
    ] = None,
) -> None:
    """Write a run's weights as safetensors, with its config, for sharing; gankit loads it back."""
    from gankit import api

    typer.echo(f"wrote {api.export_run(run_dir, out)}")


@app.command()
def report(run_dir: Annotated[Path, typer.Argument(help="a run folder")]) -> None:
    """Write RUN_DIR/report.html: config, curves, samples, time-lapse, metrics."""
    from gankit.api import report as write_report
    from gankit.training.run import RunDir

    RunDir.open(run_dir)
    typer.echo(f"wrote {write_report(run_dir)}")


@app.command()
def serve(
    runs: Annotated[list[Path], typer.Argument(help="run folders, or folders of runs")],
    host: Annotated[
        str, typer.Option(help="address to listen on; 0.0.0.0 opens it to your network")
    ] = "127.0.0.1",
    port: Annotated[int, typer.Option(help="port to listen on", min=1, max=65535)] = 7860,
    max_image_pixels: Annotated[
        int, typer.Option(help="refuse uploads above this many pixels", min=1)
    ] = 16 * 1024 * 1024,  # as gankit.serve.actions.DEFAULT_MAX_IMAGE_PIXELS
) -> None:
    """A local web page to play with trained runs: sample, interpolate, translate, generate."""
    from gankit.serve import serve_runs

    serve_runs(list(runs), host, port, max_image_pixels)


def main(argv: list[str] | None = None) -> None:
    """Runs the CLI; a user's mistake is one line on stderr and exit code 2, never a traceback."""
    global _ARGV
    _ARGV = list(sys.argv[1:] if argv is None else argv)
    try:
        rv = app(args=argv, standalone_mode=False, prog_name="gankit")
    except GankitError as e:
        message = " ".join(str(e).split())  # one line, even when a library's reason has more
        typer.echo(f"gankit: error: {message}", err=True)
        sys.exit(2)
    except ClickException as e:
        e.show()
        sys.exit(e.exit_code)
    except (MemoryError, RuntimeError) as e:
        if not _out_of_memory(e):
            raise
        typer.echo(f"gankit: error: {_out_of_memory(e)}", err=True)
        sys.exit(2)
    except (typer.Abort, KeyboardInterrupt):
        typer.echo("gankit: interrupted", err=True)
        sys.exit(130)
    sys.exit(rv if isinstance(rv, int) else 0)


def _out_of_memory(e: BaseException) -> str | None:
    """One line for a failed allocation (settings too large for the machine, not a bug), or
    None when `e` is another error. torch says it as a RuntimeError (CPU), OutOfMemoryError
    (CUDA, a RuntimeError too) or Python as MemoryError."""
    text = str(e)
    if not (
        isinstance(e, MemoryError)
        or type(e).__name__ == "OutOfMemoryError"
        or "can't allocate memory" in text
    ):
        return None
    tried = re.search(r"allocate (\d+) bytes", text)
    size = f" (an allocation of {int(tried[1]) / 2**30:.1f} GiB failed)" if tried else ""
    return (
        f"out of memory{size}: lower train.batch_size (or data.img_size, or the nets' width); "
        "a run's checkpoints so far are intact"
    )


def _models_that(declare: str) -> str:
    """The registered models that declare `conditional`, or a sample option such as
    `temperature`, for messages."""
    from gankit.registry import MODELS

    return ", ".join(
        e.name
        for e in MODELS.entries()
        if (e.spec.conditional if declare == "conditional" else declare in e.spec.sample_options)
    )
