"""Data sets; importing this package registers them."""

from gankit.data import images, music, paired, text  # noqa: F401  (register the data sets)
from gankit.data.sources import Batch, DataSource, build_data, move_batch, split_batch

__all__ = ["Batch", "DataSource", "build_data", "move_batch", "split_batch"]
