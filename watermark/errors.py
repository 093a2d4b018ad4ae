"""The one exception hierarchy of Assay, for the libraries and the application alike.

Every error Assay raises on purpose derives from :class:`AssayError`. The classes know nothing
of HTTP: ``api/core/error_kinds.py`` maps each class, once, to a status and a problem ``type``, and the
CLI maps the same table to its exit codes.

    AssayError
    ├── InvalidInput          bad argument or content
    │   └── TooShort          too little content to decide
    ├── UnsupportedMedia      a format Assay cannot read
    ├── PayloadTooLarge       over a configured size limit
    ├── UnknownKey            a key id that is not in the key ring
    ├── ManifestNotFound      no C2PA manifest where one was asked for
    ├── SignatureInvalid      a signature or manifest that fails validation, or signing failed
    ├── Unauthorized          no credentials, or credentials that match no live API key
    ├── Forbidden             valid credentials without the permission the operation needs
    ├── Unavailable           the work cannot be done now; ``retry_after`` seconds may help
    │   ├── RateLimited       too many requests from one client
    │   ├── Overloaded        the work queue did not reach the request in time
    │   ├── ModelUnavailable  the language model cannot be found or loaded
    │   └── StoreUnavailable  the database behind the store and the audit log cannot be reached
    └── ConfigurationError    settings, key ring or credentials are wrong

Messages never contain secrets.
"""

from __future__ import annotations

__all__ = [
    "AssayError",
    "ConfigurationError",
    "Forbidden",
    "InvalidInput",
    "ManifestNotFound",
    "ModelUnavailable",
    "Overloaded",
    "PayloadTooLarge",
    "RateLimited",
    "SignatureInvalid",
    "StoreUnavailable",
    "TileNotFound",
    "TooShort",
    "Unauthorized",
    "Unavailable",
    "UnknownKey",
    "UnsupportedMedia",
]


class AssayError(Exception):
    """Base class of every error Assay raises on purpose."""


class InvalidInput(AssayError):
    """The input is malformed or out of range."""


class TooShort(InvalidInput):
    """The content is too short to reach any decision."""


class UnsupportedMedia(AssayError):
    """The content's format is not supported."""


class PayloadTooLarge(AssayError):
    """The content exceeds a configured size limit."""


class UnknownKey(AssayError):
    """A key id that the key ring does not hold."""


class ManifestNotFound(AssayError):
    """No C2PA manifest was found."""


class TileNotFound(AssayError):
    """A tile of the audit log that the tree at its latest checkpoint does not have (yet)."""


class SignatureInvalid(AssayError):
    """A signature or manifest failed validation, or signing failed."""


class Unauthorized(AssayError):
    """No credentials, or credentials that do not match a live API key."""


class Forbidden(AssayError):
    """Valid credentials that lack the permission the operation needs."""


class Unavailable(AssayError):
    """The work cannot be done now; trying again after ``retry_after`` seconds may succeed."""

    def __init__(self, message: str, retry_after: int | None = None) -> None:
        super().__init__(message)
        self.retry_after = retry_after


class RateLimited(Unavailable):
    """Too many requests from one client."""


class Overloaded(Unavailable):
    """The work queue did not reach a request in time."""

    def __init__(self, message: str, retry_after: int | None = 10) -> None:
        super().__init__(message, retry_after)


class ModelUnavailable(Unavailable):
    """The language model could not be found or loaded."""


class StoreUnavailable(Unavailable):
    """The database behind the manifest store, API keys and audit log cannot be reached."""


class ConfigurationError(AssayError):
    """Settings, key ring or credentials are invalid."""
