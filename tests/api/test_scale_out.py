"""The scale-out deployment: rate limits shared through Redis, several service workers on one
PostgreSQL with one audit chain. Private servers on spare ports (see ``servers.py``)."""

from __future__ import annotations

import json
import multiprocessing as mp
import os
import subprocess
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path
from typing import Any

import pytest
import redis

from api.core.ratelimit import RateLimited, RateLimiter, RedisRateLimiter, open_limiter
from api.core.runtime import Runtime
from api.core.settings import Settings
from watermark.errors import ConfigurationError

from .servers import PrivatePostgres, PrivateRedis, free_port


def _limiter(server: PrivateRedis, **kw: object) -> RedisRateLimiter:
    limiter = open_limiter(server.url, name="t", per_minute=1, burst=5, **kw)  # type: ignore[arg-type]
    assert isinstance(limiter, RedisRateLimiter)
    return limiter


def test_redis_buckets_are_shared_by_every_process(redis_server: PrivateRedis) -> None:
    workers = [_limiter(redis_server), _limiter(redis_server)]  # two clients, as two processes hold
    spent, refused = 0, []
    for i in range(12):
        try:
            workers[i % 2].take("key:k1")
            spent += 1
        except RateLimited as exc:
            refused.append(exc.retry_after)
    assert spent == 5 and len(refused) == 7  # the burst once, not once per worker
    assert all(55 <= r <= 60 for r in refused)  # one token a minute
    workers[0].take("key:k2")  # another client has its own bucket
    stored = redis.Redis.from_url(redis_server.url).keys("assay:ratelimit:t:*")
    assert len(stored) == 2 and not any(b"k1" in k for k in stored)  # client names are hashed


def test_redis_outage_falls_back_to_process_limits_and_recovers(redis_server: PrivateRedis) -> None:
    fallbacks: list[int] = []
    limiter = _limiter(redis_server, on_fallback=lambda: fallbacks.append(1))
    limiter.take("key:k1")
    assert limiter.reachable()
    redis_server.stop()
    t0 = time.monotonic()
    for _ in range(5):  # the local bucket, fresh: its whole burst
        limiter.take("key:k1")
    with pytest.raises(RateLimited):
        limiter.take("key:k1")
    assert time.monotonic() - t0 < 5, "a dead Redis stalled requests"
    assert len(fallbacks) == 6 and not limiter.reachable()
    redis_server.start()
    for _ in range(5):  # a shared bucket again (this Redis kept nothing over its restart)
        limiter.take("key:k1")
    with pytest.raises(RateLimited):
        limiter.take("key:k1")
    assert len(fallbacks) == 6 and limiter.reachable()


def test_without_redis_limits_are_per_process_and_a_bad_url_is_a_clear_error(env: Path) -> None:
    assert isinstance(open_limiter(None, name="t", per_minute=1, burst=1), RateLimiter)
    with pytest.raises(ConfigurationError) as info:
        Runtime.open(Settings(redis_url="http://user:hunter2@example.org"))
    assert "hunter2" not in str(info.value) and "ASSAY_REDIS_URL" in str(info.value)


def _get(url: str, token: str, data: bytes | None = None) -> int:
    headers = {"Authorization": f"Bearer {token}", "Content-Type": "text/plain"}
    try:
        with urllib.request.urlopen(urllib.request.Request(url, data=data, headers=headers), timeout=60) as r:
            return int(r.status)
    except urllib.error.HTTPError as exc:
        return int(exc.code)


def test_serve_workers_on_postgres_and_redis_share_one_limit_and_one_audit_chain(
    env: Path, postgres_server: PrivatePostgres, redis_server: PrivateRedis
) -> None:
    port = free_port()
    envs = os.environ | {
        "ASSAY_WARM_ON_START": "false",
        "ASSAY_AI_LIKELIHOOD": "false",
        "ASSAY_PORT": str(port),
        "ASSAY_STORE_URL": postgres_server.url,
        "ASSAY_REDIS_URL": redis_server.url,
        "ASSAY_RATE_LIMIT_PER_MINUTE": "1",
        "ASSAY_RATE_LIMIT_BURST": "6",
    }
    serve = [str(Path(sys.executable).parent / "assay"), "serve", "--workers", "2"]
    proc = subprocess.Popen(serve, env=envs, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 120  # two workers importing torch on a slow, busy machine
        while True:
            try:
                with urllib.request.urlopen(f"{base}/readyz") as r:
                    state = json.load(r)
                    break
            except urllib.error.HTTPError as not_ready:  # 503 until the model loads: it answers
                state = json.load(not_ready)
                break
            except OSError:
                assert time.monotonic() < deadline and proc.poll() is None, "the service did not start"
                time.sleep(0.2)
        assert state["rate_limits"] == "redis" and state["redis_reachable"] is True
        token = (env / "admin-api-key").read_text().strip()
        codes = [_get(f"{base}/v1/verify", token, f"Note number {i} about the weather.".encode()) for i in range(14)]
    finally:
        proc.terminate()
        proc.wait(timeout=30)
    assert codes.count(200) == 6 and codes.count(429) == 8, codes  # one bucket for both workers
    rt = Runtime.open(Settings(store_url=postgres_server.url))
    rows = [r for r in rt.audit.entries() if r.action == "verify"]
    assert len(rows) == 6 and rt.audit.verify().ok


def _append_many(url: str, n: int, start: Any, retries: Any) -> None:
    from api.core.audit import AuditLog
    from provenance.store import open_engine

    log = AuditLog(open_engine(url))
    start.wait()
    for i in range(n):
        log.append(actor="test", action="verify", result="ok", subject=str(i).encode())
    retries.put(log.retries)


def test_many_writer_processes_append_to_one_chain_on_postgres(postgres_server: PrivatePostgres) -> None:
    """Writers queue on an advisory lock: 6 processes at once never race for a sequence number (a
    race costs a retry, and under enough contention a writer gave up), and the chain is whole."""
    from api.core.audit import AuditLog
    from provenance.store import open_engine

    AuditLog(open_engine(postgres_server.url)).create()
    ctx = mp.get_context("spawn")
    start, retries = ctx.Event(), ctx.Queue()
    procs = [ctx.Process(target=_append_many, args=(postgres_server.url, 150, start, retries)) for _ in range(6)]
    for p in procs:
        p.start()
    start.set()
    for p in procs:
        p.join(timeout=120)
    assert [p.exitcode for p in procs] == [0] * 6
    assert [retries.get(timeout=5) for _ in procs] == [0] * 6
    log = AuditLog(open_engine(postgres_server.url))
    assert log.count() == 900 and log.verify().ok
