"""Route dependencies: the runtime, the authenticated caller with a scope, and uploads."""

from __future__ import annotations

import hashlib
import hmac
import json
import secrets
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Annotated, Any

from fastapi import Depends, Request, Security
from fastapi.security import APIKeyHeader, HTTPBearer
from starlette.concurrency import run_in_threadpool
from starlette.datastructures import UploadFile

from api.core.auth import ApiKey
from api.core.operations import Operations
from api.core.runtime import Runtime
from watermark.errors import Forbidden, InvalidInput, Unauthorized, UnsupportedMedia

__all__ = [
    "Caller",
    "OpsDep",
    "RuntimeDep",
    "Stopwatch",
    "Upload",
    "image_upload",
    "read_upload",
    "require",
]

# Declared for the OpenAPI document (``securitySchemes``); the token itself is read by ``_token``,
# which also refuses a malformed ``Authorization`` header instead of ignoring it.
_BEARER = HTTPBearer(auto_error=False, scheme_name="bearer", description="`Authorization: Bearer <API key>`")
_API_KEY = APIKeyHeader(name="X-API-Key", auto_error=False, scheme_name="apiKey", description="The API key.")


def get_runtime(request: Request) -> Runtime:
    """The application's runtime."""
    rt: Runtime = request.app.state.runtime
    return rt


RuntimeDep = Annotated[Runtime, Depends(get_runtime)]


def get_operations(request: Request) -> Operations:
    """The application's operations."""
    ops: Operations = request.app.state.operations
    return ops


OpsDep = Annotated[Operations, Depends(get_operations)]


@dataclass(frozen=True)
class Caller:
    """Who is calling: an API key, or an anonymous client (verification only, when allowed)."""

    actor: str
    key: ApiKey | None


def _token(request: Request) -> str | None:
    auth = request.headers.get("authorization")
    if auth:
        scheme, _, value = auth.partition(" ")
        if scheme.lower() != "bearer" or not value.strip():
            raise Unauthorized("use 'Authorization: Bearer <API key>'")
        return value.strip()
    return request.headers.get("x-api-key")


# Query parameters that look like credentials: refused, since URLs end up in access logs and proxies.
_URL_CREDENTIALS = frozenset({"api_key", "apikey", "api-key", "key", "token", "access_token", "auth"})


def require(scope: str) -> Callable[[Request], Awaitable[Caller]]:
    """A dependency that authenticates the caller for ``scope`` and spends one rate-limit token.

    Failed authentications spend from a stricter per-client budget (``Runtime.auth_failures``), so
    guessing keys ends in 429.
    """

    async def dependency(
        request: Request,
        _bearer: Annotated[Any, Security(_BEARER)] = None,
        _key: Annotated[Any, Security(_API_KEY)] = None,
    ) -> Caller:
        rt = get_runtime(request)
        client = request.client.host if request.client else "unknown"
        if rt.settings.public_mode:
            client = _pseudonym(client)
        if _URL_CREDENTIALS & {k.lower() for k in request.query_params}:
            rt.auth_failures.take(f"auth:{client}")
            raise Unauthorized("API keys are not accepted in the URL (URLs are logged): send 'Authorization: Bearer'")
        token = _token(request)
        if token is None:
            if scope == "verify" and rt.settings.public_mode:  # no address kept: a keyed hash limits the rate
                rt.limiter.take(f"public:{client}")
                return Caller("public", None)
            if scope == "verify" and rt.settings.anonymous_verify:
                rt.limiter.take(f"anon:{client}")
                return Caller(f"anonymous:{client}", None)
            raise Unauthorized("this route needs an API key ('Authorization: Bearer <API key>')")
        try:
            key = await run_in_threadpool(rt.api_keys.authenticate, token)  # a database lookup: off the event loop
        except Unauthorized:
            rt.auth_failures.take(f"auth:{client}")  # RateLimited once this client has guessed too often
            raise
        if not key.allows(scope):
            raise Forbidden(f"API key {key.key_id} lacks the {scope!r} scope")
        rt.limiter.take(f"key:{key.key_id}")
        return Caller(f"key:{key.key_id}", key)

    return dependency


