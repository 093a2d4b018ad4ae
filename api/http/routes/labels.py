"""Labelling law: write the labels the rules name (``/v1/label``), say who is trusted
(``/v1/trust``), and take feedback on verdicts (``/v1/feedback``: the detection tool SB 942 and
the EU Code ask for)."""

from __future__ import annotations

from typing import Annotated, Any, Literal

from fastapi import APIRouter, Depends, Query, Request
from fastapi.responses import Response
from starlette.concurrency import run_in_threadpool

from api.core.labelling import Labelled, LabelRequest
from api.http.bodies import BINARY, TEXT_OR_FILE
from api.http.deps import Caller, OpsDep, RuntimeDep, read_upload, require
from api.http.models import FeedbackReceipt, FeedbackRequest, TrustListInfo, TrustResponse
from api.http.problems import error_responses
from provenance.labels import LABEL_TYPES
from provenance.manifest import SOURCE_TYPES
from provenance.trust import load_trust_anchors
from provenance.trust_lists import load_trust_list

__all__ = ["router"]

router = APIRouter(tags=["labelling"])

_LABEL_BODY: dict[str, Any] = {
    "requestBody": {
        "required": True,
        "content": TEXT_OR_FILE | {t: BINARY for t in (*LABEL_TYPES, "application/octet-stream")},
    }
}
_LABELLED_RESPONSE: dict[int | str, dict[str, Any]] = {
    200: {
        "description": "The labelled file; `Assay-Label-Carrier` says where the label went, `Assay-Manifest-Id` "
        "names the new manifest when the file was re-signed.",
        "content": {t: BINARY for t in LABEL_TYPES} | {"text/plain": {"schema": {"type": "string"}}},
        "headers": {
            "Assay-Label-Carrier": {"description": "xmp, id3, riff, mp4, ...", "schema": {"type": "string"}},
            "Assay-Manifest-Id": {"description": "The new manifest (re-signed files).", "schema": {"type": "string"}},
        },
    }
}


@router.post(
    "/v1/label",
    openapi_extra=_LABEL_BODY,
    responses=_LABELLED_RESPONSE | error_responses(401, 403, 413, 415, 422, 429, 503),
    response_class=Response,
)
async def label(
    request: Request,
    ops: OpsDep,
    caller: Annotated[Caller, Depends(require("sign"))],
    value: Annotated[
        Literal["1", "2", "3"] | None,
        Query(alias="label", description="1 AI-generated (default), 2 possibly, 3 suspected."),
    ] = None,
    producer: Annotated[str | None, Query(max_length=1024, description="ContentProducer.")] = None,
    produce_id: Annotated[str | None, Query(max_length=1024, description="ProduceID.")] = None,
    propagator: Annotated[str | None, Query(max_length=1024, description="ContentPropagator (a platform).")] = None,
    propagate_id: Annotated[str | None, Query(max_length=1024, description="PropagateID.")] = None,
    source_type: Annotated[
        str | None, Query(max_length=200, description=f"IPTC source type for images: {', '.join(SOURCE_TYPES)}.")
    ] = None,
    notice: Annotated[str | None, Query(max_length=500, description="An explicit notice at a text's start.")] = None,
    caption: Annotated[
        str | None, Query(max_length=80, description="A caption drawn onto an image (letters ≥ 5 % of its short side).")
    ] = None,
    resign: Annotated[bool, Query(description="Re-sign a file whose credentials the label would break.")] = False,
) -> Response:
    """Add or update the AIGC implicit label (GB 45438) of a file or text; a platform that
    redistributes content adds its propagator fields, the producer's are kept."""
    upload = await read_upload(request)
    if upload.text is not None:
        data, declared = upload.text.encode("utf-8", "surrogatepass"), "text/plain"
    else:
        data, declared = upload.data, upload.declared_type
    req = LabelRequest(
        label=value,
        producer=producer,
        produce_id=produce_id,
        propagator=propagator,
        propagate_id=propagate_id,
        source_type=source_type,
        notice=notice,
        caption=caption,
        resign=resign,
    )

    def work() -> Labelled:
        return ops.label(data, req, actor=caller.actor, declared_type=declared)

    out = await run_in_threadpool(work)
    headers = {"assay-label-carrier": out.carrier, "cache-control": "no-store"}
    if out.manifest_id:
        headers["assay-manifest-id"] = out.manifest_id
    media_type = "text/plain; charset=utf-8" if out.mime == "text/plain" else out.mime
    return Response(out.data, media_type=media_type, headers=headers)


@router.get("/v1/trust", response_model=TrustResponse, responses=error_responses(401, 403, 429))
def trust(rt: RuntimeDep, _: Annotated[Caller, Depends(require("verify"))]) -> TrustResponse:
    """Which C2PA lists this server trusts (version, source, entities) and how many anchors of its own."""
    s = rt.settings
    lists = []
    kinds: tuple[Literal["signers", "tsa"], ...] = ("signers", "tsa")
    for kind in kinds:
        if kind == "signers" and not s.c2pa_trust_list:
            continue
        tl = load_trust_list(kind, data_dir=s.data_dir)
        lists.append(
            TrustListInfo(
                kind=kind,
                version=tl.version,
                source="shipped" if tl.source == "shipped" else "installed",
                next_update=tl.next_update,
                entities=[e.name for e in tl.entities],
                certificates=len(tl.anchors()),
            )
        )
    return TrustResponse(
        c2pa_trust_list=s.c2pa_trust_list, lists=lists, server_anchors=len(load_trust_anchors(s.trust_anchors))
    )


@router.post("/v1/feedback", response_model=FeedbackReceipt, responses=error_responses(401, 403, 422, 429))
def feedback(
    body: FeedbackRequest, rt: RuntimeDep, _: Annotated[Caller, Depends(require("verify"))]
) -> FeedbackReceipt:
    """Say a verdict is wrong and why. Kept: the content's hash, the verdict seen, the topic and
    the comment; not kept: who sent it (no address, no key)."""
    item = rt.feedback.add(
        content_sha256=body.content_sha256, verdict_seen=body.verdict_seen, topic=body.topic, comment=body.comment
    )
    rt.metrics.feedback.labels(topic=item.topic).inc()
    return FeedbackReceipt(feedback_id=item.feedback_id)
