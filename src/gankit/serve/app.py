"""The `gankit serve` page (Gradio): a tab per run with the controls its model declares, each
control calling a function of gankit.serve.actions; a user's mistake shows as one line.

Gradio is imported here only, and this module only when `gankit serve` runs, so `import
gankit` stays fast and gradio stays an optional extra (`pip install "gankit[serve]"`).
"""

from __future__ import annotations

import functools
import html
import os
import sys
import tempfile
import traceback
from pathlib import Path

from gankit.errors import GankitError
from gankit.serve import actions
from gankit.serve.runs import ServedRun

MAX_UPLOAD = "20mb"  # the web server refuses larger uploads before any handler runs
# small images are enlarged in the page without smoothing
CSS = ".pixelated img { image-rendering: pixelated; }"
IMAGE_BUTTONS = ["download", "fullscreen"]  # not gradio's "share", which posts to a hub


def shown(fn):
    """A handler whose GankitError becomes gr.Error: a one-line message in the page, and the
    server goes on. Anything else is a bug: its traceback goes to the terminal, one line to
    the page."""
    import gradio as gr

    @functools.wraps(fn)
    def handler(*args):
        try:
            return fn(*args)
        except GankitError as e:
            raise gr.Error(" ".join(str(e).split()), print_exception=False) from None
        except MemoryError:
            raise gr.Error("out of memory: ask for fewer samples", print_exception=False) from None
        except Exception as e:
            traceback.print_exc(file=sys.stderr)
            raise gr.Error(
                f"internal error ({type(e).__name__}: {e}); the server's terminal has the details",
                print_exception=False,
            ) from None

    return handler


def picture(label: str, elem_id: str, pixelated: bool = True):
    """An output image with a download button; `pixelated`: enlarged without smoothing, so an
    8x8 digit stays sharp."""
    import gradio as gr

    return gr.Image(
        label=label,
        format="png",
        buttons=IMAGE_BUTTONS,
        interactive=False,
        elem_id=elem_id,
        elem_classes="pixelated" if pixelated else None,
    )


def png(run: ServedRun, image, name: str) -> str:
    """An image [H, W, 3] as a PNG file of its own, for the page. Gradio writes an image
    given as an array to a file named by its content, in place, so two requests that draw
    the same picture at once could hand a client a half-written file; a file given to it is
    copied under a temporary name and renamed, which is safe."""
    from PIL import Image

    path = actions.new_output_folder(run) / f"{name}.png"
    Image.fromarray(image).save(path)
    return str(path)  # gradio takes file paths as str only


def one_at_a_time(run: ServedRun) -> dict:
    """Event options that queue a model's requests: one at a time, so two users never share
    its state mid-request."""
    return dict(concurrency_id=run.key, concurrency_limit=1)


def api(run: ServedRun, action: str) -> str:
    """The event's name in the app's API (scripts, gradio_client): RUNKEY_ACTION."""
    return f"{run.key}_{action}".replace("-", "_")


def _class_choices(run: ServedRun) -> list[tuple[str, str]]:
    return [("every class (a column each)", "")] + [(c, c) for c in run.class_names]


def images_panel(run: ServedRun) -> None:
    """Sample a grid with a seed (of a class, for a conditional model); walk between seeds."""
    import gradio as gr

    k = run.key
    opts = one_at_a_time(run)
    with gr.Row():
        n = gr.Slider(1, actions.MAX_SAMPLES, 16, step=1, label="samples", elem_id=f"{k}-n")
        seed = gr.Number(0, precision=0, minimum=0, label="seed", elem_id=f"{k}-seed")
        cls = gr.Dropdown(
            _class_choices(run),
            value="",
            label="class",
            visible=run.conditional,
            elem_id=f"{k}-class",
        )
    button = gr.Button("Sample", variant="primary", elem_id=f"{k}-sample")
    out = picture("samples", f"{k}-grid")
    button.click(
        shown(lambda n, seed, cls: png(run, actions.sample_images(run, n, seed, cls), "samples")),
        [n, seed, cls],
        out,
        api_name=api(run, "sample"),
        **opts,
    )
    if run.kind != "image":
        return
    gr.Markdown("### Walk from one seed to another")
    with gr.Row():
        a = gr.Number(0, precision=0, minimum=0, label="from seed", elem_id=f"{k}-seed-a")
        b = gr.Number(1, precision=0, minimum=0, label="to seed", elem_id=f"{k}-seed-b")
    t = gr.Slider(0, 1, 0.5, step=0.05, label="position", elem_id=f"{k}-t")
    go = gr.Button("Interpolate", elem_id=f"{k}-interpolate")
    with gr.Row():
        one = picture("at the position", f"{k}-at")
        path = picture("the whole path", f"{k}-path")

    def interpolate(a, b, t, cls):
        at, path = actions.interpolate(run, a, b, t, cls)
        return png(run, at, "position"), png(run, path, "path")

    walk = shown(interpolate)
    go.click(walk, [a, b, t, cls], [one, path], api_name=api(run, "interpolate"), **opts)
    t.release(walk, [a, b, t, cls], [one, path], api_visibility="private", **opts)


