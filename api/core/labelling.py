"""Add or update the labels the rules name on any supported file: the AIGC implicit label
(a producer's, or a platform's propagator fields on redistribution), the IPTC source type in
images, and an explicit label (a text's notice, an image's caption).

A file whose C2PA credentials cover its metadata would be broken by a new label: it is refused
unless re-signing is asked for, in which case the labelled file is signed anew with the
original (and its credentials) as its parent ingredient.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass

from api.core.media_service import MediaService
from detect.content import Content
from detect.manifest import has_manifest_store, read_manifest
from provenance.c2pa_io import SUPPORTED_MIME
from provenance.labels import (
    AigcLabel,
    FoundLabel,
    carrier_of,
    parse_aigc,
    read_labels,
    read_text_labels,
    write_labels,
    write_text_label,
)
from provenance.labels.caption import add_caption
from provenance.manifest import source_type_uri
from provenance.text_manifest import read_text_manifest
from watermark.errors import InvalidInput, UnsupportedMedia
from watermark.image.codec import read_header

__all__ = ["LabelRequest", "Labelled", "apply_label"]


@dataclass(frozen=True)
class LabelRequest:
    """What to write. Unset producer fields keep the file's own (or, on a file without a label,
    become this server's producer name and a content id); propagator fields are a platform's.

    Args:
        label: ``1`` AI-generated, ``2`` possibly, ``3`` suspected.
        source_type: an IPTC digital source type for images (short name or URI).
        notice: an explicit notice for texts (at the start, after any front matter).
        caption: an explicit label drawn onto images (letters at least 5 % of the short side).
        caption_font: a TrueType font for the caption (one with its characters: CJK captions).
        resign: re-sign a file whose C2PA credentials the label would break.
    """

    label: str | None = None
    producer: str | None = None
    produce_id: str | None = None
    propagator: str | None = None
    propagate_id: str | None = None
    source_type: str | None = None
    notice: str | None = None
    caption: str | None = None
    caption_font: str | None = None
    resign: bool = False


@dataclass(frozen=True)
class Labelled:
    """A labelled file: its bytes, type, the label written, its carrier, and the new manifest's id
    when it was re-signed."""

    data: bytes
    mime: str
    label: AigcLabel
    carrier: str
    manifest_id: str | None = None


def _merged(found: list[FoundLabel], req: LabelRequest, media: MediaService, data: bytes) -> AigcLabel:
    existing = next((parse_aigc(f.value) for f in found if f.kind == "aigc"), None)
    old = existing.fields if existing is not None else {}
    producer = req.producer or old.get("ContentProducer", "")
    produce_id = req.produce_id or old.get("ProduceID", "")
    if not producer and not req.propagator and not old.get("ContentPropagator"):
        producer = media.producer
    if producer and not produce_id:
        produce_id = hashlib.sha256(data).hexdigest()[:32]  # the content's own id when none is given
    kept = old.get("Label") if old.get("Label") in ("1", "2", "3") else None  # an invalid one is replaced
    return AigcLabel(
        label=req.label or kept or "1",
        content_producer=producer,
        produce_id=produce_id,
        reserved_code1=old.get("ReservedCode1", ""),
        content_propagator=req.propagator or old.get("ContentPropagator", ""),
        propagate_id=req.propagate_id or old.get("PropagateID", ""),
        reserved_code2=old.get("ReservedCode2", ""),
    )


def apply_label(data: bytes, req: LabelRequest, media: MediaService, *, declared_type: str | None = None) -> Labelled:
    """``data`` with its labels written (see the module docstring).

    Raises:
        InvalidInput: a malformed file or label, or credentials the label would break (without
            ``resign``; texts cannot be re-signed here).
        PayloadTooLarge: an image over the pixel limit to draw a caption on.
        UnsupportedMedia: a type whose labels Assay does not write.
        SignatureInvalid: re-signing failed.
    """
    what = Content.of_bytes(data, declared_type=declared_type)
    if what.kind == "text":
        text = what.text or ""
        if read_text_manifest(text).verification.manifest_present:
            raise InvalidInput(
                "this text carries C2PA credentials, which a label would break: label the text before signing it"
            )
        if req.source_type is not None:
            raise InvalidInput("an IPTC source type is written into images only")
        label = _merged(read_text_labels(text), req, media, data)
        out = write_text_label(text, aigc=label, notice=req.notice)
        return Labelled(out.encode("utf-8"), "text/plain", label, "front-matter")
    if req.notice is not None:
        raise InvalidInput("an explicit notice is written into texts only (images take a caption)")
    mime = what.header.mime_type if what.header is not None else what.mime
    carrier = carrier_of(mime or "")
    if mime is None or carrier is None:
        raise UnsupportedMedia(f"Assay does not write labels into {mime or 'this file'}")
    if req.source_type is not None and carrier != "xmp":
        raise InvalidInput("an IPTC source type is written into images only")
    signed = has_manifest_store(data)
    if signed and not req.resign:
        raise InvalidInput(
            "this file carries C2PA credentials, which a label would break: re-sign it (--resign) to keep "
            "its credentials as the new manifest's ingredient"
        )
    label = _merged(read_labels(data, mime), req, media, data)
    source = source_type_uri(req.source_type) if req.source_type is not None else None
    pixels = data
    if req.caption is not None:  # pixels first: the metadata label then goes into the new file
        if carrier != "xmp":
            raise InvalidInput("a caption is drawn onto images only")
        read_header(data, max_pixels=media.settings.max_pixels)  # the pixel limit before any decode
        pixels = add_caption(data, mime, req.caption, font=req.caption_font)
    labelled = write_labels(pixels, mime, aigc=label, source_type=source)
    if not signed:
        return Labelled(labelled, mime, label, carrier)
    if mime not in SUPPORTED_MIME:
        raise UnsupportedMedia(f"C2PA cannot embed a manifest into {mime}")
    original = read_manifest(data, mime)
    result = media.sign(
        labelled,
        title="Labelled",
        action="c2pa.opened",
        digital_source_type=original.digital_source_type if original.verdict in ("valid", "trusted") else None,
        parent=data,
    )
    return Labelled(result.data, mime, label, carrier, result.record.manifest_id)
