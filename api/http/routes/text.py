"""``/v1/text``: generate watermarked text (optionally streamed) and detect."""

from __future__ import annotations

import json
import logging
import queue
import threading
from collections.abc import Iterator
from typing import Annotated, Any

from fastapi import APIRouter, Depends
from fastapi.responses import Response, StreamingResponse
from starlette.concurrency import run_in_threadpool

from api.core.error_kinds import INTERNAL
from api.core.operations import Operations
from api.http.deps import Caller, OpsDep, RuntimeDep, Stopwatch, require
from api.http.models import DetectRequest, GenerateRequest, GenerateResponse, GenerationWatermark
from api.http.problems import error_responses, problem, problem_response
from detect.report import Report
from watermark.errors import AssayError, InvalidInput
from watermark.text.generate import Prompt

__all__ = ["router"]

log = logging.getLogger(__name__)
router = APIRouter(prefix="/v1/text", tags=["text"])


def _generate(ops: Operations, caller: Caller, body: GenerateRequest, streamer: Any = None) -> GenerateResponse:
    prompt: Prompt = body.prompt if body.prompt is not None else [m.model_dump() for m in body.messages or []]
    out = ops.generate(
        prompt,
        actor=caller.actor,
        watermark=body.watermark,
        max_new_tokens=body.max_new_tokens,
        temperature=body.temperature,
        top_p=body.top_p,
        top_k=body.top_k,
        repetition_penalty=body.repetition_penalty,
        seed=body.seed,
        streamer=streamer,
        credentials=body.credentials,
    )
    gen = out.generation
    return GenerateResponse(
        text=out.text,
        token_ids=list(gen.token_ids),
        prompt_tokens=gen.prompt_tokens,
        finish_reason=gen.finish_reason,  # type: ignore[arg-type]
        watermark=GenerationWatermark.model_validate(gen.watermark) if gen.watermark else None,
        record_id=out.record_id,
        manifest_id=out.credentials.signed.label if out.credentials is not None else None,
    )


class _TokenQueue:
    """A ``transformers`` streamer that hands decoded text deltas to a consumer thread."""

    def __init__(self, tokenizer: Any) -> None:
        self.tokenizer = tokenizer
        self.queue: queue.Queue[str | None] = queue.Queue()
        self.ids: list[int] = []
        self.sent = 0
        self.first = True

    def put(self, value: Any) -> None:
        """Take the next sampled token ids (the first call carries the prompt)."""
        if self.first:  # the prompt comes first
            self.first = False
            return
        self.ids.extend(int(t) for t in value.reshape(-1).tolist())
        text = self.tokenizer.decode(self.ids, skip_special_tokens=True)
        if len(text) > self.sent and not text.endswith("\ufffd"):
            self.queue.put(text[self.sent :])
            self.sent = len(text)

    def end(self) -> None:
        """Nothing: the worker ends the stream once the result (or error) is ready."""


def _sse(event: str, data: dict[str, Any]) -> str:
    return f"event: {event}\ndata: {json.dumps(data)}\n\n"


_STREAM: dict[int | str, dict[str, Any]] = {
    200: {
        "description": "The generated text; with `stream: true`, `text/event-stream` events instead.",
        "content": {
            "text/event-stream": {
                "schema": {
                    "type": "object",
                    "description": "One server-sent event; `data` is JSON: `{text}` for `delta`, the "
                    "GenerateResponse for `done`, a Problem for `error`.",
                    "properties": {
                        "event": {"type": "string", "enum": ["delta", "done", "error"]},
                        "data": {"type": "string"},
                    },
                    "required": ["event", "data"],
                }
            }
        },
    }
}


@router.post(
    "/generate",
    response_model=GenerateResponse,
    responses=_STREAM | error_responses(400, 401, 403, 404, 413, 422, 429, 503),
)
async def text_generate(
    body: GenerateRequest, rt: RuntimeDep, ops: OpsDep, caller: Annotated[Caller, Depends(require("generate"))]
) -> Any:
    """Generate text, watermarked with the active key unless ``watermark`` is false.

    With ``stream: true`` the response is ``text/event-stream``: ``delta`` events carry text as it
    is sampled, then one ``done`` event carries the same object the non-streaming call returns
    (or an ``error`` event with a problem object).
    """
    if not body.stream:
        return await run_in_threadpool(_generate, ops, caller, body)
    if body.max_new_tokens > rt.settings.max_new_tokens:  # before the stream starts: a plain 422 problem
        raise InvalidInput(f"max_new_tokens is limited to {rt.settings.max_new_tokens}")
    tokenizer = (await run_in_threadpool(rt.text.model)).tokenizer
    streamer = _TokenQueue(tokenizer)
    outcome: dict[str, Any] = {}

    def run() -> None:
        try:
            outcome["done"] = _generate(ops, caller, body, streamer).model_dump(mode="json")
        except AssayError as exc:
            outcome["error"] = json.loads(bytes(problem_response(exc).body))
        except Exception:
            log.exception("streamed generation failed")
            outcome["error"] = json.loads(
                bytes(problem(INTERNAL, "an unexpected error occurred; it has been logged").body)
            )
        finally:
            streamer.queue.put(None)

    threading.Thread(target=run, name="assay-generate-stream", daemon=True).start()

    def events() -> Iterator[str]:
        while (delta := streamer.queue.get()) is not None:
            yield _sse("delta", {"text": delta})
        yield _sse("done", outcome["done"]) if "done" in outcome else _sse("error", outcome["error"])

    return StreamingResponse(events(), media_type="text/event-stream", headers={"cache-control": "no-store"})


@router.post("/detect", response_model=Report, responses=error_responses(400, 401, 403, 404, 413, 422, 429, 503))
async def text_detect(
    body: DetectRequest,
    ops: OpsDep,
    caller: Annotated[Caller, Depends(require("verify"))],
    response: Response,
) -> Report:
    """The report for a text: watermark detections under every key, with spans, and AI-likelihood.

    The ``Server-Timing`` header gives the time spent in detection itself (``detect;dur=`` ms).
    """
    watch = Stopwatch()
    report: Report = await run_in_threadpool(watch.run, lambda: ops.detect_text(body.text, actor=caller.actor))
    response.headers["server-timing"] = watch.header("detect")
    return report
