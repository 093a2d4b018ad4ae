"""API keys with scopes.

A token is ``assay_<key id>_<secret>``; only the SHA-256 of the secret is stored, and the check is a
constant-time comparison of digests. Scopes: ``generate``, ``sign``, ``verify``, ``admin``
(``admin`` implies every other). Tokens are shown once, when created, and never logged.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import hmac
import os
import secrets
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

import sqlalchemy as sa
from sqlalchemy.engine import Engine

from watermark.errors import Forbidden, InvalidInput, Unauthorized

__all__ = ["SCOPES", "ApiKey", "ApiKeys", "Forbidden", "Unauthorized", "write_secret_file"]

SCOPES = ("generate", "sign", "verify", "admin")
_PREFIX = "assay_"


@dataclass(frozen=True)
class ApiKey:
    """An API key as stored (never its secret)."""

    key_id: str
    name: str
    scopes: tuple[str, ...]
    created_at: dt.datetime
    revoked_at: dt.datetime | None = None

    def allows(self, scope: str) -> bool:
        """Whether this key may act in ``scope``."""
        return self.revoked_at is None and (scope in self.scopes or "admin" in self.scopes)

    def to_dict(self) -> dict[str, object]:
        """JSON-ready form."""
        return {
            "key_id": self.key_id,
            "name": self.name,
            "scopes": list(self.scopes),
            "created_at": self.created_at.isoformat(),
            "revoked_at": self.revoked_at.isoformat() if self.revoked_at else None,
            "status": "revoked" if self.revoked_at else "active",
        }


def _digest(secret: str) -> str:
    return hashlib.sha256(secret.encode()).hexdigest()


def _aware(t: dt.datetime | None) -> dt.datetime | None:
    return None if t is None else (t if t.tzinfo else t.replace(tzinfo=dt.UTC))


def write_secret_file(path: Path, text: str) -> None:
    """Write ``text`` to ``path`` with mode 0600, replacing it atomically."""
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.part")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w", encoding="utf-8") as fh:
        fh.write(text)
    tmp.replace(path)


class ApiKeys:
    """API keys in the service's database."""

    def __init__(self, engine: Engine, *, schema: str | None = None) -> None:
        self.engine = engine
        self.metadata = sa.MetaData(schema=schema)
        self.table = sa.Table(
            "assay_api_keys",
            self.metadata,
            sa.Column("key_id", sa.String(32), primary_key=True),
            sa.Column("name", sa.String(200), nullable=False),
            sa.Column("scopes", sa.String(200), nullable=False),
            sa.Column("secret_sha256", sa.String(64), nullable=False),
            sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
            sa.Column("revoked_at", sa.DateTime(timezone=True)),
        )

    def create_tables(self) -> ApiKeys:
        """Create the table if needed; returns self."""
        self.metadata.create_all(self.engine)
        return self

    def create(self, name: str, scopes: Iterable[str]) -> tuple[ApiKey, str]:
        """A new key; returns it and its token (shown once).

        Raises:
            InvalidInput: an unknown scope, no scope, or an empty name.
        """
        wanted = tuple(dict.fromkeys(scopes))
        bad = [s for s in wanted if s not in SCOPES]
        if bad or not wanted:
            raise InvalidInput(f"scopes must be some of {', '.join(SCOPES)}; got {', '.join(bad) or 'none'}")
        if not name.strip() or len(name) > 200:
            raise InvalidInput("an API key needs a name of 1 to 200 characters")
        key_id, secret = secrets.token_hex(6), secrets.token_urlsafe(32)
        key = ApiKey(key_id, name.strip(), wanted, dt.datetime.now(dt.UTC))
        with self.engine.begin() as conn:
            conn.execute(
                self.table.insert().values(
                    key_id=key_id,
                    name=key.name,
                    scopes=",".join(wanted),
                    secret_sha256=_digest(secret),
                    created_at=key.created_at,
                )
            )
        return key, f"{_PREFIX}{key_id}_{secret}"

    def _row_key(self, row: sa.Row[tuple[object, ...]]) -> ApiKey:
        m = row._mapping
        return ApiKey(
            str(m["key_id"]),
            str(m["name"]),
            tuple(str(m["scopes"]).split(",")),
            _aware(m["created_at"]) or dt.datetime.now(dt.UTC),
            _aware(m["revoked_at"]),
        )

    def authenticate(self, token: str) -> ApiKey:
        """The live key a token belongs to.

        Raises:
            Unauthorized: a malformed, unknown, wrong or revoked token (one message for all).
        """
        refused = Unauthorized("the API key is not valid")
        if not token.startswith(_PREFIX) or len(token) > 200:
            raise refused
        key_id, sep, secret = token[len(_PREFIX) :].partition("_")
        if not sep or not secret:
            raise refused
        with self.engine.connect() as conn:
            row = conn.execute(sa.select(self.table).where(self.table.c.key_id == key_id)).first()
        stored = str(row._mapping["secret_sha256"]) if row is not None else "0" * 64
        matches = hmac.compare_digest(_digest(secret), stored)  # compared even for unknown ids
        if row is None or not matches:
            raise refused
        key = self._row_key(row)
        if key.revoked_at is not None:
            raise refused
        return key

    def list(self) -> list[ApiKey]:
        """Every key, oldest first."""
        with self.engine.connect() as conn:
            rows = conn.execute(sa.select(self.table).order_by(self.table.c.created_at)).all()
        return [self._row_key(r) for r in rows]

    def revoke(self, key_id: str) -> bool:
        """Revoke a key; False when no live key has this id."""
        with self.engine.begin() as conn:
            n = conn.execute(
                self.table.update()
                .where(self.table.c.key_id == key_id, self.table.c.revoked_at.is_(None))
                .values(revoked_at=dt.datetime.now(dt.UTC))
            ).rowcount
        return bool(n)

    def count_live(self) -> int:
        """Number of keys not revoked."""
        q = sa.select(sa.func.count()).select_from(self.table).where(self.table.c.revoked_at.is_(None))
        with self.engine.connect() as conn:
            return int(conn.execute(q).scalar_one())
