"""Bind a signed manifest to an image watermark (a C2PA soft binding) and keep it in the store.

The soft-binding value is the watermark's 8-byte payload (version, key tag, record id); the
algorithm is named ``ALG``. The signed asset keeps its hard binding too; when metadata is later
stripped, the watermark payload found in the pixels leads back to the stored manifest
(:mod:`detect.recovery`).
"""

from __future__ import annotations

import base64
from collections.abc import Callable, Sequence
from dataclasses import dataclass

from .c2pa_io import SignedAsset, sign_asset
from .credentials import DEV_SIGNER_NAME, SigningCredentials
from .manifest import TRAINED, ai_manifest
from .store import ManifestRecord, ManifestStore

__all__ = ["ALG", "AUDIO_ALG", "VIDEO_ALG", "BoundManifest", "binding_value", "sign_and_store"]

ALG = "com.assay.image-ss.1"
VIDEO_ALG = "com.assay.video-lowband.1"  # the image payload, carried by the video mark
AUDIO_ALG = "com.assay.audio-stft.1"  # the same payload, carried by the audio mark


def binding_value(payload: bytes) -> str:
    """The soft-binding value (base64) under which a payload is indexed."""
    return base64.b64encode(payload).decode()


@dataclass(frozen=True)
class BoundManifest:
    """A signed, watermark-bound asset and its store record."""

    signed: SignedAsset
    record: ManifestRecord


def sign_and_store(
    data: bytes,
    mime: str,
    payload: bytes,
    credentials: SigningCredentials,
    store: ManifestStore,
    *,
    title: str,
    model: str,
    digital_source_type: str = TRAINED,
    thumbnail: bool = False,
    signer: str | None = None,
    sign_callback: Callable[[bytes], bytes] | None = None,
    tsa_url: str | None = None,
    implicit_label: str | None = None,
    alg: str | Sequence[str] = ALG,
    fingerprints: Sequence[tuple[str, bytes]] = (),
) -> BoundManifest:
    """Sign ``data`` (already watermarked with ``payload``) with a soft-bound AI manifest and store it.

    Args:
        data: the watermarked asset.
        mime: its media type.
        payload: the watermark payload bytes carried by the pixels.
        credentials: signing credentials.
        store: where the manifest is kept for recovery.
        title, model, digital_source_type: see :func:`provenance.manifest.ai_manifest`.
        thumbnail: embed a claim thumbnail.
        signer: the signer name recorded in the store (default: the development signer's name
            for development credentials, else ``"configured signer"``).
        sign_callback: signs instead of the key in ``credentials`` (a KMS or HSM).
        tsa_url: an RFC 3161 time-stamp authority (signing fails when it cannot be reached).
        implicit_label: an AIGC label's JSON to carry inside the manifest too (see
            :func:`provenance.manifest.asset_manifest`; images keep theirs in XMP).
        alg: the soft-binding algorithm of the mark (``ALG`` for images, ``VIDEO_ALG``, ``AUDIO_ALG``),
            or several carrying the same payload (a video's frames and its soundtrack).
        fingerprints: ``(algorithm, value)`` of content codes computed from ``data`` (``io.iscc.v0``):
            declared in the manifest and indexed beside the mark.
    """
    manifest = ai_manifest(
        title=title,
        model=model,
        digital_source_type=digital_source_type,
        soft_binding=(alg, payload),
        fingerprints=fingerprints,
        implicit_label=implicit_label,
    )
    signed = sign_asset(
        data, mime, manifest, credentials, thumbnail=thumbnail, sign_callback=sign_callback, tsa_url=tsa_url
    )
    name = signer or (DEV_SIGNER_NAME if credentials.development else "configured signer")
    record = store.put(
        manifest_id=signed.label,
        asset=signed.data,
        mime=mime,
        manifest_store=signed.manifest_store,
        signer=name,
        development_signer=credentials.development,
        soft_bindings=[*((a, payload) for a in ([alg] if isinstance(alg, str) else alg)), *fingerprints],
    )
    return BoundManifest(signed, record)
