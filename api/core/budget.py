"""A bound on the memory one process spends decoding at once, so concurrent large images cannot exhaust it.

Each image, video or sound operation reserves what it holds at its peak, in bytes, before it
decodes (:attr:`watermark.image.codec.ImageHeader.check_bytes` and ``mark_bytes``, measured per
pixel, channel and sample size; a video's and a sound's probes likewise); requests beyond the
budget wait their turn, and one that cannot start within the timeout is refused with
:class:`Overloaded` (503 with ``Retry-After``). An operation larger than the whole budget runs alone.
"""

from __future__ import annotations

import ctypes
import ctypes.util
import math
import threading
from collections.abc import Iterator
from contextlib import contextmanager

from watermark.errors import Overloaded

__all__ = ["DecodeBudget", "limit_heaps", "release_freed_memory"]

_TRIM_BYTES = 64 << 20  # operations that held more give their freed memory back to the system
_HEAPS = 2  # glibc heaps (arenas) that threads share
_libc_name = ctypes.util.find_library("c")
_libc = ctypes.CDLL(_libc_name) if _libc_name else None
_malloc_trim = getattr(_libc, "malloc_trim", None)
_mallopt = getattr(_libc, "mallopt", None)


def limit_heaps() -> None:
    """Let threads share ``_HEAPS`` C heaps instead of one each (glibc's ``M_ARENA_MAX``; a no-op
    elsewhere): each heap keeps a high-water mark of what it held, so forty request threads that
    each checked a large image would each keep one. Call before the threads start."""
    if _mallopt is not None:
        _mallopt(-8, _HEAPS)  # M_ARENA_MAX


def release_freed_memory() -> None:
    """Hand the memory that C allocations freed back to the system (glibc's ``malloc_trim``; a
    no-op elsewhere). Worked in bands, a large image's copies are allocated from per-thread heaps
    that keep what is freed: without this, every thread that checked a large image keeps its peak."""
    if _malloc_trim is not None:
        _malloc_trim(0)


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
            if need >= _TRIM_BYTES:
                release_freed_memory()
            with self._cond:
                self.used -= need
                self._cond.notify_all()
