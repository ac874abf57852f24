"""report.html shows what comes from a run (its folder name, config values, text samples, metric
names and values, phase names, resume rows) as text: HTML in any of them never becomes markup."""

from __future__ import annotations

import json
from html.parser import HTMLParser
from pathlib import Path

import numpy as np
import pytest

from gankit.viz import write_report

SCRIPT = "<script>alert(1)</script>"
IMG = '"><img src=x onerror=alert(1)>'
BOLD = "a <b>bold</b> & co"
# what the template itself draws: anything else in the page came from the run as markup
TEMPLATE_TAGS = {
    "html", "head", "meta", "title", "style", "body", "main", "h1", "h2", "p", "section",
    "div", "span", "table", "thead", "tbody", "tr", "th", "td", "details", "summary",
    "figure", "img", "figcaption", "ul", "li", "pre", "a",
}  # fmt: skip


class Page(HTMLParser):
    """The elements of a page (tag, attributes) and its text, entities decoded."""

    def __init__(self, html: str):
        super().__init__(convert_charrefs=True)
        self.elements: list[tuple[str, dict]] = []
        self.text = ""
        self.feed(html)
        self.close()

    def handle_starttag(self, tag, attrs):
        self.elements.append((tag, dict(attrs)))

    def handle_data(self, data):
        self.text += data


def hostile_run(root: Path, kind: str) -> Path:
    """A run folder, made by hand, with HTML in every string a report shows."""
    run = root / f"run {IMG}"
    (run / "samples").mkdir(parents=True)
    (run / "config.yaml").write_text(
        f"model:\n  name: '{SCRIPT}'\n  note: '{IMG}'\n"
        f"data:\n  name: '{BOLD}'\n  path: '{SCRIPT}.png'\ntrain:\n  steps: 20\n  seed: '{IMG}'\n",
        encoding="utf-8",
    )
    rows = [
        {"step": 10, "time": 1.0, "loss/D": 1.2, "loss/G": 0.7},
        {"step": 10, "time": 1.0, "eval/fid_protocol": SCRIPT, f"eval/{IMG}_protocol": BOLD},
        {"step": 20, "time": 2.0, "eval/fid_protocol": IMG},
        {"step": 20, "time": 2.0, "event": f"end of phase {IMG}", "phase": IMG},
    ]
    (run / "metrics.jsonl").write_text("".join(json.dumps(r) + "\n" for r in rows))
    resume = {"step": 10, "stopped_at": 20, "steps": 20, "elapsed": 1.0, "at": SCRIPT}
    (run / "resumes.jsonl").write_text(json.dumps(resume) + "\n")
    (run / "data.json").write_text(json.dumps({"kind": kind}))
    points = np.random.default_rng(0).normal(size=(16, 2))
    for step in (10, 20):
        np.save(run / "samples" / f"step_{step:07d}.npy", points)
        if kind == "text":
            (run / "samples" / f"step_{step:07d}.txt").write_text(f"{BOLD}\n{SCRIPT}\n")
    np.save(run / "samples" / f"phase_{IMG}.npy", points)
    return run


@pytest.mark.parametrize("kind", ["points", "text"])
def test_html_from_a_run_shows_as_text_never_as_markup(tmp_path, kind):
    html = write_report(hostile_run(tmp_path, kind)).read_text(encoding="utf-8")
    page = Page(html)
    tags = {tag for tag, _ in page.elements}
    assert tags <= TEMPLATE_TAGS, tags - TEMPLATE_TAGS  # no <script>, no <b> from the run
    assert "<script" not in html.lower()
    for tag, attrs in page.elements:
        assert not any(name.startswith("on") for name in attrs), (tag, attrs)
        if tag == "img":
            assert attrs["src"].startswith("data:image/")
    # every string shows as text where it belongs: title, heading, config, tables, resumes
    assert page.text.count(f"{SCRIPT} on {BOLD}") == 2  # <title> and <h1>
    assert f"run {tmp_path / ('run ' + IMG)}" in page.text
    assert f"data: path = {SCRIPT}.png" in page.text
    assert f"seed{IMG}" in page.text  # the seed card: its label, then its value
    assert f"{IMG}_protocol{BOLD}" in page.text and f"how {IMG} was measured" in page.text
    assert f"Resumed at step 10 on {SCRIPT[:16]}," in page.text  # 16 characters: date, time
    assert f"  note: '{IMG}'" in page.text  # the config as written


def test_text_samples_show_exactly_as_written(tmp_path):
    html = write_report(hostile_run(tmp_path, "text")).read_text(encoding="utf-8")
    page = Page(html)
    assert page.text.count(f"step 20{BOLD}\n{SCRIPT}\n") == 2  # the samples and the time-lapse
    assert f"step 10{BOLD}\n{SCRIPT}\n" in page.text
    assert not any(tag in ("b", "script") for tag, _ in page.elements)


def test_a_phase_picture_link_keeps_its_name_in_the_attribute(tmp_path):
    run = hostile_run(tmp_path, "points")
    (run / "samples" / f"phase_{IMG}.png").write_bytes(b"")
    page = Page(write_report(run).read_text(encoding="utf-8"))
    assert ("a", {"href": f"samples/phase_{IMG}.png"}) in page.elements
