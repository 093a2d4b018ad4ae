"""The application's operations, each written once: validate, run, write exactly one audit row.

HTTP routes, CLI commands and batch scans are thin adapters around :class:`Operations`: they
parse input and render output, and never check content or audit by themselves. Every row has
one shape: ``actor``, ``action``, ``subject_sha256`` (the SHA-256 of the content; for a text, of
its UTF-8 bytes; for a prompt, see :func:`prompt_bytes`), ``key_id``, ``result`` (a verdict,
``signed``, ``watermarked``/``unmarked``, or ``error:<problem>``) and a small ``detail``.
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, TypeVar

from api.core.audit import AuditEntry
from api.core.error_kinds import kind_of
from api.core.labelling import Labelled, LabelRequest, apply_label
from api.core.media_service import SignedResult
from api.core.runtime import Runtime
from detect.content import Content
from detect.inspect import inspect
from detect.report import Report
from provenance.text_binding import CredentialedText
from watermark.errors import AssayError, InvalidInput
from watermark.text import Generation
from watermark.text.generate import Prompt

__all__ = ["Content", "Generated", "Operations", "prompt_bytes", "subject_bytes"]

T = TypeVar("T")
AuditDetail = dict[str, str | int]  # the audit row's small detail object: ids, a label, counts
Describe = Callable[[T], tuple[str, str | None, AuditDetail]]


@dataclass(frozen=True)
class Generated:
    """A generated text and the id of its audit record (and, with credentials, the text with its
    embedded manifest and the manifest's id)."""

    generation: Generation
    record_id: str
    credentials: CredentialedText | None = None

    @property
    def text(self) -> str:
        """The text to hand out: with its embedded credentials when it has them."""
        return self.credentials.text if self.credentials is not None else self.generation.text


def subject_bytes(content: str | bytes) -> bytes:
    """The bytes an audit row hashes: a text's UTF-8 (surrogates kept, so invalid text hashes too)."""
    return content.encode("utf-8", "surrogatepass") if isinstance(content, str) else content


def prompt_bytes(prompt: Prompt) -> bytes:
    """The bytes a prompt's audit row hashes: a string's UTF-8, or chat messages as canonical JSON."""
    if isinstance(prompt, str):
        return subject_bytes(prompt)
    text = json.dumps(list(prompt), sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    return subject_bytes(text)


def _report_row(context: AuditDetail) -> Describe[Report]:
    def describe(report: Report) -> tuple[str, str | None, AuditDetail]:
        detail = {"label": report.label, "content_type": report.content_type} | context
        return report.verdict, report.marked_key, detail

    return describe


def _signed_row(result: SignedResult) -> tuple[str, str | None, AuditDetail]:
    detail: AuditDetail = {"manifest_id": result.record.manifest_id, "signer": result.record.signer}
    key = None
    if result.marked is not None:
        key = result.marked.key_id
        detail["record_id"] = result.marked.payload.record_hex
    return "signed", key, detail


class Operations:
    """Verify, detect text, generate, watermark+sign and sign, for one runtime."""

    def __init__(self, rt: Runtime) -> None:
        self.rt = rt

    def _run(
        self,
        action: str,
        actor: str,
        subject: bytes,
        work: Callable[[], T],
        describe: Describe[T],
        on_row: Callable[[AuditEntry], None] | None = None,
    ) -> T:
        """Run ``work`` and write one audit row, whether it succeeds or fails with an AssayError
        (``on_row`` gets the row written for a success)."""
        try:
            out = work()
        except AssayError as exc:
            self.rt.record(actor=actor, action=action, result=f"error:{kind_of(exc).slug}", subject=subject)
            raise
        result, key_id, detail = describe(out)
        row = self.rt.record(actor=actor, action=action, result=result, subject=subject, key_id=key_id, detail=detail)
        if on_row is not None:
            on_row(row)
        return out

    def verify(
        self,
        content: str | bytes,
        *,
        actor: str,
        declared_type: str | None = None,
        as_text: bool = False,
        context: AuditDetail | None = None,
        on_row: Callable[[AuditEntry], None] | None = None,
    ) -> Report:
        """The one report for a text (``str``) or a file's bytes, classified here (see
        :meth:`Content.of_bytes`); ``context`` goes into the audit row's detail, ``on_row`` gets the
        row (its leaf in the audit log's Merkle tree is ``seq - 1``).

        Raises:
            InvalidInput, UnsupportedMedia, PayloadTooLarge: content that cannot be checked.
        """

        def work() -> Report:
            if isinstance(content, str):
                what = Content.of_text(content)
            else:
                what = Content.of_bytes(content, declared_type=declared_type, as_text=as_text)
            return inspect(what, self.rt.checks())

        return self._run("verify", actor, subject_bytes(content), work, _report_row(context or {}), on_row)

    def detect_text(self, text: str, *, actor: str, key_id: str | None = None) -> Report:
        """The report for a text, under every key or only ``key_id``.

        Raises:
            InvalidInput, PayloadTooLarge: an empty, too long or invalid text.
            UnknownKey: ``key_id`` is not in the key ring.
        """

        def work() -> Report:
            return inspect(Content.of_text(text), self.rt.checks(), key_id=key_id)

        return self._run("text.detect", actor, subject_bytes(text), work, _report_row({}))

    def generate(
        self,
        prompt: Prompt,
        *,
        actor: str,
        watermark: bool = True,
        key_id: str | None = None,
        max_new_tokens: int = 200,
        streamer: Any = None,
        credentials: bool = False,
        **sampling: Any,
    ) -> Generated:
        """Generate one text through the shared batching worker, watermarked unless ``watermark`` is False.

        With ``credentials``, the text gets an embedded signed manifest declaring AI origin,
        soft-bound to its watermark, and the generation is recorded for recovery.

        Raises:
            InvalidInput: an empty prompt, more new tokens than the configured limit, or
                credentials without the watermark.
            SignatureInvalid: signing the credentials failed.
            UnknownKey: ``key_id`` is not in the key ring.
            Overloaded: no generation slot within half the request timeout.
        """
        record_id = f"urn:uuid:{uuid.uuid4()}"
        limit = self.rt.settings.max_new_tokens

        def work() -> Generated:
            if max_new_tokens > limit:
                raise InvalidInput(f"max_new_tokens is limited to {limit}")
            if key_id is not None:
                self.rt.text.keyring.get(key_id)
            if credentials and not watermark:
                raise InvalidInput("credentials are bound to the watermark: generate with the watermark on")
            gen = self.rt.batcher.generate(
                prompt,
                queue_timeout=self.rt.settings.request_timeout_s / 2,
                watermark=watermark,
                key_id=key_id,
                max_new_tokens=max_new_tokens,
                streamer=streamer,
                **sampling,
            )
            signed = self.rt.texts.sign_generation(gen, record_id) if credentials else None
            return Generated(gen, record_id, signed)

        def describe(out: Generated) -> tuple[str, str | None, AuditDetail]:
            mark = out.generation.watermark
            key = str(mark["key_id"]) if mark else None
            detail: AuditDetail = {
                "record_id": record_id,
                "tokens": len(out.generation.token_ids),
                # lets an audit tie a text found later to this row
                "output_sha256": Content.of_text(out.text).sha256,
            }
            if out.credentials is not None:
                detail["manifest_id"] = out.credentials.signed.label
            return ("watermarked" if key else "unmarked"), key, detail

        return self._run("text.generate", actor, prompt_bytes(prompt), work, describe)

    def watermark_and_sign(self, data: bytes, *, actor: str, title: str, key_id: str | None = None) -> SignedResult:
        """Watermark an image, sign a manifest declaring AI origin soft-bound to the mark, store it.

        Raises:
            InvalidInput, UnsupportedMedia, PayloadTooLarge: an unreadable, unsupported or too large image.
            UnknownKey: ``key_id`` is not in the key ring.
            SignatureInvalid: signing failed.
        """
        work = lambda: self.rt.media.watermark_and_sign(data, title=_title(title), key_id=key_id)  # noqa: E731
        return self._run("image.watermark", actor, data, work, _signed_row)

    def sign(
        self,
        data: bytes,
        *,
        actor: str,
        title: str,
        action: str = "c2pa.created",
        digital_source_type: str | None = None,
        software_agent: str | None = None,
        declared_type: str | None = None,
    ) -> SignedResult:
        """Sign a file (image, audio, video, PDF) or a UTF-8 text with a manifest describing how it
        was made, and store the manifest. A text gets the manifest embedded in it (C2PA A.8).

        Raises:
            InvalidInput, UnsupportedMedia, PayloadTooLarge: see :meth:`watermark_and_sign`;
                also an unknown action or source type, or a text that already carries credentials.
            SignatureInvalid: signing failed.
        """

        def work() -> SignedResult:
            what = Content.of_bytes(data, declared_type=declared_type)
            if what.text is not None:
                signed = self.rt.texts.sign(
                    what.text,
                    title=_title(title),
                    action=action,
                    digital_source_type=digital_source_type,
                    software_agent=software_agent,
                )
                return SignedResult(signed.text.encode("utf-8"), "text/plain", signed.record)
            return self.rt.media.sign(
                data,
                title=_title(title),
                action=action,
                digital_source_type=digital_source_type,
                software_agent=software_agent,
            )

        return self._run("provenance.sign", actor, data, work, _signed_row)

    def label(self, data: bytes, request: LabelRequest, *, actor: str, declared_type: str | None = None) -> Labelled:
        """Add or update a file's labels (see :mod:`api.core.labelling`).

        Raises:
            InvalidInput, UnsupportedMedia, PayloadTooLarge: a file or label that cannot be written,
                or credentials the label would break (without ``resign``).
            SignatureInvalid: re-signing failed.
        """

        def work() -> Labelled:
            return apply_label(data, request, self.rt.media, declared_type=declared_type)

        def describe(out: Labelled) -> tuple[str, str | None, AuditDetail]:
            detail: AuditDetail = {"carrier": out.carrier, "label": out.label.label, "mime_type": out.mime}
            detail["output_sha256"] = Content.of_bytes(out.data, declared_type=out.mime).sha256
            if out.label.content_propagator:
                detail["propagate_id"] = out.label.propagate_id[:200]
            if out.manifest_id is not None:
                detail["manifest_id"] = out.manifest_id
            return "labelled", None, detail

        return self._run("provenance.label", actor, data, work, describe)


def _title(title: str) -> str:
    if not title.strip() or len(title) > 500:
        raise InvalidInput("a title must have 1 to 500 characters")
    return title
