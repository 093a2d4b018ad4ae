"""The ``assay`` command line: the same capabilities and report types as the HTTP API."""

from __future__ import annotations

import click

from api.cli.admin import audit, keys, serve
from api.cli.media import image, sign, verify, watermark
from api.cli.scan import scan
from api.cli.text import detect, generate

__all__ = ["main"]


@click.group()
@click.version_option("0.1.0", prog_name="assay")
def main() -> None:
    """Assay: content provenance, watermarking and AI-content detection."""


for command in (generate, detect, watermark, sign, verify, image, keys, audit, scan, serve):
    main.add_command(command)
