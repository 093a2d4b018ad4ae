"""Fingerprints of credentialed texts and their record index, on SQLite and PostgreSQL."""

from __future__ import annotations

import base64
import random

import pytest
import sqlalchemy as sa

from provenance.credentials import SigningCredentials
from provenance.fingerprint import SKETCH_SIZE, fingerprint_key, shingle_hashes, sketch
from provenance.store import ManifestStore
from provenance.text_binding import ALG, sign_and_record_text
from provenance.text_manifest import read_text_manifest, strip_wrappers
from provenance.text_records import TextRecordIndex
from watermark.errors import ManifestNotFound

from .test_store import creds, store

__all__ = ["creds", "store"]

KEY = fingerprint_key(b"watermark key secret")
VOCABULARY = (
    "harbour ferry council budget river morning quay tide storm fisherman market bridge lantern crew "
    "captain weather schedule vote mayor library children school festival evening rain"
)
WORDS = VOCABULARY.split()


def essay(seed: int, n: int = 120) -> str:
    rng = random.Random(seed)
    return " ".join(rng.choice(WORDS) for _ in range(n)) + "."


def test_sketch_is_keyed_normalised_and_bottom_k() -> None:
    text = essay(1)
    fp = sketch(text, KEY)
    assert len(fp.hashes) == SKETCH_SIZE and list(fp.hashes) == sorted(fp.hashes)
    assert set(fp.hashes) <= set(shingle_hashes(text, KEY).tolist())
    assert sketch(text.upper().replace(" ", "  \n"), KEY) == fp  # case and spacing do not matter
    assert not set(sketch(text, fingerprint_key(b"another key")).hashes) & set(fp.hashes)
    assert sketch("Two words", KEY).hashes == ()


def test_records_are_found_by_containment_per_key(store: ManifestStore, creds: SigningCredentials) -> None:
    index = TextRecordIndex(store)
    texts = {f"urn:uuid:rec-{i}": essay(i) for i in range(6)}
    for rid, text in texts.items():
        out = sign_and_record_text(
            text, creds, index, record_id=rid, key_id="k1", scheme="kgw", key_secret=b"watermark key secret",
            model="m", signer="s",
        )  # fmt: skip
        assert strip_wrappers(out.text) == text and read_text_manifest(out.text).verification.label == out.signed.label
        assert store.by_binding(ALG, base64.b64encode(rid.encode()).decode())[0].manifest_id == out.signed.label
    target = "urn:uuid:rec-3"
    article = essay(100, 200) + " " + texts[target] + " " + essay(101, 200)  # pasted into a longer text
    found = index.match("k1", shingle_hashes(article, KEY), min_matched=4)
    assert found[0].record_id == target and found[0].containment == 1.0
    assert all(m.containment < 0.3 for m in found[1:])
    words = texts[target].split()
    for i in random.Random(0).sample(range(len(words)), len(words) // 10):
        words[i] = "edited"
    edited = index.match("k1", shingle_hashes(" ".join(words), KEY), min_matched=4)
    assert edited[0].record_id == target and 0.5 < edited[0].containment < 1.0
    assert index.match("k2", shingle_hashes(article, KEY)) == []  # another key's records only
    record = index.record(target)
    assert record is not None and record.key_id == "k1" and record.sketch_size == SKETCH_SIZE
    assert index.record("urn:uuid:none") is None


def test_a_failed_record_leaves_no_manifest(store: ManifestStore, creds: SigningCredentials) -> None:
    index = TextRecordIndex(store)
    kw = {"key_id": "k1", "scheme": "kgw", "key_secret": b"s", "model": "m", "signer": "s"}
    first = sign_and_record_text(essay(7), creds, index, record_id="urn:uuid:dup", **kw)  # type: ignore[arg-type]
    with pytest.raises(sa.exc.IntegrityError):  # the same record id again: the whole transaction is rolled back
        sign_and_record_text(essay(8), creds, index, record_id="urn:uuid:dup", **kw)  # type: ignore[arg-type]
    assert store.record(first.signed.label).mime == "text/plain"
    labels = {m.manifest_id for m in store.by_binding(ALG, base64.b64encode(b"urn:uuid:dup").decode())}
    assert labels == {first.signed.label}  # the second manifest was not stored
    short = sign_and_record_text("Two words", creds, index, record_id="urn:uuid:short", **kw)  # type: ignore[arg-type]
    assert short.record.sketch_size == 0
    with pytest.raises(ManifestNotFound):
        store.manifest_bytes("urn:c2pa:none")
