"""Data sets; importing this package registers them."""

from gankit.data.sources import DataSource, build_data

__all__ = ["DataSource", "build_data"]
