"""Counts in plain words, for what people read (CLI lines, the scan report)."""

from __future__ import annotations

__all__ = ["counted"]


def counted(n: int, noun: str, plural: str | None = None) -> str:
    """``1 item``, ``2 items`` (``plural`` where adding an ``s`` is wrong)."""
    return f"{n} {noun if n == 1 else (plural or noun + 's')}"
