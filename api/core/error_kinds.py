"""Assay's errors, classified once: each :mod:`watermark.errors` class (the nearest entry in its
MRO) has a status, a stable problem ``type`` and a title. The HTTP adapter answers with them
(:mod:`api.http.problems`), the CLI turns them into exit codes (:func:`is_client_error`) and the
audit log records their slug.
"""

from __future__ import annotations

from dataclasses import dataclass

import sqlalchemy as sa

from watermark import errors as e

__all__ = [
    "BAD_REQUEST",
    "INTERNAL",
    "INVALID_REQUEST",
    "METHOD_NOT_ALLOWED",
    "NOT_FOUND",
    "STORE_DOWN",
    "TIMEOUT",
    "ProblemKind",
    "is_client_error",
    "is_store_down",
    "kind_of",
]

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
    e.TileNotFound: ProblemKind(404, "tile-not-found", "Tile not found"),
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
