from __future__ import annotations

import csv
import io
import json
import os
import threading
import time
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa

from api.core.audit import GENESIS, AuditEntry, AuditLog
from provenance.store import open_engine

PG_URL = os.environ.get("ASSAY_TEST_POSTGRES_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/test")


@pytest.fixture(params=["sqlite", "postgresql"])
def log(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[AuditLog]:
    if request.param == "sqlite":
        yield AuditLog(open_engine(f"sqlite:///{tmp_path / 'audit.db'}")).create()
        return
    schema = f"assay_audit_{uuid.uuid4().hex[:12]}"
    engine = open_engine(PG_URL)
    with engine.begin() as conn:
        conn.execute(sa.text(f'CREATE SCHEMA "{schema}"'))
    try:
        yield AuditLog(engine, schema=schema).create()
    finally:
        with engine.begin() as conn:
            conn.execute(sa.text(f'DROP SCHEMA "{schema}" CASCADE'))
        engine.dispose()


def _fill(log: AuditLog, n: int = 5) -> None:
    for i in range(n):
        log.append(actor=f"key:k{i % 2}", action="verify", result="ai", subject=f"content {i}".encode(), key_id="wm-1")


def test_chain_verifies_and_rows_hold_only_hashes(log: AuditLog) -> None:
    assert log.verify().ok and log.head() == GENESIS
    _fill(log)
    check = log.verify()
    assert check.ok and check.rows == 5 and check.head == log.head() != GENESIS
    rows = list(log.entries())
    assert [r.seq for r in rows] == [1, 2, 3, 4, 5] and rows[1].prev_hash == rows[0].hash
    assert all("content" not in json.dumps(r.to_dict()) for r in rows)  # the content itself is never stored


@pytest.mark.parametrize(
    ("tamper", "problem"),
    [
        ("UPDATE {t} SET result = 'no-evidence' WHERE seq = 3", "altered"),
        ("UPDATE {t} SET actor = 'key:someone-else' WHERE seq = 1", "altered"),
        ("DELETE FROM {t} WHERE seq = 2", "missing"),
        ("UPDATE {t} SET seq = 9 WHERE seq = 5", "missing"),
    ],
)
def test_edited_or_deleted_rows_are_detected(log: AuditLog, tamper: str, problem: str) -> None:
    _fill(log)
    table = log.table.fullname if log.table.schema is None else f'"{log.table.schema}".{log.table.name}'
    with log.engine.begin() as conn:
        conn.execute(sa.text(tamper.format(t=table)))
    check = log.verify()
    assert not check.ok and problem in str(check.problem)


def test_recomputed_hash_still_breaks_the_next_link(log: AuditLog) -> None:
    """An editor who also recomputes the edited row's own hash breaks the next row's link."""
    from api.core.audit import _row_hash

    _fill(log)
    row = next(e for e in log.entries() if e.seq == 2)
    forged = row.to_dict() | {"result": "no-evidence"}
    forged["hash"] = _row_hash(forged, row.prev_hash)
    with log.engine.begin() as conn:
        conn.execute(log.table.update().where(log.table.c.seq == 2).values(result="no-evidence", hash=forged["hash"]))
    check = log.verify()
    assert not check.ok and check.first_bad_seq == 3 and "does not chain" in str(check.problem)


def test_truncation_is_caught_against_a_recorded_head(log: AuditLog) -> None:
    _fill(log)
    head = log.head()
    with log.engine.begin() as conn:
        conn.execute(log.table.delete().where(log.table.c.seq == 5))
    assert log.verify().ok  # a shorter chain is still a valid chain ...
    assert not log.verify(expect_head=head).ok  # ... but not the one that was recorded


def test_concurrent_writers_never_fork_the_chain(log: AuditLog) -> None:
    other = AuditLog(log.engine, schema=log.table.schema)  # a second writer with its own lock, like a second worker

    def write(writer: AuditLog, n: int) -> None:
        for i in range(n):
            writer.append(actor="key:x", action="verify", result="ai", subject=str(i).encode())

    threads = [threading.Thread(target=write, args=(w, 25)) for w in (log, other, log, other)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    check = log.verify()
    assert check.ok and check.rows == 100


def test_group_commit_writes_concurrent_appends_together(log: AuditLog, monkeypatch: pytest.MonkeyPatch) -> None:
    """Threads appending at once share transactions; each gets back exactly the row stored under
    its sequence number, and only once that row is committed."""
    got: list[AuditEntry] = []
    real_write = log._write

    def once_every_thread_waits(take: Any) -> list[AuditEntry]:
        # Each write starts once all 12 threads have a row queued (or after 10 s), so how many
        # rows it carries does not depend on how busy the machine is: left to the scheduler, a
        # loaded machine ran the threads one after another (203 transactions for 240 rows).
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            with log._turn:
                if len(log._queue) >= 12:
                    break
            time.sleep(0.001)
        return real_write(take)

    monkeypatch.setattr(log, "_write", once_every_thread_waits)

    def write(k: int) -> None:
        for i in range(20):
            got.append(log.append(actor=f"t{k}", action="verify", result="ai", subject=f"{k}/{i}".encode()))

    threads = [threading.Thread(target=write, args=(k,)) for k in range(12)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    stored = {e.seq: e for e in log.entries()}
    assert sorted(e.seq for e in got) == list(range(1, 241)) and all(stored[e.seq] == e for e in got)
    assert log.writes == 20 and log.verify().ok  # 240 rows, one of every thread in each transaction
    one = AuditLog(log.engine, schema=log.table.schema, group_commit=False)
    one.append(actor="x", action="verify", result="ai")
    assert one.writes == 1 and log.count() == 241


def test_a_failed_write_fails_every_append_it_carried(log: AuditLog) -> None:
    """No append is acknowledged without its row: where the transaction fails, every thread
    whose row it carried gets the error, and the log takes appends again afterwards."""
    with log.engine.begin() as conn:
        conn.execute(sa.text(f"DROP TABLE {log.engine.dialect.identifier_preparer.format_table(log.table)}"))
    errors: list[BaseException] = []

    def write(k: int) -> None:
        try:
            log.append(actor=f"t{k}", action="verify", result="ai")
        except (sa.exc.SQLAlchemyError, RuntimeError) as exc:
            errors.append(exc)

    threads = [threading.Thread(target=write, args=(k,)) for k in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert len(errors) == 8 and not log._queue
    log.create()
    assert log.append(actor="x", action="verify", result="ai").seq == 1 and log.verify().ok


def test_export_jsonl_and_csv(log: AuditLog) -> None:
    _fill(log, 3)
    buf = io.StringIO()
    assert log.export("jsonl", buf) == 3
    rows = [json.loads(line) for line in buf.getvalue().splitlines()]
    assert rows[2]["hash"] == log.head() and set(rows[0]) >= {"seq", "at", "actor", "action", "subject_sha256"}
    buf = io.StringIO()
    log.export("csv", buf)
    parsed = list(csv.DictReader(io.StringIO(buf.getvalue())))
    assert [r["seq"] for r in parsed] == ["1", "2", "3"]
    with pytest.raises(ValueError, match="jsonl or csv"):
        log.export("xml", io.StringIO())
