"""`gankit serve` in a real browser: headless Chromium (Debian's `chromium`, driven by
Playwright) clicks through a tab of each kind of run (images, a class, translation, text,
music, a damaged run) and checks the pictures, text and sound that come back, and the message
for a bad upload; then the load: 20 concurrent requests to one model, and memory over 200.

The server is `python -m gankit serve` in a subprocess on a free localhost port, on tiny runs
trained here. GANKIT_SCREENSHOTS=docs/images writes screenshots of the page there (off in CI,
so a test run never rewrites the repository's files).
"""

from __future__ import annotations

import io
import json
import os
import shutil
import socket
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.request
import wave
from pathlib import Path

import numpy as np
import pytest

from tests.conftest import model_case

pytestmark = [pytest.mark.slow, pytest.mark.browser]

CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
SRC = Path(__file__).resolve().parents[1] / "src"
SHOTS = os.environ.get("GANKIT_SCREENSHOTS", "")
WAIT_MS = 60_000  # a busy CI machine: one request may wait for another model's
RSS_TOLERANCE_MB = 30  # growth allowed from request 50 to request 200 (allocator noise)


def _requirements() -> None:
    """Skips on a developer's machine without the browser or the extra; fails in CI, where
    .ci/run installs both."""
    missing = []
    for module in ("playwright", "gradio", "gradio_client"):
        try:
            __import__(module)
        except ImportError:
            missing.append(module)
    if not Path(CHROMIUM).exists():
        missing.append("chromium (apt-get install chromium)")
    if missing:
        if os.environ.get("CI"):
            pytest.fail(f"browser tests need {', '.join(missing)}; .ci/run installs them")
        pytest.skip(f"browser tests need {', '.join(missing)}")


def train(root: Path, name: str, steps: int = 2, *extra: str) -> Path:
    from gankit import api

    data, tiny = model_case(name)
    out = root / name
    api.train(None, name, data, [*tiny, f"train.steps={steps}", "train.threads=1", *extra], out)
    return out


@pytest.fixture(scope="module")
def runs(tmp_path_factory) -> Path:
    _requirements()
    root = tmp_path_factory.mktemp("runs")
    # for screenshots, digits worth looking at: 600 steps at width 32 (about 20 s)
    wider = ["model.g_channels=32", "model.d_channels=32", "train.batch_size=64"]
    train(root, "cdcgan", 600 if SHOTS else 2, "train.ckpt_every=600", *(wider if SHOTS else []))
    for name in ("dcgan", "pix2pix", "cyclegan", "seqgan", "musegan"):
        train(root, name)
    (root / "damaged").mkdir()
    (root / "damaged" / "config.yaml").write_text("model: [")
    return root


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture(scope="module")
def server(runs):
    """(url, process) of `gankit serve RUNS_FOLDER` on a free port."""
    env = {**os.environ, "PYTHONPATH": str(SRC), "OMP_NUM_THREADS": "1"}
    port = free_port()
    proc = subprocess.Popen(
        [sys.executable, "-m", "gankit", "serve", str(runs), "--port", str(port)],
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        env=env,
    )
    lines: list[str] = []
    url = None
    deadline = time.monotonic() + 180
    while url is None and time.monotonic() < deadline:
        line = proc.stdout.readline()
        if not line:
            break
        lines.append(line)
        if line.startswith("gankit serve: open "):
            url = line.split()[3]
    if url is None:
        proc.kill()
        pytest.fail("gankit serve did not start:\n" + "".join(lines))
    # keep reading, so a full pipe never blocks the server
    threading.Thread(target=lambda: [lines.append(x) for x in proc.stdout], daemon=True).start()
    yield url, proc, lines
    proc.terminate()
    proc.wait(timeout=30)


@pytest.fixture(scope="module")
def browser():
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        b = p.chromium.launch(executable_path=CHROMIUM, args=["--no-sandbox"])
        yield b
        b.close()


@pytest.fixture
def page(browser, server):
    page = browser.new_page(viewport={"width": 1100, "height": 900})
    page.set_default_timeout(WAIT_MS)
    page.goto(server[0])
    yield page
    page.close()


def open_tab(page, run: str):
    page.get_by_role("tab", name=run, exact=True).click()
    return page.locator(f"#{run}-tab")


def new_src(page, selector: str, old: str | None = None) -> str:
    """The src (or href) of `selector` once it is there and differs from `old`."""
    loc = page.locator(selector)
    attr = "href" if selector.endswith(" a") else "src"
    deadline = time.monotonic() + WAIT_MS / 1000
    while time.monotonic() < deadline:
        if loc.count() and (src := loc.first.get_attribute(attr)) and src != old:
            return src
        page.wait_for_timeout(100)
    raise AssertionError(f"nothing new came back in {selector}")


def fetch(page, url: str) -> bytes:
    response = page.request.get(url)
    assert response.ok, f"{url}: {response.status}"
    return response.body()


def picture(page, url: str) -> np.ndarray:
    from PIL import Image

    with Image.open(io.BytesIO(fetch(page, url))) as img:
        return np.array(img.convert("RGB"))


