"""What the service benchmarks share: ``assay serve`` as a child process, and the private
PostgreSQL and Redis servers of the tests (``tests/api/servers.py``: spare ports, never the
machine's shared servers)."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import httpx

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from tests.api.servers import PrivatePostgres, PrivateRedis, free_port

ROOT = Path(__file__).resolve().parents[1]
RESULTS = ROOT / "eval" / "results"
ASSAY = str(Path(sys.executable).parent / "assay")

__all__ = ["ASSAY", "RESULTS", "ROOT", "PrivatePostgres", "PrivateRedis", "Service", "free_port"]


class Service:
    """``assay serve`` on a data directory, with ``ASSAY_*`` settings; started and stopped at will."""

    def __init__(self, data_dir: Path, *, workers: int = 1, cpus: str | None = None, **settings: str) -> None:
        self.data_dir, self.port, self.workers, self.cpus = data_dir, free_port(), workers, cpus
        self.env = os.environ | {
            "ASSAY_DATA_DIR": str(data_dir),
            "ASSAY_PORT": str(self.port),
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
        pin = ["taskset", "-c", self.cpus] if self.cpus else []  # only these CPUs, threads and children included
        self.proc = subprocess.Popen([*pin, ASSAY, "serve", "--workers", str(self.workers)], env=self.env, **quiet)
        path = "/readyz" if ready else "/healthz"
        # every worker must answer: a new connection per probe lands on any of them
        need, streak = (1 if self.workers == 1 else 4 * self.workers), 0
        while streak < need:
            try:
                ok = httpx.get(self.base + path, timeout=5).status_code == 200
                streak = streak + 1 if ok else 0
            except httpx.TransportError:
                streak = 0  # not listening yet
            if self.proc.poll() is not None:
                raise RuntimeError("the service exited at start")
            if streak < need:
                time.sleep(0.05)
        return time.perf_counter() - t0

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
