"""Sound on the command line: ``audio mark|detect`` (the watermark alone, without signing)."""

from __future__ import annotations

from pathlib import Path

import click

from api.cli.common import (
    MAX_IMAGE_BYTES,
    check_output_suffix,
    echo_json,
    fail,
    keys_option,
    parse_record_id,
    read_bounded,
    settings_from,
    write_atomic,
)
from api.core.wording import counted
from watermark.errors import AssayError

__all__ = ["audio"]


@click.group()
def audio() -> None:
    """Watermark sound and detect audio watermarks (WAV, FLAC, MP3, M4A/AAC, Ogg/Opus)."""


@audio.command("mark")
@click.argument("source", type=click.Path(exists=True, dir_okay=False))
@click.argument("output", type=click.Path(dir_okay=False))
@keys_option
@click.option("--key", "key_id", help="Mark with this key id instead of the active key.")
@click.option("--record-id", help="48-bit record id in hex (default: random).")
@click.option(
    "--strength",
    type=click.FloatRange(0.005, 0.1),
    help="The mark's level under the sound's band RMS, an amplitude ratio (default 0.02: 34 dB under it).",
)
@click.option("--json", "as_json", is_flag=True, help="Print the result as JSON.")
def audio_mark(
    source: str,
    output: str,
    keys: str | None,
    key_id: str | None,
    record_id: str | None,
    strength: float | None,
    as_json: bool,
) -> None:
    """Watermark the sound SOURCE and write it to OUTPUT (same container and codec, tags kept)."""
    from api.core.text_service import TextService
    from provenance.media_types import sniff_media
    from watermark.audio import DEFAULT_STRENGTH, AudioWatermarker
    from watermark.audio.files import mark_audio

    try:
        settings = settings_from(keys)
        data = read_bounded(source, MAX_IMAGE_BYTES, "the input limit")
        mime = sniff_media(data)
        if mime is not None:
            check_output_suffix(Path(output), mime)
        marker = AudioWatermarker(TextService(settings).keyring, strength=strength or DEFAULT_STRENGTH)
        marked = mark_audio(
            data, marker, key_id=key_id, record_id=parse_record_id(record_id), max_seconds=settings.max_audio_seconds
        )
    except AssayError as exc:
        fail(exc)
    write_atomic(Path(output), marked.data)
    if as_json:
        echo_json(marked.to_dict() | {"output": output})
        return
    click.echo(
        f"wrote {output} ({marked.codec}, {marked.seconds:.1f} s, "
        f"strength {marked.strength:g}, SNR {marked.snr_db:.1f} dB)"
    )
    click.echo(f"key {marked.key_id}, record id {marked.payload.record_hex}")


@audio.command("detect")
@click.argument("source", type=click.Path(exists=True, dir_okay=False))
@keys_option
@click.option("--key", "key_id", help="Test only this key id.")
@click.option("--seconds", type=click.FloatRange(5.5, 3600), default=60.0, show_default=True, help="Seconds read.")
@click.option("--json", "as_json", is_flag=True, help="Print the result as JSON.")
def audio_detect(source: str, keys: str | None, key_id: str | None, seconds: float, as_json: bool) -> None:
    """Look for an Assay watermark in the first SECONDS of the sound SOURCE, and say where it is."""
    from api.core.text_service import TextService
    from detect.audio import audio_watermark_finding
    from watermark.audio import AudioWatermarkDetector
    from watermark.audio.files import detect_audio
    from watermark.keys import KeyRing

    try:
        ring = TextService(settings_from(keys)).keyring
        if key_id:
            ring = KeyRing([ring.get(key_id)])
        data = read_bounded(source, MAX_IMAGE_BYTES, "the input limit")
        found = detect_audio(data, AudioWatermarkDetector(ring), max_seconds=seconds)
    except AssayError as exc:
        fail(exc)
    if as_json:
        echo_json({"watermarks": [audio_watermark_finding(found, len(ring)).model_dump(mode="json")]})
        return
    if found.found:
        where = ", ".join(f"{s.start:.1f}–{s.end:.1f} s" for s in found.spans) or "throughout"
        record = (
            f"record {found.payload.record_hex}"
            if found.payload is not None
            else "record id unreadable (the mark's pilots found it; its payload is too weak to decode)"
        )
        click.echo(
            f"Assay watermark found: key {found.key_id}, {record}, "
            f"p <= {found.p_value:.2e} (decided at FPR {found.fpr:g}); marked: {where}"
        )
        if found.time_scale not in (None, 1.0) or found.frequency_scale not in (None, 1.0):
            click.echo(
                f"the sound plays {found.time_scale:g}× as fast and {found.frequency_scale:g}× as high as when marked"
            )
    elif found.reason == "too-short":
        click.echo(f"Too short to tell: {found.seconds:.1f} s (a mark needs 5.5 s).")
    else:
        click.echo(
            f"No Assay watermark in the first {found.seconds:.1f} s (the mark's pilots: p <= {found.p_value:.2g}, "
            f"decided at FPR {found.fpr:g}; {counted(found.decodes, 'decode')})."
        )
