"""Why two scan workers do not check twice the items of one: a profile of the local engine.

The corpus of ``eval/scale.py``'s scan part (150-word texts and 1 MP JPEGs, half of them marked
and signed), checked three ways, each item timed inside the process that checks it:

- ``one``: one worker, this process pinned to one core and one thread (as ``scale.py`` runs it);
- ``pool``: the local engine's pool of two spawned processes (``api.scan.engines.local_rows``: the
  same initializer, thread share and chunk size), one store shared by both;
- ``independent``: two spawned processes that share nothing, each with its own store and half the
  items: what the machine gives two workers when no engine stands between them.

Per item: wall time, the worker process's CPU time, the time inside the audit append (its commit)
and the time to pickle the row for the driver. Per run: items per second once every worker has
finished its first item (the model loads on first use), the workers' busy share of that span,
the driver's CPU. If ``independent`` scales no better than ``pool``, the limit is the machine
(each worker's CPU time per item grows when two run); if it does, the engine costs the difference.

Writes ``eval/results/scan_profile.{json,md}``.
"""

from __future__ import annotations

import argparse
import multiprocessing as mp
import os
import pickle
import statistics
import sys
import tempfile
import time
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Any

# The repository first, this folder last: eval/provenance.py must not stand for the package in the
# spawned workers (they get this process's path).
_HERE = str(Path(__file__).resolve().parent)
sys.path[:] = [str(Path(__file__).resolve().parents[1]), *(p for p in sys.path if p != _HERE), _HERE]

from eval.typed_results import write_json  # noqa: E402  (after the path is set)

os.environ.setdefault("HF_HUB_OFFLINE", "1")
RESULTS = Path(__file__).resolve().parent / "results"


@dataclass(frozen=True)
class ItemTiming:
    """One item, measured in the process that checked it."""

    item: str
    pid: int
    start: float  # time.time() at the start (comparable across processes)
    wall_s: float
    cpu_s: float  # the worker process's CPU time (all its threads) over the item
    audit_s: float  # inside AuditLog.append (waiting for the store's lock included)
    pickle_s: float  # pickling the row for the driver
    row_bytes: int


@dataclass(frozen=True)
class RunProfile:
    """One way of checking the corpus."""

    workers: int
    items: int
    steady_items: int  # items that started after every worker finished its first one
    steady_s: float
    items_per_s: float  # steady items over the steady span
    busy_share: float  # the workers' item wall time over workers x steady span
    wall_per_item_s: float  # median over steady items
    cpu_per_item_s: float  # median over steady items
    cpu_per_wall: float  # CPU over wall time of steady items (1.0: never waiting)
    audit_per_item_s: float
    pickle_per_item_s: float
    row_kib: float
    driver_cpu_s: float
    first_item_s: float  # the slowest worker's first item (model and detectors loading)
    # The same items weighed by what each cost the single worker (items differ tenfold: an image
    # against a text scored by two models), so a run whose steady span holds more texts is not
    # read as slower: one worker's seconds of work done per second, per worker.
    work_efficiency: float | None = None
    slowdown: float | None = None  # median over steady items of this run's wall over one worker's


@dataclass(frozen=True)
class ScanProfile:
    texts: int
    images: int
    cores: int
    runs: dict[str, RunProfile]  # one, pool, independent
    pool_efficiency: float  # pool items/s over 2 x one's
    independent_efficiency: float
    pool_work_efficiency: float  # the same, items weighed by their cost to one worker
    independent_work_efficiency: float


# --- in the worker ------------------------------------------------------------------------------

_audit = [0.0]


def _init(settings: Any, threads: int, cpu: int | None = None) -> None:
    """The engine's initializer (``api.scan.engines._init_worker``) plus a timer on audit appends."""
    if cpu is not None:
        os.sched_setaffinity(0, {cpu})
    from api.core.audit import AuditLog
    from api.scan.engines import _init_worker

    _init_worker(settings, threads)
    append = AuditLog.append

    def timed(self: AuditLog, **kw: Any) -> Any:
        t = time.perf_counter()
        try:
            return append(self, **kw)
        finally:
            _audit[0] += time.perf_counter() - t

    AuditLog.append = timed  # type: ignore[method-assign]


