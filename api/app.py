"""The FastAPI application: health and the text routes (the full API is built out separately)."""

from __future__ import annotations

import threading
from typing import Annotated, Any, Literal

from fastapi import Depends, FastAPI, Request
from pydantic import BaseModel, Field, model_validator
from starlette.concurrency import run_in_threadpool
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from api.problems import install_problem_handlers, problem
from api.settings import Settings, get_settings
from api.text_service import TextService
from watermark.errors import InvalidInput

__all__ = ["create_app"]

_MAX_BODY = 4 * 1024 * 1024


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
    top_k: int = Field(default=0, ge=0)
    repetition_penalty: float = Field(default=1.0, ge=1.0, le=10.0)
    seed: int | None = Field(default=None, ge=0, lt=2**63)
    watermark: bool = True

    @model_validator(mode="after")
    def _one_input(self) -> GenerateRequest:
        if (self.prompt is None) == (self.messages is None):
            raise ValueError("give exactly one of `prompt` or `messages`")
        return self


class DetectRequest(BaseModel):
    """Body of ``POST /v1/text/detect``."""

    text: str


class BodyLimit:
    """ASGI middleware: refuse request bodies over ``max_bytes`` (declared or streamed) with 413."""

    def __init__(self, app: ASGIApp, *, max_bytes: int) -> None:
        self.app, self.max_bytes = app, max_bytes

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        declared = dict(scope.get("headers") or []).get(b"content-length")
        if declared is not None and (not declared.isdigit() or int(declared) > self.max_bytes):
            await self._refuse(scope, receive, send)
            return
        # Read the body up to the limit before the application sees it, then replay it.
        chunks: list[bytes] = []
        size = 0
        while True:
            message = await receive()
            if message["type"] != "http.request":
                break
            chunks.append(message.get("body", b""))
            size += len(chunks[-1])
            if size > self.max_bytes:
                await self._refuse(scope, receive, send)
                return
            if not message.get("more_body", False):
                break
        body = b"".join(chunks)
        replayed = False

        async def replay() -> Message:
            nonlocal replayed
            if replayed:
                return await receive()
            replayed = True
            return {"type": "http.request", "body": body, "more_body": False}

        await self.app(scope, replay, send)

    async def _refuse(self, scope: Scope, receive: Receive, send: Send) -> None:
        response = problem(
            413,
            "Payload too large",
            f"request bodies are limited to {self.max_bytes} bytes",
            "https://assay.dev/problems/payload-too-large",
        )
        await response(scope, receive, send)


def get_text_service(request: Request) -> TextService:
    """The application's text service (overridable in tests)."""
    service: TextService = request.app.state.text
    return service


ServiceDep = Annotated[TextService, Depends(get_text_service)]


def create_app(settings: Settings | None = None) -> FastAPI:
    """Build the application; ``settings`` defaults to :func:`get_settings`."""
    settings = settings or get_settings()
    service = TextService(settings)
    generation_lock = threading.Lock()  # one generation at a time: the model uses every core
    app = FastAPI(title="Assay", version="0.1.0", description="Provenance, watermarking and AI-content detection.")
    app.state.text = service
    install_problem_handlers(app)

    app.add_middleware(BodyLimit, max_bytes=_MAX_BODY)

    @app.get("/healthz")
    def healthz() -> dict[str, str]:
        """Liveness."""
        return {"status": "ok"}

    @app.post("/v1/text/generate")
    def text_generate(body: GenerateRequest, svc: ServiceDep) -> dict[str, Any]:
        """Generate text, watermarked with the active key unless ``watermark`` is false."""
        if body.max_new_tokens > svc.settings.max_new_tokens:
            raise InvalidInput(f"max_new_tokens is limited to {svc.settings.max_new_tokens}")
        prompt: Any = body.prompt if body.prompt is not None else [m.model_dump() for m in body.messages or []]
        with generation_lock:
            gen = svc.generate(
                prompt,
                watermark=body.watermark,
                max_new_tokens=body.max_new_tokens,
                temperature=body.temperature,
                top_p=body.top_p,
                top_k=body.top_k,
                repetition_penalty=body.repetition_penalty,
                seed=body.seed,
            )
        return gen.to_dict()

    @app.post("/v1/text/detect")
    async def text_detect(body: DetectRequest, svc: ServiceDep) -> dict[str, Any]:
        """The report for a text: watermark detections under every key, with spans."""
        report = await run_in_threadpool(svc.detect, body.text)
        return report.to_dict()

    return app
