"""From findings to one report: ranked evidence, the verdict, the headline and the detail lines.

Used for texts and images alike. Evidence is ranked, strongest first: a watermark (exact
p-value), a signed C2PA manifest (or one recovered through the watermark), unsigned metadata
markers (weak), then the statistical AI-likelihood. The first strong level decides the verdict;
the others annotate. A manifest that fails validation is never evidence of origin: the report
is ``tampered`` and the headline leads with it. ``too-small`` / ``too-short`` / abstentions read
as "not decided", never as "no watermark".
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from typing import Literal

from .labels import CODE_NOUNS, HARD_BINDING_FAILURES, fmt_p
from .report import (
    AiLikelihoodFinding,
    Evidence,
    ManifestFinding,
    Marker,
    RecoveredFinding,
    Report,
    Signal,
    Verdict,
    WatermarkFinding,
)

__all__ = ["assemble", "sha256_hex"]

_NO_EVIDENCE = "No watermark or AI declaration found (this does not show a human made it)"
# a likeness by content code, in words, per kind of code
_LIKENESS = {"image": "Looks like a picture", "audio": "Sounds like a recording", "video": "Looks like a video"}


def sha256_hex(data: bytes) -> str:
    """The SHA-256 of content, as the report and the audit log give it."""
    return hashlib.sha256(data).hexdigest()


def _mark_name(w: WatermarkFinding) -> str:
    return f"{w.generator} watermark" if w.kind == "public" else "Assay watermark"


def _signer(m: ManifestFinding) -> str:
    name = (m.signer.name if m.signer else None) or "an unknown signer"
    return f"{name} (a development signer)" if m.development_signer else name


def _trust_words(m: ManifestFinding) -> str:
    """Who vouches for a manifest's signer, in words (the headline's last clause)."""
    if not m.trusted:
        return "signer not on this server's trust list"
    if m.trusted_by == "c2pa-trust-list":
        return f"signer on the C2PA Trust List ({m.trust_entity})"
    if m.trusted_by == "server-anchors":
        return "signer trusted by this server's own anchors"
    return "signer trusted"


def _signed_claim(m: ManifestFinding) -> str:
    what = "Signed as AI-generated" if m.detected else f"Signed as {m.source_type or 'content with no declared source'}"
    return f"{what} by {_signer(m)} — signature valid, {_trust_words(m)}"


def _tampered(m: ManifestFinding, content_type: str) -> str:
    codes = {f.code for f in m.failures if f.concerns == "integrity"}
    if codes & HARD_BINDING_FAILURES:
        return f"Credentials tampered: the {'text' if content_type == 'text/plain' else 'file'} changed after signing"
    first = next((f for f in m.failures if f.concerns == "integrity"), None) or next(iter(m.failures), None)
    return "Credentials tampered or damaged" + (f": {first.explanation}" if first else "")


def _evidence(
    watermarks: Sequence[WatermarkFinding],
    provenance: ManifestFinding | None,
    recovered: RecoveredFinding | None,
    markers: Sequence[Marker],
    ai: AiLikelihoodFinding | None,
    content_type: str,
) -> list[Evidence]:
    out: list[Evidence] = []
    for w in watermarks:
        if w.detected:
            out.append(
                Evidence(kind="watermark", strength="strong", says_ai=True, summary=f"Carries the {_mark_name(w)}")
            )
        elif w.spans:
            summary = f"Contains passages that carry the {_mark_name(w)}"
            out.append(Evidence(kind="watermark", strength="strong", says_ai=True, summary=summary))
    if provenance is not None and provenance.present:
        if provenance.verdict in ("invalid", "unreadable"):
            summary = (
                _tampered(provenance, content_type)
                if provenance.verdict == "invalid"
                else "Credentials present but unreadable"
            )
            out.append(Evidence(kind="c2pa", strength="none", says_ai=False, summary=summary))
        else:
            out.append(
                Evidence(kind="c2pa", strength="strong", says_ai=provenance.detected, summary=_signed_claim(provenance))
            )
    if recovered is not None:  # a perceptual likeness is weaker evidence than a keyed mark
        strength: Literal["strong", "weak"] = "weak" if recovered.through == "content-code" else "strong"
        out.append(
            Evidence(
                kind="recovered", strength=strength, says_ai=recovered.manifest.detected, summary=recovered.summary
            )
        )
    if markers:
        first = markers[0]
        if first.kind.endswith("-label"):
            summary = f"The content carries an AI label ({first.detail[:80]})"
        else:
            summary = f"The file's metadata names a generator ({first.kind})"
        out.append(Evidence(kind="metadata", strength="weak", says_ai=True, summary=summary))
    if ai is not None:
        if ai.verdict == "ai":
            summary = (
                f"Unlike human writing ({_TEST_NAMES.get(ai.statistic, 'statistical test')}, p = {fmt_p(ai.p_value)})"
            )
            out.append(Evidence(kind="statistical", strength="strong", says_ai=True, summary=summary))
        elif ai.verdict == "inconclusive":
            why = _abstained(ai)
            out.append(Evidence(kind="statistical", strength="none", says_ai=False, summary=why[0].upper() + why[1:]))
        else:
            out.append(
                Evidence(
                    kind="statistical", strength="none", says_ai=False, summary="No statistical sign of machine writing"
                )
            )
    return out


# The statistical test in a reader's words, by the statistic that decided (see detect.text).
_TEST_NAMES = {
    "cross_model": "two-model statistical test",
    "log_likelihood": "statistical test of the embedded model",
}


def _abstained(ai: AiLikelihoodFinding) -> str:
    reason = ai.abstain_reason or ""
    if reason.startswith("too-short"):
        return "the text is too short for the statistical test"
    if reason.startswith("no-reference"):
        return "there is no human reference for texts of this length"
    return {
        "not-english": "the text is not English",
        "code": "the text looks like code",
        "list": "the text is a list",
    }.get(reason, f"the statistical test abstained ({reason})")


def _undecided(watermarks: Sequence[WatermarkFinding], ai: AiLikelihoodFinding | None) -> str | None:
    """Why nothing could be decided, when the checks that ran could not look (else ``None``)."""
    keyed = [w for w in watermarks if w.kind != "public"]
    if keyed and all(w.verdict == "too-small" for w in keyed):
        return "Not decided: the image is too small to check for a watermark"
    if keyed and all(w.verdict == "inconclusive" for w in keyed):
        return f"Not decided: {keyed[0].reason or 'the watermark could not be checked'}"
    if keyed and all(w.verdict == "too-short" for w in keyed) and (ai is None or ai.verdict == "inconclusive"):
        return "Not decided: the text is too short to check"
    if ai is not None and ai.verdict == "inconclusive" and not any(w.verdict == "not-detected" for w in keyed):
        return f"Not decided: {_abstained(ai)}"
    return None


def _headline(
    evidence: Sequence[Evidence],
    watermarks: Sequence[WatermarkFinding],
    provenance: ManifestFinding | None,
    recovered: RecoveredFinding | None,
    ai: AiLikelihoodFinding | None,
    content_type: str,
) -> tuple[Verdict, str]:
    marked = [w for w in watermarks if w.detected]
    passages = [w for w in watermarks if not w.detected and w.spans]
    mark_words = f"Marked as AI-generated ({_mark_name(marked[0])})" if marked else None
    tampered = provenance is not None and provenance.verdict in ("invalid", "unreadable")
    says_ai = any(e.strength == "strong" and e.says_ai for e in evidence)
    verdict: Verdict = "ai" if says_ai else "no-evidence"
    if tampered:
        assert provenance is not None
        head = next(e.summary for e in evidence if e.kind == "c2pa")
        if marked:
            head += f"; it still carries the {_mark_name(marked[0])} (AI-generated)"
        return (verdict if says_ai else "inconclusive"), head
    if provenance is not None and provenance.present:
        head = _signed_claim(provenance)
        if marked and provenance.detected:
            head += f"; also carries the {_mark_name(marked[0])}"
        elif marked:
            head += f", but it carries the {_mark_name(marked[0])} (AI-generated)"
        return verdict, head
    if recovered is not None:
        m = recovered.manifest
        what = "signed as AI-generated" if m.detected else f"signed as {m.source_type or 'content with no source'}"
        thing = "the text" if content_type == "text/plain" else "the file"
        changed = "unchanged since signing" if recovered.hard_binding_matches else f"{thing} changed since signing"
        if recovered.through == "content-code":
            bits = round((1.0 - (recovered.similarity or 0.0)) * 64)
            like = _LIKENESS.get(recovered.content_code or "", "Looks like a picture")
            return (
                "inconclusive" if verdict == "no-evidence" and m.detected else verdict,
                f"{like} {what} by {_signer(m)}: a likeness by content code ({bits} of 64 bits differ), not proof",
            )
        through = "the watermark" if recovered.through == "watermark" else "the text's fingerprint"
        return verdict, f"Credentials recovered through {through}: {what} by {_signer(m)} — {changed}"
    if mark_words:
        return verdict, mark_words
    if passages:
        return verdict, f"Contains passages marked as AI-generated ({_mark_name(passages[0])})"
    if ai is not None and ai.verdict == "ai":
        test = _TEST_NAMES.get(ai.statistic, "statistical test")
        return verdict, f"Likely AI-generated: unlike human writing ({test}; no watermark found)"
    weak = next((e for e in evidence if e.strength == "weak" and e.says_ai), None)
    if weak is not None:
        return (
            "inconclusive",
            f"Possibly AI-generated: {weak.summary[0].lower()}{weak.summary[1:]} (unsigned, easy to forge)",
        )
    undecided = _undecided(watermarks, ai)
    if undecided is not None:
        return "inconclusive", undecided
    return "no-evidence", _NO_EVIDENCE


def _count(n: int, unit: str) -> str:
    return f"{n:,} {unit.removesuffix('s') if n == 1 else unit}"


def _details(
    watermarks: Sequence[WatermarkFinding],
    provenance: ManifestFinding | None,
    recovered: RecoveredFinding | None,
    ai: AiLikelihoodFinding | None,
    markers: Sequence[Marker],
    content_type: str,
) -> list[str]:
    lines: list[str] = []
    for w in watermarks:
        if w.kind == "public" and not w.detected:
            continue
        who = f"key {w.key_id!r} ({w.scheme})" if w.key_id else w.scheme
        if w.kind == "public":
            lines.append(
                f"{w.generator} watermark: {w.evidence_size} bits match, p ≈ {fmt_p(w.p_value)} (approximate, unkeyed)"
            )
            continue
        if w.verdict == "inconclusive":
            lines.append(f"Assay watermark: not tested ({w.reason})")
            continue
        if w.verdict in ("too-short", "too-small"):
            thing = {"audio": "the sound", "video": "the video"}.get(w.kind, "the text")
            what = f"{thing} is too short" if w.verdict == "too-short" else "the image is too small"
            lines.append(f"Assay watermark {who}: not tested ({what}; {_count(w.evidence_size, w.evidence_unit)})")
            continue
        if not w.detected and w.evidence_size == 0 and w.evidence_unit == "decodes":
            keys = f"{w.keys_tried} {'key' if w.keys_tried == 1 else 'keys'} tried"
            lines.append(f"Assay watermark {who}: not found (nothing in it lined up with the mark's pilots; {keys})")
            continue
        bound = "≤" if w.p_value_kind == "union-bound" else "="
        found = "found" if w.detected else "not found"
        of = " of the mark's pilots" if w.evidence_unit == "alignments" else ""
        line = (
            f"Assay watermark {who}: {found}, p {bound} {fmt_p(w.p_value)} "
            f"over {_count(w.evidence_size, w.evidence_unit)}{of}"
            f" (decided at a false-positive rate of {w.decided_at_fpr:g}; "
            f"{w.keys_tried} {'key' if w.keys_tried == 1 else 'keys'} tried)"
        )
        if w.z_score is not None:
            line += f", z = {w.z_score:.2f}"
        if w.record_id:
            line += f", record {w.record_id}"
        elif w.detected and w.evidence_unit == "alignments":
            line += ", found by the mark's pilots alone (its record id could not be read)"
        lines.append(line)
        for s in w.spans:
            lines.append(f"  marked passage: characters {s.start}–{s.end} (p = {fmt_p(s.p_value)})")
        for t in w.time_spans:
            lines.append(
                f"  marked stretch: {t.start:.1f}–{t.end:.1f} s (of the first {w.seconds_read or 0:.1f} s read)"
            )
        if w.normalization:
            lines.append("  invisible or look-alike characters were removed before testing")
    for name, m in (("C2PA manifest", provenance), ("Recovered manifest", recovered.manifest if recovered else None)):
        if m is None:
            continue
        if not m.present:
            lines.append(f"{name}: none in this {'text' if content_type == 'text/plain' else 'file'}")
            continue
        if m.verdict == "unreadable":
            lines.append(f"{name}: present but cannot be read ({m.error})")
            continue
        state = {"trusted": "signature valid, signer trusted", "valid": "signature valid, signer not trusted here"}
        lines.append(f"{name} {m.manifest_id}: {state.get(m.verdict, m.validation_state)}; signed by {_signer(m)}")
        if m.title:
            lines.append(f"  title: {m.title}")
        lines.append(f"  signed at: {m.signed_at or 'time not attested (no time stamp)'}")
        if m.source_type:
            lines.append(f"  source: {m.source_type} ({(m.digital_source_type or '').rsplit('/', 1)[-1]})")
        for a in m.actions:
            agent = f" with {a.software_agent}" if a.software_agent else ""
            lines.append(f"  action: {a.in_words}{agent} ({a.action})")
        recovering = recovered is not None and m is recovered.manifest
        for code, f in {f.code: f for f in m.failures}.items():
            if recovering and code in HARD_BINDING_FAILURES:
                why = "for an edited copy" if content_type == "text/plain" else "after re-encoding"
                lines.append(f"  changed since signing, as expected {why} ({code})")
            else:
                lines.append(f"  {'trust' if f.concerns == 'trust' else 'problem'}: {f.explanation} ({code})")
    if recovered is not None:
        likeness = f"the {CODE_NOUNS.get(recovered.content_code or '', 'picture')}'s content code"
        how = {"watermark": "the watermark", "fingerprint": "the text's fingerprint"}.get(recovered.through, likeness)
        lines.append(f"  found through {how} (soft binding {recovered.soft_binding_alg})")
    if ai is not None:
        if ai.verdict == "inconclusive":
            lines.append(f"AI-likelihood: not decided ({_abstained(ai)}; {ai.tokens} tokens)")
        else:
            test = _TEST_NAMES.get(ai.statistic, ai.statistic)
            if ai.screened_above is not None:
                test += f" alone: above p = {ai.screened_above:g} the two-model test is not run"
            lines.append(
                f"AI-likelihood: {ai.verdict}, p = {fmt_p(ai.p_value)} against {ai.reference_size} human texts of "
                f"{ai.length_bucket} tokens (decided at {ai.decided_at_fpr:.0%} by the {test})"
            )
        if ai.reference_group == "pooled":
            lines.append(
                f"  calibrated against one reference pooled over {len(ai.reference_sources)} sources of human text "
                f"({sum(ai.reference_sources.values())} texts of all lengths; too few per domain for its own)"
            )
        elif ai.reference_group is not None:
            lines.append(
                f"  calibrated against the '{ai.reference_group}' group's own reference "
                f"({ai.reference_group_description}: {sum(ai.reference_sources.values())} texts of all lengths), "
                "which this text's wording was routed to"
            )
        restored = ai.normalization.get("spelling_restored", 0)
        if restored:
            words = "1 word" if restored == 1 else f"{restored} words"
            lines.append(
                f"  {words} unknown to the dictionary read as the nearest one before scoring (as misspellings)"
            )
        if ai.classifier_probability is not None:
            lines.append(f"  classifier (corroborates only): {ai.classifier_probability:.0%} machine-written")
    for mk in markers:
        lines.append(f"Metadata: {mk.kind}: {mk.detail[:120]}")
    return lines


def _disagreements(
    watermarks: Sequence[WatermarkFinding],
    provenance: ManifestFinding | None,
    ai: AiLikelihoodFinding | None,
    markers: Sequence[Marker],
) -> list[str]:
    out: list[str] = []
    marked = any(w.detected for w in watermarks)
    if provenance is not None and provenance.verdict in ("valid", "trusted") and not provenance.detected:
        declared = provenance.source_type or "no source type"
        if marked:
            out.append(f"The credentials declare {declared}, but the content carries an AI watermark")
        if markers:
            out.append(f"The credentials declare {declared}, but the metadata names a generator")
    if marked and ai is not None and ai.verdict == "no-evidence":
        out.append(
            "The watermark marks this text as AI-generated, but the statistical test found no sign of machine "
            "writing (the watermark is the stronger evidence)"
        )
    return out


def assemble(
    *,
    content_type: str,
    content_sha256: str,
    watermarks: Sequence[WatermarkFinding] = (),
    provenance: ManifestFinding | None = None,
    recovered: RecoveredFinding | None = None,
    ai_likelihood: AiLikelihoodFinding | None = None,
    markers: Sequence[Marker] = (),
    not_checked: Sequence[Signal] = (),
    evasion: bool = False,
) -> Report:
    """The report for one piece of content from its findings (see module docstring).

    Args:
        evasion: the text held invisible or look-alike characters (said in the headline).
    """
    evidence = _evidence(watermarks, provenance, recovered, markers, ai_likelihood, content_type)
    verdict, label = _headline(evidence, watermarks, provenance, recovered, ai_likelihood, content_type)
    if evasion:
        label += "; the text contains invisible or look-alike characters (a sign of evasion)"
    details = _details(watermarks, provenance, recovered, ai_likelihood, markers, content_type)
    skipped = {
        "provenance": "C2PA credentials (none can be read from this content)",
        "ai_likelihood": "AI-likelihood (turned off, or no human reference for the configured model)"
        if content_type == "text/plain"
        else "AI-likelihood (texts only)",
        "recovered": "recovery of stripped credentials ("
        + ("it needs a watermark" if "watermark" in not_checked else "no manifest store")
        + ")",
        "watermark": "watermarks (none applies to this kind of file)",
    }
    if not_checked:
        details.append("Not checked: " + ", ".join(skipped.get(s, s) for s in not_checked))
    ranked = sorted(evidence, key=lambda e: {"strong": 0, "weak": 1, "none": 2}[e.strength])
    return Report(
        content_type=content_type,
        content_sha256=content_sha256,
        label=label,
        details=tuple(details),
        verdict=verdict,
        tampered=provenance is not None and provenance.verdict in ("invalid", "unreadable"),
        evidence=tuple(ranked),
        provenance=provenance,
        watermarks=tuple(watermarks),
        recovered=recovered,
        ai_likelihood=ai_likelihood,
        markers=tuple(markers),
        disagreements=tuple(_disagreements(watermarks, provenance, ai_likelihood, markers)),
        not_checked=tuple(not_checked),
    )
