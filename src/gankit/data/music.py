"""Piano-roll music data sets: JSB chorales (Boulanger-Lewandowski et al. 2012), music21's Bach
chorales and any folder of MIDI files, cut into fixed-length segments as in MuseGAN (Dong et al.
2018).

A sample is a binary piano roll [1, T, P] stored as uint8 0/255 and served in [-1, 1] (the
image convention, so batches, epochs, exact resume and snapshots come from `ImageSet`): T time
steps of 1/`resolution` beat, P semitones from `pitch_low` up. All voices share one track; the
roll does not tell a held note from the same note struck again (a known limit of piano rolls).
Pitches outside the range are moved by whole octaves into it (never dropped), counted in
`info()["transposed_notes"]` and reported with one warning line.
"""

from __future__ import annotations

import hashlib
import json
import sys
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch
from torch import Tensor

from gankit.data.files import data_file, label
from gankit.data.images import ImageSet
from gankit.data.pixels import DEFAULT_ROOT, fixed_permutation, user_folder
from gankit.errors import ConfigError, DataError
from gankit.options import check_options, option
from gankit.registry import register_dataset

BEATS_PER_BAR = 4  # segments are cut in 4/4 bars counted from each piece's start
MIDI_SUFFIXES = (".mid", ".midi")
JSB_FILE = "jsb-chorales-16th-satb.json"  # shipped in gankit/data/files
JSB_HOME = "github.com/czhuang/JSB-Chorales-dataset"
SPLITS = ("train", "valid", "test")
# a MIDI file longer than this many beats (2.3 hours at 120 bpm) is skipped as broken: one stray
# note at a huge time would make a piano roll of gigabytes
MAX_PIECE_BEATS = 16_384
Note = tuple[int, int, int]  # (pitch, start step, end step), end exclusive
Piece = list[Note]


# ---------------------------------------------------------------- configs


@dataclass
class MusicConfig:
    """Options of every music data set: the grid, the segment length and the pitch range."""

    name: str = ""
    resolution: int = option(4, min=1)  # time steps per beat (4: 16th notes)
    bars: int = option(4, min=1)  # bars of 4 beats per segment
    hop_beats: int = option(4, min=1)  # a new segment starts every hop_beats beats (4: every bar)
    pitch_low: int = option(36, min=0, max=127)  # MIDI pitch of the lowest row (36 = C2)
    # rows; 48 = four octaves, C2..B5, which holds every JSB pitch; at least one octave, so any
    # pitch can be moved into range by octaves
    n_pitches: int = option(48, min=12, max=128)

    def validate(self) -> None:
        if self.pitch_low + self.n_pitches > 128:
            raise ConfigError(
                f"data.pitch_low..pitch_low+n_pitches-1 must lie in MIDI 0..127, got "
                f"{self.pitch_low}..{self.pitch_low + self.n_pitches - 1}"
            )

    @property
    def steps(self) -> int:
        return self.bars * BEATS_PER_BAR * self.resolution


@dataclass
class JsbConfig(MusicConfig):
    name: str = "jsb-chorales"
    # the JSON of czhuang/JSB-Chorales-dataset: {"train", "valid", "test": [piece]}, a piece a
    # list of time steps, a step the list of sounding MIDI pitches (-1 = a silent voice);
    # empty: the 16th-note file shipped with gankit
    path: str = ""
    # steps per beat of the file: 4 for the 16th-note file, 1 for quarter
    resolution: int = option(4, min=1)


@dataclass
class Music21Config(MusicConfig):
    name: str = "bach-music21"
    max_chorales: int = option(0, min=0)  # 0: all 371; fewer for a quick try
    cache: str = DEFAULT_ROOT  # parsed notes are kept here (parsing takes 1-4 min)


@dataclass
class MidiFolderConfig(MusicConfig):
    name: str = "midi-folder"
    path: str = ""  # a folder of .mid / .midi files, searched recursively
    # pieces held out for `reference(n, "test")`; 0: none
    test_fraction: float = option(0.1, min=0.0, below=1.0)


# ---------------------------------------------------------------- piano rolls


def fold_pitch(pitch: int, low: int, n: int) -> int:
    """The pitch moved by whole octaves into low..low+n-1 (n >= 12), itself if already there."""
    while pitch < low:
        pitch += 12
    while pitch >= low + n:
        pitch -= 12
    return pitch


