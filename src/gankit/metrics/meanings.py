"""What each number a metric returns means, and which way is good: one line per key, for readers
of a report who have not read the papers (the registry's help names the metric; this, its keys)."""

from __future__ import annotations

import re

MEANINGS: dict[str, str] = {
    # 2-D mixtures (Metz et al. 2016) and Stacked MNIST (1,000 modes)
    "modes": "modes (clusters) of the data that G reaches, of all there are: a mode counts when "
    "a high-quality sample (hq_pct) lies nearest to it (Stacked MNIST: when the classifier reads "
    "its three digits in a sample). All is best; fewer is mode collapse",
    "hq_pct": "% of samples within 3 standard deviations of a mode centre (high quality); "
    "higher is better",
    "rev_kl": "reverse KL between the high-quality samples' share per mode and an even share; "
    "0 is perfect (every mode equally often), ln(modes) is everything on one mode",
    "kl": "KL between the samples' share per mode and an even share over the 1,000 modes; "
    "0 is perfect, lower is better",
    # images
    "fid": "Frechet distance between the Inception features of generated and real images "
    "(their means and covariances); lower is better, 0 is the same statistics",
    "kid": "Kernel Inception Distance: squared MMD between the Inception features of generated "
    "and real images; lower is better, about 0 for real against real",
    "precision": "share of generated images inside the real images' feature manifold "
    "(quality); higher is better",
    "recall": "share of real images inside the generated images' feature manifold (how much of "
    "the data G covers); higher is better",
    "is": "Inception Score: high when each image's predicted class is confident and the classes "
    "are varied; higher is better",
    "fid_classifier": "FID on the features of gankit's MNIST / Fashion-MNIST classifier instead "
    "of Inception; lower is better",
    "kid_classifier": "KID on the features of gankit's MNIST / Fashion-MNIST classifier; lower "
    "is better",
    "is_classifier": "Inception Score with gankit's 10-class classifier; higher is better, 10 "
    "at most",
    "class_acc": "share of samples that the classifier reads as the class G was asked for "
    "(class_acc/k: class k alone); higher is better",
    "classifier_acc": "the judging classifier's own accuracy on real test images: the best "
    "class_acc can hope for",
    # text
    "bleu": "BLEU-n: n-gram overlap of generated lines with held-out real lines (quality); 0 to "
    "1, higher is better",
    "self_bleu": "Self-BLEU-n: n-gram overlap of generated lines with each other; lower is more "
    "diverse",
    "nll_oracle": "negative log-likelihood per token of G's samples under the oracle LSTM that "
    "made the data (nats); lower is better",
    "nll_test": "G's negative log-likelihood per token of held-out real text (nats); lower is "
    "better",
    # music
    "test_nll": "negative log-likelihood per time step of held-out music (nats); lower is better",
    "empty_bar_rate": "share of bars without a note; best near the real music's own rate",
    "pitch_classes_per_bar": "distinct pitch classes per bar; best near the real music's own",
    "qualified_note_rate": "share of notes an 8th or longer (fragments lower it); higher is better",
    "polyphony": "mean pitches sounding at once; best near the real music's own",
    "in_scale_ratio": "share of notes in the best-fitting major scale; best near the real "
    "music's own",
    "pc_hist_distance": "distance between the pitch-class histograms of samples and data; 0 is "
    "best",
    # image translation
    "l1": "mean absolute pixel difference between translations and their targets (0 to 1); "
    "lower is closer",
    "ssim": "structural similarity of translations to their targets, up to 1; higher is closer",
    "psnr": "peak signal-to-noise ratio of translations against their targets (dB); higher is "
    "closer",
}


def meaning(key: str) -> str:
    """What an evaluation key means (`eval/` dropped), "" when no metric of gankit has it.

    `fid_protocol` says how fid was measured, `kid_std` is kid's spread, and numbered or
    per-class keys (`bleu3`, `class_acc/7`) share their family's line.
    """
    key = key.removeprefix("eval/")
    if key.endswith("_protocol"):
        return f"how {key.removesuffix('_protocol')} was measured"
    if key.endswith("_std"):
        return f"spread of {key.removesuffix('_std')} over subsets of the samples"
    family = re.sub(r"\d+$", "", key.split("/")[0])
    return MEANINGS.get(key) or MEANINGS.get(family, "")
