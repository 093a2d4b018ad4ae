"""Bounded work under a decompression-bomb-like load: concurrent 49 MP image verifications.

Starts ``assay serve`` (one worker, loopback, a fresh data directory), sends concurrent
``/v1/verify`` requests of a 7000 x 7000 PNG (under the 50 MP limit: flat grey, about 48 KB on the
wire, or a colour gradient), samples the server's resident memory every 50 ms and times
``/healthz`` every 100 ms throughout. Three runs in one go: grey with the decode budget effectively
off (3 requests), grey with the default budget (20 requests), colour with the default budget
(6 requests: what a platform sends at once).

Before the load, a catalogue of hostile requests by class (auth, bodies, uploads, paths, protocol,
parameters) is sent to a live service: none may answer 5xx or return a secret. The Markdown also
carries the figures of ``eval/fuzz.py``, ``eval/crash_safety.py`` and ``eval/store_outage.py`` when
their results exist.

Writes ``eval/results/reliability.{json,md}``. Usage: ``.venv/bin/python eval/reliability.py``.
"""

from __future__ import annotations

import contextlib
import dataclasses
import io
import json
import os
import statistics
import tempfile
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
from harness import RESULTS, Service
from PIL import Image


def _rss_bytes(pid: int) -> int:
    with open(f"/proc/{pid}/status") as fh:
        for line in fh:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) * 1024
    return 0


def _bomb(colour: bool = False) -> bytes:
    """A 7000 x 7000 PNG: flat grey, or a colour gradient (three planes to decode)."""
    buf = io.BytesIO()
    if colour:
        ramp = Image.linear_gradient("L").resize((7000, 7000))
        Image.merge("RGB", (ramp, ramp.transpose(Image.Transpose.ROTATE_90), Image.new("L", ramp.size, 90))).save(
            buf, "PNG"
        )
    else:
        Image.new("L", (7000, 7000), 128).save(buf, "PNG")
    return buf.getvalue()


@contextlib.contextmanager
def _serve(**settings: str) -> Iterator[Service]:
    """``assay serve`` on a fresh data directory, ready (model warm) when yielded."""
    svc = Service(Path(tempfile.mkdtemp(prefix="assay-reliability-")), **settings)
    try:
        svc.start(ready=True)
        yield svc
    finally:
        svc.stop()


@dataclasses.dataclass
class Liveness:
    """``/healthz`` latency sampled through a run, in ms."""

    median: float
    p99: float
    max: float
    over_100ms: int
    samples: int


@dataclasses.dataclass
class LoadRun:
    """One server under concurrent verifications of the 49 MP PNG."""

    label: str
    requests: int
    decode_budget_bytes: int | None
    colour: bool
    png_bytes: int
    status_codes: dict[str, int]
    wall_s: float
    idle_rss_gib: float
    peak_rss_gib: float
    healthz_ms: Liveness
    served_s_median: float


def run(label: str, *, requests: int, budget: int | None, colour: bool = False) -> LoadRun:
    """One server, ``requests`` concurrent verifications of the 49 MP PNG (grey, or ``colour``);
    memory and liveness sampled."""
    settings = {"anonymous_verify": "true", "rate_limit_burst": "10000"}
    if budget is not None:
        settings["decode_budget_bytes"] = str(budget)
    with _serve(**settings) as svc:
        assert svc.proc is not None
        base, pid = svc.base, svc.proc.pid
        idle_rss = _rss_bytes(pid)
        stop = threading.Event()
        rss: list[int] = []
        health: list[float] = []

        def sample_memory() -> None:
            while not stop.is_set():
                rss.append(_rss_bytes(pid))
                time.sleep(0.05)

        def poll_health() -> None:
            with httpx.Client(timeout=30) as c:
                while not stop.is_set():
                    t0 = time.perf_counter()
                    c.get(base + "/healthz")
                    health.append(time.perf_counter() - t0)
                    time.sleep(0.1)

        bomb = _bomb(colour)
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
        return LoadRun(
            label=label,
            requests=requests,
            decode_budget_bytes=budget,
            colour=colour,
            png_bytes=len(bomb),
            status_codes=codes,
            wall_s=round(wall, 1),
            idle_rss_gib=round(idle_rss / 2**30, 2),
            peak_rss_gib=round(max(rss) / 2**30, 2),
            healthz_ms=Liveness(
                median=round(1000 * statistics.median(health), 1),
                p99=round(1000 * statistics.quantiles(health, n=100, method="inclusive")[98], 1),
                max=round(1000 * max(health), 1),
                over_100ms=sum(h > 0.1 for h in health),
                samples=len(health),
            ),
            served_s_median=round(statistics.median([s for c, s in outcomes if c == 200] or [0.0]), 1),
        )