def piece_roll(notes: Piece, cfg: MusicConfig) -> tuple[np.ndarray, int]:
    """A piece's notes as a bool roll [max(end, one segment), P]; and how many were transposed."""
    length = max([end for _, _, end in notes] + [cfg.steps])
    roll = np.zeros((length, cfg.n_pitches), dtype=bool)
    moved = 0
    for pitch, start, end in notes:
        folded = fold_pitch(pitch, cfg.pitch_low, cfg.n_pitches)
        moved += folded != pitch
        roll[start:end, folded - cfg.pitch_low] = True
    return roll, moved


def segments(roll: np.ndarray, cfg: MusicConfig) -> np.ndarray:
    """Windows [K, T, P] of `cfg.steps` steps every hop_beats beats; a short piece pads to one."""
    hop = cfg.hop_beats * cfg.resolution
    starts = range(0, len(roll) - cfg.steps + 1, hop)
    return np.stack([roll[s : s + cfg.steps] for s in starts])


def roll_notes(roll: np.ndarray) -> list[Note]:
    """The notes of a bool roll [T, P]: maximal runs of sounding steps per pitch row, as
    (row, start, end); rows are pitches relative to the roll's lowest."""
    padded = np.pad(roll.astype(np.int8), ((1, 1), (0, 0)))
    diff = np.diff(padded, axis=0)  # +1 at an onset, -1 one step after an end
    notes = []
    for row in range(roll.shape[1]):
        starts = np.flatnonzero(diff[:, row] == 1)
        ends = np.flatnonzero(diff[:, row] == -1)
        notes.extend((row, int(s), int(e)) for s, e in zip(starts, ends, strict=True))
    return sorted(notes, key=lambda n: (n[1], n[0]))


def steps_to_notes(steps: Sequence[Sequence[int]]) -> Piece:
    """JSB's time steps (lists of pitches, -1 silent) as notes: a pitch sounding in consecutive
    steps is one note."""
    pitches = sorted({p for step in steps for p in step if p >= 0})
    if not pitches:
        return []
    low = pitches[0]
    roll = np.zeros((len(steps), pitches[-1] - low + 1), dtype=bool)
    for t, step in enumerate(steps):
        for p in step:
            if p >= 0:
                roll[t, p - low] = True
    return [(row + low, start, end) for row, start, end in roll_notes(roll)]


# ---------------------------------------------------------------- the data set


class MusicSet(ImageSet):
    """Piano-roll segments [1, T, P] in [-1, 1], drawn in epochs as ImageSet draws images.

    Splits: train (batches), and valid and test for `reference(n, split)` where there are any.
    """

    snapshot_size = 8  # segments per snapshot picture (the .npy beside it can become MIDI)
    default_metrics = ("music",)

    def __init__(
        self,
        cfg: MusicConfig,
        seed: int,
        splits: dict[str, list[Piece]],
        source: str,
        extra: dict | None = None,
    ):
        rolls, moved, counts = {}, 0, {}
        for split, pieces in splits.items():
            if pieces:
                rolls[split], n_moved = _segment_pieces(pieces, cfg)
                moved += n_moved
                counts[split] = len(pieces)
        self.valid = rolls.get("valid")
        if moved:
            print(
                f"warning: moved {moved} note(s) outside MIDI {cfg.pitch_low}.."
                f"{cfg.pitch_low + cfg.n_pitches - 1} into range by octaves "
                "(widen it with data.pitch_low / data.n_pitches)",
                file=sys.stderr,
            )
        info = {
            "kind": "music",
            "resolution": cfg.resolution,
            "beats_per_bar": BEATS_PER_BAR,
            "bars": cfg.bars,
            "pitch_low": cfg.pitch_low,
            "n_pitches": cfg.n_pitches,
            "tracks": ["all voices"],
            "tempo": 100.0,  # quarter notes per minute for MIDI and audio
            "pieces": counts,
            "transposed_notes": moved,
            "source": source,
            **(extra or {}),
        }
        test = (rolls["test"], None) if "test" in rolls else None
        super().__init__(
            cfg, seed, (rolls["train"], None), test, source=source, extra=info,
            default_metrics=self.default_metrics,
        )  # fmt: skip

    def _split(self, split: str):
        if split == "valid":
            if self.valid is None:
                raise DataError(f"data set {self.cfg.name!r} has no valid split")
            return self.valid, None
        if split not in ("train", "test"):
            raise ConfigError(f"split must be one of {', '.join(SPLITS)}, got {split!r}")
        return super()._split(split)

    def info(self) -> dict:
        info = super().info()  # `extra` (kind "music" ...) overrides ImageSet's own keys
        info["splits"] = [s for s in SPLITS if s in info["pieces"]]
        return info


