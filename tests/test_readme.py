"""README.md's examples are a contract: every command in its ```bash and ```python blocks runs.

Every non-comment line of those blocks is a command (`a && b` is two). Each is run here or listed
in ELSEWHERE with what runs it; `test_every_readme_command_is_run_somewhere` fails naming any
other line, so a new example without coverage fails CI. The blocks run in README order, each in
an empty folder with an empty HOME, under these rules:

1. `gankit ...` runs in this process through `gankit.cli.main(argv)` and must exit 0.
   `gankit train --nproc N` and `torchrun ...` run as child processes (torchrun as
   `python -m torch.distributed.run --standalone`, with the README's process count).
2. `RUN_DIR` and `runs/NAME-YYYYMMDD-HHMMSS` stand for the run folder of the block's most recent
   `gankit train` (its "run folder: PATH" line).
3. Files the README names as the user's own (USER_FILES) are made, tiny but valid, before a block
   that names them.
4. `gankit train` without `--resume` gets FEW_STEPS (ends after one step), plus EXTRA where one
   step would otherwise take minutes; `--resume RUN --steps N` goes to the run's step + 2, with
   `--set train.time_limit=0` (FEW_STEPS's limit lifted: the README's run had none);
   `--n N` above 64 becomes 16.
5. `[--option value]` runs the command without the option, then with it (the `--out` folder of a
   translate is checked and emptied in between: gankit never overwrites a file).
6. A ```python block runs as a whole, with `gankit.train` given FEW_STEPS; a comment `# [a, b]`
   after `x = ...` is x's shape. A ```python block whose first line is `# src/...py` shows that
   file of the repository: it must equal the file (which the suite tests), and is not run.

Each command's result is checked where cheap (the run folder, the file written, the count).
"""

from __future__ import annotations

import json
import re
import shlex
import shutil
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pytest

import gankit
from gankit import cli
from gankit.training.checkpoint import list_checkpoints, load_checkpoint
from gankit.training.run import RunDir

README = Path(__file__).resolve().parents[1] / "README.md"
CI = README.parent / ".ci" / "run"

# README commands this test does not run, and what does
ELSEWHERE = {
    "pip install .": ".ci/run installs the package (editable, with the test extras) first",
    'pip install -e ".[dev]"': ".ci/run runs this line as it stands",
    "python -m pytest": ".ci/run runs this line as it stands (the fast tests)",
    "python -m pytest -m slow": ".ci/run runs this line as it stands (this test among them)",
    "python -m pytest tests/test_contract.py -k lsgan": "the fast suite runs test_contract.py",
    'pip install ".[course]"': ".ci/run installs it: the dev extra holds the course extra",
    "jupyter lab docs/course": "tests/test_site.py opens and saves every notebook through "
    "jupytext's contents manager, as JupyterLab does",
    'pip install -e ".[docs]"': ".ci/run installs it: the dev extra holds the docs extra",
    "mkdocs serve": ".ci/run runs `mkdocs build --strict`, the site mkdocs serve serves; "
    "tests/test_site.py builds it too and checks its pages",
    'pip install ".[serve]"': ".ci/run installs it: the dev extra holds the serve extra",
    "gankit serve runs/": "tests/test_serve_browser.py serves a folder of tiny runs in a browser",
}

FEW_STEPS = [
    "train.time_limit=0.001",  # ends after the first step; train.steps (schedules) is kept
    "train.n_samples=64",
    "train.progress=false",
    "train.tensorboard=false",
]
EXTRA = {  # a `gankit train` with this word in its command line also gets these settings
    "paired-folder": ["train.batch_size=2"],  # pix2pix at 256x256: batch 256 takes minutes
    "unpaired-folder": ["train.batch_size=2"],  # CycleGAN at 128x128, the same
    "bach-music21": ["data.max_chorales=2"],  # parsing all 371 chorales takes minutes
    "mnist-usps-cycada": ["model.semantic_steps=2"],  # its classifiers: 1,000 batches first
}
RUN_PLACEHOLDER = re.compile(r"RUN_DIR|runs/[\w.-]+-\d{8}-\d{6}")
OPTIONAL = re.compile(r"\s*\[(--[^\]]+)\]")  # `[--direction BtoA]`
COMMENT = re.compile(r"\s#\s.*$")
COMMAND_LANGS = ("bash", "python")  # fenced blocks whose lines are commands
SHOW_LANGS = ("text", "yaml", "json", "toml")  # fenced blocks that only show a file or output
SHAPE = re.compile(r"^(\w+) = .*#\s*\[([\d,\s]+)\]\s*$")
LISTING = re.compile(r"^# ((?:src|benchmarks)/\S+\.py)$")  # a block that shows a file


# ------------------------------------------------------------------ the README's commands


