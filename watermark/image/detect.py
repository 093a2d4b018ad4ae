"""Mark pixel arrays with a key ring key, and detect marks with an exact false-positive bound.

Detection tries the geometry of an untouched image first; only when that fails does it search
the geometry, any linear map: rotation, scale, aspect change, shear (:mod:`watermark.image.sync`).
For each key and geometry whose pilot rises above noise a list Viterbi decoder proposes its
``list_size`` most likely messages; each proposal is one *decode*, checked on 48 bits (CRC-32,
version, key tag). Under the null "this image was not marked with this key" each decode passes
with probability exactly ``2**-48`` (:mod:`watermark.image.ecc`), so after ``d`` decodes over all
keys and candidate geometries the p-value of a passing decode is at most ``d * 2**-48`` (a union
bound, conservative). A mark is *found* when that bound is at or below the configured
false-positive rate.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

import numpy as np
import numpy.typing as npt

from ..errors import InvalidInput
from ..keys import KeyRing, WatermarkKey
from . import ecc
from .embed import MIN_SIDE, PixelArray, embed_pixels, luma
from .layout import TileLayout, layout_for_key
from .payload import CHECKED_BITS, Payload, key_tag
from .sync import (
    Alignment,
    Geometry,
    align,
    autocorrelation,
    detection_frame,
    distinct,
    fold,
    pilot_z,
    polish,
    search_geometry,
    untouched_geometry,
    upright_axes,
    whiten,
)

__all__ = [
    "DEFAULT_FPR",
    "DEFAULT_PSNR",
    "MIN_DETECT_SIDE",
    "MIN_PILOT_Z",
    "ImageDetection",
    "ImageWatermarkDetector",
    "ImageWatermarker",
]

DEFAULT_PSNR = 42.3
DEFAULT_FPR = 1e-6
MIN_DETECT_SIDE = 128
_NULL_PASS = 2.0**-CHECKED_BITS
# A geometry whose pilot correlation is no higher than noise reaches is not decoded: the best of
# 128 x 128 shifts scored z <= 4.99 on unmarked images (12 images x 6 geometric attacks, 95th
# percentile 4.84), and the data bits, three times the pilot's energy spread over 306 bits, are
# then far below what the code corrects. Skipping changes no decision's bound (fewer decodes).
MIN_PILOT_Z = 5.0
_DECODE_UNPOLISHED_Z = 12.0

FloatArray = npt.NDArray[np.float32]
F64 = npt.NDArray[np.float64]


class ImageWatermarker:
    """Embed a key ring key's watermark carrying a payload into pixel arrays."""

    def __init__(self, keyring: KeyRing, *, psnr: float = DEFAULT_PSNR) -> None:
        if not 30.0 <= psnr <= 60.0:
            raise ValueError(f"psnr must be within [30, 60] dB, got {psnr}")
        self.keyring = keyring
        self.psnr = psnr

    def mark_pixels(
        self, pixels: PixelArray, *, peak: float, record_id: int, key_id: str | None = None
    ) -> tuple[PixelArray, Payload]:
        """Watermark ``(h, w)`` grey or ``(h, w, 3)`` RGB pixels in ``[0, peak]``: 8- or 16-bit
        integers (marked in their own dtype) or float32 (see :func:`embed_pixels`).

        Raises:
            InvalidInput: the short side is below ``MIN_SIDE`` or the record id is out of range.
            UnknownKey: ``key_id`` is not in the key ring.
        """
        if min(pixels.shape[:2]) < MIN_SIDE:
            h, w = pixels.shape[:2]
            raise InvalidInput(
                f"images need at least {MIN_SIDE} px on the short side to carry a watermark, got {w}x{h}"
            )
        key = self.keyring.get(key_id) if key_id else self.keyring.active
        payload = Payload.for_key(key.key_id, record_id)
        coded = ecc.encode(ecc.with_crc(payload.to_bytes()))
        marked = embed_pixels(pixels, layout_for_key(key), coded, psnr=self.psnr, peak=peak)
        return marked, payload


