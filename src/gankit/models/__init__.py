"""The GAN families, one file each; the registry imports every module here, which registers them.

`base.py` holds the contract (ModelSpec, GANModel); `adversarial.py` the one game most models
share; each other file is a family: its config, its class if it needs one, its registrations.
"""

from gankit.engine import Engine
from gankit.models.base import GANModel, ModelSpec

__all__ = ["GANModel", "ModelSpec", "build_model"]


def build_model(
    cfg,
    data_shape: tuple[int, ...],
    device="cpu",
    ema: float = 0.0,
    num_classes: int = 0,
    data_info: dict | None = None,
    engine: Engine | None = None,
) -> GANModel:
    """Builds the registered model `cfg.name` on `device`, with its optimizers (and G_ema),
    training on `engine` (default: one process, fp32).

    `num_classes`: the data's classes, which a conditional model learns to draw from.
    `data_info`: the data's description (its `info()`, as in a run's data.json): a text model
    reads its vocabulary there, ProGAN the images' native sizes.
    """
    from gankit.registry import MODELS

    cls = MODELS.get(cfg.name)
    model = cls(cfg, data_shape, num_classes, data_info, engine).to(device)
    if ema:
        model.enable_ema(ema)
    model.optimizers = model.configure_optimizers()
    model.engine.prepare(model.nets)
    return model
