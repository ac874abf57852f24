"""Errors for a user's mistakes: the CLI prints them as one line and exits with code 2."""


class GankitError(Exception):
    """A user's mistake (bad path, config, data or run folder); the message says how to fix it."""


class ConfigError(GankitError):
    """An unknown name, key or preset, or a value of the wrong type."""


class DataError(GankitError):
    """A data file that is missing, unreadable or of the wrong shape."""


class RunError(GankitError):
    """A folder that is not a run, or an output folder that already holds one."""


class CheckpointError(GankitError):
    """A checkpoint that is truncated, foreign or otherwise unreadable."""


class MetricError(GankitError):
    """A metric asked of a run or data set it cannot measure."""