def _segment_pieces(pieces: Iterable[Piece], cfg: MusicConfig) -> tuple[Tensor, int]:
    """uint8 0/255 segments [K, 1, T, P] of all pieces, and how many notes were transposed."""
    parts, moved = [], 0
    for notes in pieces:
        roll, n_moved = piece_roll(notes, cfg)
        parts.append(segments(roll, cfg))
        moved += n_moved
    x = torch.from_numpy(np.concatenate(parts)[:, None].astype(np.uint8) * 255)
    return x, moved


# ---------------------------------------------------------------- JSB chorales


def read_jsb(path: Path) -> dict[str, list[Piece]]:
    """The JSB JSON's splits as notes; a DataError naming the file for anything unreadable."""
    try:
        raw = json.loads(path.read_text())
        splits = {s: [steps_to_notes(piece) for piece in raw[s]] for s in SPLITS}
    except (OSError, ValueError, KeyError, TypeError) as e:
        raise DataError(
            f"{path} is not a JSB chorales JSON with train, valid and test lists of time steps "
            f"({type(e).__name__}: {e}); replace it"
        ) from None
    if not splits["train"]:
        raise DataError(f"{path} has no training pieces")
    return splits


@register_dataset("jsb-chorales", config=JsbConfig, kind="music")
def jsb_chorales(cfg: JsbConfig, seed: int) -> MusicSet:
    """JSB chorales, 229/76/77 pieces (Boulanger-Lewandowski 2012 split), 4-bar piano rolls."""
    check_options(cfg, "data")
    path = data_file(cfg, "path", JSB_FILE, f"the JSB chorales JSON, {JSB_HOME}")
    return MusicSet(cfg, seed, read_jsb(path), label(path))


# ---------------------------------------------------------------- music21's chorales


def score_notes(score, resolution: int) -> Piece:
    """A music21 score's notes (all parts, chords split) on a grid of `resolution` per beat."""
    notes = []
    for part in score.parts:
        for n in part.flatten().notes:
            start = round(float(n.offset) * resolution)
            end = max(start + 1, round(float(n.offset + n.quarterLength) * resolution))
            notes.extend((p.midi, start, end) for p in n.pitches)
    return notes


def _music21_pieces(cfg: Music21Config) -> list[Piece]:
    """Every chorale's notes, parsed once and cached as JSON (keyed by music21's version)."""
    import music21

    tag = f"{music21.__version__}-r{cfg.resolution}-n{cfg.max_chorales}"
    cache = Path(cfg.cache).expanduser() / f"bach-music21-{tag}.json"
    if cache.is_file():
        try:
            return [[tuple(n) for n in piece] for piece in json.loads(cache.read_text())]
        except (OSError, ValueError):  # a half-written cache: parse again
            pass
    pieces = []
    for score in music21.corpus.chorales.Iterator(returnType="stream"):
        pieces.append(score_notes(score, cfg.resolution))
        if len(pieces) == cfg.max_chorales:
            break
    cache.parent.mkdir(parents=True, exist_ok=True)
    tmp = cache.with_suffix(".tmp")
    tmp.write_text(json.dumps(pieces))
    tmp.replace(cache)
    return pieces


def split_pieces(pieces: list[Piece], test_fraction: float) -> dict[str, list[Piece]]:
    """A fixed split by piece (never by segment, so no test bar is also a training bar)."""
    n_test = min(int(round(len(pieces) * test_fraction)), len(pieces) - 1)
    perm = fixed_permutation(len(pieces), 0).tolist()
    test = [pieces[i] for i in sorted(perm[:n_test])]
    return {"train": [pieces[i] for i in sorted(perm[n_test:])], "test": test}


@register_dataset("bach-music21", config=Music21Config, kind="music")
def bach_music21(cfg: Music21Config, seed: int) -> MusicSet:
    """The 371 Bach chorales shipped with music21 (MusicXML), 4-bar piano rolls; 10% test."""
    check_options(cfg, "data")
    pieces = [p for p in _music21_pieces(cfg) if p]
    return MusicSet(cfg, seed, split_pieces(pieces, 0.1), "music21.corpus.chorales")


