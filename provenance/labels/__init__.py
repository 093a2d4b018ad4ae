"""Labels that declare AI origin, read and written per carrier: the AIGC implicit label of
GB 45438-2025 (XMP ``TC260:AIGC`` in images, ID3 ``TXXX:AIGC`` in MP3, a Vorbis comment in
FLAC, a RIFF chunk in WAV, ``moov/udta/meta`` keys in MP4/MOV/M4A, a ``SimpleTag`` in Matroska,
a custom property in DOCX/XLSX/PPTX, front matter in Markdown), IPTC's ``DigitalSourceType``
in XMP, and a text's explicit notice (:mod:`.caption` draws an image's).

C2PA's own declaration (``digitalSourceType`` on the created action) is read with the manifest
(:mod:`provenance.c2pa_io`).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from provenance.media_types import OOXML_TYPES
from watermark.errors import UnsupportedMedia

from .aigc import AIGC_KEYS, AigcLabel, ParsedAigc, parse_aigc
from .audio_tags import read_flac_aigc, read_id3_aigc, write_flac_aigc, write_id3_aigc
from .container import CONTAINER_FORMATS, read_container_aigc, write_container_aigc
from .ooxml import read_ooxml_aigc, write_ooxml_aigc
from .riff import read_riff_aigc, write_wav_aigc
from .text_labels import DEFAULT_NOTICE, add_notice, find_notices, read_front_matter_aigc, write_front_matter_aigc
from .xmp import read_xmp_labels, set_xmp_labels

__all__ = [
    "AIGC_KEYS",
    "DEFAULT_NOTICE",
    "IMAGE_LABEL_TYPES",
    "LABEL_TYPES",
    "AigcLabel",
    "FoundLabel",
    "ParsedAigc",
    "add_notice",
    "carrier_of",
    "parse_aigc",
    "read_labels",
    "read_text_labels",
    "write_labels",
    "write_text_label",
]

Carrier = Literal["xmp", "id3", "vorbis-comment", "riff", "mp4", "matroska", "ooxml", "front-matter", "text-notice"]

IMAGE_LABEL_TYPES = ("image/jpeg", "image/png", "image/webp", "image/gif", "image/tiff")
_IMAGE_CARRIERS: dict[str, Carrier] = dict.fromkeys(IMAGE_LABEL_TYPES, "xmp")
_CARRIERS: dict[str, Carrier] = (
    _IMAGE_CARRIERS
    | {
        "audio/mpeg": "id3",
        "audio/flac": "vorbis-comment",
        "audio/wav": "riff",
        "video/mp4": "mp4",
        "video/x-m4v": "mp4",
        "audio/mp4": "mp4",
        "video/quicktime": "mp4",
        "video/x-matroska": "matroska",
        "video/webm": "matroska",
    }
    | dict.fromkeys(OOXML_TYPES.values(), "ooxml")
)
# Every media type whose implicit label Assay writes (texts: Markdown front matter).
LABEL_TYPES = tuple(_CARRIERS)


@dataclass(frozen=True)
class FoundLabel:
    """One label as found in a file: what kind, in which carrier, under which name, its value."""

    kind: Literal["aigc", "iptc", "explicit"]
    carrier: Carrier
    field: str
    value: str


def carrier_of(mime: str) -> Carrier | None:
    """Where a file of this type keeps its implicit label (None: Assay writes none there)."""
    return _CARRIERS.get(mime)


def read_labels(data: bytes, mime: str) -> list[FoundLabel]:
    """Every AIGC and IPTC label in a file's metadata (never raises: unreadable metadata has none).

    XMP is read in every file (MP4 and WebP keep packets too); the format's own tags besides.
    """
    found: list[FoundLabel] = []
    xmp = read_xmp_labels(data)
    found += [FoundLabel("aigc", "xmp", name, value) for name, value in xmp.aigc]
    found += [FoundLabel("iptc", "xmp", "Iptc4xmpExt:DigitalSourceType", v) for v in xmp.source_types]
    carrier = _CARRIERS.get(mime)
    tags: list[tuple[str, str]] = []
    if carrier == "id3":
        tags = read_id3_aigc(data)
    elif carrier == "vorbis-comment":
        tags = read_flac_aigc(data)
    elif carrier in ("mp4", "matroska"):
        tags = read_container_aigc(data)
    elif carrier == "ooxml":
        tags = read_ooxml_aigc(data)
    if data[:4] == b"RIFF":  # WAV and AVI
        carrier = "riff"
        tags = read_riff_aigc(data)
    if carrier is not None and carrier != "xmp":
        found += [FoundLabel("aigc", carrier, name, value) for name, value in tags]
    return found


def read_text_labels(text: str) -> list[FoundLabel]:
    """A text's AIGC label in its front matter and its explicit notices."""
    found = [FoundLabel("aigc", "front-matter", k, v) for k, v in read_front_matter_aigc(text)]
    found += [FoundLabel("explicit", "text-notice", n.where, n.words) for n in find_notices(text)]
    return found


def write_labels(data: bytes, mime: str, *, aigc: AigcLabel | None, source_type: str | None = None) -> bytes:
    """``data`` with its implicit label set to ``aigc`` and, in images, the IPTC source type.

    Raises:
        UnsupportedMedia: a type whose labels Assay does not write.
        InvalidInput: a malformed file.
    """
    carrier = _CARRIERS.get(mime)
    if carrier == "xmp":
        return set_xmp_labels(data, mime, aigc=aigc.to_json() if aigc else None, source_type=source_type)
    if aigc is None:
        return data
    value = aigc.to_json()
    if carrier == "id3":
        return write_id3_aigc(data, value)
    if carrier == "vorbis-comment":
        return write_flac_aigc(data, value)
    if carrier == "riff":
        return write_wav_aigc(data, value)
    if carrier == "ooxml":
        return write_ooxml_aigc(data, value)
    if carrier in ("mp4", "matroska") and mime in CONTAINER_FORMATS:
        return write_container_aigc(data, mime, value)
    raise UnsupportedMedia(
        f"Assay writes implicit labels into {', '.join(LABEL_TYPES)} files and Markdown texts, not {mime}"
    )


def write_text_label(text: str, *, aigc: AigcLabel | None, notice: str | None = None) -> str:
    """``text`` with the AIGC label in its front matter (added when missing) and, if given, an
    explicit notice at its start."""
    if aigc is not None:
        text = write_front_matter_aigc(text, aigc.to_json())
    if notice:
        text = add_notice(text, notice)
    return text
