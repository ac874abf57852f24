"""The report teaches: equilibrium lines, D's verdicts and decision surface, metrics over training
with their meanings, and the resumes of a stopped run."""

from __future__ import annotations

import html
import json
import re

import pytest
import torch

from gankit import api
from gankit.config import resolve_config
from gankit.losses import (
    EQUILIBRIUM,
    Objective,
    d_loss_bce,
    d_loss_hinge,
    d_loss_ls,
    g_loss_ls,
    g_loss_minimax,
    g_loss_nonsaturating,
)
from gankit.metrics.meanings import meaning
from gankit.metrics.music import ALL_KEYS
from gankit.viz import read_metrics
from gankit.viz.surface import d_surface

from .conftest import TINY, model_case

LN4, LN2 = 1.3862943611198906, 0.6931471805599453  # by hand: ln 4 = 2 ln 2


def train(tmp_path, name="run", model="gan", steps=20, extra=()):
    return api.train(None, model, "ring", TINY + [f"train.steps={steps}", *extra], tmp_path / name)


def page(run_dir) -> str:
    """The report's HTML with its entities decoded (D&#x27;s -> D's)."""
    return html.unescape(api.report(run_dir).read_text(encoding="utf-8"))


def test_equilibrium_of_the_standard_loss_is_ln4_and_ln2_and_none_for_a_critic():
    assert Objective().equilibrium == pytest.approx({"loss/D": LN4, "loss/G": LN2})
    assert Objective(loss="minimax").equilibrium == pytest.approx({"loss/D": LN4, "loss/G": -LN2})
    assert Objective(loss="wasserstein").equilibrium == {}
    assert Objective(loss="nonsaturating", gp_lambda=10).equilibrium == {"loss/G": LN2}
    # the table is what the loss functions give at D = 1/2 (logit 0; score 1/2 for LS, 0 hinge)
    zero, half = torch.zeros(7), torch.full((7,), 0.5)
    for loss, d, g in (("nonsaturating", d_loss_bce, g_loss_nonsaturating),
                       ("minimax", d_loss_bce, g_loss_minimax)):  # fmt: skip
        assert EQUILIBRIUM[loss] == pytest.approx({"loss/D": d(zero, zero), "loss/G": g(zero)})
    assert EQUILIBRIUM["ls"] == pytest.approx(
        {"loss/D": d_loss_ls(half, half), "loss/G": g_loss_ls(half)}
    )
    assert EQUILIBRIUM["hinge"] == {"loss/D": float(d_loss_hinge(zero, zero))}


def test_gan_logs_d_real_and_fake_in_0_1_and_the_report_shows_the_equilibrium(tmp_path):
    for model in ("gan", "unrolled"):
        train(tmp_path, model, model, steps=5)
        rows = [r for r in read_metrics(tmp_path / model / "metrics.jsonl") if "loss/D" in r]
        assert rows and all(0 <= r[k] <= 1 for r in rows for k in ("d/real", "d/fake"))
    text = page(tmp_path / "gan")
    assert "equilibrium 1.386" in text and "equilibrium 0.6931" in text  # the final-loss cards
    assert "ln 4 = 1.386" in text  # and the caption saying why


def test_a_critic_logs_no_probabilities_and_gets_no_equilibrium_line(tmp_path):
    train(tmp_path, "w", "wgan-gp", steps=5)
    rows = read_metrics(tmp_path / "w" / "metrics.jsonl")
    assert not any("d/real" in r for r in rows) and any("wdist" in r for r in rows)
    text = page(tmp_path / "w")
    assert "equilibrium 1.386" not in text and "Wasserstein estimate" in text
    assert "critic's score D(x)" in text  # its decision surface shows scores, not probabilities


@pytest.mark.parametrize("model", ["gan", "wgan"])
def test_decision_surface_is_d_on_the_grid(tmp_path, model):
    train(tmp_path, model, model, steps=10)
    trained = api.load(tmp_path / model)
    xs, ys, values = d_surface(trained, ((-1.5, 1.5), (-1.0, 2.0)), size=4)
    assert values.shape == (4, 4) and xs[0] == -1.5 and ys[-1] == 2.0
    D = trained.nets["D"]
    for i, y in enumerate(ys):
        for j, x in enumerate(xs):
            with torch.no_grad():
                score = D(torch.tensor([[x, y]], dtype=torch.float32))[0]
            want = torch.sigmoid(score) if model == "gan" else score
            assert values[i, j] == pytest.approx(float(want), abs=1e-6)
    text = page(tmp_path / model)
    assert "What D believes" in text and (tmp_path / model / "decision_surface.png").is_file()


