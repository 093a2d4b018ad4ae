"""Per-client rate limits: a token bucket per API key (or per client address when anonymous).

Two backends behind one ``take(client)``:

- :class:`RateLimiter` keeps buckets in the process. With N workers the effective limit is N
  times the setting; it protects the model from one noisy client.
- :class:`RedisRateLimiter` keeps them in Redis (``ASSAY_REDIS_URL``): one atomic script per
  request refills and spends a bucket on Redis's own clock, so every worker on every machine
  spends from the same bucket and N workers × one key stay within the limit. When Redis does not
  answer, it falls back to its in-process buckets (limits per process again, logged once a
  minute and counted) rather than refusing every request.
"""

from __future__ import annotations

import hashlib
import logging
import math
import threading
import time
from collections import OrderedDict
from collections.abc import Callable
from typing import Any

from redis.exceptions import RedisError

from watermark.errors import RateLimited

__all__ = ["RateLimited", "RateLimiter", "RedisRateLimiter", "open_limiter", "open_limiters"]

log = logging.getLogger("assay.ratelimit")


def _check(per_minute: int, burst: int) -> None:
    if per_minute < 1 or burst < 1:
        raise ValueError(f"per_minute and burst must be >= 1, got {per_minute}, {burst}")


class RateLimiter:
    """Token buckets: ``per_minute`` refill, up to ``burst`` at once; at most ``max_clients`` tracked."""

    def __init__(self, *, per_minute: int, burst: int, max_clients: int = 100_000) -> None:
        _check(per_minute, burst)
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
                raise _limited((1.0 - tokens) / self.rate)
            self._buckets[client] = (tokens - 1.0, t)
            while len(self._buckets) > self.max_clients:  # forget the least recently seen
                self._buckets.popitem(last=False)


def _limited(wait_s: float) -> RateLimited:
    wait = max(1, math.ceil(wait_s))
    return RateLimited(f"rate limit reached; retry in {wait} s", wait)


# KEYS[1] the bucket; ARGV rate (tokens/s), burst. Redis's clock, so machines need not agree on time.
# Returns {1, ""} when a token was spent, else {0, seconds until one is back} (a string: Lua
# numbers come back truncated to integers).
_TAKE = """
local rate = tonumber(ARGV[1])
local burst = tonumber(ARGV[2])
local t = redis.call('TIME')
local now = tonumber(t[1]) + tonumber(t[2]) / 1000000
local b = redis.call('HMGET', KEYS[1], 'tokens', 'at')
local tokens = tonumber(b[1]) or burst
local last = tonumber(b[2]) or now
tokens = math.min(burst, tokens + math.max(0, now - last) * rate)
local spent = 0
if tokens >= 1 then
  tokens = tokens - 1
  spent = 1
end
redis.call('HSET', KEYS[1], 'tokens', tostring(tokens), 'at', tostring(now))
redis.call('EXPIRE', KEYS[1], math.ceil(burst / rate) + 1)
if spent == 1 then
  return {1, ''}
end
return {0, tostring((1 - tokens) / rate)}
"""


class RedisRateLimiter:
    """Token buckets shared by every process that names the same Redis and ``name``."""

    def __init__(
        self,
        client: Any,
        *,
        name: str,
        per_minute: int,
        burst: int,
        on_fallback: Callable[[], None] | None = None,
    ) -> None:
        _check(per_minute, burst)
        self.redis = client
        self.prefix = f"assay:ratelimit:{name}:"
        self.rate = per_minute / 60.0
        self.burst = burst
        self.local = RateLimiter(per_minute=per_minute, burst=burst)
        self._script = client.register_script(_TAKE)
        self._on_fallback = on_fallback
        self._warned_at = -math.inf

    def key(self, client: str) -> str:
        """The Redis key of a client's bucket (hashed: client names are not stored in Redis)."""
        return self.prefix + hashlib.sha256(client.encode()).hexdigest()[:32]

    def take(self, client: str) -> None:
        """Spend one token of ``client``'s shared bucket (the local one while Redis is down).

        Raises:
            RateLimited: the bucket is empty.
        """
        try:
            spent, wait = self._script(keys=[self.key(client)], args=[repr(self.rate), self.burst])
        except RedisError as exc:
            self._fell_back(exc)
            self.local.take(client)
            return
        if not int(spent):
            raise _limited(float(wait))

    def reachable(self) -> bool:
        """Whether Redis answers a PING."""
        try:
            return bool(self.redis.ping())
        except RedisError:
            return False

    def _fell_back(self, exc: Exception) -> None:
        if self._on_fallback is not None:
            self._on_fallback()
        now = time.monotonic()
        if now - self._warned_at >= 60:
            self._warned_at = now
            log.warning("Redis did not answer (%s); rate limits are per process until it does", type(exc).__name__)


def open_limiters(
    redis_url: str | None,
    budgets: dict[str, tuple[int, int]],
    *,
    on_fallback: Callable[[], None] | None = None,
) -> dict[str, RateLimiter | RedisRateLimiter]:
    """One limiter per ``name: (per_minute, burst)``: on one Redis client when ``redis_url`` is
    set, else in-process.

    Opening does not connect (redis-py connects on first use), so a service starts while Redis is
    still coming up; the timeouts keep a dead Redis from stalling requests.

    Raises:
        ConfigurationError: ``redis_url`` is not a Redis URL (the message never repeats it).
    """
    if not redis_url:
        return {name: RateLimiter(per_minute=pm, burst=b) for name, (pm, b) in budgets.items()}
    import redis

    from watermark.errors import ConfigurationError

    try:
        client = redis.Redis.from_url(redis_url, socket_timeout=0.25, socket_connect_timeout=0.25)
    except ValueError:  # the message would repeat the URL, which may hold a password
        raise ConfigurationError("ASSAY_REDIS_URL is not a Redis URL (redis://, rediss:// or unix://)") from None
    return {
        name: RedisRateLimiter(client, name=name, per_minute=pm, burst=b, on_fallback=on_fallback)
        for name, (pm, b) in budgets.items()
    }


def open_limiter(
    redis_url: str | None, *, name: str, per_minute: int, burst: int, on_fallback: Callable[[], None] | None = None
) -> RateLimiter | RedisRateLimiter:
    """One limiter (see :func:`open_limiters`)."""
    return open_limiters(redis_url, {name: (per_minute, burst)}, on_fallback=on_fallback)[name]
