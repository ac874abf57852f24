"""The GAN families, one file each; importing this package registers them."""

from gankit.models import (  # noqa: F401
    cgan,
    cyclegan,
    dcgan,
    gan,
    musegan,
    pix2pix,
    progan,
    seqgan,
    unrolled,
    wgan,
)
from gankit.models.base import GANModel

__all__ = ["GANModel", "build_model", "load_nets"]


def build_model(
    cfg,
    data_shape: tuple[int, ...],
    device="cpu",
    ema: float = 0.0,
    num_classes: int = 0,
    data_info: dict | None = None,
) -> GANModel:
    """Builds the registered model `cfg.name` on `device`, with its optimizers (and G_ema).

    `num_classes`: the data's classes, which a conditional model learns to draw from.
    `data_info`: the data's description (its `info()`, as in a run's data.json), given to models
    that declare `uses_data_info` (a text model reads its vocabulary there).
    """
    from gankit.registry import MODELS

    cls = MODELS.get(cfg.name)
    extra = {"data_info": data_info or {}} if cls.uses_data_info else {}
    model = cls(cfg, data_shape, num_classes, **extra).to(device)
    if ema:
        model.enable_ema(ema)
    model.optimizers = model.configure_optimizers()
    return model


def load_nets(model: GANModel, state: dict, path) -> None:
    """Loads a checkpoint's nets and optimizers into `model`; a mismatch is a user's error."""
    from gankit.errors import CheckpointError

    try:
        model.nets.load_state_dict(state["nets"])
        for key, opt in model.optimizers.items():
            opt.load_state_dict(state["optimizers"][key])
    except (KeyError, RuntimeError, ValueError) as e:
        reason = str(e).strip().splitlines()[0][:160] if str(e).strip() else type(e).__name__
        raise CheckpointError(
            f"checkpoint {path} does not fit the run's config.yaml ({reason}); "
            "was config.yaml edited? Restore it, or start a new run"
        ) from None
