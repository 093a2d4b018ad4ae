"""RFC 9162 Merkle proofs and C2SP signed notes, checked against independent implementations:
the proof vectors of transparency-dev/merkle (Go; ``tests/data/rfc9162``) and the known-answer note
of Go's ``sumdb/note``; plus every proof of random trees verifying, and any flipped bit failing."""

from __future__ import annotations

import base64
import hashlib
import json
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from provenance.tlog import (
    Checkpoint,
    NoteError,
    NoteSigner,
    NoteVerifier,
    ProofError,
    consistency_proof,
    inclusion_proof,
    leaf_hash,
    open_checkpoint,
    root_hash,
    verify_consistency,
    verify_inclusion,
)

VECTORS = json.loads((Path(__file__).parents[1] / "data" / "rfc9162" / "vectors.json").read_text())
LEAVES = [leaf_hash(bytes.fromhex(h)) for h in VECTORS["leaves_hex"]]


def b64(values: list[str] | None) -> list[bytes]:
    return [base64.b64decode(v) for v in values or []]


@pytest.mark.parametrize("case", VECTORS["inclusion"], ids=lambda c: c["file"])
def test_inclusion_matches_the_go_implementation(case: dict[str, object]) -> None:
    index, size = int(case["leafIdx"]), int(case["treeSize"])  # type: ignore[call-overload]
    root, leaf, path = base64.b64decode(str(case["root"])), base64.b64decode(str(case["leafHash"])), b64(case["proof"])  # type: ignore[arg-type]
    if case["wantErr"]:
        with pytest.raises(ProofError):
            verify_inclusion(index, size, leaf, path, root)
        return
    verify_inclusion(index, size, leaf, path, root)
    assert root_hash(LEAVES[:size]) == root and LEAVES[index] == leaf
    assert inclusion_proof(index, LEAVES[:size]) == path  # the same path the Go library gives


@pytest.mark.parametrize("case", VECTORS["consistency"], ids=lambda c: c["file"])
def test_consistency_matches_the_go_implementation(case: dict[str, object]) -> None:
    old, new = int(case["size1"]), int(case["size2"])  # type: ignore[call-overload]
    r1, r2, path = base64.b64decode(str(case["root1"])), base64.b64decode(str(case["root2"])), b64(case["proof"])  # type: ignore[arg-type]
    if case["wantErr"]:
        with pytest.raises(ProofError):
            verify_consistency(old, new, r1, r2, path)
        return
    verify_consistency(old, new, r1, r2, path)
    assert (root_hash(LEAVES[:old]), root_hash(LEAVES[:new])) == (r1, r2)
    assert consistency_proof(old, LEAVES[:new]) == path


@settings(max_examples=60, deadline=None)
@given(st.integers(1, 70), st.data())
def test_every_proof_of_a_random_tree_verifies_and_any_flipped_bit_fails(n: int, data: st.DataObject) -> None:
    leaves = [leaf_hash(i.to_bytes(4, "big")) for i in range(n)]
    root = root_hash(leaves)
    index = data.draw(st.integers(0, n - 1))
    path = inclusion_proof(index, leaves)
    verify_inclusion(index, n, leaves[index], path, root)
    old = data.draw(st.integers(1, n))
    proof = consistency_proof(old, leaves)
    verify_consistency(old, n, root_hash(leaves[:old]), root, proof)
    if path:
        k, bit = data.draw(st.integers(0, len(path) - 1)), data.draw(st.integers(0, 255))
        bad = [p if i != k else bytes([p[0] ^ (1 << (bit % 8))]) + p[1:] for i, p in enumerate(path)]
        with pytest.raises(ProofError):
            verify_inclusion(index, n, leaves[index], bad, root)
    bigger = [*leaves, leaf_hash(b"one more")]
    with pytest.raises(ProofError):  # the root of a tree this path is not from
        verify_inclusion(index, n + 1, leaves[index], path, root_hash(bigger))
    if proof:
        with pytest.raises(ProofError):
            verify_consistency(old, n, root_hash(leaves[:old]), root, proof[:-1])


# golang.org/x/mod/sumdb/note, note_test.go (BSD-3-Clause): a known-answer note
GO_VERIFIER = "PeterNeumann+c74f20a3+ARpc2QcUPDhMQegwxbzhKqiBfsVkmqq/LDE4izWy10TW"
GO_SIGNER = "PRIVATE+KEY+PeterNeumann+c74f20a3+AYEKFALVFGyNhPJEMzD1QIDr+Y7hfZx09iUvxdXHKDFz"
GO_TEXT = "If you think cryptography is the answer to your problem,\nthen you don't know what your problem is.\n"
GO_SIGNATURE = "x08go/ZJkuBS9UG/SffcvIAQxVBtiFupLLr8pAcElZInNIuGUgYN1FFYC2pZSNXgKvqfqdngotpRZb6KE6RyyBwJnAM="
GO_NOTE = f"{GO_TEXT}\n\u2014 PeterNeumann {GO_SIGNATURE}\n"


