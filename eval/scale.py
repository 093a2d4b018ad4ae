"""Scale: more work per core, and the same work on more workers, side by side in one run.

Parts (``--parts``, default all; each updates its own section of ``eval/results/scale.json``,
written as soon as the part ends):

- ``ai``: the AI-likelihood statistic in float32 (today), bfloat16 (weights; float32 softmax) and
  int8 dynamic quantisation (torch, decoder blocks): seconds per 128-token text on one and two
  threads, AUROC on the evaluation half of the fast-detect-gpt sets and the realised false-positive rate
  at the nominal 1 % against the shipped float32 reference; the MiniLM classifier's cost.
- ``scan``: items per second on a mixed corpus (texts and images) with the local pool at 1 and 2
  workers and Ray at 1 and 2 actors (one core each), the same items and settings.
- ``service``: ``assay serve`` at 1 and 2 workers on a private PostgreSQL + Redis: verify requests
  per second under 8 concurrent clients; then one API key against 2 workers with a tight limit,
  with limits in Redis and per process, to show whether N workers x one key stay within it.
- ``audit``: audit appends per second on PostgreSQL with 1, 2, 4 and 8 writer processes (and 8
  processes of 8 threads), group commit and one transaction per append side by side.

The machine has two cores; the load generator shares them with the service, so service figures
are a floor. Writes ``eval/results/scale.{json,md,png}``.
"""

from __future__ import annotations

import argparse
import asyncio
import dataclasses
import hashlib
import json
import multiprocessing as mp
import os
import statistics
import sys
import tempfile
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
sys.path.insert(0, str(Path(__file__).resolve().parent))

import httpx
import numpy as np
import psutil
from harness import RESULTS, PrivatePostgres, PrivateRedis, Service
from service_load import FAST_DETECT_GPT, human_texts, photo_jpeg_1mp

from eval.typed_results import from_json, write_json
from watermark.text.model import default_model_cache

os.environ.setdefault("HF_HUB_OFFLINE", "1")
CACHE = default_model_cache()


# --- results -----------------------------------------------------------------------------------


@dataclass(frozen=True)
class AiPath:
    """One precision of the AI-likelihood statistic."""

    seconds_per_128_tokens_1_thread: float
    seconds_per_128_tokens_2_threads: float
    auroc: float
    scored: int
    realised_fpr_at_1pct: float  # humans flagged at the nominal 1 %
    tpr_at_1pct: float
    humans: int
    machines: int
    mean_log_likelihood: float


@dataclass(frozen=True)
class AiPart:
    texts: int
    timing_texts: int
    native_bf16: bool
    classifier_seconds_per_text: float
    paths: dict[str, AiPath]  # fp32, bf16, int8-dynamic


@dataclass(frozen=True)
class ShortRun:
    items: int
    wall_s: float


@dataclass(frozen=True)
class ScanCell:
    items: int
    wall_s: float
    first_row_s: float
    short_run: ShortRun
    items_per_s: float  # start-up excluded: (all - short run) items over (all - short run) seconds
    items_per_s_wall: float
    same_verdicts_as_local_1: bool


@dataclass(frozen=True)
class ScanPart:
    texts: int
    images: int
    store: str
    cells: dict[str, ScanCell]  # "<engine>-<workers>"
    local_scaling_efficiency: float
    ray_scaling_efficiency: float


@dataclass(frozen=True)
class LoadCell:
    requests: int
    per_s: float
    codes: dict[str, int]
    p50_ms: float
    p99_ms: float
    machine_cpu_busy: float | None = None
    service_cores_used: float | None = None


@dataclass(frozen=True)
class BurstCell:
    requests: int
    seconds: float
    codes: dict[str, int]
    allowed_by_the_limit: float
    within_limit: bool


@dataclass(frozen=True)
class ServicePart:
    seconds_per_cell: float
    concurrency: int
    request: str
    workers: dict[str, LoadCell]  # workers-1, workers-1-one-core, workers-2
    scaling_efficiency: float
    limits: dict[str, BurstCell]  # redis, process


@dataclass(frozen=True)
class AuditCell:
    appends: int
    seconds: float
    per_s: float


