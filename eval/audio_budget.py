"""The audio mark's signal budget: where the evidence per payload symbol goes, measured.

For each signal (three espeak-ng voices and one rendered music signal of ``eval/audio_watermark.py``)
the mark is embedded at a few strengths, by the shipped rule and by the previous one (every cell
changed by the same factor, :func:`uniform_change`) at the strength that gave it SNR 30 dB, and
the detector's own statistic (the normalised log-magnitude residual,
:func:`watermark.audio.detect._residual`, summed per symbol with the key's signs) is split into
its parts at the true alignment:

- **mark**: the mean per-symbol sum the mark contributes (marked minus unmarked residual);
- **efficiency**: that contribution over what the embedded gains (each cell's
  :func:`~watermark.audio.detect.relative_change`) would give if the analysis saw them unchanged
  (re-analysis of an STFT modification keeps only part of it);
- **host**: the per-symbol standard deviation of the unmarked sound's own residual (interference
  a blind detector cannot avoid);
- **codec**: the per-symbol standard deviation a codec adds (decoded copy aligned to the original
  by cross-correlation first, so an encoder's delay is not counted as noise);
- **z blind** = mark / sqrt(host² + codec²) and **z host-free** = mark / codec: the per-symbol
  SNR a blind detector gets, and what a mark that cancelled the host's interference
  (informed embedding) would get at the same strength, before paying for the cancellation;
- **capacity**: what the clip's symbols could carry at that SNR with an ideal code, Σ ½ log2(1 +
  z²) over a period's symbols (each symbol's evidence is pooled over the whole clip), in bits,
  against the 96 bits (64-bit payload and CRC-32) every decode needs: below 96, no code decodes;
  the rate-1/3 K=7 code in use needs about 2.5 times 96 in practice;
- **cancel cost**: what cancelling the host's interference costs per symbol, over the mark's own
  energy per symbol at that strength (host² / mark² with both per symbol): above 1, informed
  embedding spends more on the host than the mark has.

    .venv/bin/python eval/audio_budget.py       # writes eval/results/audio_budget.{json,md}
"""

from __future__ import annotations

import argparse
import dataclasses
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import numpy as np
from pesq import pesq
from scipy.signal import correlate, resample_poly

from eval.audio_watermark import ATTACKS, RATE, _music, _speech
from eval.typed_results import write_json
from watermark.audio.detect import _MARGIN, _MARGIN_HIGH, _residual, embed_samples, relative_change
from watermark.audio.layout import BAND, PERIOD, SLOT_HOPS, layout_for_key
from watermark.audio.signal import stft, to_analysis_rate
from watermark.image import ecc
from watermark.keys import Secret, WatermarkKey

REPO = Path(__file__).resolve().parents[1]
CODECS = ("mp3 64k", "aac 64k", "opus 32k")
F = np.ndarray


@dataclasses.dataclass
class BudgetRow:
    signal: str
    strength: float
    snr_db: float
    efficiency: float
    mark: float
    host: float
    codec: dict[str, float]
    z_blind: dict[str, float]
    z_host_free: dict[str, float]
    capacity_blind: dict[str, float]
    cancel_cost: float
    rule: str = "floor"  # floor: the shipped rule; uniform: the previous one, every cell by the strength
    pesq_wb: float | None = None  # speech only


@dataclasses.dataclass
class Budget:
    rows: list[BudgetRow]


def _aligned(y: F, reference: F) -> F:
    """``y`` shifted so it lines up with ``reference`` (both mono at 16 kHz), same length."""
    n = min(len(y), len(reference), 16_000 * 4)
    lag = int(np.argmax(correlate(y[:n], reference[:n], mode="full", method="fft"))) - (n - 1)
    shifted = y[lag:] if lag >= 0 else np.pad(y, (-lag, 0))
    out = shifted[: len(reference)]
    return np.pad(out, (0, len(reference) - len(out)))


def uniform_change(spectrum: F, strength: float) -> F:
    """The previous rule, the reference the shipped one is measured against: every band cell's
    magnitude changed by the same factor ``(1 + strength) ** ±1`` (the mark proportional to the host)."""
    return np.full((len(spectrum), BAND[1] - BAND[0]), strength)


RULES = {"floor": relative_change, "uniform": uniform_change}


