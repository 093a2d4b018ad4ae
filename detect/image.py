"""The report for an image: watermarks, C2PA state, recovered credentials, metadata markers.

Metadata markers are the unsigned traces generators leave (patterns from public rule sets):
PNG ``parameters`` with ``Steps:`` / ``CFG scale`` (AUTOMATIC1111), PNG ``prompt`` / ``workflow``
JSON (ComfyUI), EXIF Software or XMP CreatorTool naming a generator, and an IPTC
``digitalSourceType`` of trained algorithmic media in XMP. They are weak evidence (stripped by
any re-encode, forged with a text editor) and their absence proves nothing.
"""

from __future__ import annotations

import io
import re
from collections.abc import Sequence
from typing import Any, Literal, Protocol

from PIL import Image

from provenance.c2pa_io import SUPPORTED_MIME
from provenance.content_code import raster_code
from provenance.store import ManifestStore
from watermark.errors import InvalidInput
from watermark.image import ImageDetection, ImageWatermarkDetector, detect_public_marks, read_image
from watermark.image.payload import Payload
from watermark.image.public_marks import DECISION_P as PUBLIC_MARK_FPR
from watermark.image.public_marks import PublicMarkDetection
from watermark.keys import KeyRing

from .manifest import read_manifest
from .recovery import recover_by_content_code, recover_credentials
from .report import ManifestFinding, Marker, Report, Signal, WatermarkFinding, WatermarkVerdict
from .trust_naming import TrustNaming
from .verdict import assemble, sha256_hex

__all__ = [
    "PayloadReading",
    "image_report",
    "image_watermark_finding",
    "metadata_markers",
    "payload_mark_finding",
    "public_mark_finding",
    "undecodable_finding",
]

_GENERATORS = re.compile(
    r"stable.?diffusion|comfyui|automatic1111|midjourney|dall.?e|firefly|imagen|flux|novelai|invokeai|fooocus", re.I
)
_AI_SOURCE = re.compile(r"digitalsourcetype/(trainedAlgorithmicMedia|compositeWithTrainedAlgorithmicMedia)", re.I)


def metadata_markers(data: bytes) -> list[Marker]:
    """Unsigned generator traces in an image file's metadata (empty if unreadable)."""
    try:
        im = Image.open(io.BytesIO(data))
    except Exception:
        return []
    found: list[Marker] = []
    try:  # PNG text after the image data is read by decoding the image: damaged pixels end it
        text: dict[str, Any] = dict(getattr(im, "text", None) or {})
    except (OSError, SyntaxError, ValueError, TypeError, KeyError, IndexError, EOFError):
        text = {}
    info: dict[str, Any] = {str(k): v for k, v in im.info.items()}
    info.update(text)
    params = str(info.get("parameters", ""))
    if "Steps:" in params or "CFG scale" in params:
        found.append(Marker(kind="a1111-parameters", detail=params[:200]))
    if "prompt" in info or "workflow" in info:
        found.append(Marker(kind="comfyui-workflow", detail="PNG text chunk 'prompt'/'workflow'"))
    comment = str(info.get("Comment", info.get("comment", "")))
    if "comfyui" in comment.lower():
        found.append(Marker(kind="comfyui-comment", detail=comment[:200]))
    software = str(im.getexif().get(0x0131, ""))
    if software and _GENERATORS.search(software):
        found.append(Marker(kind="exif-software", detail=software[:200]))
    xmp = info.get("xmp") or info.get("XML:com.adobe.xmp") or b""
    xmp_text = xmp.decode("utf-8", "replace") if isinstance(xmp, bytes) else str(xmp)
    tool = re.search(r"CreatorTool(?:>|=\")([^<\"]+)", xmp_text)
    if tool and _GENERATORS.search(tool.group(1)):
        found.append(Marker(kind="xmp-creator-tool", detail=tool.group(1)[:200]))
    source = _AI_SOURCE.search(xmp_text)
    if source:
        found.append(Marker(kind="iptc-digital-source-type", detail=source.group(1)))
    return found


class PayloadReading(Protocol):
    """What every payload mark's detection says (an image's, a video's, a sound's)."""

    @property
    def found(self) -> bool: ...
    @property
    def p_value(self) -> float: ...
    @property
    def fpr(self) -> float: ...
    @property
    def decodes(self) -> int: ...
    @property
    def key_id(self) -> str | None: ...
    @property
    def payload(self) -> Payload | None: ...
    @property
    def bit_accuracy(self) -> float | None: ...
    @property
    def reason(self) -> str | None: ...


