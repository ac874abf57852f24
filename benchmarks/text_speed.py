"""SeqGAN on a user's own text: CPU seconds per adversarial step against the line length.

A step is SeqGAN's (Yu et al. 2017): one policy-gradient update of G on a batch of fresh samples,
its rewards from Monte Carlo rollouts of every prefix scored by D, then `d_steps` D updates. The
rollouts cost about the square of the length (a rollout per prefix, each scored at full
length), so long lines were slow; `model.rollout_stride` (auto by default: every prefix up to 32
tokens, every ceil(max_len / 16)-th beyond) and rollouts that stop at `<eos>` make them linear.

The text: 300 lines cut from tiny Shakespeare, each from max_len / 2 to max_len - 1 characters
(lines mode, character tokens, as `gankit train --model seqgan --data my.txt --set
data.max_len=L` reads a user's file), so lines fill from half to all of max_len. The model is
`seqgan` at its defaults (train.batch_size 256, 16 rollouts, d_steps 5), straight into the
adversarial phase; no training before, so G's samples are near-uniform characters, whose lines
seldom end early (the least the `<eos>` shortcut can save).

    python benchmarks/text_speed.py                       # this branch: stride auto and 1
    PYTHONPATH=/path/to/main/src python benchmarks/text_speed.py --label main   # the code before

Rows are keyed by (label, max_len): labels not run this time are kept.
"""

from __future__ import annotations

import argparse
import subprocess
import tempfile
import time
from pathlib import Path

import torch
from common import merge_rows, render_again, save, settings, settings_section

STEM = "text_speed"  # results/STEM.md and .json
LENGTHS = (20, 32, 64, 128)  # 20: the shortest the default D widths (up to 20) fit


def text_file(max_len: int, lines: int = 300, seed: int = 0) -> Path:
    """`lines` lines of tiny Shakespeare, each max_len / 2 to max_len - 1 characters."""
    from gankit.data.files import bundled

    words = " ".join(bundled("tinyshakespeare.txt").read_text().split())
    g = torch.Generator().manual_seed(seed)
    out, pos = [], 0
    for _ in range(lines):
        n = int(torch.randint(max_len // 2, max_len, (1,), generator=g))
        out.append(words[pos : pos + n].strip() or "x")
        pos += n
    path = Path(tempfile.mkdtemp(prefix="text-speed-")) / f"lines{max_len}.txt"
    path.write_text("\n".join(out) + "\n")
    return path


def time_steps(max_len: int, steps: int, sets: list[str]) -> dict:
    """CPU and wall seconds per adversarial step of seqgan at its defaults on text_file."""
    from gankit.config import resolve_config
    from gankit.data import build_data
    from gankit.models import build_model

    path = text_file(max_len)
    cfg = resolve_config(model="seqgan", data="text", overrides=[
        f"data.path={path}", f"data.max_len={max_len}", "data.test_fraction=0",
        "model.mle_steps=0", "model.d_pretrain_steps=0", *sets,
    ])  # fmt: skip
    torch.manual_seed(0)
    data = build_data(cfg.data, seed=0)
    model = build_model(cfg.model, data.shape, data_info=data.info())
    batch = cfg.train.batch_size
    cpu, wall = [], []
    for step in range(steps):
        x = data.batch(batch * model.batches_per_step)
        c0, w0 = time.process_time(), time.perf_counter()
        model.train_step(x, step)
        cpu.append(time.process_time() - c0)
        wall.append(time.perf_counter() - w0)
    stride = getattr(model, "rollout_stride", 1)
    return {
        "max_len": max_len,
        "rollout_stride": stride,
        "batch_size": batch,
        "rollouts": cfg.model.rollouts,
        "d_steps": cfg.model.d_steps,
        "steps_timed": steps,
        "cpu_s_per_step": round(sum(cpu) / steps, 2),
        "wall_s_per_step": round(sum(wall) / steps, 2),
    }


def source_commit() -> str:
    import gankit

    src = Path(gankit.__file__).parent
    try:
        rev = subprocess.run(["git", "-C", str(src), "rev-parse", "--short", "HEAD"],
                             capture_output=True, text=True, check=True).stdout.strip()  # fmt: skip
    except (OSError, subprocess.CalledProcessError):
        rev = "?"
    return f"gankit at commit {rev}"  # the commit, not the folder: it names this machine


def write_markdown(rows: list[dict], path: Path, info: dict) -> None:
    lines = [
        "# SeqGAN on a user's text: CPU seconds per adversarial step against the line length",
        "",
        "One step = one policy-gradient update of G (256 fresh samples, 16 rollouts per rolled-out",
        "prefix) + 5 D updates; `seqgan` defaults on 300 lines of tiny Shakespeare of max_len / 2",
        "to max_len - 1 characters. One thread; CPU seconds are the process's own (time.",
        "process_time), wall seconds are inflated by other jobs on the shared machine. Script:",
        "`benchmarks/text_speed.py`.",
        "",
        "| code | max_len | rollout stride | CPU s / step | wall s / step | steps timed |",
        "| --- | --- | --- | --- | --- | --- |",
    ]
    for r in sorted(rows, key=lambda r: (r["label"], r["max_len"])):
        cells = [r["label"], r["max_len"], r["rollout_stride"], f"{r['cpu_s_per_step']:.2f}",
                 f"{r['wall_s_per_step']:.2f}", r["steps_timed"]]  # fmt: skip
        lines.append("| " + " | ".join(map(str, cells)) + " |")
    lines += settings_section(info, path)
    path.write_text("\n".join(lines) + "\n")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--label", default="", help="row label (default: after, auto and stride 1)")
    ap.add_argument("--lengths", type=int, nargs="+", default=list(LENGTHS))
    ap.add_argument("--steps", type=int, default=2, help="adversarial steps timed per length")
    ap.add_argument("--set", action="append", default=[], help="a config override")
    ap.add_argument("--render-only", action="store_true", help="rewrite the md from the json")
    args = ap.parse_args()
    stem = Path(__file__).parent / "results" / STEM
    if args.render_only:
        render_again(stem, write_markdown)
        return
    torch.set_num_threads(1)
    from gankit.models.seqgan import SeqGANConfig

    if args.label:
        variants = {args.label: args.set}
    elif "rollout_stride" in SeqGANConfig.__dataclass_fields__:
        variants = {"after, stride auto": args.set,
                    "after, stride 1": [*args.set, "model.rollout_stride=1"]}  # fmt: skip
    else:
        variants = {"before": args.set}
    start = time.perf_counter()
    rows = []
    for label, sets in variants.items():
        for max_len in args.lengths:
            if label == "after, stride 1" and max_len <= 32:
                continue  # auto is stride 1 there: the same code and settings
            rows.append({"label": label, **time_steps(max_len, args.steps, sets),
                         "source": source_commit()})  # fmt: skip
            print(rows[-1], flush=True)
    rows = merge_rows(stem.with_suffix(".json"), rows, key=("label", "max_len"))
    info = settings(source=source_commit(), threads=1, overrides=args.set,
                    total_wall_s=round(time.perf_counter() - start, 1))  # fmt: skip
    save(stem, rows, info, write_markdown)


if __name__ == "__main__":
    main()
