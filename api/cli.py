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


def _read_bounded(source: str, limit: int, what: str) -> bytes:
    """Read at most ``limit`` bytes of a file (or stdin for ``-``); larger input is refused."""
    if source == "-":
        data = sys.stdin.buffer.read(limit + 1)
    else:
        try:
            with open(source, "rb") as fh:
                data = fh.read(limit + 1)
        except OSError as exc:
            raise InvalidInput(f"cannot read {source}: {exc.strerror}") from None
    if len(data) > limit:
        raise PayloadTooLarge(f"input is larger than {limit} bytes ({what})")
    return data


def _read_input(source: str, limit_chars: int) -> bytes:
    # UTF-8 needs at most 4 bytes a character
    return _read_bounded(source, 4 * limit_chars + 4, f"limit {limit_chars} characters")


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
    ai = report.get("ai_likelihood")
    if ai:
        click.echo(f"  AI-likelihood: {ai['verdict']} - {ai['meaning']}")
        if ai.get("classifier_probability") is not None:
            click.echo(f"  classifier (corroborating): {ai['classifier_probability']:.0%} machine-written")
    if report["not_checked"]:
        click.echo(f"  not checked: {', '.join(report['not_checked'])}")


class _DefaultToText(click.Group):
    """``assay detect SOURCE`` scores a text; ``assay detect train ...`` is a subcommand."""

    def parse_args(self, ctx: click.Context, args: list[str]) -> list[str]:
        if not args or args[0] not in self.commands:
            args = ["text", *args]
        return super().parse_args(ctx, args)


@main.group(cls=_DefaultToText)
def detect() -> None:
    """Detect watermarks and AI-likelihood in a text (``assay detect SOURCE``), or retrain."""


@detect.command("text")
@click.argument("source", default="-")
@click.option("--keys", type=click.Path(dir_okay=False), help="Key ring TOML (default: ASSAY_KEYRING or the data dir).")
@click.option("--alpha", type=click.FloatRange(0.0, 1.0, min_open=True, max_open=True), help="False-positive rate.")
@click.option("--key", "key_id", help="Test only this key id (no correction for the others).")
@click.option("--no-ai-likelihood", is_flag=True, help="Only look for watermarks (no model forward pass).")
@click.option("--json", "as_json", is_flag=True, help="Print the report as JSON.")
def detect_text(
    source: str, keys: str | None, alpha: float | None, key_id: str | None, no_ai_likelihood: bool, as_json: bool
) -> None:
    """Detect watermarks and AI-likelihood in the text of SOURCE (a file, or - for stdin)."""
    from api.text_service import TextService

    try:
        settings = _settings(keys, alpha=alpha, ai_likelihood=False if no_ai_likelihood else None)
        data = _read_input(source, settings.max_text_chars)
        report = TextService(settings).detect(data, key_id=key_id).to_dict()
    except AssayError as exc:
        _fail(exc)
        return
    if as_json:
        click.echo(json.dumps(report, indent=2))
    else:
        _print_report(report)


@detect.command("train")
@click.argument("data", type=click.Path(exists=True, dir_okay=False))
@click.option("--out", type=click.Path(file_okay=False), help="Output directory (default: the data dir's detector/).")
@click.option("--no-embeddings", is_flag=True, help="Zero-shot features only (no sentence embeddings).")
def detect_train(data: str, out: str | None, no_embeddings: bool) -> None:
    """Retrain the human reference and classifier on DATA (JSONL rows {"text", "label": 0|1}).

    Half of the rows (by a hash of the text) are used; the other half is left for evaluation.
    The service and ``assay detect`` use the result from the data directory's ``detector/``.
    """
    from api.text_service import TextService
    from detect.embeddings import SentenceEmbedder
    from detect.training import read_labelled_jsonl, train

    try:
        settings = _settings(None)
        rows = read_labelled_jsonl(Path(data))
        click.echo(f"{len(rows)} labelled texts; scoring the calibration half with the embedded model ...", err=True)
        lm = TextService(settings).model()
        reference, model, meta = train(lm, rows, embedder=None if no_embeddings else SentenceEmbedder())
    except AssayError as exc:
        _fail(exc)
        return
    target = Path(out) if out else settings.detector_path
    target.mkdir(parents=True, exist_ok=True)
    for name, text in (("human_reference.json", reference.to_json()), ("classifier.json", model.to_json(**meta))):
        tmp = target / f".{name}.part"
        tmp.write_text(text)
        tmp.replace(target / name)  # never a half-written model
    sizes = {b: len(v) for b, v in reference.scores.items()}
    click.echo(f"wrote {target}: reference per length bucket {sizes}; classifier on {meta['trained_on']}")
    small = [b for b, n in sizes.items() if n < reference.min_size]
    if small:
        click.echo(
            f"warning: length buckets {small} have fewer than {reference.min_size} human texts and will not decide",
            err=True,
        )


