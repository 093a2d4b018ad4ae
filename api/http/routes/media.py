"""Images and provenance: watermark + sign, sign, verify anything, and the Soft Binding Resolution API."""

from __future__ import annotations

import base64
import binascii
from collections.abc import Callable
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Query, Request
from fastapi.responses import Response
from starlette.concurrency import run_in_threadpool

from api.core.audit import AuditEntry
from api.core.media_service import SignedResult
from api.http.bodies import BINARY, TEXT_OR_FILE
from api.http.deps import Caller, OpsDep, RuntimeDep, Stopwatch, Upload, image_upload, read_upload, require
from api.http.models import BindingMatches, Match, MatchesByContent
from api.http.problems import error_responses
from detect.report import Report
from provenance.manifest import ACTIONS, SOURCE_TYPES
from provenance.store import MAX_ID
from watermark.errors import InvalidInput, PayloadTooLarge

__all__ = ["router"]

router = APIRouter(tags=["images and provenance"])

_FILE_BODY: dict[str, Any] = {
    "requestBody": {
        "required": True,
        "content": {
            "multipart/form-data": {
                "schema": {"type": "object", "properties": {"file": BINARY["schema"]}, "required": ["file"]}
            },
            "image/jpeg": BINARY,
            "image/png": BINARY,
            "image/webp": BINARY,
            "video/mp4": BINARY,
            "video/webm": BINARY,
            "audio/wav": BINARY,
            "audio/mpeg": BINARY,
            "audio/flac": BINARY,
            "audio/mp4": BINARY,
            "application/octet-stream": BINARY,
        },
    }
}
_SIGNABLE_BODY: dict[str, Any] = {
    "requestBody": {
        "required": True,
        "content": TEXT_OR_FILE
        | {t: BINARY for t in ("image/jpeg", "image/png", "image/webp", "audio/wav", "video/mp4")}
        | {t: BINARY for t in ("application/pdf", "application/octet-stream")},
    }
}
_ANY_BODY: dict[str, Any] = {
    "requestBody": {
        "required": True,
        "content": TEXT_OR_FILE
        | {
            "application/json": {
                "schema": {"type": "object", "properties": {"text": {"type": "string"}}, "required": ["text"]}
            }
        }
        | {t: BINARY for t in ("image/jpeg", "image/png", "audio/wav", "video/mp4", "application/octet-stream")},
    }
}
_SIGNED_RESPONSE: dict[int | str, dict[str, Any]] = {
    200: {
        "description": "The signed file; `Assay-Manifest-Id` and (when watermarked) `Assay-Record-Id` headers.",
        "content": {
            t: BINARY
            for t in ("image/jpeg", "image/png", "image/webp", "image/tiff", "video/mp4", "audio/wav", "audio/mpeg")
        },
        "headers": {
            "Assay-Manifest-Id": {"description": "The C2PA manifest label.", "schema": {"type": "string"}},
            "Assay-Record-Id": {"description": "The watermark's record id (hex).", "schema": {"type": "string"}},
            "Assay-Watermark-Key": {"description": "The watermark key id.", "schema": {"type": "string"}},
        },
    }
}


_SIGNABLE_TYPES: tuple[str, ...] = ("image/jpeg", "image/png", "image/webp", "image/tiff", "text/plain")
_SIGNABLE_TYPES += ("audio/wav", "audio/mpeg", "video/mp4", "video/quicktime", "application/pdf")
_SIGNED_ANY_RESPONSE: dict[int | str, dict[str, Any]] = {
    200: _SIGNED_RESPONSE[200]
    | {
        "description": "The signed file (a text with its manifest embedded); `Assay-Manifest-Id` header.",
        "content": {t: ({"schema": {"type": "string"}} if t == "text/plain" else BINARY) for t in _SIGNABLE_TYPES},
    }
}

_MANIFEST_RESPONSE: dict[int | str, dict[str, Any]] = {
    200: {"content": {"application/c2pa": BINARY}, "description": "The C2PA manifest store."}
}


