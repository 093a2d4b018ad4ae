"""Crash safety: SIGKILL the service at random moments during watermark+sign+store and audit appends.

For each store (SQLite in the data directory, and a private PostgreSQL cluster made with the
machine's ``initdb``/``pg_ctl`` on a spare port — never the shared one on 5432), ``--kills`` times:
start ``assay serve``, send concurrent ``/v1/images/watermark`` and text ``/v1/verify`` requests,
SIGKILL the process after a random 0.2–1.5 s, restart it. At the end, and after every restart:

- every request that was answered 200 has its audit row (watermark: the row naming its manifest id;
  verify: a ``verify`` row with the content's SHA-256 and a verdict);
- no stored manifest of a watermark is without its soft binding, and no binding without its manifest;
- ``assay audit verify`` passes (the hash chain never forks or breaks);
- the service answers ``/healthz`` again after each restart (time to first answer recorded).

Writes ``eval/results/crash_safety.{json,md}``. Usage: ``.venv/bin/python eval/crash_safety.py [--kills 50]``.
"""

from __future__ import annotations

import argparse
import hashlib
import io
import json
import os
import random
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path
from typing import Any

import httpx
import numpy as np
import sqlalchemy as sa
from PIL import Image

ROOT = Path(__file__).resolve().parents[1]
RESULTS = ROOT / "eval" / "results"
ASSAY = str(Path(sys.executable).parent / "assay")
PG_BIN = next(iter(sorted(Path("/usr/lib/postgresql").glob("*/bin"))), None)


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _pg(tool: str, *args: str) -> None:
    assert PG_BIN is not None
    cmd = [str(PG_BIN / tool), *args]
    if os.geteuid() == 0:
        cmd = ["runuser", "-u", "postgres", "--", *cmd]
    subprocess.run(cmd, check=True, capture_output=True, timeout=120)


class Service:
    """``assay serve`` on a data directory and store, restarted after each kill."""

    def __init__(self, data_dir: Path, store_url: str | None) -> None:
        self.data_dir, self.port = data_dir, _free_port()
        self.env = os.environ | {
            "ASSAY_DATA_DIR": str(data_dir),
            "ASSAY_PORT": str(self.port),
            "ASSAY_WARM_ON_START": "false",
            "ASSAY_AI_LIKELIHOOD": "false",
            "ASSAY_RATE_LIMIT_BURST": "100000",
            "ASSAY_RATE_LIMIT_PER_MINUTE": "100000",
            "ASSAY_CACHE_DIR": str(ROOT / ".cache" / "models"),
            "HF_HUB_OFFLINE": "1",
        }
        if store_url:
            self.env["ASSAY_STORE_URL"] = store_url
        self.proc: subprocess.Popen[bytes] | None = None
        self.base = f"http://127.0.0.1:{self.port}"

    def start(self) -> float:
        """Start and wait for ``/healthz``; seconds until the first answer."""
        t0 = time.perf_counter()
        self.proc = subprocess.Popen(
            [ASSAY, "serve"], env=self.env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
        )
        with httpx.Client(timeout=5) as c:
            while True:
                try:
                    if c.get(self.base + "/healthz").status_code == 200:
                        return time.perf_counter() - t0
                except httpx.TransportError:
                    pass
                if self.proc.poll() is not None:
                    raise RuntimeError("the service exited at start")
                time.sleep(0.05)

    def kill(self) -> None:
        assert self.proc is not None
        self.proc.send_signal(signal.SIGKILL)
        self.proc.wait()

    @property
    def token(self) -> str:
        return (self.data_dir / "admin-api-key").read_text().strip()


def _images(n: int) -> list[bytes]:
    rng = np.random.default_rng(5)
    out = []
    for _ in range(n):
        buf = io.BytesIO()
        Image.fromarray(rng.integers(0, 255, (288, 320, 3), dtype=np.uint8)).save(buf, "JPEG", quality=90)
        out.append(buf.getvalue())
    return out


def _load(svc: Service, stop: threading.Event, answered: list[dict[str, Any]], seed: int) -> None:
    rng = random.Random(seed)
    images = _images(4)
    headers = {"Authorization": f"Bearer {svc.token}"}
    with httpx.Client(timeout=30) as c:
        while not stop.is_set():
            try:
                if rng.random() < 0.5:
                    r = c.post(
                        svc.base + "/v1/images/watermark?title=crash",
                        content=rng.choice(images),
                        headers=headers | {"content-type": "image/jpeg"},
                    )
                    if r.status_code == 200:
                        answered.append({"kind": "watermark", "manifest_id": r.headers["assay-manifest-id"]})
                else:
                    text = f"A note written at {time.time()} by client {seed}, number {rng.random()}."
                    r = c.post(
                        svc.base + "/v1/verify", content=text.encode(), headers=headers | {"content-type": "text/plain"}
                    )
                    if r.status_code == 200:
                        answered.append({"kind": "verify", "sha256": hashlib.sha256(text.encode()).hexdigest()})
            except httpx.TransportError:
                time.sleep(0.02)  # killed mid-request, or restarting


