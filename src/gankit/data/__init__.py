"""Data sets; importing this package registers them.

`from_dataset` makes a data source of your own torch Dataset (docs/own-dataset.md).
"""

from gankit.data import (  # noqa: F401  (register the data sets)
    digits,
    edges,
    faces,
    folder,
    music,
    paired_folders,
    stacked,
    text,
    torchvision_sets,
)
from gankit.data.sources import Batch, DataSource, build_data, move_batch, split_batch
from gankit.data.streaming import from_dataset

__all__ = ["Batch", "DataSource", "build_data", "from_dataset", "move_batch", "split_batch"]
