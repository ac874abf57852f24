"""SeqGAN's synthetic-data experiment (Yu et al. 2017, Table 1): NLL_oracle after MLE
pre-training and after adversarial training, per model and seed.

The oracle LSTM (seqgan-oracle-params.npz) draws 10,000 training sequences of 20 tokens; NLL_oracle
is the oracle's mean per-token NLL of 10,000 generated sequences (lower is better).

Models (`--models`, any of RUNNERS): `seqgan` trains the `oracle-seqgan` preset once per seed and
gives two rows, `mle` (its generator at the end of MLE pre-training) and `seqgan` (the same
generator after the adversarial phase); `mle` alone trains the same preset only to the end of its
MLE phase (the same numbers, as runs are deterministic on one thread). Rows are keyed by
(model, seed): the rows of models and seeds not run this time are kept from the existing json,
and the markdown renders every row of the json, whatever script version wrote it.

    python benchmarks/seqgan_oracle.py --models mle seqgan --seeds 0 1 2

A runner is `run_MODEL(seed, args) -> {"rows": [...], "config": {...}}`; a new model slots in
by adding one to RUNNERS (and its published numbers to PUBLISHED). Each (model, seed) trains in
a fresh process on one thread (one at a time by default, --workers for more); a row records its
wall time and the CPU time of its own process.
"""

from __future__ import annotations

import argparse
import tempfile
import time
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path

import torch
from common import gather, mean_se, merge_rows, render_again, save, settings, settings_section

STEM = "seqgan_oracle"  # results/STEM.md and .json
PRESET = "oracle-seqgan"
MODEL_ORDER = ("mle", "seqgan", "relgan")  # table order; models not listed come after
PUBLISHED = [  # SeqGAN paper, Table 1, and the authors' code log
    ("random generator", 10.310),
    ("MLE", 9.038),
    ("scheduled sampling", 8.985),
    ("PG-BLEU", 8.946),
    ("SeqGAN (paper)", 8.736),
    ("SeqGAN (authors' code log)", 8.68),
    ("RelGAN (Nie et al. 2019), length 20", 6.680),
]


def machine() -> str:
    import os
    import platform

    from gankit.training.hardware import cpu_name

    return f"{cpu_name()}, {platform.machine()}, {os.cpu_count()} cores"


def prepare(preset: str, seed: int, args) -> tuple:
    """A Trainer for `preset` at `seed` (the oracle of --oracle, the --set overrides), its run
    folder, and the overrides given."""
    torch.set_num_threads(1)
    from gankit import api

    out = Path(tempfile.mkdtemp(prefix="seqgan-oracle-")) / f"s{seed}"
    sets = [
        f"train.seed={seed}",
        "train.progress=false",
        "train.tensorboard=false",
        "train.report=false",
        "train.threads=1",
        *([f"data.path={args.oracle}"] if args.oracle else []),
        *args.set,
    ]
    return api.prepare(preset, overrides=sets, out=out), out


def train_to(trainer, milestones: list[int], label: str) -> list[dict]:
    """Trains to each milestone step in turn; fit() evaluates NLL_oracle (10,000 samples) when it
    reaches one. Returns the curve: step, NLL_oracle, wall and CPU seconds since the start."""
    wall0, cpu0 = time.perf_counter(), time.process_time()
    curve = []
    for stop in sorted(set(milestones)):
        if stop <= trainer.step:
            continue
        trainer.cfg.train.steps = stop
        results = trainer.fit()
        curve.append(
            {
                "step": stop,
                "nll_oracle": results["eval/nll_oracle"],
                "wall_s": round(time.perf_counter() - wall0, 1),
                "cpu_s": round(time.process_time() - cpu0, 1),
            }
        )
        print(f"{label} step {stop}: {curve[-1]}", flush=True)
    return curve


def schedule(cfg) -> str:
    """The training schedule of a run's config in a few words, for the table."""
    m = cfg.model
    if m.name == "relgan":
        adv = cfg.train.steps - m.mle_steps
        return f"MLE {m.mle_steps}, adversarial {adv} (beta_max {m.beta_max:g})"
    if m.name != "seqgan":
        return f"{m.name}, {cfg.train.steps} steps"
    adv = cfg.train.steps - m.mle_steps - m.d_pretrain_steps
    return (f"MLE {m.mle_steps}, D {m.d_pretrain_steps}x{m.d_steps}, adversarial {adv} "
            f"({m.rollouts} rollouts, {m.d_steps} D updates)")  # fmt: skip


