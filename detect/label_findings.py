"""Labels as findings: what each label found in a file claims, whether it is well-formed, and
where labels contradict each other or the C2PA manifest (all in plain words)."""

from __future__ import annotations

from collections.abc import Sequence

from provenance.labels import FoundLabel, parse_aigc

from .labels import AI_SOURCE_TYPES, NOT_AI_SOURCE_TYPES, source_type_name
from .report import LabelFinding, LabelSays, ManifestFinding

__all__ = ["label_findings"]

_IPTC = ("http://cv.iptc.org/newscodes/digitalsourcetype/", "https://cv.iptc.org/newscodes/digitalsourcetype/")
_SAYS_WORDS = {
    "ai-generated": "AI-generated",
    "possibly-ai": "possibly AI-generated",
    "suspected-ai": "suspected to be AI-generated",
    "not-ai": "not made by AI",
    "unknown": "nothing recognisable",
}
_CARRIER_WORDS = {
    "xmp": "the XMP metadata",
    "id3": "the ID3 tag",
    "vorbis-comment": "the FLAC tags",
    "riff": "a RIFF chunk",
    "mp4": "the MP4 metadata",
    "matroska": "the Matroska tags",
    "front-matter": "the front matter",
    "text-notice": "the text",
    "c2pa-manifest": "the C2PA credentials",
}


def _source_says(short: str) -> LabelSays:
    if short in AI_SOURCE_TYPES:
        return "ai-generated"
    if short in NOT_AI_SOURCE_TYPES:
        return "not-ai"
    return "unknown"


def _aigc(value: str, carrier: str, field: str | None) -> LabelFinding:
    parsed = parse_aigc(value)
    producer = parsed.fields.get("ContentProducer") or "an unnamed producer"
    words = f"GB 45438 implicit label in {_CARRIER_WORDS.get(carrier, carrier)}: {_SAYS_WORDS[parsed.says]}"
    if parsed.fields:
        words += f", made by {producer}"
        if parsed.fields.get("ContentPropagator"):
            words += f", spread by {parsed.fields['ContentPropagator']}"
    if parsed.problems:
        words += " (not valid: " + "; ".join(parsed.problems) + ")"
    return LabelFinding(
        kind="aigc",
        carrier=carrier,
        field=field,
        says=parsed.says,
        fields=parsed.fields,
        valid=parsed.valid,
        problems=parsed.problems,
        notes=parsed.notes,
        in_words=words,
    )


def _iptc(found: FoundLabel) -> LabelFinding:
    value = found.value.strip()
    problems: tuple[str, ...] = ()
    notes: tuple[str, ...] = ()
    if not value.startswith(_IPTC):
        problems = (f"{value[:80]!r} is not an IPTC digital source type URI",)
    elif value.startswith("https:"):
        notes = ("written with https:, which IPTC's vocabulary does not use (read as http:)",)
    short = value.rsplit("/", 1)[-1]
    says: LabelSays = _source_says(short) if not problems else "unknown"
    name = source_type_name(short) or short
    return LabelFinding(
        kind="iptc",
        carrier=found.carrier,
        field=found.field,
        says=says,
        valid=not problems,
        problems=problems,
        notes=notes,
        in_words=f"IPTC source type in {_CARRIER_WORDS.get(found.carrier, found.carrier)}: {name}",
    )


def _c2pa(m: ManifestFinding) -> LabelFinding:
    short = (m.digital_source_type or "").rsplit("/", 1)[-1]
    problems = () if m.verdict in ("trusted", "valid") else ("the credentials declaring it fail validation",)
    return LabelFinding(
        kind="c2pa",
        carrier="c2pa-manifest",
        field="c2pa.actions digitalSourceType",
        says=_source_says(short),
        valid=not problems,
        problems=problems,
        in_words=f"C2PA credentials declare the content {m.source_type or short}"
        + (f" ({m.inception})" if m.inception else ""),
    )


def label_findings(found: Sequence[FoundLabel], provenance: ManifestFinding | None = None) -> tuple[LabelFinding, ...]:
    """Every label of a piece of content as a finding, cross-checked.

    Args:
        found: the labels read from the file's metadata or the text.
        provenance: the file's C2PA manifest finding (its declared source type is a label too,
            and an implicit label may ride inside it).
    """
    out: list[LabelFinding] = []
    for f in found:
        if f.kind == "aigc":
            out.append(_aigc(f.value, f.carrier, f.field))
        elif f.kind == "iptc":
            out.append(_iptc(f))
        else:
            out.append(
                LabelFinding(
                    kind="explicit",
                    carrier=f.carrier,
                    field=f.field,
                    says="ai-generated",
                    valid=True,
                    in_words=f"A notice at the text's {f.field}: “{f.value}”",
                )
            )
    c2pa: LabelFinding | None = None
    if provenance is not None and provenance.present and provenance.digital_source_type:
        c2pa = _c2pa(provenance)
        out.append(c2pa)
    if provenance is not None and provenance.implicit_label:
        label = _aigc(provenance.implicit_label, "c2pa-manifest", "AIGC assertion")
        if provenance.verdict not in ("trusted", "valid"):
            label = label.model_copy(
                update={"valid": False, "problems": (*label.problems, "the credentials carrying it fail validation")}
            )
        out.append(label)
    return tuple(_cross_check(out, c2pa))


def _cross_check(labels: list[LabelFinding], c2pa: LabelFinding | None) -> list[LabelFinding]:
    aigc = [lab for lab in labels if lab.kind == "aigc"]
    checked: list[LabelFinding] = []
    for lab in labels:
        extra: list[str] = []
        if lab.kind == "aigc" and len(aigc) > 1:
            agree = len({tuple(sorted(a.fields.items())) for a in aigc}) == 1
            extra.append(
                f"the content carries {len(aigc)} implicit labels (the standard allows one; they "
                + ("agree)" if agree else "disagree)")
            )
        if (
            c2pa is not None
            and c2pa.valid
            and lab is not c2pa
            and lab.kind in ("aigc", "iptc", "explicit")
            and lab.says != "unknown"
            and c2pa.says != "unknown"
            and (lab.says == "not-ai") != (c2pa.says == "not-ai")
        ):
            extra.append(f"it contradicts the C2PA credentials, which declare the content {_SAYS_WORDS[c2pa.says]}")
        if extra:
            lab = lab.model_copy(update={"valid": False, "problems": (*lab.problems, *extra)})
        checked.append(lab)
    return checked
