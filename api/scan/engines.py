"""Where a scan's items run: this process, a local process pool, or a Ray cluster.

Each engine yields one :class:`ScanRow` per item as items finish (not necessarily in input order)
and every worker checks items with its own :class:`Checker`, so each worker loads the model and
detectors once and writes its audit rows through the one store.
"""

from __future__ import annotations

import dataclasses
import json
import logging
import multiprocessing
import os
from collections.abc import Iterator
from concurrent.futures import ProcessPoolExecutor
from typing import Any, Literal

from api.core.settings import Settings
from api.core.threads import limit_threads, share_of_cores
from api.scan.check import Checker, ScanRow
from api.scan.sources import ScanItem
from watermark.errors import ConfigurationError

__all__ = ["Engine", "local_rows", "ray_rows", "rows"]

Engine = Literal["local", "ray"]


_checker: Checker | None = None


def _init_worker(settings: Settings, threads: int) -> None:
    global _checker
    limit_threads(threads)
    _checker = Checker(settings)


def _check(item: ScanItem) -> ScanRow:
    assert _checker is not None, "worker not initialised"
    return _checker(item)


def _chunk_size(items: int, workers: int) -> int:
    """Items a pool worker takes at a time: small chunks, since items differ in cost (an image, a
    long text), so no worker should be left with a long last chunk while the others idle."""
    return max(1, min(8, items // (32 * workers)))


def local_rows(items: list[ScanItem], settings: Settings, *, workers: int = 1) -> Iterator[ScanRow]:
    """Rows from this process (``workers`` = 1) or a pool of ``workers`` processes, in input order."""
    if not items:
        return
    if workers <= 1:
        checker = Checker(settings)
        yield from map(checker, items)
        return
    chunk = _chunk_size(len(items), workers)
    init = (settings, share_of_cores(workers))
    # spawn, not fork: a forked child inherits the parent's OpenMP/BLAS thread pools mid-state, and
    # capping them there can hang (seen: threadpoolctl waiting forever in a forked worker)
    spawn = multiprocessing.get_context("spawn")
    with ProcessPoolExecutor(workers, mp_context=spawn, initializer=_init_worker, initargs=init) as pool:
        yield from pool.map(_check, items, chunksize=chunk)


class _RayChecker:
    """A Ray Data actor: one :class:`Checker` for its lifetime, a batch of items per call."""

    def __init__(self, settings: Settings, threads: int) -> None:
        _init_worker(settings, threads)

    def __call__(self, batch: dict[str, Any]) -> dict[str, Any]:
        import numpy as np

        items = (ScanItem(**json.loads(str(record))) for record in batch["item"])
        return {"row": np.array([_check(item).model_dump_json() for item in items], dtype=object)}


def ray_rows(
    items: list[ScanItem],
    settings: Settings,
    *,
    workers: int = 2,
    address: str | None = None,
    cpus_per_worker: int = 1,
    batch_size: int = 8,
) -> Iterator[ScanRow]:
    """Rows from a pool of ``workers`` Ray actors (Ray Data), as they finish.

    With no ``address`` a local Ray instance is started (and stopped afterwards) with the cores
    the actors need; ``address="auto"`` joins the running cluster. Files are read where the actor
    runs: on a cluster, paths must name shared storage; texts travel with the items.

    Raises:
        ConfigurationError: Ray is not installed, the cluster cannot be reached, or a worker failed
            (items already yielded stay valid: a results table keeps them).
    """
    if not items:
        return
    os.environ.setdefault("RAY_USAGE_STATS_ENABLED", "0")  # no reporting home, offline by default
    # Ray Data's actors always hold their constructor arguments in the object store, and Ray's core
    # prints an error-level notice about that for every pool; failures still raise in Python.
    os.environ.setdefault("RAY_BACKEND_LOG_LEVEL", "fatal")
    try:
        import ray
        import ray.data
    except ImportError:
        raise ConfigurationError("the Ray engine needs Ray: pip install 'assay[scale]'") from None
    started = not ray.is_initialized()
    if started:
        try:
            if address:
                ray.init(address=address, logging_level=logging.ERROR, log_to_driver=False)
            else:
                ray.init(
                    num_cpus=workers * cpus_per_worker,
                    include_dashboard=False,
                    logging_level=logging.ERROR,
                    log_to_driver=False,
                )
        except (ConnectionError, RuntimeError, ValueError) as exc:
            raise ConfigurationError(f"cannot start or join Ray at {address or 'a local instance'}: {exc}") from None
    try:
        logging.getLogger("ray.data").setLevel(logging.ERROR)
        context = ray.data.DataContext.get_current()
        context.enable_progress_bars = False  # the scan draws its own
        context.print_on_execution_start = False
        # one JSON column: Arrow would turn a column of texts with gaps into floats (NaN) for NumPy
        records = [{"item": json.dumps(dataclasses.asdict(i))} for i in items]
        batch = max(1, min(batch_size, len(records) // (4 * workers)))  # at least 4 batches an actor
        dataset = ray.data.from_items(records, override_num_blocks=-(-len(records) // batch))
        checked = dataset.map_batches(
            _RayChecker,
            fn_constructor_kwargs={"settings": settings, "threads": cpus_per_worker},
            batch_size=batch,
            compute=ray.data.ActorPoolStrategy(size=workers),
            num_cpus=cpus_per_worker,
        )
        try:
            for row in checked.iter_rows():
                yield ScanRow.model_validate_json(row["row"])
        except ray.exceptions.RayError as exc:  # an actor that could not start, or died
            cause = str(exc).strip().splitlines()[-1][:500] if str(exc).strip() else type(exc).__name__
            raise ConfigurationError(f"a Ray worker failed: {cause}") from None
    finally:
        if started:
            ray.shutdown()


def rows(
    items: list[ScanItem],
    settings: Settings,
    *,
    engine: Engine = "local",
    workers: int = 1,
    address: str | None = None,
) -> Iterator[ScanRow]:
    """The rows of ``items`` from the chosen engine."""
    if engine == "ray":
        return ray_rows(items, settings, workers=workers, address=address)
    return local_rows(items, settings, workers=workers)
