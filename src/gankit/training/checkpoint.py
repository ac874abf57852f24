"""Checkpoints: plain dicts of state dicts, written atomically, read without running code."""

from __future__ import annotations

import os
import random
import re
from pathlib import Path

import numpy as np
import torch

from gankit.errors import CheckpointError

FORMAT = "gankit-checkpoint"
VERSION = 1
_NAME = re.compile(r"^step_(\d+)\.pt$")


def checkpoint_path(ckpt_dir: Path, step: int) -> Path:
    return Path(ckpt_dir) / f"step_{step:07d}.pt"


def list_checkpoints(ckpt_dir: Path) -> list[Path]:
    """Checkpoints in a folder, oldest first."""
    ckpt_dir = Path(ckpt_dir)
    if not ckpt_dir.is_dir():
        return []
    found = [(int(m.group(1)), p) for p in ckpt_dir.iterdir() if (m := _NAME.match(p.name))]
    return [p for _, p in sorted(found)]


def save_checkpoint(ckpt_dir: Path, step: int, state: dict, keep_last: int) -> Path:
    """Writes step_NNNNNNN.pt through a temporary file and a rename, then prunes old ones.

    The rename is atomic, so a crash mid-write leaves the previous checkpoint as the latest.
    """
    ckpt_dir = Path(ckpt_dir)
    ckpt_dir.mkdir(parents=True, exist_ok=True)
    path = checkpoint_path(ckpt_dir, step)
    tmp = path.with_suffix(".pt.tmp")
    try:
        with open(tmp, "wb") as f:
            torch.save({"format": FORMAT, "version": VERSION, "step": step, **state}, f)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
    except (OSError, RuntimeError) as e:  # torch reports a full disk as a RuntimeError
        tmp.unlink(missing_ok=True)
        reason = getattr(e, "strerror", None) or str(e).strip().splitlines()[0][:160]
        raise CheckpointError(
            f"cannot write checkpoint {path}: {reason}; free disk space or choose "
            "another --out (earlier checkpoints are intact)"
        ) from None
    for old in list_checkpoints(ckpt_dir)[:-keep_last]:
        old.unlink(missing_ok=True)
    return path


def state_bytes(state) -> int:
    """The bytes of the tensors in a (nested) state: about a checkpoint's size on disk, known
    before one is written, so a run can say what its checkpoints will take."""
    if isinstance(state, torch.Tensor):
        return state.numel() * state.element_size()
    if isinstance(state, dict):
        return sum(state_bytes(v) for v in state.values())
    if isinstance(state, (list, tuple)):
        return sum(state_bytes(v) for v in state)
    return 0


def load_checkpoint(path: Path, map_location: str | torch.device = "cpu") -> dict:
    """Reads a checkpoint with weights_only=True: tensors and plain containers, never code."""
    path = Path(path)
    try:
        state = torch.load(path, map_location=map_location, weights_only=True)
    except FileNotFoundError:
        raise CheckpointError(f"checkpoint {path} does not exist") from None
    except Exception as e:  # truncated zip, foreign pickle, a class that would run code
        unsafe = re.search(r"Unsupported global: GLOBAL (\S+)", str(e))
        if unsafe:
            raise CheckpointError(
                f"checkpoint {path} holds a Python object ({unsafe[1]}) that loading would run as "
                "code; gankit loads only tensors and plain values, so it is refused"
            ) from None
        reason = str(e).strip().splitlines()[0][:160] if str(e).strip() else type(e).__name__
        raise CheckpointError(
            f"checkpoint {path} is truncated or not a gankit checkpoint ({reason}); "
            "delete it to resume from the one before"
        ) from None
    if not isinstance(state, dict) or state.get("format") != FORMAT:
        raise CheckpointError(
            f"{path} is not a gankit checkpoint (no '{FORMAT}' marker); "
            "point to a run folder written by `gankit train`"
        )
    return state


def rng_state() -> dict:
    """Every RNG a training step may draw from, in a form weights_only loading accepts."""
    kind, keys, pos, has_gauss, gauss = np.random.get_state()
    return {
        "torch": torch.get_rng_state(),
        # only when CUDA is in use: asking would otherwise start it on every GPU
        "cuda": torch.cuda.get_rng_state_all() if torch.cuda.is_initialized() else [],
        "numpy": [torch.from_numpy(keys.astype(np.int64)), pos, has_gauss, gauss],
        "python": random.getstate(),
    }


def set_rng_state(state: dict) -> None:
    torch.set_rng_state(state["torch"])
    for i, cuda_state in enumerate(state["cuda"][: torch.cuda.device_count()]):
        torch.cuda.set_rng_state(cuda_state, i)
    keys, pos, has_gauss, gauss = state["numpy"]
    np.random.set_state(("MT19937", keys.numpy().astype(np.uint32), pos, has_gauss, gauss))
    version, internal, gauss_next = state["python"]
    random.setstate((version, tuple(internal), gauss_next))