def _png(size: tuple[int, int], mode: str = "RGB") -> bytes:
    buf = io.BytesIO()
    Image.new(mode, size).save(buf, "PNG")
    return buf.getvalue()


def hostile() -> dict[str, Any]:
    """Hostile requests by class against a live service; each must be a 4xx problem (or a 2xx that
    gives nothing away), never a 5xx, and no answer may contain a secret."""
    with _serve() as svc:
        base, token = svc.base, svc.token
        auth = {"Authorization": f"Bearer {token}"}
        jpeg = io.BytesIO()
        Image.effect_noise((320, 240), 40).convert("RGB").save(jpeg, "JPEG")
        photo = jpeg.getvalue()
        cases: list[tuple[str, str, str, str, dict[str, Any]]] = [
            ("auth", "no key", "POST", "/v1/verify", {"content": b"text", "headers": {"content-type": "text/plain"}}),
            ("auth", "malformed bearer", "GET", "/v1/keys", {"headers": {"Authorization": "Bearer"}}),
            ("auth", "basic scheme", "GET", "/v1/keys", {"headers": {"Authorization": "Basic YTpi"}}),
            ("auth", "unknown key", "GET", "/v1/keys", {"headers": {"Authorization": "Bearer assay_x_y"}}),
            ("auth", "key in the URL", "GET", f"/v1/keys?api_key={token}", {}),
            ("auth", "SQL in the key", "GET", "/v1/keys", {"headers": {"X-API-Key": "' OR 1=1 --"}}),
            (
                "bodies",
                "deep JSON array",
                "POST",
                "/v1/verify",
                {"content": b"[" * 100_000 + b"]" * 100_000, "headers": auth | {"content-type": "application/json"}},
            ),
            (
                "bodies",
                "unpaired surrogate",
                "POST",
                "/v1/text/detect",
                {"content": b'{"text": "a \\ud800 b"}', "headers": auth | {"content-type": "application/json"}},
            ),
            (
                "bodies",
                "not JSON",
                "POST",
                "/v1/text/detect",
                {"content": b"{", "headers": auth | {"content-type": "application/json"}},
            ),
            ("bodies", "wrong JSON type", "POST", "/v1/text/detect", {"json": {"text": 5}, "headers": auth}),
            ("bodies", "empty text", "POST", "/v1/verify", {"json": {"text": ""}, "headers": auth}),
            (
                "bodies",
                "body over the limit",
                "POST",
                "/v1/verify",
                {"content": b"a" * (33 * 2**20), "headers": auth | {"content-type": "text/plain"}},
            ),
            (
                "bodies",
                "text over the limit",
                "POST",
                "/v1/text/detect",
                {"json": {"text": "x" * 300_000}, "headers": auth},
            ),
            (
                "bodies",
                "broken multipart",
                "POST",
                "/v1/verify",
                {"content": b"--x\r\nbroken", "headers": auth | {"content-type": "multipart/form-data; boundary=x"}},
            ),
            (
                "bodies",
                "file and text at once",
                "POST",
                "/v1/verify",
                {"files": {"file": ("a.jpg", photo, "image/jpeg")}, "data": {"text": "x"}, "headers": auth},
            ),
            (
                "uploads",
                "decompression bomb 30000x30000",
                "POST",
                "/v1/verify",
                {"content": _png((30000, 30000), "L"), "headers": auth | {"content-type": "image/png"}},
            ),
            (
                "uploads",
                "truncated JPEG to sign",
                "POST",
                "/v1/images/watermark",
                {"content": photo[: len(photo) // 3], "headers": auth | {"content-type": "image/jpeg"}},
            ),
            (
                "uploads",
                "truncated JPEG to verify",
                "POST",
                "/v1/verify",
                {"content": photo[: len(photo) // 3], "headers": auth | {"content-type": "image/jpeg"}},
            ),
            (
                "uploads",
                "PDF declared as image",
                "POST",
                "/v1/images/watermark",
                {"content": b"%PDF-1.7", "headers": auth | {"content-type": "image/png"}},
            ),
            (
                "uploads",
                "SVG",
                "POST",
                "/v1/verify",
                {
                    "content": b"<svg xmlns='http://www.w3.org/2000/svg'/>",
                    "headers": auth | {"content-type": "image/svg+xml"},
                },
            ),
            ("uploads", "no content type", "POST", "/v1/verify", {"content": b"x", "headers": auth}),
            (
                "uploads",
                "zeros claiming PNG",
                "POST",
                "/v1/verify",
                {"content": b"\x00" * 64, "headers": auth | {"content-type": "image/png"}},
            ),
            (
                "uploads",
                "tiny image to watermark",
                "POST",
                "/v1/images/watermark",
                {"content": _png((8, 8)), "headers": auth | {"content-type": "image/png"}},
            ),
            ("paths", "traversal in manifest id", "GET", "/v1/manifests/..%2F..%2Fetc%2Fpasswd", {"headers": auth}),
            ("paths", "overlong manifest id", "GET", "/v1/manifests/" + "a" * 300, {"headers": auth}),
            ("paths", "static traversal", "GET", "/static/..%2F..%2Fapi%2Fsettings.py", {}),
            ("paths", "unknown route", "GET", "/v1/nothing", {"headers": auth}),
            ("protocol", "unknown method", "FOOBAR", "/healthz", {}),
            ("protocol", "wrong method", "DELETE", "/v1/verify", {"headers": auth}),
            ("parameters", "bad base64", "GET", "/v1/matches/byBinding?alg=x&value=***", {"headers": auth}),
            ("parameters", "missing parameter", "GET", "/v1/matches/byBinding?alg=x", {"headers": auth}),
            (
                "parameters",
                "unknown source type",
                "POST",
                "/v1/provenance/sign?digital_source_type=madeUp",
                {"content": photo, "headers": auth | {"content-type": "image/jpeg"}},
            ),
            (
                "parameters",
                "unknown key id",
                "POST",
                "/v1/images/watermark?key_id=nope",
                {"content": photo, "headers": auth | {"content-type": "image/jpeg"}},
            ),
            (
                "parameters",
                "too many new tokens",
                "POST",
                "/v1/text/generate",
                {"json": {"prompt": "hi", "max_new_tokens": 4096}, "headers": auth},
            ),
        ]
        rows = []
        with httpx.Client(base_url=base, timeout=120) as c:
            for cls, what, method, path, kwargs in cases:
                r = c.request(method, path, **kwargs)
                leaked = token in r.text or token.split("_", 2)[-1] in r.text
                rows.append(
                    {
                        "class": cls,
                        "input": what,
                        "status": r.status_code,
                        "leaked_secret": leaked,
                        "problem_type": (
                            r.json().get("type")
                            if r.headers.get("content-type") == "application/problem+json"
                            else None
                        ),
                    }
                )
            for i in range(12):  # guessing keys
                r = c.get("/v1/keys", headers={"Authorization": f"Bearer assay_guess_{i}"})
            rows.append(
                {
                    "class": "auth",
                    "input": "12 guessed keys (the last)",
                    "status": r.status_code,
                    "leaked_secret": False,
                    "problem_type": r.json().get("type"),
                }
            )
    by_class: dict[str, dict[str, int]] = {}
    for row in rows:
        counts = by_class.setdefault(row["class"], {})
        key = "5xx" if row["status"] >= 500 else str(row["status"])
        counts[key] = counts.get(key, 0) + 1
    return {
        "tried": len(rows),
        "server_errors": sum(r["status"] >= 500 for r in rows),
        "secrets_leaked": sum(r["leaked_secret"] for r in rows),
        "by_class": by_class,
        "cases": rows,
    }


def main() -> None:
    RESULTS.mkdir(parents=True, exist_ok=True)
    attacks = hostile()
    rows = [
        run("no budget, 3 concurrent", requests=3, budget=10**13),
        run("default budget (1 GiB), 20 concurrent", requests=20, budget=None),
        run("default budget (1 GiB), 6 concurrent, colour", requests=6, budget=None, colour=True),
    ]
    out = {
        "machine": f"{os.cpu_count()} CPUs",
        "hostile_inputs": attacks,
        "runs": [dataclasses.asdict(r) for r in rows],
    }
    (RESULTS / "reliability.json").write_text(json.dumps(out, indent=2) + "\n")
    lines = [
        "# Bounded work: concurrent 49 MP PNG verifications",
        "",
        "`.venv/bin/python eval/reliability.py`: `assay serve` (one worker, model warm), concurrent",
        "`POST /v1/verify` of a 7000 x 7000 PNG (grey, or a colour gradient); resident memory sampled every",
        "50 ms, `/healthz` every 100 ms. The decode budget counts bytes (each image by its size, channels",
        "and depth). Targets: 6 concurrent colour images peak under 2.5 GiB; `/healthz` p99 under 100 ms.",
        "",
        "| run | answers | wall s | idle RSS GiB | peak RSS GiB | /healthz median / p99 / max ms (> 100 ms) |",
        "|---|---|---|---|---|---|",
    ]
    for r in rows:
        h = r.healthz_ms
        answers = ", ".join(f"{n}× {c}" for c, n in sorted(r.status_codes.items()))
        lines.append(
            f"| {r.label} | {answers} | {r.wall_s} | {r.idle_rss_gib} | {r.peak_rss_gib} | "
            f"{h.median} / {h.p99} / {h.max} ({h.over_100ms} of {h.samples}) |"
        )
    lines += [
        "",
        f"## Hostile inputs: {attacks['tried']} tried, {attacks['server_errors']} answered 5xx, "
        f"{attacks['secrets_leaked']} answers held a secret",
        "",
        "| class | outcomes |",
        "|---|---|",
    ]
    for cls, counts in attacks["by_class"].items():
        lines.append(f"| {cls} | " + ", ".join(f"{n}× {code}" for code, n in sorted(counts.items())) + " |")
    lines += ["", "| class | input | status | problem type |", "|---|---|---|---|"]
    for c in attacks["cases"]:
        lines.append(
            f"| {c['class']} | {c['input']} | {c['status']} | {(c['problem_type'] or '').rsplit('/', 1)[-1]} |"
        )
    for name, title in (("fuzz", "Fuzzing"), ("crash_safety", "Crash safety"), ("store_outage", "Store outage")):
        other = RESULTS / f"{name}.md"
        if other.is_file():  # written by eval/fuzz.py and eval/crash_safety.py
            lines += ["", f"## {title} (from eval/results/{name}.md)", ""]
            lines += other.read_text().splitlines()[2:]
    (RESULTS / "reliability.md").write_text("\n".join(lines) + "\n")
    print("\n".join(lines))


if __name__ == "__main__":
    main()
