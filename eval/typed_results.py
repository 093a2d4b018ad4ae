"""Benchmark results as typed dataclasses, serialised once (JSON) and read back into the same types
(to redraw a report, or to merge a run of some sections into the results of an earlier run).

Writes are atomic (a temporary file renamed into place), so a benchmark can write after every
section and a run that dies keeps what it measured.
"""

from __future__ import annotations

import dataclasses
import json
import types
import typing
from pathlib import Path
from typing import Any, TypeVar

__all__ = ["from_json", "write_json"]

T = TypeVar("T")


def _value(tp: Any, v: Any) -> Any:
    if v is None:
        return None
    origin, args = typing.get_origin(tp), typing.get_args(tp)
    if origin in (typing.Union, types.UnionType):
        kinds = [a for a in args if a is not type(None)]
        return _value(kinds[0], v) if len(kinds) == 1 else v
    if isinstance(tp, type) and dataclasses.is_dataclass(tp):
        return from_json(tp, v)
    if origin is dict:
        return {k: _value(args[1], x) for k, x in v.items()}
    if origin is list:
        return [_value(args[0], x) for x in v]
    if origin is tuple:
        return tuple(v)
    return v


def from_json(cls: type[T], data: dict[str, object]) -> T:
    """``cls`` (a dataclass) from its JSON form; nested dataclasses, dicts, lists, tuples and
    optional fields are rebuilt from the type hints. A field missing from ``data`` keeps its default.

    Raises:
        TypeError: a required field is missing.
    """
    hints = typing.get_type_hints(cls)
    kwargs = {f.name: _value(hints[f.name], data[f.name]) for f in dataclasses.fields(cls) if f.name in data}  # type: ignore[arg-type]
    return cls(**kwargs)


def write_json(path: Path, results: Any) -> None:
    """Write a dataclass's JSON form to ``path`` atomically."""
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(path.name + ".tmp")
    tmp.write_text(json.dumps(dataclasses.asdict(results), indent=2, default=float))
    tmp.replace(path)