def translation_panel(run: ServedRun, uploads: Path, max_pixels: int) -> None:
    """Upload an image, translate it (either direction for CycleGAN), download the result."""
    import gradio as gr

    k = run.key
    directions = ["AtoB", "BtoA"] if run.kind == "unpaired" else ["AtoB"]
    file = gr.File(label="an image to translate", elem_id=f"{k}-upload")
    direction = gr.Radio(
        directions,
        value="AtoB",
        label="direction",
        visible=len(directions) > 1,
        elem_id=f"{k}-direction",
    )
    button = gr.Button("Translate", variant="primary", elem_id=f"{k}-translate")
    with gr.Row():
        seen = picture("input (as the model sees it)", f"{k}-input")
        result = picture("translation", f"{k}-output")
    download = gr.File(label="download", interactive=False, elem_id=f"{k}-download")

    def translate(path, direction):
        seen, result, out = actions.translate_upload(run, path, direction, uploads, max_pixels)
        return png(run, seen, "input"), png(run, result, "translation"), str(out)

    button.click(
        shown(translate),
        [file, direction],
        [seen, result, download],
        api_name=api(run, "translate"),
        **one_at_a_time(run),
    )


def text_panel(run: ServedRun) -> None:
    import gradio as gr

    k = run.key
    with gr.Row():
        n = gr.Slider(1, actions.MAX_LINES, 5, step=1, label="lines", elem_id=f"{k}-n")
        seed = gr.Number(0, precision=0, minimum=0, label="seed", elem_id=f"{k}-seed")
        temp = gr.Slider(
            0.1,
            2.0,
            1.0,
            step=0.05,
            label="temperature",
            elem_id=f"{k}-temperature",
            info="below 1: safer, more repetitive; above 1: more surprising",
            visible="temperature" in run.sample_options,
        )
    button = gr.Button("Generate", variant="primary", elem_id=f"{k}-generate")
    out = gr.Textbox(label="text", lines=8, interactive=False, elem_id=f"{k}-text")
    button.click(
        shown(functools.partial(actions.generate_text, run)),
        [n, seed, temp],
        out,
        api_name=api(run, "text"),
        **one_at_a_time(run),
    )


def music_panel(run: ServedRun) -> None:
    import gradio as gr

    k = run.key
    with gr.Row():
        n = gr.Slider(1, actions.MAX_SEGMENTS, 4, step=1, label="segments", elem_id=f"{k}-n")
        seed = gr.Number(0, precision=0, minimum=0, label="seed", elem_id=f"{k}-seed")
    button = gr.Button("Generate", variant="primary", elem_id=f"{k}-generate")
    audio = gr.Audio(label="listen", type="filepath", interactive=False, elem_id=f"{k}-audio")
    roll = picture("piano roll", f"{k}-roll", pixelated=False)
    midi = gr.File(label="MIDI", interactive=False, elem_id=f"{k}-midi")

    def music(n, seed):
        wav, mid, png = actions.generate_music(run, n, seed)
        return str(wav), str(png), str(mid)

    button.click(
        shown(music),
        [n, seed],
        [audio, roll, midi],
        api_name=api(run, "music"),
        **one_at_a_time(run),
    )


