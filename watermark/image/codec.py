"""Read image files into float pixels and write marked pixels back in the input's format and mode.

What is read: JPEG, PNG, WebP, TIFF, BMP and single-frame GIF; modes L, LA, RGB, RGBA, CMYK,
P/PA (palette), I;16 (16-bit grey) and 16-bit RGB(A) PNG/TIFF. Pixel counts are checked from
the header *before* anything is decoded, so a decompression bomb costs a few bytes of parsing.

Documented behaviours:
- EXIF orientation is applied: pixels are marked as displayed and written upright with the
  Orientation tag reset, so a platform that bakes the rotation in keeps the mark aligned.
- Palette images (GIF, palette PNG) come back as PNG in RGB(A): re-quantising to a palette
  would erase an invisible mark.
- JPEG is re-encoded at quality 95 with the input's chroma subsampling; WebP at quality 95.
- Alpha is passed through untouched; ICC profile, EXIF, DPI and PNG text chunks are kept.
- Animated images, bilevel (mode 1) and floating-point images are refused with
  :class:`UnsupportedMedia`.
"""

from __future__ import annotations

import io
import struct
import warnings
from dataclasses import dataclass, field
from typing import Any

import cv2
import numpy as np
import numpy.typing as npt
from PIL import Image, ImageOps, JpegImagePlugin, PngImagePlugin, UnidentifiedImageError

from ..errors import InvalidInput, PayloadTooLarge, UnsupportedMedia
from .quality import PixelArray

__all__ = [
    "DEFAULT_MAX_PIXELS",
    "MIME_TYPES",
    "SUFFIXES",
    "ImageHeader",
    "Raster",
    "read_header",
    "read_image",
    "sniff_mime_type",
    "write_image",
]

DEFAULT_MAX_PIXELS = 50_000_000
_ROWS = 512  # rows converted at a time where a whole-image float copy is not needed
MIME_TYPES = {
    "JPEG": "image/jpeg",
    "PNG": "image/png",
    "WEBP": "image/webp",
    "TIFF": "image/tiff",
    "BMP": "image/bmp",
    "GIF": "image/gif",
}
_CONVERT_TO_RGB = {"CMYK", "YCbCr", "LAB", "HSV", "RGBX"}

FloatArray = npt.NDArray[np.float32]


@dataclass
class Raster:
    """Decoded pixels plus what is needed to write them back the way they came.

    Attributes:
        pixels: ``(h, w)`` grey or ``(h, w, 3)`` RGB float32 in ``[0, peak]``, no alpha (read with
            ``native=True``: the decoder's 8- or 16-bit integers, for checks that only read them).
        alpha: the alpha plane in its native dtype, or ``None``.
        peak: 255.0 or 65535.0.
        format: the input's format (``"JPEG"``, ``"PNG"``, ...).
        mode: the input's mode after orientation (``"RGB"``, ``"I;16"``, ``"RGB;16"`` ...).
    """

    pixels: PixelArray
    alpha: npt.NDArray[Any] | None
    peak: float
    format: str
    mode: str
    save_options: dict[str, Any] = field(default_factory=dict)

    @property
    def output_format(self) -> str:
        """The format marked pixels are written in (palette inputs become PNG)."""
        return "PNG" if self.mode in ("P", "PA") else self.format

    @property
    def mime_type(self) -> str:
        """MIME type of the written output."""
        return MIME_TYPES[self.output_format]

    def rgb8(self) -> npt.NDArray[np.uint8]:
        """The pixels as ``(h, w, 3)`` 8-bit RGB (grey replicated), e.g. for 8-bit-only decoders."""
        if self.pixels.dtype == np.uint8 and self.pixels.ndim == 3:
            return self.pixels  # type: ignore[return-value]  # read natively: already 8-bit RGB
        h, w = self.pixels.shape[:2]
        out = np.empty((h, w, 3), dtype=np.uint8)
        scale = np.float32(255.0 / self.peak)
        for y in range(0, h, _ROWS):  # a band at a time: no float copy of the whole image
            band = self.pixels[y : y + _ROWS]
            out[y : y + _ROWS] = np.rint(band * scale)[..., None] if band.ndim == 2 else np.rint(band * scale)
        return out


# What Pillow raises on malformed files besides OSError (found by eval/fuzz.py: a TIFF whose second
# page has no dimensions raises TypeError from ``n_frames``).
_MALFORMED = (OSError, SyntaxError, ValueError, TypeError, KeyError, IndexError, EOFError, struct.error)


