"""`gankit serve RUN [RUN ...]`: a local web page to play with trained runs (Gradio), a tab per
run: sample and interpolate images, pick a class, translate an upload, write text, play music,
read the report. The page reads only the runs it was given, and each model answers one request
at a time."""

from __future__ import annotations

import os
import sys
from pathlib import Path

from gankit.errors import GankitError

LOCAL_HOSTS = ("127.0.0.1", "localhost", "::1")


def serve_runs(
    paths: list[Path], host: str = "127.0.0.1", port: int = 7860, max_pixels: int | None = None
) -> None:
    """Serves the runs in `paths` (run folders, or folders of runs) until Ctrl-C."""
    try:
        import gradio  # noqa: F401
    except ImportError:
        raise GankitError(
            'gankit serve needs Gradio, an optional extra: pip install "gankit[serve]" '
            '(from a clone: pip install ".[serve]")'
        ) from None
    if host not in LOCAL_HOSTS:
        print(
            f"gankit serve: warning: listening on {host}: anyone who can reach this machine "
            "can use these models (there is no login); the default, 127.0.0.1, is this "
            "machine only",
            file=sys.stderr,
        )
    from gankit.serve import actions
    from gankit.serve.app import serve

    serve(paths, host, port, max_pixels or actions.DEFAULT_MAX_IMAGE_PIXELS)


# gradio reports usage to its makers unless told not to; set before gradio is imported
os.environ.setdefault("GRADIO_ANALYTICS_ENABLED", "False")
