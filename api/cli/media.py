"""Images and provenance on the command line: ``image mark|detect``, ``watermark``, ``sign``, ``verify``."""

from __future__ import annotations

from pathlib import Path

import click

from api.cli.common import (
    MAX_IMAGE_BYTES,
    check_output_suffix,
    echo_json,
    fail,
    keys_option,
    open_operations,
    parse_record_id,
    print_report,
    read_bounded,
    read_image_file,
    settings_from,
    write_atomic,
)
from api.core.runtime import cli_actor
from detect.content import Content
from provenance.manifest import ACTIONS, SOURCE_TYPES
from watermark.errors import AssayError
from watermark.image.codec import read_header

__all__ = ["image", "sign", "verify", "watermark"]


@click.group()
def image() -> None:
    """Watermark images and detect image watermarks."""


@image.command("mark")
@click.argument("source", type=click.Path(exists=True, dir_okay=False))
@click.argument("output", type=click.Path(dir_okay=False))
@keys_option
@click.option("--key", "key_id", help="Mark with this key id instead of the active key.")
@click.option("--record-id", help="48-bit record id in hex (default: random).")
@click.option("--json", "as_json", is_flag=True, help="Print the result as JSON.")
def image_mark(
    source: str, output: str, keys: str | None, key_id: str | None, record_id: str | None, as_json: bool
) -> None:
    """Watermark the image SOURCE and write it to OUTPUT (same format and mode)."""
    from api.core.text_service import TextService
    from watermark.image import ImageWatermarker, watermark_file

    try:
        rid = parse_record_id(record_id)
        ring = TextService(settings_from(keys)).keyring
        data = read_image_file(source)
        check_output_suffix(Path(output), read_header(data).output_mime_type)
        marked = watermark_file(data, ImageWatermarker(ring), record_id=rid, key_id=key_id)
    except AssayError as exc:
        fail(exc)
        return
    out = Path(output)
    write_atomic(out, marked.data)
    info = marked.to_dict() | {"output": str(out)}
    if as_json:
        echo_json(info)
    else:
        payload = marked.payload.to_dict()
        click.echo(f"wrote {out} ({marked.mime_type}, {marked.width}x{marked.height}, PSNR {marked.psnr:.1f} dB)")
        click.echo(f"key {marked.key_id}, record id {payload['record_id']}")


@image.command("detect")
@click.argument("source", type=click.Path(exists=True, dir_okay=False))
@keys_option
@click.option("--key", "key_id", help="Test only this key id.")
@click.option("--json", "as_json", is_flag=True, help="Print the result as JSON.")
def image_detect(source: str, keys: str | None, key_id: str | None, as_json: bool) -> None:
    """Look for Assay and public (Stable Diffusion / SDXL) watermarks in the image SOURCE."""
    from api.core.text_service import TextService
    from detect.image import image_watermark_finding, public_mark_finding
    from watermark.image import ImageWatermarkDetector, detect_public_marks, read_image

    try:
        raster = read_image(read_image_file(source), native=True)
        detector = ImageWatermarkDetector(TextService(settings_from(keys)).keyring)
        if key_id:
            detector = detector.restricted_to(key_id)
        found = detector.detect_pixels(raster.pixels, peak=raster.peak)
        public = detect_public_marks(raster.rgb8())
    except AssayError as exc:
        fail(exc)
        return
    if as_json:
        findings = [image_watermark_finding(found, len(detector.keyring))] + [public_mark_finding(p) for p in public]
        echo_json({"watermarks": [f.model_dump(mode="json") for f in findings]})
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


def _print_signed(info: dict[str, object], as_json: bool) -> None:
    if as_json:
        echo_json(info)
        return
    click.echo(f"wrote {info['output']}: manifest {info['manifest_id']} signed by {info['signer']}")
    mark = info.get("watermark")
    if isinstance(mark, dict):
        quality = f"PSNR {mark['psnr_db']} dB" if "psnr_db" in mark else f"SNR {mark['snr_db']} dB"
        click.echo(f"watermark: key {mark['key_id']}, record {mark['record_id']}, {quality}")
    if info.get("development_signer"):
        click.echo("note: the development signer is not publicly trusted; configure a real one to publish", err=True)


