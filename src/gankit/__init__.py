"""gankit: generative adversarial networks from the lecture to the benchmark table."""

from gankit.api import export_run, load, load_run, resume, sample, train
from gankit.config import ExperimentConfig, TrainConfig, resolve_config
from gankit.errors import GankitError
from gankit.models import GANModel
from gankit.registry import DATASETS, METRICS, MODELS

__version__ = "0.1.0"
__all__ = [
    "DATASETS",
    "METRICS",
    "MODELS",
    "ExperimentConfig",
    "GANModel",
    "GankitError",
    "TrainConfig",
    "export_run",
    "load",
    "load_run",
    "resolve_config",
    "resume",
    "sample",
    "train",
]