_PSEUDONYM_KEY = secrets.token_bytes(32)  # per process: the pseudonyms cannot be reversed or linked later


def _pseudonym(client: str) -> str:
    """A client address as an unlinkable pseudonym (public mode keeps no addresses, even in Redis)."""
    return hmac.new(_PSEUDONYM_KEY, client.encode(), hashlib.sha256).hexdigest()[:24]


@dataclass(frozen=True)
class Upload:
    """A request's content: file bytes with their declared type, or a text (``data`` then empty)."""

    data: bytes
    declared_type: str
    text: str | None = None
    fields: dict[str, str] | None = None


_TEXT_TYPES = ("text/plain",)


async def read_upload(request: Request) -> Upload:
    """The content of a request: a multipart ``file`` (or ``text`` field), a raw body, or JSON ``{"text": ...}``.

    Raises:
        InvalidInput: an empty body or a malformed form.
        UnsupportedMedia: no usable content type.
    """
    ctype = request.headers.get("content-type", "").split(";")[0].strip().lower()
    if ctype == "multipart/form-data":
        try:
            form = await request.form(max_files=1, max_fields=20)
        except Exception:  # python-multipart raises several types for a malformed form
            raise InvalidInput("the multipart form cannot be parsed") from None
        if any(len(form.getlist(name)) > 1 for name in ("file", "text", "title")):
            raise InvalidInput("the form repeats a field ('file', 'text' and 'title' may appear once)")
        fields = {k: v for k, v in form.items() if isinstance(v, str)}
        file = form.get("file")
        if isinstance(file, UploadFile) and "text" in fields:
            raise InvalidInput("give a 'file' or a 'text' field, not both")
        if isinstance(file, UploadFile):
            data = await file.read()
            await file.close()
            if not data:
                raise InvalidInput("the uploaded file is empty")
            kind = (file.content_type or "application/octet-stream").split(";")[0].lower()
            return Upload(data, kind, fields=fields)
        if "text" in fields:
            return Upload(b"", "text/plain", text=fields["text"], fields=fields)
        raise InvalidInput("the form needs a 'file' or a 'text' field")
    body = await request.body()
    if not body:
        raise InvalidInput("the request body is empty")
    if ctype == "application/json":
        try:
            obj: Any = json.loads(body)
        except (ValueError, UnicodeDecodeError):
            raise InvalidInput("the JSON body cannot be parsed") from None
        except RecursionError:
            raise InvalidInput("the JSON body is nested too deeply") from None
        if not isinstance(obj, dict) or not isinstance(obj.get("text"), str):
            raise InvalidInput('a JSON body must be {"text": "..."}')
        return Upload(b"", "text/plain", text=obj["text"])
    if ctype in _TEXT_TYPES:
        try:
            return Upload(body, ctype, text=body.decode("utf-8"))
        except UnicodeDecodeError:
            raise InvalidInput("text must be UTF-8") from None
    if not ctype:
        raise UnsupportedMedia("give a Content-Type (an image type, text/plain, or multipart/form-data)")
    return Upload(body, ctype)


def image_upload(upload: Upload, *, media: bool = False) -> bytes:
    """The bytes of an upload that must be an image (or, with ``media``, an image, a video or a sound).

    Raises:
        UnsupportedMedia: the client declared a type that is not an image (a video, a sound).
    """
    kinds = ("image/", "video/", "audio/") if media else ("image/",)
    if upload.text is not None or not (
        upload.declared_type.startswith(kinds) or upload.declared_type == "application/octet-stream"
    ):
        raise UnsupportedMedia(f"expected an image{', a video or a sound' * media}, got {upload.declared_type}")
    return upload.data


class Stopwatch:
    """Times the library work of a request, for the ``Server-Timing`` header."""

    def __init__(self) -> None:
        self.seconds = 0.0

    def run(self, work: Callable[[], Any]) -> Any:
        """Run ``work`` and add its duration."""
        t0 = time.perf_counter()
        try:
            return work()
        finally:
            self.seconds += time.perf_counter() - t0

    def header(self, name: str) -> str:
        """A ``Server-Timing`` value: the library work, so clients can tell it from service overhead."""
        return f"{name};dur={1000 * self.seconds:.1f}"