def shot(page, name: str) -> None:
    if SHOTS:
        Path(SHOTS).mkdir(parents=True, exist_ok=True)
        page.screenshot(path=str(Path(SHOTS) / name), full_page=True)


def set_number(page, selector: str, value) -> None:
    box = page.locator(f"{selector} input[type=number]").first
    box.fill(str(value))
    box.press("Tab")


# ------------------------------------------------------------------ the tabs
def test_image_tab_samples_by_seed_and_interpolates(page):
    open_tab(page, "dcgan")
    set_number(page, "#dcgan-n", 9)
    page.click("#dcgan-sample")
    first = new_src(page, "#dcgan-grid img")
    a = picture(page, first)
    assert a.shape == (3 * 66 + 2, 3 * 66 + 2, 3)  # 9 digits of 8x8 enlarged to 64, 3 a row
    set_number(page, "#dcgan-seed", 7)
    page.click("#dcgan-sample")
    b = picture(page, new_src(page, "#dcgan-grid img", first))
    assert b.shape == a.shape and not np.array_equal(a, b)

    set_number(page, "#dcgan-t", 0.25)
    page.click("#dcgan-interpolate")
    at = picture(page, new_src(page, "#dcgan-at img"))
    path = picture(page, new_src(page, "#dcgan-path img"))
    assert at.shape == (256, 256, 3) and path.shape == (68, 8 * 66 + 2, 3)


def test_conditional_tab_draws_the_class_picked(page):
    open_tab(page, "cdcgan")
    page.click("#cdcgan-class input")
    page.get_by_role("option", name="7", exact=True).click()
    set_number(page, "#cdcgan-n", 16)
    page.click("#cdcgan-sample")
    sevens = picture(page, new_src(page, "#cdcgan-grid img"))
    assert sevens.shape == (4 * 66 + 2, 4 * 66 + 2, 3)  # 16 sevens, 4 a row
    page.click("#cdcgan-interpolate")
    assert picture(page, new_src(page, "#cdcgan-path img")).shape == (68, 8 * 66 + 2, 3)
    shot(page, "serve.png")
    first = page.locator("#cdcgan-grid img").get_attribute("src")
    page.click("#cdcgan-class input")
    page.get_by_role("option", name="every class (a column each)").click()
    page.click("#cdcgan-sample")
    every = picture(page, new_src(page, "#cdcgan-grid img", first))
    assert every.shape == (2 * 66 + 2, 10 * 66 + 2, 3)  # 16 -> 2 rows of the 10 classes


def test_translation_tab_translates_an_upload_and_offers_it_for_download(page, tmp_path):
    from PIL import Image

    rng = np.random.default_rng(0)
    photo = tmp_path / "edges.png"
    Image.fromarray(rng.integers(0, 256, (24, 40), dtype=np.uint8), "L").save(photo)
    open_tab(page, "pix2pix")
    page.locator("#pix2pix-upload input[type=file]").set_input_files(str(photo))
    page.wait_for_timeout(500)
    page.click("#pix2pix-translate")
    out = picture(page, new_src(page, "#pix2pix-output img"))
    seen = picture(page, new_src(page, "#pix2pix-input img"))
    assert out.shape == seen.shape == (24, 40, 3)
    href = new_src(page, "#pix2pix-download a")
    with Image.open(io.BytesIO(fetch(page, href))) as img:
        assert img.size == (40, 24) and "edges_AtoB" in href
    shot(page, "serve-translate.png")


def test_cyclegan_translates_both_ways(page, tmp_path):
    from PIL import Image

    photo = tmp_path / "square.png"
    Image.new("RGB", (12, 12), (200, 90, 40)).save(photo)
    open_tab(page, "cyclegan")
    page.locator("#cyclegan-upload input[type=file]").set_input_files(str(photo))
    page.wait_for_timeout(500)
    page.click("#cyclegan-translate")
    ab_src = new_src(page, "#cyclegan-output img")
    page.locator("#cyclegan-direction").get_by_text("BtoA").click()
    page.click("#cyclegan-translate")
    ba_src = new_src(page, "#cyclegan-output img", ab_src)
    ab, ba = picture(page, ab_src), picture(page, ba_src)
    assert ab.shape == ba.shape == (12, 12, 3) and not np.array_equal(ab, ba)


def test_a_bad_upload_is_a_message_in_the_page_and_the_server_goes_on(page, tmp_path, server):
    bad = tmp_path / "notes.txt"
    bad.write_text("this is not a picture")
    open_tab(page, "pix2pix")
    page.locator("#pix2pix-upload input[type=file]").set_input_files(str(bad))
    page.wait_for_timeout(500)
    page.click("#pix2pix-translate")
    toast = page.locator(".toast-body").filter(has_text="notes.txt cannot be read as an image")
    toast.first.wait_for()
    assert server[1].poll() is None
    open_tab(page, "dcgan")  # and it still answers
    page.click("#dcgan-sample")
    assert picture(page, new_src(page, "#dcgan-grid img")).shape[2] == 3


