"""Real c2pa signing and verification with the development CA."""

from __future__ import annotations

import io
import json
import stat
from pathlib import Path

import numpy as np
import pytest
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from PIL import Image

from provenance.c2pa_io import sign_asset, verify_asset
from provenance.credentials import SigningCredentials, credentials_from_files, ensure_dev_credentials
from provenance.manifest import TRAINED, ai_manifest
from watermark.errors import ConfigurationError, InvalidInput, Unavailable, UnsupportedMedia

FORMATS = {"image/jpeg": "JPEG", "image/png": "PNG"}


@pytest.fixture(scope="module")
def creds(tmp_path_factory: pytest.TempPathFactory) -> SigningCredentials:
    return ensure_dev_credentials(tmp_path_factory.mktemp("prov"))


def image_bytes(mime: str, seed: int = 0, size: int = 256) -> bytes:
    pixels = (np.random.default_rng(seed).random((size, size, 3)) * 255).astype("uint8")
    out = io.BytesIO()
    Image.fromarray(pixels).save(out, FORMATS[mime])
    return out.getvalue()


def signed(mime: str, creds: SigningCredentials, **kw: object) -> bytes:
    manifest = ai_manifest(title="generated", model="test-generator", **kw)  # type: ignore[arg-type]
    return sign_asset(image_bytes(mime), mime, manifest, creds).data


@pytest.mark.parametrize("mime", sorted(FORMATS))
def test_sign_verify_round_trip_untrusted_then_trusted(mime: str, creds: SigningCredentials) -> None:
    data = signed(mime, creds, soft_binding=("com.assay.image.1", b"\x01payload"))
    v = verify_asset(data, mime)
    assert v.manifest_present and v.validation_state == "Valid"
    assert "signingCredential.untrusted" in v.failures and not v.trusted
    assert v.development_signer and v.claim_generator == "Assay"
    assert v.digital_source_type == TRAINED
    assert [a["action"] for a in v.actions] == ["c2pa.created", "c2pa.watermarked.bound"]
    assert v.actions[0]["softwareAgent"]["name"] == "test-generator"
    assert creds.root_pem is not None
    t = verify_asset(data, mime, trust_anchors=[creds.root_pem])
    assert t.validation_state == "Trusted" and t.trusted and t.failures == ()


def test_other_root_does_not_make_it_trusted(creds: SigningCredentials, tmp_path: Path) -> None:
    other = ensure_dev_credentials(tmp_path)
    assert other.root_pem is not None and other.root_pem != creds.root_pem
    v = verify_asset(signed("image/jpeg", creds), "image/jpeg", trust_anchors=[other.root_pem])
    assert v.validation_state == "Valid" and not v.trusted


def test_tampered_pixels_are_invalid(creds: SigningCredentials) -> None:
    data = bytearray(signed("image/jpeg", creds))
    data[-100] ^= 0xFF  # inside the entropy-coded image data, before the end marker
    v = verify_asset(bytes(data), "image/jpeg")
    assert v.manifest_present and v.validation_state == "Invalid"
    assert "assertion.dataHash.mismatch" in v.failures


def test_reencoding_strips_the_manifest(creds: SigningCredentials) -> None:
    out = io.BytesIO()
    Image.open(io.BytesIO(signed("image/png", creds))).save(out, "JPEG", quality=90)
    assert not verify_asset(out.getvalue(), "image/jpeg").manifest_present
    assert not verify_asset(image_bytes("image/png"), "image/png").manifest_present