def _per_symbol(res: F, layout: object, values: F) -> F:
    """Per-symbol sums of the residual times the key's sign (and the symbol's value)."""
    band = res[:, _MARGIN:-_MARGIN_HIGH]
    slots = (np.arange(len(band)) // SLOT_HOPS) % PERIOD
    weights = layout.sign[slots]  # type: ignore[attr-defined]
    symbols = layout.symbol[slots[:, None], layout.group[slots]]  # type: ignore[attr-defined]
    sums = np.zeros(len(values))
    np.add.at(sums, symbols, band * weights)
    return np.asarray(sums * values)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--strengths", type=float, nargs="+", default=[0.01, 0.02, 0.04])
    ap.add_argument(
        "--uniform",
        type=float,
        nargs="*",
        default=[0.045],
        help="Strengths of the previous rule to measure beside (0.045: SNR 30 dB, PESQ 4.0 on the first voice).",
    )
    ap.add_argument("--out", type=Path, default=REPO / "eval" / "results")
    args = ap.parse_args()
    key = WatermarkKey("bench", "kgw", Secret(bytes(range(32))))
    layout = layout_for_key(key)
    coded = np.random.default_rng(0).integers(0, 2, ecc.CODED_BITS).astype(bool)
    values = layout.modulation(coded)
    signals = [(f"speech {i + 1}", s) for i, s in enumerate(_speech()[:3])] + [("music 1", _music(1))]
    rows = []
    for name, x in signals:
        clean = to_analysis_rate(x, RATE)
        host = _per_symbol(_residual(clean), layout, values)
        for rule, strength in [("floor", s) for s in args.strengths] + [("uniform", s) for s in args.uniform]:
            marked = embed_samples(x, RATE, layout, coded, strength=strength, change=RULES[rule])
            snr = 10 * np.log10(np.sum(x**2) / np.sum((marked - x) ** 2))
            speech = name.startswith("speech")
            quality = (
                pesq(16_000, resample_poly(x, 160, 441), resample_poly(marked, 160, 441), "wb") if speech else None
            )
            mono = to_analysis_rate(marked, RATE)
            res = _residual(mono)
            mark = float(np.mean(_per_symbol(res, layout, values) - host))
            scale = float(np.std(_residual_raw(clean)))
            applied = np.log1p(RULES[rule](stft(clean), strength))  # each cell's embedded log change
            efficiency = mark / (float(np.sum(applied)) / len(values) / scale)
            codec, z_blind, z_free = {}, {}, {}
            for attack in CODECS:
                y, r = ATTACKS[attack](marked)
                decoded = _aligned(to_analysis_rate(y, r), mono)
                noise = _per_symbol(_residual(decoded), layout, values) - _per_symbol(res, layout, values)
                codec[attack] = float(np.std(noise))
                z_blind[attack] = mark / float(np.hypot(np.std(host), codec[attack]))
                z_free[attack] = mark / codec[attack]
            capacity = {c: float(len(values) * 0.5 * np.log2(1 + z**2)) for c, z in z_blind.items()}
            cost = float(np.var(host) / mark**2)
            rows.append(
                BudgetRow(
                    name,
                    strength,
                    float(snr),
                    float(efficiency),
                    mark,
                    float(np.std(host)),
                    codec,
                    z_blind,
                    z_free,
                    capacity,
                    cost,
                    rule,
                    None if quality is None else float(quality),
                )
            )
            print(rows[-1], flush=True)
    write_json(args.out / "audio_budget.json", Budget(rows))
    (args.out / "audio_budget.md").write_text(_md(rows))
    print(_md(rows))


def _residual_raw(signal: F) -> F:
    """The residual before it is divided by its standard deviation (the detector's scale)."""
    from watermark.audio.detect import _ENVELOPE
    from watermark.audio.layout import BAND

    logs = np.log(np.abs(stft(signal)[:, BAND[0] : BAND[1]]) + 1e-9)
    padded = np.pad(logs, ((_ENVELOPE // 2 + 1, _ENVELOPE // 2), (0, 0)), mode="edge")
    sums = np.cumsum(padded, axis=0)
    res = logs - (sums[_ENVELOPE:] - sums[:-_ENVELOPE]) / _ENVELOPE
    return np.asarray(res - res.mean(axis=1, keepdims=True))


def _pesq(value: float | None) -> str:
    return "" if value is None else f"{value:.2f}"


def _md(rows: list[BudgetRow]) -> str:
    lines = [
        "# Audio mark: the signal budget per payload symbol",
        "",
        "Command: `.venv/bin/python eval/audio_budget.py`. Units: the detector's normalised residual, "
        "summed over a symbol's cells. z = mark / noise per symbol (rate-1/3 K=7 decoding needs about 1.0–1.5). "
        "Rule *floor*: the shipped embedding (the mark a fixed level under each frame's band RMS); *uniform*: the "
        "previous one (every cell changed by the strength), measured beside it on the same sounds.",
        "",
        "| signal | rule | strength | SNR dB | PESQ-wb | efficiency | mark | host | codec (mp3 / aac / opus) "
        "| z blind (mp3 / aac / opus) | z host-free (mp3 / aac / opus) | capacity bits (mp3 / aac / opus) "
        "| cancel cost |",
        "|---|---|---:|---:|---:|---:|---:|---:|---|---|---|---|---:|",
    ]
    for r in rows:
        codec = " / ".join(f"{r.codec[c]:.1f}" for c in CODECS)
        zb = " / ".join(f"{r.z_blind[c]:.2f}" for c in CODECS)
        zf = " / ".join(f"{r.z_host_free[c]:.2f}" for c in CODECS)
        cap = " / ".join(f"{r.capacity_blind[c]:.0f}" for c in CODECS)
        lines.append(
            f"| {r.signal} | {r.rule} | {r.strength} | {r.snr_db:.1f} | {_pesq(r.pesq_wb)} | {r.efficiency:.2f} "
            f"| {r.mark:.1f} | {r.host:.1f} "
            f"| {codec} | {zb} | {zf} | {cap} | {r.cancel_cost:.1f} |"
        )
    return "\n".join(lines) + "\n"


if __name__ == "__main__":
    main()
