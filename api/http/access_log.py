"""Keep credentials sent in a URL out of the access log.

Assay refuses API keys in the query string, but the server's access log is written before the
refusal: uvicorn logs the full path with its query. This filter rewrites the values of
credential-like query parameters to ``[redacted]`` in every access log record.
"""

from __future__ import annotations

import logging
import re

__all__ = ["DropClientAddress", "RedactCredentials", "install_access_log_filter", "redact"]

_CREDENTIAL = re.compile(r"(?i)([?&](?:api[_-]?key|key|token|access_token|auth)=)[^&#\s]*")


def redact(path: str) -> str:
    """``path`` with the values of credential-like query parameters replaced."""
    return _CREDENTIAL.sub(r"\1[redacted]", path)


class RedactCredentials(logging.Filter):
    """Redacts credential-like query parameters in uvicorn's access records (and in any message)."""

    def filter(self, record: logging.LogRecord) -> bool:
        if isinstance(record.args, tuple):
            record.args = tuple(redact(a) if isinstance(a, str) else a for a in record.args)
        elif isinstance(record.msg, str):
            record.msg = redact(record.msg)
        return True


class DropClientAddress(logging.Filter):
    """Replaces the client address of uvicorn's access records with ``-`` (public mode keeps none)."""

    def filter(self, record: logging.LogRecord) -> bool:
        if isinstance(record.args, tuple) and record.args:
            record.args = ("-", *record.args[1:])
        return True


def install_access_log_filter(logger_name: str = "uvicorn.access", *, drop_client: bool = False) -> None:
    """Attach the filters to the access logger once (``drop_client``: no client addresses either)."""
    logger = logging.getLogger(logger_name)
    if not any(isinstance(f, RedactCredentials) for f in logger.filters):
        logger.addFilter(RedactCredentials())
    if drop_client and not any(isinstance(f, DropClientAddress) for f in logger.filters):
        logger.addFilter(DropClientAddress())
