"""Operations: liveness, readiness, Prometheus metrics, and the watermark keys (never secrets)."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends
from fastapi.responses import JSONResponse, Response

from api.deps import Caller, RuntimeDep, require
from api.metrics import CONTENT_TYPE_LATEST

__all__ = ["router"]

router = APIRouter(tags=["operations"])


@router.get("/healthz")
def healthz() -> dict[str, str]:
    """Liveness: the process answers."""
    return {"status": "ok"}


@router.get("/readyz", responses={503: {"description": "Not ready yet (model loading or store unreachable)."}})
def readyz(rt: RuntimeDep) -> JSONResponse:
    """Readiness: the model is loaded and the store answers."""
    state = rt.readiness()
    return JSONResponse(state, status_code=200 if state["ready"] else 503)


@router.get("/metrics", response_class=Response, responses={200: {"content": {CONTENT_TYPE_LATEST: {}}}})
def metrics(rt: RuntimeDep) -> Response:
    """Prometheus metrics."""
    rt.readiness()
    return Response(rt.metrics.render(), media_type=CONTENT_TYPE_LATEST)


@router.get("/v1/keys")
def keys(rt: RuntimeDep, _: Annotated[Caller, Depends(require("admin"))]) -> dict[str, Any]:
    """Watermark key ids, schemes, parameters and status, and the signer in use (never secrets)."""
    ring = rt.text.keyring
    rows = [
        {
            "key_id": k.key_id,
            "scheme": k.scheme,
            "status": "active" if k.key_id == ring.active.key_id else "detect-only",
            "parameters": dict(k.params),
        }
        for k in ring
    ]
    creds = rt.media.credentials()
    signer = {"name": rt.media.signer_name, "algorithm": creds.alg, "development": creds.development}
    return {"watermark_keys": rows, "signer": signer}