def row(model: str, seed: int, curve: list[dict], out: Path, args, cfg=None) -> dict:
    """A result row: the curve's last point, the whole curve, and how it was measured."""
    last = curve[-1]
    return {
        **({"schedule": schedule(cfg)} if cfg is not None else {}),
        "model": model,
        "seed": seed,
        "steps": last["step"],
        "nll_oracle": last["nll_oracle"],
        "wall_s": last["wall_s"],
        "cpu_s": last["cpu_s"],
        "threads": 1,
        "machine": machine(),
        "overrides": list(args.set),
        "curve": [(c["step"], round(c["nll_oracle"], 4)) for c in curve],
        "run": str(out),
    }


def mle_milestones(mle_steps: int, every: int) -> list[int]:
    return [*range(every, mle_steps, every), mle_steps] if every else [mle_steps]


def run_mle(seed: int, args) -> dict:
    """The `mle` row alone: oracle-seqgan trained to the end of its MLE phase."""
    trainer, out = prepare(PRESET, seed, args)
    cfg = trainer.cfg
    curve = train_to(trainer, mle_milestones(cfg.model.mle_steps, args.mle_eval_every), "mle")
    return {"rows": [row("mle", seed, curve, out, args, cfg)], "config": cfg.to_dict()}


def run_seqgan(seed: int, args) -> dict:
    """The `mle` and `seqgan` rows of one oracle-seqgan run: its generator at the end of MLE and
    at the end of the adversarial phase (evaluated every --adv-eval-every steps on the way)."""
    trainer, out = prepare(PRESET, seed, args)
    cfg = trainer.cfg
    mle_steps, total = cfg.model.mle_steps, cfg.train.steps
    adv_start = mle_steps + cfg.model.d_pretrain_steps
    every = args.adv_eval_every
    milestones = [
        *mle_milestones(mle_steps, args.mle_eval_every),
        *range(adv_start + every, total, every),
        total,
    ]
    curve = train_to(trainer, milestones, f"seqgan seed {seed}")
    mle = [c for c in curve if c["step"] <= mle_steps]
    rows = [row("mle", seed, mle, out, args, cfg), row("seqgan", seed, curve, out, args, cfg)]
    return {"rows": rows, "config": cfg.to_dict()}


def run_relgan(seed: int, args) -> dict:
    """The `relgan` row: the oracle-relgan preset (MLE, then Gumbel-softmax adversarial
    training), evaluated at the end of MLE and every --adv-eval-every adversarial steps."""
    trainer, out = prepare("oracle-relgan", seed, args)
    cfg = trainer.cfg
    mle_steps, total, every = cfg.model.mle_steps, cfg.train.steps, args.adv_eval_every
    milestones = [
        *mle_milestones(mle_steps, args.mle_eval_every),
        *range(mle_steps + every, total, every),
        total,
    ]
    curve = train_to(trainer, milestones, f"relgan seed {seed}")
    return {"rows": [row("relgan", seed, curve, out, args, cfg)], "config": cfg.to_dict()}


RUNNERS = {"mle": run_mle, "seqgan": run_seqgan, "relgan": run_relgan}
# a runner that also gives another model's row: running both would measure that row twice
COVERS = {"seqgan": {"mle"}}


def jobs(models: list[str], seeds: list[int]) -> list[tuple[str, int]]:
    covered = set().union(*(COVERS.get(m, set()) for m in models))
    return [(m, s) for m in models if m not in covered for s in seeds]


def run_job(model: str, seed: int, args) -> dict:
    return RUNNERS[model](seed, args)


def model_rank(model: str) -> tuple:
    base = model.split("+")[0]  # a tagged variant sorts after its model
    return (MODEL_ORDER.index(base) if base in MODEL_ORDER else len(MODEL_ORDER), model)


def fmt(value, spec: str) -> str:
    return "" if value is None else format(value, spec)