def _check(item: Any) -> tuple[Any, ItemTiming]:
    from api.scan.engines import _check as check

    start, t, cpu, audit = time.time(), time.perf_counter(), time.process_time(), _audit[0]
    row = check(item)
    wall, cpu = time.perf_counter() - t, time.process_time() - cpu
    t = time.perf_counter()
    size = len(pickle.dumps(row))
    timing = ItemTiming(item.item_id, os.getpid(), start, wall, cpu, _audit[0] - audit, time.perf_counter() - t, size)
    return row, timing


def _check_all(settings: Any, items: list[Any], cpu: int | None) -> list[ItemTiming]:
    """Check ``items`` in this (spawned) process; for the independent run."""
    _init(settings, 1, cpu)
    return [_check(item)[1] for item in items]


# --- the runs -----------------------------------------------------------------------------------


def _profile(
    workers: int, timings: list[ItemTiming], driver_cpu: float, cost: dict[str, float] | None = None
) -> RunProfile:
    by_worker: dict[int, list[ItemTiming]] = {}
    for t in sorted(timings, key=lambda t: t.start):
        by_worker.setdefault(t.pid, []).append(t)
    ready = max(ts[0].start + ts[0].wall_s for ts in by_worker.values())  # every worker has its model
    steady = [t for t in timings if t.start >= ready]
    end = max(t.start + t.wall_s for t in timings)
    span = end - ready
    return RunProfile(
        workers=workers,
        items=len(timings),
        steady_items=len(steady),
        steady_s=span,
        items_per_s=len(steady) / span,
        busy_share=sum(t.wall_s for t in steady) / (workers * span),
        wall_per_item_s=statistics.median(t.wall_s for t in steady),
        cpu_per_item_s=statistics.median(t.cpu_s for t in steady),
        cpu_per_wall=sum(t.cpu_s for t in steady) / sum(t.wall_s for t in steady),
        audit_per_item_s=statistics.mean(t.audit_s for t in steady),
        pickle_per_item_s=statistics.mean(t.pickle_s for t in steady),
        row_kib=statistics.mean(t.row_bytes for t in steady) / 1024,
        driver_cpu_s=driver_cpu,
        first_item_s=max(ts[0].wall_s for ts in by_worker.values()),
        work_efficiency=None if cost is None else sum(cost[t.item] for t in steady) / (workers * span),
        slowdown=None if cost is None else statistics.median(t.wall_s / cost[t.item] for t in steady),
    )


def run_one(settings: Any, items: list[Any]) -> tuple[RunProfile, dict[str, float]]:
    every = os.sched_getaffinity(0)
    os.sched_setaffinity(0, {min(every)})
    try:
        _init(settings, 1)
        timings = [_check(item)[1] for item in items]
    finally:
        os.sched_setaffinity(0, every)
        from api.core.threads import limit_threads

        limit_threads(os.cpu_count() or 1)
    return _profile(1, timings, 0.0), {t.item: t.wall_s for t in timings}


def run_pool(settings: Any, items: list[Any], cost: dict[str, float]) -> RunProfile:
    from api.core.threads import share_of_cores
    from api.scan.engines import _chunk_size

    workers = 2
    chunk = _chunk_size(len(items), workers)  # as api.scan.engines.local_rows
    cpu = time.process_time()
    timings = []
    spawn = mp.get_context("spawn")
    with ProcessPoolExecutor(
        workers, mp_context=spawn, initializer=_init, initargs=(settings, share_of_cores(2))
    ) as pool:
        for _row, timing in pool.map(_check, items, chunksize=chunk):
            timings.append(timing)
    return _profile(workers, timings, time.process_time() - cpu, cost)


