"""Map Assay's errors, once, to ``application/problem+json`` responses."""

from __future__ import annotations

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException as StarletteHTTPException

from watermark.errors import AssayError

__all__ = ["install_problem_handlers", "problem"]

PROBLEM = "application/problem+json"


def problem(status: int, title: str, detail: str, type_: str = "about:blank", **extra: object) -> JSONResponse:
    """An RFC 9457 problem response."""
    body = {"type": type_, "title": title, "status": status, "detail": detail, **extra}
    return JSONResponse(body, status_code=status, media_type=PROBLEM)


def install_problem_handlers(app: FastAPI) -> None:
    """Register the handlers that turn every error into problem+json (never a stack trace)."""

    @app.exception_handler(AssayError)
    async def _assay(_: Request, exc: AssayError) -> JSONResponse:
        response = problem(exc.status, exc.title, str(exc), exc.type)
        retry = getattr(exc, "retry_after", None)
        if retry is not None:
            response.headers["retry-after"] = str(retry)
        if exc.status == 401:
            response.headers["www-authenticate"] = "Bearer"
        return response

    @app.exception_handler(RequestValidationError)
    async def _validation(_: Request, exc: RequestValidationError) -> JSONResponse:
        errors = [{"loc": [str(p) for p in e.get("loc", ())], "msg": str(e.get("msg", ""))} for e in exc.errors()]
        return problem(
            422,
            "Invalid request",
            "the request body is invalid",
            "https://assay.dev/problems/invalid-request",
            errors=errors,
        )

    @app.exception_handler(StarletteHTTPException)
    async def _http(_: Request, exc: StarletteHTTPException) -> JSONResponse:
        return problem(exc.status_code, "HTTP error", str(exc.detail))