@dataclass(frozen=True)
class ImageDetection:
    """The outcome of looking for Assay image watermarks with a key ring.

    ``p_value`` bounds the chance that an image not marked with any tried key gives a decode this
    good; it is 1.0 when nothing decoded.
    """

    found: bool
    p_value: float
    fpr: float
    decodes: int
    searched: bool
    key_id: str | None = None
    payload: Payload | None = None
    bit_accuracy: float | None = None
    pilot_z: float | None = None
    geometry: dict[str, float] = field(default_factory=dict)
    reason: str | None = None
    # The geometries decoded at (the untouched one, then the polished candidates), for reading
    # other frames of the same video at them (``detect_pixels(at=...)``); not part of the report.
    tried: tuple[Geometry, ...] = field(default=(), repr=False, compare=False)

    def to_dict(self) -> dict[str, object]:
        """JSON-ready form."""
        return {
            "scheme": "assay-image-ss",
            "found": self.found,
            "verdict": "watermarked" if self.found else (self.reason or "not-detected"),
            "key_id": self.key_id,
            "payload": self.payload.to_dict() if self.payload else None,
            "p_value": self.p_value,
            "decided_at_fpr": self.fpr,
            "decodes": self.decodes,
            "geometry_searched": self.searched,
            "bit_accuracy": self.bit_accuracy,
            "pilot_z": self.pilot_z,
            "geometry": self.geometry,
        }


@dataclass
class _Attempt:
    on_decode: Callable[[bytes, int], None] | None = None
    decodes: int = 0
    hit: tuple[WatermarkKey, Payload, Alignment, float, Geometry] | None = None
    best_z: float = 0.0
    tried: list[Geometry] = field(default_factory=list)


