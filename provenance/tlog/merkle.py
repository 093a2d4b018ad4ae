"""RFC 9162 (Certificate Transparency 2.0) Merkle trees: hashes, proofs and their verification.

A leaf's hash is ``SHA-256(0x00 || data)`` and an interior node's ``SHA-256(0x01 || left ||
right)``; a tree of ``n`` leaves splits at the largest power of two below ``n`` (RFC 9162 §2.1.1).
Inclusion proofs (the audit path, §2.1.3) and consistency proofs (§2.1.4) are built from the leaf
hashes, and checked by the RFC's own verification algorithms (§2.1.3.2, §2.1.4.2), which need
nothing but the hashes, sizes and roots: anyone holding a signed checkpoint can check them.

Proof generation walks the leaf hashes (``O(n)`` hashing for the subtrees it needs); verification
is ``O(log n)``.
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence

__all__ = [
    "EMPTY_ROOT",
    "MerkleTree",
    "ProofError",
    "consistency_proof",
    "inclusion_proof",
    "leaf_hash",
    "node_hash",
    "root_hash",
    "verify_consistency",
    "verify_inclusion",
]

EMPTY_ROOT = hashlib.sha256(b"").digest()


class ProofError(ValueError):
    """A proof that does not verify (the message says where it fails)."""


def leaf_hash(data: bytes) -> bytes:
    """``SHA-256(0x00 || data)``."""
    return hashlib.sha256(b"\x00" + data).digest()


def node_hash(left: bytes, right: bytes) -> bytes:
    """``SHA-256(0x01 || left || right)``."""
    return hashlib.sha256(b"\x01" + left + right).digest()


def _split(n: int) -> int:
    """The largest power of two smaller than ``n`` (``n > 1``)."""
    return 1 << ((n - 1).bit_length() - 1)


def root_hash(leaves: Sequence[bytes]) -> bytes:
    """The Merkle tree hash of leaf hashes (``EMPTY_ROOT`` for none)."""
    return MerkleTree(leaves).root()


class MerkleTree:
    """A tree's node hashes kept level by level (``O(n)`` to build), so every proof of it costs
    ``O(log n)``: for proving many leaves of one tree (a scan's rows).

    Pairing bottom-up, with an odd last node carried up unchanged, gives the RFC's tree (split at
    the largest power of two): every subtree a proof needs starts at a multiple of its width and is
    either whole or cut short by the tree's end, so it is one node of one level.
    """

    def __init__(self, leaves: Sequence[bytes]) -> None:
        self.size = len(leaves)
        self.levels: list[list[bytes]] = [list(leaves)]
        while len(self.levels[-1]) > 1:
            level = self.levels[-1]
            nxt = [node_hash(level[i], level[i + 1]) for i in range(0, len(level) - 1, 2)]
            if len(level) % 2:
                nxt.append(level[-1])
            self.levels.append(nxt)

    def root(self) -> bytes:
        """The tree's root hash."""
        return self.levels[-1][0] if self.size else EMPTY_ROOT

    def _subtree(self, lo: int, width: int) -> bytes:
        """MTH of ``leaves[lo : min(lo + width, size)]`` for ``lo`` a multiple of ``width``, a power of
        two: the node at level log2(width), carried up unchanged where the range is cut short."""
        return self.levels[width.bit_length() - 1][lo // width]

    def inclusion(self, index: int) -> list[bytes]:
        """The audit path of leaf ``index`` (the same as :func:`inclusion_proof`).

        Raises:
            ValueError: ``index`` outside the tree.
        """
        if not 0 <= index < self.size:
            raise ValueError(f"leaf {index} is not in a tree of {self.size}")
        path: list[bytes] = []
        lo, hi, m = 0, self.size, index
        while hi - lo > 1:
            k = _split(hi - lo)
            if m < k:
                path.append(self._subtree(lo + k, k))
                hi = lo + k
            else:
                path.append(self._subtree(lo, k))
                lo, m = lo + k, m - k
        return path[::-1]

    def consistency(self, old_size: int) -> list[bytes]:
        """The proof that the first ``old_size`` leaves are a prefix of this tree (RFC 9162 §2.1.4.1).

        Raises:
            ValueError: ``old_size`` not in ``1 .. size``.
        """
        if not 0 < old_size <= self.size:
            raise ValueError(f"no consistency proof from size {old_size} to {self.size}")
        proof: list[bytes] = []
        lo, hi, m, complete = 0, self.size, old_size, True
        while True:  # SUBPROOF(m, D[lo:hi], complete), iteratively
            if m == hi - lo:
                if not complete:
                    proof.append(self._subtree(lo, 1 << (hi - lo - 1).bit_length()))
                break
            k = _split(hi - lo)
            if m <= k:
                proof.append(self._subtree(lo + k, k))
                hi = lo + k
            else:
                proof.append(self._subtree(lo, k))
                lo, m, complete = lo + k, m - k, False
        return proof[::-1]


def inclusion_proof(index: int, leaves: Sequence[bytes]) -> list[bytes]:
    """The audit path of leaf ``index`` in the tree of ``leaves`` (RFC 9162 §2.1.3.1).

    Raises:
        ValueError: ``index`` outside the tree.
    """
    return MerkleTree(leaves).inclusion(index)


def consistency_proof(old_size: int, leaves: Sequence[bytes]) -> list[bytes]:
    """The proof that the first ``old_size`` leaves are a prefix of ``leaves`` (RFC 9162 §2.1.4.1).

    Raises:
        ValueError: ``old_size`` not in ``1 .. len(leaves)``.
    """
    return MerkleTree(leaves).consistency(old_size)


def verify_inclusion(index: int, size: int, leaf: bytes, path: Sequence[bytes], root: bytes) -> None:
    """Check an audit path (RFC 9162 §2.1.3.2).

    Raises:
        ProofError: it does not lead from ``leaf`` at ``index`` to ``root`` of a tree of ``size``.
    """
    if not 0 <= index < size:
        raise ProofError(f"leaf index {index} is not in a tree of size {size}")
    fn, sn, r = index, size - 1, leaf
    for p in path:
        if sn == 0:
            raise ProofError("the audit path is longer than the tree is deep")
        if fn & 1 or fn == sn:
            r = node_hash(p, r)
            while not fn & 1 and fn != 0:
                fn, sn = fn >> 1, sn >> 1
        else:
            r = node_hash(r, p)
        fn, sn = fn >> 1, sn >> 1
    if sn != 0:
        raise ProofError("the audit path is shorter than the tree is deep")
    if r != root:
        raise ProofError("the audit path does not lead to the root hash")


def verify_consistency(old_size: int, new_size: int, old_root: bytes, new_root: bytes, path: Sequence[bytes]) -> None:
    """Check a consistency proof (RFC 9162 §2.1.4.2).

    Raises:
        ProofError: the tree of ``new_size`` with ``new_root`` does not extend the one of
            ``old_size`` with ``old_root``.
    """
    if not 0 < old_size <= new_size:
        raise ProofError(f"no consistency proof from size {old_size} to {new_size}")
    if old_size == new_size:
        if path:
            raise ProofError("a proof between equal sizes must be empty")
        if old_root != new_root:
            raise ProofError("equal sizes with different root hashes")
        return
    if not path:
        raise ProofError("the consistency proof is empty")
    nodes = list(path)
    if old_size & (old_size - 1) == 0:  # a power of two: the old root is a node of the new tree
        nodes.insert(0, old_root)
    fn, sn = old_size - 1, new_size - 1
    while fn & 1:
        fn, sn = fn >> 1, sn >> 1
    fr = sr = nodes[0]
    for c in nodes[1:]:
        if sn == 0:
            raise ProofError("the consistency proof is longer than the tree is deep")
        if fn & 1 or fn == sn:
            fr, sr = node_hash(c, fr), node_hash(c, sr)
            while not fn & 1 and fn != 0:
                fn, sn = fn >> 1, sn >> 1
        else:
            sr = node_hash(sr, c)
        fn, sn = fn >> 1, sn >> 1
    if sn != 0:
        raise ProofError("the consistency proof is shorter than the tree is deep")
    if fr != old_root:
        raise ProofError("the proof does not lead to the old root hash")
    if sr != new_root:
        raise ProofError("the proof does not lead to the new root hash")
