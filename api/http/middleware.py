"""ASGI middleware: unexpected errors, request body limit, request timeout, security headers."""

from __future__ import annotations

import asyncio
import contextlib
import logging

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from api.core.error_kinds import INTERNAL, TIMEOUT
from api.http.problems import problem, problem_response
from watermark.errors import PayloadTooLarge

__all__ = ["BodyLimit", "SecurityHeaders", "Timeout", "UnexpectedErrors"]

log = logging.getLogger(__name__)


class UnexpectedErrors:
    """Turn an unexpected exception into a 500 problem response *inside* the other middleware, so
    it gets the security headers and is counted like any response (Starlette's own handler for
    ``Exception`` runs outside every user middleware). The exception is logged, never returned."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = False

        async def watch(message: Message) -> None:
            nonlocal started
            started = started or message["type"] == "http.response.start"
            await send(message)

        try:
            await self.app(scope, receive, watch)
        except Exception:
            if started:  # too late for a clean response: let the server close the connection
                raise
            log.exception("unexpected error")
            response = problem(INTERNAL, "an unexpected error occurred; it has been logged")
            await response(scope, receive, send)


class BodyLimit:
    """Refuse request bodies over ``max_bytes`` (declared or streamed) with 413."""

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
        response = problem_response(PayloadTooLarge(f"request bodies are limited to {self.max_bytes} bytes"))
        await response(scope, receive, send)


class Timeout:
    """Answer 503 when a request has not started its response within ``seconds``.

    Work already handed to a thread cannot be interrupted; it finishes and its result is dropped.
    Streaming responses are not cut once they have started.
    """

    def __init__(self, app: ASGIApp, *, seconds: float) -> None:
        self.app, self.seconds = app, seconds

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = asyncio.Event()

        async def watch(message: Message) -> None:
            if message["type"] == "http.response.start":
                started.set()
            await send(message)

        task = asyncio.ensure_future(self.app(scope, receive, watch))
        waiter = asyncio.ensure_future(started.wait())
        done, _ = await asyncio.wait({task, waiter}, timeout=self.seconds, return_when=asyncio.FIRST_COMPLETED)
        waiter.cancel()
        if not done:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await task
            response = problem(TIMEOUT, f"the request took longer than {self.seconds:g} s")
            await response(scope, receive, send)
            return
        await task


class SecurityHeaders:
    """Headers on every response: no sniffing, no framing, a strict content policy for the page."""

    HEADERS = (
        (b"x-content-type-options", b"nosniff"),
        (b"x-frame-options", b"DENY"),
        (b"referrer-policy", b"no-referrer"),
        (
            b"content-security-policy",
            b"default-src 'self'; img-src 'self' blob: data:; style-src 'self'; script-src 'self'; "
            b"connect-src 'self'; frame-ancestors 'none'",
        ),
    )

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return

        async def add(message: Message) -> None:
            if message["type"] == "http.response.start":
                names = {k.lower() for k, _ in message.get("headers", [])}
                extra = [(k, v) for k, v in self.HEADERS if k not in names]
                message = {**message, "headers": [*message.get("headers", []), *extra]}
            await send(message)

        await self.app(scope, receive, add)
