"""gankit's small digit CNN p(C_k | x) and how to train it: the architecture of the judges in
gankit.metrics.classifier (class accuracy, MNIST features), and of the classifiers a model trains
for itself (CycleGAN's semantic loss), which are never the judges' weights."""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from gankit.errors import MetricError


class Classifier(nn.Module):
    """[N, 1, 28, 28] in [-1, 1] -> 10 class logits; `features` gives the 128-d layer before."""

    def __init__(self, num_classes: int = 10, width: int = 32, feature_dim: int = 128):
        super().__init__()

        def block(c_in: int, c_out: int) -> nn.Sequential:
            return nn.Sequential(
                nn.Conv2d(c_in, c_out, 3, padding=1, bias=False),
                nn.BatchNorm2d(c_out),
                nn.ReLU(inplace=True),
                nn.Conv2d(c_out, c_out, 3, padding=1, bias=False),
                nn.BatchNorm2d(c_out),
                nn.ReLU(inplace=True),
                nn.MaxPool2d(2),
            )

        self.body = nn.Sequential(block(1, width), block(width, 2 * width))  # [N, 2w, 7, 7]
        self.fc = nn.Sequential(
            nn.Flatten(), nn.Linear(2 * width * 7 * 7, feature_dim), nn.ReLU(inplace=True)
        )
        self.drop = nn.Dropout(0.3)
        self.head = nn.Linear(feature_dim, num_classes)
        self.num_classes = num_classes
        self.feature_dim = feature_dim

    def features(self, x: Tensor) -> Tensor:
        """Penultimate activations [N, 128] of images [N, 1, H, W] (resized to 28x28)."""
        return self.fc(self.body(to_28(x)))

    def forward(self, x: Tensor) -> Tensor:
        """Class logits [N, 10]."""
        return self.head(self.drop(self.features(x)))


def to_28(x: Tensor) -> Tensor:
    """Images [N, 1, H, W] -> [N, 1, 28, 28], bilinear (antialiased when shrinking)."""
    if x.ndim != 4 or x.shape[1] != 1:
        raise MetricError(
            f"the digit classifier needs grey images [N, 1, H, W], got {tuple(x.shape)}; "
            "use it on MNIST-like data"
        )
    if x.shape[-2:] == (28, 28):
        return x
    shrink = x.shape[-1] > 28 or x.shape[-2] > 28
    return F.interpolate(x, size=(28, 28), mode="bilinear", align_corners=False, antialias=shrink)


def shift(x: Tensor, generator: torch.Generator, pad: int = 2) -> Tensor:
    """Random translations by up to `pad` pixels (the only augmentation; digits are not flipped)."""
    n = x.shape[0]
    padded = F.pad(x, (pad,) * 4, value=-1.0)
    dx = torch.randint(0, 2 * pad + 1, (n,), generator=generator)
    dy = torch.randint(0, 2 * pad + 1, (n,), generator=generator)
    rows = (dy[:, None] + torch.arange(28)[None]).view(n, 1, 28, 1).expand(n, 1, 28, 28 + 2 * pad)
    out = padded.gather(2, rows)
    cols = (dx[:, None] + torch.arange(28)[None]).view(n, 1, 1, 28).expand(n, 1, 28, 28)
    return out.gather(3, cols)


def fit_batch(net, opt, sched, x: Tensor, y: Tensor, generator: torch.Generator) -> float:
    """One step of cross-entropy on x [N, 1, 28, 28] shifted at random; returns the loss."""
    loss = F.cross_entropy(net(shift(x, generator)), y)
    opt.zero_grad(set_to_none=True)
    loss.backward()
    opt.step()
    sched.step()
    return float(loss.detach())


def fit_classifier(
    x: Tensor, y: Tensor, steps: int, seed: int, width: int = 32, batch_size: int = 128,
    lr: float = 2e-3,
) -> Classifier:  # fmt: skip
    """A fresh classifier trained on images x [N, 1, H, W] in [-1, 1] with labels y for `steps`
    batches drawn at random (one-cycle lr, random shifts), returned frozen in eval mode.

    It depends on `seed` alone: the global RNG (dropout draws from it) is forked, so whoever
    trains one here, e.g. a model before its first step, leaves the run's random stream as it
    was."""
    x = to_28(x.float())
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(seed)
        gen = torch.Generator().manual_seed(seed)
        net = Classifier(width=width)
        opt = torch.optim.Adam(net.parameters(), lr=lr)
        sched = torch.optim.lr_scheduler.OneCycleLR(opt, max_lr=lr, total_steps=steps)
        for _ in range(steps):
            idx = torch.randint(len(x), (batch_size,), generator=gen)
            fit_batch(net, opt, sched, x[idx], y[idx], gen)
    return net.eval().requires_grad_(False)
