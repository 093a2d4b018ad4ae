"""The audio watermark's contract on arrays: the payload round trip, excerpts and gain, the exact
bound, the pilots' own test (its null distribution, a mark found without its record id), other
keys and unmarked sound, refusals. Robustness to codecs and speed changes is measured
in ``eval/audio_watermark.py``, not asserted here (the scheme does not meet its targets yet)."""

from __future__ import annotations

import numpy as np
import pytest

from detect.audio import audio_watermark_finding
from watermark.audio import AudioWatermarkDetector, AudioWatermarker
from watermark.audio.detect import _PILOT_GATE, _RADEMACHER_C, MIN_SECONDS, _normal_tail, _pilot_z
from watermark.audio.layout import BAND, PERIOD
from watermark.errors import InvalidInput
from watermark.keys import KeyRing, Secret, WatermarkKey

RATE = 44_100
RING = KeyRing([WatermarkKey("a", "kgw", Secret(b"a" * 32))])
OTHER = KeyRing([WatermarkKey("b", "kgw", Secret(b"b" * 32))])


def _music(seconds: float = 12.0, seed: int = 0) -> np.ndarray:
    rng = np.random.default_rng(seed)
    t = np.arange(int(seconds * RATE)) / RATE
    out = np.zeros_like(t)
    for i in range(int(seconds * 4)):
        f = [220, 262, 330, 392, 440][rng.integers(5)] * (2 ** rng.integers(0, 2))
        env = np.exp(-np.clip(t - i * 0.25, 0, None) * 4) * (t >= i * 0.25)
        for h in range(1, 6):
            out += env * np.sin(2 * np.pi * f * h * t) / h**1.5
    out += 0.02 * rng.normal(size=len(t))
    mono = 0.6 * out / np.abs(out).max()
    return np.stack([mono, np.roll(mono, 50)], axis=1)


@pytest.fixture(scope="module")
def marked() -> tuple[np.ndarray, np.ndarray, int]:
    x = _music()
    out = AudioWatermarker(RING).mark_samples(x, RATE, record_id=0xABCDEF123456)  # the default strength
    assert out.samples.shape == x.shape and out.key_id == "a" and 30 < out.snr_db < 60
    return x, out.samples, out.payload.record_id


def test_the_payload_comes_back_with_an_exact_bound_and_where_it_is(marked: tuple[np.ndarray, np.ndarray, int]) -> None:
    _, y, record = marked
    d = AudioWatermarkDetector(RING).detect_samples(y, RATE)
    assert d.found and d.key_id == "a" and d.payload is not None and d.payload.record_id == record
    assert 0 < d.p_value <= 2 * d.decodes * 2.0**-48 and d.p_value <= 1e-6  # twice the smaller test's
    assert d.spans and d.spans[0].start < 0.5 and d.spans[-1].end > 11.0
    for part, rate in ((y * 0.5, RATE), (y[int(1.3 * RATE) : int(11.3 * RATE)], RATE)):  # gain, a 10 s excerpt
        d = AudioWatermarkDetector(RING).detect_samples(part, rate)
        assert d.found and d.payload is not None and d.payload.record_id == record


def test_unmarked_sound_and_other_keys_find_nothing(marked: tuple[np.ndarray, np.ndarray, int]) -> None:
    x, y, _ = marked
    d = AudioWatermarkDetector(RING).detect_samples(x, RATE)  # every scale of the search tried
    assert not d.found and d.p_value > 0.01 and d.searched and d.payload is None  # no alignment's pilots reach the gate
    assert d.pilot_z is not None and 1.5 < d.pilot_z < _PILOT_GATE and d.decodes == 0
    d = AudioWatermarkDetector(OTHER, search=False).detect_samples(y, RATE)
    assert not d.found and d.p_value > 0.01 and d.decodes == 0 and not d.searched
    marked = AudioWatermarkDetector(RING).detect_samples(y, RATE)
    assert marked.pilot_z is not None and marked.pilot_z > 2 * _PILOT_GATE and marked.decodes <= 2
    short = AudioWatermarkDetector(RING).detect_samples(y[: int((MIN_SECONDS - 1) * RATE)], RATE)
    assert short.reason == "too-short" and not short.found


def test_the_pilot_statistic_is_a_unit_rademacher_sum_under_any_other_key() -> None:
    rng = np.random.default_rng(3)
    band = np.clip(rng.standard_t(3, size=(400, BAND[1] - BAND[0])), -3, 3)  # heavy-tailed, like a residual
    band[:, :40] *= 5.0  # and uneven across bins: the statistic normalises by what the cells hold
    slots = (np.arange(400) // 2) % PERIOD
    on = rng.random((PERIOD, BAND[1] - BAND[0])) < 1 / 3  # a third of the cells are pilots
    z = np.array([_pilot_z(band, slots, on * rng.choice([-1.0, 1.0], size=on.shape)) for _ in range(3000)])
    assert abs(np.mean(z)) < 0.06 and 0.93 < np.mean(z**2) < 1.07
    for t in (1.5, 2.0, 2.5):
        assert np.mean(z >= t) <= _RADEMACHER_C * _normal_tail(t)  # the bound the p-value rests on
    assert 3.17 < _RADEMACHER_C < 3.19


def test_a_mark_too_weak_to_decode_is_found_by_its_pilots_without_its_record_id() -> None:
    x = _music(seed=4)
    y = AudioWatermarker(RING, strength=0.001).mark_samples(x, RATE, record_id=0x5151).samples
    d = AudioWatermarkDetector(RING).detect_samples(y, RATE)
    assert d.found and d.key_id == "a" and d.payload is None and d.p_value <= 1e-6
    assert d.pilot_z is not None and d.pilot_z > 6.2 and d.spans and all(0 <= s.start < s.end <= 12 for s in d.spans)
    other = AudioWatermarkDetector(OTHER).detect_samples(y, RATE)
    assert not other.found and other.key_id is None
    finding = audio_watermark_finding(d, 1)  # what the report says: the key's mark, no record, the alignments
    assert finding.detected and finding.verdict == "watermarked" and finding.record_id is None
    assert finding.evidence_unit == "alignments" and finding.evidence_size == d.alignments == 2 * 156 * (1 + 364)


def test_bad_audio_is_refused_in_words() -> None:
    marker = AudioWatermarker(RING)
    with pytest.raises(InvalidInput, match="sample rate"):
        marker.mark_samples(np.zeros(10 * 1000), 1000)
    with pytest.raises(InvalidInput, match="at least"):
        marker.mark_samples(np.zeros(RATE), RATE)
    with pytest.raises(InvalidInput, match="finite"):
        marker.mark_samples(np.full(7 * RATE, np.nan), RATE)
    mono = marker.mark_samples(_music(7.0)[:, 0], RATE)
    assert mono.samples.ndim == 1


def test_a_speed_change_between_the_grids_points_is_found_by_refining_it() -> None:
    from scipy.signal import resample_poly

    x = _music()[:, 0]  # 12 s so faintly marked that the grid's own points do not decode it
    marked = AudioWatermarker(RING, strength=0.003).mark_samples(x, RATE, record_id=0x77).samples
    faster = resample_poly(marked, 125, 128)  # 2.4 % faster: 0.002 from the grid's 1.022 and 1.026
    d = AudioWatermarkDetector(RING).detect_samples(faster, RATE)
    assert d.found and d.payload is not None and d.payload.record_id == 0x77
    assert d.time_scale is not None and abs(d.time_scale - 1.024) < 0.002 and d.time_scale not in (1.022, 1.026)