def test_a_2d_run_scores_modes_over_training_by_default(tmp_path):
    assert resolve_config("ring-gan").train.eval_every == 1000  # its sample_every
    assert resolve_config(None, "gan", "grid", ["train.eval_every=0"]).train.eval_every == 0
    assert resolve_config("mnist-dcgan").train.eval_every == 0  # images: FID is not cheap
    train(tmp_path, steps=30)  # TINY snapshots every 10 steps
    rows = read_metrics(tmp_path / "run" / "metrics.jsonl")
    assert [r["step"] for r in rows if "eval/modes" in r] == [10, 20, 30]
    text = page(tmp_path / "run")
    assert (tmp_path / "run" / "eval_curves.png").is_file() and "metrics over training" in text
    assert re.search(r'<td class="num">\d+ <span class="of">/ 8</span>', text)  # modes k / 8


def test_a_resumed_run_says_so(tmp_path):
    train(tmp_path, steps=20)
    (tmp_path / "run" / "checkpoints" / "step_0000020.pt").unlink()  # killed after step 10
    api.resume(tmp_path / "run", steps=30)
    (first,) = read_metrics(tmp_path / "run" / "resumes.jsonl")
    assert (first["step"], first["stopped_at"], first["steps"]) == (10, 20, 30)
    api.resume(tmp_path / "run", steps=40)  # on from a run that ended at its last step
    assert [r["stopped_at"] for r in read_metrics(tmp_path / "run" / "resumes.jsonl")] == [20, 30]
    text = page(tmp_path / "run")
    day = first["at"][:10]
    assert f"Resumed at step 10 on {day}" in text
    assert "after a stop at step 20, past the last checkpoint: steps 11 to 20 were" in text
    assert "Resumed at step 30" in text and "after a stop at step 30, to train to step 40" in text


def test_every_metric_in_a_report_says_what_it_means(tmp_path):
    train(tmp_path, steps=10)
    text = page(tmp_path / "run")
    rows = re.findall(r'<tr><td>([^<]+)</td>.*?<td class="means">([^<]*)</td></tr>', text)
    assert {name for name, _ in rows} == {"modes", "hq_pct", "rev_kl"}
    assert all(text for _, text in rows)
    assert "higher is better" in dict(rows)["hq_pct"] and "0 is perfect" in dict(rows)["rev_kl"]
    # and every key the other metrics return
    keys = ["fid", "fid_protocol", "kid", "kid_std", "precision", "recall", "is", "is_std",
            "fid_classifier", "kid_classifier", "is_classifier", "class_acc", "class_acc/7",
            "classifier_acc", "kl", "bleu2", "bleu5", "self_bleu3", "nll_oracle", "nll_test",
            "test_nll", "l1", "ssim", "psnr", *ALL_KEYS]  # fmt: skip
    assert all(meaning(f"eval/{k}") for k in keys), [k for k in keys if not meaning(k)]
    assert meaning("eval/kid_std").startswith("spread of kid")


def test_report_without_a_model_still_has_meanings_and_no_surface(tmp_path):
    run = tmp_path / "run"
    (run / "samples").mkdir(parents=True)
    (run / "config.yaml").write_text("model:\n  name: gan\ndata:\n  name: ring\n")
    row = {"step": 5, "eval/modes": 3.0, "eval/hq_pct": 50.0}
    (run / "metrics.jsonl").write_text(json.dumps(row) + "\n")
    text = page(run)
    assert "What D believes" not in text and "% of samples within 3 standard" in text


def headings(run_dir) -> list[str]:
    return re.findall(r"<h2>([^<]*)</h2>", api.report(run_dir).read_text(encoding="utf-8"))


def test_a_report_has_every_section_its_run_can_fill(tmp_path):
    train(tmp_path, "points", steps=10)
    assert headings(tmp_path / "points") == [
        "Summary", "Evaluation", "Training curves", "What D believes", "Samples", "Time-lapse",
        "Config",
    ]  # fmt: skip
    data, tiny = model_case("dcgan")
    api.train(None, "dcgan", data, [*tiny, "train.steps=2"], tmp_path / "images")
    assert headings(tmp_path / "images") == [
        "Summary", "Evaluation", "Training curves", "Samples", "Time-lapse",
        "Latent interpolations", "Memorisation check", "Config",
    ]  # fmt: skip
