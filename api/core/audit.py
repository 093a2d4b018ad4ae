"""The audit log: every sign, generate and verify, append-only and hash-chained.

Each row holds who (API key id or CLI user), when, what (action and the SHA-256 of the content),
which key, and the result. Its ``hash`` is SHA-256 over the canonical JSON of those fields and
the previous row's hash, so editing or deleting any row breaks the chain from there on;
:meth:`AuditLog.verify` finds the first broken row. Dropping rows from the *end* leaves a
shorter valid chain: compare :meth:`AuditLog.head` with a head recorded elsewhere (``assay audit
verify --expect-head``) to catch that; the signed checkpoints of :mod:`api.core.audit_tree` do.

Appends are **group-committed**: within a process, the appends that arrive while a write is
running are chained and committed together by the next write, one transaction for all of them
(the sequencer), and ``append`` returns once its row is committed. Across processes, on
PostgreSQL every write first takes a transaction-scoped advisory lock, so writers in every process
and on every machine queue instead of racing, and a writer's queue grows while it waits; elsewhere
(SQLite, whose writer lock serialises commits; one process) the sequence number, a primary key,
settles a race: the loser sees a conflict and retries after a short random pause. Either way the
chain never forks, and a row is acknowledged only once it is committed.
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
from collections.abc import Callable, Iterator, Mapping
from dataclasses import asdict, dataclass
from typing import Any, TypedDict

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


def _entry(row: sa.Row[Any]) -> AuditEntry:
    return AuditEntry(**{k: getattr(row, k) for k in AuditEntry.__dataclass_fields__})


def _row_hash(fields: Mapping[str, object], prev_hash: str) -> str:
    return hashlib.sha256(prev_hash.encode() + b"\n" + _body(fields)).hexdigest()


class _Fields(TypedDict):
    """What an append states (the log adds the sequence number and the chain)."""

    at: str
    actor: str
    action: str
    subject_sha256: str | None
    key_id: str | None
    result: str
    detail: str


@dataclass(eq=False)  # tickets are told apart by identity
class _Ticket:
    """An append on its way into the log."""

    fields: _Fields
    taken: bool = False  # a write took it
    settled: bool = False  # that write has ended
    entry: AuditEntry | None = None  # set once the row is in the log
    error: BaseException | None = None  # why the write failed


class AuditLog:
    """An append-only, hash-chained log in the service's database.

    ``group_commit`` (the default) writes the appends that arrive while a write is running
    together, in the next transaction; ``group_commit=False`` gives each append its own
    transaction (the earlier behaviour, kept for comparison: ``eval/scale.py``).
    """

    def __init__(self, engine: Engine, *, schema: str | None = None, group_commit: bool = True) -> None:
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
        self.group_commit = group_commit
        self._turn = threading.Condition()  # guards the queue and whether a write is running
        self._queue: list[_Ticket] = []
        self._writing = False
        self.retries = 0  # writes that lost a race for a sequence number and went again (SQLite)
        self.writes = 0  # transactions this object committed rows in

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
        """Append one row (the content itself is never stored, only its SHA-256); returns it
        once it is committed, with its sequence number and chain hash."""
        digest = hashlib.sha256(subject).hexdigest() if subject is not None else subject_sha256
        ticket = _Ticket(
            {
                "at": dt.datetime.now(dt.UTC).isoformat(timespec="microseconds"),
                "actor": actor[:200],
                "action": action[:100],
                "subject_sha256": digest,
                "key_id": key_id[:200] if key_id else None,
                "result": result[:400],
                "detail": json.dumps(detail or {}, sort_keys=True, separators=(",", ":"), default=str),
            }
        )
        with self._turn:
            self._queue.append(ticket)
            while not ticket.settled and (self._writing or ticket.taken):
                self._turn.wait()
            writer = not ticket.settled  # no write is running and none took this row: write
            self._writing = self._writing or writer
        if writer:
            self._write_queue(ticket)
        if ticket.entry is None:
            raise RuntimeError("the audit row was not written: the write it was part of failed") from ticket.error
        return ticket.entry

    def _write_queue(self, own: _Ticket) -> None:
        """As the process's one writer: write the queue (only ``own`` without group commit),
        taken once the transaction holds the lock, so what arrived while it waited goes too."""
        batch: list[_Ticket] = []

        def take() -> list[_Fields]:
            if not batch:  # a retried transaction writes the same batch
                with self._turn:
                    if self.group_commit:
                        batch.extend(self._queue)
                        self._queue = []
                    else:
                        batch.append(own)
                        self._queue.remove(own)
                    for t in batch:
                        t.taken = True
            return [t.fields for t in batch]

        try:
            for t, e in zip(batch, self._write(take), strict=True):
                t.entry = e
        except BaseException as exc:
            for t in batch:
                t.error = exc
            raise
        finally:
            with self._turn:
                if own not in batch:  # failed before it took the queue
                    self._queue.remove(own)
                for t in batch:
                    t.settled = True
                self._writing = False
                self._turn.notify_all()

    def _write(self, take: Callable[[], list[_Fields]]) -> list[AuditEntry]:
        """Chain the rows ``take`` gives onto the last row in one transaction, under the advisory
        lock on PostgreSQL; elsewhere a lost race for the next sequence number is retried."""
        last = sa.select(self.table.c.seq, self.table.c.hash).order_by(self.table.c.seq.desc()).limit(1)
        queue = self.engine.dialect.name == "postgresql"
        for attempt in range(50):
            try:
                with self.engine.begin() as conn:
                    if queue:  # released at commit or rollback
                        conn.execute(sa.text("SELECT pg_advisory_xact_lock(:k)"), {"k": _APPEND_LOCK})
                    row = conn.execute(last).first()
                    seq, prev = (row.seq, row.hash) if row is not None else (0, GENESIS)
                    entries = []
                    for fields in take():
                        seq += 1
                        digest = _row_hash({**fields, "seq": seq}, prev)
                        entries.append(AuditEntry(seq=seq, **fields, prev_hash=prev, hash=digest))
                        prev = digest
                    conn.execute(self.table.insert(), [asdict(e) for e in entries])
                self.writes += 1
                return entries
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
                yield _entry(r)
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
