"""Peak memory of every documented command: each README command run as a user runs it (`python
-m gankit ...` in a fresh folder), its process tree sampled from /proc every 0.1 s.

Training commands run a few steps (`--steps`): a run's memory peaks as it starts (the data
decoded or listed, the nets and optimizer state made, the first batches drawn) and stays there,
so a few steps measure what the full run takes. User data is generated with a fixed seed: a
folder of photos, A/B pairs at 256x256, two unpaired domains, one 4000x3000 photo to translate,
a text file and MIDI files.

    python benchmarks/peak_rss.py            # about 20 minutes on two cores
    python benchmarks/peak_rss.py --quick    # a smoke run of the short commands
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
from common import merge_rows, peak_memory_mb, save, settings  # noqa: E402

RESULTS = Path(__file__).resolve().parent / "results"
SEED = 0
TEXT_MB = 20
QUIET = ["--set", "train.progress=false"]

# (name, the README command as a user types it, what this run adds to it); RUN_<name> in a
# command is the run folder an earlier row trained
COMMANDS = [
    ("quickstart", "train ring-gan", "--steps 300 --out r_ring"),
    ("sample 2500 points", "sample RUN_quickstart --n 2500 --out pts.png", ""),
    ("eval modes", "eval RUN_quickstart --metric modes", ""),
    ("report", "report RUN_quickstart", ""),
    ("mnist-dcgan", "train mnist-dcgan", "--steps 30 --out r_mnist"),
    ("eval fid n=10000", "eval RUN_mnist-dcgan --metric fid --metric kid --n 10000", ""),
    ("fashion-dcgan", "train fashion-dcgan", "--steps 30 --out r_fashion"),
    (
        "own photos dcgan 64",
        "train --data ./photos --set data.img_size=64",
        "--steps 20 --out r_dc",
    ),
    (
        "own photos progan",
        "train progan --data ./photos",
        "--steps 40 --set model.stable_images=160 --set model.fade_images=160 --out r_pro",
    ),
    (
        "pix2pix 256 own pairs",
        "train --model pix2pix --data paired-folder --set data.path=./pairs "
        "--set data.img_size=256",
        "--steps 4 --out r_p2p",
    ),
    ("translate 4000x3000", "translate RUN_pix2pix-256-own-pairs big.jpg --out translated/", ""),
    (
        "cyclegan 256 own domains",
        "train --model cyclegan --data unpaired-folder --set data.path=./domains",
        "--steps 2 --out r_cyc",
    ),
    ("edges2digits-pix2pix", "train edges2digits-pix2pix", "--steps 20 --out r_e2d"),
    ("seqgan own text", "train --data my_text.txt --model seqgan", "--steps 3 --out r_txt"),
    ("sample text", "sample RUN_seqgan-own-text --n 10 --temperature 0.8", ""),
    ("chinese-poems-seqgan", "train chinese-poems-seqgan", "--steps 3 --out r_poems"),
    ("oracle-seqgan", "train oracle-seqgan", "--steps 3 --out r_oracle"),
    ("jsb-musegan", "train jsb-musegan", "--steps 20 --out r_jsb"),
    (
        "musegan own midi",
        "train jsb-musegan --data midi-folder --set data.path=my_midi/",
        "--steps 20 --out r_midi",
    ),
    ("sample music", "sample RUN_jsb-musegan --n 16", ""),
]
# what issue 16's changes did to the two largest consumers, measured while making them (peak RSS
# of the process; before: main at 6c0cb04, after: the change), kept here so the table's page says it
BEFORE_AFTER = [
    ("text: load a 200 MB file, lines, char tokens (data.max_mb raised)", 4947, 1362),
    ("text: load a 200 MB file, windows, char tokens (data.max_mb raised)", 5511, 1373),
    ("text: load a 50 MB file, lines, char tokens", 1622, 732),
    ("translate one 4000x3000 RGB PNG with a tiny pix2pix (336 tiles)", 1259, 855),
]
QUICK = {"quickstart", "sample 2500 points", "eval modes", "report", "own photos dcgan 64"}


def slug(name: str) -> str:
    return name.replace(" ", "-")


# ---------------------------------------------------------------- a user's data


def make_user_data(work: Path, n_photos: int, n_pairs: int) -> dict[str, str]:
    from PIL import Image

    rng = np.random.default_rng(SEED)

    def photo(w: int, h: int) -> Image.Image:
        small = rng.integers(0, 256, (h // 40 + 2, w // 40 + 2, 3), dtype=np.uint8)
        return Image.fromarray(small).resize((w, h), Image.BICUBIC)  # smooth blobs, like JPEGs

    for i in range(n_photos):
        (work / "photos").mkdir(exist_ok=True)
        photo(640, 480).save(work / "photos" / f"{i:04d}.jpg", quality=90)
    for side in ("A", "B"):
        (work / "pairs" / side).mkdir(parents=True, exist_ok=True)
        (work / "domains" / f"train{side}").mkdir(parents=True, exist_ok=True)
        for i in range(n_pairs):
            photo(256, 256).save(work / "pairs" / side / f"{i:04d}.jpg", quality=90)
            photo(256, 256).save(work / "domains" / f"train{side}" / f"{i:04d}.jpg", quality=90)
    photo(4000, 3000).save(work / "big.jpg", quality=90)
    words = [f"w{k}" for k in range(5000)]
    with open(work / "my_text.txt", "w") as f:  # lines of 4 words: within max_len 32 characters
        while f.tell() < TEXT_MB * 2**20:
            lines = [" ".join(rng.choice(words, 4)) for _ in range(1000)]
            f.write("\n".join(lines) + "\n")
    make_midi(work / "my_midi", rng)
    return {
        "photos": f"{n_photos} JPEGs 640x480",
        "pairs": f"{n_pairs} A/B pairs of 256x256 JPEGs",
        "domains": f"{n_pairs} JPEGs 256x256 in each of trainA/, trainB/",
        "big.jpg": "one 4000x3000 JPEG",
        "my_text.txt": f"{TEXT_MB} MB, lines of 4 words from 5,000",
        "my_midi": "20 MIDI files of 16 bars, 4 voices",
    }


def make_midi(folder: Path, rng: np.random.Generator) -> None:
    import pretty_midi

    folder.mkdir(exist_ok=True)
    for k in range(20):
        pm = pretty_midi.PrettyMIDI(initial_tempo=120)
        for low in (36, 48, 55, 64):
            inst = pretty_midi.Instrument(program=0)
            for beat in range(64):
                pitch = int(low + rng.integers(0, 12))
                inst.notes.append(pretty_midi.Note(80, pitch, beat * 0.5, beat * 0.5 + 0.5))
            pm.instruments.append(inst)
        pm.write(str(folder / f"piece{k:02d}.mid"))


# ---------------------------------------------------------------- measuring


def measure(name: str, command: str, extra: str, work: Path, runs: dict) -> dict:
    args = command.split() + extra.split()
    args = [runs.get(a, a) for a in args]
    if args[0] == "train":
        args += QUIET
    t0 = time.time()
    with tempfile.TemporaryFile("w+") as err:
        env = {**os.environ, "PYTHONUNBUFFERED": "1"}
        cmd = ["nice", sys.executable, "-m", "gankit", *args]
        proc = subprocess.Popen(cmd, cwd=work, stdout=subprocess.DEVNULL, stderr=err, env=env)
        peak = peak_memory_mb(proc)
        err.seek(0)
        tail = err.read().strip().splitlines()[-1:] or [""]
    if args[0] == "train" and "--out" in args:
        runs[f"RUN_{slug(name)}"] = args[args.index("--out") + 1]
    row = {
        "command": f"gankit {command}",
        "name": name,
        "measured_with": extra,
        "exit_code": proc.returncode,
        "peak_rss_mb": round(peak["tree"]),
        "peak_pss_mb": round(peak["pss"]),
        "wall_s": round(time.time() - t0, 1),
    }
    if proc.returncode:
        row["error"] = tail[0][:300]
    print(row, flush=True)
    return row


def with_runs_they_need(names: list[str]) -> set[str]:
    """The rows named, and the training rows whose run folders their commands use."""
    commands = " ".join(command for name, command, _ in COMMANDS if name in names)
    return set(names) | {name for name, _, _ in COMMANDS if f"RUN_{slug(name)}" in commands}


def write_markdown(rows: list[dict], path: Path, info: dict) -> None:
    lines = [
        "# Peak memory of every documented command",
        "",
        "Produced by `python benchmarks/peak_rss.py`. Settings:",
        "",
        *[f"- {k}: {v}" for k, v in info.items()],
        "",
        "| command (as in the README) | measured with | peak RSS MB | PSS MB | wall s | exit |",
        "|---|---|---|---|---|---|",
    ]
    for r in rows:
        note = f" ({r['error']})" if r.get("error") else ""
        lines.append(
            f"| `{r['command']}` | `{r['measured_with']}` | {r['peak_rss_mb']:,} | "
            f"{r['peak_pss_mb']:,} | {r['wall_s']} | {r['exit_code']}{note} |"
        )
    lines += [
        "",
        "- peak RSS: the command's process plus the private pages of its children (DataLoader "
        "workers), each page once, sampled every 0.1 s; PSS shares shared pages out.",
        "- training rows run a few steps (`measured with`): memory peaks as a run starts and "
        "stays there, so the full run takes the same.",
        "- imports alone (torch, torchvision) take about 300-400 MB of it.",
        *(
            [
                "- exit -15: the command was stopped before it ended (a FID of 10,000 images ran "
                "for 80 minutes at about a quarter of a core on the shared machine); its peak is "
                "the peak until then, a lower bound."
            ]
            if any(r["exit_code"] == -15 for r in rows)
            else []
        ),
        "",
        "## Before and after issue 16 (bounded memory)",
        "",
        "Peak RSS measured while making the change, before (main at 6c0cb04) and after:",
        "",
        "| what | before MB | after MB |",
        "|---|---|---|",
        *[f"| {what} | {before:,} | {after:,} |" for what, before, after in BEFORE_AFTER],
    ]
    path.write_text("\n".join(lines) + "\n")


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--quick", action="store_true", help="the short commands, little data")
    p.add_argument("--only", nargs="*", help="measure these rows (by name), keep the others saved")
    p.add_argument("--shared", default="", help="a note on what else ran on the machine")
    args = p.parse_args()
    t0 = time.time()
    rows: list[dict] = []
    with tempfile.TemporaryDirectory(prefix="gankit-peak-rss-") as tmp:
        work = Path(tmp)
        data = make_user_data(work, *((20, 4) if args.quick else (300, 50)))
        runs: dict[str, str] = {}
        chosen = with_runs_they_need(args.only or [])
        for name, command, extra in COMMANDS:
            if (not args.quick or name in QUICK) and (not args.only or name in chosen):
                rows.append(measure(name, command, extra, work, runs))
    info = settings(
        seed=SEED,
        user_data="; ".join(f"{k}: {v}" for k, v in data.items()),
        wall_s=round(time.time() - t0, 1),
        machine_shared=args.shared or "not noted",
    )
    if not args.quick:
        if args.only:  # the other rows as saved, in the table's order
            order = [c[0] for c in COMMANDS]
            rows = sorted(merge_rows(RESULTS / "peak_rss.json", rows, key="name"),
                          key=lambda r: order.index(r["name"]))  # fmt: skip
        save(RESULTS / "peak_rss", rows, info, write_markdown)


if __name__ == "__main__":
    main()
