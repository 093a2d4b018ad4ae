"""Bounded work under a decompression-bomb-like load: concurrent 49 MP image verifications.

Starts ``assay serve`` (one worker, loopback, a fresh data directory), sends concurrent
``/v1/verify`` requests of a 7000 x 7000 grey PNG (about 48 KB on the wire, under the 50 MP limit),
samples the server's resident memory every 50 ms and times ``/healthz`` every 100 ms throughout.
Run twice in one go: with the decode budget effectively off (the behaviour before it existed; only
3 requests, since 20 would exhaust this 24 GiB machine) and with the default budget (20 requests).

Writes ``eval/results/reliability.{json,md}``. Usage: ``.venv/bin/python eval/reliability.py``.
"""

from __future__ import annotations

import io
import json
import os
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
from PIL import Image

ROOT = Path(__file__).resolve().parents[1]
RESULTS = ROOT / "eval" / "results"
ASSAY = str(Path(sys.executable).parent / "assay")


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _rss_bytes(pid: int) -> int:
    with open(f"/proc/{pid}/status") as fh:
        for line in fh:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) * 1024
    return 0


def _bomb() -> bytes:
    buf = io.BytesIO()
    Image.new("L", (7000, 7000), 128).save(buf, "PNG")
    return buf.getvalue()


def run(label: str, *, requests: int, budget: int | None) -> dict[str, Any]:
    """One server, ``requests`` concurrent verifications of the 49 MP PNG; memory and liveness sampled."""
    port = _free_port()
    data_dir = tempfile.mkdtemp(prefix="assay-reliability-")
    env = os.environ | {
        "ASSAY_DATA_DIR": data_dir,
        "ASSAY_PORT": str(port),
        "ASSAY_ANONYMOUS_VERIFY": "true",
        "ASSAY_RATE_LIMIT_BURST": "10000",
        "ASSAY_CACHE_DIR": str(ROOT / ".cache" / "models"),
        "HF_HUB_OFFLINE": "1",
    }
    if budget is not None:
        env["ASSAY_DECODE_BUDGET_PIXELS"] = str(budget)
    server = subprocess.Popen([ASSAY, "serve"], env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    base = f"http://127.0.0.1:{port}"
    try:
        with httpx.Client(timeout=10) as c:
            for _ in range(600):  # the model loads at start (warm-up): readiness says when
                try:
                    if c.get(base + "/readyz").status_code == 200:
                        break
                except httpx.TransportError:
                    pass
                time.sleep(0.2)
        idle_rss = _rss_bytes(server.pid)
        stop = threading.Event()
        rss: list[int] = []
        health: list[float] = []

        def sample_memory() -> None:
            while not stop.is_set():
                rss.append(_rss_bytes(server.pid))
                time.sleep(0.05)

        def poll_health() -> None:
            with httpx.Client(timeout=30) as c:
                while not stop.is_set():
                    t0 = time.perf_counter()
                    c.get(base + "/healthz")
                    health.append(time.perf_counter() - t0)
                    time.sleep(0.1)

        bomb = _bomb()
        outcomes: list[tuple[int, float]] = []

        def verify() -> None:
            t0 = time.perf_counter()
            with httpx.Client(timeout=300) as c:
                r = c.post(base + "/v1/verify", content=bomb, headers={"content-type": "image/png"})
            outcomes.append((r.status_code, time.perf_counter() - t0))

        samplers = [threading.Thread(target=sample_memory), threading.Thread(target=poll_health)]
        for t in samplers:
            t.start()
        t0 = time.perf_counter()
        clients = [threading.Thread(target=verify) for _ in range(requests)]
        for t in clients:
            t.start()
        for t in clients:
            t.join()
        wall = time.perf_counter() - t0
        time.sleep(0.5)
        stop.set()
        for t in samplers:
            t.join()
        codes: dict[str, int] = {}
        for code, _ in outcomes:
            codes[str(code)] = codes.get(str(code), 0) + 1
        return {
            "label": label,
            "requests": requests,
            "decode_budget_pixels": budget,
            "png_bytes": len(bomb),
            "status_codes": codes,
            "wall_s": round(wall, 1),
            "idle_rss_gib": round(idle_rss / 2**30, 2),
            "peak_rss_gib": round(max(rss) / 2**30, 2),
            "healthz_ms": {
                "median": round(1000 * statistics.median(health), 1),
                "max": round(1000 * max(health), 1),
                "over_100ms": sum(h > 0.1 for h in health),
                "samples": len(health),
            },
            "served_s_median": round(statistics.median([s for c, s in outcomes if c == 200] or [0.0]), 1),
        }
    finally:
        server.terminate()
        server.wait(timeout=30)


def main() -> None:
    RESULTS.mkdir(parents=True, exist_ok=True)
    rows = [
        run("no budget (before), 3 concurrent", requests=3, budget=10**12),
        run("default budget (64 MP), 20 concurrent", requests=20, budget=None),
    ]
    out = {"machine": f"{os.cpu_count()} CPUs", "runs": rows}
    (RESULTS / "reliability.json").write_text(json.dumps(out, indent=2) + "\n")
    lines = [
        "# Bounded work: concurrent 49 MP PNG verifications",
        "",
        "`.venv/bin/python eval/reliability.py`: `assay serve` (one worker, model warm), concurrent",
        "`POST /v1/verify` of a 7000 x 7000 grey PNG; resident memory sampled every 50 ms, `/healthz` every 100 ms.",
        "Target: 20 concurrent keep the process under 4 GiB and `/healthz` under 100 ms.",
        "",
        "| run | answers | wall s | idle RSS GiB | peak RSS GiB | /healthz median / max ms (> 100 ms) |",
        "|---|---|---|---|---|---|",
    ]
    for r in rows:
        h = r["healthz_ms"]
        answers = ", ".join(f"{n}× {c}" for c, n in sorted(r["status_codes"].items()))
        lines.append(
            f"| {r['label']} | {answers} | {r['wall_s']} | {r['idle_rss_gib']} | {r['peak_rss_gib']} | "
            f"{h['median']} / {h['max']} ({h['over_100ms']} of {h['samples']}) |"
        )
    (RESULTS / "reliability.md").write_text("\n".join(lines) + "\n")
    print("\n".join(lines))


if __name__ == "__main__":
    main()
