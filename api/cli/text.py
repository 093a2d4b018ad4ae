"""``assay generate`` and ``assay detect`` (text)."""

from __future__ import annotations

from pathlib import Path

import click

from api.cli.common import echo_json, fail, keys_option, open_operations, print_report, read_text_input, settings_from
from api.core.runtime import cli_actor
from detect.content import Content
from watermark.errors import AssayError

__all__ = ["detect", "generate"]


@click.command()
@click.argument("prompt")
@keys_option
@click.option("--max-new-tokens", default=200, show_default=True, type=click.IntRange(1, 4096))
@click.option("--temperature", default=1.0, show_default=True, type=click.FloatRange(0.0, 10.0))
@click.option("--top-p", default=1.0, show_default=True, type=click.FloatRange(0.0, 1.0, min_open=True))
@click.option("--seed", type=int, help="Seed for reproducible sampling.")
@click.option("--key", "key_id", help="Mark with this key id instead of the active key.")
@click.option("--no-watermark", is_flag=True, help="Generate without a watermark (a baseline).")
@click.option(
    "--credentials",
    is_flag=True,
    help="Embed signed C2PA credentials declaring AI origin (invisible characters at the end of the text), "
    "bound to the watermark and recorded, so an edited copy that lost them can be traced back.",
)
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
    credentials: bool,
    as_json: bool,
) -> None:
    """Generate watermarked text for PROMPT with the configured model."""
    try:
        ops = open_operations(settings_from(keys))
        out = ops.generate(
            prompt,
            actor=cli_actor(),
            watermark=not no_watermark,
            key_id=key_id,
            max_new_tokens=max_new_tokens,
            temperature=temperature,
            top_p=top_p,
            seed=seed,
            credentials=credentials,
        )
    except AssayError as exc:
        fail(exc)
    gen = out.generation
    manifest_id = out.credentials.signed.label if out.credentials is not None else None
    if as_json:
        echo_json(gen.to_dict() | {"text": out.text, "record_id": out.record_id, "manifest_id": manifest_id})
        return
    click.echo(out.text)
    mark = gen.watermark
    note = f"[watermark: {mark['scheme']} key {mark['key_id']}]" if mark else "[no watermark]"
    if out.credentials is not None:
        note += f" [credentials: {out.credentials.signed.label}, signed by {out.credentials.manifest.signer}]"
    click.echo(f"\n{note} {len(gen.token_ids)} tokens, finished by {gen.finish_reason}", err=True)
    if out.credentials is not None:
        click.echo("(the credentials are invisible characters at its end: copy the text whole to keep them)", err=True)


class _DefaultToText(click.Group):
    """``assay detect SOURCE`` scores a text; ``assay detect train ...`` is a subcommand."""

    def parse_args(self, ctx: click.Context, args: list[str]) -> list[str]:
        if not args or args[0] not in self.commands:
            args = ["text", *args]
        return super().parse_args(ctx, args)


@click.group(cls=_DefaultToText)
def detect() -> None:
    """Detect watermarks and AI-likelihood in a text (``assay detect SOURCE``), or retrain."""


@detect.command("text")
@click.argument("source", default="-")
@keys_option
@click.option("--alpha", type=click.FloatRange(0.0, 1.0, min_open=True, max_open=True), help="False-positive rate.")
@click.option("--key", "key_id", help="Test only this key id (no correction for the others).")
@click.option("--no-ai-likelihood", is_flag=True, help="Only look for watermarks (no model forward pass).")
@click.option("--json", "as_json", is_flag=True, help="Print the report as JSON.")
def detect_text(
    source: str, keys: str | None, alpha: float | None, key_id: str | None, no_ai_likelihood: bool, as_json: bool
) -> None:
    """Detect watermarks and AI-likelihood in the text of SOURCE (a file, or - for stdin)."""
    try:
        settings = settings_from(keys, alpha=alpha, ai_likelihood=False if no_ai_likelihood else None)
        text = Content.of_bytes(read_text_input(source, settings.max_text_chars), as_text=True).text or ""
        report = open_operations(settings).detect_text(text, actor=cli_actor(), key_id=key_id)
    except AssayError as exc:
        fail(exc)
    if as_json:
        echo_json(report.to_json())
    else:
        print_report(report)


@detect.command("train")
@click.argument("data", type=click.Path(exists=True, dir_okay=False))
@click.option("--out", type=click.Path(file_okay=False), help="Output directory (default: the data dir's detector/).")
@click.option("--no-embeddings", is_flag=True, help="Zero-shot features only (no sentence embeddings).")
@click.option("--single-model", is_flag=True, help="The embedded model's statistic alone (without the second model).")
def detect_train(data: str, out: str | None, no_embeddings: bool, single_model: bool) -> None:
    """Retrain the human reference and classifier on DATA (JSONL rows {"text", "label": 0|1}).

    Half of the rows (by a hash of the text) are used; the other half is left for evaluation.
    With the second model (the default) a quarter of the human rows make the reference and the
    rest fit the two-model statistic. The service and ``assay detect`` use the result from the
    data directory's ``detector/``.
    """
    from api.core.text_service import TextService
    from detect.defaults import SINGLE_REFERENCE
    from detect.embeddings import SentenceEmbedder
    from detect.training import read_labelled_jsonl, train

    try:
        settings = settings_from()
        rows = read_labelled_jsonl(Path(data))
        service = TextService(settings)
        single_model = single_model or not settings.ai_second_model
        models = "the embedded model" if single_model else "both offline models"
        click.echo(f"{len(rows)} labelled texts; scoring the calibration half with {models} ...", err=True)
        lm = service.scoring_model()  # the precision detection will score with
        second = None if single_model else service.second_model()
        trained = train(lm, rows, embedder=None if no_embeddings else SentenceEmbedder(), second=second)
    except AssayError as exc:
        fail(exc)
    reference, model, meta = trained.reference, trained.classifier, trained.meta
    target = Path(out) if out else settings.detector_path
    target.mkdir(parents=True, exist_ok=True)
    files = [("human_reference.json", reference.to_json()), ("classifier.json", model.to_json(**meta))]
    if reference.combination is not None:  # the two-model detector's screen (first stage)
        files.append((SINGLE_REFERENCE, trained.single_reference.to_json()))
    for name, text in files:
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
