"""The ``assay`` command line."""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

import click

from api.settings import Settings
from watermark.errors import AssayError, InvalidInput, PayloadTooLarge
from watermark.keys import load_keyring

__all__ = ["main"]


def _settings(keys: str | None, **overrides: Any) -> Settings:
    if keys is not None:
        overrides["keyring"] = Path(keys)
    return Settings(**{k: v for k, v in overrides.items() if v is not None})


def _fail(exc: AssayError) -> None:
    click.echo(f"error: {exc}", err=True)
    sys.exit(2 if exc.status < 500 else 1)


def _read_input(source: str, limit_chars: int) -> bytes:
    limit = 4 * limit_chars + 4  # UTF-8 needs at most 4 bytes a character
    if source == "-":
        data = sys.stdin.buffer.read(limit + 1)
    else:
        try:
            with open(source, "rb") as fh:
                data = fh.read(limit + 1)
        except OSError as exc:
            raise InvalidInput(f"cannot read {source}: {exc.strerror}") from None
    if len(data) > limit:
        raise PayloadTooLarge(f"input is larger than {limit} bytes (limit {limit_chars} characters)")
    return data


@click.group()
@click.version_option("0.1.0", prog_name="assay")
def main() -> None:
    """Assay: content provenance, watermarking and AI-content detection."""


@main.command()
@click.argument("prompt")
@click.option("--keys", type=click.Path(dir_okay=False), help="Key ring TOML (default: ASSAY_KEYRING or the data dir).")
@click.option("--max-new-tokens", default=200, show_default=True, type=click.IntRange(1, 4096))
@click.option("--temperature", default=1.0, show_default=True, type=click.FloatRange(0.0, 10.0))
@click.option("--top-p", default=1.0, show_default=True, type=click.FloatRange(0.0, 1.0, min_open=True))
@click.option("--seed", type=int, help="Seed for reproducible sampling.")
@click.option("--key", "key_id", help="Mark with this key id instead of the active key.")
@click.option("--no-watermark", is_flag=True, help="Generate without a watermark (a baseline).")
@click.option("--json", "as_json", is_flag=True, help="Print the result as JSON.")
def generate(
    prompt: str,
    keys: str | None,
    max_new_tokens: int,
    temperature: float,
    top_p: float,
    seed: int | None,
    key_id: str | None,
    no_watermark: bool,
    as_json: bool,
) -> None:
    """Generate watermarked text for PROMPT with the configured model."""
    from api.text_service import TextService

    try:
        svc = TextService(_settings(keys))
        gen = svc.generate(
            prompt,
            watermark=not no_watermark,
            key_id=key_id,
            max_new_tokens=max_new_tokens,
            temperature=temperature,
            top_p=top_p,
            seed=seed,
        )
    except AssayError as exc:
        _fail(exc)
        return
    if as_json:
        click.echo(json.dumps(gen.to_dict(), indent=2))
        return
    click.echo(gen.text)
    mark = gen.watermark
    note = f"[watermark: {mark['scheme']} key {mark['key_id']}]" if mark else "[no watermark]"
    click.echo(f"\n{note} {len(gen.token_ids)} tokens, finished by {gen.finish_reason}", err=True)


def _print_report(report: dict[str, Any]) -> None:
    click.echo(report["label"])
    for w in report["watermarks"]:
        click.echo(
            f"  key {w['key_id']} ({w['scheme']}): {w['verdict']}  p={w['p_value']:.3g}  "
            f"z={w['z_score']:.2f}  tokens={w['tokens_scored']}  green={w['green_fraction']:.2f}"
        )
        for s in w["spans"]:
            click.echo(f"    marked passage: characters {s['start']}-{s['end']}  p={s['p_value']:.3g}")
    if report["not_checked"]:
        click.echo(f"  not checked: {', '.join(report['not_checked'])}")


@main.command()
@click.argument("source", default="-")
@click.option("--keys", type=click.Path(dir_okay=False), help="Key ring TOML (default: ASSAY_KEYRING or the data dir).")
@click.option("--alpha", type=click.FloatRange(0.0, 1.0, min_open=True, max_open=True), help="False-positive rate.")
@click.option("--key", "key_id", help="Test only this key id (no correction for the others).")
@click.option("--json", "as_json", is_flag=True, help="Print the report as JSON.")
def detect(source: str, keys: str | None, alpha: float | None, key_id: str | None, as_json: bool) -> None:
    """Detect watermarks in the text of SOURCE (a file, or - for stdin)."""
    from api.text_service import TextService

    try:
        settings = _settings(keys, alpha=alpha)
        data = _read_input(source, settings.max_text_chars)
        report = TextService(settings).detect(data, key_id=key_id).to_dict()
    except AssayError as exc:
        _fail(exc)
        return
    if as_json:
        click.echo(json.dumps(report, indent=2))
    else:
        _print_report(report)


@main.group()
def keys() -> None:
    """Manage watermark key rings."""


@keys.command("init")
@click.argument("path", type=click.Path(dir_okay=False))
@click.option("--id", "key_id", default="default-1", show_default=True)
@click.option("--context-width", default=1, show_default=True, type=click.IntRange(1, 16))
def keys_init(path: str, key_id: str, context_width: int) -> None:
    """Write a new key ring with one random key to PATH (mode 0600; never overwrites)."""
    from api.text_service import write_new_keyring

    try:
        written = write_new_keyring(Path(path), key_id, context_width=context_width)
    except AssayError as exc:
        _fail(exc)
        return
    if not written:
        click.echo(f"error: {path} exists; not overwriting it", err=True)
        sys.exit(2)
    click.echo(f"wrote key ring {path} with key {key_id!r}")


@keys.command("list")
@click.option("--keys", "path", type=click.Path(dir_okay=False), help="Key ring TOML.")
@click.option("--json", "as_json", is_flag=True)
def keys_list(path: str | None, as_json: bool) -> None:
    """List key ids, schemes and parameters (never secrets)."""
    from api.text_service import TextService

    try:
        ring = load_keyring(path) if path else TextService(Settings()).keyring
    except AssayError as exc:
        _fail(exc)
        return
    rows = [
        {"key_id": k.key_id, "scheme": k.scheme, "active": k.key_id == ring.active.key_id, "parameters": dict(k.params)}
        for k in ring
    ]
    if as_json:
        click.echo(json.dumps(rows, indent=2))
        return
    for r in rows:
        click.echo(f"{'*' if r['active'] else ' '} {r['key_id']}  {r['scheme']}  {r['parameters']}")


@main.command()
@click.option("--host", help="Interface to bind (default 127.0.0.1).")
@click.option("--port", type=int, help="Port (default 8000).")
def serve(host: str | None, port: int | None) -> None:
    """Start the HTTP service."""
    import uvicorn

    from api.app import create_app

    settings = _settings(None, host=host, port=port)
    app = create_app(settings)
    click.echo(f"Assay listening on http://{settings.host}:{settings.port}  (data: {settings.data_dir})")
    uvicorn.run(app, host=settings.host, port=settings.port, log_level="info")
