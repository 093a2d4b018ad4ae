"""The keyed time–frequency layout of the audio watermark.

The mark lives in the short-time spectrum of the sound resampled to 16 kHz (frames of 1024
samples, 64 ms, hop 512): every frequency bin between 250 Hz and 6 kHz of every frame is
scaled up or down by a small factor. Pairs of hops form *slots* (128 ms), numbered modulo a
period of ``PERIOD`` slots (about 5 s); in each slot the band's bins are split, by the key, into
``BITS_PER_HOP`` disjoint groups, each carrying one symbol with a keyed sign per bin. The
``PERIOD × BITS_PER_HOP`` symbols of a period are the 306 scrambled bits of the payload's
convolutional code (:mod:`watermark.image.ecc`, the image mark's code) and a keyed *pilot* that a
detector correlates against to find the period's start in an excerpt cut from anywhere.

The band sits below 6 kHz so the mark survives resampling to 16 kHz and low-rate codecs; keyed
groups and signs make every decoded bit a fair coin under any other key, the basis of the exact
false-positive bound (see :mod:`watermark.audio.detect`).
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from ..image.ecc import CODED_BITS
from ..image.layout import keyed_words
from ..keys import WatermarkKey

__all__ = [
    "BAND",
    "BITS_PER_HOP",
    "HOP",
    "NFFT",
    "PERIOD",
    "PERIOD_HOPS",
    "RATE",
    "SLOT_HOPS",
    "AudioLayout",
    "audio_layout",
    "layout_for_key",
]

RATE = 16_000  # the analysis rate: every sound is marked and read at it
NFFT = 1024
HOP = NFFT // 2
BAND = (16, 384)  # bins [16, 384): 250 Hz .. 6 kHz at 15.625 Hz a bin
BITS_PER_HOP = 6  # symbols per slot (disjoint groups of the slot's bins)
SLOT_HOPS = 2  # a slot lasts two hops (128 ms): overlapping frames then see one coherent change
PERIOD = 78  # slots: 156 hops, 4.99 s; 468 symbols = 306 coded bits + 162 pilot symbols
PERIOD_HOPS = PERIOD * SLOT_HOPS

FloatArray = npt.NDArray[np.float64]
IntArray = npt.NDArray[np.int64]
BoolArray = npt.NDArray[np.bool_]


@dataclass(frozen=True, eq=False)
class AudioLayout:
    """One key's layout.

    Attributes:
        group: ``(PERIOD, nbins)`` which of the slot's ``BITS_PER_HOP`` groups each band bin is in.
        sign: ``(PERIOD, nbins)`` keyed ±1 of each bin.
        symbol: ``(PERIOD, BITS_PER_HOP)`` which symbol each slot's group carries (coded bits
            are ``0 .. CODED_BITS - 1``, pilot symbols follow).
        pilot: ``(PERIOD * BITS_PER_HOP - CODED_BITS,)`` the keyed pilot signs (±1).
        scramble: ``(CODED_BITS,)`` keyed bits XORed onto the coded bits before modulation.
    """

    group: IntArray
    sign: FloatArray
    symbol: IntArray
    pilot: FloatArray
    scramble: BoolArray

    @property
    def symbols(self) -> int:
        """Symbols per period."""
        return PERIOD * BITS_PER_HOP

    def modulation(self, coded: BoolArray) -> FloatArray:
        """The ±1 value of every symbol of a period for ``(CODED_BITS,)`` coded bits."""
        data = np.where(coded ^ self.scramble, 1.0, -1.0)
        return np.concatenate([data, self.pilot])

    def weights(self, values: FloatArray) -> FloatArray:
        """``(PERIOD, nbins)``: each slot's bin signs times the value its group carries."""
        per_group = values[self.symbol]  # (PERIOD, BITS_PER_HOP)
        return self.sign * np.take_along_axis(per_group, self.group, axis=1)


def audio_layout(seed: bytes) -> AudioLayout:
    """The layout for a key seed (a keyed hash of the secret, never the secret)."""
    nbins = BAND[1] - BAND[0]
    words = keyed_words(seed, b"group", PERIOD * nbins).reshape(PERIOD, nbins)
    # an equal split of each slot's bins into the groups, in a keyed order
    ranks = np.argsort(np.argsort(words, axis=1, kind="stable"), axis=1, kind="stable")
    group = (ranks % BITS_PER_HOP).astype(np.int64)
    sign = np.where(keyed_words(seed, b"sign", PERIOD * nbins).reshape(PERIOD, nbins) & np.uint64(1), 1.0, -1.0)
    order = np.argsort(keyed_words(seed, b"symbol", PERIOD * BITS_PER_HOP), kind="stable")
    symbol = order.reshape(PERIOD, BITS_PER_HOP).astype(np.int64)
    pilots = PERIOD * BITS_PER_HOP - CODED_BITS
    pilot = np.where(keyed_words(seed, b"pilot", pilots) & np.uint64(1), 1.0, -1.0)
    scramble = (keyed_words(seed, b"scramble", CODED_BITS) & np.uint64(1)).astype(bool)
    return AudioLayout(group=group, sign=sign, symbol=symbol, pilot=pilot, scramble=scramble)


def layout_for_key(key: WatermarkKey) -> AudioLayout:
    """The audio layout of a key ring key (domain-separated from its text and image marks)."""
    seed = hashlib.blake2b(key.secret.reveal(), digest_size=32, person=b"assay-audio-v1").digest()
    return audio_layout(seed)
