"""C2PA manifests inside plain text (C2PA 2.4, A.8 "unstructured text").

A manifest store travels as a ``C2PATextManifestWrapper``: U+FEFF followed by one Unicode
variation selector per byte (magic ``C2PATXT\\0``, version, length, the store, deterministic
padding). Its hard binding is a ``c2pa.hash.data`` whose one exclusion is the wrapper's byte range
in the text as stored; the digest covers what remains, NFC-normalised.

The frame (encode, locate, strip, padding) is ``c2pa-unstructured-text``'s: it implements the
specified deterministic padding, so the wrapper's length is known from the store's size before
signing, and reports the specification's two failure codes (``manifest.text.corruptedWrapper``,
``manifest.text.multipleWrappers``). Signing and validating the store is c2pa-python's
(:mod:`provenance.c2pa_io`); the binding is checked here, on the text as it was received, before
anything normalises away the selectors.
"""

from __future__ import annotations

import hashlib
import re
import unicodedata
from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace
from typing import Any

import c2pa_unstructured_text as frame

from watermark.errors import InvalidInput, SignatureInvalid

from .c2pa_io import DataHash, SignedAsset, Verification, read_detached_store, sign_data_hashed
from .credentials import SigningCredentials

__all__ = [
    "BINDING_MISMATCH",
    "TextManifest",
    "binding_digest",
    "read_text_manifest",
    "sign_text",
    "strip_wrappers",
]

BINDING_MISMATCH = "assertion.dataHash.mismatch"
_CORRUPTED = "manifest.text.corruptedWrapper"
_MULTIPLE = "manifest.text.multipleWrappers"
_CODE = re.compile(r"\[(manifest\.text\.[A-Za-z]+)\]")
# Failure codes that only say who signed is not trusted here (the claims still hold).
_TRUST_ONLY = frozenset({"signingCredential.untrusted", "timeStamp.untrusted"})
_HASHES: dict[str, Callable[[bytes], Any]] = {
    "sha256": hashlib.sha256,
    "sha384": hashlib.sha384,
    "sha512": hashlib.sha512,
}


def _utf8(text: str) -> bytes:
    try:
        return text.encode("utf-8")
    except UnicodeEncodeError:
        raise InvalidInput("the text holds unpaired surrogates (not valid Unicode)") from None


def binding_digest(text: str, exclusions: Sequence[tuple[int, int]], alg: str = "sha256") -> bytes:
    """The A.8 hard-binding digest: drop the excluded byte ranges of the text as stored, NFC
    what remains, hash its UTF-8.

    Raises:
        InvalidInput: an unknown algorithm, or ranges outside the text or splitting a character.
    """
    if alg not in _HASHES:
        raise InvalidInput(f"unsupported hash algorithm {alg!r}")
    data = _utf8(text)
    kept, pos = bytearray(), 0
    for start, length in sorted(exclusions):
        if start < pos or length < 0 or start + length > len(data):
            raise InvalidInput("the binding's exclusions do not fit this text")
        kept += data[pos:start]
        pos = start + length
    kept += data[pos:]
    try:
        remainder = kept.decode("utf-8")
    except UnicodeDecodeError:
        raise InvalidInput("the binding's exclusions split a character") from None
    digest: bytes = _HASHES[alg](unicodedata.normalize("NFC", remainder).encode("utf-8")).digest()
    return digest


def sign_text(
    text: str,
    manifest: dict[str, Any],
    credentials: SigningCredentials,
    *,
    sign_callback: Callable[[bytes], bytes] | None = None,
    tsa_url: str | None = None,
) -> tuple[str, SignedAsset]:
    """``text`` (NFC-normalised) with a signed manifest store appended in an A.8 wrapper.

    Returns:
        The credentialed text, and the signed store with its label.

    Raises:
        InvalidInput: the text is empty or already carries a wrapper.
        SignatureInvalid: signing failed.
    """
    body = unicodedata.normalize("NFC", text)
    prefix = _utf8(body)
    if not body.strip():
        raise InvalidInput("the text is empty")
    if frame.locate_all(body) or ("\ufeff" in body and _candidate(body)):
        raise InvalidInput("the text already carries C2PA credentials: sign the text without them")

    def layout(store_size: int) -> tuple[bytes, int, int]:
        length = frame.target_length(store_size)
        return prefix + b"\0" * length, len(prefix), length

    signed = sign_data_hashed(manifest, credentials, layout, sign_callback=sign_callback, tsa_url=tsa_url)
    wrapper = frame.encode_padded(signed.manifest_store)
    if len(wrapper.encode("utf-8")) != frame.target_length(len(signed.manifest_store)):
        raise SignatureInvalid("the wrapper's length differs from the reserved one")  # a frame library defect
    return body + wrapper, signed


