"""What every command shares: settings from options, bounded input, atomic output, error exits."""

from __future__ import annotations

import json
import sys
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any, NoReturn

import click

from api.core.bounded_input import read_bounded
from api.core.settings import Settings
from detect.report import Report
from watermark.errors import AssayError, InvalidInput

if TYPE_CHECKING:
    from api.core.operations import Operations

__all__ = [
    "MAX_IMAGE_BYTES",
    "check_output_suffix",
    "echo_json",
    "fail",
    "keys_option",
    "open_operations",
    "open_runtime",
    "out_suffix",
    "print_report",
    "read_bounded",
    "read_image_file",
    "read_text_input",
    "settings_from",
    "write_atomic",
]

MAX_IMAGE_BYTES = 64 * 1024 * 1024

keys_option = click.option(
    "--keys", type=click.Path(dir_okay=False), help="Key ring TOML (default: ASSAY_KEYRING or the data dir)."
)


def settings_from(keys: str | None = None, **overrides: Any) -> Settings:
    """Settings from the environment and config file, with the options given on the command line."""
    if keys is not None:
        overrides["keyring"] = Path(keys)
    try:
        return Settings(**{k: v for k, v in overrides.items() if v is not None})
    except ValueError as exc:
        click.echo(f"error: invalid settings: {exc}", err=True)
        sys.exit(2)


def open_runtime(settings: Settings) -> Any:
    """The runtime (database, services) for a command that signs, generates or verifies."""
    from api.core.runtime import Runtime

    return Runtime.open(settings)


def open_operations(settings: Settings) -> Operations:
    """The operations (each audited once) over a runtime opened with ``settings``."""
    from api.core.operations import Operations

    return Operations(open_runtime(settings))


def fail(exc: AssayError) -> NoReturn:
    """Print an error and exit: 2 for bad input, 1 for a failure of Assay or its configuration."""
    from api.core.error_kinds import is_client_error

    click.echo(f"error: {exc}", err=True)
    sys.exit(2 if is_client_error(exc) else 1)


def print_report(report: Report) -> None:
    """A report for a person: the headline first, then the detail lines and any disagreement."""
    click.echo(report.label)
    for line in report.details:
        click.echo(f"  {line}")
    for d in report.disagreements:
        click.echo(f"  Signals disagree: {d}")


def echo_json(obj: Any) -> None:
    """Print a JSON document (the one serialisation of a typed result)."""
    click.echo(json.dumps(obj, indent=2, ensure_ascii=False))


def read_text_input(source: str, limit_chars: int) -> bytes:
    """A text file's bytes (UTF-8 needs at most 4 bytes a character)."""
    return read_bounded(source, 4 * limit_chars + 4, f"limit {limit_chars} characters")


def parse_record_id(given: str | None) -> int | None:
    """``--record-id`` as an integer (None: not given).

    Raises:
        InvalidInput: not hexadecimal.
    """
    if given is None:
        return None
    try:
        return int(given, 16)
    except ValueError:
        raise InvalidInput(f"--record-id must be hexadecimal, got {given!r}") from None


def read_image_file(path: str) -> bytes:
    """An image file's bytes, up to the CLI's image size limit."""
    return read_bounded(path, MAX_IMAGE_BYTES, "the image limit")


def check_output_suffix(path: Path, mime: str) -> None:
    """Refuse an output name whose suffix promises another format than the bytes it would hold.

    Raises:
        InvalidInput: e.g. ``out.jpg`` for a PNG.
    """
    from provenance.media_types import SUFFIXES as MEDIA_SUFFIXES
    from watermark.image.codec import SUFFIXES

    allowed = SUFFIXES.get(mime, ()) or MEDIA_SUFFIXES.get(mime, ())
    if allowed and path.suffix.lower() not in allowed:
        kind = mime.split("/")[-1].upper()
        raise InvalidInput(
            f"the output is {kind} (the input's format): name it {path.stem}{allowed[0]}, not {path.name}"
        )


def out_suffix(
    formats: dict[str, str], advice: str = ""
) -> Callable[[click.Context, click.Parameter, str | None], str | None]:
    """A click callback that refuses an ``--out`` whose suffix names a format this command does not
    write (exit 2, before any work), so a report is never written under a misleading name.

    Args:
        formats: suffix (lower case, with its dot) -> the format written for it.
        advice: a sentence for people who meant another output.
    """

    def check(ctx: click.Context, param: click.Parameter, value: str | None) -> str | None:
        if value is not None and Path(value).suffix.lower() not in formats:
            first: dict[str, str] = {}  # each format by its first suffix (.html, not .htm too)
            for suffix, fmt in formats.items():
                first.setdefault(fmt, suffix)
            names = list(first.values())
            listed = ", ".join(names[:-1]) + f" or {names[-1]}" if len(names) > 1 else names[0]
            raise click.BadParameter(
                f"{Path(value).name!r}: this command writes {listed} files{'; ' + advice if advice else ''}"
            )
        return value

    return check


def write_atomic(path: Path, data: bytes) -> None:
    """Write ``data`` to ``path`` through a temporary file: never a half-written output."""
    tmp = path.with_name(f".{path.name}.part")
    tmp.write_bytes(data)
    tmp.replace(path)