@dataclass(frozen=True)
class AuditPart:
    appends_per_writer: int
    writers: dict[str, AuditCell]  # "1", "2", "4", "8", "8x8", "8x32": the shipped appends (group commit)
    chain_ok: bool
    rows: int
    single: dict[str, AuditCell] = field(default_factory=dict)  # one transaction per append, same run
    rows_per_commit: dict[str, float] = field(default_factory=dict)  # group commit


@dataclass
class ScaleResults:
    ai: AiPart | None = None
    scan: dict[str, ScanPart] = field(default_factory=dict)  # by store: sqlite, postgresql
    service: ServicePart | None = None
    audit: AuditPart | None = None
    run_at: str | None = None


# --- ai: precision -----------------------------------------------------------------------------


def part_ai(limit: int | None) -> AiPart:
    import copy
    import warnings

    import torch
    from sklearn.metrics import roc_auc_score

    from detect.defaults import load_classifier, load_text_detector
    from detect.features import aggregate, score_tokens
    from detect.training import fast_detect_gpt_sets, in_calibration_half
    from watermark.text.model import load_model
    from watermark.text.precision import as_precision, native_bf16

    lm = load_model(None, cache_dir=CACHE)
    int8 = copy.deepcopy(lm.model)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # torch.ao is deprecated; it is measured here, not shipped
        int8.model = torch.ao.quantization.quantize_dynamic(int8.model, {torch.nn.Linear}, dtype=torch.qint8)
    variants = {
        "fp32": lm,
        "bf16": as_precision(lm, "bf16"),
        "int8-dynamic": dataclasses.replace(lm, model=int8),
    }
    sets = fast_detect_gpt_sets(FAST_DETECT_GPT)
    rows = {}  # each evaluation-half text once (a text is one observation)
    for name, texts in sets.items():
        for r in texts:
            if not in_calibration_half(r.text):
                rows.setdefault(r.text, (r.label, name))
    ordered = sorted(rows.items(), key=lambda kv: hashlib.sha256(kv[0].encode()).digest())  # stable mix
    evaluation = ordered[:limit] if limit else ordered
    tok = lm.tokenizer
    timing = [t for t, _ in ordered if len(tok(t, add_special_tokens=False)["input_ids"]) >= 128][:16]
    timing = [tok.decode(tok(t, add_special_tokens=False)["input_ids"][:128]) for t in timing]

    def per_text(fn: Any) -> float:
        runs = []
        for _ in range(3):
            t0 = time.perf_counter()
            for t in timing:
                fn(t)
            runs.append((time.perf_counter() - t0) / len(timing))
        return min(runs)

    classifier = load_classifier()
    feats = [aggregate(s) for s in score_tokens(lm, timing)]
    classifier_s = per_text(lambda t: classifier.probability(t, feats[timing.index(t)]))
    paths: dict[str, AiPath] = {}
    for name, model in variants.items():
        detector = load_text_detector(model, with_classifier=False)
        per_threads = {}
        for threads in (1, 2):
            torch.set_num_threads(threads)
            per_threads[threads] = per_text(detector.score)
        torch.set_num_threads(2)
        scored = []
        for b in range(0, len(evaluation), 8):
            batch = evaluation[b : b + 8]
            scored += detector.score_batch([t for t, _ in batch])
        y = np.array([lab for _, (lab, _) in evaluation])
        keep = np.array([s.standardized_score is not None for s in scored])
        s = np.array([x.standardized_score if x.standardized_score is not None else 0.0 for x in scored])
        human = [x for x, (_, (lab, _)) in zip(scored, evaluation, strict=True) if lab == 0 and x.p_value is not None]
        machine = [x for x, (_, (lab, _)) in zip(scored, evaluation, strict=True) if lab == 1 and x.p_value is not None]
        paths[name] = AiPath(
            seconds_per_128_tokens_1_thread=per_threads[1],
            seconds_per_128_tokens_2_threads=per_threads[2],
            auroc=float(roc_auc_score(y[keep], s[keep])),
            scored=int(keep.sum()),
            realised_fpr_at_1pct=sum(x.verdict == "ai" for x in human) / max(len(human), 1),
            tpr_at_1pct=sum(x.verdict == "ai" for x in machine) / max(len(machine), 1),
            humans=len(human),
            machines=len(machine),
            mean_log_likelihood=float(np.mean([x.features.get("log_likelihood", 0.0) for x in scored if x.features])),
        )
        print(f"ai {name}: {paths[name]}", flush=True)
    return AiPart(
        texts=len(evaluation),
        timing_texts=len(timing),
        native_bf16=native_bf16(),
        classifier_seconds_per_text=classifier_s,
        paths=paths,
    )


