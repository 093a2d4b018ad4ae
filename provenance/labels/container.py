"""Labels in MP4, MOV, M4A and Matroska (MKV, WebM) metadata, through FFmpeg's own libraries
(PyAV): MP4/MOV keep them as ``moov/udta/meta`` keys (``mdta`` handler, FFmpeg's
``use_metadata_tags``), Matroska as a global ``SimpleTag``.

Writing remuxes the file by stream copy: no frame is decoded or re-encoded, every stream and
the container's other metadata are kept; attachments, chapters and anything FFmpeg cannot copy
are not. A C2PA manifest in the file would not survive: the caller signs after labelling.
"""

from __future__ import annotations

import io

import av

from watermark.errors import InvalidInput, UnsupportedMedia

__all__ = ["CONTAINER_FORMATS", "read_container_aigc", "write_container_aigc"]

# media type -> (FFmpeg muxer, muxer options)
CONTAINER_FORMATS: dict[str, tuple[str, dict[str, str]]] = {
    "video/mp4": ("mp4", {"movflags": "use_metadata_tags"}),
    "video/x-m4v": ("mp4", {"movflags": "use_metadata_tags"}),
    "audio/mp4": ("ipod", {"movflags": "use_metadata_tags"}),
    "video/quicktime": ("mov", {"movflags": "use_metadata_tags"}),
    "video/x-matroska": ("matroska", {}),
    "video/webm": ("webm", {}),
}


_BRANDS = ("major_brand", "minor_version", "compatible_brands")  # the muxer writes its own


def read_container_aigc(data: bytes) -> list[tuple[str, str]]:
    """Every container-level metadata entry whose key contains ``aigc``: ``(key, value)``."""
    try:
        with av.open(io.BytesIO(data), metadata_errors="replace") as container:
            meta = dict(container.metadata)
    except (av.error.FFmpegError, ValueError, OSError, UnicodeDecodeError):
        return []
    return [(k, v) for k, v in meta.items() if "aigc" in k.lower()]


def write_container_aigc(data: bytes, mime: str, value: str) -> bytes:
    """``data`` remuxed (stream copy) with the container metadata key ``AIGC`` set to ``value``.

    Raises:
        UnsupportedMedia: a container Assay does not write.
        InvalidInput: the file cannot be read or remuxed.
    """
    if mime not in CONTAINER_FORMATS:
        raise UnsupportedMedia(f"Assay writes container labels into MP4, MOV, M4A and Matroska, not {mime}")
    muxer, options = CONTAINER_FORMATS[mime]
    out = io.BytesIO()
    try:
        with (
            av.open(io.BytesIO(data), metadata_errors="replace") as src,
            av.open(out, "w", format=muxer, options=options) as dst,
        ):
            assert isinstance(src, av.container.InputContainer)
            for key, val in src.metadata.items():
                if "aigc" not in key.lower() and key not in _BRANDS:
                    dst.metadata[key] = val
            dst.metadata["AIGC"] = value
            streams = {}
            for stream in src.streams:
                if stream.type in ("video", "audio", "subtitle"):
                    streams[stream.index] = dst.add_stream_from_template(stream)
            for packet in src.demux(*[s for s in src.streams if s.index in streams]):
                if packet.dts is None:  # the demuxer's flush packet
                    continue
                packet.stream = streams[packet.stream.index]
                dst.mux(packet)
    except (av.error.FFmpegError, ValueError, OSError, KeyError) as exc:
        raise InvalidInput(f"cannot rewrite this {mime} file's metadata: {str(exc)[:200]}") from None
    return out.getvalue()
