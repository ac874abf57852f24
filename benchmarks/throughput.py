"""Training throughput: gankit's Trainer against a bare loop over the same model and against a
loop written the way the PyTorch examples' DCGAN script trains, for DCGAN at 32x32 and 64x64 and
the 2-D MLP GAN.

Each measurement runs in its own process (so the peak memory is its own), after warm-up steps;
the configurations are interleaved over several rounds and the median taken, so a busy machine
slows every loop alike. `settings: default` is what `gankit train` does when nothing is set
(train.precision=auto etc.). Each row also gives the achieved GFLOP/s (the matmul and convolution
work of one step, counted by torch's FlopCounterMode, times steps per second) beside a large
matrix multiply's GFLOP/s in the row's precision, measured in the same rounds.

    python benchmarks/throughput.py            # about 10 minutes on two quiet CPU cores
    python benchmarks/throughput.py --quick    # a smoke run: a few steps, one round
"""

from __future__ import annotations

import argparse
import json
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import torch
from torch import nn

sys.path.insert(0, str(Path(__file__).resolve().parent))
from common import save, settings  # noqa: E402

RESULTS = Path(__file__).resolve().parent / "results"

# (model, loop, settings): the measured grid; settings name gankit train options
DCGAN_SETTINGS = ["fp32", "bf16", "bf16+channels_last", "bf16+channels_last+compile", "default"]
CONFIGS = [
    *[
        (model, loop, setting)
        for model in ("dcgan32", "dcgan64")
        for loop, setting in [
            ("reference", "fp32"),
            ("bare", "fp32"),
            ("bare", "bf16+channels_last"),
            *[("trainer", s) for s in DCGAN_SETTINGS],
        ]
    ],
    ("matmul", "peak", "fp32"),
    ("matmul", "peak", "bf16"),
    ("mlp2d", "reference", "fp32"),
    ("mlp2d", "bare", "fp32"),
    ("mlp2d", "trainer", "fp32"),
    ("mlp2d", "bare", "fp32+unoptimised"),
    ("mlp2d", "trainer", "default"),
]
MODELS = {
    # model, data, options, batch, warm-up steps, timed steps
    "dcgan32": ("dcgan", "folder", ["data.img_size=32", "data.channels=3"], 64, 3, 24),
    "dcgan64": ("dcgan", "folder", ["data.img_size=64", "data.channels=3"], 64, 2, 8),
    "mlp2d": ("gan", "ring", [], 256, 300, 3000),
}


def overrides(model: str, setting: str, steps: int, batch: int) -> list[str]:
    opts = [f"train.steps={steps}", f"train.batch_size={batch}", "train.device=cpu"]
    opts += ["train.progress=true", "train.tensorboard=false", "train.report=false"]
    opts += ["train.sample_every=1000000", "train.ckpt_every=1000000", "train.n_samples=16"]
    if setting == "default":  # what `gankit train` chooses on this machine
        return opts
    parts = setting.split("+")
    opts.append(f"train.precision={parts[0]}")  # fp32 | bf16: never auto here
    opts.append(f"train.channels_last={'channels_last' in parts}")
    opts.append(f"train.compile={'compile' in parts}")
    return opts


def make_images(folder: Path, n: int = 512) -> None:
    """Smooth random RGB pictures, 64x64: the benchmark measures compute, not content."""
    from PIL import Image

    g = torch.Generator().manual_seed(0)
    small = torch.rand(n, 3, 8, 8, generator=g)
    big = nn.functional.interpolate(small, size=64, mode="bilinear", align_corners=False)
    for i, img in enumerate((big * 255).byte().permute(0, 2, 3, 1).numpy()):
        Image.fromarray(img).save(folder / f"{i:04d}.png")


# ---------------------------------------------------------------- one measurement


def unoptimise() -> None:
    """Undoes what profiling removed, to measure its worth: Adam's per-tensor loop instead of
    the fused kernel, and D run twice (real, fake) instead of once over both batches."""
    import gankit.models.adversarial as adversarial
    import gankit.models.base as base

    base_adam = torch.optim.Adam
    for module in (base, adversarial):
        module.adam = lambda params, lr, betas: base_adam(params, lr=lr, betas=betas)
    adversarial.AdversarialGAN.d_mixes_samples = True