def _signed_response(result: SignedResult) -> Response:
    headers = {"assay-manifest-id": result.record.manifest_id, "cache-control": "no-store"}
    if result.marked is not None:
        headers["assay-record-id"] = result.marked.payload.record_hex
        headers["assay-watermark-key"] = result.marked.key_id
    return Response(result.data, media_type=result.mime, headers=headers)


def _title(upload: Upload, given: str | None) -> str:
    title = given or (upload.fields or {}).get("title") or "Untitled"
    if len(title) > 500:
        raise InvalidInput("title is limited to 500 characters")
    return title


async def _sign_upload(
    request: Request, title: str | None, make: Callable[[bytes, str, str], SignedResult], *, images_only: bool = True
) -> Response:
    """Read an upload and sign it with ``make(data, declared type, title)`` (an operation) in a
    worker thread; only images unless ``images_only`` is False (texts, audio, video, PDF)."""
    upload = await read_upload(request)
    if images_only:
        data, declared = image_upload(upload, media=True), upload.declared_type
    elif upload.text is not None:
        data, declared = upload.text.encode("utf-8", "surrogatepass"), "text/plain"
    else:
        data, declared = upload.data, upload.declared_type
    name = _title(upload, title)
    return _signed_response(await run_in_threadpool(make, data, declared, name))


@router.post(
    "/v1/images/watermark",
    openapi_extra=_FILE_BODY,
    responses=_SIGNED_RESPONSE | error_responses(401, 403, 404, 413, 415, 422, 429, 503),
    response_class=Response,
)
async def images_watermark(
    request: Request,
    ops: OpsDep,
    caller: Annotated[Caller, Depends(require("sign"))],
    title: Annotated[str | None, Query(max_length=500)] = None,
    key_id: Annotated[str | None, Query(max_length=200)] = None,
) -> Response:
    """Watermark an image, a video (MP4, MOV, MKV, WebM: every frame, same container and codec,
    audio kept) or a sound (WAV, FLAC, MP3, M4A: same container and codec, a lossy one at its own
    bit rate and at least 128 kbit/s) and sign a C2PA manifest declaring AI origin, soft-bound to
    the watermark."""

    def make(data: bytes, _: str, name: str) -> SignedResult:
        return ops.watermark_and_sign(data, actor=caller.actor, title=name, key_id=key_id)

    return await _sign_upload(request, title, make)


@router.post(
    "/v1/provenance/sign",
    openapi_extra=_SIGNABLE_BODY,
    responses=_SIGNED_ANY_RESPONSE | error_responses(401, 403, 413, 415, 422, 429, 503),
    response_class=Response,
)
async def provenance_sign(
    request: Request,
    ops: OpsDep,
    caller: Annotated[Caller, Depends(require("sign"))],
    title: Annotated[str | None, Query(max_length=500)] = None,
    action: Annotated[str, Query(description=f"One of {', '.join(ACTIONS)}.")] = "c2pa.created",
    digital_source_type: Annotated[
        str | None, Query(description=f"IPTC source type: {', '.join(SOURCE_TYPES)}.", max_length=200)
    ] = None,
    software_agent: Annotated[str | None, Query(max_length=200)] = None,
) -> Response:
    """Sign an image, audio, video or PDF file, or a text, with a manifest describing how it was
    made (no watermark is added). A text comes back with the manifest embedded (C2PA A.8)."""

    def make(data: bytes, declared: str, name: str) -> SignedResult:
        return ops.sign(
            data,
            actor=caller.actor,
            title=name,
            action=action,
            digital_source_type=digital_source_type,
            software_agent=software_agent,
            declared_type=declared,
        )

    return await _sign_upload(request, title, make, images_only=False)


