"""A bound on the memory one process spends decoding at once, so concurrent large images cannot exhaust it.

Each image, video or sound operation reserves what it holds at its peak, in bytes, before it
decodes (:attr:`watermark.image.codec.ImageHeader.check_bytes` and ``mark_bytes``, measured per
pixel, channel and sample size; a video's and a sound's probes likewise); requests beyond the
budget wait their turn, and one that cannot start within the timeout is refused with
:class:`Overloaded` (503 with ``Retry-After``). An operation larger than the whole budget runs alone.
"""

from __future__ import annotations

import math
import threading
from collections.abc import Iterator
from contextlib import contextmanager

from watermark.errors import Overloaded

__all__ = ["DecodeBudget"]


class DecodeBudget:
    """Bytes held by decoding at once in this process, at most ``total_bytes``."""

    def __init__(self, total_bytes: int) -> None:
        if total_bytes < 1:
            raise ValueError(f"total_bytes must be >= 1, got {total_bytes}")
        self.total = total_bytes
        self.used = 0
        self._cond = threading.Condition()

    @contextmanager
    def reserve(self, nbytes: int, *, timeout: float) -> Iterator[None]:
        """Hold ``nbytes`` of the budget while the block runs.

        Raises:
            Overloaded: the bytes did not become free within ``timeout`` seconds.
        """
        need = max(1, min(nbytes, self.total))
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
