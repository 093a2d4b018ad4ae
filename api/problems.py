"""Assay's errors as ``application/problem+json`` (RFC 9457): the one status and type table.

The libraries raise :mod:`watermark.errors` classes that know nothing of HTTP; this module maps
each class (the nearest entry in its MRO) to a status, a stable problem ``type`` and a title, and
documents the same problems in the OpenAPI document. The CLI uses the same table for its exit
codes (see :func:`is_client_error`).
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import Any

import sqlalchemy as sa
from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from pydantic import BaseModel, ConfigDict, Field
from starlette.exceptions import HTTPException as StarletteHTTPException

from watermark import errors as e

__all__ = [
    "PROBLEM",
    "Problem",
    "ProblemKind",
    "ValidationIssue",
    "error_responses",
    "install_problem_handlers",
    "is_client_error",
    "is_store_down",
    "kind_of",
    "problem",
    "problem_response",
]

log = logging.getLogger(__name__)
PROBLEM = "application/problem+json"
_SERVER_FAULT = "the server is misconfigured; the operator's log has the details"
BASE = "https://assay.dev/problems/"


@dataclass(frozen=True)
class ProblemKind:
    """How one class of error is answered: HTTP status, problem type slug, title."""

    status: int
    slug: str
    title: str

    @property
    def type(self) -> str:
        """The problem ``type`` URI."""
        return BASE + self.slug


# Most specific first is not needed: the lookup walks each error's MRO.
_TABLE: dict[type[e.AssayError], ProblemKind] = {
    e.AssayError: ProblemKind(500, "internal", "Internal error"),
    e.InvalidInput: ProblemKind(422, "invalid-input", "Invalid input"),
    e.TooShort: ProblemKind(422, "too-short", "Too short to decide"),
    e.UnsupportedMedia: ProblemKind(415, "unsupported-media", "Unsupported media"),
    e.PayloadTooLarge: ProblemKind(413, "payload-too-large", "Payload too large"),
    e.UnknownKey: ProblemKind(404, "unknown-key", "Unknown key"),
    e.ManifestNotFound: ProblemKind(404, "manifest-not-found", "Manifest not found"),
    e.SignatureInvalid: ProblemKind(422, "signature-invalid", "Signature invalid"),
    e.Unauthorized: ProblemKind(401, "unauthorized", "Unauthorized"),
    e.Forbidden: ProblemKind(403, "forbidden", "Forbidden"),
    e.Unavailable: ProblemKind(503, "unavailable", "Unavailable"),
    e.RateLimited: ProblemKind(429, "rate-limited", "Too many requests"),
    e.Overloaded: ProblemKind(503, "overloaded", "Overloaded"),
    e.ModelUnavailable: ProblemKind(503, "model-unavailable", "Model unavailable"),
    e.StoreUnavailable: ProblemKind(503, "store-unavailable", "Store unavailable"),
    e.ConfigurationError: ProblemKind(500, "configuration", "Configuration error"),
}
# Problems that do not come from an AssayError: routing and request parsing.
NOT_FOUND = ProblemKind(404, "not-found", "Not found")
METHOD_NOT_ALLOWED = ProblemKind(405, "method-not-allowed", "Method not allowed")
INVALID_REQUEST = ProblemKind(422, "invalid-request", "Invalid request")
BAD_REQUEST = ProblemKind(400, "bad-request", "Bad request")
TIMEOUT = ProblemKind(503, "timeout", "Timed out")
INTERNAL = _TABLE[e.AssayError]
# A database error that is the connection's, not the request's: the store is down or restarting.
STORE_DOWN = e.StoreUnavailable("the store cannot be reached; retry shortly", retry_after=5)


def kind_of(exc: e.AssayError) -> ProblemKind:
    """The table entry of an error: its class's, or the nearest base class's."""
    for cls in type(exc).__mro__:
        if cls in _TABLE:
            return _TABLE[cls]
    return INTERNAL


def is_store_down(exc: sa.exc.DBAPIError) -> bool:
    """Whether a database error means the database cannot be reached (no connection could be made,
    or the one in use was lost), rather than a statement failing."""
    return bool(exc.connection_invalidated) or exc.statement is None


def is_client_error(exc: e.AssayError) -> bool:
    """Whether the error is the caller's to fix (a 4xx), not Assay's or its configuration's."""
    return kind_of(exc).status < 500


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
        kind = {404: NOT_FOUND, 405: METHOD_NOT_ALLOWED, 400: BAD_REQUEST}.get(exc.status_code)
        if kind is None:
            kind = ProblemKind(exc.status_code, f"http-{exc.status_code}", "HTTP error")
        response = problem(kind, str(exc.detail))
        for name, value in (exc.headers or {}).items():
            response.headers[name] = value
        return response
