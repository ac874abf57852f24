"""Text runs scored against a user's own held-out file: `gankit eval RUN --reference PATH` and
`--set data.reference=PATH` in training; a missing, empty or binary file is one line, exit 2."""

import json

import pytest

from gankit import api
from gankit.data.text import decode_text
from gankit.metrics.text import corpus_mean_bleu

from .conftest import TINY_TEXT, TRAIN_TINY
from .conftest import cli as run

MLE = ["--model", "text-mle", "--data", str(TINY_TEXT), "--steps", "4"]
TINY = [*TRAIN_TINY, "model.emb_dim=8", "model.hidden_dim=8", "data.tokenizer=whitespace",
        "data.max_len=12"]  # fmt: skip


def sets(*options: str) -> list[str]:
    return [a for o in options for a in ("--set", o)]


@pytest.fixture(scope="module")
def run_dir(tmp_path_factory):
    out = tmp_path_factory.mktemp("reference") / "run"
    api.train(None, "text-mle", "text", [f"data.path={TINY_TEXT}", *TINY, "train.steps=4"], out)
    return out


def test_eval_reference_scores_bleu_against_every_line_of_the_file(run_dir, tmp_path, capsys):
    ref = tmp_path / "test.txt"
    lines = ["the cat sat on the mat", "a dog ran in the park today", "we walk to the river"]
    ref.write_text("\n".join(lines) + "\n\n")  # a blank line is no sentence
    code, out, err = run(capsys, "eval", run_dir, "--n", "40", "--reference", ref)
    assert code == 0, err
    got = json.loads(out)
    model = api.load(run_dir)
    hyps = [s.split() for s in decode_text(model.sample(40, seed=0), model.data_info)]
    want = corpus_mean_bleu(hyps, [s.split() for s in lines])
    assert got["eval/bleu2"] == pytest.approx(want[2])
    assert got["eval/bleu5"] == pytest.approx(want[5])
    assert "against 3 held-out sentences" in got["eval/bleu_protocol"] and "eval/nll_test" in got
    row = [json.loads(s) for s in (run_dir / "metrics.jsonl").read_text().splitlines()][-1]
    assert row["reference"] == str(ref.resolve())


@pytest.mark.parametrize(
    ("content", "words"),
    [(None, "does not exist"), (b"", "is empty"), (b"\n \n", "is empty"),
     (b"ab\x00cd\n", "looks binary")],
)  # fmt: skip
def test_bad_reference_file_is_one_line_and_exit_2(run_dir, tmp_path, capsys, content, words):
    ref = tmp_path / "ref.txt"
    if content is not None:
        ref.write_bytes(content)
    code, _, err = run(capsys, "eval", run_dir, "--reference", ref)
    assert code == 2 and "Traceback" not in err and len(err.strip().splitlines()) == 1, err
    assert words in err, err


def test_training_with_data_reference_scores_bleu_on_it_without_a_test_split(tmp_path, capsys):
    ref = tmp_path / "mine.txt"
    ref.write_text("the cat sat on the mat\nthe sun is warm today\n")
    options = [*TINY, f"data.reference={ref}", "data.test_fraction=0"]
    code, _, err = run(capsys, "train", *MLE, "--out", tmp_path / "run", *sets(*options))
    assert code == 0, err
    rows = [json.loads(s) for s in (tmp_path / "run" / "metrics.jsonl").read_text().splitlines()]
    final = [r for r in rows if "eval/bleu2" in r][-1]
    assert "against 2 held-out sentences" in final["eval/bleu_protocol"]
    code, _, err = run(capsys, "train", *MLE, "--out", tmp_path / "bad",
                       *sets(*TINY, f"data.reference={tmp_path / 'nope.txt'}"))  # fmt: skip
    assert code == 2 and "nope.txt does not exist" in err, err
