"""MkDocs hooks: the figures and tables of ``eval/results/``, the report's JSON Schema and the
OpenAPI document join the site at build time, so the docs never hold a hand-made copy."""

from __future__ import annotations

import json
import tempfile
from pathlib import Path
from typing import Any

from mkdocs.structure.files import File, Files

REPO = Path(__file__).resolve().parents[1]


def _openapi() -> str:
    """The service's OpenAPI document, from an app over a throw-away data directory."""
    from api.core.settings import Settings
    from api.http.app import create_app

    with tempfile.TemporaryDirectory(prefix="assay-docs-") as data:
        app = create_app(Settings(data_dir=Path(data)))
        return json.dumps(app.openapi(), indent=2)


def on_files(files: Files, config: Any) -> Files:
    for path in sorted((REPO / "eval" / "results").iterdir()):
        if path.suffix in {".png", ".md"}:
            files.append(File.generated(config, f"results/{path.name}", abs_src_path=str(path)))
    schema = REPO / "detect" / "report.schema.json"
    files.append(File.generated(config, "reference/report.schema.json", abs_src_path=str(schema)))
    files.append(File.generated(config, "reference/openapi.json", content=_openapi()))
    return files
