"""Mark sound with a key ring's active key, and find the mark again, blind, with an exact bound.

**Embedding.** The sound's mono mix at 16 kHz is analysed in 64 ms frames; the magnitude of
every band bin (250 Hz – 6 kHz) is multiplied by ``(1 + r) ** ±1`` as the key's layout and the
payload's symbol say, where ``r`` (:func:`relative_change`) puts the change at a fixed level
under the frame's band RMS in every cell: a cell louder than the RMS is changed by less than the
strength, a quiet cell (between a voice's harmonics, above its formants) by more, up to 100
times. The mark is thus a keyed, sign-modulated floor ``strength`` under each frame's band level
(34 dB at the default 0.02), flat across the band and following the sound's loudness frame by
frame (silence stays silent). That is the perceptual weighting, tuned on wideband PESQ: a
fixed relative change per cell (the mark proportional to the host in each cell) spends its
energy where the voice is loud, while the detector's log-magnitude statistic counts every cell
alike, so at equal PESQ the floor gives the detector about five times the evidence per payload
symbol after MP3, AAC or Opus (``eval/audio_budget.py``, the two rules side by side). The
difference, brought back to the sound's own rate, is added to every channel.

**Detection.** The log-magnitude spectrogram, with each bin's slow envelope and each frame's
spectral shape removed, is correlated with every slot's keyed pattern; the pilot symbols find where a
period starts (any excerpt holds one every 5 s), then the 306 soft bits go to the list Viterbi
decoder. Speed changes (pitch moves) and time-stretches (pitch kept) of up to ±5 % are searched
as a grid of time and frequency scales when the plain reading finds nothing, refined around the
grid points whose pilots stand out.

**Strength.** The default (0.02) keeps SNR near 39 dB and wideband PESQ at 4.0 or more on
speech (the worst of ten espeak-ng voices 4.03), and reads a 12 s clip's record id back through
MP3, AAC and Opus; ``eval/audio_watermark.py`` measures every attack at 0.01, 0.02 and 0.04, and
``eval/audio_budget.py`` where the evidence per payload symbol goes. Longer sound pools more
evidence.

**Two tests, one p-value.** *The payload:* a decode is accepted when its CRC-32, version and key
tag match: 48 checked bits. Coded bits are scrambled by a keyed sequence, so under "not marked with
this key" every decoded message is uniform and passes with probability exactly ``2**-48``; the
payload test's p-value is the number of decodes tried times ``2**-48`` (a union bound over every
offset, scale and list entry). Only alignments whose pilot correlation reaches ``_PILOT_GATE`` are
decoded: the pilots are other symbols than the data's, so the gate leaves each decode's chance
unchanged and only spares the decodes (and their cost) where no mark can be.
*The pilots alone* (a zero-bit test: is this key's mark here at all, whatever it carries): at an
alignment, the pilot cells' values ``X`` (each band bin of each slot position, summed over the
frames that fall on it) are fixed by the sound, and the keyed signs ``ε`` they are multiplied by are
independent fair coins under "not marked with this key". So ``z = Σ εX / √(Σ X²)`` is a weighted
Rademacher sum of unit variance, whatever the sound, and ``P(z ≥ t) ≤ c·Q(t)`` with the optimal
constant ``c = 1 / (4 Q(√2)) ≈ 3.18`` (Bentkus & Dzindzalieta, *Bernoulli* 21, 2015; ``Q`` the
normal tail). The test runs in two stages, each with half of its rate: the plain reading (offsets ×
phases at the sound's own speed), then the search (every scale the grid and its refinement can
reach); a stage's p-value is that bound times every alignment it could try, so it holds however the
best one was picked, and the test's is twice the smaller stage's (a weighted Bonferroni). The
pilots carry about a third of the mark's energy: they find a mark that codec noise or a mix leaves
too weak to decode, without its record id.
Each test holds half the detector's rate: the finding's p-value is twice the payload test's where
a record id decoded, else twice the pilots', and the mark counts as found when that reaches the
rate.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from math import erfc, sqrt

import numpy as np
import numpy.typing as npt
from scipy.ndimage import uniform_filter1d

from ..errors import InvalidInput
from ..image import ecc
from ..image.payload import CHECKED_BITS, Payload, key_tag, new_record_id
from ..keys import KeyRing, WatermarkKey
from .layout import BAND, BITS_PER_HOP, HOP, PERIOD, PERIOD_HOPS, RATE, SLOT_HOPS, AudioLayout, layout_for_key
from .signal import from_analysis_rate, istft, stft, to_analysis_rate

__all__ = [
    "DEFAULT_FPR",
    "DEFAULT_STRENGTH",
    "MIN_SECONDS",
    "AudioDetection",
    "AudioWatermarkDetector",
    "AudioWatermarker",
    "MarkedAudio",
    "TimeSpan",
    "embed_samples",
]

FloatArray = npt.NDArray[np.float64]
BoolArray = npt.NDArray[np.bool_]

DEFAULT_STRENGTH = 0.02  # the mark 34 dB under each frame's band RMS: wideband PESQ 4.0 on speech
_CAP = 100.0  # a cell 40 dB under its frame's band RMS is changed by at most 100 times the strength
DEFAULT_FPR = 1e-6
MIN_SECONDS = 5.5  # one whole period and a little (a shorter sound is "too-short")
_NULL_PASS = 2.0**-CHECKED_BITS
_LIST = 4  # Viterbi list entries decoded per candidate alignment
_OFFSETS = 2  # best pilot offsets decoded per (scale, phase)
# an alignment is decoded only where its pilot z reaches this: a mark that decodes has pilot z of 10
# and more (its 162 pilot symbols carry what its data symbols do), while unmarked sound's best
# alignments stayed under 3.9 in 3,180 tries (speech and music, plain, MP3, resampled) and passed
# 4.5 in 8 of the audio benchmark's 70 unmarked readings (none of them decoding as a mark)
_PILOT_GATE = 4.5
_ENVELOPE = 9  # hops in the moving average that takes the host's slow envelope out
_SMOOTH_BINS = 5  # bins in the moving average that takes each frame's spectral shape out
_MARGIN = 8  # bins read below the band, for frequency scales down to -5 % (16 * 0.05 < 1 bin)
_MARGIN_HIGH = 24  # and above it, for scales up to +5 % (384 * 0.05 = 19.2 bins)
_SCALES = np.round(np.arange(0.95, 1.0501, 0.004), 4)
# a scale 0.002 off the grid still shows the pilots (z 6.6-7.8 where the exact scale gives 13-17) but
# no longer decodes (measured: speed x1.02 and x1.024 of 12 s and 60 s of speech); the best grid
# points whose pilots pass the gate are refined in steps of 0.0005
_FINE = (-0.0015, -0.001, -0.0005, 0.0005, 0.001, 0.0015)
_REFINED = 3
_MAX_SECONDS = 120.0  # a detection reads at most this much, from the start


def _normal_tail(z: float) -> float:
    return 0.5 * erfc(z / sqrt(2.0))


# the smallest c with P(Σ aᵢεᵢ ≥ t) ≤ c·Q(t) for every Σ aᵢ² ≤ 1 (Bentkus & Dzindzalieta 2015)
_RADEMACHER_C = 1.0 / (4.0 * _normal_tail(sqrt(2.0)))


def _pilot_tail(z: float) -> float:
    """The chance, under "not marked with this key", that one alignment's pilot z reaches ``z``."""
    return min(1.0, _RADEMACHER_C * _normal_tail(z)) if z > 0 else 1.0