def _candidate(text: str) -> bool:
    """Whether a U+FEFF in ``text`` is followed by a variation selector (a wrapper, valid or not)."""
    return any(0xFE00 <= ord(c) <= 0xFE0F or 0xE0100 <= ord(c) <= 0xE01EF for c in _after_bom(text))


def _after_bom(text: str) -> list[str]:
    return [text[i + 1] for i, c in enumerate(text[:-1]) if c == "\ufeff"]


def strip_wrappers(text: str) -> str:
    """``text`` without any C2PA text wrapper (valid ones; a corrupted candidate is left).

    Raises:
        InvalidInput: the text holds unpaired surrogates.
    """
    data = _utf8(text)
    for start, length in sorted(frame.locate_all(text), reverse=True):
        data = data[:start] + data[start + length :]
    return data.decode("utf-8")


@dataclass(frozen=True)
class TextManifest:
    """What a text carries: its manifest's verification, and the text without the wrapper."""

    verification: Verification
    visible_text: str
    wrapper: tuple[int, int] | None = None  # (start, length) in UTF-8 bytes
    error: str | None = None  # why a wrapper that is there cannot be read


def _framing_error(exc: ValueError) -> str:
    found = _CODE.search(str(exc))
    return found.group(1) if found else _CORRUPTED


def read_text_manifest(text: str, *, trust_anchors: Sequence[str] = ()) -> TextManifest:
    """Find, read and validate the manifest a text carries, on the text exactly as received.

    A text without a wrapper gives ``manifest_present=False``. Two valid wrappers, or a wrapper
    that does not decode, give a present manifest with ``error`` set to the specification's code.

    Raises:
        InvalidInput: the text holds unpaired surrogates.
    """
    _utf8(text)
    try:
        found = frame.extract(text)
    except ValueError as exc:  # the specification's two framing failures
        code = _framing_error(exc)
        return TextManifest(
            Verification(manifest_present=True, validation_state="Invalid", failures=(code,)),
            strip_wrappers(text),
            error=f"{code}: {exc}",
        )
    if found is None:
        return TextManifest(Verification(manifest_present=False), text)
    start, length = int(found["start"]), int(found["length"])
    data = _utf8(text)
    visible = (data[:start] + data[start + length :]).decode("utf-8")  # the one wrapper, already located
    try:
        store = read_detached_store(bytes(found["payload"]), data, trust_anchors=trust_anchors)
    except InvalidInput as exc:  # a wrapper whose store cannot be parsed: present, unreadable
        return TextManifest(Verification(manifest_present=True), visible, wrapper=(start, length), error=str(exc))
    return TextManifest(check_text_binding(store, text, wrapper=(start, length)), visible, wrapper=(start, length))


def check_text_binding(v: Verification, text: str, *, wrapper: tuple[int, int] | None) -> Verification:
    """``v`` with its hard binding checked against ``text`` by the A.8 rule.

    c2pa validates signature, trust and assertions but cannot locate a store inside text, so its
    data-hash codes are replaced by this check: the binding must exclude exactly the wrapper
    (``wrapper``; none for a stored manifest checked against a stripped text) and its digest
    must match the rest of the text.
    """
    if not v.manifest_present:
        return v
    failures = [(c, e) for c, e in v.failure_details if not c.startswith("assertion.dataHash")]
    binding: DataHash | None = v.data_hash
    if binding is None:
        failures.append(("claim.hardBindings.missing", "the manifest has no data-hash binding"))
    elif wrapper is not None and list(binding.exclusions) != [wrapper]:
        moved = len(binding.exclusions) == 1 and binding.exclusions[0][1] == wrapper[1]
        why = "the text before the credentials changed length after signing" if moved else ""
        failures.append((BINDING_MISMATCH, why or "the binding does not exclude exactly the text's wrapper"))
    else:
        try:
            digest = binding_digest(text, binding.exclusions if wrapper is not None else (), binding.alg)
            why = "the text changed after it was signed"
        except InvalidInput as exc:
            digest, why = b"", str(exc)
        if digest != binding.digest:
            failures.append((BINDING_MISMATCH, why))
    codes = tuple(c for c, _ in failures)
    # c2pa checked trust (``verify_trust``): an untrusted signer is among its failures.
    state = "Invalid" if any(c not in _TRUST_ONLY for c in codes) else ("Valid" if codes else "Trusted")
    return replace(v, failures=codes, failure_details=tuple(failures), validation_state=state)
