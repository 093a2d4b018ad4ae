"""A scan's results table: one row per item, written as items finish, read back to resume.

Two formats, chosen by the path:

- ``*.jsonl``: one JSON object per line, appended and synced in batches. A line cut short by an
  interruption is dropped when the table is opened again.
- anything else (``results.parquet``, ``results/``): a Parquet dataset folder of ``part-*.parquet``
  files, each written whole under a temporary name and renamed, so a part is complete or absent.
  pandas, pyarrow, DuckDB and Spark read the folder as one table.

Columns are :class:`ScanRow` 's, with the full report in ``report`` (an object in JSONL, a JSON
string in Parquet). Rows are
keyed by item id: opening an existing table and skipping the ids it holds resumes a scan.
"""

from __future__ import annotations

import json
import os
import types
import typing
from pathlib import Path
from typing import Any

from api.scan.check import ScanRow
from watermark.errors import InvalidInput

__all__ = ["ResultsTable", "arrow_schema"]


def _arrow_type(annotation: Any) -> Any:
    import pyarrow as pa

    args = [a for a in typing.get_args(annotation) if a is not type(None)]
    if typing.get_origin(annotation) in (typing.Union, types.UnionType) and len(args) == 1:
        return _arrow_type(args[0])
    if annotation is bool:
        return pa.bool_()
    if annotation is float:
        return pa.float64()
    return pa.string()  # str, Literal[...] and the report (JSON text)


def arrow_schema() -> Any:
    """The results table's Arrow schema, from :class:`ScanRow` 's fields."""
    import pyarrow as pa

    return pa.schema([pa.field(name, _arrow_type(f.annotation)) for name, f in ScanRow.model_fields.items()])


def _flat(row: ScanRow) -> dict[str, object]:
    record = row.model_dump(mode="json")
    record["report"] = json.dumps(record["report"], ensure_ascii=False) if row.report is not None else None
    return record


def _row(record: dict[str, object]) -> ScanRow:
    report = record.get("report")
    return ScanRow.model_validate({**record, "report": json.loads(report) if isinstance(report, str) else report})


class ResultsTable:
    """The results of one scan at ``path`` (see the module docstring for the formats)."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self.jsonl = path.suffix.lower() == ".jsonl"
        if self.jsonl and path.is_dir():
            raise InvalidInput(f"{path} is a folder; a JSONL results table is a file")
        if not self.jsonl and path.is_file():
            raise InvalidInput(f"{path} is a file; a Parquet results table is a folder of part files")
        self._parts = 0

    def load(self) -> dict[str, ScanRow]:
        """The rows already written, by item id (empty for a new table).

        Raises:
            InvalidInput: the table holds rows that are not scan results.
        """
        try:
            records = self._load_jsonl() if self.jsonl else self._load_parquet()
            return {r.id: r for r in map(_row, records)}
        except (ValueError, TypeError) as exc:
            raise InvalidInput(f"{self.path} holds rows that are not Assay scan results: {exc}") from None

    def _load_jsonl(self) -> list[dict[str, object]]:
        if not self.path.exists():
            return []
        data = self.path.read_bytes()
        end = data.rfind(b"\n") + 1
        if end < len(data):  # the last line was cut short: drop it, it is checked again
            with open(self.path, "r+b") as fh:
                fh.truncate(end)
        return [json.loads(line) for line in data[:end].splitlines() if line.strip()]

    def _load_parquet(self) -> list[dict[str, object]]:
        import pyarrow.parquet as pq

        parts = sorted(self.path.glob("part-*.parquet")) if self.path.is_dir() else []
        self._parts = len(parts)
        records: list[dict[str, object]] = []
        for part in parts:
            records.extend(pq.read_table(part).to_pylist())
        return records

    def append(self, rows: list[ScanRow]) -> None:
        """Write ``rows`` durably (synced to disk before this returns)."""
        if not rows:
            return
        if self.jsonl:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            with open(self.path, "a", encoding="utf-8") as fh:
                fh.write("".join(r.model_dump_json() + "\n" for r in rows))
                fh.flush()
                os.fsync(fh.fileno())
            return
        import pyarrow as pa
        import pyarrow.parquet as pq

        self.path.mkdir(parents=True, exist_ok=True)
        while (part := self.path / f"part-{self._parts:06d}.parquet").exists():
            self._parts += 1
        tmp = self.path / f".{part.name}.tmp"
        pq.write_table(pa.Table.from_pylist([_flat(r) for r in rows], schema=arrow_schema()), tmp)
        with open(tmp, "rb") as fh:
            os.fsync(fh.fileno())
        os.replace(tmp, part)
        self._parts += 1
