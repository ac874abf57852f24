"""Data sets; importing this package registers them."""

from gankit.data import images, text  # noqa: F401  (registers the image and text data sets)
from gankit.data.sources import Batch, DataSource, build_data, move_batch, split_batch

__all__ = ["Batch", "DataSource", "build_data", "move_batch", "split_batch"]