def run_independent(items: list[Any], data: Path, cost: dict[str, float]) -> RunProfile:
    from api.core.settings import Settings

    halves = [items[0::2], items[1::2]]
    spawn = mp.get_context("spawn")
    cpu = time.process_time()
    with ProcessPoolExecutor(2, mp_context=spawn) as pool:
        futures = []
        for n, half in enumerate(halves):
            os.environ["ASSAY_DATA_DIR"] = str(data / f"own-{n}")  # read by Settings() in this process
            futures.append(pool.submit(_check_all, Settings(), half, None))
        timings = [t for f in futures for t in f.result()]
    return _profile(2, timings, time.process_time() - cpu, cost)


def _num(x: float | None) -> str:
    return "-" if x is None else f"{x:.2f}"


def _md(p: ScanProfile) -> str:
    lines = [
        "# Scan profile: one worker, the local engine's two, two that share nothing",
        "",
        f"{p.texts} texts (150 words) and {p.images} 1 MP JPEGs (half marked and signed), {p.cores} cores. "
        "Steady: items that started once every worker had finished its first (the model loads on first use).",
        "",
        "| run | workers | steady items/s | busy share | wall/item ms | CPU/item ms | CPU/wall | audit ms/item "
        "| pickle ms/item | row KiB | driver CPU s | first item s | work efficiency | slowdown |",
        "|---|---|---|---|---|---|---|---|---|---|---|---|---|---|",
    ]
    for name, r in p.runs.items():
        lines.append(
            f"| {name} | {r.workers} | {r.items_per_s:.2f} | {r.busy_share:.2f} | {r.wall_per_item_s * 1e3:.0f} "
            f"| {r.cpu_per_item_s * 1e3:.0f} | {r.cpu_per_wall:.2f} | {r.audit_per_item_s * 1e3:.1f} "
            f"| {r.pickle_per_item_s * 1e3:.2f} | {r.row_kib:.0f} | {r.driver_cpu_s:.1f} | {r.first_item_s:.1f} "
            f"| {_num(r.work_efficiency)} | {_num(r.slowdown)} |"
        )
    lines += [
        "",
        f"Scaling efficiency (items/s over 2 x one): pool {p.pool_efficiency:.2f}, "
        f"independent {p.independent_efficiency:.2f} (target >= 0.85); with items weighed by their cost to one "
        f"worker: pool {p.pool_work_efficiency:.2f}, independent {p.independent_work_efficiency:.2f}.",
        "",
    ]
    return "\n".join(lines)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--texts", type=int, default=32)
    ap.add_argument("--images", type=int, default=16)
    ap.add_argument("--out", type=Path, default=RESULTS)
    args = ap.parse_args()
    from scale import CACHE, _corpus

    from api.core.settings import Settings
    from api.scan.sources import iter_items

    with tempfile.TemporaryDirectory() as tmp:
        data = Path(tmp)
        os.environ["ASSAY_DATA_DIR"] = str(data / "shared")
        os.environ["ASSAY_CACHE_DIR"] = str(CACHE)
        _corpus(data / "corpus", args.texts, args.images)
        items = list(iter_items(data / "corpus"))
        settings = Settings()
        runs: dict[str, RunProfile] = {}
        runs["one"], cost = run_one(settings, items)
        print("one", runs["one"], flush=True)
        runs["pool"] = run_pool(settings, items, cost)
        print("pool", runs["pool"], flush=True)
        runs["independent"] = run_independent(items, data, cost)
        print("independent", runs["independent"], flush=True)
    one = runs["one"].items_per_s
    profile = ScanProfile(
        texts=args.texts,
        images=args.images,
        cores=os.cpu_count() or 1,
        runs=runs,
        pool_efficiency=runs["pool"].items_per_s / (2 * one),
        independent_efficiency=runs["independent"].items_per_s / (2 * one),
        pool_work_efficiency=runs["pool"].work_efficiency or 0.0,
        independent_work_efficiency=runs["independent"].work_efficiency or 0.0,
    )
    args.out.mkdir(parents=True, exist_ok=True)
    write_json(args.out / "scan_profile.json", profile)
    (args.out / "scan_profile.md").write_text(_md(profile))
    print(_md(profile))


if __name__ == "__main__":
    main()
