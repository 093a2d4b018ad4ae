"""The audit log: every sign, generate and verify, append-only and hash-chained.

Each row holds who (API key id or CLI user), when, what (action and the SHA-256 of the content),
which key, and the result. Its ``hash`` is SHA-256 over the canonical JSON of those fields and
the previous row's hash, so editing or deleting any row breaks the chain from there on;
:meth:`AuditLog.verify` finds the first broken row. Dropping rows from the *end* leaves a
shorter valid chain: compare :meth:`AuditLog.head` with a head recorded elsewhere (``assay audit
verify --expect-head``) to catch that.

Appends serialise: on PostgreSQL every append first takes a transaction-scoped advisory lock, so
writers in every process and on every machine queue instead of racing; elsewhere (SQLite, whose
writer lock serialises commits) the sequence number, a primary key, settles a race: the loser
sees a conflict and retries after a short random pause. Either way the chain never forks.
"""

from __future__ import annotations

import csv
import datetime as dt
import hashlib
import io
import json
import random
import threading
import time
from collections.abc import Iterator, Mapping
from dataclasses import asdict, dataclass
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Engine

__all__ = ["GENESIS", "AuditEntry", "AuditLog", "ChainCheck", "leaf_bytes"]

GENESIS = "0" * 64
_APPEND_LOCK = int.from_bytes(hashlib.sha256(b"assay_audit append").digest()[:8], "big", signed=True)
_FIELDS = ("seq", "at", "actor", "action", "subject_sha256", "key_id", "result", "detail")


@dataclass(frozen=True)
class AuditEntry:
    """One row of the audit log."""

    seq: int
    at: str  # ISO 8601, UTC
    actor: str
    action: str
    subject_sha256: str | None
    key_id: str | None
    result: str
    detail: str  # canonical JSON object
    prev_hash: str
    hash: str

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready form."""
        return asdict(self)


@dataclass(frozen=True)
class ChainCheck:
    """The outcome of :meth:`AuditLog.verify`."""

    ok: bool
    rows: int
    head: str
    first_bad_seq: int | None = None
    problem: str | None = None

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready form."""
        return asdict(self)


def _body(fields: Mapping[str, object]) -> bytes:
    """A row's canonical bytes: the JSON of its fields (sorted keys, no spaces, ASCII)."""
    return json.dumps(
        {k: fields[k] for k in _FIELDS}, sort_keys=True, separators=(",", ":"), ensure_ascii=True
    ).encode()


def leaf_bytes(entry: AuditEntry) -> bytes:
    """The row's canonical bytes: its leaf in the log's Merkle tree (:mod:`api.core.audit_tree`)."""
    return _body(asdict(entry))


def _row_hash(fields: dict[str, Any], prev_hash: str) -> str:
    return hashlib.sha256(prev_hash.encode() + b"\n" + _body(fields)).hexdigest()


