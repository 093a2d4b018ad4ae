"""What a scan reads: a folder of files, JSONL rows, or a Parquet table, as :class:`ScanItem` s.

Every item has an id that is unique in its source (a folder's relative paths, a row's id column,
else its row number): the results table is keyed by it, so a scan resumes by skipping ids it
already holds. Paths in rows are resolved against the source's folder; texts travel with the item.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from api.core.bounded_input import read_bounded
from watermark.errors import InvalidInput

__all__ = [
    "DEFAULT_COLUMNS",
    "IMAGE_SUFFIXES",
    "MEDIA_SUFFIXES",
    "TEXT_SUFFIXES",
    "Columns",
    "ScanItem",
    "iter_items",
    "read_item",
]

IMAGE_SUFFIXES = {".jpg", ".jpeg", ".png", ".webp", ".tif", ".tiff", ".bmp", ".gif"}
TEXT_SUFFIXES = {".txt", ".md"}
# Audio, video and Office documents: their credentials and labels are checked (no watermark applies yet).
MEDIA_SUFFIXES = {
    ".wav",
    ".mp3",
    ".flac",
    ".m4a",
    ".mp4",
    ".mov",
    ".m4v",
    ".mkv",
    ".webm",
    ".avi",
    ".docx",
    ".xlsx",
    ".pptx",
}
MAX_FILE = 64 * 1024 * 1024
_PARQUET_BATCH = 4096


@dataclass(frozen=True)
class ScanItem:
    """One thing to check: a text, or a file."""

    item_id: str
    text: str | None = None
    path: str | None = None

    @property
    def as_text(self) -> bool:
        """Whether the item is checked as text (given as text, or a .txt/.md file)."""
        return self.text is not None or (self.path is not None and Path(self.path).suffix.lower() in TEXT_SUFFIXES)


@dataclass(frozen=True)
class Columns:
    """The names of a JSONL or Parquet source's columns: the text, the file path, the item id."""

    text: str = "text"
    path: str = "path"
    id: str = "id"


DEFAULT_COLUMNS = Columns()


def iter_items(source: Path, columns: Columns = DEFAULT_COLUMNS) -> Iterator[ScanItem]:
    """The items of ``source``, in its order: a folder (images, audio, video and .txt/.md files, recursively,
    sorted), a ``.parquet`` file, or a JSONL file (one object per line).

    Rows hold a text or a path (relative paths start at the source's folder) and an optional id.

    Raises:
        InvalidInput: a missing source, a row without a text or a path, or an id seen twice.
    """
    seen: set[str] = set()
    for where, item in _items(source, columns):
        if item.item_id in seen:
            raise InvalidInput(f"{where}: id {item.item_id!r} is used twice (ids key the results)")
        seen.add(item.item_id)
        yield item


def _items(source: Path, columns: Columns) -> Iterator[tuple[str, ScanItem]]:
    if source.is_dir():
        for p in sorted(source.rglob("*")):
            if p.is_file() and p.suffix.lower() in IMAGE_SUFFIXES | TEXT_SUFFIXES | MEDIA_SUFFIXES:
                yield str(p), ScanItem(str(p.relative_to(source)), path=str(p.resolve()))
        return
    if not source.is_file():
        raise InvalidInput(f"{source} is neither a folder nor a file")
    rows = _parquet_rows(source, columns) if source.suffix.lower() == ".parquet" else _jsonl_rows(source)
    base = source.resolve().parent
    for n, row in rows:
        where = f"{source}:{n}"
        text, path = row.get(columns.text), row.get(columns.path)
        if not isinstance(text, str) and not isinstance(path, str):
            raise InvalidInput(f'{where} has no text ("{columns.text}") or file path ("{columns.path}")')
        item_id = row.get(columns.id)
        item_id = str(n) if item_id is None else str(item_id)
        if isinstance(text, str):
            yield where, ScanItem(item_id, text=text)
        else:
            yield where, ScanItem(item_id, path=str(base / Path(str(path)).expanduser()))


def _jsonl_rows(source: Path) -> Iterator[tuple[int, dict[str, object]]]:
    try:
        with open(source, encoding="utf-8") as fh:
            for n, line in enumerate(fh, 1):
                if not line.strip():
                    continue
                try:
                    row = json.loads(line)
                except ValueError:
                    raise InvalidInput(f"{source}:{n} is not JSON") from None
                if not isinstance(row, dict):
                    raise InvalidInput(f"{source}:{n} is not a JSON object")
                yield n, row
    except UnicodeDecodeError:
        raise InvalidInput(f"{source} is not UTF-8 text (a folder, a .parquet file or a JSONL file)") from None


def _parquet_rows(source: Path, columns: Columns) -> Iterator[tuple[int, dict[str, object]]]:
    import pyarrow as pa
    import pyarrow.parquet as pq

    try:
        table = pq.ParquetFile(source)
    except (pa.ArrowException, OSError) as exc:
        raise InvalidInput(f"{source} is not a readable Parquet file: {exc}") from None
    present = set(table.schema_arrow.names)
    wanted = [c for c in (columns.id, columns.text, columns.path) if c in present]
    if columns.text not in present and columns.path not in present:
        raise InvalidInput(
            f"{source} has neither a {columns.text!r} nor a {columns.path!r} column (it has {sorted(present)}); "
            "name yours with --text-column or --path-column"
        )
    n = 0
    for batch in table.iter_batches(batch_size=_PARQUET_BATCH, columns=wanted):
        for row in batch.to_pylist():
            n += 1
            yield n, row


def read_item(item: ScanItem) -> str | bytes:
    """The item's content: its text, or its file's bytes (at most 64 MiB).

    Raises:
        InvalidInput: the file cannot be read.
        PayloadTooLarge: the file is larger than the limit.
    """
    if item.text is not None:
        return item.text
    assert item.path is not None
    return read_bounded(item.path, MAX_FILE, "the scan's file limit")
