"""The keyed tile: which Fourier bins carry the pilot and which carry each coded bit.

The watermark is one 128 x 128 tile, repeated over the image. Every integer frequency of the tile
whose radius lies in the band carries a unit-magnitude coefficient with a keyed random phase:
a quarter of them (the *pilot*) always the same, the rest split into disjoint groups, one group
per coded bit, whose sign is the bit. Disjoint bins make the bit carriers exactly orthogonal;
keyed phases make every decoded sign a fair coin under any other key, which is what the exact
false-positive statistics rest on. Because the tile repeats, all of its energy sits on a lattice
of frequencies that a detector finds in the magnitude spectrum without knowing the bits
(:mod:`watermark.image.sync`).
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from functools import lru_cache

import numpy as np
import numpy.typing as npt

from ..keys import WatermarkKey
from .ecc import CODED_BITS

__all__ = ["BAND", "TILE", "TileLayout", "keyed_words", "layout_for_key", "tile_layout"]

TILE = 128
BAND = (7.0, 32.0)  # radius in tile bins: periods 18.3 .. 4.0 px of the tile
_RINGS = 6
_TILT = 1.0  # amplitude grows with radius: host noise falls with frequency, so SNR per unit energy rises
_PILOT_SHARE = 0.25

FloatArray = npt.NDArray[np.float64]
IntArray = npt.NDArray[np.int64]
BoolArray = npt.NDArray[np.bool_]
ComplexArray = npt.NDArray[np.complex128]


def keyed_words(seed: bytes, label: bytes, n: int) -> npt.NDArray[np.uint64]:
    """``n`` keyed 64-bit words for ``label`` (SHAKE-256 of the seed and the label)."""
    stream = hashlib.shake_256(seed + b"\x00" + label).digest(8 * n)
    return np.frombuffer(stream, dtype="<u8").astype(np.uint64)


def _band_bins() -> IntArray:
    r = int(BAND[1]) + 1
    ky, kx = np.meshgrid(np.arange(-r, r + 1), np.arange(-r, r + 1), indexing="ij")
    radius = np.hypot(ky, kx)
    half = (ky > 0) | ((ky == 0) & (kx > 0))
    keep = half & (radius >= BAND[0]) & (radius <= BAND[1])
    return np.stack([ky[keep], kx[keep]], axis=1).astype(np.int64)


@dataclass(frozen=True, eq=False)
class TileLayout:
    """One key's tile. Bins are ``(ky, kx)`` pairs in the upper half plane of the tile's FFT.

    Attributes:
        bins: ``(n, 2)`` every bin the watermark uses (pilot first, then data).
        pilot: number of pilot bins at the start of ``bins``.
        phase: ``(n,)`` keyed phase of each bin.
        data_bit: ``(n - pilot,)`` coded-bit index carried by each data bin.
        scramble: ``(CODED_BITS,)`` keyed bits XORed onto the coded bits.
    """

    bins: IntArray
    pilot: int
    phase: FloatArray
    data_bit: IntArray
    scramble: BoolArray

    def _spectrum(self, signs: FloatArray, tilt: float = _TILT) -> ComplexArray:
        spec = np.zeros((TILE, TILE), dtype=np.complex128)
        radius = np.hypot(self.bins[:, 0], self.bins[:, 1])
        coeff = signs * (radius / BAND[0]) ** tilt * np.exp(1j * self.phase)
        ky, kx = self.bins[:, 0] % TILE, self.bins[:, 1] % TILE
        spec[ky, kx] = coeff
        spec[(-self.bins[:, 0]) % TILE, (-self.bins[:, 1]) % TILE] = np.conj(coeff)
        return spec

    def tile(self, coded: BoolArray, tilt: float = _TILT) -> FloatArray:
        """The ``(TILE, TILE)`` spatial pattern for ``coded`` bits, unit RMS.

        ``tilt`` shapes the spectrum: bin amplitudes grow as ``radius ** tilt`` (negative tilts
        put the energy in the band's lowest rings, where compression keeps it).
        """
        tx = coded ^ self.scramble
        signs = np.concatenate([np.ones(self.pilot), np.where(tx[self.data_bit], 1.0, -1.0)])
        pattern = np.fft.ifft2(self._spectrum(signs, tilt)).real
        return np.asarray(pattern / np.sqrt(np.mean(pattern**2)), dtype=np.float64)

    def pilot_spectrum(self) -> ComplexArray:
        """The ``(TILE, TILE)`` spectrum of the pilot alone (for shift estimation)."""
        signs = np.concatenate([np.ones(self.pilot), np.zeros(len(self.bins) - self.pilot)])
        return self._spectrum(signs)

    def ring_weights(self, spectrum: ComplexArray) -> FloatArray:
        """Per-bin weights ``(n,)`` = estimated mark amplitude / noise variance of the bin's ring.

        Host noise and attacks hit frequencies very unequally (low rings carry ten times the
        noise of high ones in a typical photo; blur and JPEG take the high rings), so each
        ring's amplitude is measured on the pilot (in phase with the known pilot phases) and its
        noise on the pilot's quadrature component. The weights come from pilot bins only and
        the data bins they scale are disjoint, so decoded signs stay fair coins under the null.
        """
        ring = self._rings()
        ky, kx = self.bins[: self.pilot, 0] % TILE, self.bins[: self.pilot, 1] % TILE
        rotated = spectrum[ky, kx] * np.exp(-1j * self.phase[: self.pilot])
        pilot_ring = ring[: self.pilot]
        count = np.maximum(np.bincount(pilot_ring, minlength=_RINGS), 1)
        amplitude = np.bincount(pilot_ring, weights=rotated.real, minlength=_RINGS) / count
        noise = np.bincount(pilot_ring, weights=rotated.imag**2, minlength=_RINGS) / count
        weights = np.maximum(amplitude, 0.0) / (noise + 1e-12)
        return np.asarray(weights[ring], dtype=np.float64)

    def _rings(self) -> IntArray:
        radius = np.hypot(self.bins[:, 0], self.bins[:, 1])
        ring = ((radius - BAND[0]) / (BAND[1] - BAND[0]) * _RINGS).astype(np.int64)
        return np.clip(ring, 0, _RINGS - 1)

    def soft_bits(self, spectrum: ComplexArray) -> FloatArray:
        """Soft coded bits (positive = 1) from the spectrum of an aligned, folded tile."""
        ky, kx = self.bins[self.pilot :, 0] % TILE, self.bins[self.pilot :, 1] % TILE
        corr = np.real(spectrum[ky, kx] * np.exp(-1j * self.phase[self.pilot :]))
        corr *= self.ring_weights(spectrum)[self.pilot :]
        soft = np.bincount(self.data_bit, weights=corr, minlength=CODED_BITS)
        return np.where(self.scramble, -soft, soft)


@lru_cache(maxsize=16)
def tile_layout(seed: bytes) -> TileLayout:
    """The layout for a key seed (``seed`` is already a keyed hash of the secret, never the secret)."""
    bins = _band_bins()
    order = np.argsort(keyed_words(seed, b"order", len(bins)), kind="stable")
    bins = bins[order]
    per_bit = int(len(bins) * (1 - _PILOT_SHARE)) // CODED_BITS
    pilot = len(bins) - per_bit * CODED_BITS
    words = keyed_words(seed, b"phase", len(bins))
    phase = (words >> np.uint64(11)).astype(np.float64) * (2 * np.pi / 2.0**53)
    data_bit = np.repeat(np.arange(CODED_BITS), per_bit)
    data_bit = data_bit[np.argsort(keyed_words(seed, b"assign", len(data_bit)), kind="stable")]
    scramble = (keyed_words(seed, b"scramble", CODED_BITS) & np.uint64(1)).astype(bool)
    return TileLayout(bins=bins, pilot=pilot, phase=phase, data_bit=data_bit, scramble=scramble)


def layout_for_key(key: WatermarkKey) -> TileLayout:
    """The image layout of a key ring key (domain-separated from the key's text watermark)."""
    seed = hashlib.blake2b(key.secret.reveal(), digest_size=32, person=b"assay-image-v1").digest()
    return tile_layout(seed)
