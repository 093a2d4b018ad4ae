"""Sign and verify C2PA manifests: the only module that imports ``c2pa`` (c2pa-python).

c2pa errors are translated to Assay's. Trust anchors are passed per call through a
``c2pa.Context`` (``trust.anchors``), so one process can verify against different trust
configurations.
"""

from __future__ import annotations

import base64
import ctypes
import io
import json
import threading
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlsplit

import c2pa
from c2pa import c2pa as _native

from provenance.credentials import DEV_SIGNER_NAME, SigningCredentials
from watermark.errors import AssayError, InvalidInput, SignatureInvalid, Unavailable, UnsupportedMedia

__all__ = [
    "SUPPORTED_MIME",
    "DataHash",
    "Ingredient",
    "SignedAsset",
    "Verification",
    "read_detached_store",
    "sign_asset",
    "sign_data_hashed",
    "verify_asset",
]

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
    label: str | None = None  # the id an action's ``parameters.ingredientIds`` names it by


@dataclass(frozen=True)
class SignedAsset:
    """The signed file, the manifest store bytes (what a repository keeps) and the active
    manifest's label (``urn:c2pa:...``), the id every C2PA verifier shows for these credentials."""

    data: bytes
    manifest_store: bytes
    label: str


@dataclass(frozen=True)
class DataHash:
    """A ``c2pa.hash.data`` hard binding: the digest of the asset without the excluded byte ranges."""

    alg: str
    digest: bytes
    exclusions: tuple[tuple[int, int], ...]  # (start, length) in bytes


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
    # The active manifest's ``c2pa.hash.data`` binding, read only for detached stores (text).
    data_hash: DataHash | None = None
    failure_details: tuple[tuple[str, str], ...] = ()  # (code, the reader's explanation)
    claim_generator_version: str | None = None
    soft_bindings: tuple[str, ...] = ()  # the algorithms of the manifest's c2pa.soft-binding assertions
    implicit_label: str | None = None  # an AIGC implicit label's JSON carried as an assertion

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
    kinds = [("manifest", tuple(anchors)), ("tsa", getattr(anchors, "tsa", ()))]  # see provenance.trust.TrustAnchors
    listed = [{"trust_kind": kind, "trust_anchors": "\n".join(pems)} for kind, pems in kinds if pems]
    if listed:
        settings["trust"] = {"anchors": listed}
    return c2pa.Context.from_dict(settings)


def _signer(
    credentials: SigningCredentials, sign_callback: Callable[[bytes], bytes] | None, tsa_url: str | None
) -> c2pa.Signer:
    """A c2pa signer for ``credentials`` (or the callback), stamping with ``tsa_url`` if given.

    Raises:
        SignatureInvalid: the signer cannot be created.
    """
    alg = _ALG[credentials.alg]
    try:
        if sign_callback is not None:
            return c2pa.Signer.from_callback(sign_callback, alg, credentials.chain_pem, tsa_url)
        if credentials.private_key is None:
            raise SignatureInvalid("these credentials hold no private key: give a sign_callback")
        info = c2pa.C2paSignerInfo(
            alg.name.lower().encode(),
            credentials.chain_pem.encode(),
            credentials.private_key.reveal(),
            tsa_url.encode() if tsa_url else None,
        )
        return c2pa.Signer.from_info(info)
    except c2pa.C2paError as exc:
        raise SignatureInvalid(f"cannot create signer: {exc.__class__.__name__}") from None


