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
import random
import shutil
import statistics
import subprocess
import tempfile
import threading
import time
from pathlib import Path
from typing import Any

import httpx
import numpy as np
import sqlalchemy as sa
from harness import ASSAY, RESULTS, PrivatePostgres, Service
from PIL import Image

SERVICE_SETTINGS = {
    "warm_on_start": "false",
    "ai_likelihood": "false",
    "rate_limit_burst": "100000",
    "rate_limit_per_minute": "100000",
}


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
    pg = PrivatePostgres() if name == "postgresql" else None
    store_url = pg.url if pg is not None else f"sqlite:///{data_dir / 'assay.db'}"
    svc = Service(data_dir, **SERVICE_SETTINGS, **({"store_url": store_url} if pg is not None else {}))
    rng = random.Random(seed)
    answered: list[dict[str, Any]] = []
    restarts: list[float] = []
    checks: list[dict[str, Any]] = []
    try:
        if pg is not None:
            pg.start()
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
        if pg is not None:
            pg.remove()
        shutil.rmtree(data_dir, ignore_errors=True)
    final = checks[-1]
    keys = (
        "answered",
        "audit_rows",
        "lost",
        "manifests_without_binding",
        "bindings_without_manifest",
        "audit_chain_ok",
    )
    return {
        "store": name,
        "kills": kills,
        "restart_s": {"median": round(statistics.median(restarts), 2), "max": round(max(restarts), 2)},
        "checks": checks,
        **{k: final[k] for k in keys},
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
        lines.append(
            f"| {r['store']} | {r['kills']} | {r['answered']} | {r['audit_rows']} | {r['lost']} | "
            f"{r['manifests_without_binding']} | {r['bindings_without_manifest']} | "
            f"{'ok' if r['audit_chain_ok'] else 'BROKEN'} | {r['restart_s']['median']} / {r['restart_s']['max']} |"
        )
    (RESULTS / "crash_safety.md").write_text("\n".join(lines) + "\n")
    print("\n".join(lines))


if __name__ == "__main__":
    main()