def build(name: str, setting: str, steps: int, root: Path):
    from gankit import api

    if "unoptimised" in setting:
        unoptimise()

    model, data, extra, batch, _, _ = MODELS[name]
    if data == "folder":
        extra = [*extra, f"data.path={root / 'images'}"]
    opts = extra + overrides(name, setting, steps, batch)
    trainer = api.prepare(None, model, data, opts, root / f"run-{time.time_ns()}")
    trainer.out.metric_names = []  # evaluated after the timed steps; not what is measured
    return trainer


def run_trainer(name: str, setting: str, root: Path) -> dict:
    """Images per second from the Trainer's own clock: training time between the log rows at
    the end of the warm-up and at the last step (snapshots, checkpoints, evaluation excluded)."""
    _, _, _, batch, warm, timed = MODELS[name]
    trainer = build(name, setting, warm + timed, root)
    trainer.cfg.train.log_every = warm
    trainer.fit()
    rows = [json.loads(line) for line in trainer.run.metrics.read_text().splitlines()]
    t = {r["step"]: r["time"] for r in rows if "loss/D" in r}
    speed = timed * batch / (t[warm + timed] - t[warm])
    return {"img_per_s": speed, "precision": trainer.cfg.train.precision}


def run_bare(name: str, setting: str, root: Path) -> dict:
    """The limit for this code: the same model's train_step on the same data, nothing else."""
    _, _, _, batch, warm, timed = MODELS[name]
    trainer = build(name, setting, warm + timed, root)
    model = trainer.model

    def step(i: int) -> None:
        b = trainer.next_batch()
        with model.engine.autocast():
            model.train_step(b, i)

    for i in range(warm + timed):
        if i == warm:
            start = time.perf_counter()
        step(i)
    speed = timed * batch / (time.perf_counter() - start)
    flops = counted_flops(lambda: step(warm + timed)) / batch
    return {"img_per_s": speed, "flops_per_img": flops, "precision": trainer.cfg.train.precision}


def run_reference(name: str, setting: str, root: Path) -> dict:
    """The PyTorch examples' DCGAN loop, rewritten: a DataLoader over the data in memory, D
    with a sigmoid and nn.BCELoss, D on the fakes twice (detached, then for G), `.item()` of
    three outputs every step and of both losses every 50 steps (the printout), fp32."""
    _, _, _, batch, warm, timed = MODELS[name]
    trainer = build(name, "fp32", 1, root)
    G, D = trainer.model.nets["G"], nn.Sequential(trainer.model.nets["D"], nn.Sigmoid())
    z_dim, device = trainer.model.z_dim, trainer.device
    real_data = trainer.data.batch(max(batch * 8, 4096))
    real_data = real_data[0] if isinstance(real_data, tuple) else real_data
    loader = torch.utils.data.DataLoader(
        torch.utils.data.TensorDataset(real_data), batch_size=batch, shuffle=True, drop_last=True
    )
    opt_d = torch.optim.Adam(D.parameters(), lr=2e-4, betas=(0.5, 0.999))
    opt_g = torch.optim.Adam(G.parameters(), lr=2e-4, betas=(0.5, 0.999))
    criterion = nn.BCELoss()

    def one_step(real: torch.Tensor, step: int) -> None:
        real = real.to(device)
        D.zero_grad()
        label = torch.full((real.shape[0],), 1.0, device=device)
        out = D(real).view(-1)
        err_real = criterion(out, label)
        err_real.backward()
        d_x = out.mean().item()
        fake = G(torch.randn(real.shape[0], z_dim, device=device))
        label.fill_(0.0)
        out = D(fake.detach()).view(-1)
        err_fake = criterion(out, label)
        err_fake.backward()
        d_g_z1 = out.mean().item()
        opt_d.step()
        G.zero_grad()
        label.fill_(1.0)
        out = D(fake).view(-1)
        err_g = criterion(out, label)
        err_g.backward()
        d_g_z2 = out.mean().item()
        opt_g.step()
        if step % 50 == 0:
            _ = ((err_real + err_fake).item(), err_g.item(), d_x, d_g_z1, d_g_z2)

    step = 0
    while step < warm + timed:
        for (real,) in loader:
            if step == warm:
                start = time.perf_counter()
            if step == warm + timed:
                break
            one_step(real, step)
            step += 1
    speed = timed * batch / (time.perf_counter() - start)
    flops = counted_flops(lambda: one_step(real, step)) / batch
    return {"img_per_s": speed, "flops_per_img": flops, "precision": "fp32"}