_MAX_IMAGE_BYTES = 64 * 1024 * 1024


def _read_image_file(path: str) -> bytes:
    return _read_bounded(path, _MAX_IMAGE_BYTES, "the image limit")


@main.group()
def image() -> None:
    """Watermark images and detect image watermarks."""


@image.command("mark")
@click.argument("source", type=click.Path(exists=True, dir_okay=False))
@click.argument("output", type=click.Path(dir_okay=False))
@click.option("--keys", type=click.Path(dir_okay=False), help="Key ring TOML (default: ASSAY_KEYRING or the data dir).")
@click.option("--key", "key_id", help="Mark with this key id instead of the active key.")
@click.option("--record-id", help="48-bit record id in hex (default: random).")
@click.option("--json", "as_json", is_flag=True, help="Print the result as JSON.")
def image_mark(
    source: str, output: str, keys: str | None, key_id: str | None, record_id: str | None, as_json: bool
) -> None:
    """Watermark the image SOURCE and write it to OUTPUT (same format and mode)."""
    from api.text_service import TextService
    from watermark.image import ImageWatermarker, watermark_file

    try:
        rid = None
        if record_id is not None:
            try:
                rid = int(record_id, 16)
            except ValueError:
                raise InvalidInput(f"--record-id must be hexadecimal, got {record_id!r}") from None
        ring = TextService(_settings(keys)).keyring
        marked = watermark_file(_read_image_file(source), ImageWatermarker(ring), record_id=rid, key_id=key_id)
    except AssayError as exc:
        _fail(exc)
        return
    out = Path(output)
    tmp = out.with_name(f".{out.name}.part")
    tmp.write_bytes(marked.data)
    tmp.replace(out)  # never a half-written output
    info = marked.to_dict() | {"output": str(out)}
    if as_json:
        click.echo(json.dumps(info, indent=2))
    else:
        payload = marked.payload.to_dict()
        click.echo(f"wrote {out} ({marked.mime_type}, {marked.width}x{marked.height}, PSNR {marked.psnr:.1f} dB)")
        click.echo(f"key {marked.key_id}, record id {payload['record_id']}")


@image.command("detect")
@click.argument("source", type=click.Path(exists=True, dir_okay=False))
@click.option("--keys", type=click.Path(dir_okay=False), help="Key ring TOML (default: ASSAY_KEYRING or the data dir).")
@click.option("--key", "key_id", help="Test only this key id.")
@click.option("--json", "as_json", is_flag=True, help="Print the result as JSON.")
def image_detect(source: str, keys: str | None, key_id: str | None, as_json: bool) -> None:
    """Look for Assay and public (Stable Diffusion / SDXL) watermarks in the image SOURCE."""
    from api.text_service import TextService
    from watermark.image import ImageWatermarkDetector, detect_public_marks, read_image

    try:
        raster = read_image(_read_image_file(source))
        detector = ImageWatermarkDetector(TextService(_settings(keys)).keyring)
        if key_id:
            detector = detector.restricted_to(key_id)
        found = detector.detect_pixels(raster.pixels, peak=raster.peak)
        public = detect_public_marks(raster.rgb8())
    except AssayError as exc:
        _fail(exc)
        return
    report = {"assay": found.to_dict(), "public_marks": [p.to_dict() for p in public]}
    if as_json:
        click.echo(json.dumps(report, indent=2))
        return
    if found.found and found.payload is not None:
        click.echo(
            f"Assay watermark found: key {found.key_id}, record {found.payload.record_hex}, "
            f"p <= {found.p_value:.2e} (decided at FPR {found.fpr:g})"
        )
    else:
        click.echo(f"No Assay watermark ({found.reason or 'not detected'}; {found.decodes} decodes).")
    for p in public:
        if p.found:
            click.echo(
                f"Carries the {p.generator} watermark ({p.matched_bits}/{p.total_bits} bits, p ~ {p.p_value:.1e})."
            )


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