def _check(svc: Service, store_url: str, answered: list[dict[str, Any]]) -> dict[str, Any]:
    engine = sa.create_engine(store_url)
    with engine.connect() as conn:
        rows = conn.execute(sa.text("SELECT action, subject_sha256, result, detail FROM assay_audit")).all()
        orphans = conn.execute(
            sa.text(
                "SELECT count(*) FROM assay_manifests m LEFT JOIN assay_soft_bindings b "
                "ON b.manifest_id = m.manifest_id WHERE b.manifest_id IS NULL"
            )
        ).scalar_one()
        dangling = conn.execute(
            sa.text(
                "SELECT count(*) FROM assay_soft_bindings b LEFT JOIN assay_manifests m "
                "ON b.manifest_id = m.manifest_id WHERE m.manifest_id IS NULL"
            )
        ).scalar_one()
    engine.dispose()
    signed = {json.loads(d)["manifest_id"] for a, _, res, d in rows if a == "image.watermark" and res == "signed"}
    verified = {s for a, s, res, _ in rows if a == "verify" and not res.startswith("error")}
    lost = [
        x
        for x in answered
        if (x["kind"] == "watermark" and x["manifest_id"] not in signed)
        or (x["kind"] == "verify" and x["sha256"] not in verified)
    ]
    chain = subprocess.run([ASSAY, "audit", "verify", "--json"], env=svc.env, capture_output=True, text=True)
    return {
        "audit_rows": len(rows),
        "answered": len(answered),
        "lost": len(lost),
        "manifests_without_binding": int(orphans),
        "bindings_without_manifest": int(dangling),
        "audit_chain_ok": chain.returncode == 0 and json.loads(chain.stdout)["ok"],
    }


def run_store(name: str, kills: int, seed: int) -> dict[str, Any]:
    data_dir = Path(tempfile.mkdtemp(prefix=f"assay-crash-{name}-"))
    pg_root: Path | None = None
    store_url = f"sqlite:///{data_dir / 'assay.db'}"
    if name == "postgresql":
        if PG_BIN is None:
            return {"store": name, "skipped": "no PostgreSQL binaries on this machine"}
        pg_root = Path("/tmp") / f"assay-crash-pg-{os.getpid()}"
        pg_root.mkdir()
        shutil.chown(pg_root, "postgres", "postgres")
        _pg("initdb", "-D", str(pg_root / "data"), "-A", "trust", "-U", "postgres", "--no-sync")
        port = _free_port()
        opts = f"-p {port} -k {pg_root} -c listen_addresses=127.0.0.1"
        _pg("pg_ctl", "-D", str(pg_root / "data"), "-o", opts, "-w", "-l", str(pg_root / "log"), "start")
        store_url = f"postgresql+psycopg://postgres@127.0.0.1:{port}/postgres"
    svc = Service(data_dir, None if name == "sqlite" else store_url)
    rng = random.Random(seed)
    answered: list[dict[str, Any]] = []
    restarts: list[float] = []
    checks: list[dict[str, Any]] = []
    try:
        restarts.append(svc.start())
        for k in range(kills):
            stop = threading.Event()
            clients = [
                threading.Thread(target=_load, args=(svc, stop, answered, seed * 1000 + k * 10 + i)) for i in range(3)
            ]
            for t in clients:
                t.start()
            time.sleep(rng.uniform(0.2, 1.5))
            svc.kill()
            stop.set()
            for t in clients:
                t.join()
            restarts.append(svc.start())
            if k % 10 == 9 or k == kills - 1:
                checks.append(_check(svc, store_url, answered) | {"after_kills": k + 1})
        svc.kill()
    finally:
        if pg_root is not None:
            _pg("pg_ctl", "-D", str(pg_root / "data"), "-m", "fast", "-w", "stop")
            shutil.rmtree(pg_root, ignore_errors=True)
        shutil.rmtree(data_dir, ignore_errors=True)
    final = checks[-1]
    return {
        "store": name,
        "kills": kills,
        "restart_s": {"median": round(statistics.median(restarts), 2), "max": round(max(restarts), 2)},
        "checks": checks,
        **{
            k: final[k]
            for k in (
                "answered",
                "audit_rows",
                "lost",
                "manifests_without_binding",
                "bindings_without_manifest",
                "audit_chain_ok",
            )
        },
        "all_checks_passed": all(
            c["lost"] == 0
            and c["manifests_without_binding"] == 0
            and c["bindings_without_manifest"] == 0
            and c["audit_chain_ok"]
            for c in checks
        ),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--kills", type=int, default=50)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--store", action="append", choices=("sqlite", "postgresql"))
    args = parser.parse_args()
    rows = [run_store(s, args.kills, args.seed) for s in (args.store or ("sqlite", "postgresql"))]
    RESULTS.mkdir(parents=True, exist_ok=True)
    (RESULTS / "crash_safety.json").write_text(json.dumps({"runs": rows}, indent=2) + "\n")
    lines = [
        "# Crash safety: SIGKILL during watermark+sign+store and audit appends",
        "",
        f"`.venv/bin/python eval/crash_safety.py --kills {args.kills}`: 3 clients (half watermark+sign, half text",
        "verification), the service killed after a random 0.2–1.5 s, restarted; checked every 10 kills.",
        "",
        "| store | kills | answered 200 | audit rows | lost (200 without audit row) | manifest w/o binding "
        "| binding w/o manifest | audit chain | restart s (median / max) |",
        "|---|---|---|---|---|---|---|---|---|",
    ]
    for r in rows:
        if "skipped" in r:
            lines.append(f"| {r['store']} | skipped: {r['skipped']} |||||||")
            continue
        lines.append(
            f"| {r['store']} | {r['kills']} | {r['answered']} | {r['audit_rows']} | {r['lost']} | "
            f"{r['manifests_without_binding']} | {r['bindings_without_manifest']} | "
            f"{'ok' if r['audit_chain_ok'] else 'BROKEN'} | {r['restart_s']['median']} / {r['restart_s']['max']} |"
        )
    (RESULTS / "crash_safety.md").write_text("\n".join(lines) + "\n")
    print("\n".join(lines))


if __name__ == "__main__":
    main()
