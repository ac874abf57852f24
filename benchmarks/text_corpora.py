"""Chinese quatrains and Shakespeare: quality (BLEU) beside diversity (self-BLEU) for the MLE
generator at several softmax temperatures and for SeqGAN (Yu et al. 2017; protocol of Texygen,
Zhu et al. 2018; temperature sweep after Caccia et al. 2020, "Language GANs falling short").

Each corpus trains its `<corpus>-seqgan` preset once: the `mle` rows are its generator at the end
of MLE pre-training (the text-mle baseline: the same network and updates), sampled at each
temperature; the `seqgan` row is the same generator after the adversarial phase.

    python benchmarks/text_corpora.py

Each corpus trains in its own process on one thread (--workers at once).

`--models relgan` trains `<corpus>-relgan` (RelGAN, Nie et al. 2019) instead and adds its rows at
each of RELGAN_TEMPERATURES (its sampling temperature), keeping the rows already in the json:

    python benchmarks/text_corpora.py --models relgan --corpora chinese-poems
"""

from __future__ import annotations

import argparse
import tempfile
import time
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path

import torch
from common import gather, merge_rows, save, settings

CORPORA = {"chinese-poems": "chinese-poems.txt", "shakespeare": "tinyshakespeare.txt"}
TEMPERATURES = (0.7, 0.85, 1.0, 1.2)
RELGAN_TEMPERATURES = (0.85, 1.0, 1.2, 1.5, 2.0)  # its samples are sharper: hotter ones too
N_HYPS = 1000  # generated sentences scored for BLEU and self-BLEU
N_SHOWN = 6  # sample texts per row in the .md


def score(model, data, temperature: float, seed: int) -> dict:
    from gankit.data.text import decode_text
    from gankit.metrics.text import bleu, self_bleu_metric

    b = bleu(model, data, n=N_HYPS, seed=seed, temperature=temperature)
    s = self_bleu_metric(model, data, n=N_HYPS, seed=seed, temperature=temperature)
    shown = decode_text(model.sample(N_SHOWN, seed=seed + 1, temperature=temperature), data.info())
    out = {f"bleu{k}": round(b[f"bleu{k}"], 4) for k in (2, 3, 4, 5)}
    out |= {f"self_bleu{k}": round(s[f"self_bleu{k}"], 4) for k in (2, 3, 4, 5)}
    return {**out, "samples": shown, "protocol": b["bleu_protocol"]}


def run_one(corpus: str, path: str, seed: int) -> dict:
    torch.set_num_threads(1)
    from gankit import api

    out = Path(tempfile.mkdtemp(prefix="text-corpora-")) / corpus
    sets = [
        f"train.seed={seed}",
        f"data.path={path}",
        "train.progress=false",
        "train.tensorboard=false",
        "train.report=false",
        "train.metrics=[nll-test]",
    ]
    trainer = api.prepare(f"{corpus}-seqgan", overrides=sets, out=out)
    cfg, model, data = trainer.cfg, trainer.model, trainer.data
    total = cfg.train.steps
    start = time.perf_counter()
    trainer.cfg.train.steps = cfg.model.mle_steps
    nll = trainer.fit()["eval/nll_test"]
    mle_wall = time.perf_counter() - start
    rows = []
    base = {"corpus": corpus, "seed": seed, "threads": 1}
    for t in TEMPERATURES:
        rows.append({**base, "model": "mle", "temperature": t, "steps": trainer.step,
                     "nll_test": round(nll, 4), **score(model, data, t, seed),
                     "wall_s": round(mle_wall, 1)})  # fmt: skip
    trainer.cfg.train.steps = total
    nll = trainer.fit()["eval/nll_test"]
    wall = time.perf_counter() - start
    rows.append({**base, "model": "seqgan", "temperature": 1.0, "steps": trainer.step,
                 "nll_test": round(nll, 4), **score(model, data, 1.0, seed),
                 "wall_s": round(wall, 1)})  # fmt: skip
    for r in rows:
        r["key"] = f"{corpus}-{r['model']}-T{r['temperature']}"
    return {"rows": rows, "config": cfg.to_dict()}


def run_relgan(corpus: str, path: str, seed: int) -> dict:
    """The `relgan` rows: `<corpus>-relgan` trained once, sampled at each RELGAN_TEMPERATURES."""
    torch.set_num_threads(1)
    from gankit import api

    out = Path(tempfile.mkdtemp(prefix="text-corpora-")) / f"{corpus}-relgan"
    sets = [f"train.seed={seed}", f"data.path={path}", "train.progress=false",
            "train.tensorboard=false", "train.report=false",
            "train.metrics=[nll-test]"]  # fmt: skip
    trainer = api.prepare(f"{corpus}-relgan", overrides=sets, out=out)
    start, cpu0 = time.perf_counter(), time.process_time()
    nll = trainer.fit()["eval/nll_test"]
    wall, cpu = time.perf_counter() - start, time.process_time() - cpu0
    base = {"corpus": corpus, "seed": seed, "threads": 1, "model": "relgan"}
    rows = [{**base, "temperature": t, "steps": trainer.step, "nll_test": round(nll, 4),
             **score(trainer.model, trainer.data, t, seed), "wall_s": round(wall, 1),
             "cpu_s": round(cpu, 1), "key": f"{corpus}-relgan-T{t}"}
            for t in RELGAN_TEMPERATURES]  # fmt: skip
    return {"rows": rows, "config": trainer.cfg.to_dict()}


