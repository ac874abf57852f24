"""SeqGAN's synthetic-data experiment (Yu et al. 2017, Table 1): NLL_oracle after MLE
pre-training and after adversarial training, per seed.

The oracle LSTM (seqgan-oracle-params.npz) draws 10,000 training sequences of 20 tokens; NLL_oracle
is the oracle's mean per-token NLL of 10,000 generated sequences (lower is better). Each seed
trains the `oracle-seqgan` preset once: the `mle` row is its generator at the end of MLE
pre-training, the `seqgan` row the same generator after the adversarial phase.

    python benchmarks/seqgan_oracle.py --seeds 3

Each seed trains in its own process on one thread; seeds run in parallel (--workers), so the wall
time of a row is that of one run on one core shared with the other runs on the machine.
"""

from __future__ import annotations

import argparse
import tempfile
import time
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path

import torch
from common import gather, mean_se, merge_rows, save, settings

PRESET = "oracle-seqgan"
PUBLISHED = [  # SeqGAN paper, Table 1, and the authors' code log
    ("random generator", 10.310),
    ("MLE", 9.038),
    ("scheduled sampling", 8.985),
    ("PG-BLEU", 8.946),
    ("SeqGAN (paper)", 8.736),
    ("SeqGAN (authors' code log)", 8.68),
]


def run_one(seed: int, oracle: str, adv_eval_every: int) -> dict:
    torch.set_num_threads(1)
    from gankit import api

    out = Path(tempfile.mkdtemp(prefix="seqgan-oracle-")) / f"s{seed}"
    sets = [
        f"train.seed={seed}",
        f"data.path={oracle}",
        "train.progress=false",
        "train.tensorboard=false",
        "train.report=false",
    ]
    trainer = api.prepare(PRESET, overrides=sets, out=out)
    cfg = trainer.cfg
    total, adv_start = cfg.train.steps, cfg.model.mle_steps + cfg.model.d_pretrain_steps
    start = time.perf_counter()
    # train to each milestone (the end of MLE, then every adv_eval_every adversarial steps);
    # fit() evaluates NLL_oracle on 10,000 samples when it reaches one
    milestones = [cfg.model.mle_steps, *range(adv_start + adv_eval_every, total, adv_eval_every)]
    curve = []
    for stop in [*milestones, total]:
        if stop <= trainer.step:
            continue
        trainer.cfg.train.steps = stop
        results = trainer.fit()
        curve.append(
            {
                "step": stop,
                "nll_oracle": results["eval/nll_oracle"],
                "wall_s": time.perf_counter() - start,
            }
        )
        print(f"seed {seed} step {stop}: {curve[-1]}", flush=True)
    base = {"seed": seed, "threads": 1, "run": str(out)}
    mle = curve[0]
    return {
        "rows": [
            {"model": "mle", **base, "steps": mle["step"], "nll_oracle": mle["nll_oracle"],
             "wall_s": round(mle["wall_s"], 1)},
            {"model": "seqgan", **base, "steps": total, "nll_oracle": curve[-1]["nll_oracle"],
             "wall_s": round(curve[-1]["wall_s"], 1), "cpu_s": round(time.process_time(), 1),
             "curve": [(c["step"], round(c["nll_oracle"], 4)) for c in curve]},
        ],
        "curve": curve,
        "config": cfg.to_dict(),
    }  # fmt: skip


def write_markdown(rows: list[dict], path: Path, info: dict) -> None:
    lines = [
        "# SeqGAN oracle experiment: NLL_oracle (lower is better)",
        "",
        "Yu et al. 2017, Table 1 setting: oracle LSTM (vocabulary 5,000, embedding 32, hidden 32),",
        "10,000 training sequences of 20 tokens, NLL_oracle on 10,000 generated sequences.",
        "`mle` = the generator at the end of MLE pre-training; `seqgan` = the same generator after",
        "the adversarial phase (one run per seed gives both rows). Script: "
        "`benchmarks/seqgan_oracle.py`.",
        "",
        "| model | seed | steps | NLL_oracle | wall (s) |",
        "| --- | --- | --- | --- | --- |",
    ]
    for r in sorted(rows, key=lambda r: (r["model"] != "mle", r["seed"])):
        cells = [r["model"], r["seed"], r["steps"], f"{r['nll_oracle']:.3f}", f"{r['wall_s']:.0f}"]
        lines.append("| " + " | ".join(map(str, cells)) + " |")
    lines += ["", "| model | NLL_oracle, mean ± s.e. over seeds |", "| --- | --- |"]
    for model in ("mle", "seqgan"):
        vals = [r["nll_oracle"] for r in rows if r["model"] == model]
        if vals:
            m, se = mean_se(vals)
            lines.append(f"| {model} ({len(vals)} seeds) | {m:.3f} ± {se:.3f} |")
    lines += ["", "Published (NLL_oracle):", ""]
    lines += [f"- {name}: {v}" for name, v in PUBLISHED]
    lines += ["", "## Curves (NLL_oracle at each evaluation, 10,000 samples)", ""]
    for r in sorted(rows, key=lambda r: r["seed"]):
        if "curve" in r:
            pts = ", ".join(f"step {step}: {v:.3f}" for step, v in r["curve"])
            lines.append(f"- seed {r['seed']}: {pts} (CPU time of the run: {r['cpu_s']:.0f} s)")
    lines += ["", "## Settings", ""]
    lines += [f"- {k}: {v}" for k, v in info.items()]
    path.write_text("\n".join(lines) + "\n")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--oracle", default="", help="seqgan-oracle-params.npz (default: gankit's)")
    ap.add_argument("--seeds", type=int, default=3)
    ap.add_argument("--first-seed", type=int, default=0)
    ap.add_argument("--workers", type=int, default=3)
    ap.add_argument("--adv-eval-every", type=int, default=25, help="adversarial steps per eval")
    args = ap.parse_args()
    seeds = range(args.first_seed, args.first_seed + args.seeds)
    start = time.perf_counter()
    with ProcessPoolExecutor(args.workers) as pool:
        futures = [pool.submit(run_one, s, args.oracle, args.adv_eval_every) for s in seeds]
        runs = gather(futures)
    stem = Path(__file__).parent / "results" / "seqgan_oracle"
    rows = [r for run in runs for r in run["rows"]]
    for r in rows:
        r["key"] = f"{r['model']}-s{r['seed']}"
    rows = merge_rows(stem.with_suffix(".json"), rows, key="key")
    info = settings(
        preset=PRESET,
        config=runs[0]["config"],
        seeds=list(seeds),
        workers=args.workers,
        threads_per_run="1 (torch.set_num_threads(1)), runs at nice 5 beside other jobs",
        total_wall_s=round(time.perf_counter() - start, 1),
    )
    save(stem, rows, info, write_markdown)


if __name__ == "__main__":
    main()
