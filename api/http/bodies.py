"""OpenAPI request-body pieces the routes share: a binary file, and a file or a text."""

from __future__ import annotations

from typing import Any

__all__ = ["BINARY", "TEXT_OR_FILE"]

BINARY: dict[str, Any] = {"schema": {"type": "string", "format": "binary"}}
TEXT_OR_FILE: dict[str, Any] = {
    "multipart/form-data": {
        "schema": {
            "type": "object",
            "properties": {"file": BINARY["schema"], "text": {"type": "string"}},
        }
    },
    "text/plain": {"schema": {"type": "string"}},
}
