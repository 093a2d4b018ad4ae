"""Image files: every format and mode in and out, metadata kept, bad input refused cleanly."""

from __future__ import annotations

import io
import struct
import zlib
from pathlib import Path

import cv2
import numpy as np
import pytest
from PIL import Image

from watermark.errors import InvalidInput, PayloadTooLarge, UnsupportedMedia
from watermark.image import ImageWatermarkDetector, ImageWatermarker, detect_file, read_image, watermark_file


def _encode(im: Image.Image, fmt: str, **kw: object) -> bytes:
    buf = io.BytesIO()
    im.save(buf, fmt, **kw)
    return buf.getvalue()


@pytest.fixture(scope="module")
def base(coffee: np.ndarray) -> Image.Image:
    return Image.fromarray(coffee)  # 600 x 400


CASES = {
    "jpeg": ("JPEG", "RGB", lambda b: _encode(b, "JPEG", quality=92)),
    "png-rgba": ("PNG", "RGBA", lambda b: _encode(b.convert("RGBA"), "PNG")),
    "png-grey": ("PNG", "L", lambda b: _encode(b.convert("L"), "PNG")),
    "png-grey-alpha": ("PNG", "LA", lambda b: _encode(b.convert("LA"), "PNG")),
    "webp": ("WEBP", "RGB", lambda b: _encode(b, "WEBP", quality=90)),
    "tiff": ("TIFF", "RGB", lambda b: _encode(b, "TIFF")),
    "bmp": ("BMP", "RGB", lambda b: _encode(b, "BMP")),
    "gif-palette": ("PNG", "RGB", lambda b: _encode(b.convert("P"), "GIF")),
    "png-16bit-grey": (
        "PNG",
        "I;16",
        lambda b: _encode(Image.fromarray(np.asarray(b.convert("L")).astype(np.uint16) * 257), "PNG"),
    ),
    "jpeg-cmyk": ("JPEG", "CMYK", lambda b: _encode(b.convert("CMYK"), "JPEG", quality=95)),
}


@pytest.mark.parametrize("case", list(CASES))
def test_formats_and_modes_round_trip(
    case: str, base: Image.Image, marker: ImageWatermarker, detector: ImageWatermarkDetector
) -> None:
    fmt, mode, make = CASES[case]
    marked = watermark_file(make(base), marker, record_id=99)
    out = Image.open(io.BytesIO(marked.data))
    assert (out.format, out.mode, out.size) == (fmt, mode, base.size)
    assert marked.mime_type == f"image/{fmt.lower()}" and marked.psnr >= 41.5
    d = detect_file(marked.data, detector)
    assert d.found and d.payload is not None and d.payload.record_id == 99


def test_16_bit_colour_keeps_its_depth(
    base: Image.Image, marker: ImageWatermarker, detector: ImageWatermarkDetector
) -> None:
    rgb16 = np.asarray(base)[..., ::-1].astype(np.uint16) * 257
    marked = watermark_file(cv2.imencode(".png", rgb16)[1].tobytes(), marker, record_id=5)
    back = cv2.imdecode(np.frombuffer(marked.data, np.uint8), cv2.IMREAD_UNCHANGED)
    assert back.dtype == np.uint16 and back.shape == rgb16.shape
    assert np.abs(back.astype(float) - rgb16).mean() > 0  # changed, in 16-bit units
    assert detect_file(marked.data, detector).found


def test_alpha_and_metadata_are_kept(base: Image.Image, marker: ImageWatermarker) -> None:
    rgba = base.convert("RGBA")
    alpha = np.asarray(rgba)[..., 3].copy()
    alpha[:50] = 0
    rgba.putalpha(Image.fromarray(alpha))
    from PIL import PngImagePlugin

    info = PngImagePlugin.PngInfo()
    info.add_text("Description", "kept")
    out = Image.open(io.BytesIO(watermark_file(_encode(rgba, "PNG", pnginfo=info), marker, record_id=1).data))
    assert np.array_equal(np.asarray(out)[..., 3], alpha)
    assert out.text.get("Description") == "kept"  # type: ignore[attr-defined]


def test_exif_orientation_is_applied(
    base: Image.Image, marker: ImageWatermarker, detector: ImageWatermarkDetector
) -> None:
    exif = Image.Exif()
    exif[0x0112] = 6  # rotate 90 CW to display
    data = _encode(base, "JPEG", quality=95, exif=exif.tobytes())
    marked = watermark_file(data, marker, record_id=3)
    out = Image.open(io.BytesIO(marked.data))
    assert out.size == (base.size[1], base.size[0])  # written upright
    assert out.getexif().get(0x0112, 1) == 1
    assert detect_file(marked.data, detector).found


def _png_with_size(width: int, height: int) -> bytes:
    """A syntactically valid PNG header claiming ``width x height`` with almost no data (a bomb)."""
    ihdr = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    chunk = b"IHDR" + ihdr
    idat = zlib.compress(b"\x00" * 64)
    return (
        b"\x89PNG\r\n\x1a\n"
        + struct.pack(">I", len(ihdr)) + chunk + struct.pack(">I", zlib.crc32(chunk))
        + struct.pack(">I", len(idat)) + b"IDAT" + idat + struct.pack(">I", zlib.crc32(b"IDAT" + idat))
        + struct.pack(">I", 0) + b"IEND" + struct.pack(">I", zlib.crc32(b"IEND"))
    )  # fmt: skip


def test_bad_input_gets_typed_errors(
    base: Image.Image, marker: ImageWatermarker, detector: ImageWatermarkDetector
) -> None:
    with pytest.raises(InvalidInput):
        read_image(b"")
    with pytest.raises(UnsupportedMedia):
        read_image(b"this is not an image at all")
    with pytest.raises(PayloadTooLarge):
        read_image(_png_with_size(30_000, 30_000))
    png = _encode(base, "PNG")
    with pytest.raises(InvalidInput, match="corrupt or truncated"):
        read_image(png[: len(png) // 2])
    frames = [base.convert("P"), base.rotate(10).convert("P")]
    buf = io.BytesIO()
    frames[0].save(buf, "GIF", save_all=True, append_images=frames[1:])
    with pytest.raises(UnsupportedMedia, match="animated"):
        read_image(buf.getvalue())
    with pytest.raises(UnsupportedMedia, match="mode 1"):
        read_image(_encode(base.convert("1"), "PNG"))
    one = _encode(Image.new("RGB", (1, 1)), "PNG")
    with pytest.raises(InvalidInput, match="256 px"):
        watermark_file(one, marker)
    assert detect_file(one, detector).to_dict()["verdict"] == "too-small"
    with pytest.raises(PayloadTooLarge):
        read_image(png, max_pixels=1000)


def test_malformed_files_found_by_fuzzing_are_invalid_input() -> None:
    """eval/fuzz.py's crashes, kept: each must be a documented error (a TIFF page without dimensions
    made Pillow raise TypeError from ``n_frames``, which reached the service as a 500)."""
    folder = Path(__file__).resolve().parents[2] / "data" / "fuzz"
    files = sorted(folder.iterdir())
    assert files
    for path in files:
        with pytest.raises(InvalidInput):
            read_image(path.read_bytes())