@dataclass(frozen=True)
class TimeSpan:
    """Where in the sound the mark is (seconds)."""

    start: float
    end: float


@dataclass(frozen=True)
class MarkedAudio:
    """Marked samples (same shape and rate as given) and what they carry."""

    samples: FloatArray
    rate: int
    key_id: str
    payload: Payload
    snr_db: float


@dataclass(frozen=True)
class AudioDetection:
    """The outcome of looking for Assay audio watermarks with a key ring: ``found`` with a
    ``payload`` when it decoded, without one when the pilots alone found the key's mark;
    ``alignments`` is how many the pilots' test counted."""

    found: bool
    p_value: float
    fpr: float
    decodes: int
    searched: bool
    seconds: float
    key_id: str | None = None
    payload: Payload | None = None
    bit_accuracy: float | None = None
    pilot_z: float | None = None
    time_scale: float | None = None
    frequency_scale: float | None = None
    spans: tuple[TimeSpan, ...] = ()
    reason: str | None = None
    alignments: int = 0


def _residual(signal: FloatArray) -> FloatArray:
    """``(frames, band + margins)`` log magnitudes without the host's slow envelope and gain."""
    spec = np.abs(stft(signal)[:, BAND[0] - _MARGIN : BAND[1] + _MARGIN_HIGH])
    logs = np.log(spec + 1e-9)
    padded = np.pad(logs, ((_ENVELOPE // 2 + 1, _ENVELOPE // 2), (0, 0)), mode="edge")
    sums = np.cumsum(padded, axis=0)
    envelope = (sums[_ENVELOPE:] - sums[:-_ENVELOPE]) / _ENVELOPE  # a centred moving average per bin
    res = logs - envelope
    # and each frame's spectral shape: the mark's signs change bin to bin, the host's harmonics and
    # formants over several bins (measured: this halves the host's interference on speech)
    res -= uniform_filter1d(res, _SMOOTH_BINS, axis=1, mode="nearest")
    scale = float(np.std(res)) or 1.0
    out: FloatArray = np.clip(res / scale, -3.0, 3.0)  # transients and clicks count no more than 3σ
    return out


def relative_change(spectrum: npt.NDArray[np.complex128], strength: float) -> FloatArray:
    """``(frames, band bins)``: how much each band cell's magnitude is scaled up or down
    (``(1 + r) ** ±1``) so that the mark sits ``strength`` (an amplitude ratio) under the frame's band
    RMS in every cell: ``r = strength · min(RMS / |X|, _CAP)``. A cell louder than the RMS changes
    by less than ``strength``, a quieter one by more (at most ``_CAP`` times), and a silent frame not
    at all."""
    power = np.abs(spectrum[:, BAND[0] : BAND[1]]) ** 2
    level = power.mean(axis=1, keepdims=True)
    out: FloatArray = strength * np.sqrt(level / np.maximum(power, level / _CAP**2 + 1e-300))
    return out


ChangeRule = Callable[[npt.NDArray[np.complex128], float], FloatArray]


def embed_samples(
    samples: FloatArray,
    rate: int,
    layout: AudioLayout,
    coded: BoolArray,
    *,
    strength: float = DEFAULT_STRENGTH,
    change: ChangeRule = relative_change,
) -> FloatArray:
    """``(n,)`` or ``(n, channels)`` float samples in [-1, 1] with the coded bits embedded.

    Args:
        samples: the sound.
        rate: its sample rate in Hz.
        layout: the key's layout.
        coded: ``(CODED_BITS,)`` the payload's coded bits.
        strength: the mark's level under each frame's band RMS (an amplitude ratio), see
            :func:`relative_change`.
        change: the rule that turns the spectrum and strength into each band cell's relative
            change (benchmarks compare others with :func:`relative_change`).
    """
    mono = to_analysis_rate(samples, rate)
    spectrum = stft(mono)
    frames = len(spectrum)
    weights = layout.weights(layout.modulation(coded))  # (PERIOD, nbins)
    w = weights[(np.arange(frames) // SLOT_HOPS) % PERIOD]
    gain = np.zeros(spectrum.shape)
    gain[:, BAND[0] : BAND[1]] = (1.0 + change(spectrum, strength)) ** w - 1.0
    mark = istft(spectrum * gain, len(mono))
    mark = from_analysis_rate(mark, rate, samples.shape[0])
    out = samples + (mark[:, None] if samples.ndim == 2 else mark)
    return np.clip(out, -1.0, 1.0)


def _snr_db(clean: FloatArray, marked: FloatArray) -> float:
    noise = float(np.sum((marked - clean) ** 2))
    return float("inf") if noise == 0 else 10.0 * np.log10(float(np.sum(clean**2)) / noise)


class AudioWatermarker:
    """Marks sound with the active key of a key ring."""

    def __init__(self, keyring: KeyRing, *, strength: float = DEFAULT_STRENGTH) -> None:
        if not 0.0 < strength < 1.0:
            raise ValueError(f"`strength` must be in (0, 1), got {strength}")
        self.keyring = keyring
        self.strength = strength

    def mark_samples(
        self, samples: FloatArray, rate: int, *, key_id: str | None = None, record_id: int | None = None
    ) -> MarkedAudio:
        """Mark ``(n,)`` or ``(n, channels)`` float samples in [-1, 1] at ``rate`` Hz.

        Raises:
            InvalidInput: too short, a rate outside 8–384 kHz, or samples that are not finite.
            UnknownKey: ``key_id`` is not in the ring.
        """
        _check(samples, rate)
        key: WatermarkKey = self.keyring.get(key_id) if key_id else self.keyring.active
        payload = Payload.for_key(key.key_id, new_record_id() if record_id is None else record_id)
        coded = ecc.encode(ecc.with_crc(payload.to_bytes()))
        marked = embed_samples(samples, rate, layout_for_key(key), coded, strength=self.strength)
        return MarkedAudio(marked, rate, key.key_id, payload, _snr_db(samples, marked))


def _check(samples: FloatArray, rate: int) -> None:
    if not 8_000 <= rate <= 384_000:
        raise InvalidInput(f"sample rate must be 8 to 384 kHz, got {rate}")
    if samples.ndim not in (1, 2) or samples.shape[0] < MIN_SECONDS * rate:
        raise InvalidInput(f"audio must have at least {MIN_SECONDS} s to carry a mark")
    if not np.all(np.isfinite(samples)):
        raise InvalidInput("audio samples must be finite")


_PilotBest = tuple[float, WatermarkKey, float, float, FloatArray]  # z, key, time and frequency scale, per frame


def _grid() -> list[tuple[float, float]]:
    """The search's grid: speed changes move both scales, time-stretches the time scale only."""
    return [(s, s) for s in _SCALES if s != 1.0] + [(a, 1.0) for a in _SCALES if a != 1.0]


def _searched_scales() -> int:
    """Every scale pair the search can try: the grid, and every refinement of the grid's points or
    of the plain reading (the refinement picks among these by the data; the bound counts all)."""
    start = {(1.0, 1.0), *_grid()}
    return len((start | set(_refined(dict.fromkeys(start, np.inf), keep=len(start)))) - {(1.0, 1.0)})


@dataclass
class _Attempt:
    decodes: int = 0
    by_scale: dict[tuple[float, float], float] = field(default_factory=dict)  # the best pilot z at each
    hit: tuple[WatermarkKey, Payload, float, float, float, FloatArray] | None = None
    on_decode: Callable[[bytes, int], None] | None = field(default=None)
    stage: int = 0  # 0: the plain reading, 1: the search
    pilots: list[_PilotBest | None] = field(
        default_factory=lambda: [None, None]
    )  # each stage's best pilot-only z and where

    def pilot_seen(self, z: float, key: WatermarkKey, a: float, s: float, contribution: FloatArray) -> None:
        best = self.pilots[self.stage]
        if best is None or z > best[0]:
            self.pilots[self.stage] = (z, key, a, s, contribution)


class AudioWatermarkDetector:
    """Finds Assay audio marks made with any key of a ring."""

    def __init__(self, keyring: KeyRing, *, fpr: float = DEFAULT_FPR, search: bool = True) -> None:
        if not 0.0 < fpr < 1.0:
            raise ValueError(f"`fpr` must be in (0, 1), got {fpr}")
        self.keyring = keyring
        self.fpr = fpr
        self.search = search
        self._layouts = []
        for key in keyring:
            layout = layout_for_key(key)
            nbins = BAND[1] - BAND[0]
            onehot = np.zeros((PERIOD, nbins, BITS_PER_HOP))
            np.put_along_axis(onehot, layout.group[:, :, None], 1.0, axis=2)
            patterns = layout.sign[:, :, None] * onehot  # (PERIOD, nbins, groups)
            pilot_of = np.where(layout.symbol >= ecc.CODED_BITS, layout.symbol - ecc.CODED_BITS, 0)
            pilot = np.where(layout.symbol >= ecc.CODED_BITS, layout.pilot[pilot_of], 0.0)  # (PERIOD, groups)
            cells = layout.sign * np.take_along_axis(pilot, layout.group, axis=1)  # (PERIOD, nbins): ±1 or 0
            self._layouts.append((key, layout, patterns, pilot, cells, key_tag(key.key_id)))
        plain = 2 * PERIOD_HOPS * len(keyring)  # phases × offsets × keys
        self.alignments = (plain, plain * _searched_scales() if search else 0)  # the pilot test's two stages

    def detect_samples(
        self, samples: FloatArray, rate: int, *, on_decode: Callable[[bytes, int], None] | None = None
    ) -> AudioDetection:
        """Look for a mark in ``(n,)`` or ``(n, channels)`` float samples at ``rate`` Hz.

        Args:
            on_decode: called with the 12 raw bytes of every decoded message and its list rank
                (for audits of the null distribution).
        """
        seconds = samples.shape[0] / rate
        if seconds < MIN_SECONDS:
            return AudioDetection(False, 1.0, self.fpr, 0, False, seconds, reason="too-short")
        mono = to_analysis_rate(samples[: int(_MAX_SECONDS * rate)], rate)
        phases = [_residual(mono), _residual(mono[HOP // 2 :])]
        attempt = _Attempt(on_decode=on_decode)
        self._try(phases, [(1.0, 1.0)], attempt)
        searched = False
        if attempt.hit is None and self.search:
            searched = True
            attempt.stage = 1
            self._try(phases, _grid(), attempt)
            if attempt.hit is None:
                self._try(phases, _refined(attempt.by_scale), attempt)
        read = min(seconds, _MAX_SECONDS)
        counted = self.alignments[0] + (self.alignments[1] if searched else 0)
        p_pilots, decided, z = _pilot_test(attempt.pilots, self.alignments)
        payload: Payload | None = None
        agreement: float | None = None
        if attempt.hit is not None:  # the payload test decided
            key, payload, agreement, a, s, contribution = attempt.hit
            p_value = min(1.0, 2.0 * attempt.decodes * _NULL_PASS)
        else:  # the pilots' test decides: its best stage, if it reaches the rate
            p_value = min(1.0, 2.0 * p_pilots)
            if p_value > self.fpr or decided is None:
                return AudioDetection(
                    False, p_value, self.fpr, attempt.decodes, searched, seconds, pilot_z=z, alignments=counted
                )
            z, key, a, s, contribution = decided
        return AudioDetection(
            found=p_value <= self.fpr,
            p_value=p_value,
            fpr=self.fpr,
            decodes=attempt.decodes,
            searched=searched,
            seconds=seconds,
            key_id=key.key_id,
            payload=payload,
            bit_accuracy=agreement,
            pilot_z=z,
            time_scale=a,
            frequency_scale=s,
            spans=_spans(contribution, read=read),
            alignments=counted,
        )

    def _try(self, phases: list[FloatArray], scales: list[tuple[float, float]], attempt: _Attempt) -> None:
        nbins = BAND[1] - BAND[0]
        base = np.arange(BAND[0], BAND[1], dtype=np.float64)
        for a, s in scales:
            for res in phases:
                # bin f of the original sits at f * s in a sound played s times faster
                src = base * s - (BAND[0] - _MARGIN)
                lo = np.clip(np.floor(src).astype(int), 0, res.shape[1] - 2)
                frac = (src - lo)[None, :]
                band = res[:, lo] * (1 - frac) + res[:, lo + 1] * frac  # (frames, nbins)
                frames = len(band)
                hop = np.floor(np.arange(frames) * a + 0.5).astype(np.int64)  # the hop of the original
                for key, layout, patterns, pilot, cells, tag in self._layouts:
                    corr = np.tensordot(band, patterns, axes=([1], [1]))  # (frames, PERIOD, groups)
                    q = np.einsum("tjb,jb->tj", corr, pilot)
                    offsets = np.arange(PERIOD_HOPS)
                    idx = ((hop[:, None] + offsets[None, :]) // SLOT_HOPS) % PERIOD  # (frames, offsets): slots
                    score = q[np.arange(frames)[:, None], idx].sum(axis=0)
                    noise = np.sqrt(frames * np.count_nonzero(pilot) / PERIOD * nbins / BITS_PER_HOP)
                    z = score / max(noise, 1e-9)
                    top = float(z.max())
                    attempt.by_scale[(a, s)] = max(attempt.by_scale.get((a, s), top), top)
                    for o in np.argsort(-z)[:_OFFSETS]:
                        slots = idx[:, o]
                        attempt.pilot_seen(_pilot_z(band, slots, cells), key, a, s, q[np.arange(frames), slots])
                        if z[o] < _PILOT_GATE:
                            break
                        if self._decode(key, layout, tag, corr, slots, a, s, attempt):
                            return

    def _decode(
        self,
        key: WatermarkKey,
        layout: AudioLayout,
        tag: int,
        corr: FloatArray,
        slots: npt.NDArray[np.int64],
        a: float,
        s: float,
        attempt: _Attempt,
    ) -> bool:
        frames = np.arange(len(slots))
        per_symbol = np.zeros(layout.symbols)
        np.add.at(per_symbol, layout.symbol[slots], corr[frames, slots])
        soft = per_symbol[: ecc.CODED_BITS] * np.where(layout.scramble, -1.0, 1.0)
        for rank, message in enumerate(ecc.viterbi_list(soft, _LIST)):
            attempt.decodes += 1
            if attempt.on_decode is not None:
                attempt.on_decode(np.packbits(message).tobytes(), rank)
            payload = Payload.checked(ecc.crc_ok(message), tag)
            if payload is None:
                continue
            coded = ecc.encode(message)
            agreement = float(np.mean((soft > 0) == coded))
            expected = layout.modulation(coded)[layout.symbol[slots]]  # (frames, groups)
            contribution = (corr[frames, slots] * expected).sum(axis=1)
            attempt.hit = (key, payload, agreement, a, s, contribution)
            return True
        return False


def _pilot_test(
    best: list[_PilotBest | None], alignments: tuple[int, int]
) -> tuple[float, _PilotBest | None, float | None]:
    """The pilots' test over its stages (those that counted alignments): its p-value (each stage
    with an equal share of the rate), the best reading of the stage that decides, and the highest
    pilot z seen."""
    stages = [(b, n) for b, n in zip(best, alignments, strict=True) if n]
    p_stage = [1.0 if b is None else min(1.0, n * _pilot_tail(b[0])) for b, n in stages]
    top = max((b[0] for b, _ in stages if b is not None), default=None)
    return min(1.0, len(stages) * min(p_stage)), stages[int(np.argmin(p_stage))][0], top


def _pilot_z(band: FloatArray, slots: npt.NDArray[np.int64], cells: FloatArray) -> float:
    """The pilots' normalised correlation at one alignment: ``Σ εX / √(Σ X²)`` over the pilot cells,
    ``X`` each band bin of a slot position summed over the frames on it (``slots``: each frame's)."""
    order = np.argsort(slots, kind="stable")
    used, starts = np.unique(slots[order], return_index=True)
    x = np.add.reduceat(band[order], starts, axis=0)  # (slot positions present, nbins)
    w = cells[used]
    energy = float(np.sum(x * x * (w != 0)))
    return float(np.sum(x * w)) / sqrt(energy) if energy > 0 else 0.0


def _refined(by_scale: dict[tuple[float, float], float], *, keep: int = _REFINED) -> list[tuple[float, float]]:
    """Scales between the grid's points around the ``keep`` best whose pilots passed the gate:
    speed changes move both scales, time-stretches the time scale only."""
    best = sorted(((z, a, s) for (a, s), z in by_scale.items() if z >= _PILOT_GATE), reverse=True)[:keep]
    out: list[tuple[float, float]] = []
    for _, a, s in best:
        for d in _FINE:
            if a == s:
                out.append((round(a + d, 4), round(s + d, 4)))
            if s == 1.0:
                out.append((round(a + d, 4), 1.0))
    return [c for c in dict.fromkeys(out) if c not in by_scale]


def _spans(contribution: FloatArray, *, read: float, window: int = 62) -> tuple[TimeSpan, ...]:
    """Stretches of at least 2 s whose hops agree with the decoded mark (a moving z above 3 over
    about 4 s), gaps under 1 s closed, ending at most at ``read`` seconds."""
    if len(contribution) < window:
        return ()
    sd = float(np.std(contribution)) or 1.0
    moving = np.convolve(contribution, np.ones(window), mode="same") / (sd * np.sqrt(window))
    runs: list[list[int]] = []
    start = None
    for t, on in enumerate(np.append(moving > 3.0, False)):
        if on and start is None:
            start = t
        elif not on and start is not None:
            if runs and start - runs[-1][1] < window // 4:  # a gap under 1 s: one stretch
                runs[-1][1] = t
            else:
                runs.append([start, t])
            start = None
    seconds = HOP / RATE
    ends = [(a * seconds, min(b * seconds, read)) for a, b in runs if b - a >= window // 2]
    return tuple(TimeSpan(round(a, 2), round(b, 2)) for a, b in ends)