class AuditLog:
    """An append-only, hash-chained log in the service's database."""

    def __init__(self, engine: Engine, *, schema: str | None = None) -> None:
        self.engine = engine
        self.metadata = sa.MetaData(schema=schema)
        self.table = sa.Table(
            "assay_audit",
            self.metadata,
            sa.Column("seq", sa.BigInteger().with_variant(sa.Integer, "sqlite"), primary_key=True, autoincrement=False),
            sa.Column("at", sa.String(40), nullable=False),
            sa.Column("actor", sa.String(200), nullable=False),
            sa.Column("action", sa.String(100), nullable=False),
            sa.Column("subject_sha256", sa.String(64)),
            sa.Column("key_id", sa.String(200)),
            sa.Column("result", sa.String(400), nullable=False),
            sa.Column("detail", sa.Text, nullable=False),
            sa.Column("prev_hash", sa.String(64), nullable=False),
            sa.Column("hash", sa.String(64), nullable=False),
        )
        self._lock = threading.Lock()
        self.retries = 0  # appends that lost a race for a sequence number and went again

    def create(self) -> AuditLog:
        """Create the table if needed; returns self."""
        self.metadata.create_all(self.engine)
        return self

    def append(
        self,
        *,
        actor: str,
        action: str,
        result: str,
        subject: bytes | None = None,
        subject_sha256: str | None = None,
        key_id: str | None = None,
        detail: dict[str, Any] | None = None,
    ) -> AuditEntry:
        """Append one row (the content itself is never stored, only its SHA-256)."""
        digest = hashlib.sha256(subject).hexdigest() if subject is not None else subject_sha256
        fields: dict[str, Any] = {
            "at": dt.datetime.now(dt.UTC).isoformat(timespec="microseconds"),
            "actor": actor[:200],
            "action": action[:100],
            "subject_sha256": digest,
            "key_id": key_id[:200] if key_id else None,
            "result": result[:400],
            "detail": json.dumps(detail or {}, sort_keys=True, separators=(",", ":"), default=str),
        }
        last = sa.select(self.table.c.seq, self.table.c.hash).order_by(self.table.c.seq.desc()).limit(1)
        queue = self.engine.dialect.name == "postgresql"
        with self._lock:
            for attempt in range(50):
                try:
                    with self.engine.begin() as conn:
                        if queue:  # released at commit or rollback
                            conn.execute(sa.text("SELECT pg_advisory_xact_lock(:k)"), {"k": _APPEND_LOCK})
                        row = conn.execute(last).first()
                        seq, prev = (row.seq + 1, row.hash) if row is not None else (1, GENESIS)
                        entry = {
                            **fields,
                            "seq": seq,
                            "prev_hash": prev,
                            "hash": _row_hash({**fields, "seq": seq}, prev),
                        }
                        conn.execute(self.table.insert().values(**entry))
                    return AuditEntry(**entry)
                except sa.exc.IntegrityError:  # another process took this sequence number: chain onto its row
                    self.retries += 1
                    time.sleep(random.uniform(0, 0.002 * min(attempt + 1, 10)))  # de-synchronise the racers
        raise RuntimeError("could not append to the audit log: too many concurrent writers")

    def entries(self, *, since: int = 0, batch: int = 1000) -> Iterator[AuditEntry]:
        """Every row with ``seq > since``, in order (streamed in batches)."""
        cursor = since
        while True:
            q = sa.select(self.table).where(self.table.c.seq > cursor).order_by(self.table.c.seq).limit(batch)
            with self.engine.connect() as conn:
                rows = conn.execute(q).all()
            for r in rows:
                yield AuditEntry(**{k: getattr(r, k) for k in AuditEntry.__dataclass_fields__})
            if len(rows) < batch:
                return
            cursor = rows[-1].seq

    def count(self) -> int:
        """Number of rows."""
        with self.engine.connect() as conn:
            return int(conn.execute(sa.select(sa.func.count()).select_from(self.table)).scalar_one())

    def head(self) -> str:
        """The hash of the last row (``GENESIS`` when empty)."""
        q = sa.select(self.table.c.hash).order_by(self.table.c.seq.desc()).limit(1)
        with self.engine.connect() as conn:
            h = conn.execute(q).scalar()
        return str(h) if h else GENESIS

    def verify(self, *, expect_head: str | None = None) -> ChainCheck:
        """Recompute the chain; report the first row that was edited, inserted or removed."""
        prev, expected_seq, n = GENESIS, 1, 0
        for e in self.entries():
            n += 1
            if e.seq != expected_seq:
                return ChainCheck(False, n, prev, e.seq, f"row {expected_seq} is missing (next is {e.seq})")
            if e.prev_hash != prev:
                return ChainCheck(False, n, prev, e.seq, f"row {e.seq} does not chain onto row {e.seq - 1}")
            if _row_hash(asdict(e), prev) != e.hash:
                return ChainCheck(False, n, prev, e.seq, f"row {e.seq} was altered after it was written")
            prev, expected_seq = e.hash, expected_seq + 1
        if expect_head is not None and expect_head != prev:
            return ChainCheck(False, n, prev, None, "the log does not end at the expected head (rows removed?)")
        return ChainCheck(True, n, prev)

    def export(self, fmt: str, out: io.TextIOBase | Any) -> int:
        """Write every row to ``out`` as ``jsonl`` or ``csv``; returns the number of rows."""
        if fmt not in ("jsonl", "csv"):
            raise ValueError(f"format must be jsonl or csv, got {fmt!r}")
        writer = csv.DictWriter(out, fieldnames=list(AuditEntry.__dataclass_fields__)) if fmt == "csv" else None
        if writer is not None:
            writer.writeheader()
        n = 0
        for e in self.entries():
            if writer is not None:
                writer.writerow(e.to_dict())
            else:
                out.write(json.dumps(e.to_dict(), sort_keys=True) + "\n")
            n += 1
        return n
