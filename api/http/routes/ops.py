"""Operations: liveness, readiness, Prometheus metrics, and the watermark keys (never secrets)."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends
from fastapi.responses import JSONResponse, Response

from api.core.metrics import CONTENT_TYPE_LATEST
from api.http.deps import Caller, RuntimeDep, require
from api.http.models import Health, KeysResponse, Readiness, SignerInfo, WatermarkKeyInfo
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