def test_signed_notes_match_go_sumdb_note_byte_for_byte() -> None:
    verifier = NoteVerifier.parse(GO_VERIFIER)
    assert verifier.verify(GO_NOTE) == GO_TEXT and verifier.encode() == GO_VERIFIER
    signer = NoteSigner.parse(GO_SIGNER)
    assert signer.sign(GO_TEXT) == GO_NOTE and signer.encode() == GO_SIGNER  # Ed25519 is deterministic
    assert "AYEKF" not in repr(signer)
    with pytest.raises(NoteError, match="was changed"):
        verifier.verify(GO_NOTE.replace("problem,", "problem;"))
    with pytest.raises(NoteError, match="no signature by"):
        NoteSigner.generate("PeterNeumann").verifier.verify(GO_NOTE)  # same name, another key
    for bad in ("PeterNeumann+c74f20a4+ARpc2QcUPDhMQegwxbzhKqiBfsVkmqq/LDE4izWy10TW", "a+b", "x y+00+AA=="):
        with pytest.raises(NoteError):
            NoteVerifier.parse(bad)


def test_a_checkpoint_round_trips_and_any_change_is_caught() -> None:
    signer = NoteSigner.generate("assay.test/audit")
    cp = Checkpoint("assay.test/audit", 8, root_hash(LEAVES), ("chain-head 00ff",))
    note = signer.sign(cp.text())
    assert open_checkpoint(note, signer.verifier) == cp
    assert cp.text() == "assay.test/audit\n8\nXcnaeacGWamtVZy3Ad7ZoqudgjqtL0lgz+Nw7/RgQyg=\nchain-head 00ff\n"
    with pytest.raises(NoteError):
        open_checkpoint(note.replace("\n8\n", "\n9\n"), signer.verifier)


def _mth(d: list[bytes]) -> bytes:
    """RFC 9162 §2.1.1, as the RFC writes it (recursive; ``d`` are leaf hashes)."""
    if len(d) == 1:
        return d[0]
    k = 1 << ((len(d) - 1).bit_length() - 1)
    return hashlib.sha256(b"\x01" + _mth(d[:k]) + _mth(d[k:])).digest()


def _path(m: int, d: list[bytes]) -> list[bytes]:
    """RFC 9162 §2.1.3.1 PATH(m, D[n])."""
    if len(d) == 1:
        return []
    k = 1 << ((len(d) - 1).bit_length() - 1)
    return [*_path(m, d[:k]), _mth(d[k:])] if m < k else [*_path(m - k, d[k:]), _mth(d[:k])]


def _subproof(m: int, d: list[bytes], whole: bool) -> list[bytes]:
    """RFC 9162 §2.1.4.1 SUBPROOF(m, D[n], b)."""
    if m == len(d):
        return [] if whole else [_mth(d)]
    k = 1 << ((len(d) - 1).bit_length() - 1)
    return [*_subproof(m, d[:k], whole), _mth(d[k:])] if m <= k else [*_subproof(m - k, d[k:], False), _mth(d[:k])]


def test_every_proof_equals_the_rfc_recursive_definition() -> None:
    for n in range(1, 41):
        d = [leaf_hash(i.to_bytes(4, "big")) for i in range(n)]
        assert root_hash(d) == _mth(d)
        assert [inclusion_proof(m, d) for m in range(n)] == [_path(m, d) for m in range(n)]
        assert [consistency_proof(m, d) for m in range(1, n + 1)] == [_subproof(m, d, True) for m in range(1, n + 1)]


def test_tile_paths_follow_the_c2sp_encoding() -> None:
    from provenance.tlog.tiles import TileRef, parse_tile_path, tile_path, tile_width

    assert tile_path(TileRef(0, 1234067)) == "tile/0/x001/x234/067"  # the specification's example
    assert tile_path(TileRef(None, 5, 17)) == "tile/entries/005.p/17"
    for ref in (TileRef(0, 0), TileRef(3, 1_000_000, 255), TileRef(None, 999), TileRef(1, 1000, 1)):
        level, rest = tile_path(ref).removeprefix("tile/").split("/", 1)
        assert parse_tile_path(level, rest) == ref
    assert tile_width(TileRef(0, 2), 600) == 88 and tile_width(TileRef(1, 0), 600) == 2
    assert tile_width(TileRef(0, 3), 600) == 0 and tile_width(TileRef(None, 1), 600) == 256
