"""The runs a `gankit serve` app was given: what each can do, read from its folder once at
start, and its model, loaded on first use and reloaded when a newer checkpoint appears.

Only these folders are ever read: the app's pages name a run by its tab, never by a path.
Each run has one lock, so one request at a time uses its model (samplers that set a seed,
models switched to eval mode and back, and a reload never overlap).
"""

from __future__ import annotations

import re
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path

from gankit.errors import CheckpointError, GankitError, RunError


@dataclass
class ServedRun:
    """One run folder as the app serves it. `problem` is why it cannot be served (a damaged or
    foreign folder): its tab shows that line and nothing else."""

    path: Path
    key: str  # unique, for the page's element ids and the run's queue
    name: str = ""
    model_name: str = ""
    data_name: str = ""
    kind: str = ""  # the model's data kind: points, image, paired, unpaired, text, music
    conditional: bool = False
    class_names: list[str] = field(default_factory=list)
    sample_options: tuple[str, ...] = ()
    info: dict = field(default_factory=dict)  # the run's data.json
    steps: int = 0  # train.steps
    problem: str = ""
    lock: threading.Lock = field(default_factory=threading.Lock, repr=False)
    _model: object = field(default=None, repr=False)
    _loaded: tuple = field(default=(), repr=False)  # (path, mtime) of the weights in _model

    @classmethod
    def open(cls, path: Path, key: str) -> ServedRun:
        """Reads what the run is (config, model declaration, data.json) without loading weights;
        a folder that cannot be read gives a run with `problem` set, never an exception."""
        from gankit.registry import MODELS
        from gankit.training.run import RunDir

        run = cls(Path(path), key, name=Path(path).resolve().name or str(path))
        try:
            folder = RunDir.open(run.path)
            cfg = folder.load_config()
            spec = MODELS.entry(cfg.model.name).spec
            run.info = folder.read_data_info()
        except GankitError as e:
            run.problem = _one_line(e)
            return run
        except Exception as e:  # a config that parses into nonsense is a damaged run too
            run.problem = f"{path} cannot be read as a gankit run ({type(e).__name__}: {e})"
            run.problem = _one_line(run.problem)
            return run
        run.model_name, run.data_name = cfg.model.name, cfg.data.name
        run.kind, run.conditional = spec.data_kind, spec.conditional
        run.sample_options = spec.sample_options
        run.class_names = [str(c) for c in run.info.get("class_names", [])]
        if run.conditional and not run.class_names:
            run.class_names = [str(i) for i in range(int(run.info.get("num_classes", 0)))]
        run.steps = cfg.train.steps
        return run

    # ------------------------------------------------------------ the weights
    def weights(self) -> Path | None:
        """The file `load_run` would read: an export's safetensors, else the newest checkpoint."""
        from gankit.api import EXPORT_WEIGHTS
        from gankit.training.checkpoint import list_checkpoints

        exported = self.path / EXPORT_WEIGHTS
        if exported.is_file():
            return exported
        found = list_checkpoints(self.path / "checkpoints")
        return found[-1] if found else None

    def model(self):
        """The run's model at its newest weights (call with `lock` held). Loaded on first use,
        and again when training has written a newer checkpoint since."""
        if self.problem:
            raise RunError(self.problem)
        path = self.weights()
        if path is None:
            raise RunError(self.no_weights_message())
        stamp = (path, _mtime(path))
        if self._model is None or self._loaded != stamp:
            self._model = self._load()
            self._loaded = stamp
        return self._model

    def _load(self):
        from gankit.api import load

        try:
            return load(self.path)
        except CheckpointError:
            # a trainer may prune the checkpoint between the listing and the read: once more
            time.sleep(0.2)
            return load(self.path)

    def no_weights_message(self) -> str:
        if self.training():
            return (
                f"{self.name} is still training and has written no checkpoint yet; try again "
                "after its first one (train.ckpt_every steps)"
            )
        return f"{self.name} has no checkpoint; train it first (`gankit train --resume`)"

    # ------------------------------------------------------------ what the page says of it
    def step(self) -> int | None:
        """The step of the newest weights, from the checkpoint's name (no file is opened)."""
        path = self.weights()
        if path is None:
            return None
        m = re.match(r"step_(\d+)\.pt$", path.name)
        return int(m.group(1)) if m else None

    def training(self) -> bool:
        """Whether a trainer is at work on this run now (its training.json names a live process
        of this machine)."""
        from gankit.training.run import RunDir

        return RunDir(self.path).live_trainer() is not None

    def status(self) -> str:
        """One line on the run for the top of its tab (plain text, shown as such)."""
        if self.problem:
            return f"cannot serve this run: {self.problem}"
        step = self.step()
        where = "no checkpoint yet" if step is None else f"step {step:,} of {self.steps:,}"
        what = f"{self.model_name} on {self.data_name}, {where}"
        if self.training():
            return (
                f"{what}; still training: the app serves its newest checkpoint and picks up "
                "newer ones as they are written"
            )
        return what


def _mtime(path: Path) -> float:
    try:
        return path.stat().st_mtime
    except OSError:
        return 0.0


def _one_line(e: BaseException | str) -> str:
    return " ".join(str(e).split())


def find_runs(paths: list[Path]) -> list[ServedRun]:
    """The runs to serve: each path a run folder, or a folder of run folders (its direct
    sub-folders that hold a config.yaml, by name). Keys are unique slugs of the names."""
    from gankit.training.run import CONFIG

    folders: list[Path] = []
    for p in map(Path, paths):
        if not p.exists():
            raise RunError(f"{p} does not exist; give run folders (or a folder of runs)")
        if not p.is_dir():
            raise RunError(f"{p} is a file; give run folders (or a folder of runs)")
        subs = sorted(d for d in p.iterdir() if d.is_dir() and (d / CONFIG).is_file())
        folders += [p] if (p / CONFIG).exists() or not subs else subs
    keys: set[str] = set()
    runs = []
    for folder in folders:
        base = re.sub(r"[^a-z0-9]+", "-", folder.resolve().name.lower()).strip("-") or "run"
        key, k = base, 2
        while key in keys:
            key, k = f"{base}-{k}", k + 1
        keys.add(key)
        runs.append(ServedRun.open(folder, key))
    return runs