# --- scan: engines -----------------------------------------------------------------------------


def _corpus(folder: Path, texts: int, images: int) -> None:
    from api.core.operations import Operations
    from api.core.runtime import Runtime
    from api.core.settings import Settings

    folder.mkdir(parents=True)
    for i, text in enumerate(human_texts(texts, words=150)):
        (folder / f"t{i:03d}.txt").write_text(text)
    photo = photo_jpeg_1mp()
    ops = Operations(Runtime.open(Settings()))
    marked = ops.watermark_and_sign(photo, actor="eval", title="scale").data
    for i in range(images):
        (folder / f"i{i:03d}.jpg").write_bytes(marked if i % 2 else photo)


def _run(engine: str, workers: int, items: list[Any], settings: Any) -> tuple[float, float, dict[str, str]]:
    """(seconds to the first row, seconds in all, verdicts) of one scan of ``items``."""
    from api.core.threads import limit_threads
    from api.scan.engines import rows

    every_cpu = os.sched_getaffinity(0)
    if workers == 1:  # one core for everything this run starts (a pool worker, Ray and its actor)
        os.sched_setaffinity(0, {min(every_cpu)})
        limit_threads(1)
    t0 = time.perf_counter()
    first = None
    verdicts: dict[str, str] = {}
    try:
        for row in rows(items, settings, engine=engine, workers=workers):  # type: ignore[arg-type]
            first = first if first is not None else time.perf_counter() - t0
            verdicts[row.id] = row.verdict
    finally:
        os.sched_setaffinity(0, every_cpu)
        limit_threads(os.cpu_count() or 1)
    return first or 0.0, time.perf_counter() - t0, verdicts


def _timed_rows(
    engine: str, workers: int, items: list[Any], settings: Any, reference: dict[str, str] | None
) -> tuple[ScanCell, dict[str, str]]:
    """Throughput without start-up: a short scan (two items a worker) and the whole one, in the
    same set-up; the difference in items over the difference in time is what a worker adds once
    running (Ray's start, the model loads and the first batches cancel out)."""
    small = items[: 2 * workers]
    _, short_s, _ = _run(engine, workers, small, settings)
    first, wall, verdicts = _run(engine, workers, items, settings)
    cell = ScanCell(
        items=len(items),
        wall_s=wall,
        first_row_s=first,
        short_run=ShortRun(items=len(small), wall_s=short_s),
        items_per_s=(len(items) - len(small)) / (wall - short_s),
        items_per_s_wall=len(items) / wall,
        same_verdicts_as_local_1=reference is None or verdicts == reference,
    )
    return cell, verdicts


def part_scan(texts: int, images: int, store: str) -> ScanPart:
    pg = PrivatePostgres() if store == "postgresql" else None
    if pg is not None:
        pg.start()
        os.environ["ASSAY_STORE_URL"] = pg.url
    try:
        return _scan_cells(texts, images, store)
    finally:
        if pg is not None:
            pg.remove()
            del os.environ["ASSAY_STORE_URL"]


def _scan_cells(texts: int, images: int, store: str) -> ScanPart:
    from api.core.settings import Settings
    from api.scan.sources import iter_items

    with tempfile.TemporaryDirectory() as tmp:
        os.environ["ASSAY_DATA_DIR"] = str(Path(tmp) / "data")
        os.environ["ASSAY_CACHE_DIR"] = str(CACHE)
        folder = Path(tmp) / "corpus"
        _corpus(folder, texts, images)
        items = list(iter_items(folder))
        settings = Settings()
        cells: dict[str, ScanCell] = {}
        reference: dict[str, str] | None = None
        for engine in ("local", "ray"):
            for workers in (1, 2):
                cell, verdicts = _timed_rows(engine, workers, items, settings, reference)
                reference = reference or verdicts
                cells[f"{engine}-{workers}"] = cell
                print(f"scan {engine}-{workers}: {cell}", flush=True)

    def efficiency(engine: str) -> float:
        return cells[f"{engine}-2"].items_per_s / (2 * cells[f"{engine}-1"].items_per_s)

    return ScanPart(
        texts=texts,
        images=images,
        store=store,
        cells=cells,
        local_scaling_efficiency=efficiency("local"),
        ray_scaling_efficiency=efficiency("ray"),
    )