def test_truncated_and_garbage_files_get_clear_results(creds: SigningCredentials) -> None:
    data = signed("image/jpeg", creds)
    truncated = verify_asset(data[: len(data) // 3], "image/jpeg")
    assert truncated.validation_state == "Invalid" and "assertion.dataHash.mismatch" in truncated.failures
    for garbage in (b"\xff\xd8\xff" + b"\x00" * 50, b"not an image at all"):
        with pytest.raises(InvalidInput, match="cannot read"):
            verify_asset(garbage, "image/jpeg")
    with pytest.raises(UnsupportedMedia):
        verify_asset(data, "text/plain")
    with pytest.raises(UnsupportedMedia):
        sign_asset(data, "application/x-foo", ai_manifest(title="x", model="m"), creds)


def test_callback_signer_keeps_the_key_outside(tmp_path: Path, creds: SigningCredentials) -> None:
    key = serialization.load_pem_private_key(creds.private_key.reveal(), password=None)
    assert isinstance(key, ec.EllipticCurvePrivateKey)
    calls = []

    def sign(payload: bytes) -> bytes:
        calls.append(len(payload))
        return key.sign(payload, ec.ECDSA(hashes.SHA256()))

    public_only = SigningCredentials(alg="es256", chain_pem=creds.chain_pem, private_key=creds.private_key)
    data = sign_asset(
        image_bytes("image/jpeg"), "image/jpeg", ai_manifest(title="x", model="m"), public_only, sign_callback=sign
    ).data
    assert calls
    assert creds.root_pem is not None
    assert verify_asset(data, "image/jpeg", trust_anchors=[creds.root_pem]).trusted


def test_dev_credentials_are_created_once_privately(tmp_path: Path) -> None:
    first = ensure_dev_credentials(tmp_path)
    second = ensure_dev_credentials(tmp_path)
    assert first.root_pem == second.root_pem and first.development
    assert stat.S_IMODE((tmp_path / "dev-ca" / "signer.key").stat().st_mode) == 0o600
    assert "PRIVATE" not in repr(first) and b"PRIVATE KEY" in first.private_key.reveal()


def test_credentials_from_files_checks_key_and_algorithm(tmp_path: Path) -> None:
    a, b = ensure_dev_credentials(tmp_path / "a"), ensure_dev_credentials(tmp_path / "b")
    (tmp_path / "chain.pem").write_text(a.chain_pem)
    (tmp_path / "wrong.key").write_bytes(b.private_key.reveal())
    with pytest.raises(ConfigurationError, match="does not belong"):
        credentials_from_files(tmp_path / "chain.pem", tmp_path / "wrong.key", alg="es256")
    with pytest.raises(ConfigurationError, match="algorithm"):
        credentials_from_files(tmp_path / "chain.pem", tmp_path / "wrong.key", alg="md5")
    with pytest.raises(ConfigurationError, match="cannot load"):
        credentials_from_files(tmp_path / "missing.pem", tmp_path / "wrong.key", alg="es256")


def test_unreachable_timestamp_authority_fails_signing(creds: SigningCredentials) -> None:
    with pytest.raises(Unavailable, match=r"time-stamp authority http://127\.0\.0\.1:9 cannot be reached"):
        sign_asset(
            image_bytes("image/jpeg"),
            "image/jpeg",
            ai_manifest(title="x", model="m"),
            creds,
            tsa_url="http://127.0.0.1:9/tsa",
        )


def _wav() -> bytes:
    import wave

    buf = io.BytesIO()
    with wave.open(buf, "wb") as w:
        w.setnchannels(1)
        w.setsampwidth(2)
        w.setframerate(16000)
        w.writeframes((np.sin(np.arange(8000) / 10) * 8000).astype(np.int16).tobytes())
    return buf.getvalue()


def test_audio_through_the_same_call(creds: SigningCredentials) -> None:
    assert creds.root_pem is not None
    data = sign_asset(_wav(), "audio/wav", ai_manifest(title="voice", model="tts"), creds).data
    v = verify_asset(data, "audio/wav", trust_anchors=[creds.root_pem])
    assert v.validation_state == "Trusted" and v.digital_source_type == TRAINED


def test_sidecar_manifest_leaves_the_asset_untouched(creds: SigningCredentials) -> None:
    original = image_bytes("image/png", seed=9)
    side = sign_asset(original, "image/png", ai_manifest(title="x", model="m"), creds, embed=False)
    assert side.data == original and side.manifest_store
    assert not verify_asset(original, "image/png").manifest_present
    v = verify_asset(original, "image/png", manifest_store=side.manifest_store)
    assert v.manifest_present and v.validation_state == "Valid" and v.failures == ("signingCredential.untrusted",)
    other = image_bytes("image/png", seed=10)
    assert (
        "assertion.dataHash.mismatch" in verify_asset(other, "image/png", manifest_store=side.manifest_store).failures
    )


def test_trust_anchors_from_files(tmp_path: Path, creds: SigningCredentials) -> None:
    from provenance.trust import load_trust_anchors

    other = ensure_dev_credentials(tmp_path / "other")
    assert creds.root_pem is not None and other.root_pem is not None
    bundle = tmp_path / "c2pa-trust-list.pem"
    bundle.write_text(other.root_pem + creds.root_pem)
    anchors = load_trust_anchors([bundle])
    assert len(anchors) == 2
    data = signed("image/jpeg", creds)
    assert verify_asset(data, "image/jpeg", trust_anchors=anchors).validation_state == "Trusted"
    only_other = load_trust_anchors([], development=other)
    assert verify_asset(data, "image/jpeg", trust_anchors=only_other).validation_state == "Valid"
    assert load_trust_anchors([bundle], development=creds) == anchors  # deduplicated
    (tmp_path / "junk.pem").write_text("not a certificate")
    with pytest.raises(ConfigurationError, match="no valid PEM"):
        load_trust_anchors([tmp_path / "junk.pem"])
    with pytest.raises(ConfigurationError, match="cannot read"):
        load_trust_anchors([tmp_path / "missing.pem"])


def test_thumbnail_long_edge_is_configurable(creds: SigningCredentials) -> None:
    import c2pa

    original = image_bytes("image/jpeg", size=512)
    sizes = {}
    for thumb in (False, 64, True):
        data = sign_asset(original, "image/jpeg", ai_manifest(title="x", model="m"), creds, thumbnail=thumb).data
        with c2pa.Reader("image/jpeg", io.BytesIO(data)) as reader:
            store = json.loads(reader.json())
        sizes[thumb] = (len(data), "thumbnail" in store["manifests"][store["active_manifest"]])
    assert sizes[False][1] is False and sizes[64][1] and sizes[True][1]
    assert sizes[False][0] < sizes[64][0] < sizes[True][0]


def test_edits_carry_their_ingredients(creds: SigningCredentials) -> None:
    from provenance.c2pa_io import Ingredient
    from provenance.manifest import COMPOSITE

    parent = signed("image/png", creds)
    edit = image_bytes("image/png", seed=4)
    manifest = ai_manifest(title="edited", model="inpainter", digital_source_type=COMPOSITE)
    data = sign_asset(
        edit, "image/png", manifest, creds, ingredients=[Ingredient(parent, "image/png", "original.png")]
    ).data
    v = verify_asset(data, "image/png")
    assert v.digital_source_type == COMPOSITE
    assert [(i["title"], i["relationship"]) for i in v.ingredients] == [("original.png", "parentOf")]
    assert "active_manifest" in v.ingredients[0]  # the parent's own manifest came along
