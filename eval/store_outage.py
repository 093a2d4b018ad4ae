"""Store outage under load: PostgreSQL stopped while clients verify texts, then started again.

A private PostgreSQL cluster (the machine's ``initdb``/``pg_ctl``, a spare port; never the shared
one on 5432) backs ``assay serve``. Four clients send text verifications for the whole run; after 5 s
the cluster is stopped for ``--down`` seconds and started again. Recorded: answers by status while
it is up, down and back; that no answer was a 500; how long after PostgreSQL returned the service
answered 200 again and ``/readyz`` said ready; and that every 200 has its audit row.

Writes ``eval/results/store_outage.{json,md}``. Usage: ``.venv/bin/python eval/store_outage.py``.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import tempfile
import threading
import time
from pathlib import Path
from typing import Any

import httpx
import sqlalchemy as sa
from crash_safety import SERVICE_SETTINGS
from harness import RESULTS, PrivatePostgres, Service


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--down", type=float, default=8.0, help="Seconds PostgreSQL stays stopped.")
    args = parser.parse_args()
    pg = PrivatePostgres()
    pg.start()
    url = pg.url
    svc = Service(Path(tempfile.mkdtemp(prefix="assay-outage-")), **SERVICE_SETTINGS, store_url=url)
    phase = ["up"]
    answers: list[dict[str, Any]] = []
    stop = threading.Event()
    try:
        svc.start()
        headers = {"Authorization": f"Bearer {svc.token}", "content-type": "text/plain"}

        def client(n: int) -> None:
            with httpx.Client(timeout=30) as c:
                i = 0
                while not stop.is_set():
                    text = f"Client {n} writes note {i} at {time.time()}."
                    i += 1
                    try:
                        r = c.post(svc.base + "/v1/verify", content=text.encode(), headers=headers)
                    except httpx.TransportError:
                        continue
                    answers.append({
                        "phase": phase[0], "status": r.status_code, "at": time.monotonic(),
                        "type": r.json().get("type") if r.status_code >= 400 else None,
                        "sha256": hashlib.sha256(text.encode()).hexdigest(),
                    })  # fmt: skip

        clients = [threading.Thread(target=client, args=(n,)) for n in range(4)]
        for t in clients:
            t.start()
        time.sleep(5)
        phase[0] = "down"
        pg.stop()
        time.sleep(args.down)
        pg.start()
        back_at = time.monotonic()
        phase[0] = "back"
        ready_after = None
        with httpx.Client(timeout=10) as c:
            while time.monotonic() - back_at < 60:
                if c.get(svc.base + "/readyz").json().get("store_reachable"):
                    ready_after = time.monotonic() - back_at
                    break
                time.sleep(0.1)
        time.sleep(5)
        stop.set()
        for t in clients:
            t.join()
        svc.kill()
        engine = sa.create_engine(url)
        with engine.connect() as conn:
            audited = {
                r[0] for r in conn.execute(sa.text("SELECT subject_sha256 FROM assay_audit WHERE action = 'verify'"))
            }
        engine.dispose()
    finally:
        stop.set()
        pg.remove()
    by_phase: dict[str, dict[str, int]] = {}
    for a in answers:
        key = str(a["status"]) + (f" {a['type'].rsplit('/', 1)[-1]}" if a["type"] else "")
        counts = by_phase.setdefault(a["phase"], {})
        counts[key] = counts.get(key, 0) + 1
    first_ok = next((a["at"] - back_at for a in answers if a["phase"] == "back" and a["status"] == 200), None)
    ok = [a for a in answers if a["status"] == 200]
    out = {
        "down_s": args.down,
        "answers_by_phase": by_phase,
        "server_errors": sum(a["status"] >= 500 and a["status"] != 503 for a in answers),
        "first_200_after_restart_s": None if first_ok is None else round(first_ok, 2),
        "readyz_store_reachable_after_s": None if ready_after is None else round(ready_after, 2),
        "answered_200": len(ok),
        "answered_200_without_audit_row": sum(a["sha256"] not in audited for a in ok),
    }
    RESULTS.mkdir(parents=True, exist_ok=True)
    (RESULTS / "store_outage.json").write_text(json.dumps(out, indent=2) + "\n")
    lines = [
        "# Store outage under load",
        "",
        f"`.venv/bin/python eval/store_outage.py --down {args.down:g}`: 4 clients verify texts; a private PostgreSQL",
        f"is stopped for {args.down:g} s and started again under them.",
        "",
        "| phase | answers |",
        "|---|---|",
        *[f"| {p} | " + ", ".join(f"{n}× {k}" for k, n in sorted(c.items())) + " |" for p, c in by_phase.items()],
        "",
        f"- answers that were 500: {out['server_errors']}",
        f"- first 200 after PostgreSQL returned: {out['first_200_after_restart_s']} s; `/readyz` store reachable "
        f"after {out['readyz_store_reachable_after_s']} s",
        f"- 200s without their audit row: {out['answered_200_without_audit_row']} of {out['answered_200']}",
    ]
    (RESULTS / "store_outage.md").write_text("\n".join(lines) + "\n")
    print("\n".join(lines))


if __name__ == "__main__":
    main()