# --- service: workers on PostgreSQL + Redis ------------------------------------------------------


async def _load(base: str, token: str, bodies: list[bytes], seconds: float, concurrency: int) -> LoadCell:
    codes: dict[int, int] = {}
    latencies: list[float] = []
    deadline = time.perf_counter() + seconds
    limits = httpx.Limits(max_keepalive_connections=0)  # a new connection per request: spread over workers
    async with httpx.AsyncClient(timeout=120, limits=limits) as http:

        async def client(n: int) -> None:
            i = n
            while time.perf_counter() < deadline:
                t = time.perf_counter()
                r = await http.post(
                    base + "/v1/verify",
                    content=bodies[i % len(bodies)],
                    headers={"Authorization": f"Bearer {token}", "Content-Type": "text/plain"},
                )
                latencies.append(time.perf_counter() - t)
                codes[r.status_code] = codes.get(r.status_code, 0) + 1
                i += concurrency

        t0 = time.perf_counter()
        await asyncio.gather(*(client(n) for n in range(concurrency)))
        elapsed = time.perf_counter() - t0
    return LoadCell(
        requests=len(latencies),
        per_s=codes.get(200, 0) / elapsed,
        codes={str(k): v for k, v in codes.items()},
        p50_ms=1000 * statistics.median(latencies),
        p99_ms=1000 * float(np.percentile(latencies, 99)),
    )


def _cpu(proc: Any) -> float:
    times = proc.cpu_times()
    return float(times.user + times.system)


def _burst(base: str, token: str, requests: int, *, per_minute: int, burst: int) -> BurstCell:
    """``requests`` requests under one key, one at a time; how many a limit of ``per_minute`` with
    a burst of ``burst`` allows over the time they took."""
    codes: dict[int, int] = {}
    t0 = time.perf_counter()
    with httpx.Client(timeout=30, limits=httpx.Limits(max_keepalive_connections=0)) as http:
        for _ in range(requests):
            r = http.get(base + "/v1/keys", headers={"Authorization": f"Bearer {token}"})
            codes[r.status_code] = codes.get(r.status_code, 0) + 1
    seconds = time.perf_counter() - t0
    allowed = burst + per_minute * seconds / 60
    return BurstCell(
        requests=requests,
        seconds=seconds,
        codes={str(k): v for k, v in codes.items()},
        allowed_by_the_limit=allowed,
        within_limit=codes.get(200, 0) <= allowed,
    )


def part_service(seconds: float) -> ServicePart:
    pg, redis = PrivatePostgres(), PrivateRedis()
    pg.start()
    redis.start()
    bodies = [t.encode() for t in human_texts(64, words=150)]
    load: dict[str, LoadCell] = {}
    limits: dict[str, BurstCell] = {}
    try:
        with tempfile.TemporaryDirectory() as tmp:  # one data dir: the admin key is written on the first start
            # 1 worker on every core (the default), 1 worker pinned to one core, 2 workers (a core's
            # worth of threads each); the client, PostgreSQL and Redis share the same machine
            cells = (("workers-1", 1, None), ("workers-1-one-core", 1, "0"), ("workers-2", 2, None))
            for name, workers, cpus in cells:
                shared = {"store_url": pg.url, "redis_url": redis.url} | ({"threads": "1"} if cpus else {})
                svc = Service(Path(tmp) / "data", workers=workers, cpus=cpus, rate_limit_per_minute="10000000",
                              rate_limit_burst="1000000", **shared)  # fmt: skip
                svc.start(ready=True)
                try:
                    asyncio.run(_load(svc.base, svc.token, bodies[:4], 5, 8))  # warm every worker
                    assert svc.proc is not None
                    tree = [psutil.Process(svc.proc.pid), *psutil.Process(svc.proc.pid).children(recursive=True)]
                    cpu0, _ = sum(_cpu(p) for p in tree), psutil.cpu_percent()
                    cell = asyncio.run(_load(svc.base, svc.token, bodies, seconds, 8))
                    cell = dataclasses.replace(
                        cell,
                        machine_cpu_busy=psutil.cpu_percent() / 100,
                        service_cores_used=(sum(_cpu(p) for p in tree) - cpu0) / seconds,
                    )
                finally:
                    svc.stop()
                load[name] = cell
                print(f"service {name}: {cell}", flush=True)
            # one key, 2 workers, limit 60/min with a burst of 20: Redis vs per-process buckets
            limit = {"rate_limit_per_minute": "60", "rate_limit_burst": "20", "warm_on_start": "false"}
            for where, redis_url in (("redis", redis.url), ("process", "")):
                svc = Service(Path(tmp) / "data", workers=2, store_url=pg.url, redis_url=redis_url, **limit)
                svc.start()
                time.sleep(3)  # both workers listening
                try:
                    limits[where] = _burst(svc.base, svc.token, 200, per_minute=60, burst=20)
                finally:
                    svc.stop()
                print(f"limit {where}: {limits[where]}", flush=True)
    finally:
        pg.remove()
        redis.stop()
    return ServicePart(
        seconds_per_cell=seconds,
        concurrency=8,
        request="POST /v1/verify, 150-word text",
        workers=load,
        scaling_efficiency=load["workers-2"].per_s / (2 * load["workers-1-one-core"].per_s),
        limits=limits,
    )