@click.command()
@click.argument("source", type=click.Path(exists=True, dir_okay=False))
@click.argument("output", type=click.Path(dir_okay=False))
@keys_option
@click.option("--title", help="Title in the manifest (default: the file name).")
@click.option("--key", "key_id", help="Mark with this key id instead of the active key.")
@click.option("--json", "as_json", is_flag=True, help="Print the result as JSON.")
def watermark(source: str, output: str, keys: str | None, title: str | None, key_id: str | None, as_json: bool) -> None:
    """Watermark the image, video or audio SOURCE, sign a C2PA manifest declaring AI origin bound
    to the watermark, store the manifest (so stripped credentials can be recovered) and write
    OUTPUT. A video keeps its container and codec (H.264, MPEG-4, VP8, VP9) and its audio; a sound
    (WAV, FLAC, MP3, M4A) its container and codec, a lossy one at its own bit rate and at least
    128 kbit/s."""
    from provenance.media_types import sniff_media

    try:
        data = read_image_file(source)
        media = sniff_media(data)
        mime = media if media is not None and media.startswith(("video/", "audio/")) else None
        mime = mime or read_header(data).output_mime_type
        check_output_suffix(Path(output), mime)  # before anything is signed or stored
        ops = open_operations(settings_from(keys))
        result = ops.watermark_and_sign(data, actor=cli_actor(), title=title or Path(source).name, key_id=key_id)
    except AssayError as exc:
        fail(exc)
    write_atomic(Path(output), result.data)
    _print_signed(result.to_dict() | {"output": output}, as_json)


@click.command()
@click.argument("source", type=click.Path(exists=True, dir_okay=False))
@click.argument("output", type=click.Path(dir_okay=False))
@click.option("--title", help="Title in the manifest (default: the file name).")
@click.option("--action", type=click.Choice(ACTIONS), default="c2pa.created", show_default=True)
@click.option("--source-type", type=click.Choice(SOURCE_TYPES), help="IPTC digital source type.")
@click.option("--agent", help="The software that made the asset (default: the configured generator name).")
@click.option("--json", "as_json", is_flag=True, help="Print the result as JSON.")
def sign(
    source: str, output: str, title: str | None, action: str, source_type: str | None, agent: str | None, as_json: bool
) -> None:
    """Sign SOURCE (an image, audio, video or PDF file, or a UTF-8 text) with a manifest describing
    how it was made; write OUTPUT and store the manifest. A text gets its manifest embedded as
    invisible characters at its end (C2PA A.8): copy it whole to keep its credentials."""
    try:
        data = read_image_file(source)
        what = Content.of_bytes(data)
        mime = what.mime or ("text/plain" if what.kind == "text" else read_header(data).mime_type)
        check_output_suffix(Path(output), mime)  # signing keeps the input's format
        result = open_operations(settings_from()).sign(
            data,
            actor=cli_actor(),
            title=title or Path(source).name,
            action=action,
            digital_source_type=source_type,
            software_agent=agent,
        )
    except AssayError as exc:
        fail(exc)
    write_atomic(Path(output), result.data)
    _print_signed(result.to_dict() | {"output": output}, as_json)


@click.command()
@click.argument("source", default="-")
@keys_option
@click.option("--text", "force_text", is_flag=True, help="Treat SOURCE as text even if it decodes as an image.")
@click.option("--json", "as_json", is_flag=True, help="Print the report as JSON.")
def verify(source: str, keys: str | None, force_text: bool, as_json: bool) -> None:
    """The full report for SOURCE (an image, audio, video or PDF file, or a text; - for stdin):
    C2PA manifest and trust, watermarks, recovered credentials, AI-likelihood, labels and the
    labelling rules."""
    try:
        settings = settings_from(keys)
        data = read_bounded(source, max(MAX_IMAGE_BYTES, 4 * settings.max_text_chars + 4), "the input limit")
        report = open_operations(settings).verify(data, actor=cli_actor(), as_text=force_text)
    except AssayError as exc:
        fail(exc)
    if as_json:
        echo_json(report.to_json())
    else:
        print_report(report)