def mle_bleu2_at(rows: list[dict], self_bleu2: float) -> float | None:
    """MLE's BLEU-2 at this self-BLEU-2, linear between its temperatures' points (None outside
    them): the curve a GAN's point must lie above."""
    pts = sorted((r["self_bleu2"], r["bleu2"]) for r in rows if r["model"] == "mle")
    for (x0, y0), (x1, y1) in zip(pts, pts[1:], strict=False):
        if x0 <= self_bleu2 <= x1:
            return y0 + (y1 - y0) * (self_bleu2 - x0) / (x1 - x0) if x1 > x0 else max(y0, y1)
    return None


def write_markdown(rows: list[dict], path: Path, info: dict) -> None:
    lines = [
        "# Text corpora: quality (BLEU, higher = closer to held-out text) and diversity",
        "(self-BLEU, lower = more diverse), always together",
        "",
        "`mle` = the generator at the end of MLE pre-training, at each softmax temperature;",
        "`seqgan` = the same generator after the adversarial phase, temperature 1. A GAN beats MLE",
        "only if no temperature of MLE gives both higher BLEU and lower self-BLEU (Caccia et al.",
        "2020). Script: `benchmarks/text_corpora.py`.",
        "`relgan` = RelGAN (`<corpus>-relgan`, its own run) at several sampling temperatures; each",
        "of its points is set against MLE's BLEU-2 at the same self-BLEU-2 (linear between MLE's",
        "temperatures; points outside MLE's self-BLEU-2 range are not compared).",
        "",
    ]
    for corpus in CORPORA:
        sub = [r for r in rows if r["corpus"] == corpus]
        if not sub:
            continue
        lines += [
            f"## {corpus}",
            "",
            "| model | T | BLEU-2 | BLEU-3 | BLEU-4 | BLEU-5 | self-BLEU-2 | self-BLEU-3 | "
            "NLL test | steps | wall (s) |",
            "| --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- |",
        ]
        for r in sub:
            lines.append(
                f"| {r['model']} | {r['temperature']} | {r['bleu2']:.3f} | {r['bleu3']:.3f} | "
                f"{r['bleu4']:.3f} | {r['bleu5']:.3f} | {r['self_bleu2']:.3f} | "
                f"{r['self_bleu3']:.3f} | {r['nll_test']:.3f} | {r['steps']} | {r['wall_s']:.0f} |"
            )
        for r in sub:
            at = mle_bleu2_at(sub, r["self_bleu2"]) if r["model"] == "relgan" else None
            if at is not None:
                verdict = "above" if r["bleu2"] > at else "not above"
                lines.append(
                    f"- relgan T={r['temperature']}: BLEU-2 {r['bleu2']:.3f} against MLE's "
                    f"{at:.3f} at the same self-BLEU-2 ({r['self_bleu2']:.3f}): {verdict} MLE"
                )
        lines += ["", "Samples:", ""]
        for r in sub:
            lines.append(f"- {r['model']}, T={r['temperature']}:")
            lines += [f"    - `{s}`" for s in r["samples"]]
        lines.append("")
    lines += ["## Settings", ""]
    lines += [f"- {k}: {v}" for k, v in info.items()]
    path.write_text("\n".join(lines) + "\n")


def corpus_path(folder: str, corpus: str) -> str:
    """The corpus file in `folder`; "" (the file shipped with gankit) when no folder is given."""
    return str(Path(folder) / CORPORA[corpus]) if folder else ""


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--data-dir", default="", help="folder of the .txt files (default: gankit's)")
    ap.add_argument("--corpora", nargs="+", default=list(CORPORA), choices=list(CORPORA))
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--workers", type=int, default=2)
    ap.add_argument("--models", default="seqgan", choices=["seqgan", "relgan"],
                    help="seqgan: the mle and seqgan rows; relgan: the relgan rows")  # fmt: skip
    args = ap.parse_args()
    start = time.perf_counter()
    runner = run_relgan if args.models == "relgan" else run_one
    with ProcessPoolExecutor(args.workers) as pool:
        futures = [
            pool.submit(runner, c, corpus_path(args.data_dir, c), args.seed) for c in args.corpora
        ]
        runs = gather(futures)
    stem = Path(__file__).parent / "results" / "text_corpora"
    rows = merge_rows(stem.with_suffix(".json"), [r for run in runs for r in run["rows"]], "key")
    info = settings(
        presets=[f"{c}-{args.models}" for c in args.corpora],
        configs={c: run["config"] for c, run in zip(args.corpora, runs, strict=True)},
        seed=args.seed,
        temperatures=list(RELGAN_TEMPERATURES if args.models == "relgan" else TEMPERATURES),
        hypotheses=N_HYPS,
        bleu_protocol=runs[0]["rows"][0]["protocol"],
        threads_per_run="1 (torch.set_num_threads(1)), runs at nice 5 beside other jobs",
        total_wall_s=round(time.perf_counter() - start, 1),
    )
    save(stem, rows, info, write_markdown)


if __name__ == "__main__":
    main()