def counted_flops(step) -> float:
    """Floating-point operations of one call of `step` (matmuls and convolutions, forward and
    backward), as torch's FlopCounterMode counts them."""
    from torch.utils.flop_counter import FlopCounterMode

    with FlopCounterMode(display=False) as counter:
        step()
    return counter.get_total_flops()


def matmul_gflops(name: str, setting: str, root: Path, n: int = 2048, reps: int = 8) -> dict:
    """The machine's practical peak in a precision (`setting`: fp32 | bf16): GFLOP/s of an n x n
    matrix multiply on the same threads, best of `reps` after warm-up."""
    dtype = {"fp32": torch.float32, "bf16": torch.bfloat16}[setting]
    a, b = torch.randn(n, n, dtype=dtype), torch.randn(n, n, dtype=dtype)
    for _ in range(2):
        a @ b
    best = float("inf")
    for _ in range(reps):
        start = time.perf_counter()
        a @ b
        best = min(best, time.perf_counter() - start)
    return {"gflops": 2 * n**3 / best / 1e9, "precision": setting}


LOOPS = {
    "trainer": run_trainer,
    "bare": run_bare,
    "reference": run_reference,
    "peak": matmul_gflops,
}


def measure_one(name: str, loop: str, setting: str, root: Path) -> dict:
    out = LOOPS[loop](name, setting, root)
    out["peak_mem_mb"] = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # KiB
    return out


# ---------------------------------------------------------------- the grid


def run_grid(rounds: int, quick: bool, configs: list[tuple[str, str, str]]) -> list[dict]:
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        (root / "images").mkdir()
        make_images(root / "images")
        samples: dict[tuple, list[dict]] = {c: [] for c in configs}
        for r in range(rounds):
            for c in configs:
                cmd = [sys.executable, __file__, "--one", *c, "--root", str(root)]
                if quick:
                    cmd.append("--quick")
                out = subprocess.run(cmd, capture_output=True, text=True, check=False)
                if out.returncode:
                    raise RuntimeError(f"{c} failed:\n{out.stderr[-3000:]}")
                result = json.loads(out.stdout.strip().splitlines()[-1])
                samples[c].append(result)
                print(f"round {r}: {c} {result}", flush=True)
    return summarise(samples)


def summarise(samples: dict[tuple, list[dict]]) -> list[dict]:
    """One row per configuration: median speed, and the GFLOP/s that speed achieves beside the
    matmul peak in the row's precision (both medians over the same rounds)."""
    from gankit.training.hardware import cpu_name, native_bf16

    med = statistics.median
    peaks = {
        s: med(r["gflops"] for r in runs) for (m, _, s), runs in samples.items() if m == "matmul"
    }
    work = {  # flops per image of a model: the same work in every gankit loop and precision
        m: runs[0]["flops_per_img"]
        for (m, loop, s), runs in samples.items()
        if (loop, s) == ("bare", "fp32")
    }
    rows = []
    for (model, loop, setting), runs in samples.items():
        row = {"model": model, "loop": loop, "settings": setting, "cpu": cpu_name(),
               "bf16_native": native_bf16("cpu")[0]}  # fmt: skip
        if model == "matmul":
            rows.append({**row, "gflops": round(peaks[setting], 1)})
            continue
        speeds = [r["img_per_s"] for r in runs]
        precision = runs[0]["precision"]
        flops = runs[0].get("flops_per_img") or work.get(model)
        row.update(
            precision=precision,
            img_per_s=round(med(speeds), 2),
            img_per_s_runs=[round(v, 2) for v in speeds],
            peak_mem_mb=round(max(r["peak_mem_mb"] for r in runs), 1),
        )
        if flops and precision in peaks:
            row["gflops"] = round(row["img_per_s"] * flops / 1e9, 1)
            row["peak_bf16_gflops"] = round(peaks[precision], 1)  # the peak in `precision`
            row["fraction_of_peak"] = round(row["gflops"] / peaks[precision], 3)
        rows.append(row)
    return rows