def _open(data: bytes, max_pixels: int) -> Image.Image:
    if not data:
        raise InvalidInput("the image is empty")
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            im = Image.open(io.BytesIO(data))
    except (Image.DecompressionBombError, Image.DecompressionBombWarning) as exc:
        raise PayloadTooLarge(f"the image has more than {max_pixels:,} pixels") from exc
    except UnidentifiedImageError as exc:
        raise UnsupportedMedia("not an image format Assay reads (JPEG, PNG, WebP, TIFF, BMP, GIF)") from exc
    except _MALFORMED as exc:
        raise InvalidInput(f"the image header is corrupt: {exc}") from exc
    if im.format not in MIME_TYPES:
        raise UnsupportedMedia(f"{im.format} images are not supported (JPEG, PNG, WebP, TIFF, BMP, GIF are)")
    width, height = im.size
    if width * height > max_pixels:
        raise PayloadTooLarge(f"the image is {width}x{height} = {width * height:,} pixels; the limit is {max_pixels:,}")
    if width < 1 or height < 1:
        raise InvalidInput("the image has no pixels")
    try:
        frames = getattr(im, "n_frames", 1)  # walks every frame's header (TIFF pages, GIF frames)
    except _MALFORMED as exc:
        raise InvalidInput(f"the image header is corrupt: {exc}") from exc
    if frames > 1:
        raise UnsupportedMedia("animated images are not supported: extract the frame to check")
    return im


def _is_16bit_colour(im: Image.Image, data: bytes) -> bool:
    if im.mode not in ("RGB", "RGBA"):
        return False
    if im.format == "PNG":
        return len(data) > 25 and data[24] == 16
    if im.format == "TIFF":
        bits = im.tag_v2.get(258) if hasattr(im, "tag_v2") else None
        return bool(bits) and max(bits if isinstance(bits, tuple) else (bits,)) == 16
    return False


def _save_options(im: Image.Image) -> dict[str, Any]:
    opts: dict[str, Any] = {}
    for name in ("icc_profile", "dpi", "compression"):
        if name in im.info:
            opts[name] = im.info[name]
    exif = im.getexif()
    if len(exif):
        opts["exif"] = exif.tobytes()
    if im.format == "JPEG":
        opts["quality"] = 95
        sampling = JpegImagePlugin.get_sampling(im)
        if sampling != -1:
            opts["subsampling"] = sampling
    elif im.format == "WEBP":
        opts["quality"] = 95
    text: dict[str, str] = getattr(im, "text", None) or {}
    if im.format == "PNG" and text:
        info = PngImagePlugin.PngInfo()
        for k, v in text.items():
            info.add_text(k, v)
        opts["pnginfo"] = info
    return opts


def _read_16bit_colour(data: bytes, fmt: str, native: bool) -> Raster:
    arr = cv2.imdecode(np.frombuffer(data, np.uint8), cv2.IMREAD_UNCHANGED)
    if arr is None or arr.dtype != np.uint16:
        raise InvalidInput("the 16-bit image is corrupt or truncated")
    wide: npt.NDArray[np.uint16] = np.asarray(arr[..., 2::-1], dtype=np.uint16)  # a view: no copy
    rgb: PixelArray = wide if native else wide.astype(np.float32)
    alpha = arr[..., 3].copy() if arr.shape[2] == 4 else None
    return Raster(rgb, alpha, 65535.0, fmt, "RGBA;16" if alpha is not None else "RGB;16")


# Peak memory over a warm process, measured (traced allocations from 0.25 to 16.8 MP, resident
# memory at 16.8 and 49 MP): checking an image (read at native precision, the detector's working
# frames, the public marks' bands) holds about 14 MiB plus 9-12 bytes a pixel, grey or colour;
# marking (native pixels, float32 masks and the two copies of the mark, the change being judged,
# the encoder) 26 bytes a pixel for grey, 39 for colour, 48 for 16-bit colour (16.8 MP, 4.2 MP).
# Counted with a margin, per channel and byte of sample:
_CHECK_BYTES = (32 << 20, 8, 2)  # fixed bytes; bytes a pixel; and more per channel and byte of sample
_MARK_BYTES = (8 << 20, 28, 5)


@dataclass(frozen=True)
class ImageHeader:
    """What an image file's header says, read without decoding its pixels."""

    mime_type: str
    width: int
    height: int
    output_mime_type: str  # what :func:`write_image` gives a marked copy (palette images become PNG)
    channels: int = 3  # colour planes as decoded (1: grey; alpha not counted)
    sample_bytes: int = 1  # 2 for 16-bit images

    @property
    def pixels(self) -> int:
        """Width times height."""
        return self.width * self.height

    @property
    def check_bytes(self) -> int:
        """Memory that reading this image for a check holds at its peak (see ``_CHECK_BYTES``)."""
        return self._cost(*_CHECK_BYTES)

    @property
    def mark_bytes(self) -> int:
        """Memory that watermarking this image holds at its peak (see ``_MARK_BYTES``)."""
        return self._cost(*_MARK_BYTES)

    def _cost(self, fixed: int, per_pixel: int, per_sample: int) -> int:
        return fixed + self.pixels * (per_pixel + per_sample * self.channels * self.sample_bytes)


