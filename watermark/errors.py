"""The one exception hierarchy of Assay.

Every error Assay raises on purpose derives from :class:`AssayError`; the API layer maps each
class once to an ``application/problem+json`` response (``status`` and ``type`` below).

    AssayError
    ├── InvalidInput          bad argument or content (400/422)
    │   └── TooShort          too little content to decide (422)
    ├── UnsupportedMedia      a format Assay cannot read (415)
    ├── PayloadTooLarge       over a configured size limit (413)
    ├── UnknownKey            a key id that is not in the key ring (404)
    ├── ManifestNotFound      no C2PA manifest where one was asked for (404)
    ├── SignatureInvalid      a signature or manifest that fails validation (422)
    ├── ModelUnavailable      the language model cannot be found or loaded (503)
    └── ConfigurationError    settings, key ring or credentials are wrong (500)

Messages never contain secrets.
"""

from __future__ import annotations

__all__ = [
    "AssayError",
    "ConfigurationError",
    "InvalidInput",
    "ManifestNotFound",
    "ModelUnavailable",
    "PayloadTooLarge",
    "SignatureInvalid",
    "TooShort",
    "UnknownKey",
    "UnsupportedMedia",
]


class AssayError(Exception):
    """Base class of every error Assay raises on purpose."""

    status: int = 500
    type: str = "about:blank"
    title: str = "Assay error"


class InvalidInput(AssayError):
    """The input is malformed or out of range."""

    status = 422
    type = "https://assay.dev/problems/invalid-input"
    title = "Invalid input"


class TooShort(InvalidInput):
    """The content is too short to reach any decision."""

    type = "https://assay.dev/problems/too-short"
    title = "Too short to decide"


class UnsupportedMedia(AssayError):
    """The content's format is not supported."""

    status = 415
    type = "https://assay.dev/problems/unsupported-media"
    title = "Unsupported media"


class PayloadTooLarge(AssayError):
    """The content exceeds a configured size limit."""

    status = 413
    type = "https://assay.dev/problems/payload-too-large"
    title = "Payload too large"


class UnknownKey(AssayError):
    """A key id that the key ring does not hold."""

    status = 404
    type = "https://assay.dev/problems/unknown-key"
    title = "Unknown key"


class ManifestNotFound(AssayError):
    """No C2PA manifest was found."""

    status = 404
    type = "https://assay.dev/problems/manifest-not-found"
    title = "Manifest not found"


class SignatureInvalid(AssayError):
    """A signature or manifest failed validation."""

    status = 422
    type = "https://assay.dev/problems/signature-invalid"
    title = "Signature invalid"


class ModelUnavailable(AssayError):
    """The language model could not be found or loaded."""

    status = 503
    type = "https://assay.dev/problems/model-unavailable"
    title = "Model unavailable"


class ConfigurationError(AssayError):
    """Settings, key ring or credentials are invalid."""

    status = 500
    type = "https://assay.dev/problems/configuration"
    title = "Configuration error"
