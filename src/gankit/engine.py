"""The engine a model trains on: how one optimizer update is carried out in this run.

A model says what to minimise (`engine.step(name, optimizer, loss)`); the engine does the rest
the same way for every model: backward (scaled under fp16), gradients averaged over processes,
clipping and the optimizer step. The Trainer makes one engine per run and hands it to the model,
so models never import `gankit.training` and the Trainer never reaches into a model.

Why not `DistributedDataParallel` around each net: a GAN runs D inside G's step with D frozen,
leaves parameters unused in one phase and differentiates through unrolled copies of D, all of
which fight DDP's bucketed backward hooks. Averaging the gradients of each optimizer's parameters
just before its step (as stylegan2-ada-pytorch does) is exact for every model, with one
all-reduce per update.
"""

from __future__ import annotations

import contextlib
from dataclasses import dataclass

import torch
import torch.distributed as dist
from torch import Tensor, nn

from gankit.errors import ConfigError


@dataclass(frozen=True)
class Ranks:
    """Where this process stands: rank of world; (0, 1) when not distributed."""

    rank: int = 0
    world: int = 1
    local_rank: int = 0

    @property
    def enabled(self) -> bool:
        return self.world > 1

    @property
    def is_main(self) -> bool:
        return self.rank == 0


SINGLE = Ranks()


class Engine:
    """Backward, gradient averaging, clipping and stepping for one run's models.

    `precision`: fp32, bf16 or fp16 (autocast; fp16 adds a GradScaler per optimizer). The nets
    options (`sync_bn`, `channels_last`, `compile`) are applied once by `prepare`.
    """

    def __init__(
        self,
        ranks: Ranks = SINGLE,
        precision: str = "fp32",
        device: torch.device | str = "cpu",
        sync_bn: bool = False,
        channels_last: bool = False,
        compile: bool = False,
    ):
        self.ranks, self.precision, self.device = ranks, precision, torch.device(device)
        self.sync_bn, self.channels_last, self.compile = sync_bn, channels_last, compile
        self.scalers: dict[str, torch.amp.GradScaler] = {}  # fp16 only: one per optimizer

    # ------------------------------------------------------------ set-up
    def prepare(self, nets: nn.ModuleDict) -> None:
        """The same weights on every process, then the run's layout and compilation options,
        applied to `nets` in place (parameters stay the same objects, so optimizers built
        before still hold them)."""
        for name, net in nets.items():
            if self.sync_bn:
                nets[name] = sync_batchnorm(net, self.ranks, self.device)
        broadcast_module(nets, self.ranks)
        if self.channels_last:
            nets.to(memory_format=torch.channels_last)
        if self.compile:
            for name, net in nets.items():
                if name != "G_ema":  # used a few times per run: not worth compiling
                    net.compile()

    def autocast(self):
        """The context a train step runs in: autocast to bf16/fp16, or nothing for fp32."""
        if self.precision in ("bf16", "fp16"):
            dtype = torch.bfloat16 if self.precision == "bf16" else torch.float16
            return torch.autocast(self.device.type, dtype=dtype)
        return contextlib.nullcontext()

    # ------------------------------------------------------------ one update
    def step(
        self,
        name: str,
        opt: torch.optim.Optimizer,
        loss: Tensor,
        inputs: list[Tensor] | None = None,
        clip_norm: float = 0.0,
    ) -> None:
        """One step of optimizer `opt` (called `name`) on `loss`: backward (scaled under fp16),
        gradients averaged over processes, clipped to a global norm of `clip_norm` when > 0,
        step. `inputs` limits the backward to those parameters."""
        opt.zero_grad(set_to_none=True)
        scaler = self._scaler(name)
        (scaler.scale(loss) if scaler else loss).backward(inputs=inputs)
        params = [p for g in opt.param_groups for p in g["params"]]
        average_gradients(params, self.ranks)
        if clip_norm > 0:
            if scaler:
                scaler.unscale_(opt)  # clip the true gradients, not the scaled ones
            nn.utils.clip_grad_norm_(params, clip_norm)
        if scaler:
            scaler.step(opt)  # skipped when the fp16 gradients overflowed
            scaler.update()
        else:
            opt.step()

    def _scaler(self, name: str) -> torch.amp.GradScaler | None:
        if self.precision != "fp16":
            return None
        if name not in self.scalers:
            self.scalers[name] = torch.amp.GradScaler(self.device.type)
        return self.scalers[name]

    def average(self, tensors: list[Tensor]) -> list[Tensor]:
        """The mean over processes of each tensor, differentiable (for unrolled D steps)."""
        if not self.ranks.enabled:
            return tensors
        return [_AllReduceSum.apply(t) / self.ranks.world for t in tensors]

    def global_rows(self, n: int) -> slice:
        """This process's rows of a global draw of n * world rows (noise, for instance)."""
        return slice(self.ranks.rank * n, (self.ranks.rank + 1) * n)

    # ------------------------------------------------------------ checkpoints
    def state_dict(self) -> dict:
        return {"scalers": {k: s.state_dict() for k, s in self.scalers.items()}}

    def load_state_dict(self, state: dict) -> None:
        # absent when the run began in another precision: the scalers then start afresh
        for name, scaler_state in state.get("scalers", {}).items():
            scaler = self._scaler(name)
            if scaler is not None:
                scaler.load_state_dict(scaler_state)


def average_gradients(params: list[Tensor], ranks: Ranks) -> None:
    """Averages .grad over processes in one flat all-reduce; parameters without a gradient are
    left alone (every process runs the same code, so the same ones are missing everywhere)."""
    if not ranks.enabled:
        return
    grads = [p.grad for p in params if p.grad is not None]
    if not grads:
        return
    flat = torch.cat([g.reshape(-1) for g in grads])
    dist.all_reduce(flat)
    flat /= ranks.world
    for g, new in zip(grads, flat.split([g.numel() for g in grads]), strict=True):
        g.copy_(new.view_as(g))


class _AllReduceSum(torch.autograd.Function):
    """Sum over processes; its gradient is again a sum over processes (itself differentiable,
    for the double backward of unrolled steps)."""

    @staticmethod
    def forward(ctx, x: Tensor) -> Tensor:
        y = x.clone()
        dist.all_reduce(y)
        return y

    @staticmethod
    def backward(ctx, grad: Tensor) -> Tensor:
        return _AllReduceSum.apply(grad)


def broadcast_module(module: nn.Module, ranks: Ranks) -> None:
    """Copies rank 0's parameters and buffers to every process."""
    if not ranks.enabled:
        return
    for t in [*module.parameters(), *module.buffers()]:
        dist.broadcast(t.data, src=0)


def sync_batchnorm(module: nn.Module, ranks: Ranks, device: torch.device) -> nn.Module:
    """Batch norm with statistics over the global batch (CUDA only, as SyncBatchNorm is)."""
    if not ranks.enabled:
        return module
    if device.type != "cuda":
        raise ConfigError(
            "train.sync_bn needs CUDA devices (torch's SyncBatchNorm does not run on the CPU); "
            "drop it: each process then normalises with its own batch's statistics"
        )
    return nn.SyncBatchNorm.convert_sync_batchnorm(module)
