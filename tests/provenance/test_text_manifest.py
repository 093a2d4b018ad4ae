"""C2PA manifests in plain text (A.8), signed and validated with the real c2pa library, checked
against the other PyPI implementation of the wrapper; audio, video and PDF signing; a real
RFC 3161 time-stamp authority."""

from __future__ import annotations

import unicodedata

import c2pa_text
import c2pa_unstructured_text as frame
import pytest

from provenance.c2pa_io import read_detached_store, sign_asset, sign_data_hashed, verify_asset
from provenance.credentials import SigningCredentials, ensure_dev_credentials
from provenance.manifest import ai_manifest, asset_manifest
from provenance.media_types import sniff_media
from provenance.text_manifest import (
    BINDING_MISMATCH,
    binding_digest,
    check_text_binding,
    read_text_manifest,
    sign_text,
    strip_wrappers,
)
from watermark.errors import InvalidInput, Unavailable

from .media_fixtures import mp4_bytes, pdf_bytes, wav_bytes
from .tsa import running_tsa

ARTICLE = "The council approved the harbour budget on Tuesday. Cafe\u0301 owners said they were pleased."


@pytest.fixture(scope="module")
def creds(tmp_path_factory: pytest.TempPathFactory) -> SigningCredentials:
    return ensure_dev_credentials(tmp_path_factory.mktemp("text-prov"))


@pytest.fixture(scope="module")
def signed(creds: SigningCredentials) -> tuple[str, str]:
    text, asset = sign_text(ARTICLE, ai_manifest(title="story", model="test-model"), creds)
    return text, asset.label


def anchors(creds: SigningCredentials) -> list[str]:
    assert creds.root_pem is not None
    return [creds.root_pem]


def test_signed_text_reads_back_valid_then_trusted(signed: tuple[str, str], creds: SigningCredentials) -> None:
    text, label = signed
    body = unicodedata.normalize("NFC", ARTICLE)
    assert text.startswith(body) and text != body  # NFC text, then the invisible wrapper
    found = read_text_manifest(text)
    v = found.verification
    assert v.manifest_present and v.label == label and found.visible_text == body
    assert v.validation_state == "Valid" and v.failures == ("signingCredential.untrusted",)
    assert [a["action"] for a in v.actions] == ["c2pa.created"]
    trusted = read_text_manifest(text, trust_anchors=anchors(creds)).verification
    assert trusted.validation_state == "Trusted" and trusted.failures == ()
    start, length = found.wrapper or (0, 0)
    assert start == len(body.encode()) and length == frame.target_length(len(frame.extract(text)["payload"]))


@pytest.mark.parametrize(
    "edit",
    [
        lambda t: t.replace("Tuesday", "Monday"),  # shorter: the wrapper moved
        lambda t: t.replace("Tuesday", "Tuesdaz"),  # same length: only the digest differs
        lambda t: "Breaking: " + t,
    ],
)
def test_an_edited_text_is_invalid_with_the_binding_failure(
    signed: tuple[str, str], creds: SigningCredentials, edit
) -> None:  # type: ignore[no-untyped-def]
    v = read_text_manifest(edit(signed[0]), trust_anchors=anchors(creds)).verification
    assert v.validation_state == "Invalid" and v.failures == (BINDING_MISMATCH,)


