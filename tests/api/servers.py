"""Private PostgreSQL and Redis servers for tests and benchmarks: the machine's binaries on spare
ports, never the shared servers on 5432/6379, so a test may stop and start them at will."""

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

__all__ = ["PrivatePostgres", "PrivateRedis", "free_port", "postgres_server", "redis_server"]

PG_BIN = next(iter(sorted(Path("/usr/lib/postgresql").glob("*/bin"))), None)


def free_port() -> int:
    """A TCP port nothing listens on now."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


class PrivatePostgres:
    """A throwaway cluster under ``/tmp`` owned by the ``postgres`` user (PostgreSQL refuses to run
    as root), listening on 127.0.0.1:``port``. ``fsync=False`` for tests that do not crash it."""

    def __init__(self, *, fsync: bool = True) -> None:
        if PG_BIN is None:
            raise RuntimeError("needs the machine's PostgreSQL binaries (initdb, pg_ctl)")
        self.root = Path("/tmp") / f"assay-pg-{os.getpid()}-{time.monotonic_ns()}"  # postgres must reach it
        self.data, self.fsync = self.root / "data", fsync
        self.port = free_port()
        self.root.mkdir(parents=True)
        shutil.chown(self.root, "postgres", "postgres")
        self._pg("initdb", "-D", str(self.data), "-A", "trust", "-U", "postgres", "--no-sync")

    def _pg(self, tool: str, *args: str) -> None:
        assert PG_BIN is not None
        cmd = [str(PG_BIN / tool), *args]
        if os.geteuid() == 0:  # PostgreSQL refuses to run as root
            cmd = ["runuser", "-u", "postgres", "--", *cmd]
        subprocess.run(cmd, check=True, capture_output=True, timeout=120)

    def start(self) -> None:
        opts = f"-p {self.port} -k {self.root} -c listen_addresses=127.0.0.1" + ("" if self.fsync else " -c fsync=off")
        self._pg("pg_ctl", "-D", str(self.data), "-o", opts, "-w", "-l", str(self.root / "log"), "start")

    def stop(self) -> None:
        self._pg("pg_ctl", "-D", str(self.data), "-m", "fast", "-w", "stop")

    def remove(self) -> None:
        """Stop (if running) and delete the cluster."""
        with contextlib.suppress(subprocess.CalledProcessError):  # already stopped
            self.stop()
        shutil.rmtree(self.root, ignore_errors=True)

    @property
    def url(self) -> str:
        return f"postgresql+psycopg://postgres@127.0.0.1:{self.port}/postgres"


class PrivateRedis:
    """A redis-server that keeps nothing on disk, on 127.0.0.1:``port``."""

    def __init__(self) -> None:
        self.port = free_port()
        self.proc: subprocess.Popen[bytes] | None = None

    def start(self) -> None:
        cmd = ["redis-server", "--port", str(self.port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no"]
        self.proc = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        deadline = time.monotonic() + 10
        while True:
            with contextlib.suppress(OSError), socket.create_connection(("127.0.0.1", self.port), timeout=0.2):
                return
            if time.monotonic() > deadline:
                raise RuntimeError("redis-server did not start")
            time.sleep(0.05)

    def stop(self) -> None:
        if self.proc is not None:
            self.proc.terminate()
            self.proc.wait(timeout=10)
            self.proc = None

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0"


@pytest.fixture
def postgres_server() -> Iterator[PrivatePostgres]:
    """A private PostgreSQL, removed afterwards."""
    if PG_BIN is None or shutil.which("runuser") is None:
        pytest.fail("this test needs the machine's PostgreSQL binaries (initdb, pg_ctl) and runuser")
    pg = PrivatePostgres(fsync=False)
    pg.start()
    try:
        yield pg
    finally:
        pg.remove()


@pytest.fixture
def redis_server() -> Iterator[PrivateRedis]:
    """A private Redis, stopped afterwards."""
    if shutil.which("redis-server") is None:
        pytest.fail("this test needs the machine's redis-server")
    server = PrivateRedis()
    server.start()
    try:
        yield server
    finally:
        server.stop()
