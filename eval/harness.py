"""What the service benchmarks share: a free loopback port, ``assay serve`` as a child process, and
a private PostgreSQL cluster (the machine's ``initdb``/``pg_ctl`` on a spare port, never 5432)."""

from __future__ import annotations

import contextlib
import os
import shutil
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import httpx

ROOT = Path(__file__).resolve().parents[1]
RESULTS = ROOT / "eval" / "results"
ASSAY = str(Path(sys.executable).parent / "assay")
PG_BIN = next(iter(sorted(Path("/usr/lib/postgresql").glob("*/bin"))), None)

__all__ = ["ASSAY", "PG_BIN", "RESULTS", "ROOT", "PrivatePostgres", "Service", "free_port"]


def free_port() -> int:
    """A port on 127.0.0.1 that nothing listens on now."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


class Service:
    """``assay serve`` on a data directory, with ``ASSAY_*`` settings; started and stopped at will."""

    def __init__(self, data_dir: Path, **settings: str) -> None:
        self.data_dir, self.port = data_dir, free_port()
        self.env = os.environ | {
            "ASSAY_DATA_DIR": str(data_dir),
            "ASSAY_PORT": str(self.port),
            "ASSAY_CACHE_DIR": str(ROOT / ".cache" / "models"),
            "HF_HUB_OFFLINE": "1",
        }
        self.env |= {f"ASSAY_{k.upper()}": v for k, v in settings.items()}
        self.proc: subprocess.Popen[bytes] | None = None
        self.base = f"http://127.0.0.1:{self.port}"

    def start(self, *, ready: bool = False) -> float:
        """Start and wait for ``/healthz`` (or, with ``ready``, for ``/readyz``: the model loaded);
        returns the seconds until then."""
        t0 = time.perf_counter()
        quiet = {"stdout": subprocess.DEVNULL, "stderr": subprocess.DEVNULL}
        self.proc = subprocess.Popen([ASSAY, "serve"], env=self.env, **quiet)
        path = "/readyz" if ready else "/healthz"
        with httpx.Client(timeout=5) as c:
            while True:
                try:
                    if c.get(self.base + path).status_code == 200:
                        return time.perf_counter() - t0
                except httpx.TransportError:
                    pass  # not listening yet
                if self.proc.poll() is not None:
                    raise RuntimeError("the service exited at start")
                time.sleep(0.05)

    def kill(self) -> None:
        """SIGKILL: no shutdown code runs."""
        assert self.proc is not None
        self.proc.send_signal(signal.SIGKILL)
        self.proc.wait()

    def stop(self) -> None:
        """A graceful stop (SIGTERM)."""
        if self.proc is not None and self.proc.poll() is None:
            self.proc.terminate()
            self.proc.wait(timeout=30)

    @property
    def token(self) -> str:
        """The admin API key the service wrote on its first start."""
        return (self.data_dir / "admin-api-key").read_text().strip()


class PrivatePostgres:
    """A throwaway cluster owned by ``postgres`` under ``/tmp`` (PostgreSQL refuses to run as root)."""

    def __init__(self) -> None:
        if PG_BIN is None:
            raise SystemExit("needs the machine's PostgreSQL binaries (initdb, pg_ctl)")
        self.root = Path("/tmp") / f"assay-eval-pg-{os.getpid()}-{time.monotonic_ns()}"
        self.root.mkdir()
        shutil.chown(self.root, "postgres", "postgres")
        self.port = free_port()
        self._pg("initdb", "-D", str(self.root / "data"), "-A", "trust", "-U", "postgres", "--no-sync")

    def _pg(self, tool: str, *args: str) -> None:
        assert PG_BIN is not None
        cmd = [str(PG_BIN / tool), *args]
        if os.geteuid() == 0:
            cmd = ["runuser", "-u", "postgres", "--", *cmd]
        subprocess.run(cmd, check=True, capture_output=True, timeout=120)

    def start(self) -> None:
        opts = f"-p {self.port} -k {self.root} -c listen_addresses=127.0.0.1"
        data, log = str(self.root / "data"), str(self.root / "log")
        self._pg("pg_ctl", "-D", data, "-o", opts, "-l", log, "-w", "start")

    def stop(self) -> None:
        self._pg("pg_ctl", "-D", str(self.root / "data"), "-m", "fast", "-w", "stop")

    def remove(self) -> None:
        """Stop (if running) and delete the cluster."""
        with contextlib.suppress(subprocess.CalledProcessError):  # already stopped
            self.stop()
        shutil.rmtree(self.root, ignore_errors=True)

    @property
    def url(self) -> str:
        return f"postgresql+psycopg://postgres@127.0.0.1:{self.port}/postgres"