class ImageWatermarkDetector:
    """Detect Assay image watermarks made with any key of a key ring."""

    def __init__(
        self,
        keyring: KeyRing,
        *,
        fpr: float = DEFAULT_FPR,
        candidates: int = 3,
        proposals: int = 16,
        list_size: int = 32,
    ) -> None:
        if not 0.0 < fpr < 1.0:
            raise ValueError(f"fpr must be in (0, 1), got {fpr}")
        if candidates < 1:
            raise ValueError(f"candidates must be >= 1, got {candidates}")
        if not 1 <= list_size <= 1024:
            raise ValueError(f"list_size must be in [1, 1024], got {list_size}")
        self.keyring = keyring
        self.fpr = fpr
        self.candidates = candidates
        self.proposals = proposals
        self.list_size = list_size
        self._layouts: list[tuple[WatermarkKey, TileLayout, int]] = [
            (k, layout_for_key(k), key_tag(k.key_id)) for k in keyring
        ]

    def restricted_to(self, key_id: str) -> ImageWatermarkDetector:
        """A detector that tries only ``key_id`` (fewer decodes, smaller p-values)."""
        key = self.keyring.get(key_id)  # UnknownKey if absent
        return ImageWatermarkDetector(
            KeyRing([key]),
            fpr=self.fpr,
            candidates=self.candidates,
            proposals=self.proposals,
            list_size=self.list_size,
        )

    def _decode(
        self, key: WatermarkKey, layout: TileLayout, tag: int, aligned: Alignment, geometry: Geometry, attempt: _Attempt
    ) -> bool:
        attempt.best_z = max(attempt.best_z, aligned.pilot_z)
        if geometry not in attempt.tried:
            attempt.tried.append(geometry)
        if aligned.pilot_z < MIN_PILOT_Z:
            return False
        soft = layout.soft_bits(aligned.spectrum)
        for rank, message in enumerate(ecc.viterbi_list(soft, self.list_size)):
            attempt.decodes += 1
            if attempt.on_decode is not None:
                attempt.on_decode(np.packbits(message).tobytes(), rank)
            payload = Payload.checked(ecc.crc_ok(message), tag)
            if payload is None:
                continue
            agreement = float(np.mean((soft > 0) == ecc.encode(message)))
            attempt.hit = (key, payload, aligned, agreement, geometry)
            return True
        return False

    def _search(self, residual: FloatArray, attempt: _Attempt) -> None:
        """Propose geometries from the autocorrelation, rank them by pilot z per key, polish, decode."""
        acf = autocorrelation(residual)
        proposals = distinct(upright_axes(acf, candidates=4) + search_geometry(acf, candidates=self.proposals))
        ranked: list[tuple[float, Geometry, F64, WatermarkKey, TileLayout, int]] = []
        for geometry in proposals:
            folded = fold(residual, geometry)
            for key, layout, tag in self._layouts:
                ranked.append((pilot_z(folded, layout)[0], geometry, folded, key, layout, tag))
        ranked.sort(key=lambda r: -r[0])
        for z, geometry, folded, key, layout, tag in ranked[: self.candidates]:
            # A strong pilot decodes as found (polishing costs more than a decode); a weak one
            # is polished first, and a strong one that failed gets its polish too.
            if z >= _DECODE_UNPOLISHED_Z:
                aligned = align(folded, layout)
                if self._decode(key, layout, tag, aligned, geometry, attempt):
                    return
            polished, aligned = polish(residual, geometry, layout)
            if self._decode(key, layout, tag, aligned, polished, attempt):
                return

    def detect_pixels(
        self,
        pixels: PixelArray,
        *,
        peak: float,
        on_decode: Callable[[bytes, int], None] | None = None,
        at: Sequence[Geometry] | None = None,
    ) -> ImageDetection:
        """Look for a mark in ``(h, w)`` grey or ``(h, w, 3)`` RGB pixels (float or integer) in ``[0, peak]``.

        Args:
            pixels: the image.
            peak: the largest representable value (255 for 8-bit, 65535 for 16-bit).
            on_decode: called with the 12 raw bytes of every decoded message and its rank in the
                decoder's list, for audits of the null distribution (``eval/image_watermark.py``).
            at: read only at these geometries (no search, no polish): a picture of the same size
                and distortion as one whose reading's ``tried`` gave them (another frame of one
                video; geometries are relative to the detection frame). Empty: the usual search.
        """
        height, width = pixels.shape[:2]
        if min(height, width) < MIN_DETECT_SIDE:
            return ImageDetection(found=False, p_value=1.0, fpr=self.fpr, decodes=0, searched=False, reason="too-small")
        y = luma(pixels, 255.0 / peak)
        frame, _ = detection_frame(y)
        residual = whiten(frame)
        attempt = _Attempt(on_decode=on_decode)
        untouched = untouched_geometry(height, width)
        searched = False
        for geometry in at or (untouched,):
            folded = fold(residual, geometry)
            if any(
                self._decode(k, layout, tag, align(folded, layout), geometry, attempt)
                for k, layout, tag in self._layouts
            ):
                break
        if attempt.hit is None and not at:
            searched = True
            self._search(residual, attempt)
        p_value = min(1.0, attempt.decodes * _NULL_PASS) if attempt.hit else 1.0
        if attempt.hit is None:
            return ImageDetection(
                found=False,
                p_value=1.0,
                fpr=self.fpr,
                decodes=attempt.decodes,
                searched=searched,
                pilot_z=attempt.best_z,
                tried=tuple(attempt.tried),
            )
        key, payload, aligned, agreement, geometry = attempt.hit
        return ImageDetection(
            found=p_value <= self.fpr,
            p_value=p_value,
            fpr=self.fpr,
            decodes=attempt.decodes,
            searched=searched,
            key_id=key.key_id,
            payload=payload,
            bit_accuracy=agreement,
            pilot_z=aligned.pilot_z,
            geometry={**(described := geometry.describe()), "angle": described["angle"] + 90.0 * aligned.quarter_turns},
            tried=tuple(attempt.tried),
        )
