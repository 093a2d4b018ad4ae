"""The FastAPI application: routes, middleware, error mapping, and the web page at ``/``."""

from __future__ import annotations

import logging
import threading
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

from fastapi import FastAPI
from fastapi.openapi.utils import get_openapi
from fastapi.responses import HTMLResponse
from fastapi.staticfiles import StaticFiles

from api.core.metrics import MetricsMiddleware
from api.core.operations import Operations
from api.core.runtime import Runtime
from api.core.settings import Settings, get_settings
from api.http.access_log import install_access_log_filter
from api.http.middleware import BodyLimit, SecurityHeaders, Timeout, UnexpectedErrors
from api.http.problems import Problem, install_problem_handlers
from api.http.routes import labels, media, ops, text

__all__ = ["create_app"]

log = logging.getLogger(__name__)
WEB = Path(__file__).parent / "web"


def _warm(rt: Runtime) -> None:
    try:
        rt.warm()
        log.info("model and signer loaded; ready")
    except Exception:  # readiness keeps saying why; the error is logged once here
        log.exception("warming up failed")


def _openapi(app: FastAPI) -> dict[str, Any]:
    """The OpenAPI document, with the problem schema every error response refers to."""
    if app.openapi_schema is None:
        doc = get_openapi(
            title=app.title, version=app.version, description=app.description, routes=app.routes, tags=app.openapi_tags
        )
        schemas = doc.setdefault("components", {}).setdefault("schemas", {})
        problem = Problem.model_json_schema(ref_template="#/components/schemas/{model}")
        schemas.update(problem.pop("$defs", {}))
        schemas["Problem"] = problem
        for unused in ("HTTPValidationError", "ValidationError"):
            schemas.pop(unused, None)
        app.openapi_schema = doc
    return app.openapi_schema


def create_app(settings: Settings | None = None, *, runtime: Runtime | None = None) -> FastAPI:
    """Build the application; ``settings`` defaults to :func:`get_settings`.

    Raises:
        ConfigurationError: the store cannot be opened.
    """
    rt = runtime or Runtime.open(settings or get_settings())
    install_access_log_filter(drop_client=rt.settings.public_mode)

    @asynccontextmanager
    async def lifespan(_: FastAPI) -> AsyncIterator[None]:
        if rt.settings.warm_on_start:
            threading.Thread(target=_warm, args=(rt,), name="assay-warm", daemon=True).start()
        yield

    app = FastAPI(
        title="Assay",
        version="0.1.0",
        description=(
            "Provenance, watermarking and AI-content detection. Every error is `application/problem+json` "
            "(the `Problem` schema) with a stable `type`. Send an API key as `Authorization: Bearer <key>` "
            "or `X-API-Key`."
        ),
        docs_url=None,  # the stock docs page loads scripts from a CDN; the OpenAPI document is at /openapi.json
        redoc_url=None,
        lifespan=lifespan,
        generate_unique_id_function=lambda route: route.name,  # operationIds a generated client can use
    )
    app.state.runtime = rt
    app.state.operations = Operations(rt)
    install_problem_handlers(app)
    app.include_router(ops.router)
    app.include_router(text.router)
    app.include_router(media.router)
    app.include_router(labels.router)

    page = WEB.joinpath("index.html").read_text()
    if not (rt.settings.anonymous_verify or rt.settings.public_mode):  # say so before the first check
        page = page.replace('<div id="auth" hidden>', '<div id="auth">', 1)

    @app.get("/", include_in_schema=False)
    def index() -> HTMLResponse:
        return HTMLResponse(page, headers={"cache-control": "no-cache"})

    app.mount("/static", StaticFiles(directory=WEB / "static"), name="static")
    app.openapi = lambda: _openapi(app)  # type: ignore[method-assign]

    # Outermost last: metrics see every response, including refusals by the limits below them.
    app.add_middleware(UnexpectedErrors)
    app.add_middleware(Timeout, seconds=rt.settings.request_timeout_s)
    app.add_middleware(BodyLimit, max_bytes=rt.settings.max_upload_bytes)
    app.add_middleware(SecurityHeaders)
    app.add_middleware(MetricsMiddleware, metrics=rt.metrics)
    return app