def write_markdown(rows: list[dict], path: Path, info: dict) -> None:
    rows = sorted(rows, key=lambda r: (model_rank(r["model"]), r["seed"]))
    lines = [
        "# SeqGAN oracle experiment: NLL_oracle (lower is better)",
        "",
        "Yu et al. 2017, Table 1 setting: oracle LSTM (vocabulary 5,000, embedding 32, hidden 32),",
        "10,000 training sequences of 20 tokens, NLL_oracle on 10,000 generated sequences.",
        "`mle` = the generator at the end of MLE pre-training; `seqgan` = the same generator after",
        "the adversarial phase (one run per seed gives both rows); `relgan` = RelGAN's own run",
        "(`oracle-relgan`: MLE, then Gumbel-softmax adversarial training). Script: "
        "`benchmarks/seqgan_oracle.py`.",
        "CPU (s): the CPU time of the row's own process (one thread) from the start of its",
        "training to the row's step, evaluations included.",
        "",
        "| model | seed | steps | NLL_oracle | wall (s) | CPU (s) | schedule | overrides |",
        "| --- | --- | --- | --- | --- | --- | --- | --- |",
    ]
    for r in rows:
        cells = [r["model"], r["seed"], r["steps"], f"{r['nll_oracle']:.3f}",
                 fmt(r.get("wall_s"), ".0f"), fmt(r.get("cpu_s"), ".0f"),
                 r.get("schedule", "oracle-seqgan: MLE 3000, D 30x5, adversarial 100 "
                       "(8 rollouts, 5 D updates); 2026-11-27"),
                 " ".join(r.get("overrides", []))]  # fmt: skip
        lines.append("| " + " | ".join(map(str, cells)) + " |")
    lines += ["", "| model | NLL_oracle, mean ± s.e. over seeds |", "| --- | --- |"]
    for model in sorted({r["model"] for r in rows}, key=model_rank):
        vals = [r["nll_oracle"] for r in rows if r["model"] == model]
        m, se = mean_se(vals)
        lines.append(f"| {model} ({len(vals)} seeds) | {m:.3f} ± {se:.3f} |")
    lines += ["", "Published (NLL_oracle):", ""]
    lines += [f"- {name}: {v}" for name, v in PUBLISHED]
    lines += ["", "## Curves (NLL_oracle at each evaluation, 10,000 samples)", ""]
    for r in rows:
        if r.get("curve"):
            pts = ", ".join(f"step {step}: {v:.3f}" for step, v in r["curve"])
            cpu = f" (CPU {r['cpu_s']:.0f} s)" if r.get("cpu_s") is not None else ""
            lines.append(f"- {r['model']}, seed {r['seed']}: {pts}{cpu}")
    lines += settings_section(info, path)
    path.write_text("\n".join(lines) + "\n")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--models", nargs="+", default=["seqgan"], choices=list(RUNNERS))
    ap.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2])
    ap.add_argument("--oracle", default="", help="seqgan-oracle-params.npz (default: gankit's)")
    ap.add_argument("--workers", type=int, default=1, help="runs at once (one thread each)")
    ap.add_argument("--mle-eval-every", type=int, default=2000, help="MLE steps per eval")
    ap.add_argument("--adv-eval-every", type=int, default=25, help="adversarial steps per eval")
    ap.add_argument("--set", action="append", default=[], help="a config override for every run")
    ap.add_argument("--tag", default="", help="rows as MODEL+TAG (a variant kept beside MODEL)")
    ap.add_argument("--render-only", action="store_true", help="rewrite the md from the json")
    args = ap.parse_args()
    stem = Path(__file__).parent / "results" / STEM
    if args.render_only:
        render_again(stem, write_markdown)
        return
    todo = jobs(args.models, args.seeds)
    start = time.perf_counter()
    # a fresh process per run: its CPU time and memory are its own
    with ProcessPoolExecutor(args.workers, max_tasks_per_child=1) as pool:
        runs = gather([pool.submit(run_job, m, s, args) for m, s in todo])
    rows = [r for run in runs for r in run["rows"]]
    for r in rows:
        r["model"] += f"+{args.tag}" if args.tag else ""
    rows = merge_rows(stem.with_suffix(".json"), rows, key=("model", "seed"))
    for r in rows:  # rows written before rows carried their schedule: read it from the run
        config = Path(r.get("run", "")) / "config.yaml"
        if "schedule" not in r and r.get("machine") and config.is_file():
            from gankit.config import load_config_file

            r["schedule"] = schedule(load_config_file(config))
    info = settings(
        preset=PRESET,
        models=args.models,
        seeds=args.seeds,
        overrides=args.set,
        config=runs[0]["config"],
        workers=args.workers,
        threads_per_run="1 (torch.set_num_threads(1), train.threads=1)",
        total_wall_s=round(time.perf_counter() - start, 1),
    )
    save(stem, rows, info, write_markdown)


if __name__ == "__main__":
    main()
