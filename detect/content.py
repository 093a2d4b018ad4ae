"""What a piece of content is, decided once from its bytes: a text, an image (with its header),
or audio, video or PDF (checked for C2PA only). The inspection (:mod:`detect.inspect`) chooses
its checks from this."""

from __future__ import annotations

import contextlib
from dataclasses import dataclass
from typing import Literal

from provenance.media_types import sniff_media
from watermark.errors import InvalidInput, PayloadTooLarge, UnsupportedMedia
from watermark.image.codec import ImageHeader, read_header

from .verdict import sha256_hex

__all__ = ["Content"]


def _utf8(text: str) -> bytes:
    try:
        return text.encode("utf-8")
    except UnicodeEncodeError:
        raise InvalidInput("the text holds unpaired surrogates (not valid Unicode)") from None


@dataclass(frozen=True)
class Content:
    """Something to check, classified once as a text or an image.

    ``data`` is what the audit row hashes: the file's bytes, or the text's UTF-8 bytes.
    """

    kind: Literal["text", "image", "media"]
    data: bytes
    text: str | None = None
    mime: str | None = None  # media: the sniffed type (audio, video, PDF)
    header: ImageHeader | None = None  # image: the header as read here (no pixel limit applied yet)

    @property
    def sha256(self) -> str:
        """The audit subject hash (also the report's ``content_sha256``)."""
        return sha256_hex(self.data)

    @classmethod
    def of_text(cls, text: str) -> Content:
        """A text.

        Raises:
            InvalidInput: the text is not valid Unicode.
        """
        return cls("text", _utf8(text), text)

    @classmethod
    def of_bytes(cls, data: bytes, *, declared_type: str | None = None, as_text: bool = False) -> Content:
        """A file's bytes: text when declared (``text/plain``) or asked for, an image when its
        header is an image's, audio, video or PDF (C2PA only) by signature, else text when it is
        UTF-8 without NUL bytes.

        Raises:
            InvalidInput: empty, or declared text that is not UTF-8.
            UnsupportedMedia: neither an image Assay reads nor a text.
        """
        if not data:
            raise InvalidInput("the content is empty")
        declared = (declared_type or "").split(";")[0].strip().lower()
        if not as_text and _looks_like_svg(data):
            raise UnsupportedMedia("SVG images are not supported (a vector image carries no pixel watermark)")
        if as_text or declared == "text/plain":
            try:
                return cls("text", data, data.decode("utf-8"))
            except UnicodeDecodeError:
                raise InvalidInput("text must be UTF-8") from None
        media = sniff_media(data)
        if media is not None and not declared.startswith("image/"):
            return cls("media", data, mime=media)
        if declared.startswith("image/") or declared in ("", "application/octet-stream"):
            try:
                header = read_header(data, max_pixels=2**62)  # the header only: limits are the inspection's
                return cls("image", data, header=header)
            except UnsupportedMedia:
                if declared.startswith("image/"):
                    raise
            except (InvalidInput, PayloadTooLarge):
                return cls("image", data)  # an image header that the operation will refuse with its reason
        if b"\x00" not in data:
            with contextlib.suppress(UnicodeDecodeError):  # not UTF-8 either: unsupported, below
                return cls("text", data, data.decode("utf-8"))
        raise UnsupportedMedia(
            f"expected an image, audio, video, PDF or a UTF-8 text, got {declared or 'unknown bytes'}"
        )


def _looks_like_svg(data: bytes) -> bool:
    head = data[:2048].lstrip().lower()
    return head.startswith((b"<svg", b"<?xml", b"<!doctype svg")) and b"<svg" in head
