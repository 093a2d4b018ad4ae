"""Words for people: IPTC source types, C2PA actions and status codes, numbers.

Headlines say what was found and who vouches for it; the codes and numbers go in detail lines.
"""

from __future__ import annotations

from typing import Literal

__all__ = [
    "AI_SOURCE_TYPES",
    "CODE_NOUNS",
    "HARD_BINDING_FAILURES",
    "NOT_AI_SOURCE_TYPES",
    "action_in_words",
    "code_concern",
    "explain_code",
    "fmt_p",
    "inception_signal",
    "source_type_name",
]

# what a content code of each kind is the code of, in words
CODE_NOUNS = {"image": "picture", "audio": "sound", "video": "video"}

AI_SOURCE_TYPES = frozenset(
    {"trainedAlgorithmicMedia", "compositeWithTrainedAlgorithmicMedia", "algorithmicMedia", "compositeSynthetic"}
)
# Source types that declare content made without AI (a capture, a person's own work).
NOT_AI_SOURCE_TYPES = frozenset(
    {"digitalCapture", "computationalCapture", "negativeFilm", "positiveFilm", "print", "digitalCreation"}
)
# The C2PA asset rubric "Asset Signals (Local)" 1.0: the inception signal of a created action's source type.
_INCEPTION = {
    "trainedAlgorithmicMedia": "fullyGenAIMedia",
    "compositeWithTrainedAlgorithmicMedia": "partlyGenAICreation",
    "composite": "compositionMayContainGenAI",
    "screenCapture": "screenCaptureMayContainGenAI",
    "digitalCapture": "capturedMedia",
    "computationalCapture": "capturedMedia",
    "compositeCapture": "capturedMediaStitched",
    "digitalCreation": "nonGenAIDigitalCreation",
}
HARD_BINDING_FAILURES = frozenset(
    {"assertion.dataHash.mismatch", "assertion.bmffHash.mismatch", "assertion.boxesHash.mismatch"}
)

_SOURCE_TYPES = {
    "trainedAlgorithmicMedia": "made by generative AI",
    "compositeWithTrainedAlgorithmicMedia": "edited with generative AI",
    "algorithmicMedia": "made by an algorithm (not trained on data)",
    "compositeSynthetic": "a composite of synthetic elements",
    "digitalCapture": "a camera capture",
    "computationalCapture": "a camera capture with computational processing",
    "negativeFilm": "a scan of a film negative",
    "positiveFilm": "a scan of a film slide",
    "print": "a scan of a print",
    "humanEdits": "edited by a person",
    "minorHumanEdits": "a capture with minor edits by a person",
    "composite": "a composite of several images",
    "digitalCreation": "made by a person with software (not AI)",
    "dataDrivenMedia": "made from data (e.g. a chart or a simulation)",
    "screenCapture": "a screenshot",
    "virtualRecording": "a recording of a virtual scene",
}

_ACTIONS = {
    "c2pa.created": "Created",
    "c2pa.edited": "Edited",
    "c2pa.opened": "Opened",
    "c2pa.published": "Published",
    "c2pa.converted": "Converted to another format",
    "c2pa.watermarked": "Watermarked",
    "c2pa.watermarked.bound": "Watermarked (the watermark points back to these credentials)",
    "c2pa.placed": "Another asset placed into it",
    "c2pa.cropped": "Cropped",
    "c2pa.resized": "Resized",
    "c2pa.color_adjustments": "Colours adjusted",
    "c2pa.filtered": "Filtered",
    "c2pa.drawing": "Drawn on",
    "c2pa.transcoded": "Re-encoded",
    "c2pa.redacted": "Parts redacted",
}

_CODES = {
    "assertion.dataHash.mismatch": "the content changed after signing",
    "assertion.bmffHash.mismatch": "the content changed after signing",
    "assertion.boxesHash.mismatch": "the content changed after signing",
    "assertion.hashedURI.mismatch": "a statement in the credentials was changed after signing",
    "assertion.missing": "a statement the credentials point to is missing",
    "claimSignature.mismatch": "the signature does not match the credentials (they were changed)",
    "claimSignature.missing": "the credentials carry no signature",
    "claimSignature.insideValidity": "the signature was made while the certificate was valid",
    "claimSignature.outsideValidity": "the certificate had expired or was not yet valid when signing",
    "claimSignature.validated": "the signature is valid",
    "signingCredential.untrusted": "the signer is not on this server's trust list",
    "signingCredential.trusted": "the signer is on this server's trust list",
    "signingCredential.invalid": "the signer's certificate is invalid",
    "signingCredential.revoked": "the signer's certificate was revoked",
    "signingCredential.expired": "the signer's certificate has expired",
    "algorithm.unsupported": "the credentials use a signature algorithm that cannot be checked",
    "timeStamp.mismatch": "the time stamp does not match the signature",
    "timeStamp.untrusted": "the time stamp authority is not trusted here",
    "manifest.missing": "the credentials are missing from the file",
    "manifest.text.corruptedWrapper": "the text's credentials were damaged (invisible characters lost or changed)",
    "manifest.text.multipleWrappers": "the text carries more than one set of credentials (none can be chosen)",
    "claim.hardBindings.missing": "the credentials do not say which content they belong to",
    "claim.missing": "the credentials are incomplete",
    "ingredient.manifest.missing": "the credentials of an ingredient are missing",
}


def source_type_name(uri_or_name: str | None) -> str | None:
    """An IPTC digital source type in words (``None`` for none; the short name when unknown)."""
    if not uri_or_name:
        return None
    short = uri_or_name.rsplit("/", 1)[-1]
    return _SOURCE_TYPES.get(short, short)


def inception_signal(uri_or_name: str | None) -> str | None:
    """The C2PA asset rubric's inception signal for a created action's source type (None: none applies)."""
    if not uri_or_name:
        return None
    return _INCEPTION.get(uri_or_name.rsplit("/", 1)[-1])


def action_in_words(action: str) -> str:
    """A C2PA action in words (the code itself when unknown)."""
    return _ACTIONS.get(action, action)


def explain_code(code: str) -> str:
    """A C2PA validation status code in words."""
    return _CODES.get(code, f"validation code {code}")


def code_concern(code: str) -> Literal["integrity", "trust", "other"]:
    """Whether a failure code says the content changed, or only that its signer is not trusted here."""
    if code.startswith(("signingCredential.", "timeStamp.untrusted")):
        return "trust"
    if code.startswith(("assertion.", "claimSignature.", "manifest.", "claim.", "ingredient.", "algorithm.")):
        return "integrity"
    return "other"


def fmt_p(p: float | None) -> str:
    """A p-value with three significant digits (``–`` for none)."""
    if p is None:
        return "–"
    return f"{p:.3g}" if p >= 1e-3 else f"{p:.2e}"