@dataclass
class Block:
    """One fenced block: its language, its first line in README.md, an id, its numbered lines."""

    lang: str
    line: int
    id: str
    lines: list[tuple[int, str]]

    @property
    def listing(self) -> str | None:
        """The repository file a ```python block shows (its first line names it), or None."""
        first = self.lines[0][1] if self.lines else ""
        match = LISTING.match(first) if self.lang == "python" else None
        return match.group(1) if match else None

    def commands(self) -> list[tuple[int, str]]:
        """(README line, command) for every command: non-comment lines, split at `&&`."""
        out = []
        for k, text in self.lines:
            text = text.strip() if self.lang == "python" else COMMENT.sub("", text).strip()
            if text and not text.startswith("#"):
                out += [(k, part.strip()) for part in text.split(" && ")]
        return out


def readme_blocks() -> list[Block]:
    """Every fenced block of README.md, in order; ids are the section's name and a count."""
    blocks, heading, block, count = [], "top", None, 0
    for k, line in enumerate(README.read_text(encoding="utf-8").splitlines(), 1):
        if block is not None:
            if line.startswith("```"):
                blocks.append(block)
                block = None
            else:
                block.lines.append((k, line))
        elif line.startswith("## "):
            heading, count = re.sub(r"[^a-z0-9]+", "-", line[3:].lower()).strip("-"), 0
        elif line.startswith("```"):
            count += 1
            block = Block(line[3:].strip(), k, f"{heading}-{count}", [])
    return blocks


HERE = "tests/test_readme.py"


def runner(lang: str, command: str) -> str | None:
    """What runs a README command: this test (HERE), ELSEWHERE's entry, or nothing (None)."""
    if command in ELSEWHERE:  # first: `gankit serve` runs until stopped, so not here
        return ELSEWHERE[command]
    if lang == "python" or command.split()[0] in ("gankit", "torchrun"):
        return HERE
    return ELSEWHERE.get(command)


ALL_BLOCKS = readme_blocks()
BLOCKS = [b for b in ALL_BLOCKS if b.lang in COMMAND_LANGS and not b.listing]
LISTINGS = [b for b in ALL_BLOCKS if b.listing]
RUN_HERE = [b for b in BLOCKS if any(runner(b.lang, c) == HERE for _, c in b.commands())]


def test_every_readme_command_is_run_somewhere():
    commands = [(b.lang, k, c) for b in BLOCKS for k, c in b.commands()]
    assert len(commands) > 30, "README.md's code blocks were not found"
    missing = [f"README.md:{k}: {c}" for lang, k, c in commands if runner(lang, c) is None]
    assert not missing, "README commands that no test runs (run them or add to ELSEWHERE):\n" + (
        "\n".join(missing)
    )
    known = COMMAND_LANGS + SHOW_LANGS
    odd = [f"README.md:{b.line}: ```{b.lang}" for b in ALL_BLOCKS if b.lang not in known]
    assert not odd, f"blocks that are neither commands ({COMMAND_LANGS}) nor {SHOW_LANGS}: {odd}"
    stale = set(ELSEWHERE) - {c for _, _, c in commands}
    assert not stale, f"ELSEWHERE names commands the README no longer has: {sorted(stale)}"
    ci = CI.read_text().splitlines()  # the lines ELSEWHERE counts on
    ci_lines = {'pip install -q -e ".[dev]" && python -m pytest', "python -m pytest -m slow"}
    assert ci_lines | {"mkdocs build --strict"} <= set(ci)


@pytest.mark.parametrize("block", LISTINGS, ids=[b.listing for b in LISTINGS])
def test_a_listed_file_equals_the_repository_file(block):
    shown = "\n".join(t for _, t in block.lines[1:]).strip()
    assert shown == (README.parent / block.listing).read_text(encoding="utf-8").strip(), (
        f"README.md:{block.line} shows {block.listing} as it no longer is; copy it again"
    )


# ------------------------------------------------------------------ the user's own files