def payload_mark_finding(
    d: PayloadReading,
    keys_tried: int,
    *,
    kind: Literal["image", "video", "audio"],
    scheme: str,
    evidence: tuple[int, Literal["decodes", "alignments"]] | None = None,
    **extra: Any,
) -> WatermarkFinding:
    """A payload mark's detection (over ``keys_tried`` keys) as a finding: the fields every such
    mark shares, and ``extra`` (the kind's own: geometry, frames read, time spans). ``evidence``:
    what the p-value rests on, where it is not the decodes (a sound judged by its pilots)."""
    verdict: WatermarkVerdict = "watermarked" if d.found else "not-detected"
    if not d.found and d.reason in ("too-small", "too-short"):
        verdict = "too-small" if d.reason == "too-small" else "too-short"
    return WatermarkFinding(
        kind=kind,
        scheme=scheme,
        key_id=d.key_id,
        detected=d.found,
        verdict=verdict,
        p_value=d.p_value,
        p_value_kind="union-bound",
        decided_at_fpr=d.fpr,
        evidence_size=evidence[0] if evidence else d.decodes,
        evidence_unit=evidence[1] if evidence else "decodes",
        keys_tried=keys_tried,
        record_id=d.payload.record_hex if d.payload else None,
        bit_accuracy=d.bit_accuracy,
        **extra,
    )


def image_watermark_finding(d: ImageDetection, keys_tried: int) -> WatermarkFinding:
    """The key ring's detection (over ``keys_tried`` keys) as a finding."""
    return payload_mark_finding(
        d,
        keys_tried,
        kind="image",
        scheme="assay-image-ss",
        pilot_z=d.pilot_z,
        geometry_searched=d.searched,
        geometry=dict(d.geometry),
    )


class _Ring(Protocol):
    """What a finding names of a detector: its key ring and the rate it decides at."""

    @property
    def keyring(self) -> KeyRing: ...
    @property
    def fpr(self) -> float: ...


def undecodable_finding(
    reason: str,
    detector: _Ring,
    *,
    kind: Literal["image", "video", "audio"] = "image",
    scheme: str = "assay-image-ss",
) -> WatermarkFinding:
    """The watermark finding for an image (a video, a sound) whose pixels (samples) cannot be decoded."""
    return WatermarkFinding(
        kind=kind,
        scheme=scheme,
        key_id=None,
        detected=False,
        verdict="inconclusive",
        p_value=1.0,
        p_value_kind="union-bound",
        decided_at_fpr=detector.fpr,
        evidence_size=0,
        evidence_unit="decodes",
        keys_tried=len(detector.keyring),
        reason=f"the {'sound' if kind == 'audio' else 'pixels'} cannot be decoded ({reason})",
    )


def public_mark_finding(m: PublicMarkDetection) -> WatermarkFinding:
    """A public (unkeyed) mark's match as a finding."""
    return WatermarkFinding(
        kind="public",
        scheme=f"invisible-watermark-dwtdct/{m.name}",
        key_id=None,
        detected=m.found,
        verdict="watermarked" if m.found else "not-detected",
        p_value=m.p_value,
        p_value_kind="approximate",
        decided_at_fpr=PUBLIC_MARK_FPR,
        evidence_size=m.matched_bits,
        evidence_unit="bits",
        keys_tried=0,
        generator=m.generator,
    )


def image_report(
    data: bytes,
    mime: str,
    detector: ImageWatermarkDetector,
    *,
    store: ManifestStore | None = None,
    trust_anchors: Sequence[str] = (),
    max_pixels: int | None = None,
    markers: Sequence[Marker] = (),
    trust: TrustNaming | None = None,
) -> Report:
    """Everything Assay can say about an image file (``markers``: its labels, read by the caller).

    An image whose pixel data is damaged still gets a report: its credentials are read and
    validated, and the watermark finding is ``inconclusive`` with the reason.

    Raises:
        UnsupportedMedia, PayloadTooLarge: not an image Assay reads, or over the pixel limit.
    """
    not_checked: list[Signal] = ["ai_likelihood"]
    try:
        raster = read_image(data, native=True, **({"max_pixels": max_pixels} if max_pixels else {}))
    except InvalidInput as exc:  # damaged pixel data: the credentials can still be read and checked
        raster, damage = None, str(exc)
    found = None
    if raster is not None:
        found = detector.detect_pixels(raster.pixels, peak=raster.peak)
        watermarks = [image_watermark_finding(found, len(detector.keyring))]
        watermarks += [public_mark_finding(m) for m in detect_public_marks(raster.rgb8())]
    else:
        watermarks = [undecodable_finding(damage, detector)]
    provenance: ManifestFinding | None = None
    if mime in SUPPORTED_MIME:
        provenance = read_manifest(data, mime, trust_anchors=trust_anchors, trust=trust)
    else:
        not_checked.append("provenance")
    recovered = None
    if store is None:
        not_checked.append("recovered")
    elif found is not None and (provenance is None or not provenance.present) and mime in SUPPORTED_MIME:
        recovered = recover_credentials(data, mime, found, store, trust_anchors=trust_anchors, trust=trust)
        if recovered is None and raster is not None:  # the mark is gone: does it look like a signed picture?
            code = raster_code(raster)
            recovered = recover_by_content_code(
                data, mime, code, found.p_value, store, trust_anchors=trust_anchors, trust=trust
            )
    return assemble(
        content_type=mime,
        content_sha256=sha256_hex(data),
        watermarks=watermarks,
        provenance=provenance,
        recovered=recovered,
        markers=[*markers, *metadata_markers(data)],
        not_checked=not_checked,
    )
