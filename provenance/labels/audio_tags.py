"""Labels in audio tags, through mutagen: MP3 ID3v2 ``TXXX`` frames (description ``AIGC``)
and FLAC Vorbis comments (field ``AIGC``). Reading takes any description or field name that
contains ``aigc`` in any case (some generators write ``TXXX:aigc``)."""

from __future__ import annotations

import io

from mutagen import MutagenError
from mutagen.flac import FLAC
from mutagen.id3 import ID3, TXXX, ID3NoHeaderError

from watermark.errors import InvalidInput

__all__ = ["read_flac_aigc", "read_id3_aigc", "write_flac_aigc", "write_id3_aigc"]


def read_id3_aigc(data: bytes) -> list[tuple[str, str]]:
    """Every ``TXXX`` frame whose description contains ``aigc``: ``(frame name, value)``."""
    try:
        tags = ID3(io.BytesIO(data))
    except (ID3NoHeaderError, MutagenError, ValueError, EOFError):
        return []
    found = []
    for frame in tags.getall("TXXX"):
        if "aigc" in str(frame.desc).lower():
            found.append((f"TXXX:{frame.desc}", "".join(str(t) for t in frame.text)))
    return found


def write_id3_aigc(data: bytes, value: str) -> bytes:
    """``data`` (an MP3) with one ``TXXX:AIGC`` frame holding ``value`` (other AIGC frames removed).

    Raises:
        InvalidInput: the file's ID3 tag cannot be read or written.
    """
    buf = io.BytesIO(data)
    try:
        try:
            tags = ID3(buf)
        except ID3NoHeaderError:
            tags = ID3()
        for frame in list(tags.getall("TXXX")):
            if "aigc" in str(frame.desc).lower():
                tags.delall(frame.HashKey)
        tags.add(TXXX(encoding=3, desc="AIGC", text=[value]))
        buf.seek(0)
        tags.save(buf, v2_version=4)
    except (MutagenError, ValueError, EOFError) as exc:
        raise InvalidInput(f"cannot write this MP3 file's ID3 tag: {exc}") from None
    return buf.getvalue()


def _flac(buf: io.BytesIO) -> FLAC:
    try:
        return FLAC(buf)
    except (MutagenError, ValueError, EOFError) as exc:
        raise InvalidInput(f"cannot read this FLAC file's tags: {exc}") from None


def read_flac_aigc(data: bytes) -> list[tuple[str, str]]:
    """Every Vorbis comment whose name contains ``aigc``: ``(field name, value)``."""
    try:
        audio = _flac(io.BytesIO(data))
    except InvalidInput:
        return []
    return [(k, v) for k, v in (audio.tags or []) if "aigc" in k.lower()]


def write_flac_aigc(data: bytes, value: str) -> bytes:
    """``data`` (a FLAC file) with one ``AIGC`` Vorbis comment holding ``value``.

    Raises:
        InvalidInput: the file's tags cannot be read or written.
    """
    buf = io.BytesIO(data)
    audio = _flac(buf)
    if audio.tags is None:
        audio.add_tags()
    assert audio.tags is not None
    for key in {k for k, _ in audio.tags if "aigc" in k.lower()}:
        del audio.tags[key]
    audio.tags["AIGC"] = value
    try:
        buf.seek(0)
        audio.save(buf)
    except (MutagenError, ValueError, EOFError) as exc:
        raise InvalidInput(f"cannot write this FLAC file's tags: {exc}") from None
    return buf.getvalue()