@router.post(
    "/v1/verify",
    openapi_extra=_ANY_BODY,
    response_model=Report,
    responses=error_responses(400, 401, 403, 413, 415, 422, 429, 503),
)
async def verify(
    request: Request, response: Response, ops: OpsDep, caller: Annotated[Caller, Depends(require("verify"))]
) -> Report:
    """The one report for a file (image, video, audio, PDF) or a text: manifest state and trust, watermarks, recovered
    credentials, AI-likelihood, label and disagreements. ``Server-Timing: verify;dur=`` gives the
    time spent in verification itself; ``Assay-Audit-Row`` and ``Assay-Audit-Leaf`` name its audit
    row and that row's leaf in the audit log's Merkle tree (its proof: ``/v1/audit/proof/{row}``)."""
    upload = await read_upload(request)
    content = upload.text if upload.text is not None else upload.data
    watch = Stopwatch()

    rows: list[AuditEntry] = []

    def work() -> Report:
        return ops.verify(content, actor=caller.actor, declared_type=upload.declared_type, on_row=rows.append)

    report: Report = await run_in_threadpool(watch.run, work)
    response.headers["server-timing"] = watch.header("verify")
    if rows:  # prove it later: GET /v1/audit/proof/{row}
        response.headers["assay-audit-row"] = str(rows[0].seq)
        response.headers["assay-audit-leaf"] = str(rows[0].seq - 1)
    return report


@router.get("/v1/matches/byBinding", response_model=BindingMatches, responses=error_responses(401, 403, 422, 429))
def matches_by_binding(
    rt: RuntimeDep,
    _: Annotated[Caller, Depends(require("verify"))],
    alg: Annotated[str, Query(min_length=1, max_length=200)],
    value: Annotated[str, Query(min_length=1, max_length=400, description="The binding value, base64.")],
) -> BindingMatches:
    """Manifests whose soft binding ``alg`` has ``value`` (C2PA Soft Binding Resolution API)."""
    try:
        base64.b64decode(value, validate=True)
    except (binascii.Error, ValueError):
        raise InvalidInput("value must be base64") from None
    found = rt.store.by_binding(alg, value)
    return BindingMatches(matches=[Match(manifestId=m.manifest_id, similarityScore=m.similarity_score) for m in found])


@router.post(
    "/v1/matches/byContent",
    openapi_extra=_ANY_BODY,
    response_model=MatchesByContent,
    responses=error_responses(400, 401, 403, 413, 415, 422, 429, 503),
)
async def matches_by_content(
    request: Request, rt: RuntimeDep, _: Annotated[Caller, Depends(require("verify"))]
) -> MatchesByContent:
    """Manifests for an image, a video or a sound (through the watermark found in it, and by exact hash) or a
    text (the manifest it carries, then through its watermark and fingerprint; `similarityScore` is
    the percentage of the signed text's fingerprint found)."""
    upload = await read_upload(request)
    text = upload.text
    if text is None and upload.declared_type == "text/plain":
        try:
            text = upload.data.decode("utf-8")
        except UnicodeDecodeError:
            raise InvalidInput("text must be UTF-8") from None
    if text is not None:
        if len(text) > rt.settings.max_text_chars:
            raise PayloadTooLarge(f"texts are limited to {rt.settings.max_text_chars} characters")
        matches, detection = await run_in_threadpool(rt.texts.matches_by_content, text)
    else:
        matches, detection = await run_in_threadpool(rt.media.matches_by_content, image_upload(upload, media=True))
    return MatchesByContent(
        matches=[Match(manifestId=m.manifest_id, similarityScore=m.similarity_score) for m in matches],
        watermark=detection,
    )


@router.get(
    "/v1/manifests/{manifest_id}",
    response_class=Response,
    responses=_MANIFEST_RESPONSE | error_responses(401, 403, 404, 422, 429),
)
def manifest(manifest_id: str, rt: RuntimeDep, _: Annotated[Caller, Depends(require("verify"))]) -> Response:
    """A stored manifest store (``application/c2pa``)."""
    if len(manifest_id) > MAX_ID:
        raise InvalidInput(f"manifest ids are at most {MAX_ID} characters")
    return Response(rt.store.manifest_bytes(manifest_id), media_type="application/c2pa")
