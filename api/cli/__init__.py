"""The ``assay`` command line: the same capabilities and report types as the HTTP API."""

from __future__ import annotations

import click

from api.cli.admin import audit, keys, serve
from api.cli.audio import audio
from api.cli.labels import comply, label, trust
from api.cli.media import image, sign, verify, watermark
from api.cli.scan import scan
from api.cli.text import detect, generate

__all__ = ["main"]


class _Assay(click.Group):
    """Turns a database that cannot be reached into one line and exit 1 (never a traceback)."""

    def invoke(self, ctx: click.Context) -> object:
        import sqlalchemy as sa

        try:
            return super().invoke(ctx)
        except (sa.exc.OperationalError, sa.exc.InterfaceError) as exc:
            from api.core.error_kinds import is_store_down

            if not is_store_down(exc):
                raise
            click.echo(
                f"error: the store cannot be reached ({exc.__class__.__name__}); check ASSAY_STORE_URL", err=True
            )
            raise SystemExit(1) from None


@click.group(cls=_Assay)
@click.version_option("0.1.0", prog_name="assay")
def main() -> None:
    """Assay: content provenance, watermarking and AI-content detection."""


for command in (
    generate,
    detect,
    watermark,
    sign,
    verify,
    label,
    comply,
    image,
    audio,
    keys,
    audit,
    scan,
    trust,
    serve,
):
    main.add_command(command)
