"""The video mark on frames: the image mark's low-band copy (the same keyed tile, payload and code
as images, with its energy in the band's lowest rings, which video codecs keep), computed once
for a video's size and added to every frame's luminance unchanged.

One pattern for every frame is what makes the mark still: nothing in it moves or changes from
frame to frame, so it cannot flicker, and marking costs one addition per pixel. Its RMS is set
by ``psnr`` (40 dB after rounding, by default) and lowered where the first frame's SSIM (after
rounding) would fall under ``SSIM_FLOOR`` (flat animation); the same change goes on R, G and B
(hue and saturation untouched).
"""

from __future__ import annotations

from dataclasses import dataclass

import cv2
import numpy as np
import numpy.typing as npt

from ..errors import InvalidInput
from ..image import ecc
from ..image.embed import MIN_SIDE, low_band_pattern
from ..image.layout import layout_for_key
from ..image.payload import Payload
from ..image.quality import SsimReference
from ..keys import KeyRing

__all__ = ["DEFAULT_VIDEO_PSNR", "SSIM_FLOOR", "FramePlan", "VideoMarker"]

DEFAULT_VIDEO_PSNR = 40.5  # 40 dB after rounding to 8 bits
SSIM_FLOOR = 0.98
FloatArray = npt.NDArray[np.float64]


@dataclass(frozen=True)
class FramePlan:
    """The change every frame of one video gets, and what it carries."""

    delta: npt.NDArray[np.float32]  # (h, w) luminance change, in 8-bit levels
    key_id: str
    payload: Payload

    def apply(self, frame: npt.NDArray[np.uint8]) -> npt.NDArray[np.uint8]:
        """An ``(h, w, 3)`` 8-bit RGB frame with the mark added (rounded, clipped)."""
        if frame.shape[:2] != self.delta.shape:
            raise InvalidInput(f"frame is {frame.shape[1]}x{frame.shape[0]}, the plan is for another size")
        out = frame.astype(np.float32) + self.delta[..., None]
        marked: npt.NDArray[np.uint8] = np.clip(np.rint(out), 0, 255).astype(np.uint8)
        return marked

    def luma_step(self, full_range: bool) -> npt.NDArray[np.int16]:
        """The change as whole steps of a YUV frame's luma plane (limited range: 219 levels for
        RGB's 255). Adding it to Y is the RGB change without two colour conversions a frame."""
        scale = np.float32(1.0 if full_range else 219.0 / 255.0)
        step: npt.NDArray[np.int16] = np.rint(self.delta * scale).astype(np.int16)
        return step

    def luma_steps(self, full_range: bool) -> tuple[npt.NDArray[np.uint8], npt.NDArray[np.uint8]]:
        """:meth:`luma_step` split into what is added and what is taken away, 8 bits each, for
        :meth:`apply_luma`."""
        step = self.luma_step(full_range)
        return np.clip(step, 0, 255).astype(np.uint8), np.clip(-step, 0, 255).astype(np.uint8)

    @staticmethod
    def apply_luma(
        plane: npt.NDArray[np.uint8], steps: tuple[npt.NDArray[np.uint8], npt.NDArray[np.uint8]]
    ) -> npt.NDArray[np.uint8]:
        """A luma plane with :meth:`luma_steps` added, clipped to 8 bits: two saturating 8-bit
        operations (the same result as adding the signed step and clipping, a third of the time)."""
        up, down = steps
        out: npt.NDArray[np.uint8] = np.asarray(cv2.subtract(cv2.add(plane, up), down), dtype=np.uint8)
        return out


class VideoMarker:
    """Plans the mark of a key ring's key for videos of a given size."""

    def __init__(self, keyring: KeyRing, *, psnr: float = DEFAULT_VIDEO_PSNR) -> None:
        if not 30.0 <= psnr <= 60.0:
            raise ValueError(f"psnr must be within [30, 60] dB, got {psnr}")
        self.keyring = keyring
        self.psnr = psnr

    def plan(self, first: npt.NDArray[np.uint8], *, record_id: int, key_id: str | None = None) -> FramePlan:
        """The mark for frames the size of ``first`` (an ``(h, w, 3)`` 8-bit RGB frame whose SSIM
        caps the amplitude) carrying ``record_id``.

        Raises:
            InvalidInput: frames below ``MIN_SIDE`` on the short side, a record id out of range.
            UnknownKey: ``key_id`` is not in the ring.
        """
        height, width = first.shape[:2]
        if min(height, width) < MIN_SIDE:
            raise InvalidInput(f"videos need at least {MIN_SIDE} px on the short side to carry a mark")
        key = self.keyring.get(key_id) if key_id else self.keyring.active
        payload = Payload.for_key(key.key_id, record_id)
        coded = ecc.encode(ecc.with_crc(payload.to_bytes()))
        rms = 255.0 * 10.0 ** (-self.psnr / 20.0)
        delta = low_band_pattern(layout_for_key(key), coded, height, width) * np.float32(rms)
        reference = SsimReference(first, peak=255.0)
        for _ in range(6):  # SSIM's loss grows about as the square of the change
            score = reference.mean_ssim(FramePlan(delta, key.key_id, payload).apply(first))
            if score >= SSIM_FLOOR:
                break
            delta = delta * np.float32(np.sqrt((1.0 - SSIM_FLOOR) / max(1.0 - score, 1e-9)) * 0.97)
        return FramePlan(delta, key.key_id, payload)