def test_two_wrappers_and_a_damaged_wrapper_follow_the_specification(signed: tuple[str, str]) -> None:
    text = signed[0]
    wrapper = text[len(unicodedata.normalize("NFC", ARTICLE)) :]
    two = read_text_manifest(text + wrapper)
    assert two.verification.validation_state == "Invalid"
    assert two.verification.failures == ("manifest.text.multipleWrappers",)
    assert two.visible_text == unicodedata.normalize("NFC", ARTICLE)
    damaged = text[: -len(wrapper) // 2]  # cut mid-store: the length says more than is there
    bad = read_text_manifest(damaged)
    assert bad.verification.failures == ("manifest.text.corruptedWrapper",) and bad.error
    assert not read_text_manifest(ARTICLE).verification.manifest_present


def test_a_wrapper_in_the_middle_is_valid_when_the_binding_excludes_it(creds: SigningCredentials) -> None:
    head, tail = "First paragraph here.\n", "Second paragraph follows."
    store_holder: dict[str, int] = {}

    def layout(size: int) -> tuple[bytes, int, int]:
        store_holder["n"] = frame.target_length(size)
        return head.encode() + b"\0" * store_holder["n"] + tail.encode(), len(head.encode()), store_holder["n"]

    asset = sign_data_hashed(ai_manifest(title="mid", model="m"), creds, layout)
    text = head + frame.encode_padded(asset.manifest_store) + tail
    v = read_text_manifest(text, trust_anchors=anchors(creds)).verification
    assert v.validation_state == "Trusted", v.failure_details
    # moving that wrapper to the end breaks the binding
    moved = head + tail + frame.encode_padded(asset.manifest_store)
    assert read_text_manifest(moved, trust_anchors=anchors(creds)).verification.failures == (BINDING_MISMATCH,)


def test_the_binding_digest_is_the_specifications(signed: tuple[str, str]) -> None:
    text = signed[0]
    theirs = frame.compute_data_hash(text)
    assert binding_digest(text, theirs["exclusions"]) == bytes(theirs["hash"])
    # stored non-NFC: excluded bytes are dropped first, then the rest is normalised
    decomposed = unicodedata.normalize("NFD", ARTICLE) + text[len(unicodedata.normalize("NFC", ARTICLE)) :]
    theirs = frame.compute_data_hash(decomposed)
    assert binding_digest(decomposed, theirs["exclusions"]) == bytes(theirs["hash"])
    with pytest.raises(InvalidInput):
        binding_digest("abc", [(2, 5)])


def test_the_other_implementation_reads_our_wrapper_and_we_read_theirs(
    signed: tuple[str, str], creds: SigningCredentials
) -> None:
    text = signed[0]
    store, clean = c2pa_text.extract_manifest(text)
    assert store == bytes(frame.extract(text)["payload"]) and clean == unicodedata.normalize("NFC", ARTICLE)
    assert c2pa_text.validate_text(text).valid
    # the reverse: c2pa-text frames a store that Assay signed for its wrapper's byte range
    body = "A text framed by the other library, with its padded wrapper."

    def layout(size: int) -> tuple[bytes, int, int]:
        n = c2pa_text.worst_case_wrapper_byte_length(size)
        return body.encode() + b"\0" * n, len(body.encode()), n

    asset = sign_data_hashed(ai_manifest(title="theirs", model="m"), creds, layout)
    theirs = body + c2pa_text.encode_wrapper_padded(
        asset.manifest_store, c2pa_text.worst_case_wrapper_byte_length(len(asset.manifest_store))
    )
    v = read_text_manifest(theirs, trust_anchors=anchors(creds)).verification
    assert v.validation_state == "Trusted" and v.label == asset.label


def test_signing_refuses_a_text_that_already_carries_credentials(
    signed: tuple[str, str], creds: SigningCredentials
) -> None:
    with pytest.raises(InvalidInput, match="already carries"):
        sign_text(signed[0], ai_manifest(title="again", model="m"), creds)
    with pytest.raises(InvalidInput, match="empty"):
        sign_text("  \n", ai_manifest(title="empty", model="m"), creds)


def test_a_stripped_copy_is_checked_against_the_stored_manifest(
    signed: tuple[str, str], creds: SigningCredentials
) -> None:
    text = signed[0]
    stripped = strip_wrappers(text)
    assert stripped == unicodedata.normalize("NFC", ARTICLE)
    store = bytes(frame.extract(text)["payload"])
    same = check_text_binding(
        read_detached_store(store, stripped.encode(), trust_anchors=anchors(creds)), stripped, wrapper=None
    )
    assert same.validation_state == "Trusted"
    edited = stripped.replace("pleased", "delighted")
    changed = check_text_binding(read_detached_store(store, edited.encode()), edited, wrapper=None)
    assert changed.failures == ("signingCredential.untrusted", BINDING_MISMATCH)


@pytest.mark.parametrize(
    ("make", "mime"), [(wav_bytes, "audio/wav"), (mp4_bytes, "video/mp4"), (pdf_bytes, "application/pdf")]
)
def test_audio_video_and_pdf_are_signed_and_verified(make, mime: str, creds: SigningCredentials) -> None:  # type: ignore[no-untyped-def]
    data = make()
    assert sniff_media(data) == mime
    manifest = asset_manifest(title="recording", software_agent="recorder", digital_source_type="digitalCapture")
    out = sign_asset(data, mime, manifest, creds)
    v = verify_asset(out.data, mime, trust_anchors=anchors(creds))
    assert v.validation_state == "Trusted" and v.label == out.label
    assert not verify_asset(data, mime).manifest_present


def test_a_time_stamp_authority_attests_the_signing_time(creds: SigningCredentials) -> None:
    manifest = ai_manifest(title="stamped", model="m")
    with running_tsa() as (url, tsa):
        image = sign_asset(pdf_bytes(), "application/pdf", manifest, creds, tsa_url=url)
        text, _ = sign_text("A stamped text.", manifest, creds, tsa_url=url)
        assert tsa.requests == 2
        v = verify_asset(image.data, "application/pdf", trust_anchors=[*anchors(creds), tsa.root_pem])
        t = read_text_manifest(text, trust_anchors=[*anchors(creds), tsa.root_pem]).verification
    for found in (v, t):
        assert found.validation_state == "Trusted" and (found.signer or {}).get("time")
        assert "timeStamp.untrusted" not in found.informational
    unstamped = verify_asset(sign_asset(pdf_bytes(), "application/pdf", manifest, creds).data, "application/pdf")
    assert not (unstamped.signer or {}).get("time")
    untrusted_tsa = verify_asset(image.data, "application/pdf", trust_anchors=anchors(creds))
    assert "timeStamp.untrusted" in untrusted_tsa.informational


def test_an_unreachable_time_stamp_authority_refuses_to_sign(creds: SigningCredentials) -> None:
    with running_tsa() as (url, _):
        pass  # the server is stopped: its port is closed
    secret_url = url.replace("http://", "http://user:hunter2@")
    for sign in (
        lambda: sign_asset(
            pdf_bytes(), "application/pdf", ai_manifest(title="t", model="m"), creds, tsa_url=secret_url
        ),
        lambda: sign_text("Some text.", ai_manifest(title="t", model="m"), creds, tsa_url=secret_url),
    ):
        with pytest.raises(Unavailable, match=r"time-stamp authority .* cannot be reached") as err:
            sign()
        assert "hunter2" not in str(err.value)


def test_a_wrapper_holding_garbage_is_present_but_unreadable() -> None:
    text = "A text with a forged wrapper." + frame.encode_padded(b"not a manifest store at all" * 4)
    found = read_text_manifest(text)
    assert found.verification.manifest_present and found.verification.validation_state is None
    assert found.error and found.visible_text == "A text with a forged wrapper."


def test_media_signatures_are_not_read_into_texts() -> None:
    assert sniff_media(b"ID3 tags hold the artist and title of a song.") is None
    assert sniff_media(b"ID3\x03\x00\x00\x00\x00\x00\x00") == "audio/mpeg"
    assert sniff_media(b"RIFF is a container format.") is None
    assert sniff_media(wav_bytes()) == "audio/wav" and sniff_media(pdf_bytes()) == "application/pdf"
