"""Pictures and HTML reports of training runs."""

from gankit.viz.plots import list_snapshots, loss_curves, read_metrics, save_snapshot, timelapse
from gankit.viz.report import write_report

__all__ = [
    "list_snapshots",
    "loss_curves",
    "read_metrics",
    "save_snapshot",
    "timelapse",
    "write_report",
]