def _picture(path: Path, seed: int, size: int = 128) -> None:
    """A smooth colour picture with a few discs: something a photo folder could hold."""
    from PIL import Image, ImageDraw

    rng = np.random.default_rng(seed)
    yy, xx = np.mgrid[0:size, 0:size] / size
    colour = rng.uniform(0, 255, (3, 3))
    rgb = colour[:, 0] * xx[..., None] + colour[:, 1] * yy[..., None] + colour[:, 2] / 2
    img = Image.fromarray(np.clip(rgb, 0, 255).astype(np.uint8))
    draw, fill = ImageDraw.Draw(img), tuple(int(c) for c in colour[0])
    for x, y, r in rng.integers(8, size - 8, (3, 3)):
        draw.ellipse((x - r // 4, y - r // 4, x + r // 4, y + r // 4), fill=fill)
    path.parent.mkdir(parents=True, exist_ok=True)
    img.save(path)


def _pictures(folder: Path, n: int, size: int = 128, start: int = 0) -> None:
    for i in range(n):
        _picture(folder / f"img{start + i:02d}.jpg", start + i, size)


def _points(path: Path) -> None:
    rng = np.random.default_rng(0)
    centres = np.array([[0.0, 0.0], [2.0, 2.0], [-2.0, 2.0]])
    points = centres[rng.integers(0, 3, 300)] + rng.normal(0, 0.1, (300, 2))
    np.savetxt(path, points, delimiter=",", fmt="%.4f", header="x,y", comments="")


def _text(path: Path) -> None:
    words = "the cat sat on a warm mat and the dog ran in the green park".split()
    rng = np.random.default_rng(0)
    path.write_text("\n".join(" ".join(rng.choice(words, 5)) for _ in range(24)) + "\n")


def _pairs(folder: Path) -> None:  # A/ and B/ with matching names, at the 256 the README asks
    for domain in ("A", "B"):
        _pictures(folder / domain, 3, 256, start=0 if domain == "A" else 10)
        for k, f in enumerate(sorted((folder / domain).iterdir())):
            f.rename(f.with_name(f"pair{k}.jpg"))


def _unpaired(folder: Path) -> None:
    _pictures(folder / "trainA", 4)
    _pictures(folder / "trainB", 4, start=20)


def _midi(folder: Path) -> None:
    """Four 16-second piano pieces of block chords (eight 4-bar segments at 120 bpm)."""
    import pretty_midi

    folder.mkdir(parents=True)
    chords = [[60, 64, 67], [62, 65, 69], [59, 62, 67], [60, 64, 72]]
    for k in range(4):
        song = pretty_midi.PrettyMIDI()
        piano = pretty_midi.Instrument(program=0)
        for beat in range(32):
            for pitch in chords[(beat + k) % 4]:
                piano.notes.append(pretty_midi.Note(80, pitch + k, beat * 0.5, beat * 0.5 + 0.45))
        song.instruments.append(piano)
        song.write(str(folder / f"piece{k}.mid"))


USER_FILES = {  # a name the README gives to the user's own data -> what makes it
    "my_points.csv": _points,
    "my_photos": lambda p: _pictures(p, 8),  # 128x128: one example grows ProGAN to 128
    "my_text.txt": _text,
    "pairs": _pairs,
    "horses2zebras": _unpaired,
    "photo.jpg": lambda p: _picture(p, 99),
    "more_photos": lambda p: _pictures(p, 2, start=50),
    "my_midi": _midi,
    "my_style.png": lambda p: _picture(p, 77, 256),
}


# ------------------------------------------------------------------ running a command


def variants(command: str) -> list[str]:
    """The command without its `[--option]`, then with it (the command alone if it has none)."""
    if not OPTIONAL.search(command):
        return [command]
    return [OPTIONAL.sub("", command), OPTIONAL.sub(r" \1", command)]


def shrunk(argv: list[str], run: Path | None) -> list[str]:
    """The command as this test runs it (rules 2 and 4 above)."""
    out = []
    for a in argv:
        if RUN_PLACEHOLDER.fullmatch(a):
            assert run is not None, "names a run folder, but no `gankit train` came before it"
            a = str(run)
        out.append(a)
    sub = out[out.index("gankit") + 1]
    for i, a in enumerate(out[:-1]):
        if a == "--n" and int(out[i + 1]) > 64:
            out[i + 1] = "16"
        if a == "--steps" and "--resume" in out:
            resumed = RunDir.open(Path(out[out.index("--resume") + 1])).latest_checkpoint()
            out[i + 1] = str(int(load_checkpoint(resumed)["step"]) + 2)
    if sub == "train" and "--resume" not in out:
        for setting in FEW_STEPS + [s for key, v in EXTRA.items() if key in argv for s in v]:
            out += ["--set", setting]
    elif sub == "train":  # the README's run had no time limit: lift the one FEW_STEPS gave it
        out += ["--set", "train.time_limit=0"]
    elif sub == "nightmare":  # the last of an option given twice counts
        out += ["--faces-steps", "2", "--n-faces", "2", "--steps", "2", "--size", "64"]
    return out


def execute(argv: list[str], capsys) -> tuple[int, str]:
    """Exit code and output (stdout, then stderr) of a gankit or torchrun command."""
    if argv[0] == "torchrun" or "--nproc" in argv:
        if argv[0] == "torchrun":
            cmd = [sys.executable, "-m", "torch.distributed.run", "--standalone", *argv[1:]]
        else:
            cmd = [sys.executable, "-m", "gankit", *argv[1:]]
        done = subprocess.run(cmd, capture_output=True, text=True, timeout=900)
        return done.returncode, done.stdout + done.stderr
    try:
        cli.main(argv[1:])
        code = 0
    except SystemExit as e:
        code = e.code if isinstance(e.code, int) else int(e.code is not None)
    out = capsys.readouterr()
    return code, out.out + out.err


def option(argv: list[str], name: str) -> str | None:
    return argv[argv.index(name) + 1] if name in argv else None


def check(argv: list[str], output: str, run: Path | None) -> Path | None:
    """Asserts what the command promises; returns the block's most recent run folder."""
    sub = argv[argv.index("gankit") + 1]
    if sub == "list":
        assert all(f"{kind}:" in output for kind in cli.LIST_KINDS)
    elif sub == "train":
        found = re.search(r"run folder: (.+?) \(from step (\d+)\)", output)
        assert found, "no 'run folder:' line"
        run = Path(found.group(1))
        assert (run / "config.yaml").is_file() and list_checkpoints(run / "checkpoints")
        if "--resume" in argv:  # it goes on from its checkpoint, to the new length
            assert int(found.group(2)) > 0, "the resumed run started from step 0"
            assert f"trained to step {option(argv, '--steps')}" in output
        assert re.search(r"trained to step \d+", output)
    elif sub == "sample":
        found = re.search(r"wrote (\d+) samples to (.+)", output)
        assert found and found.group(1) == option(argv, "--n"), "not the samples asked for"
        written = Path(found.group(2).strip())
        assert written.is_file()
        if option(argv, "--out"):
            assert written == Path(option(argv, "--out"))
        if written.suffix == ".mid":  # the README: the MIDI file, a picture and a WAV beside it
            assert written.with_suffix(".png").is_file() and written.with_suffix(".wav").is_file()
    elif sub == "eval":
        scores = json.loads(output.strip().splitlines()[-1])
        assert len(scores) > 1, "no score printed"
        row = json.loads((run / "metrics.jsonl").read_text().splitlines()[-1])
        assert row["source"] == "gankit eval"
    elif sub == "report":
        assert (run / "report.html").is_file()
    elif sub == "nightmare":
        found = re.search(r"haunted (\d+) face\(s\) and (\d+) place\(s\).*: (\S+)", output)
        assert found and found.group(1) == "2" and int(found.group(2)) >= 1, "not what was asked"
        page = Path(found.group(3))
        assert page.is_file() and (page.parent / "places").is_dir()
        if "--style" in argv:
            assert (page.parent / "style_net.safetensors").is_file()
    elif sub == "translate":
        out = Path(option(argv, "--out"))
        given = argv[argv.index("translate") + 2 :]  # the inputs: up to the first option
        given = given[: next((i for i, a in enumerate(given) if a.startswith("-")), len(given))]
        inputs = [f for p in map(Path, given) for f in ([p] if p.is_file() else p.iterdir())]
        assert sorted(f.name for f in out.iterdir()) == sorted(f.name for f in inputs)
        shutil.rmtree(out)  # the next variant writes it anew (rule 5)
    return run


def run_python(block: Block, monkeypatch) -> None:
    """Runs a ```python block with FEW_STEPS; checks its `# [shape]` comments."""
    real = gankit.train

    def train(*args, overrides=None, **kwargs):
        return real(*args, overrides=[*(overrides or []), *FEW_STEPS], **kwargs)

    for module in (gankit, gankit.api):  # README blocks call gankit.train or api.train
        monkeypatch.setattr(module, "train", train)
    names: dict = {}
    exec(compile("\n".join(t for _, t in block.lines), str(README), "exec"), names)
    for k, text in block.lines:
        if m := SHAPE.match(text):
            want = [int(d) for d in m.group(2).split(",")]
            assert list(names[m.group(1)].shape) == want, f"README.md:{k}: {text}"


@pytest.mark.slow
@pytest.mark.parametrize("block", RUN_HERE, ids=[b.id for b in RUN_HERE])
def test_readme_block_runs(block, tmp_path, monkeypatch, capsys):
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("HOME", str(tmp_path / "home"))
    text = "\n".join(t for _, t in block.lines)
    for name, make in USER_FILES.items():
        if name in text:
            make(tmp_path / name)
    if block.lang == "python":
        run_python(block, monkeypatch)
        return
    run = None
    for k, command in block.commands():
        if runner(block.lang, command) != HERE:
            continue
        for variant in variants(command):
            argv, output = shlex.split(variant), ""
            try:
                argv = shrunk(argv, run)
                code, output = execute(argv, capsys)
                assert code == 0, f"exit {code}"
                run = check(argv, output, run)
            except Exception as e:  # a failed check, or a bug that escaped `gankit.cli.main`
                where = f"README.md:{k}: {command}\nran: {shlex.join(argv)}"
                what = f"{type(e).__name__}: {e}\n{output[-3000:]}"
                raise AssertionError(f"{where}\n{what}") from (
                    None if isinstance(e, AssertionError) else e
                )
