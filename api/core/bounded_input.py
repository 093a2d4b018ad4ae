"""Input read with a size limit: a file or standard input, refused past the limit (never read whole)."""

from __future__ import annotations

import sys

from watermark.errors import InvalidInput, PayloadTooLarge

__all__ = ["read_bounded"]


def read_bounded(source: str, limit: int, what: str) -> bytes:
    """Read at most ``limit`` bytes of a file (or stdin for ``-``); larger input is refused."""
    if source == "-":
        data = sys.stdin.buffer.read(limit + 1)
    else:
        try:
            with open(source, "rb") as fh:
                data = fh.read(limit + 1)
        except OSError as exc:
            raise InvalidInput(f"cannot read {source}: {exc.strerror}") from None
    if len(data) > limit:
        raise PayloadTooLarge(f"input is larger than {limit} bytes ({what})")
    return data