# --- audit: appends per second -----------------------------------------------------------------


def _appender(url: str, n: int, threads: int, grouped: bool, ready: Any, start: Any, done: Any) -> None:
    """One writer process: ``n`` appends from ``threads`` threads (as a service worker's request threads)."""
    from api.core.audit import AuditLog
    from provenance.store import open_engine

    log = AuditLog(open_engine(url), group_commit=grouped).create()

    def work(k: int) -> None:
        for i in range(k):
            log.append(actor="eval", action="verify", result="ok", subject=str(i).encode())

    ready.put(True)
    start.wait()
    pool = [threading.Thread(target=work, args=(n // threads,)) for _ in range(threads)]
    for t in pool:
        t.start()
    for t in pool:
        t.join()
    done.put((time.monotonic(), log.writes))  # the system-wide clock: comparable across processes


def _audit_cell(url: str, writers: int, threads: int, appends: int, grouped: bool) -> tuple[AuditCell, int]:
    ctx = mp.get_context("spawn")
    ready, start, done = ctx.Queue(), ctx.Event(), ctx.Queue()
    args = (url, appends, threads, grouped, ready, start, done)
    procs = [ctx.Process(target=_appender, args=args) for _ in range(writers)]
    for p in procs:
        p.start()
    for _ in procs:  # every writer has imported and connected: the clock measures appends only
        ready.get(timeout=120)
    t0 = time.monotonic()
    start.set()
    ends = [done.get(timeout=600) for _ in procs]
    for p in procs:
        p.join()
    wall = max(end for end, _ in ends) - t0  # to the last append, not to the processes' exit
    writes = sum(w for _, w in ends)
    n = writers * (appends // threads) * threads
    return AuditCell(appends=n, seconds=wall, per_s=n / wall), writes


def part_audit(appends: int) -> AuditPart:
    """Appends per second by writer processes: group commit (what ships) and one transaction per
    append (before it), into one log, in one run; each process appends from one thread (``"8"``:
    8 processes) or from 8 or 32 at once (``"8x8"``, ``"8x32"``), as a service worker's request
    threads do (its thread pool holds 40)."""
    from api.core.audit import AuditLog
    from provenance.store import open_engine

    pg = PrivatePostgres()
    pg.start()
    cells: dict[str, dict[str, AuditCell]] = {"single": {}, "grouped": {}}
    writes = {}
    try:
        AuditLog(open_engine(pg.url)).create()
        for writers, threads in ((1, 1), (2, 1), (4, 1), (8, 1), (8, 8), (8, 32)):
            name = str(writers) if threads == 1 else f"{writers}x{threads}"
            for mode in ("single", "grouped"):
                cell, writes[name] = _audit_cell(pg.url, writers, threads, appends, mode == "grouped")
                cells[mode][name] = cell
                print(f"audit {mode} writers-{name}: {cell}", flush=True)
        check = AuditLog(open_engine(pg.url)).verify()
        rows = AuditLog(open_engine(pg.url)).count()
    finally:
        pg.remove()
    return AuditPart(
        appends_per_writer=appends,
        writers=cells["grouped"],
        chain_ok=check.ok,
        rows=rows,
        single=cells["single"],
        rows_per_commit={k: cells["grouped"][k].appends / w for k, w in writes.items() if w},
    )


# --- report ------------------------------------------------------------------------------------


def _md(r: ScaleResults) -> str:
    lines = ["# Scale benchmark", "", f"Run {r.run_at or '?'} on {os.cpu_count()} cores.", ""]
    if (ai := r.ai) is not None:
        lines += ["## AI-likelihood per core (evaluation half)", "",
                  f"{ai.texts} texts; timing on {ai.timing_texts} texts cut to 128 tokens; native bf16: "
                  f"{ai.native_bf16}; MiniLM classifier {ai.classifier_seconds_per_text:.3f} s per text.", "",
                  "| path | s/128 tok, 1 thread | s/128 tok, 2 threads | AUROC | realised FPR at 1 % | TPR at 1 % "
                  "| mean log-likelihood |", "|---|---|---|---|---|---|---|"]  # fmt: skip
        for name, c in ai.paths.items():
            lines.append(
                f"| {name} | {c.seconds_per_128_tokens_1_thread:.3f} | {c.seconds_per_128_tokens_2_threads:.3f} "
                f"| {c.auroc:.4f} | {c.realised_fpr_at_1pct:.2%} ({c.humans}) | {c.tpr_at_1pct:.2f} "
                f"| {c.mean_log_likelihood:.3f} |"
            )
        lines.append("")
    for scan in r.scan.values():
        lines += [f"## Scan engines (store: {scan.store})", "",
                  f"{scan.texts} texts (150 words) and {scan.images} 1 MP JPEGs "
                  "(half watermarked and signed). One worker: the whole run pinned to one core (Ray's own "
                  "processes included); two: both cores, one thread pool's worth each. Items/s: (all - short "
                  "run) items over (all - short run) seconds, a short run being two items a worker.", "",
                  "| engine | workers | items/s (start-up excluded) | items/s (wall) | first row (s) | same verdicts |",
                  "|---|---|---|---|---|---|"]  # fmt: skip
        for key, c in scan.cells.items():
            engine, w = key.rsplit("-", 1)
            lines.append(f"| {engine} | {w} | {c.items_per_s:.2f} | {c.items_per_s_wall:.2f} | "
                         f"{c.first_row_s:.1f} | {c.same_verdicts_as_local_1} |")  # fmt: skip
        lines += ["", f"Scaling efficiency (2 workers / 2 x 1 worker): local {scan.local_scaling_efficiency:.2f},"
                  f" Ray {scan.ray_scaling_efficiency:.2f} (target >= 0.85).", ""]  # fmt: skip
    if (svc := r.service) is not None:
        lines += ["## Service on PostgreSQL + Redis", "", f"{svc.request}, {svc.concurrency} concurrent "
                  f"clients, {svc.seconds_per_cell:.0f} s per cell.", "",
                  "| workers | requests/s | p50 ms | p99 ms | codes | machine CPU busy | cores the service used |",
                  "|---|---|---|---|---|---|---|"]  # fmt: skip
        labels = {"workers-1": "1 (both cores)", "workers-1-one-core": "1 (pinned to one core)",
                  "workers-2": "2 (one core each)"}  # fmt: skip
        for name, c in svc.workers.items():
            busy = "-" if c.machine_cpu_busy is None else f"{c.machine_cpu_busy:.0%}"
            used = "-" if c.service_cores_used is None else f"{c.service_cores_used:.2f}"
            lines.append(f"| {labels.get(name, name)} | {c.per_s:.2f} | {c.p50_ms:.0f} | {c.p99_ms:.0f} | {c.codes} | "
                         f"{busy} | {used} |")  # fmt: skip
        lines += ["", f"Scaling efficiency (2 workers / 2 x 1 on one core): {svc.scaling_efficiency:.2f}.", "",
                  "One key, 2 workers, limit 60/min with a burst of 20, 200 requests:", "",
                  "| buckets | 200 | 429 | allowed by the limit | within |", "|---|---|---|---|---|"]  # fmt: skip
        for where, b in svc.limits.items():
            lines.append(f"| {where} | {b.codes.get('200', 0)} | {b.codes.get('429', 0)} | "
                         f"{b.allowed_by_the_limit:.0f} | {b.within_limit} |")  # fmt: skip
        lines.append("")
    if (audit := r.audit) is not None:
        lines += ["## Audit appends on PostgreSQL", "",
                  "Writer processes appending in a loop from one thread each, or from 8 or 32 threads each",
                  "(*8x8*, *8x32*, as a service worker's request threads do); *grouped*: group commit, what ships;",
                  "*single*: one transaction per append (the log before it); same run, same log, a row acknowledged",
                  "once committed.",
                  "", "| writer processes | grouped appends/s | single appends/s | ratio | rows per commit |",
                  "|---|---|---|---|---|"]  # fmt: skip
        for w, a in audit.writers.items():
            c = audit.single.get(w)
            per = audit.rows_per_commit.get(w)
            lines.append(f"| {w} | {a.per_s:.0f} | {f'{c.per_s:.0f}' if c else ''} | "
                         f"{f'{a.per_s / c.per_s:.1f}x' if c else ''} | {f'{per:.1f}' if per else ''} |")  # fmt: skip
        lines += ["", f"Chain intact after the run: {audit.chain_ok} ({audit.rows} rows).", ""]
    return "\n".join(lines)


def _plot(r: ScaleResults, path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, axes = plt.subplots(1, 3, figsize=(14, 4))
    if r.ai is not None:
        names = list(r.ai.paths)
        axes[0].bar(names, [r.ai.paths[n].seconds_per_128_tokens_2_threads for n in names], color="#4477aa")
        axes[0].axhline(0.2, color="grey", ls="--", label="target 0.2 s")
        for i, n in enumerate(names):
            axes[0].text(i, 0.01, f"AUROC {r.ai.paths[n].auroc:.3f}", ha="center", color="white", fontsize=8)
        axes[0].set(title="AI-likelihood, 2 cores", ylabel="seconds per 128 tokens")
        axes[0].legend()
    if "sqlite" in r.scan:
        cells = r.scan["sqlite"].cells
        axes[1].bar(list(cells), [c.items_per_s for c in cells.values()], color="#228833")
        axes[1].set(title="assay scan, mixed corpus", ylabel="items per second (start-up excluded)")
    if r.service is not None:
        labels = ["workers-1", "workers-1-one-core", "workers-2"]
        names = ["1 worker,\nboth cores", "1 worker,\none core", "2 workers,\none core each"]
        axes[2].bar(names, [r.service.workers[x].per_s for x in labels], color="#aa3377")
        axes[2].set(title="service on PostgreSQL + Redis", ylabel="verify requests per second")
    for ax in axes:
        for bars in ax.containers:
            ax.bar_label(bars, fmt="%.2f", fontsize=8)
    fig.tight_layout()
    fig.savefig(path, dpi=110)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--parts", default="ai,scan,service,audit", help="comma-separated; none: redraw from the JSON")
    ap.add_argument("--ai-limit", type=int, default=None, help="evaluation texts for the AI part (default: all)")
    ap.add_argument("--texts", type=int, default=32)
    ap.add_argument("--images", type=int, default=16)
    ap.add_argument("--scan-stores", default="sqlite,postgresql", help="stores the scan part runs on")
    ap.add_argument("--seconds", type=float, default=30.0)
    ap.add_argument("--appends", type=int, default=1000)
    ap.add_argument("--out", type=Path, default=RESULTS, help="where scale.{json,md,png} go")
    args = ap.parse_args()
    out = args.out / "scale.json"
    results = from_json(ScaleResults, json.loads(out.read_text())) if out.exists() else ScaleResults()
    parts = set(args.parts.split(","))

    def done() -> None:  # each part's figures are kept the moment it ends
        results.run_at = time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime())
        write_json(out, results)

    if "ai" in parts:
        results.ai = part_ai(args.ai_limit)
        done()
    if "scan" in parts:
        for store in args.scan_stores.split(","):
            results.scan[store] = part_scan(args.texts, args.images, store)
            done()
    if "service" in parts:
        results.service = part_service(args.seconds)
        done()
    if "audit" in parts:
        results.audit = part_audit(args.appends)
        done()
    (args.out / "scale.md").write_text(_md(results))
    _plot(results, args.out / "scale.png")
    print((args.out / "scale.md").read_text())


if __name__ == "__main__":
    main()
