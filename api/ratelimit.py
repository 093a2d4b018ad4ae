"""Per-client rate limits: a token bucket per API key (or per client address when anonymous).

Buckets live in the process: with N workers the effective limit is N times the setting (documented
in the README); the limit protects the model from one noisy client, not a quota system.
"""

from __future__ import annotations

import math
import threading
import time
from collections import OrderedDict

from watermark.errors import RateLimited

__all__ = ["RateLimited", "RateLimiter"]


class RateLimiter:
    """Token buckets: ``per_minute`` refill, up to ``burst`` at once; at most ``max_clients`` tracked."""

    def __init__(self, *, per_minute: int, burst: int, max_clients: int = 100_000) -> None:
        if per_minute < 1 or burst < 1:
            raise ValueError(f"per_minute and burst must be >= 1, got {per_minute}, {burst}")
        self.rate = per_minute / 60.0
        self.burst = float(burst)
        self.max_clients = max_clients
        self._buckets: OrderedDict[str, tuple[float, float]] = OrderedDict()
        self._lock = threading.Lock()

    def take(self, client: str, *, now: float | None = None) -> None:
        """Spend one token of ``client``'s bucket.

        Raises:
            RateLimited: the bucket is empty (with the seconds until a token is back).
        """
        t = time.monotonic() if now is None else now
        with self._lock:
            tokens, last = self._buckets.pop(client, (self.burst, t))
            tokens = min(self.burst, tokens + (t - last) * self.rate)
            if tokens < 1.0:
                self._buckets[client] = (tokens, t)
                wait = math.ceil((1.0 - tokens) / self.rate)
                raise RateLimited(f"rate limit reached; retry in {wait} s", wait)
            self._buckets[client] = (tokens - 1.0, t)
            while len(self._buckets) > self.max_clients:  # forget the least recently seen
                self._buckets.popitem(last=False)