def ratios(rows: list[dict]) -> dict[str, float]:
    speed = {
        (r["model"], r["loop"], r["settings"]): r["img_per_s"] for r in rows if "img_per_s" in r
    }
    out = {}
    for model in MODELS:
        for (m, loop, setting), v in speed.items():
            if m == model and loop == "trainer" and (m, "bare", setting) in speed:
                out[f"{model} trainer/bare {setting}"] = v / speed[(m, "bare", setting)]
        ref = speed.get((model, "reference", "fp32"))
        default = speed.get((model, "trainer", "default"))
        fastest = max(
            (v for (m, loop, _), v in speed.items() if m == model and loop == "trainer"),
            default=None,
        )
        if ref and default:
            out[f"{model} default trainer/reference"] = default / ref
        if ref and fastest:
            out[f"{model} fastest trainer/reference"] = fastest / ref
    return {k: round(v, 3) for k, v in out.items()}


def write_markdown(rows: list[dict], path: Path, info: dict) -> None:
    lines = [
        "# Training throughput: Trainer vs bare loop vs the PyTorch examples' loop",
        "",
        "Produced by `python benchmarks/throughput.py`. Settings:",
        "",
        *[f"- {k}: {v}" for k, v in info.items() if k != "ratios"],
        "",
        "| model | loop | settings | precision | img/s (median) | runs | GFLOP/s | "
        "% of matmul peak | peak RSS MB |",
        "|---|---|---|---|---|---|---|---|---|",
    ]
    for r in rows:
        if r["model"] == "matmul":
            continue
        share = f"{100 * r['fraction_of_peak']:.0f}" if "fraction_of_peak" in r else ""
        lines.append(
            f"| {r['model']} | {r['loop']} | {r['settings']} | {r['precision']} | "
            f"{r['img_per_s']:.1f} | {', '.join(f'{s:.1f}' for s in r['img_per_s_runs'])} | "
            f"{r.get('gflops', '')} | {share} | {r['peak_mem_mb']:.0f} |"
        )
    lines += ["", "Matrix multiply (2048 x 2048, best of 8, same threads), GFLOP/s:", ""]
    lines += [f"- {r['settings']}: {r['gflops']}" for r in rows if r["model"] == "matmul"]
    lines += ["", "Ratios (measured in the same run):", ""]
    lines += [f"- {k}: {v:.3f}" for k, v in info["ratios"].items()]
    path.write_text("\n".join(lines) + "\n")


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--rounds", type=int, default=2)
    p.add_argument("--quick", action="store_true", help="few steps, one round: a smoke test")
    p.add_argument("--one", nargs=3, metavar=("MODEL", "LOOP", "SETTINGS"))
    p.add_argument("--root", type=Path)
    p.add_argument("--threads", type=int, default=torch.get_num_threads())
    p.add_argument(
        "--models", nargs="*", default=list(MODELS), help="measure these again; keep the others"
    )
    args = p.parse_args()
    torch.set_num_threads(args.threads)
    if args.quick:
        for k, v in MODELS.items():
            MODELS[k] = (*v[:4], 2, 4 if k == "dcgan64" else 50)
    if args.one:
        print(json.dumps(measure_one(*args.one, args.root)))
        return
    t0 = time.time()
    rounds = 1 if args.quick else args.rounds
    measured = [*args.models, "matmul"]  # the peaks: measured again beside any model
    rows = run_grid(rounds, args.quick, [c for c in CONFIGS if c[0] in measured])
    saved = RESULTS / "throughput.json"
    if set(args.models) != set(MODELS) and saved.exists():  # the other models' rows stay
        rows = [r for r in json.loads(saved.read_text()) if r["model"] not in measured] + rows
    info = settings(
        threads=args.threads,
        rounds={m: rounds if m in args.models else "as before" for m in MODELS},
        models={
            k: dict(zip(["model", "data", "options", "batch", "warmup", "timed"], v, strict=True))
            for k, v in MODELS.items()
        },
        reference="DataLoader over in-memory tensors (num_workers=0), sigmoid + BCELoss, "
        "D on fakes twice, .item() x3 per step",
        wall_s=round(time.time() - t0, 1),
        ratios=ratios(rows),
    )
    print(json.dumps(info["ratios"], indent=1))
    if not args.quick:
        save(RESULTS / "throughput", rows, info, write_markdown)


if __name__ == "__main__":
    main()
