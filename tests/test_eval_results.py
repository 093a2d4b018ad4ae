"""Benchmark results are typed and serialised once: the JSON form reads back into the same types."""

from __future__ import annotations

import dataclasses
import json
from pathlib import Path

from eval.typed_results import from_json, write_json

REPO = Path(__file__).resolve().parents[1]


@dataclasses.dataclass(frozen=True)
class Cell:
    rate: float
    interval: tuple[float, float]
    note: str | None = None


@dataclasses.dataclass
class Section:
    cells: dict[str, Cell]
    sizes: list[int]
    best: Cell | None = None


def test_results_round_trip_through_their_json_form(tmp_path: Path) -> None:
    section = Section({"a": Cell(0.5, (0.1, 0.9)), "b": Cell(1.0, (0.8, 1.0), "subset")}, [512, 1024], Cell(1, (1, 1)))
    write_json(tmp_path / "r.json", section)
    assert from_json(Section, json.loads((tmp_path / "r.json").read_text())) == section
    assert not list(tmp_path.glob("*.tmp"))  # written through a temporary file, renamed into place


def test_the_shipped_scale_results_read_back_and_render() -> None:
    from eval.scale import ScaleResults, _md

    results = from_json(ScaleResults, json.loads((REPO / "eval" / "results" / "scale.json").read_text()))
    assert results.ai is not None and set(results.ai.paths) == {"fp32", "bf16", "int8-dynamic"}
    assert set(results.scan) == {"sqlite", "postgresql"} and results.audit is not None
    shipped = (REPO / "eval" / "results" / "scale.md").read_text()
    assert _md(results).splitlines()[3:] == shipped.splitlines()[3:]  # the same tables (the heading names this machine)


def test_the_shipped_image_results_read_back() -> None:
    from eval.image_watermark import Results

    results = from_json(Results, json.loads((REPO / "eval" / "results" / "image_watermark.json").read_text()))
    assert set(results.robustness) == {"photo", "flat"} and results.speed is not None and results.null is not None
    assay = results.robustness["flat"]["assay"]
    assert assay.attacks["none"].tpr_at_1e_6 == 1.0 and assay.per_image and results.null.false_detections == 0
