"""Decode the public `invisible-watermark` marks that Stable Diffusion and SDXL embed.

Both use the package's ``dwtDct`` method: Haar approximation band of the U plane of YUV, 4 x 4
blocks, one bit per block from the largest AC magnitude modulo 36, bits repeated over the image
and decided by majority. This module re-implements that decoder (vectorised, no torch import,
bit-for-bit equal to ``imwatermark.WatermarkDecoder(...).decode(bgr, "dwtDct")`` in the tests).

- Stable Diffusion v1/v2 reference scripts: 136 bits, the bytes ``b"StableDiffusionV1"``, fed BGR.
- SDXL / diffusers: 48 bits ``0xB3EC907BB19E``; diffusers hands RGB arrays to a BGR API, so
  both channel orders are tried.

The mark has no key and no error correction: the p-value given is the binomial tail of the
matching bits under fair coins, times the two channel orders. Unmarked images do not give fair
coins (their decoded bits are biased), so this is an approximation; the eval measures the real
null rate (``eval/image_watermark.py``). dwtDct does not survive JPEG with 4:2:0 subsampling,
resizing or cropping, so "not found" says little.
"""

from __future__ import annotations

from dataclasses import dataclass

import cv2
import numpy as np
import numpy.typing as npt
from scipy.stats import binom

__all__ = ["DECISION_P", "PUBLIC_MARKS", "PublicMark", "PublicMarkDetection", "detect_public_marks", "dwtdct_bits"]


@dataclass(frozen=True)
class PublicMark:
    """A known public watermark: a name and its bits."""

    name: str
    generator: str
    bits: tuple[int, ...]


def _bits_of(data: bytes) -> tuple[int, ...]:
    return tuple(int(b) for b in np.unpackbits(np.frombuffer(data, dtype=np.uint8)))


PUBLIC_MARKS = (
    PublicMark("sdxl-dwtdct", "Stable Diffusion XL / diffusers", _bits_of(bytes.fromhex("b3ec907bb19e"))),
    PublicMark("sd-v1-dwtdct", "Stable Diffusion v1/v2 reference scripts", _bits_of(b"StableDiffusionV1")),
)
DECISION_P = 1e-6
_HAAR = 0.7071067811865476
_BAND = 1024  # image rows decoded at a time (a multiple of 8)


@dataclass(frozen=True)
class PublicMarkDetection:
    """How well an image's dwtDct bits match one public mark."""

    name: str
    generator: str
    matched_bits: int
    total_bits: int
    p_value: float
    found: bool

    def to_dict(self) -> dict[str, object]:
        """JSON-ready form."""
        return {
            "scheme": "invisible-watermark-dwtdct",
            "mark": self.name,
            "generator": self.generator,
            "found": self.found,
            "matched_bits": self.matched_bits,
            "total_bits": self.total_bits,
            "p_value": self.p_value,
            "p_value_kind": "binomial approximation (unkeyed mark, biased null)",
        }


def dwtdct_bits(bgr: npt.NDArray[np.uint8], length: int) -> npt.NDArray[np.bool_]:
    """The ``length`` bits ``imwatermark``'s dwtDct decoder reads from a ``(h, w, 3)`` uint8 BGR image."""
    return _bits(_votes(bgr, cv2.COLOR_BGR2YUV), length)


def _votes(image: npt.NDArray[np.uint8], conversion: int) -> npt.NDArray[np.bool_]:
    """Each 4 x 4 block's vote, in the decoder's order (row-major over blocks), from an image
    converted to YUV by ``conversion``. Worked in bands of ``_BAND`` rows (whole rows of blocks):
    the conversion is per pixel and each block sees only its own 8 x 8 pixels, so the votes are
    those of the whole image at once, for a band's memory instead of the image's float copies."""
    usable_rows = image.shape[0] // 8 * 8  # 4 x 4 blocks of the half-size approximation band
    usable_cols = image.shape[1] // 8 * 8
    out = []
    for y in range(0, usable_rows, _BAND):
        band = image[y : min(y + _BAND, usable_rows), :usable_cols]
        u = cv2.cvtColor(np.ascontiguousarray(band), conversion)[..., 1].astype(np.float64)
        # Haar approximation band, in PyWavelets' own order of operations: the decision below sits on
        # multiples of 18, so the last bit of rounding decides some votes.
        c = _HAAR
        ll = (u[0::2, 0::2] * c + u[1::2, 0::2] * c) * c + (u[0::2, 1::2] * c + u[1::2, 1::2] * c) * c
        bh, bw = ll.shape[0] // 4, ll.shape[1] // 4
        blocks = ll.reshape(bh, 4, bw, 4).transpose(0, 2, 1, 3).reshape(bh * bw, 16)
        pos = np.argmax(np.abs(blocks[:, 1:]), axis=1) + 1
        value = np.abs(blocks[np.arange(len(blocks)), pos])
        out.append((value % 36.0) > 18.0)
    return np.concatenate(out) if out else np.zeros(0, dtype=bool)


def _bits(votes: npt.NDArray[np.bool_], length: int) -> npt.NDArray[np.bool_]:
    """The majority of the votes for each of ``length`` bits repeated over the blocks."""
    index = np.arange(len(votes)) % length
    ones = np.bincount(index, weights=votes, minlength=length)
    count = np.bincount(index, minlength=length)
    return np.asarray(ones / np.maximum(count, 1) * 255 > 127)


def detect_public_marks(rgb: npt.NDArray[np.uint8]) -> list[PublicMarkDetection]:
    """Match an ``(h, w, 3)`` uint8 RGB image against every known public mark.

    Images under 256 x 256 pixels (the package's own minimum) give an empty list.
    """
    if rgb.ndim != 3 or rgb.shape[0] * rgb.shape[1] < 256 * 256:
        return []
    # the true channel order (RGB converted as RGB), and diffusers' RGB handed over as BGR
    orders = [_votes(rgb, cv2.COLOR_RGB2YUV), _votes(rgb, cv2.COLOR_BGR2YUV)]
    results = []
    for mark in PUBLIC_MARKS:
        expected = np.array(mark.bits, dtype=bool)
        matched = max(int(np.sum(_bits(votes, len(expected)) == expected)) for votes in orders)
        p = min(1.0, 2.0 * float(binom.sf(matched - 1, len(expected), 0.5)))
        results.append(PublicMarkDetection(mark.name, mark.generator, matched, len(expected), p, p <= DECISION_P))
    return results
