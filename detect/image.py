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
from dataclasses import dataclass
from typing import Any

from PIL import Image

from provenance.c2pa_io import SUPPORTED_MIME, Verification, verify_asset
from provenance.store import ManifestStore
from watermark.errors import AssayError
from watermark.image import ImageWatermarkDetector, detect_public_marks, read_image

from .recovery import recover_credentials
from .report import Evidence, Report, decide

__all__ = ["Marker", "image_report", "metadata_markers"]

_GENERATORS = re.compile(
    r"stable.?diffusion|comfyui|automatic1111|midjourney|dall.?e|firefly|imagen|flux|novelai|invokeai|fooocus", re.I
)
_AI_SOURCE = re.compile(r"digitalsourcetype/(trainedAlgorithmicMedia|compositeWithTrainedAlgorithmicMedia)", re.I)
_AI_SOURCE_TYPES = ("trainedAlgorithmicMedia", "compositeWithTrainedAlgorithmicMedia", "algorithmicMedia")


@dataclass(frozen=True)
class Marker:
    """One unsigned metadata trace."""

    kind: str
    detail: str

    def to_dict(self) -> dict[str, str]:
        """JSON-ready form."""
        return {"kind": self.kind, "detail": self.detail}


def metadata_markers(data: bytes) -> list[Marker]:
    """Unsigned generator traces in an image file's metadata (empty if unreadable)."""
    try:
        im = Image.open(io.BytesIO(data))
    except Exception:
        return []
    found: list[Marker] = []
    text: dict[str, Any] = dict(getattr(im, "text", None) or {})
    info: dict[str, Any] = {str(k): v for k, v in im.info.items()}
    info.update(text)
    params = str(info.get("parameters", ""))
    if "Steps:" in params or "CFG scale" in params:
        found.append(Marker("a1111-parameters", params[:200]))
    if "prompt" in info or "workflow" in info:
        found.append(Marker("comfyui-workflow", "PNG text chunk 'prompt'/'workflow'"))
    comment = str(info.get("Comment", info.get("comment", "")))
    if "comfyui" in comment.lower():
        found.append(Marker("comfyui-comment", comment[:200]))
    software = str(im.getexif().get(0x0131, ""))
    if software and _GENERATORS.search(software):
        found.append(Marker("exif-software", software[:200]))
    xmp = info.get("xmp") or info.get("XML:com.adobe.xmp") or b""
    xmp_text = xmp.decode("utf-8", "replace") if isinstance(xmp, bytes) else str(xmp)
    tool = re.search(r"CreatorTool(?:>|=\")([^<\"]+)", xmp_text)
    if tool and _GENERATORS.search(tool.group(1)):
        found.append(Marker("xmp-creator-tool", tool.group(1)[:200]))
    source = _AI_SOURCE.search(xmp_text)
    if source:
        found.append(Marker("iptc-digital-source-type", source.group(1)))
    return found


def _provenance_evidence(v: Verification) -> tuple[list[Evidence], dict[str, Any]]:
    signer = (v.signer or {}).get("common_name") or "an unknown signer"
    trust = (
        "trusted" if v.trusted else "not publicly trusted" + (": a development signer" if v.development_signer else "")
    )
    source = (v.digital_source_type or "").rsplit("/", 1)[-1]
    state = {
        "manifest_present": v.manifest_present,
        "validation_state": v.validation_state,
        "failures": list(v.failures),
        "informational": list(v.informational),
        "signer": v.signer,
        "trusted": v.trusted,
        "development_signer": v.development_signer,
        "claim_generator": v.claim_generator,
        "actions": list(v.actions),
        "digital_source_type": v.digital_source_type,
        "ingredients": list(v.ingredients),
    }
    if not v.manifest_present:
        return [], state
    if v.validation_state == "Invalid":
        codes = ", ".join(v.failures[:3])
        return [Evidence("c2pa", "none", False, f"C2PA manifest fails validation ({codes}): tampered")], state
    says_ai = source in _AI_SOURCE_TYPES
    what = "Declared AI-generated" if says_ai else f"Declared {source or 'without a source type'}"
    return [Evidence("c2pa", "strong", says_ai, f"{what} by {signer} ({trust})")], state


def image_report(
    data: bytes,
    mime: str,
    detector: ImageWatermarkDetector,
    *,
    store: ManifestStore | None = None,
    trust_anchors: Sequence[str] = (),
    max_pixels: int | None = None,
) -> Report:
    """Everything Assay can say about an image file.

    Raises:
        InvalidInput, UnsupportedMedia, PayloadTooLarge: the image cannot be decoded.
    """
    raster = read_image(data, **({"max_pixels": max_pixels} if max_pixels else {}))
    evidence: list[Evidence] = []
    not_checked: list[str] = ["ai_likelihood"]
    found = detector.detect_pixels(raster.pixels, peak=raster.peak)
    watermarks: list[dict[str, Any]] = [found.to_dict()]
    if found.found:
        evidence.append(
            Evidence(
                "watermark",
                "strong",
                True,
                f"AI-generated: carries Assay watermark key {found.key_id!r} (p <= {found.p_value:.1e})",
            )
        )
    for mark in detect_public_marks(raster.rgb8()):
        watermarks.append(mark.to_dict())
        if mark.found:
            evidence.append(Evidence("watermark", "strong", True, f"Carries the {mark.generator} watermark"))
    provenance: dict[str, Any] | None = None
    verification: Verification | None = None
    if mime in SUPPORTED_MIME:
        try:
            verification = verify_asset(data, mime, trust_anchors=trust_anchors)
        except AssayError as exc:
            provenance = {"manifest_present": None, "error": str(exc)}
        if verification is not None:
            ev, provenance = _provenance_evidence(verification)
            evidence.extend(ev)
    else:
        not_checked.append("provenance")
    recovered = None
    if store is not None and (verification is None or not verification.manifest_present) and mime in SUPPORTED_MIME:
        rec = recover_credentials(data, mime, found, store, trust_anchors=trust_anchors)
        if rec is not None:
            recovered = rec.to_dict()
            source = (rec.verification.digital_source_type or "").rsplit("/", 1)[-1]
            evidence.append(Evidence("recovered", "strong", source in _AI_SOURCE_TYPES, rec.summary))
    elif store is None:
        not_checked.append("recovered")
    markers = metadata_markers(data)
    if markers:
        evidence.append(Evidence("metadata", "weak", True, f"Metadata names a generator ({markers[0].kind})"))
    disagreements = []
    c2pa = next((e for e in evidence if e.kind == "c2pa" and e.strength == "strong"), None)
    marked = any(e.kind == "watermark" for e in evidence)
    if c2pa is not None and not c2pa.says_ai and marked:
        disagreements.append(f"{c2pa.summary}, but the image carries an AI watermark")
    verdict, label = decide(evidence)
    return Report(
        content_type=mime,
        label=label,
        verdict=verdict,
        watermarks=tuple(watermarks),
        provenance=provenance,
        recovered=recovered,
        markers=tuple(m.to_dict() for m in markers),
        evidence=tuple(evidence),
        disagreements=tuple(disagreements),
        not_checked=tuple(not_checked),
    )
