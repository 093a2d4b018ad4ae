"""Sign and verify C2PA manifests: the only module that imports ``c2pa`` (c2pa-python).

c2pa errors are translated to Assay's. Trust anchors are passed per call through a
``c2pa.Context`` (``trust.anchors``), so one process can verify against different trust
configurations.
"""

from __future__ import annotations

import io
import json
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

import c2pa

from provenance.credentials import DEV_SIGNER_NAME, SigningCredentials
from watermark.errors import InvalidInput, SignatureInvalid, UnsupportedMedia

__all__ = ["SUPPORTED_MIME", "Ingredient", "SignedAsset", "Verification", "sign_asset", "verify_asset"]

# Every media type the bundled c2pa-rs reads and embeds into: images (JPEG, PNG, WebP, TIFF,
# AVIF, HEIC, GIF, ...), audio (WAV, MP3, FLAC, ...), video (MP4, MOV, AVI), PDF and more.
SUPPORTED_MIME = frozenset(m for m in c2pa.Builder.get_supported_mime_types() if "/" in m)
_ALG = {
    "es256": c2pa.C2paSigningAlg.ES256,
    "es384": c2pa.C2paSigningAlg.ES384,
    "es512": c2pa.C2paSigningAlg.ES512,
    "ps256": c2pa.C2paSigningAlg.PS256,
    "ps384": c2pa.C2paSigningAlg.PS384,
    "ps512": c2pa.C2paSigningAlg.PS512,
    "ed25519": c2pa.C2paSigningAlg.ED25519,
}


@dataclass(frozen=True)
class Ingredient:
    """An asset this one was made from (``parentOf`` for the edited original, else ``componentOf``)."""

    data: bytes
    mime: str
    title: str
    relationship: str = "parentOf"


@dataclass(frozen=True)
class SignedAsset:
    """The signed file, the manifest store bytes (what a repository keeps) and the active
    manifest's label (``urn:c2pa:...``), the id every C2PA verifier shows for these credentials."""

    data: bytes
    manifest_store: bytes
    label: str


@dataclass(frozen=True)
class Verification:
    """What a C2PA reader found in one file."""

    manifest_present: bool
    validation_state: str | None = None  # "Invalid" | "Valid" | "Trusted"
    label: str | None = None  # the active manifest's label, ``urn:c2pa:...``
    title: str | None = None
    failures: tuple[str, ...] = ()
    informational: tuple[str, ...] = ()
    signer: dict[str, Any] | None = None
    claim_generator: str | None = None
    actions: tuple[dict[str, Any], ...] = ()
    digital_source_type: str | None = None
    ingredients: tuple[dict[str, Any], ...] = ()
    development_signer: bool = False
    manifest: dict[str, Any] | None = field(default=None, repr=False)

    @property
    def trusted(self) -> bool:
        """Whether the signature is valid and the signer chains to a configured anchor."""
        return self.validation_state == "Trusted"


def _check_mime(mime: str) -> None:
    if mime not in SUPPORTED_MIME:
        raise UnsupportedMedia(f"{mime!r} is not supported (supported: {', '.join(sorted(SUPPORTED_MIME))})")


def _context(anchors: Sequence[str], thumbnail: bool | int) -> c2pa.Context:
    thumb: dict[str, Any] = {"enabled": bool(thumbnail)}
    if not isinstance(thumbnail, bool) and thumbnail:
        thumb["long_edge"] = int(thumbnail)
    settings: dict[str, Any] = {"builder": {"thumbnail": thumb}, "verify": {"verify_trust": True}}
    if anchors:
        settings["trust"] = {"anchors": [{"trust_kind": "manifest", "trust_anchors": "\n".join(anchors)}]}
    return c2pa.Context.from_dict(settings)


