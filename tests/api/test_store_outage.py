"""The store goes away under a running service: 503 problems, never a 500, never a 200 without its
audit row; back to ready once it returns. Runs a private PostgreSQL (initdb + pg_ctl of the
machine's PostgreSQL, on a spare port), never the shared one on 5432."""

from __future__ import annotations

import contextlib
import os
import shutil
import socket
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from .conftest import Service, make_service

PG_BIN = next(iter(sorted(Path("/usr/lib/postgresql").glob("*/bin"))), None)


class PrivatePostgres:
    """A throwaway cluster owned by the ``postgres`` user, listening on 127.0.0.1:``port``."""

    def __init__(self, root: Path) -> None:
        assert PG_BIN is not None
        self.root, self.data = root, root / "data"
        with socket.socket() as s:
            s.bind(("127.0.0.1", 0))
            self.port = int(s.getsockname()[1])
        root.mkdir(parents=True, exist_ok=True)
        shutil.chown(root, "postgres", "postgres")
        self._pg("initdb", "-D", str(self.data), "-A", "trust", "-U", "postgres", "--no-sync")

    def _pg(self, tool: str, *args: str) -> None:
        cmd = [str(PG_BIN / tool), *args]
        if os.geteuid() == 0:  # PostgreSQL refuses to run as root
            cmd = ["runuser", "-u", "postgres", "--", *cmd]
        subprocess.run(cmd, check=True, capture_output=True, timeout=120)

    def start(self) -> None:
        opts = f"-p {self.port} -k {self.root} -c listen_addresses=127.0.0.1 -c fsync=off"
        self._pg("pg_ctl", "-D", str(self.data), "-o", opts, "-w", "-l", str(self.root / "log"), "start")

    def stop(self) -> None:
        self._pg("pg_ctl", "-D", str(self.data), "-m", "fast", "-w", "stop")

    @property
    def url(self) -> str:
        return f"postgresql+psycopg://postgres@127.0.0.1:{self.port}/postgres"


@pytest.fixture
def postgres(tmp_path_factory: pytest.TempPathFactory) -> Iterator[PrivatePostgres]:
    if PG_BIN is None or shutil.which("runuser") is None:
        pytest.fail("this test needs the machine's PostgreSQL binaries (initdb, pg_ctl) and runuser")
    root = Path("/tmp") / f"assay-pg-{os.getpid()}-{time.monotonic_ns()}"  # postgres must reach it
    pg = PrivatePostgres(root)
    pg.start()
    try:
        yield pg
    finally:
        with contextlib.suppress(subprocess.CalledProcessError):  # already stopped
            pg.stop()
        shutil.rmtree(root, ignore_errors=True)


def test_store_outage_answers_503_and_recovers(env: Path, postgres: PrivatePostgres) -> None:
    svc: Service = make_service(store_url=postgres.url)
    c, h = svc.client, svc.auth("verify")
    text = {"content": b"A short note about the weather.", "headers": h | {"content-type": "text/plain"}}
    assert c.post("/v1/verify", **text).status_code == 200  # type: ignore[arg-type]
    assert c.get("/readyz").json()["store_reachable"] is True

    postgres.stop()
    answers = [c.post("/v1/verify", **text) for _ in range(3)]  # type: ignore[arg-type]
    for r in answers:
        assert r.status_code == 503 and r.json()["type"] == "https://assay.dev/problems/store-unavailable"
        assert r.headers["retry-after"] == "5"
    ready = c.get("/readyz")
    assert ready.status_code == 503 and ready.json()["store_reachable"] is False

    postgres.start()
    deadline = time.monotonic() + 20
    while c.get("/readyz").json()["store_reachable"] is not True:
        assert time.monotonic() < deadline, "the service did not see the store come back"
        time.sleep(0.2)
    assert c.post("/v1/verify", **text).status_code == 200  # type: ignore[arg-type]
    # every 200 has its audit row; the refused ones left none (the store was down)
    rows = list(svc.runtime.audit.entries())
    assert [r.action for r in rows] == ["verify", "verify"] and svc.runtime.audit.verify().ok
