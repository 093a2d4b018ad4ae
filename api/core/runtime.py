"""Everything one service instance holds: settings, database, services, audit log, keys, limits.

Built by :meth:`Runtime.open` (no I/O in the constructor); shared by the HTTP app and the CLI so
both speak through the same code and write the same audit log.
"""

from __future__ import annotations

import dataclasses
import getpass
import threading
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Engine

from api.core.audit import AuditEntry, AuditLog
from api.core.audit_tree import AuditTree, load_log_signer
from api.core.auth import ApiKeys, write_secret_file
from api.core.batching import GenerationBatcher
from api.core.budget import limit_heaps
from api.core.feedback import FeedbackStore
from api.core.media_service import MediaService
from api.core.metrics import Metrics
from api.core.ratelimit import RateLimiter, RedisRateLimiter, open_limiters
from api.core.settings import Settings
from api.core.text_provenance import TextProvenance
from api.core.text_service import TextService
from api.core.threads import limit_threads
from detect.inspect import Checks
from provenance.store import ManifestStore, open_engine
from provenance.tlog import NoteError
from watermark.errors import ConfigurationError

__all__ = ["ADMIN_KEY_FILE", "Runtime"]

ADMIN_KEY_FILE = "admin-api-key"


def cli_actor() -> str:
    """The audit actor for a command run locally."""
    try:
        return f"cli:{getpass.getuser()}"
    except (KeyError, OSError):
        return "cli:unknown"


@dataclass
class Runtime:
    """One instance's state; see :meth:`open`."""

    settings: Settings
    engine: Engine
    text: TextService
    media: MediaService
    texts: TextProvenance
    store: ManifestStore
    audit: AuditLog
    audit_tree: AuditTree
    api_keys: ApiKeys
    feedback: FeedbackStore
    limiter: RateLimiter | RedisRateLimiter
    auth_failures: RateLimiter | RedisRateLimiter
    batcher: GenerationBatcher
    metrics: Metrics = field(default_factory=Metrics)
    warmed: threading.Event = field(default_factory=threading.Event)

    @classmethod
    def open(cls, settings: Settings) -> Runtime:
        """Open the database (creating tables) and wire the services; models load lazily.

        Raises:
            ConfigurationError: the store URL cannot be opened.
        """
        if settings.threads is not None:
            limit_threads(settings.threads)
        limit_heaps()
        settings.data_dir.mkdir(parents=True, exist_ok=True)
        settings.data_dir.chmod(0o700)  # keys, the admin token, the audit log and the database live here
        engine = open_engine(settings.database_url)
        store = ManifestStore(engine)
        store.metadata.create_all(engine)
        text = TextService(settings)
        metrics = Metrics()
        redis_url = settings.redis_url.get_secret_value() if settings.redis_url else None
        limits = open_limiters(
            redis_url,
            {
                "requests": (settings.rate_limit_per_minute, settings.rate_limit_burst),
                "auth-failures": (settings.auth_failures_per_minute, settings.auth_failures_per_minute),
            },
            on_fallback=metrics.rate_limit_fallbacks.inc,
        )
        media = MediaService(settings, lambda: text.keyring, store)
        audit = AuditLog(engine).create()
        log_key = settings.audit_log_key.get_secret_value() if settings.audit_log_key else None
        try:
            signer = load_log_signer(settings.data_dir, log_key, origin=settings.audit_log_origin)
        except NoteError as exc:
            raise ConfigurationError(f"ASSAY_AUDIT_LOG_KEY: {exc}") from None
        return cls(
            settings=settings,
            engine=engine,
            text=text,
            media=media,
            texts=TextProvenance(text, media),
            store=store,
            audit=audit,
            audit_tree=AuditTree(audit, signer).create(),
            api_keys=ApiKeys(engine).create_tables(),
            feedback=FeedbackStore(engine).create_tables(),
            limiter=limits["requests"],
            auth_failures=limits["auth-failures"],
            batcher=GenerationBatcher(
                lambda prompts, kwargs: text.generate_batch(prompts, **kwargs), on_batch=metrics.observe_batch
            ),
            metrics=metrics,
        )

    def bootstrap_admin_key(self) -> Path | None:
        """On a database with no live API key, create an admin key and write its token to
        ``data_dir/admin-api-key`` (mode 0600). Returns that path when a key was created."""
        if self.api_keys.count_live():
            return None
        _, token = self.api_keys.create("first admin key", ["admin"])
        path = self.settings.data_dir / ADMIN_KEY_FILE
        write_secret_file(path, token + "\n")
        return path

    def checks(self) -> Checks:
        """The collaborators of an inspection (:func:`detect.inspect.inspect`): the media side's,
        and the text side for texts."""
        return dataclasses.replace(self.media.checks(), texts=self.texts)

    def record(
        self,
        *,
        actor: str,
        action: str,
        result: str,
        subject: bytes | None = None,
        key_id: str | None = None,
        detail: dict[str, Any] | None = None,
    ) -> AuditEntry:
        """Append one audit row (and count it)."""
        entry = self.audit.append(
            actor=actor, action=action, result=result, subject=subject, key_id=key_id, detail=detail
        )
        self.metrics.audit_rows.inc()
        return entry

    def readiness(self) -> dict[str, Any]:
        """Whether the model is loaded and the store answers."""
        try:
            with self.engine.connect() as conn:
                conn.execute(sa.text("SELECT 1"))
            store_ok = True
        except sa.exc.SQLAlchemyError:
            store_ok = False
        model_ok = self.text.model_loaded
        self.metrics.model_loaded.set(1 if model_ok else 0)
        # with warm-up on, ready means everything a first request needs is loaded, not only the model
        warm = self.warmed.is_set() or not self.settings.warm_on_start
        return {
            "ready": store_ok and model_ok and warm,
            "model_loaded": model_ok,
            "store_reachable": store_ok,
            "rate_limits": "redis" if isinstance(self.limiter, RedisRateLimiter) else "process",
            "redis_reachable": self.limiter.reachable() if isinstance(self.limiter, RedisRateLimiter) else None,
        }

    def warm(self) -> None:
        """Load the model, the detectors and the signer (what the first request would otherwise wait for)."""
        self.text.model()
        self.text.detector()
        self.text.ai_detector()
        self.media.credentials()
        self.media.trust_anchors()
        self.media.detector()
        self.warmed.set()