# ---------------------------------------------------------------- MIDI folders


def midi_notes(path: Path, resolution: int) -> Piece:
    """The notes of a MIDI file (every non-drum instrument) on a grid of `resolution` per beat.

    Raises ValueError (or pretty_midi's own errors) for a file that is not MIDI.
    """
    import pretty_midi

    pm = pretty_midi.PrettyMIDI(str(path))
    per_beat = pm.resolution  # ticks per quarter note

    def step(seconds: float) -> int:
        return round(pm.time_to_tick(seconds) * resolution / per_beat)

    notes = []
    for inst in pm.instruments:
        if inst.is_drum:  # drum "pitches" are instruments, not notes
            continue
        for n in inst.notes:
            start = step(n.start)
            notes.append((n.pitch, start, max(start + 1, step(n.end))))
    return notes


def prime_bar(path: str | Path, info: dict) -> np.ndarray:
    """The first bar of a MIDI file as a bool roll [steps per bar, P] on a data set's grid (its
    `info()`, as in a run's data.json): what `gankit sample --prime` continues. Pitches outside
    the range move by octaves into it, as the data's do. A DataError for a missing or unreadable
    file, or one without notes in its first bar."""
    path = Path(path)
    if not path.is_file():
        raise DataError(f"--prime {path}: no such file; give a MIDI file (.mid, .midi)")
    try:
        notes = midi_notes(path, int(info["resolution"]))
    except Exception as e:  # mido and pretty_midi raise many kinds on a corrupt file
        reason = str(e).strip().splitlines()[0][:120] if str(e).strip() else type(e).__name__
        raise DataError(f"--prime {path} is not a readable MIDI file ({reason})") from None
    cfg = MusicConfig(
        resolution=int(info["resolution"]),
        bars=1,
        pitch_low=int(info["pitch_low"]),
        n_pitches=int(info["shape"][2]),
    )
    steps = cfg.resolution * int(info.get("beats_per_bar", BEATS_PER_BAR))
    bar = [n for n in notes if n[1] < steps and n[0] >= 0]
    if not bar:
        raise DataError(f"--prime {path} has no notes in its first bar ({steps} steps)")
    roll, _ = piece_roll([(p, s, min(e, steps)) for p, s, e in bar], cfg)
    return roll[:steps]


def _list_midi(root: Path) -> list[Path]:
    return sorted(
        p
        for p in root.rglob("*")
        if p.suffix.lower() in MIDI_SUFFIXES and p.is_file() and not p.name.startswith(".")
    )


@register_dataset("midi-folder", config=MidiFolderConfig, kind="music")
def midi_folder(cfg: MidiFolderConfig, seed: int) -> MusicSet:
    """Your own folder of MIDI files (pretty_midi), all instruments as one roll: data.path=DIR.

    An unreadable file, one without notes or one absurdly long (MAX_PIECE_BEATS) is SKIPPED and
    COUNTED (`skipped` in info, one warning line); a piece shorter than a segment is padded with
    silence.
    """
    check_options(cfg, "data")
    root = user_folder(cfg, "MIDI files")
    files = _list_midi(root)
    if not files:
        raise DataError(f"no MIDI files (.mid, .midi) under {root}")
    pieces, bad = [], []
    for f in files:
        try:
            notes = midi_notes(f, cfg.resolution)
        except Exception:  # mido and pretty_midi raise many kinds on a corrupt file
            notes = None
        if notes and max(end for _, _, end in notes) <= MAX_PIECE_BEATS * cfg.resolution:
            pieces.append(notes)
        else:
            bad.append(str(f.relative_to(root)))
    if not pieces:
        raise DataError(
            f"none of the {len(files)} MIDI files under {root} has readable notes (first: {bad[0]})"
        )
    if bad:
        print(
            f"warning: skipped {len(bad)} MIDI file(s) under {root} that are unreadable, have "
            f"no notes or last over {MAX_PIECE_BEATS} beats (first: {bad[0]})",
            file=sys.stderr,
        )
    digest = hashlib.blake2b("\n".join(map(str, files)).encode(), digest_size=4).hexdigest()
    extra = {"path": str(root), "skipped": len(bad), "skipped_files": bad[:5], "files": digest}
    return MusicSet(cfg, seed, split_pieces(pieces, cfg.test_fraction), str(root), extra)
