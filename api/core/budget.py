"""A bound on the pixels one process decodes at once, so concurrent large images cannot exhaust memory.

Decoding and checking an image costs memory in proportion to its pixels (about 47 bytes a pixel on
the verification path, measured: 8-bit planes, float copies, the detection frame). Each image operation
reserves its pixel count before it decodes; requests beyond the budget wait their turn, and one that
cannot start within the timeout is refused with :class:`Overloaded` (503 with ``Retry-After``).
An image larger than the whole budget runs alone.
"""

from __future__ import annotations

import math
import threading
from collections.abc import Iterator
from contextlib import contextmanager

from watermark.errors import Overloaded

__all__ = ["DecodeBudget"]


class DecodeBudget:
    """Pixels under decoding at once in this process, at most ``total_pixels``."""

    def __init__(self, total_pixels: int) -> None:
        if total_pixels < 1:
            raise ValueError(f"total_pixels must be >= 1, got {total_pixels}")
        self.total = total_pixels
        self.used = 0
        self._cond = threading.Condition()

    @contextmanager
    def reserve(self, pixels: int, *, timeout: float) -> Iterator[None]:
        """Hold ``pixels`` of the budget while the block runs.

        Raises:
            Overloaded: the pixels did not become free within ``timeout`` seconds.
        """
        need = max(1, min(pixels, self.total))
        with self._cond:
            if not self._cond.wait_for(lambda: self.used + need <= self.total, timeout=timeout):
                raise Overloaded(
                    f"too many large images are being checked; retry in {math.ceil(timeout)} s",
                    retry_after=max(1, math.ceil(timeout)),
                )
            self.used += need
        try:
            yield
        finally:
            with self._cond:
                self.used -= need
                self._cond.notify_all()
