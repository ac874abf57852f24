"""The order images are drawn in: epochs, each a fresh seeded permutation, resumable exactly.

In-memory and streamed image sets share it, so a folder gives the same batches either way, and a
DataLoader can read ahead from a copy while the data set's own copy records what was consumed.
"""

from __future__ import annotations

import torch
from torch import Tensor

from gankit.errors import DataError


class EpochOrder:
    """Indices of n items in epochs: each epoch a permutation drawn from `generator` (and, with
    `flip`, a coin per item drawn after it, so flips do not change which items come), no
    replacement. The state is the generator's state at the start of the epoch plus the position
    in it: a restore redraws the same permutation (and flips) and continues where it was."""

    def __init__(self, n: int, generator: torch.Generator, flip: bool = False):
        self.n, self.generator, self.flip = n, generator, flip
        self._new_epoch()

    def _new_epoch(self) -> None:
        self._epoch_state = self.generator.get_state()
        self._perm = torch.randperm(self.n, generator=self.generator)
        self._flips = torch.rand(self.n, generator=self.generator) < 0.5 if self.flip else None
        self.pos = 0

    def take(self, k: int) -> tuple[Tensor, Tensor | None]:
        """The next k indices [k] (across epoch ends) and their flips [k] bool, or None."""
        idx, flips = [], []
        while k > 0:
            if self.pos == self.n:
                self._new_epoch()
            m = min(k, self.n - self.pos)
            idx.append(self._perm[self.pos : self.pos + m])
            if self._flips is not None:
                flips.append(self._flips[self.pos : self.pos + m])
            self.pos += m
            k -= m
        return torch.cat(idx), torch.cat(flips) if flips else None

    def copy(self) -> EpochOrder:
        """An order at the same place with a generator of its own: it can run ahead."""
        other = EpochOrder.__new__(EpochOrder)
        other.n, other.flip = self.n, self.flip
        other.generator = torch.Generator().set_state(self.generator.get_state())
        other._epoch_state, other._perm, other._flips = self._epoch_state, self._perm, self._flips
        other.pos = self.pos
        return other

    def state_dict(self) -> dict:
        return {
            "generator": self._epoch_state.clone(),
            "pos": torch.tensor(self.pos),
            "n": torch.tensor(self.n),  # a resume over other data would draw others
        }

    def load_state_dict(self, state: dict, name: str) -> None:
        if int(state["n"]) != self.n:
            raise DataError(
                f"the checkpoint drew from {int(state['n'])} images, data set {name!r} "
                f"now has {self.n}; restore the data or start a new run"
            )
        self.generator.set_state(state["generator"])
        self._new_epoch()
        self.pos = int(state["pos"])
