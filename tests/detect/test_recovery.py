"""Credentials recovered through the image watermark after the manifest was stripped."""

from __future__ import annotations

import io

import numpy as np
from PIL import Image
from skimage import data as skdata

from detect.recovery import recover_credentials
from provenance.c2pa_io import verify_asset
from provenance.credentials import SigningCredentials
from provenance.soft_binding import ALG, binding_value, sign_and_store
from provenance.store import ManifestStore
from tests.provenance.test_store import creds, store  # noqa: F401  (fixtures: SQLite and PostgreSQL)
from watermark.image import ImageWatermarkDetector, ImageWatermarker, detect_file, watermark_file
from watermark.keys import KeyRing, Secret, WatermarkKey

RING = KeyRing([WatermarkKey("img", "kgw", Secret(b"recovery-test-secret-0000000000"))])


def _jpeg(arr: np.ndarray, quality: int, size: int | None = None) -> bytes:
    im = Image.fromarray(arr)
    if size:
        im = im.resize((size, size), Image.LANCZOS)
    buf = io.BytesIO()
    im.save(buf, "JPEG", quality=quality)
    return buf.getvalue()


def test_recovered_after_strip_jpeg_and_resize(store: ManifestStore, creds: SigningCredentials) -> None:  # noqa: F811
    source = _jpeg(skdata.astronaut(), 95, size=1024)
    marked = watermark_file(source, ImageWatermarker(RING))
    bound = sign_and_store(
        marked.data, marked.mime_type, marked.payload.to_bytes(), creds, store, title="a", model="gen-1"
    )
    assert store.by_binding(ALG, binding_value(marked.payload.to_bytes()))[0].manifest_id == bound.record.manifest_id
    signed = verify_asset(bound.signed.data, "image/jpeg", trust_anchors=[creds.root_pem])
    assert signed.validation_state == "Trusted" and not signed.failures  # our soft-binding alg is accepted
    # A platform strips metadata, halves the size and re-encodes at quality 75.
    stripped = _jpeg(np.asarray(Image.open(io.BytesIO(bound.signed.data))), 75, size=512)
    assert not verify_asset(stripped, "image/jpeg").manifest_present
    detection = detect_file(stripped, ImageWatermarkDetector(RING))
    recovered = recover_credentials(stripped, "image/jpeg", detection, store, trust_anchors=[creds.root_pem])
    assert recovered is not None and recovered.manifest.manifest_id == bound.record.manifest_id
    codes = [f.code for f in recovered.manifest.failures]
    assert not recovered.hard_binding_matches and "assertion.dataHash.mismatch" in codes
    assert recovered.summary.startswith("Credentials recovered through the watermark")
    m = recovered.manifest
    assert m.actions[0].action == "c2pa.created" and m.development_signer is True
    assert m.verdict == "trusted" and m.detected  # the claims hold; only the pixels changed
    # The untouched signed file matches its hard binding.
    direct = detect_file(bound.signed.data, ImageWatermarkDetector(RING))
    again = recover_credentials(bound.signed.data, "image/jpeg", direct, store)
    assert again is not None and again.hard_binding_matches


def test_nothing_recovered_without_mark_or_record(store: ManifestStore) -> None:  # noqa: F811
    plain = _jpeg(skdata.coffee(), 90)
    detection = detect_file(plain, ImageWatermarkDetector(RING))
    assert recover_credentials(plain, "image/jpeg", detection, store) is None
    marked = watermark_file(plain, ImageWatermarker(RING))  # marked but never signed or stored
    detection = detect_file(marked.data, ImageWatermarkDetector(RING))
    assert detection.found
    assert recover_credentials(marked.data, "image/jpeg", detection, store) is None