def read_header(data: bytes, *, max_pixels: int = DEFAULT_MAX_PIXELS) -> ImageHeader:
    """The header of an image file; same checks and errors as :func:`read_image` up to the decode."""
    im = _open(data, max_pixels)
    fmt = str(im.format)
    width, height = im.size
    grey = im.mode in ("L", "LA", "I", "I;16", "I;16B", "I;16L", "I;16N")
    wide = im.mode.startswith("I") or im.mode.endswith(";16") or _is_16bit_colour(im, data)
    return ImageHeader(
        MIME_TYPES[fmt],
        width,
        height,
        MIME_TYPES["PNG" if im.mode in ("P", "PA") else fmt],
        channels=1 if grey else 3,
        sample_bytes=2 if wide else 1,
    )


def sniff_mime_type(data: bytes, *, max_pixels: int = DEFAULT_MAX_PIXELS) -> str:
    """The media type of an image file from its header alone (see :func:`read_header`)."""
    return read_header(data, max_pixels=max_pixels).mime_type


SUFFIXES = {
    "image/jpeg": (".jpg", ".jpeg"),
    "image/png": (".png",),
    "image/webp": (".webp",),
    "image/tiff": (".tif", ".tiff"),
    "image/bmp": (".bmp",),
    "image/gif": (".gif",),
}


def read_image(data: bytes, *, max_pixels: int = DEFAULT_MAX_PIXELS, native: bool = False) -> Raster:
    """Decode an image file (``native``: keep the decoder's integers instead of float32, a quarter
    of the memory; checks and marking both work on them).

    Raises:
        InvalidInput: empty, corrupt or truncated data.
        UnsupportedMedia: not a supported format, animated, bilevel or floating point.
        PayloadTooLarge: more than ``max_pixels`` pixels (checked before decoding).
    """
    im = _open(data, max_pixels)
    fmt = str(im.format)
    try:
        if _is_16bit_colour(im, data):
            return _read_16bit_colour(data, fmt, native)
        options = _save_options(im)
        im.load()
        im = ImageOps.exif_transpose(im) or im
        if "exif" in options:
            options["exif"] = im.getexif().tobytes()
    except (*_MALFORMED, cv2.error) as exc:
        raise InvalidInput(f"the image is corrupt or truncated: {exc}") from exc
    mode = im.mode
    if mode in ("1", "F"):
        raise UnsupportedMedia(f"mode {mode} images cannot carry an invisible watermark")
    if mode in ("P", "PA"):
        im = im.convert("RGBA" if (mode == "PA" or "transparency" in im.info) else "RGB")
        options = {k: v for k, v in options.items() if k in ("icc_profile", "dpi", "exif")}
    elif mode in _CONVERT_TO_RGB:
        im = im.convert("RGB")
    arr = np.asarray(im)
    alpha: npt.NDArray[Any] | None = None
    if im.mode in ("LA", "RGBA"):
        alpha = arr[..., -1].copy()
        arr = arr[..., :-1]
        if im.mode == "LA":
            arr = arr[..., 0]
    peak = 65535.0 if arr.dtype in (np.uint16, np.int32) else 255.0
    if arr.dtype == np.int32:
        arr = np.clip(arr, 0, 65535).astype(np.uint16)
    return Raster(arr if native else np.asarray(arr, dtype=np.float32), alpha, peak, fmt, mode, options)


def write_image(raster: Raster, pixels: PixelArray) -> bytes:
    """Encode ``pixels`` (same shape as ``raster.pixels``; integers are written as they are, floats
    rounded and clipped) in the raster's output format and mode."""
    if pixels.shape != raster.pixels.shape:
        raise ValueError(f"pixels have shape {pixels.shape}, the raster {raster.pixels.shape}")
    dtype = np.uint16 if raster.peak > 255 else np.uint8
    arr = pixels if pixels.dtype == dtype else np.rint(np.clip(pixels, 0, raster.peak)).astype(dtype)
    if raster.mode in ("RGB;16", "RGBA;16"):
        out = arr[..., ::-1]
        if raster.alpha is not None:
            out = np.dstack([out, raster.alpha])
        ok, buf = cv2.imencode(".png" if raster.format == "PNG" else ".tiff", out)
        if not ok:
            raise InvalidInput("could not encode the 16-bit image")
        return bytes(buf.tobytes())
    if raster.alpha is not None:
        arr = np.dstack([arr, raster.alpha])
    im = Image.fromarray(arr)
    if raster.mode == "CMYK":
        im = im.convert("CMYK")
    buf_io = io.BytesIO()
    im.save(buf_io, format=raster.output_format, **raster.save_options)
    return buf_io.getvalue()
