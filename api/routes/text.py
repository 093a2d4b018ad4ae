"""``/v1/text``: generate watermarked text (optionally streamed) and detect."""

from __future__ import annotations

import hashlib
import json
import logging
import queue
import threading
import uuid
from collections.abc import Iterator
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Depends
from fastapi.responses import Response, StreamingResponse
from pydantic import BaseModel, Field, model_validator
from starlette.concurrency import run_in_threadpool

from api.deps import Caller, RuntimeDep, Stopwatch, audited, require
from api.runtime import Runtime
from detect.report import Report
from watermark.errors import AssayError, InvalidInput
from watermark.text import Generation

__all__ = ["router"]

log = logging.getLogger(__name__)
router = APIRouter(prefix="/v1/text", tags=["text"])


class ChatMessage(BaseModel):
    """One chat message."""

    role: Literal["system", "user", "assistant"]
    content: str = Field(max_length=100_000)


class GenerateRequest(BaseModel):
    """Body of ``POST /v1/text/generate``: a prompt or chat messages."""

    prompt: str | None = Field(default=None, min_length=1, max_length=100_000)
    messages: list[ChatMessage] | None = Field(default=None, min_length=1, max_length=64)
    max_new_tokens: int = Field(default=200, ge=1, le=4096)
    temperature: float = Field(default=1.0, ge=0.0, le=10.0)
    top_p: float = Field(default=1.0, gt=0.0, le=1.0)
    top_k: int = Field(default=0, ge=0, le=100_000)
    repetition_penalty: float = Field(default=1.0, ge=1.0, le=10.0)
    seed: int | None = Field(default=None, ge=0, lt=2**63)
    watermark: bool = True
    stream: bool = Field(default=False, description="Send the text as server-sent events while it is sampled.")

    @model_validator(mode="after")
    def _one_input(self) -> GenerateRequest:
        if (self.prompt is None) == (self.messages is None):
            raise ValueError("give exactly one of `prompt` or `messages`")
        return self


class DetectRequest(BaseModel):
    """Body of ``POST /v1/text/detect``."""

    text: str


def _generate(rt: Runtime, caller: Caller, body: GenerateRequest, streamer: Any = None) -> dict[str, Any]:
    if body.max_new_tokens > rt.settings.max_new_tokens:
        raise InvalidInput(f"max_new_tokens is limited to {rt.settings.max_new_tokens}")
    prompt: Any = body.prompt if body.prompt is not None else [m.model_dump() for m in body.messages or []]
    record_id = f"urn:uuid:{uuid.uuid4()}"

    def work() -> Generation:
        return rt.batcher.generate(
            prompt,
            queue_timeout=rt.settings.request_timeout_s / 2,
            watermark=body.watermark,
            max_new_tokens=body.max_new_tokens,
            temperature=body.temperature,
            top_p=body.top_p,
            top_k=body.top_k,
            repetition_penalty=body.repetition_penalty,
            seed=body.seed,
            streamer=streamer,
        )

    def describe(gen: Generation) -> tuple[str, str | None, dict[str, Any]]:
        key = gen.watermark["key_id"] if gen.watermark else None
        output = hashlib.sha256(gen.text.encode()).hexdigest()  # lets an audit tie a text found later to this row
        detail = {"record_id": record_id, "tokens": len(gen.token_ids), "output_sha256": output}
        return "watermarked" if key else "unmarked", key, detail

    gen: Generation = audited(rt, caller, "text.generate", json.dumps(prompt).encode(), work, describe)
    return gen.to_dict() | {"record_id": record_id}


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


@router.post("/generate", responses={200: {"content": {"text/event-stream": {}}}})
async def text_generate(
    body: GenerateRequest, rt: RuntimeDep, caller: Annotated[Caller, Depends(require("generate"))]
) -> Any:
    """Generate text, watermarked with the active key unless ``watermark`` is false.

    With ``stream: true`` the response is ``text/event-stream``: ``delta`` events carry text as it
    is sampled, then one ``done`` event carries the same object the non-streaming call returns
    (or an ``error`` event with a problem object).
    """
    if not body.stream:
        return await run_in_threadpool(_generate, rt, caller, body)
    if body.max_new_tokens > rt.settings.max_new_tokens:
        raise InvalidInput(f"max_new_tokens is limited to {rt.settings.max_new_tokens}")
    tokenizer = (await run_in_threadpool(rt.text.model)).tokenizer
    streamer = _TokenQueue(tokenizer)
    outcome: dict[str, Any] = {}

    def run() -> None:
        try:
            outcome["done"] = _generate(rt, caller, body, streamer)
        except AssayError as exc:
            outcome["error"] = {"type": exc.type, "title": exc.title, "status": exc.status, "detail": str(exc)}
        except Exception:
            log.exception("streamed generation failed")
            outcome["error"] = {"type": "about:blank", "title": "Internal error", "status": 500}
        finally:
            streamer.queue.put(None)

    threading.Thread(target=run, name="assay-generate-stream", daemon=True).start()

    def events() -> Iterator[str]:
        while (delta := streamer.queue.get()) is not None:
            yield _sse("delta", {"text": delta})
        yield _sse("done", outcome["done"]) if "done" in outcome else _sse("error", outcome["error"])

    return StreamingResponse(events(), media_type="text/event-stream", headers={"cache-control": "no-store"})


def _detect(rt: Runtime, caller: Caller, text: str, watch: Stopwatch) -> Report:
    def describe(report: Report) -> tuple[str, str | None, dict[str, Any]]:
        return report.verdict, report.marked_key, {"label": report.label}

    work = lambda: watch.run(lambda: rt.text.detect(text))  # noqa: E731
    report: Report = audited(rt, caller, "text.detect", text.encode(), work, describe)
    return report


@router.post("/detect")
async def text_detect(
    body: DetectRequest,
    rt: RuntimeDep,
    caller: Annotated[Caller, Depends(require("verify"))],
    response: Response,
) -> dict[str, Any]:
    """The report for a text: watermark detections under every key, with spans, and AI-likelihood.

    The ``Server-Timing`` header gives the time spent in detection itself (``detect;dur=`` ms).
    """
    watch = Stopwatch()
    report = await run_in_threadpool(_detect, rt, caller, body.text, watch)
    response.headers["server-timing"] = watch.header("detect")
    return report.to_dict()