def _signing_error(exc: Exception, tsa_url: str | None) -> AssayError:
    """Signing failed: the time-stamp authority could not be reached (a service outage: 503),
    or the credentials or claim were refused."""
    message = str(exc)
    if tsa_url and ("http" in message or "timestamp" in message.lower() or "time stamp" in message.lower()):
        where = urlsplit(tsa_url)  # scheme and host only: a URL may carry credentials
        host = f"{where.scheme}://{where.hostname}" + (f":{where.port}" if where.port else "")
        return Unavailable(f"the time-stamp authority {host} cannot be reached, so nothing was signed; try again later")
    return SignatureInvalid(f"signing failed: {message[:300]}")


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
    signer = _signer(credentials, sign_callback, tsa_url)
    out = io.BytesIO()
    try:
        with c2pa.Builder(json.dumps(manifest), _context((), thumbnail)) as builder:
            if not embed:
                builder.set_no_embed()
            for ing in ingredients:
                _check_mime(ing.mime)
                about = {"title": ing.title, "relationship": ing.relationship}
                if ing.label is not None:
                    about["label"] = ing.label
                builder.add_ingredient(about, ing.mime, io.BytesIO(ing.data))
            store = builder.sign(signer, mime, io.BytesIO(data), out)
    except (c2pa.C2paError.Signature, c2pa.C2paError.Verify) as exc:
        raise _signing_error(exc, tsa_url) from None
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
    return _verification(store)


def _verification(store: dict[str, Any], data_hash: DataHash | None = None) -> Verification:
    """A :class:`Verification` from a reader's store JSON, which carries the validation state
    and results (no further calls across the FFI)."""
    state = store.get("validation_state")
    results = store.get("validation_results") or {}
    active = store.get("manifests", {}).get(store.get("active_manifest", ""), {})
    codes = results.get("activeManifest", {}) if isinstance(results, dict) else {}
    actions: list[dict[str, Any]] = []
    bindings: list[str] = []
    implicit: str | None = None
    for assertion in active.get("assertions", []):
        label, data = str(assertion.get("label", "")), assertion.get("data")
        if label.startswith("c2pa.actions"):
            actions.extend(assertion.get("data", {}).get("actions", []))
        elif label.startswith("c2pa.soft-binding") and isinstance(data, dict) and data.get("alg"):
            bindings.append(str(data["alg"])[:200])
        elif "aigc" in label.lower() and implicit is None:
            implicit = data if isinstance(data, str) else json.dumps(data, ensure_ascii=False)
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
        data_hash=data_hash,
        failure_details=tuple(
            (str(c.get("code", "")), str(c.get("explanation", ""))) for c in codes.get("failure", [])
        ),
        claim_generator_version=str(gen[0]["version"])[:100] if gen and gen[0].get("version") else None,
        soft_bindings=tuple(bindings),
        implicit_label=implicit,
    )


# The data-hashed ("embeddable") signing API of c2pa-rs is exported by the library c2pa-python
# ships but not wrapped in Python (0.38.1): it is the route for assets c2pa-rs cannot embed into,
# such as unstructured text (C2PA 2.4, A.8). Declared once, on first use.
_NATIVE_LOCK = threading.Lock()
_NATIVE_READY = False
_Bytes = ctypes.POINTER(ctypes.c_ubyte)


def _declare_native() -> None:
    global _NATIVE_READY
    with _NATIVE_LOCK:
        if _NATIVE_READY:
            return
        lib = _native._lib
        lib.c2pa_builder_data_hashed_placeholder.argtypes = [
            ctypes.POINTER(_native.C2paBuilder),
            ctypes.c_size_t,
            ctypes.c_char_p,
            ctypes.POINTER(_Bytes),
        ]
        lib.c2pa_builder_data_hashed_placeholder.restype = ctypes.c_int64
        lib.c2pa_builder_sign_data_hashed_embeddable.argtypes = [
            ctypes.POINTER(_native.C2paBuilder),
            ctypes.POINTER(_native.C2paSigner),
            ctypes.c_char_p,
            ctypes.c_char_p,
            ctypes.POINTER(_native.C2paStream),
            ctypes.POINTER(_Bytes),
        ]
        lib.c2pa_builder_sign_data_hashed_embeddable.restype = ctypes.c_int64
        _NATIVE_READY = True


def _take(size: int, ptr: Any, what: str) -> bytes:
    """The bytes a native call returned (freed here), or the library's error as a C2paError."""
    _native._check_ffi_operation_result(size, f"{what} failed: {{}}", check=lambda r: r < 0)
    try:
        return ctypes.string_at(ptr, size)
    finally:
        _native._lib.c2pa_free(ptr)


_DETACHED = "application/c2pa"  # the format of a bare manifest store (JUMBF)


