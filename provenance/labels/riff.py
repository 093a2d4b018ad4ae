"""Labels in RIFF files: a WAV file's top-level ``AIGC`` chunk, and an AVI file's
``LIST``/``INFO`` sub-chunk ``AIGC`` (read only). Chunk ids are matched in any case."""

from __future__ import annotations

import struct

from watermark.errors import InvalidInput

__all__ = ["read_riff_aigc", "write_wav_aigc"]

_MAX_VALUE = 64 * 1024
_MAX_CHUNKS = 4096  # real files have a handful; a file of millions of empty chunks is not walked


def _chunks(data: bytes, start: int, end: int) -> list[tuple[bytes, int, int]]:
    """``(id, body start, body end)`` of each chunk between ``start`` and ``end`` (the first
    ``_MAX_CHUNKS``)."""
    out: list[tuple[bytes, int, int]] = []
    pos = start
    while pos + 8 <= end and len(out) < _MAX_CHUNKS:
        cid = data[pos : pos + 4]
        (size,) = struct.unpack("<I", data[pos + 4 : pos + 8])
        body = pos + 8
        if body + size > end:
            break
        out.append((cid, body, body + size))
        pos = body + size + (size & 1)
    return out


def _text(raw: bytes) -> str:
    return raw.rstrip(b"\x00").decode("utf-8", "replace")


def read_riff_aigc(data: bytes) -> list[tuple[str, str]]:
    """Every ``AIGC`` chunk at the top level or in a ``LIST``/``INFO``: ``(chunk id, value)``."""
    if data[:4] != b"RIFF" or len(data) < 12:
        return []
    found = []
    for cid, start, end in _chunks(data, 12, len(data)):
        if cid.lower() == b"aigc" and end - start <= _MAX_VALUE:
            found.append((cid.decode("latin-1"), _text(data[start:end])))
        elif cid == b"LIST" and data[start : start + 4] == b"INFO":
            for sub, s, e in _chunks(data, start + 4, end):
                if sub.lower() == b"aigc" and e - s <= _MAX_VALUE:
                    found.append((f"LIST/INFO/{sub.decode('latin-1')}", _text(data[s:e])))
    return found


def write_wav_aigc(data: bytes, value: str) -> bytes:
    """``data`` (a WAV file) with one top-level ``AIGC`` chunk holding ``value`` (UTF-8), added at
    the end; other AIGC chunks removed. The audio is not touched.

    Raises:
        InvalidInput: not a WAV file.
    """
    if data[:4] != b"RIFF" or data[8:12] != b"WAVE":
        raise InvalidInput("not a WAV file")
    chunks = _chunks(data, 12, len(data))
    if len(chunks) >= _MAX_CHUNKS:
        raise InvalidInput(f"this WAV file has more than {_MAX_CHUNKS} chunks")
    kept = [data[start - 8 : end + ((end - start) & 1)] for cid, start, end in chunks if cid.lower() != b"aigc"]
    body = value.encode("utf-8")
    chunk = b"AIGC" + struct.pack("<I", len(body)) + body + b"\x00" * (len(body) & 1)
    payload = b"WAVE" + b"".join(kept) + chunk
    return b"RIFF" + struct.pack("<I", len(payload)) + payload