def test_text_tab_generates_lines_at_a_temperature(page, runs):
    open_tab(page, "seqgan")
    set_number(page, "#seqgan-n", 4)
    set_number(page, "#seqgan-temperature", 0.5)
    page.click("#seqgan-generate")
    box = page.locator("#seqgan-text textarea")
    deadline = time.monotonic() + WAIT_MS / 1000
    while not box.input_value() and time.monotonic() < deadline:
        page.wait_for_timeout(100)
    lines = box.input_value().split("\n")
    vocab = set(json.loads((runs / "seqgan" / "data.json").read_text())["vocab"])
    assert len(lines) == 4 and all(set(line.split()) <= vocab for line in lines)
    shot(page, "serve-text.png")


def test_music_tab_plays_audio_and_offers_midi(page):
    open_tab(page, "musegan")
    set_number(page, "#musegan-n", 2)
    page.click("#musegan-generate")
    midi = fetch(page, new_src(page, "#musegan-midi a"))
    assert midi[:4] == b"MThd"
    audio_src = page.locator("#musegan-audio audio").first.get_attribute("src") or new_src(
        page, "#musegan-audio a"
    )
    with wave.open(io.BytesIO(fetch(page, audio_src))) as w:
        assert w.getframerate() == 16_000 and w.getnframes() > 16_000
    roll = picture(page, new_src(page, "#musegan-roll img"))
    assert roll.shape[0] > 50
    shot(page, "serve-music.png")


def test_report_tab_shows_curves_and_config(page):
    tab = open_tab(page, "dcgan")
    tab.get_by_role("tab", name="Report").click()
    curves = picture(page, new_src(page, "#dcgan-curves img"))
    assert curves.shape[0] > 100
    page.locator("#dcgan-config").get_by_text("dcgan").first.wait_for()


def test_a_damaged_run_has_its_message_and_the_others_serve(page, server):
    tab = open_tab(page, "damaged")
    assert "cannot serve this run" in tab.locator("#damaged-status textarea").input_value()
    assert any("damaged: cannot serve this run" in line for line in server[2])


# ------------------------------------------------------------------ the file system stays shut
def test_no_path_from_a_client_reaches_the_run_folders(server, runs):
    url = server[0]
    config = runs / "dcgan" / "config.yaml"
    for route in ("gradio_api/file=", "file="):
        try:
            with urllib.request.urlopen(f"{url}{route}{config}", timeout=30) as r:
                assert b"model:" not in r.read(), f"{route} served a run's file"
        except urllib.error.HTTPError as e:
            assert e.code in (403, 404)
    # an API call that names a file of the server instead of uploading one is refused
    call = f"{url}gradio_api/call/pix2pix_translate"
    body = {"data": [{"path": str(config), "meta": {"_type": "gradio.FileData"}}, "AtoB"]}
    req = urllib.request.Request(
        call, json.dumps(body).encode(), {"Content-Type": "application/json"}
    )
    with urllib.request.urlopen(req, timeout=30) as r:
        event = json.loads(r.read())["event_id"]
    with urllib.request.urlopen(f"{call}/{event}", timeout=60) as r:
        stream = r.read().decode()
    assert "event: error" in stream and "model:" not in stream


# ------------------------------------------------------------------ load
def rss_mb(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    raise AssertionError("no VmRSS")


def test_twenty_concurrent_requests_are_all_correct_and_memory_stays_flat(server, runs, tmp_path):
    import torch
    from gradio_client import Client

    from gankit.serve.actions import sample_images
    from gankit.serve.runs import ServedRun

    url, proc, _ = server
    client = Client(url, verbose=False, download_files=str(tmp_path))
    local = ServedRun.open(runs / "dcgan", "dcgan")
    torch.set_num_threads(1)  # as the server (OMP_NUM_THREADS=1)
    jobs = [client.submit(16, s, "", api_name="/dcgan_sample") for s in range(20)]
    got = [picture_file(job.result(timeout=120)) for job in jobs]
    for s, image in enumerate(got):
        want = sample_images(local, 16, s)
        assert np.abs(image.astype(int) - want).max() <= 1, f"seed {s}"

    start, marks = time.monotonic(), {}
    for i in range(0, 200, 10):  # ten at a time: the queue stays busy, the client's waits overlap
        batch = [client.submit(16, s % 7, "", api_name="/dcgan_sample") for s in range(10)]
        for job in batch:
            job.result(timeout=120)
        if i + 10 in (50, 200):
            marks[i + 10] = rss_mb(proc.pid)
    took = time.monotonic() - start
    grew = marks[200] - marks[50]
    print(f"load: 200 requests in {took:.1f} s; RSS {marks[50]:.0f} MB after 50, "
          f"{marks[200]:.0f} MB after 200 ({grew:+.1f} MB)")  # fmt: skip
    assert grew <= RSS_TOLERANCE_MB, f"RSS grew {grew:.1f} MB from request 50 to 200"
    assert proc.poll() is None


def picture_file(path) -> np.ndarray:
    from PIL import Image

    with Image.open(path) as img:
        return np.array(img.convert("RGB"))
