"""Operations: liveness, readiness, Prometheus metrics, the watermark keys (never secrets), and the
audit log's signed checkpoint, verifier key and inclusion proofs."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, Path
from fastapi.responses import JSONResponse, Response

from api.core.metrics import CONTENT_TYPE_LATEST
from api.http.deps import Caller, RuntimeDep, require
from api.http.models import AuditProof, Health, KeysResponse, Readiness, SignerInfo, WatermarkKeyInfo
from api.http.problems import error_responses

__all__ = ["router"]

router = APIRouter(tags=["operations"])


@router.get("/healthz", response_model=Health)
async def healthz() -> Health:
    """Liveness: the process answers (on the event loop: no worker thread needed)."""
    return Health(status="ok")


@router.get(
    "/readyz",
    response_model=Readiness,
    responses={
        503: {
            "description": "Not ready yet (model loading or store unreachable); the same body.",
            "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Readiness"}}},
        }
    },
)
def readyz(rt: RuntimeDep) -> JSONResponse:
    """Readiness: the model is loaded and the store answers."""
    state = Readiness(**rt.readiness())
    return JSONResponse(state.model_dump(), status_code=200 if state.ready else 503)


@router.get(
    "/metrics",
    response_class=Response,
    responses={200: {"content": {CONTENT_TYPE_LATEST: {"schema": {"type": "string"}}}}},
)
def metrics(rt: RuntimeDep) -> Response:
    """Prometheus metrics."""
    rt.readiness()
    return Response(rt.metrics.render(), media_type=CONTENT_TYPE_LATEST)


@router.get("/v1/keys", response_model=KeysResponse, responses=error_responses(401, 403, 429))
def keys(rt: RuntimeDep, _: Annotated[Caller, Depends(require("admin"))]) -> KeysResponse:
    """Watermark key ids, schemes, parameters and status, and the signer in use (never secrets)."""
    ring = rt.text.keyring
    rows = [
        WatermarkKeyInfo(
            key_id=k.key_id,
            scheme=k.scheme,
            status="active" if k.key_id == ring.active.key_id else "detect-only",
            parameters=dict(k.params),
        )
        for k in ring
    ]
    creds = rt.media.credentials()
    signer = SignerInfo(name=rt.media.signer_name, algorithm=creds.alg, development=creds.development)
    return KeysResponse(watermark_keys=rows, signer=signer)


_NOTE: dict[int | str, dict[str, Any]] = {
    200: {"content": {"text/plain": {"schema": {"type": "string"}}}},
    **error_responses(401, 403, 429),
}


@router.get("/v1/audit/checkpoint", response_class=Response, responses=_NOTE)
def audit_checkpoint(rt: RuntimeDep, _: Annotated[Caller, Depends(require("verify"))]) -> Response:
    """The audit log's latest signed checkpoint (C2SP signed note: origin, tree size, root hash),
    signed now when rows were added since the last: what auditors and witnesses mirror."""
    return Response(rt.audit_tree.checkpoint(), media_type="text/plain; charset=utf-8")


@router.get("/v1/audit/public-key", response_class=Response, responses=_NOTE)
def audit_public_key(rt: RuntimeDep, _: Annotated[Caller, Depends(require("verify"))]) -> Response:
    """The audit log's verifier key (``name+keyid+key``), to check checkpoints and proofs offline."""
    return Response(rt.audit_tree.verifier.encode() + "\n", media_type="text/plain; charset=utf-8")


_TILE: dict[int | str, dict[str, Any]] = {
    200: {"content": {"application/octet-stream": {"schema": {"type": "string", "format": "binary"}}}},
    **error_responses(401, 403, 404, 422, 429),
}


@router.get("/v1/audit/tile/{level}/{rest:path}", response_class=Response, responses=_TILE)
def audit_tile(
    rt: RuntimeDep,
    _: Annotated[Caller, Depends(require("verify"))],
    level: Annotated[str, Path(max_length=7, description="0-7 (tree level 8L), or `entries`.")],
    rest: Annotated[str, Path(max_length=40, description="The tile index in x-prefixed 3-digit groups[.p/W].")],
) -> Response:
    """The audit log as C2SP ``tlog-tiles``, for mirrors and witnesses: ``tile/<L>/<N>[.p/<W>]``
    (256 hashes of tree level 8L, or the W of a partial tile) and ``tile/entries/<N>[.p/<W>]`` (the
    rows' canonical bytes, each after a big-endian 16-bit length), of the tree at the latest signed
    checkpoint. Full tiles never change and are served as immutable."""
    data = rt.audit_tree.tile(level, rest)
    cache = "public, max-age=31536000, immutable" if ".p/" not in rest else "no-cache"
    return Response(data, media_type="application/octet-stream", headers={"cache-control": cache})


@router.get("/v1/audit/proof/{ref}", response_model=AuditProof, responses=error_responses(401, 403, 422, 429))
def audit_proof(
    rt: RuntimeDep, _: Annotated[Caller, Depends(require("verify"))], ref: Annotated[str, Path(max_length=64)]
) -> AuditProof:
    """The RFC 9162 inclusion proof of an audit row (its number, or the SHA-256 of the content it
    is about: the newest such row) against a signed checkpoint, hashes in lowercase hex."""
    return AuditProof.model_validate(rt.audit_tree.prove(ref).to_dict())
