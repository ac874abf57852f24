"""Piano-roll samples as something to hear and see: MIDI (pretty_midi), a piano-roll picture and
a WAV from a small additive synthesiser (no soundfont); MuseGAN's (Dong et al. 2018) outputs.

Writing FILE.mid (or .midi) writes all segments to the MIDI file, one after another with a beat
of silence between them, plus FILE.png (the first 16) and FILE.wav (the first 8); a .png or .wav
path writes just that file. Nothing that exists is overwritten.
"""

from __future__ import annotations

import wave
from pathlib import Path

import numpy as np

from gankit.data.music import Note, roll_notes
from gankit.errors import GankitError
from gankit.metrics.music import binarize
from gankit.registry import register_writer

PICTURE_SEGMENTS = 16
AUDIO_SEGMENTS = 8
SAMPLE_RATE = 16_000
GAP_BEATS = 1  # silence between segments


def segment_notes(rolls: np.ndarray, info: dict) -> list[tuple[int, float, float]]:
    """(MIDI pitch, start, end) in beats of all bool rolls [N, T, P], segments in a row."""
    res, low = int(info["resolution"]), int(info["pitch_low"])
    seg_beats = rolls.shape[1] / res + GAP_BEATS
    out = []
    for i, roll in enumerate(rolls):
        notes: list[Note] = roll_notes(roll)
        out.extend(
            (row + low, i * seg_beats + s / res, i * seg_beats + e / res) for row, s, e in notes
        )
    return out


def write_midi(rolls: np.ndarray, info: dict, path: Path) -> None:
    """One piano track holding every segment, at the data's tempo."""
    import pretty_midi

    tempo = float(info.get("tempo", 100.0))
    pm = pretty_midi.PrettyMIDI(initial_tempo=tempo)
    piano = pretty_midi.Instrument(program=0, name="gankit")
    sec = 60.0 / tempo
    for pitch, start, end in segment_notes(rolls, info):
        piano.notes.append(pretty_midi.Note(80, pitch, start * sec, end * sec))
    pm.instruments.append(piano)
    pm.write(str(path))


def synthesize(
    notes: list[tuple[int, float, float]], seconds_per_beat: float, beats: float
) -> np.ndarray:
    """float32 audio in [-1, 1] at SAMPLE_RATE, `beats` long: each note three harmonics under a
    10 ms attack, an exponential decay (a plucked, organ-free sound that lets chords stay clear)
    and a 30 ms release so note ends do not click."""
    audio = np.zeros(int(beats * seconds_per_beat * SAMPLE_RATE) + 1)
    for pitch, start, end in notes:
        i0 = int(start * seconds_per_beat * SAMPLE_RATE)
        n = max(1, int((end - start) * seconds_per_beat * SAMPLE_RATE))
        t = np.arange(n) / SAMPLE_RATE
        freq = 440.0 * 2 ** ((pitch - 69) / 12)
        tone = sum(0.5**h * np.sin(2 * np.pi * (h + 1) * freq * t) for h in range(3))
        env = (
            np.minimum(1.0, t / 0.01)
            * np.exp(-t / 1.2)
            * np.minimum(1.0, (n / SAMPLE_RATE - t) / 0.03)
        )
        audio[i0 : i0 + n] += tone * env
    peak = np.abs(audio).max()
    return (audio / peak * 0.9 if peak > 0 else audio).astype(np.float32)


def write_wav(rolls: np.ndarray, info: dict, path: Path) -> None:
    """16-bit mono PCM of the segments (Python's wave module: no extra dependency)."""
    beats = len(rolls) * (rolls.shape[1] / int(info["resolution"]) + GAP_BEATS)
    audio = synthesize(segment_notes(rolls, info), 60.0 / float(info.get("tempo", 100.0)), beats)
    with wave.open(str(path), "wb") as f:
        f.setnchannels(1)
        f.setsampwidth(2)
        f.setframerate(SAMPLE_RATE)
        f.writeframes((audio * 32767).astype("<i2").tobytes())


def write_piano_rolls(rolls: np.ndarray, info: dict, path: Path, title: str, nrow: int) -> None:
    """A grid of piano rolls (time right, pitch up), dotted lines at bars, C's labelled."""
    from matplotlib.figure import Figure

    res, low = int(info["resolution"]), int(info["pitch_low"])
    n = max(1, len(rolls))
    cols = min(nrow, n)
    rows = -(-n // cols)
    fig = Figure(figsize=(3.2 * cols, 2.2 * rows + 0.4), layout="constrained")
    steps, pitches = rolls.shape[1:] if len(rolls) else (1, 1)
    c_rows = [r for r in range(pitches) if (r + low) % 12 == 0]
    for i, roll in enumerate(rolls):
        ax = fig.add_subplot(rows, cols, i + 1)
        ax.imshow(roll.T, origin="lower", aspect="auto", cmap="Greys", interpolation="nearest")
        for bar in range(0, steps, res * int(info.get("beats_per_bar", 4)))[1:]:
            ax.axvline(bar - 0.5, color="tab:blue", lw=0.6, ls=":")
        ax.set_yticks(c_rows, [f"C{(r + low) // 12 - 1}" for r in c_rows], fontsize=7)
        ax.set_xticks([])
    if title:
        fig.suptitle(title, fontsize=10)
    fig.savefig(path, format="png", facecolor="white", dpi=90)


# snapshots are pictures only: a WAV of every snapshot would fill a run folder with audio
@register_writer("music", (".mid", ".midi", ".png", ".wav"), snapshot_suffix=".png")
def write_music(x: np.ndarray, info: dict, out: Path, title: str, nrow: int | None) -> None:
    """Samples [N, 1, T, P] in [-1, 1] (> 0 sounds) as MIDI + picture + audio; see the module."""
    rolls = binarize(x)
    suffix = out.suffix.lower()
    jobs = {suffix: out}
    if suffix in (".mid", ".midi"):
        jobs |= {".png": out.with_suffix(".png"), ".wav": out.with_suffix(".wav")}
    taken = [str(p) for p in jobs.values() if p.exists()]
    if taken:
        raise GankitError(
            f"{taken[0]} exists; choose another --out (gankit never overwrites a file)"
        )
    for kind, path in jobs.items():
        if kind == ".png":
            write_piano_rolls(rolls[:PICTURE_SEGMENTS], info, path, title, nrow or 4)
        elif kind == ".wav":
            write_wav(rolls[:AUDIO_SEGMENTS], info, path)
        else:
            write_midi(rolls, info, path)
