"""The GAN families, one file each; importing this package registers them."""

from gankit.models import gan, unrolled, wgan  # noqa: F401
from gankit.models.base import GANModel

__all__ = ["GANModel", "build_model"]


def build_model(cfg, data_shape: tuple[int, ...], device="cpu", ema: float = 0.0) -> GANModel:
    """Builds the registered model `cfg.name` on `device`, with its optimizers (and G_ema)."""
    from gankit.registry import MODELS

    model = MODELS.get(cfg.name)(cfg, data_shape).to(device)
    if ema:
        model.enable_ema(ema)
    model.optimizers = model.configure_optimizers()
    return model
