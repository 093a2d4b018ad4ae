"""Batch scans at scale: Parquet and JSONL sources, a results table that resumes an interrupted
scan, and the same checks on a real local Ray instance, item by item equal to the local engine."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

import api.scan.run
from api.core.operations import Operations
from api.core.runtime import Runtime
from api.core.settings import Settings
from api.scan.results import ResultsTable
from api.scan.run import run_scan
from api.scan.sources import Columns, iter_items
from watermark.errors import InvalidInput

from .conftest import RING, photo_jpeg
from .test_cli import run

HUMAN = (
    "The council met on Tuesday evening to discuss the new bus timetable. Several residents said the "
    "early service had been cut without warning, and the chair promised to raise it with the operator."
)


def test_parquet_and_jsonl_sources_with_their_own_column_names(tmp_path: Path) -> None:
    (tmp_path / "photo.jpg").write_bytes(b"x")
    table = pa.table({"doc": ["a", "b", "c"], "body": ["one", None, "three"], "file": [None, "photo.jpg", None]})
    pq.write_table(table, tmp_path / "items.parquet")
    items = list(iter_items(tmp_path / "items.parquet", Columns(text="body", path="file", id="doc")))
    assert [(i.item_id, i.text, i.path) for i in items] == [
        ("a", "one", None),
        ("b", None, str(tmp_path / "photo.jpg")),  # relative to the table's folder
        ("c", "three", None),
    ]
    with pytest.raises(InvalidInput, match="neither a 'text' nor a 'path' column"):
        list(iter_items(tmp_path / "items.parquet"))
    (tmp_path / "dup.jsonl").write_text('{"id": 1, "text": "a"}\n{"id": 1, "text": "b"}\n')
    with pytest.raises(InvalidInput, match="id '1' is used twice"):
        list(iter_items(tmp_path / "dup.jsonl"))
    (tmp_path / "broken.parquet").write_bytes(b"PAR1 not really")
    with pytest.raises(InvalidInput, match="not a readable Parquet file"):
        list(iter_items(tmp_path / "broken.parquet"))


def _corpus(tmp_path: Path, n: int) -> Path:
    rows = [{"id": f"t{i}", "text": f"Note {i}. {HUMAN}"} for i in range(n)]
    source = tmp_path / "texts.jsonl"
    source.write_text("".join(json.dumps(r) + "\n" for r in rows))
    return source


def _verify_rows(settings: Settings) -> int:
    return sum(1 for e in Runtime.open(settings).audit.entries() if e.action == "verify")


@pytest.mark.parametrize("name", ["results.jsonl", "results.parquet"])
def test_an_interrupted_scan_resumes_where_it_stopped(
    env: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, name: str
) -> None:
    monkeypatch.setenv("ASSAY_AI_LIKELIHOOD", "false")
    source, results = _corpus(tmp_path, 7), tmp_path / name
    real = api.scan.run.engine_rows

    def interrupted(*args: Any, **kw: Any) -> Iterator[Any]:
        for n, row in enumerate(real(*args, **kw)):
            if n == 3:
                raise KeyboardInterrupt  # as Ctrl-C after three items
            yield row

    monkeypatch.setattr(api.scan.run, "engine_rows", interrupted)
    with pytest.raises(KeyboardInterrupt):
        run_scan(str(source), Settings(), results=str(results), progress=False)
    assert sorted(ResultsTable(results).load()) == ["t0", "t1", "t2"]  # what finished was kept
    monkeypatch.setattr(api.scan.run, "engine_rows", real)
    assert _verify_rows(Settings()) == 4  # t3 was checked, but interrupted before its row was written

    code, out, err = run("scan", str(source), "--results", str(results), "--no-progress")
    assert code == 0, err
    report = json.loads(out)
    assert [r["id"] for r in report["items"]] == [f"t{i}" for i in range(7)] and report["resumed"] == 3
    assert _verify_rows(Settings()) == 8  # only the four missing items were checked (t3 again)
    loaded = ResultsTable(results).load()
    assert sorted(loaded) == [f"t{i}" for i in range(7)]
    # the table holds the full row as checked (the leaf of its audit row is known when the scan ends)
    assert loaded["t1"].model_dump(mode="json") == report["items"][1] | {"audit_leaf": None}
    if name.endswith(".parquet"):  # a data team reads the folder as one table
        table = pq.read_table(results)
        assert table.num_rows == 7 and table.schema.field("watermark_p_value").type == pa.float64()
    else:  # a line cut short by a crash is dropped and its item checked again
        with open(results, "a") as fh:
            fh.write('{"id": "t9", "kind": "te')
        assert len(ResultsTable(results).load()) == 7 and results.read_text().endswith("}\n")


def _approx(value: Any) -> Any:
    if isinstance(value, float):
        return pytest.approx(value, rel=1e-4, abs=1e-6)
    if isinstance(value, dict):
        return {k: _approx(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_approx(v) for v in value]
    return value


@pytest.mark.slow
def test_ray_engine_gives_the_local_engine_s_rows_and_one_audit_chain(
    env: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("ASSAY_KEYRING_TOML", RING)
    settings = Settings(warm_on_start=False)
    marked = Operations(Runtime.open(settings)).watermark_and_sign(photo_jpeg(), actor="test", title="Ray").data
    folder = tmp_path / "corpus"
    folder.mkdir()
    (folder / "a-marked.jpg").write_bytes(marked)
    (folder / "b-plain.jpg").write_bytes(photo_jpeg((400, 300)))
    (folder / "c-note.txt").write_text(HUMAN * 2)
    (folder / "d-broken.png").write_bytes(b"\x89PNG\r\n\x1a\n broken")
    (folder / "e-short.txt").write_text("Too short to say.")
    before = _verify_rows(settings)

    local = run_scan(str(folder), settings, progress=False)
    on_ray = run_scan(str(folder), settings, engine="ray", workers=2, progress=False, results=str(tmp_path / "r"))
    # the same rows; model features to 1e-4 (an actor runs the model on one thread: fp32 sums in
    # another order), verdicts and labels exactly
    assert [r.model_dump(mode="json", exclude={"audit_leaf"}) for r in on_ray.items] == _approx(
        [r.model_dump(mode="json", exclude={"audit_leaf"}) for r in local.items]
    )  # each scan proves its own audit rows
    assert [r.audit_leaf for r in local.items if r.sha256] != [r.audit_leaf for r in on_ray.items if r.sha256]
    assert [r.verdict for r in on_ray.items] == ["ai", "no-evidence", on_ray.items[2].verdict, "error", "inconclusive"]
    assert on_ray.items[0].signer == "Assay Development Signer" and on_ray.items[2].ai_p_value is not None
    # every actor's audit rows joined the one chain: a verify row per item and engine
    rt = Runtime.open(settings)
    assert _verify_rows(settings) - before == 10 and rt.audit.verify().ok
    assert on_ray.audit_head == rt.audit.head() and len(ResultsTable(tmp_path / "r").load()) == 5


def test_scan_options_are_checked_before_anything_runs(env: Path, tmp_path: Path) -> None:
    source = _corpus(tmp_path, 1)
    code, _, err = run("scan", str(source), "--address", "auto")
    assert code == 2 and "--address is for --engine ray" in err
    (tmp_path / "table.jsonl").mkdir()
    code, _, err = run("scan", str(source), "--results", str(tmp_path / "table.jsonl"))
    assert code == 2 and "is a folder" in err and _verify_rows(Settings()) == 0
