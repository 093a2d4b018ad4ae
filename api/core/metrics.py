"""Prometheus metrics of one application instance (its own registry, so apps never share state)."""

from __future__ import annotations

import time

from prometheus_client import CONTENT_TYPE_LATEST, CollectorRegistry, Counter, Gauge, Histogram, generate_latest
from starlette.types import ASGIApp, Message, Receive, Scope, Send

__all__ = ["CONTENT_TYPE_LATEST", "Metrics", "MetricsMiddleware"]

_METHODS = frozenset({"GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"})


class Metrics:
    """Request counts and latencies by route template, plus model readiness."""

    def __init__(self) -> None:
        self.registry = CollectorRegistry()
        self.requests = Counter(
            "assay_requests",
            "HTTP requests by route, method and status",
            ["route", "method", "status"],
            registry=self.registry,
        )
        self.latency = Histogram(
            "assay_request_seconds",
            "HTTP request latency by route",
            ["route"],
            buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60),
            registry=self.registry,
        )
        self.model_loaded = Gauge("assay_model_loaded", "1 when the language model is loaded", registry=self.registry)
        self.batch_size = Histogram(
            "assay_generation_batch_size",
            "Prompts per generation batch",
            buckets=(1, 2, 4, 8, 16, 32),
            registry=self.registry,
        )
        self.batch_seconds = Histogram(
            "assay_generation_batch_seconds",
            "Seconds per generation batch",
            buckets=(0.5, 1, 2.5, 5, 10, 20, 40, 80),
            registry=self.registry,
        )
        self.rate_limit_fallbacks = Counter(
            "assay_rate_limit_fallbacks",
            "Requests limited in this process because Redis did not answer",
            registry=self.registry,
        )
        self.audit_rows = Counter("assay_audit_rows", "Audit log rows written by this process", registry=self.registry)
        self.feedback = Counter(
            "assay_feedback", "Feedback on verdicts received, by topic", ["topic"], registry=self.registry
        )

    def observe_batch(self, size: int, seconds: float) -> None:
        """Record one generation batch."""
        self.batch_size.observe(size)
        self.batch_seconds.observe(seconds)

    def render(self) -> bytes:
        """The text exposition format."""
        return generate_latest(self.registry)


class MetricsMiddleware:
    """ASGI middleware that counts every HTTP request under its route template (not its raw path)."""

    def __init__(self, app: ASGIApp, *, metrics: Metrics) -> None:
        self.app, self.metrics = app, metrics

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        start = time.perf_counter()
        status = 500

        async def record(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = int(message["status"])
            await send(message)

        try:
            await self.app(scope, receive, record)
        finally:
            route = scope.get("route")
            template = getattr(route, "path", None) or "unmatched"
            method = scope.get("method", "")
            method = method if method in _METHODS else "other"  # a client cannot add label values
            self.metrics.requests.labels(template, method, str(status)).inc()
            self.metrics.latency.labels(template).observe(time.perf_counter() - start)
