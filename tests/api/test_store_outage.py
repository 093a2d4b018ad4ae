"""The store goes away under a running service: 503 problems, never a 500, never a 200 without its
audit row; back to ready once it returns. Runs a private PostgreSQL (initdb + pg_ctl of the
machine's PostgreSQL, on a spare port), never the shared one on 5432."""

from __future__ import annotations

import time
from pathlib import Path

from .conftest import Service, make_service
from .servers import PrivatePostgres


def test_store_outage_answers_503_and_recovers(env: Path, postgres_server: PrivatePostgres) -> None:
    svc: Service = make_service(store_url=postgres_server.url)
    c, h = svc.client, svc.auth("verify")
    text = {"content": b"A short note about the weather.", "headers": h | {"content-type": "text/plain"}}
    assert c.post("/v1/verify", **text).status_code == 200  # type: ignore[arg-type]
    assert c.get("/readyz").json()["store_reachable"] is True

    postgres_server.stop()
    answers = [c.post("/v1/verify", **text) for _ in range(3)]  # type: ignore[arg-type]
    for r in answers:
        assert r.status_code == 503 and r.json()["type"] == "https://assay.dev/problems/store-unavailable"
        assert r.headers["retry-after"] == "5"
    ready = c.get("/readyz")
    assert ready.status_code == 503 and ready.json()["store_reachable"] is False

    postgres_server.start()
    deadline = time.monotonic() + 20
    while c.get("/readyz").json()["store_reachable"] is not True:
        assert time.monotonic() < deadline, "the service did not see the store come back"
        time.sleep(0.2)
    assert c.post("/v1/verify", **text).status_code == 200  # type: ignore[arg-type]
    # every 200 has its audit row; the refused ones left none (the store was down)
    rows = list(svc.runtime.audit.entries())
    assert [r.action for r in rows] == ["verify", "verify"] and svc.runtime.audit.verify().ok
