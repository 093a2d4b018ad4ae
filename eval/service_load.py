"""Load run on loopback against the service as ``make serve`` starts it (``assay serve``).

Measures requests/s and p50/p99 latency for ``/v1/text/detect`` (300-word texts), ``/v1/verify``
(a watermarked, signed 1 MP JPEG) and ``/v1/text/generate`` (64 tokens), with 1, 8 and 32
concurrent clients; counts 5xx answers; checks that the audit log holds exactly one new row per
request; and compares ``/v1/text/detect`` with calling the library function directly on the
same texts (the service overhead). Bounded in count and time per cell. The client runs on the same
2-core machine as the server, so absolute rates are a floor. Writes
``eval/results/service_load.{json,md}``.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import io
import json
import os
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import httpx
import numpy as np
from PIL import Image

from api.core.audit import AuditLog
from api.core.runtime import Runtime
from api.core.settings import Settings
from provenance.store import open_engine
from watermark.text.model import default_model_cache

REPO = Path(__file__).resolve().parents[1]
FAST_DETECT_GPT = REPO / "eval" / "data" / "fast-detect-gpt"  # MIT, see its README
CONCURRENCY = (1, 8, 32)


def human_texts(n: int, words: int = 300) -> list[str]:
    """``n`` human-written texts of about ``words`` words (joined passages from the fast-detect-gpt sets)."""
    pool: list[str] = []
    for name in ("xsum_gpt-3.5-turbo", "writing_gpt-3.5-turbo", "pubmed_gpt-3.5-turbo"):
        path = FAST_DETECT_GPT / f"{name}.raw_data.json"
        pool.extend(json.loads(path.read_text())["original"])
    texts, current = [], []
    for passage in pool:
        current.extend(passage.split())
        if len(current) >= words:
            texts.append(" ".join(current[:words]))
            current = []
        if len(texts) == n:
            break
    return texts


def photo_jpeg_1mp() -> bytes:
    y, x = np.mgrid[0:864, 0:1152]
    rng = np.random.default_rng(1)
    base = np.stack([128 + 60 * np.sin(x / 37.0), 128 + 60 * np.cos(y / 23.0), 128 + 40 * np.sin((x + y) / 51.0)], -1)
    buf = io.BytesIO()
    Image.fromarray(np.clip(base + rng.normal(0, 18, base.shape), 0, 255).astype(np.uint8)).save(
        buf, "JPEG", quality=90
    )
    return buf.getvalue()


def start_server(data_dir: Path, cache: Path) -> tuple[subprocess.Popen[str], str, str]:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    env = os.environ | {
        "ASSAY_DATA_DIR": str(data_dir),
        "ASSAY_CACHE_DIR": str(cache),
        "ASSAY_PORT": str(port),
        "ASSAY_RATE_LIMIT_PER_MINUTE": "1000000",
        "ASSAY_RATE_LIMIT_BURST": "100000",
        "HF_HUB_OFFLINE": "1",
    }
    assay = Path(sys.executable).parent / "assay"
    log = open(data_dir / "server.log", "w")  # noqa: SIM115 - the server writes to it until terminated
    proc = subprocess.Popen([str(assay), "serve"], env=env, stdout=log, stderr=subprocess.STDOUT, text=True)
    base = f"http://127.0.0.1:{port}"
    token_file = data_dir / "admin-api-key"
    deadline = time.time() + 300
    while time.time() < deadline:
        with contextlib.suppress(httpx.HTTPError):  # not listening yet
            if httpx.get(base + "/readyz", timeout=2).status_code == 200:
                return proc, base, token_file.read_text().strip()
        time.sleep(0.5)
    proc.terminate()
    raise RuntimeError("the service did not become ready within 300 s")


async def run_cell(
    base: str, token: str, request: dict[str, Any], clients: int, count: int, budget_s: float
) -> dict[str, Any]:
    """``count`` requests (or as many as fit in ``budget_s``) from ``clients`` concurrent clients."""
    latencies: list[float] = []
    overheads: list[float] = []  # client latency minus the library work the server reports
    statuses: list[int] = []
    issued = 0
    stop_at = time.perf_counter() + budget_s
    headers = {"Authorization": f"Bearer {token}"} | request.get("headers", {})

    async def client(http: httpx.AsyncClient) -> None:
        nonlocal issued
        while issued < count and time.perf_counter() < stop_at:
            issued += 1
            body = request["body"](issued)
            t0 = time.perf_counter()
            r = await http.post(request["path"], headers=headers, **body)
            latencies.append(time.perf_counter() - t0)
            statuses.append(r.status_code)
            timing = r.headers.get("server-timing", "")
            if "dur=" in timing:
                overheads.append(latencies[-1] - float(timing.split("dur=")[1]) / 1000)

    t0 = time.perf_counter()
    limits = httpx.Limits(max_connections=clients, max_keepalive_connections=clients)
    async with httpx.AsyncClient(base_url=base, timeout=600, limits=limits) as http:
        await asyncio.gather(*(client(http) for _ in range(clients)))
    wall = time.perf_counter() - t0
    ms = sorted(1000 * x for x in latencies)
    return {
        "clients": clients,
        "requests": len(ms),
        "rps": round(len(ms) / wall, 2),
        "p50_ms": round(float(np.percentile(ms, 50)), 1),
        "p99_ms": round(float(np.percentile(ms, 99)), 1),
        "errors_5xx": sum(1 for s in statuses if s >= 500),
        "non_200": sum(1 for s in statuses if s != 200),
        "overhead_p50_ms": round(1000 * statistics.median(overheads), 2) if overheads else None,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="Fewer requests per cell (a smoke run).")
    parser.add_argument("--routes", nargs="*", help="Only these routes (default: all three).")
    args = parser.parse_args()
    scale = 0.25 if args.quick else 1.0
    data_dir = Path(tempfile.mkdtemp(prefix="assay-load-"))
    cache = default_model_cache()
    texts = human_texts(64)
    print(f"starting the service (data {data_dir}) ...", flush=True)
    proc, base, token = start_server(data_dir, cache)
    try:
        auth = {"Authorization": f"Bearer {token}"}
        signed = httpx.post(
            base + "/v1/images/watermark?title=load",
            content=photo_jpeg_1mp(),
            headers=auth | {"content-type": "image/jpeg"},
            timeout=120,
        )
        signed.raise_for_status()
        image = signed.content
        requests = {
            "/v1/text/detect": {"path": "/v1/text/detect", "body": lambda i: {"json": {"text": texts[i % len(texts)]}}},
            "/v1/verify": {
                "path": "/v1/verify",
                "headers": {"content-type": "image/jpeg"},
                "body": lambda i: {"content": image},
            },
            "/v1/text/generate": {
                "path": "/v1/text/generate",
                # no seed, as most clients send: concurrent requests then share batches (a seeded
                # request runs alone, for its own random stream)
                "body": lambda i: {"json": {"prompt": f"Write about topic number {i}.", "max_new_tokens": 64}},
            },
        }
        plan = {"/v1/text/detect": (24, 48, 96), "/v1/verify": (16, 32, 64), "/v1/text/generate": (4, 8, 32)}
        audit = AuditLog(open_engine(f"sqlite:///{data_dir / 'assay.db'}"))
        results: dict[str, list[dict[str, Any]]] = {}
        plan = {r: c for r, c in plan.items() if not args.routes or r in args.routes}
        for route, counts in plan.items():
            asyncio.run(run_cell(base, token, requests[route], 1, 2, 120))  # warm-up, not counted
            results[route] = []
            for clients, count in zip(CONCURRENCY, counts, strict=True):
                before = audit.count()
                cell = asyncio.run(
                    run_cell(base, token, requests[route], clients, max(clients, int(count * scale)), 240)
                )
                cell["audit_rows_added"] = audit.count() - before
                cell["audit_one_row_per_request"] = cell["audit_rows_added"] == cell["requests"]
                results[route].append(cell)
                print(route, cell, flush=True)
        chain = audit.verify()
        metrics_text = httpx.get(base + "/metrics").text
        batches = {
            line.split()[0]: float(line.split()[1])
            for line in metrics_text.splitlines()
            if line.startswith("assay_generation_batch_size_") and not line.startswith("#")
        }
        print("generation batches:", batches)
    finally:
        proc.terminate()
        proc.wait(timeout=30)

    out: dict[str, Any] = {
        "machine": f"{os.cpu_count()} cores, client and server on the same machine",
        "results": results,
        "audit_chain_ok": chain.ok,
        "audit_rows": chain.rows,
        "generation_batch_size_histogram": batches,
    }
    if "/v1/text/detect" in results:
        # the same texts through the library, in this process, one at a time
        rt = Runtime.open(Settings(data_dir=data_dir, cache_dir=cache))
        rt.texts.report(texts[0])
        direct = []
        for t in texts[:24]:
            t0 = time.perf_counter()
            rt.texts.report(t)
            direct.append(1000 * (time.perf_counter() - t0))
        direct_p50 = statistics.median(direct)
        http_p50 = results["/v1/text/detect"][0]["p50_ms"]
        out |= {
            "detect_library_p50_ms": round(direct_p50, 1),
            "detect_http_p50_ms": http_p50,
            "service_overhead_ms": round(http_p50 - direct_p50, 1),
        }
    target = REPO / "eval" / "results"
    target.mkdir(parents=True, exist_ok=True)
    (target / "service_load.json").write_text(json.dumps(out, indent=2))
    lines = [
        "# Service load (loopback, `assay serve`, 1 worker)",
        "",
        f"{out['machine']}. Audit chain after the run: {'intact' if chain.ok else 'BROKEN'}, {chain.rows} rows.",
        "",
        "| route | clients | requests | req/s | p50 ms | p99 ms | 5xx | audit rows = requests | overhead p50 ms |",
        "|---|---:|---:|---:|---:|---:|---:|---|---:|",
    ]
    for route, cells in results.items():
        for c in cells:
            lines.append(
                f"| {route} | {c['clients']} | {c['requests']} | {c['rps']} | {c['p50_ms']} | {c['p99_ms']} | "
                f"{c['errors_5xx']} | {'yes' if c['audit_one_row_per_request'] else 'NO'} | "
                f"{'' if c['overhead_p50_ms'] is None else c['overhead_p50_ms']} |"
            )
    if "service_overhead_ms" in out:
        lines += [
            "",
            f"`/v1/text/detect` one client: p50 {out['detect_http_p50_ms']} ms over HTTP vs "
            f"{out['detect_library_p50_ms']} ms calling `Runtime.texts.report` directly on the same texts: "
            f"difference {out['service_overhead_ms']} ms (two processes: detection time itself varies by "
            "~10 % between them, so this comparison cannot resolve a few ms).",
            "",
            "Overhead = client latency minus the detection time the server reports in `Server-Timing` for the "
            "same request (HTTP, auth, rate limit, validation, audit row, JSON): the precise figure.",
        ]
    if batches:
        n, total = (
            batches.get("assay_generation_batch_size_count", 0),
            batches.get("assay_generation_batch_size_sum", 0),
        )
        cumulative = [
            (b, batches.get(f'assay_generation_batch_size_bucket{{le="{b}"}}', 0)) for b in ("1.0", "8.0", "16.0")
        ]
        lines += [
            "",
            f"Generation: {int(total)} requests in {int(n)} batches; batches of 1: {int(cumulative[0][1])}, "
            f"2-8: {int(cumulative[1][1] - cumulative[0][1])}, 9-16: {int(cumulative[2][1] - cumulative[1][1])}.",
        ]
    (target / "service_load.md").write_text("\n".join(lines) + "\n")
    print("\n".join(lines))


if __name__ == "__main__":
    main()