def report_panel(run: ServedRun):
    """The run's metrics, curves, config and report.html (shown sandboxed: no scripts run);
    filled when its tab is opened, so a page with many runs opens quickly."""
    import gradio as gr

    k = run.key
    refresh = gr.Button("Refresh", size="sm", elem_id=f"{k}-refresh")
    table = gr.Dataframe(
        headers=["metric", "value", "step"],
        label="latest evaluation",
        interactive=False,
        elem_id=f"{k}-metrics",
    )
    curve = picture("training curves", f"{k}-curves", pixelated=False)
    config = gr.Code(label="config.yaml", language="yaml", interactive=False, elem_id=f"{k}-config")
    report = gr.HTML(elem_id=f"{k}-report")

    def fill():
        shown_curves = actions.curves(run)
        return (
            actions.metrics_table(run) or [["(no evaluation yet)", None, None]],
            str(shown_curves) if shown_curves else None,
            actions.config_text(run),
            report_frame(run.path / "report.html"),
        )

    outputs = [table, curve, config, report]
    refresh.click(
        shown(fill), None, outputs, api_name=api(run, "report"), concurrency_id=f"{k}-report"
    )
    return shown(fill), outputs


def report_frame(path: Path) -> str:
    """report.html in a sandboxed frame (no scripts, no access to the page), or a note."""
    try:
        text = path.read_text(encoding="utf-8", errors="replace")
    except OSError:
        return "<p>No report.html in this run yet: <code>gankit report RUN</code> writes it.</p>"
    return (
        f'<iframe title="report.html" sandbox="" srcdoc="{html.escape(text, quote=True)}" '
        'style="width:100%;height:80vh;border:1px solid #ccc"></iframe>'
    )


def run_tab(run: ServedRun, uploads: Path, max_pixels: int) -> None:
    """One run's tab: its status line, then what its model can do, then its report."""
    import gradio as gr

    with gr.Tab(run.name, id=run.key, elem_id=f"{run.key}-tab"):
        status = gr.Textbox(
            run.status(), label="run", interactive=False, elem_id=f"{run.key}-status"
        )
        if run.problem:
            return
        with gr.Tabs():
            with gr.Tab("Play", id=f"{run.key}-play"):
                if run.kind in ("image", "points"):
                    images_panel(run)
                elif run.kind in ("paired", "unpaired"):
                    translation_panel(run, uploads, max_pixels)
                elif run.kind == "text":
                    text_panel(run)
                elif run.kind == "music":
                    music_panel(run)
            with gr.Tab("Report", id=f"{run.key}-report-tab") as report_tab:
                fill, outputs = report_panel(run)
        report_tab.select(
            fill, None, outputs, api_visibility="private", concurrency_id=f"{run.key}-report"
        )
        report_tab.select(run.status, None, status, api_visibility="private")


def build_app(runs: list[ServedRun], uploads: Path, max_pixels: int):
    """The page: a title, a tab per run."""
    import gradio as gr

    with gr.Blocks(title="gankit", analytics_enabled=False, delete_cache=(600, 3600)) as demo:
        gr.Markdown(
            "# gankit\nPlay with trained GANs: one tab per run. Everything runs on this "
            "machine; each model answers one request at a time."
        )
        for run in runs:
            run_tab(run, uploads, max_pixels)
    return demo


def serve(
    paths: list[Path],
    host: str = "127.0.0.1",
    port: int = 7860,
    max_pixels: int = actions.DEFAULT_MAX_IMAGE_PIXELS,
) -> None:
    """Builds the page for the runs in `paths` and serves it until Ctrl-C."""
    from gankit.serve.runs import find_runs

    runs = find_runs(paths)
    for run in runs:
        print(
            f"gankit serve: {run.name}: {run.status()}",
            file=sys.stderr if run.problem else sys.stdout,
        )
    if all(r.problem for r in runs):
        raise GankitError("none of the runs can be served (see above)")
    uploads = Path(tempfile.mkdtemp(prefix="gankit-serve-"))
    os.environ["GRADIO_TEMP_DIR"] = str(uploads)  # uploads land here, and only here
    demo = build_app(runs, uploads, max_pixels)
    demo.queue(default_concurrency_limit=1, max_size=64)
    try:
        _, url, _ = demo.launch(
            server_name=host,
            server_port=port,
            share=False,
            inbrowser=False,
            max_file_size=MAX_UPLOAD,
            ssr_mode=False,
            css=CSS,
            quiet=True,
            footer_links=[],
            prevent_thread_lock=True,
        )
    except OSError as e:
        raise GankitError(f"cannot serve on {host}:{port} ({e}); choose another --port") from None
    print(f"gankit serve: open {url} (Ctrl-C stops)", flush=True)
    try:
        demo.block_thread()
    finally:
        demo.close()
