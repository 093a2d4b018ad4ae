"""An explicit label people can see: a caption band drawn onto an image, its letters at least 5 %
of the image's short side tall (the prominence Chinese practice asks of image labels).

The pixels change, so this is done before any metadata label is written and before signing. The
caption's font is DejaVu Sans where the system has it, else Pillow's own; a caption with characters
the font lacks (Chinese, say) needs a font that has them (``font``), and is refused otherwise
rather than drawn as empty boxes.
"""

from __future__ import annotations

import io
import math
from pathlib import Path

from PIL import Image, ImageDraw, ImageFont, JpegImagePlugin

from watermark.errors import InvalidInput, UnsupportedMedia

__all__ = ["DEFAULT_CAPTION", "MIN_LETTER_SHARE", "add_caption"]

DEFAULT_CAPTION = "AI-generated"
MIN_LETTER_SHARE = 0.05  # letter height over the image's short side
_FONTS = (
    "/usr/share/fonts/truetype/dejavu/DejaVuSans-Bold.ttf",
    "/usr/share/fonts/truetype/dejavu/DejaVuSans.ttf",
    "/usr/share/fonts/truetype/liberation/LiberationSans-Bold.ttf",
)
_FORMATS = {"image/jpeg": "JPEG", "image/png": "PNG", "image/webp": "WEBP", "image/tiff": "TIFF"}


def _font(path: str | Path | None, size: int) -> ImageFont.FreeTypeFont | ImageFont.ImageFont:
    if path is not None:
        try:
            return ImageFont.truetype(str(path), size)
        except OSError:
            raise InvalidInput(f"cannot load the caption font {path}") from None
    for candidate in _FONTS:
        if Path(candidate).is_file():
            return ImageFont.truetype(candidate, size)
    return ImageFont.load_default(size)


def _missing_glyphs(font: ImageFont.FreeTypeFont | ImageFont.ImageFont, text: str) -> str:
    """The characters ``font`` would draw as its 'missing' box."""
    if not isinstance(font, ImageFont.FreeTypeFont):
        return "".join(c for c in text if ord(c) > 0x24F)
    notdef = font.getmask("\uffff").getbbox()
    return "".join(c for c in set(text) if not c.isspace() and font.getmask(c).getbbox() == notdef)


def add_caption(data: bytes, mime: str, text: str = DEFAULT_CAPTION, *, font: str | Path | None = None) -> bytes:
    """``data`` with ``text`` drawn in a dark band along its bottom edge, letters at least 5 % of
    the short side tall (same format; JPEG at the source's quality).

    Raises:
        UnsupportedMedia: not a JPEG, PNG, WebP or TIFF image.
        InvalidInput: an empty or overlong caption, characters the font lacks, an unreadable image.
    """
    if mime not in _FORMATS:
        raise UnsupportedMedia(f"captions are drawn onto JPEG, PNG, WebP and TIFF images, not {mime}")
    text = text.strip()
    if not text or len(text) > 80:
        raise InvalidInput("a caption has 1 to 80 characters")
    try:
        im = Image.open(io.BytesIO(data))
        im.load()
    except (OSError, ValueError, Image.DecompressionBombError) as exc:
        raise InvalidInput(f"cannot read this image: {exc}") from None
    short = min(im.size)
    letter = max(8, math.ceil(MIN_LETTER_SHARE * short))
    size = letter
    face = _font(font, size)
    missing = _missing_glyphs(face, text)
    if missing:
        raise InvalidInput(f"the caption font has no glyphs for {missing!r}: give a font that has them")
    # grow the font until its capital letters are as tall as asked (a font size counts the line)
    while (face.getbbox("H")[3] - face.getbbox("H")[1]) < letter and size < 4 * letter:
        size += 1
        face = _font(font, size)
    width = face.getbbox(text)[2]
    if width > im.size[0] * 0.96:
        raise InvalidInput(f"the caption does not fit across this image at {letter} px letters: shorten it")
    mode = im.mode
    canvas = im.convert("RGBA")
    band = Image.new("RGBA", canvas.size, (0, 0, 0, 0))
    draw = ImageDraw.Draw(band)
    pad = max(2, letter // 3)
    top = canvas.size[1] - (size + 2 * pad)
    draw.rectangle((0, top, canvas.size[0], canvas.size[1]), fill=(0, 0, 0, 160))
    draw.text((pad, top + pad), text, font=face, fill=(255, 255, 255, 255))
    out_im = Image.alpha_composite(canvas, band)
    out_im = out_im.convert(mode if mode in ("RGB", "RGBA", "L", "LA") else "RGB")
    options: dict[str, object] = {}
    if im.info.get("icc_profile"):
        options["icc_profile"] = im.info["icc_profile"]
    if mime == "image/jpeg":
        quantization = getattr(im, "quantization", None)
        if quantization:  # the source's own tables: the rest of the picture loses no more than it had
            options["qtables"] = quantization
            sampling = JpegImagePlugin.get_sampling(im)
            if sampling >= 0:
                options["subsampling"] = sampling
        else:
            options["quality"] = 92
    elif mime == "image/webp":
        options["quality"] = 92
    buf = io.BytesIO()
    out_im.save(buf, _FORMATS[mime], **options)
    return buf.getvalue()