def sign_data_hashed(
    manifest: dict[str, Any],
    credentials: SigningCredentials,
    layout: Callable[[int], tuple[bytes, int, int]],
    *,
    sign_callback: Callable[[bytes], bytes] | None = None,
    tsa_url: str | None = None,
) -> SignedAsset:
    """Sign a manifest store bound to an asset by a ``c2pa.hash.data`` hard binding, for assets
    the caller embeds the store into itself (text).

    Args:
        manifest: the manifest definition.
        credentials: the certificate chain and, unless ``sign_callback`` is given, the key.
        layout: given the store's size in bytes (fixed before signing), returns the asset's
            bytes as they will be hashed, with the store's place reserved, and that place's
            ``(start, length)``: the one range the hash excludes.
        sign_callback, tsa_url: see :func:`sign_asset`.

    Returns:
        The store (``data`` is empty: the caller embeds ``manifest_store``).

    Raises:
        SignatureInvalid: signing failed (credentials, timestamp authority).
    """
    _declare_native()
    signer = _signer(credentials, sign_callback, tsa_url)
    try:
        with c2pa.Builder(json.dumps(manifest), _context((), False)) as builder:
            out = _Bytes()
            size = _native._lib.c2pa_builder_data_hashed_placeholder(
                builder._handle, signer.reserve_size(), _DETACHED.encode(), ctypes.byref(out)
            )
            placeholder = _take(size, out, "reserving the manifest")
            asset, start, length = layout(len(placeholder))
            data_hash = {
                "exclusions": [{"start": start, "length": length}],
                "name": "jumbf manifest",
                "alg": "sha256",
                "hash": [],
                "pad": [],
            }
            stream = _native.Stream(io.BytesIO(asset))
            try:
                out = _Bytes()
                size = _native._lib.c2pa_builder_sign_data_hashed_embeddable(
                    builder._handle,
                    signer._handle,
                    json.dumps(data_hash).encode(),
                    _DETACHED.encode(),
                    stream._stream,
                    ctypes.byref(out),
                )
                store = _take(size, out, "signing")
            finally:
                stream.close()
    except c2pa.C2paError as exc:
        raise _signing_error(exc, tsa_url) from None
    finally:
        signer.close()
    if len(store) != len(placeholder):
        raise SignatureInvalid(f"the signed store has {len(store)} bytes, {len(placeholder)} were reserved")
    with c2pa.Reader(_DETACHED, io.BytesIO(asset), store) as reader:
        label = json.loads(reader.json()).get("active_manifest")
    if not isinstance(label, str) or not label:
        raise SignatureInvalid("the signed manifest store has no active manifest")
    return SignedAsset(b"", store, label)


def read_detached_store(store: bytes, asset: bytes, *, trust_anchors: Sequence[str] = ()) -> Verification:
    """Validate a manifest store kept apart from its asset (text carries it in a wrapper).

    Signature, certificate trust and assertions are validated by c2pa; the store's
    ``c2pa.hash.data`` binding is returned in ``data_hash`` for the caller to check against the
    asset, because c2pa cannot locate a store inside an asset it has no reader for (it reports
    ``assertion.dataHash.mismatch`` for every such asset; the caller replaces that code).

    Raises:
        InvalidInput: the store cannot be parsed.
    """
    try:
        reader = c2pa.Reader(_DETACHED, io.BytesIO(asset), store, context=_context(trust_anchors, False))
    except c2pa.C2paError as exc:
        raise InvalidInput(f"cannot read this manifest store: {str(exc)[:200]}") from None
    with reader:
        summary = json.loads(reader.json())
        detailed = json.loads(reader.detailed_json())
    active = detailed.get("manifests", {}).get(detailed.get("active_manifest", ""), {})
    raw = (active.get("assertion_store") or {}).get("c2pa.hash.data")
    data_hash = None
    if isinstance(raw, dict):
        try:
            data_hash = DataHash(
                alg=str(raw.get("alg") or "sha256"),
                digest=base64.b64decode(raw.get("hash") or ""),
                exclusions=tuple((int(e["start"]), int(e["length"])) for e in raw.get("exclusions") or ()),
            )
        except (KeyError, TypeError, ValueError):
            data_hash = None
    return _verification(summary, data_hash)
