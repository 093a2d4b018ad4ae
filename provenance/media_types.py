"""The media type of an audio, video or document file from its first bytes, for the formats
c2pa embeds manifests into besides images (images are read by :mod:`watermark.image.codec`), and
Matroska and Office Open XML documents, whose labels Assay reads and writes (C2PA does not embed
into them)."""

from __future__ import annotations

import io
import zipfile

__all__ = ["OOXML_TYPES", "SUFFIXES", "sniff_media"]

OOXML_TYPES = {
    "word/": "application/vnd.openxmlformats-officedocument.wordprocessingml.document",
    "xl/": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
    "ppt/": "application/vnd.openxmlformats-officedocument.presentationml.presentation",
}

# File name suffixes per type (the first is the usual one).
SUFFIXES = {
    "audio/wav": (".wav", ".wave"),
    "video/avi": (".avi",),
    "video/mp4": (".mp4",),
    "video/quicktime": (".mov", ".qt"),
    "video/x-m4v": (".m4v", ".mp4"),
    "audio/mp4": (".m4a", ".m4b", ".mp4"),
    "audio/mpeg": (".mp3",),
    "audio/flac": (".flac",),
    "audio/ogg": (".ogg", ".opus", ".oga"),
    "application/pdf": (".pdf",),
    "video/x-matroska": (".mkv", ".mka"),
    "video/webm": (".webm",),
    OOXML_TYPES["word/"]: (".docx",),
    OOXML_TYPES["xl/"]: (".xlsx",),
    OOXML_TYPES["ppt/"]: (".pptx",),
}
_FTYP_BRANDS = {b"qt  ": "video/quicktime", b"M4A ": "audio/mp4", b"M4B ": "audio/mp4", b"M4V ": "video/x-m4v"}


def sniff_media(data: bytes) -> str | None:
    """``audio/wav``, ``video/avi``, ``video/mp4`` (and QuickTime, M4A, M4V), ``audio/mpeg``,
    ``audio/flac``, ``audio/ogg``, ``application/pdf``, Matroska/WebM or an Office Open XML document from the
    file's signature; None for anything else."""
    head = data[:64]
    if head[:4] == b"RIFF" and head[8:12] == b"WAVE":
        return "audio/wav"
    if head[:4] == b"RIFF" and head[8:12] == b"AVI ":
        return "video/avi"
    if head[4:8] == b"ftyp":
        return _FTYP_BRANDS.get(head[8:12], "video/mp4")
    if head[:5] == b"%PDF-":
        return "application/pdf"
    if head[:4] == b"fLaC":
        return "audio/flac"
    if head[:4] == b"OggS":
        return "audio/ogg"
    if head[:4] == b"PK\x03\x04":
        return _ooxml(data)
    if head[:4] == b"\x1a\x45\xdf\xa3":  # EBML: Matroska or WebM (its DocType says which)
        return "video/webm" if b"webm" in data[:64] else "video/x-matroska"
    id3 = head[:3] == b"ID3" and len(head) > 9 and head[3] in (2, 3, 4) and head[4] == 0  # ID3v2 tag
    if id3 and data[_id3_end(head) : _id3_end(head) + 4] == b"fLaC":  # C2PA's FLAC carrier: an ID3 tag first
        return "audio/flac"
    frame_sync = len(head) > 1 and head[0] == 0xFF and head[1] & 0xE0 == 0xE0 and head[1] & 0x06
    if id3 or frame_sync:
        return "audio/mpeg"
    return None


def _id3_end(head: bytes) -> int:
    """Where the file goes on after an ID3v2 tag (its size is four 7-bit bytes; a footer adds 10)."""
    size = (head[6] & 0x7F) << 21 | (head[7] & 0x7F) << 14 | (head[8] & 0x7F) << 7 | (head[9] & 0x7F)
    return 10 + size + (10 if head[5] & 0x10 else 0)


def _ooxml(data: bytes) -> str | None:
    """A DOCX, XLSX or PPTX package's type (None: another ZIP file or a broken one)."""
    try:
        with zipfile.ZipFile(io.BytesIO(data)) as z:
            names = z.namelist()[:10_000]
    except (zipfile.BadZipFile, ValueError, OSError, EOFError, NotImplementedError, RuntimeError):
        return None  # damaged, or a ZIP feature Python does not read: not a document Assay labels
    if "[Content_Types].xml" not in names:
        return None
    return next((t for prefix, t in OOXML_TYPES.items() if any(n.startswith(prefix) for n in names)), None)
