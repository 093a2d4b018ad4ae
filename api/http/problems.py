"""Assay's errors as ``application/problem+json`` (RFC 9457), answered from the core's one status
and type table (:mod:`api.core.error_kinds`), and the same problems documented in the OpenAPI
document.
"""

from __future__ import annotations

import logging
from typing import Any

import sqlalchemy as sa
from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from pydantic import BaseModel, ConfigDict, Field
from starlette.exceptions import HTTPException as StarletteHTTPException

from api.core.error_kinds import (
    BAD_REQUEST,
    BASE,
    INVALID_REQUEST,
    METHOD_NOT_ALLOWED,
    NOT_FOUND,
    STORE_DOWN,
    ProblemKind,
    is_store_down,
    kind_of,
)
from watermark import errors as e

__all__ = [
    "PROBLEM",
    "Problem",
    "ValidationIssue",
    "error_responses",
    "install_problem_handlers",
    "problem",
    "problem_response",
]

log = logging.getLogger(__name__)
PROBLEM = "application/problem+json"
_SERVER_FAULT = "the server is misconfigured; the operator's log has the details"


class ValidationIssue(BaseModel):
    """One reason a request was refused by validation."""

    loc: list[str] = Field(description="Where: `body`, `query`, `path` or `header`, then the field.")
    msg: str


class Problem(BaseModel):
    """An error (RFC 9457 problem details). ``type`` is stable; ``detail`` is for people."""

    model_config = ConfigDict(extra="allow")

    type: str = Field(examples=[BASE + "payload-too-large"])
    title: str
    status: int
    detail: str
    errors: list[ValidationIssue] | None = Field(default=None, description="Set on `invalid-request` problems.")


_DESCRIPTIONS = {
    400: "The request cannot be parsed.",
    401: "No API key, or one that matches no live key.",
    403: "The API key lacks the scope this route needs.",
    404: "Not found (an unknown manifest id or key id).",
    413: "The body, image or text is over a configured limit.",
    415: "A content type or file format Assay cannot read.",
    422: "The request or its content is invalid.",
    429: "Rate limit reached; see `Retry-After`.",
    503: "Not ready, overloaded, or the request timed out; see `Retry-After` where given.",
}


def error_responses(*statuses: int) -> dict[int | str, dict[str, Any]]:
    """OpenAPI ``responses`` entries for these statuses, each a problem+json :class:`Problem`."""
    schema = {"$ref": "#/components/schemas/Problem"}
    return {s: {"description": _DESCRIPTIONS[s], "content": {PROBLEM: {"schema": schema}}} for s in statuses}


def problem(kind: ProblemKind, detail: str, **extra: object) -> JSONResponse:
    """An RFC 9457 problem response."""
    body = {"type": kind.type, "title": kind.title, "status": kind.status, "detail": detail, **extra}
    return JSONResponse(body, status_code=kind.status, media_type=PROBLEM)


def problem_response(exc: e.AssayError) -> JSONResponse:
    """The response for an Assay error, with ``Retry-After`` / ``WWW-Authenticate`` where they apply."""
    kind = kind_of(exc)
    # A 500's message names files and settings of the server: the client gets a fixed sentence.
    response = problem(kind, str(exc) if kind.status < 500 or isinstance(exc, e.Unavailable) else _SERVER_FAULT)
    retry = getattr(exc, "retry_after", None)
    if retry is not None:
        response.headers["retry-after"] = str(retry)
    if kind.status == 401:
        response.headers["www-authenticate"] = "Bearer"
    return response


def _where(loc: tuple[Any, ...]) -> str:
    if not loc:
        return "the request"
    part = {"body": "the request body", "query": "the query parameter", "path": "the path parameter"}.get(
        str(loc[0]), f"the {loc[0]}"
    )
    name = ".".join(str(p) for p in loc[1:])
    return f"{part} {name!r}" if name and loc[0] != "body" else (f"{part} field {name!r}" if name else part)


def install_problem_handlers(app: FastAPI) -> None:
    """Register the handlers that turn every error into problem+json (never a stack trace)."""

    @app.exception_handler(e.AssayError)
    async def _assay(_: Request, exc: e.AssayError) -> JSONResponse:
        return problem_response(exc)

    @app.exception_handler(sa.exc.OperationalError)
    @app.exception_handler(sa.exc.InterfaceError)
    async def _store(_: Request, exc: sa.exc.DBAPIError) -> JSONResponse:
        if not is_store_down(exc):
            raise exc  # a broken schema or query is the server's fault: the unexpected-error path (500)
        log.warning("the store cannot be reached: %s", exc.__class__.__name__)
        return problem_response(STORE_DOWN)

    @app.exception_handler(RequestValidationError)
    async def _validation(_: Request, exc: RequestValidationError) -> JSONResponse:
        raw = list(exc.errors())
        if any(err.get("type") == "json_invalid" for err in raw):
            return problem(INVALID_REQUEST, "the request body is not valid JSON", errors=[])
        errors = [{"loc": [str(p) for p in err.get("loc", ())], "msg": str(err.get("msg", ""))} for err in raw]
        first = raw[0] if raw else {}
        detail = f"{_where(tuple(first.get('loc', ())))} is invalid: {first.get('msg', '')}".rstrip(": ")
        return problem(INVALID_REQUEST, detail, errors=errors)

    @app.exception_handler(StarletteHTTPException)
    async def _http(_: Request, exc: StarletteHTTPException) -> JSONResponse:
        if exc.status_code == 400 and isinstance(exc.__cause__, UnicodeDecodeError):
            # FastAPI's answer to a JSON body that is not UTF-8: the same problem as any invalid JSON
            return problem(INVALID_REQUEST, "the request body is not valid JSON (not UTF-8 text)", errors=[])
        kind = {404: NOT_FOUND, 405: METHOD_NOT_ALLOWED, 400: BAD_REQUEST}.get(exc.status_code)
        if kind is None:
            kind = ProblemKind(exc.status_code, f"http-{exc.status_code}", "HTTP error")
        response = problem(kind, str(exc.detail))
        for name, value in (exc.headers or {}).items():
            response.headers[name] = value
        return response