def sign_asset(
    data: bytes,
    mime: str,
    manifest: dict[str, Any],
    credentials: SigningCredentials,
    *,
    thumbnail: bool | int = False,
    sign_callback: Callable[[bytes], bytes] | None = None,
    tsa_url: str | None = None,
    embed: bool = True,
    ingredients: Sequence[Ingredient] = (),
) -> SignedAsset:
    """Embed a signed manifest into ``data`` (or, with ``embed=False``, return it as a sidecar).

    Args:
        data: the asset bytes.
        mime: its media type.
        manifest: the manifest definition (see :mod:`provenance.manifest`).
        credentials: the certificate chain and, unless ``sign_callback`` is given, the key.
        thumbnail: embed a claim thumbnail (slow: ~60 ms a megapixel); an integer is the
            thumbnail's long edge in pixels (smaller is faster).
        sign_callback: signs the claim bytes instead of the key in ``credentials`` (KMS/HSM).
        tsa_url: an RFC 3161 timestamp authority; signing fails if it cannot be reached.
        embed: ``False`` leaves ``data`` untouched and returns the manifest store alone, to be
            kept next to the asset as a ``.c2pa`` sidecar (``verify_asset(manifest_store=...)``).
        ingredients: assets this one was made from; their own manifests are carried along.

    Raises:
        UnsupportedMedia: a type c2pa cannot embed into.
        InvalidInput: the asset cannot be parsed.
        SignatureInvalid: signing failed (credentials, timestamp authority).
    """
    _check_mime(mime)
    alg = _ALG[credentials.alg]
    try:
        if sign_callback is not None:
            signer = c2pa.Signer.from_callback(sign_callback, alg, credentials.chain_pem, tsa_url)
        else:
            if credentials.private_key is None:
                raise SignatureInvalid("these credentials hold no private key: give a sign_callback")
            info = c2pa.C2paSignerInfo(
                alg.name.lower().encode(),
                credentials.chain_pem.encode(),
                credentials.private_key.reveal(),
                tsa_url.encode() if tsa_url else None,
            )
            signer = c2pa.Signer.from_info(info)
    except c2pa.C2paError as exc:
        raise SignatureInvalid(f"cannot create signer: {exc.__class__.__name__}") from None
    out = io.BytesIO()
    try:
        with c2pa.Builder(json.dumps(manifest), _context((), thumbnail)) as builder:
            if not embed:
                builder.set_no_embed()
            for ing in ingredients:
                _check_mime(ing.mime)
                builder.add_ingredient(
                    {"title": ing.title, "relationship": ing.relationship}, ing.mime, io.BytesIO(ing.data)
                )
            store = builder.sign(signer, mime, io.BytesIO(data), out)
    except (c2pa.C2paError.Signature, c2pa.C2paError.Verify) as exc:
        raise SignatureInvalid(f"signing failed: {str(exc)[:300]}") from None
    except c2pa.C2paError as exc:
        raise InvalidInput(f"cannot embed a manifest into this {mime} file: {str(exc)[:200]}") from None
    finally:
        signer.close()
    signed = out.getvalue() if embed else data
    return SignedAsset(signed, bytes(store), _active_label(mime, signed, bytes(store)))


def _active_label(mime: str, data: bytes, store: bytes) -> str:
    """The label of the manifest just signed (read back from its store: under a millisecond)."""
    with c2pa.Reader(mime, io.BytesIO(data), store) as reader:
        label = json.loads(reader.json()).get("active_manifest")
    if not isinstance(label, str) or not label:
        raise SignatureInvalid("the signed manifest store has no active manifest")
    return label


def verify_asset(
    data: bytes, mime: str, *, trust_anchors: Sequence[str] = (), manifest_store: bytes | None = None
) -> Verification:
    """Read and validate the manifest embedded in ``data`` against ``trust_anchors`` (PEM).

    With ``manifest_store`` (a stored or sidecar ``application/c2pa`` store), that store is
    validated against ``data`` instead of an embedded one. A file without a manifest gives
    ``manifest_present=False``; a file c2pa cannot parse raises.

    Raises:
        UnsupportedMedia: a type c2pa cannot read.
        InvalidInput: the file is truncated or malformed.
    """
    _check_mime(mime)
    try:
        reader = c2pa.Reader(mime, io.BytesIO(data), manifest_store, context=_context(trust_anchors, False))
    except c2pa.C2paError.ManifestNotFound:
        return Verification(manifest_present=False)
    except c2pa.C2paError as exc:
        raise InvalidInput(f"cannot read this {mime} file: {str(exc)[:200]}") from None
    if reader is None:
        return Verification(manifest_present=False)
    with reader:
        store = json.loads(reader.json())
    # The store JSON carries the validation state and results: no further calls across the FFI.
    state = store.get("validation_state")
    results = store.get("validation_results") or {}
    active = store.get("manifests", {}).get(store.get("active_manifest", ""), {})
    codes = results.get("activeManifest", {}) if isinstance(results, dict) else {}
    actions: list[dict[str, Any]] = []
    for assertion in active.get("assertions", []):
        if str(assertion.get("label", "")).startswith("c2pa.actions"):
            actions.extend(assertion.get("data", {}).get("actions", []))
    source = next((a.get("digitalSourceType") for a in actions if a.get("digitalSourceType")), None)
    info = active.get("signature_info") or {}
    gen = active.get("claim_generator_info") or []
    return Verification(
        manifest_present=True,
        validation_state=state,
        label=store.get("active_manifest"),
        title=active.get("title"),
        failures=tuple(c.get("code", "") for c in codes.get("failure", [])),
        informational=tuple(c.get("code", "") for c in codes.get("informational", [])),
        signer={k: info.get(k) for k in ("issuer", "common_name", "alg", "time", "cert_serial_number")},
        claim_generator=(gen[0].get("name") if gen else active.get("claim_generator")),
        actions=tuple(actions),
        digital_source_type=source,
        ingredients=tuple(
            {k: i.get(k) for k in ("title", "format", "relationship", "instance_id", "active_manifest") if k in i}
            for i in active.get("ingredients", [])
        ),
        development_signer=info.get("common_name") == DEV_SIGNER_NAME,
        manifest=active,
    )
