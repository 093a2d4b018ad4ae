"""Wrap any video generator so that every video it returns comes back watermarked.

A generator is any callable. Supported outputs, returned in the same type and layout:

- one video as a numpy array ``(frames, h, w, 3)`` or a batch ``(n, frames, h, w, 3)``, uint8 or
  float in [0, 1];
- one video as a list or tuple of frames (``(h, w, 3)`` arrays or RGB ``PIL.Image.Image``), or a
  batch as a list of such lists (what ``diffusers`` video pipelines return in ``frames``);
- an iterator of frames, marked lazily as the caller reads them (the payload is known once the
  first frame is out);
- objects with a ``frames`` attribute holding any of the above (replaced in place).

Each video gets one record id (from ``record_ids``, random by default) and one plan: the same
change on every frame (:mod:`.embed`). ``on_marked`` is called once per video with its payload
and its marked frames (not for iterators, whose frames the caller holds), which is where the
caller encodes the video (:func:`encode_video`), signs a C2PA manifest soft-bound to the payload
and records it, so a stripped, re-encoded copy leads back to its credentials.
"""

from __future__ import annotations

import io
from collections.abc import Callable, Iterable, Iterator, Sequence
from typing import Any

import av
import numpy as np
import numpy.typing as npt
from PIL import Image

from ..errors import InvalidInput
from ..image.generate import MarkingWrapper
from ..image.payload import Payload
from .embed import FramePlan, VideoMarker
from .files import H264_OPTIONS

__all__ = ["WatermarkingVideoGenerator", "encode_video"]

U8 = npt.NDArray[np.uint8]
OnMarked = Callable[[Payload, Sequence[U8]], None]


def encode_video(frames: Iterable[U8], *, fps: float = 24.0, crf: int = 18) -> bytes:
    """``(h, w, 3)`` uint8 RGB frames as an H.264 MP4 (CRF ``crf``, a quality that keeps the mark's
    PSNR), ready to be signed.

    Raises:
        InvalidInput: no frames, frames of different sizes, or an odd frame size H.264 cannot take.
    """
    out = io.BytesIO()
    with av.open(out, "w", format="mp4") as dst:
        stream = None
        for frame in frames:
            if stream is None:
                height, width = frame.shape[:2]
                if width % 2 or height % 2:
                    raise InvalidInput(f"H.264 needs an even frame size, got {width}x{height}")
                options = {**H264_OPTIONS, "crf": str(crf)}  # marking's own H.264 settings, at this quality
                stream = dst.add_stream("libx264", rate=round(fps), options=options)
                assert isinstance(stream, av.VideoStream)
                stream.width, stream.height, stream.pix_fmt = width, height, "yuv420p"
            if frame.shape[:2] != (stream.height, stream.width):
                raise InvalidInput("every frame of a video must have the same size")
            for packet in stream.encode(av.VideoFrame.from_ndarray(np.ascontiguousarray(frame), format="rgb24")):
                dst.mux(packet)
        if stream is None:
            raise InvalidInput("a video needs at least one frame")
        for packet in stream.encode(None):
            dst.mux(packet)
    return out.getvalue()


class WatermarkingVideoGenerator(MarkingWrapper[VideoMarker, OnMarked]):
    """Call ``generator`` and watermark every video it returns."""

    def _mark(self, out: Any) -> Any:
        if hasattr(out, "frames") and not isinstance(out, np.ndarray | list | tuple):
            out.frames = self._mark(out.frames)
            return out
        if isinstance(out, np.ndarray):
            if out.ndim == 5:
                return np.stack([self._mark_array(video) for video in out])
            return self._mark_array(out)
        if isinstance(out, list | tuple):
            if out and isinstance(out[0], list | tuple | np.ndarray) and _is_video(out[0]):
                return type(out)(self._mark(video) for video in out)
            return type(out)(self._mark_frames(list(out)))
        if isinstance(out, Iterator):
            return self._mark_lazily(out)
        raise InvalidInput(f"cannot watermark a generator output of type {type(out).__name__}")

    def _plan(self, first: U8) -> FramePlan:
        plan = self.marker.plan(first, record_id=self.record_ids(), key_id=self.key_id)
        self.payloads.append(plan.payload)
        return plan

    def _mark_array(self, video: npt.NDArray[Any]) -> npt.NDArray[Any]:
        if video.ndim != 4 or video.shape[3] != 3 or len(video) == 0:
            raise InvalidInput(f"expected a (frames, h, w, 3) video, got shape {video.shape}")
        is_float = np.issubdtype(video.dtype, np.floating)
        if not is_float and video.dtype != np.uint8:
            raise InvalidInput(f"expected uint8 or float frames, got {video.dtype}")
        frames = [_to_u8(f) for f in video]
        marked = self._mark_frames(frames)
        stacked = np.stack(marked)
        return (stacked / 255.0).astype(video.dtype) if is_float else stacked

    def _mark_frames(self, frames: list[Any]) -> list[Any]:
        if not frames:
            raise InvalidInput("a video needs at least one frame")
        pil = isinstance(frames[0], Image.Image)
        pixels = [_to_u8(f) for f in frames]
        plan = self._plan(pixels[0])
        marked = [plan.apply(f) for f in pixels]
        if self.on_marked is not None:
            self.on_marked(plan.payload, marked)
        return [Image.fromarray(m) for m in marked] if pil else marked

    def _mark_lazily(self, frames: Iterator[Any]) -> Iterator[U8]:
        plan: FramePlan | None = None
        for frame in frames:
            pixels = _to_u8(frame)
            if plan is None:
                plan = self._plan(pixels)
            yield plan.apply(pixels)


def _is_video(item: Any) -> bool:
    """Whether a list item is a whole video (a list of frames, or a 4-d array) rather than a frame."""
    return isinstance(item, list | tuple) or (isinstance(item, np.ndarray) and item.ndim == 4)


def _to_u8(frame: Any) -> U8:
    """An ``(h, w, 3)`` uint8 RGB frame from a PIL image or an array (uint8, or float in [0, 1]).

    Raises:
        InvalidInput: anything else.
    """
    if isinstance(frame, Image.Image):
        frame = np.asarray(frame.convert("RGB"))
    if not isinstance(frame, np.ndarray) or frame.ndim != 3 or frame.shape[2] != 3:
        raise InvalidInput(f"expected (h, w, 3) RGB frames, got {getattr(frame, 'shape', type(frame).__name__)}")
    if np.issubdtype(frame.dtype, np.floating):
        return np.clip(np.rint(frame * 255.0), 0, 255).astype(np.uint8)
    if frame.dtype != np.uint8:
        raise InvalidInput(f"expected uint8 or float frames, got {frame.dtype}")
    return frame
