"""Proofs as documents an auditor keeps and checks offline: an inclusion proof with the signed
checkpoint it refers to, and a consistency proof between two tree sizes. Hashes are lowercase hex,
field names as RFC 9162 verifiers expect them, so any such verifier can check them without Assay.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import asdict, dataclass

from .merkle import ProofError, verify_consistency, verify_inclusion
from .note import Checkpoint, NoteVerifier, open_checkpoint

__all__ = ["ConsistencyDoc", "InclusionDoc"]


def _hex(value: object, what: str) -> bytes:
    try:
        raw = bytes.fromhex(str(value))
    except ValueError:
        raise ProofError(f"{what} is not hex") from None
    if len(raw) != 32:
        raise ProofError(f"{what} is not a 32-byte hash")
    return raw


def _int(value: object, what: str) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or value < 0:
        raise ProofError(f"{what} is not a whole number")
    return value


@dataclass(frozen=True)
class InclusionDoc:
    """Leaf ``leaf_index`` is in the tree of ``tree_size`` whose root the signed ``checkpoint`` holds."""

    leaf_index: int
    tree_size: int
    leaf_hash: str
    root_hash: str
    inclusion_path: list[str]
    checkpoint: str

    def to_dict(self) -> dict[str, object]:
        """JSON-ready form."""
        return asdict(self)

    @classmethod
    def from_dict(cls, data: Mapping[str, object]) -> InclusionDoc:
        """Read a proof document.

        Raises:
            ProofError: a missing or mistyped field.
        """
        path = data.get("inclusion_path")
        if not isinstance(path, list) or not isinstance(data.get("checkpoint"), str):
            raise ProofError("an inclusion proof has an inclusion_path list and a checkpoint note")
        doc = cls(
            _int(data.get("leaf_index"), "leaf_index"),
            _int(data.get("tree_size"), "tree_size"),
            str(data.get("leaf_hash")),
            str(data.get("root_hash")),
            [str(p) for p in path],
            str(data["checkpoint"]),
        )
        for i, p in enumerate([doc.leaf_hash, doc.root_hash, *doc.inclusion_path]):
            _hex(p, "leaf_hash" if i == 0 else "root_hash" if i == 1 else f"inclusion_path[{i - 2}]")
        return doc

    def check(self, verifier: NoteVerifier, *, leaf: bytes | None = None) -> Checkpoint:
        """The checkpoint this proof refers to, once the signature, the root and the path check out
        (and, with ``leaf``, that the leaf hash is the hash of those bytes' RFC 9162 leaf).

        Raises:
            NoteError: the checkpoint's signature does not verify with ``verifier``.
            ProofError: the checkpoint is for another tree, or the path does not lead to its root.
        """
        from .merkle import leaf_hash as hash_leaf

        cp = open_checkpoint(self.checkpoint, verifier)
        root = _hex(self.root_hash, "root_hash")
        if cp.size != self.tree_size or cp.root != root:
            raise ProofError("the proof's tree size and root are not the signed checkpoint's")
        leaf_h = _hex(self.leaf_hash, "leaf_hash")
        if leaf is not None and hash_leaf(leaf) != leaf_h:
            raise ProofError("the row given is not the leaf this proof is for")
        path = [_hex(p, "inclusion_path entry") for p in self.inclusion_path]
        verify_inclusion(self.leaf_index, self.tree_size, leaf_h, path, root)
        return cp


@dataclass(frozen=True)
class ConsistencyDoc:
    """The tree of ``new_size`` extends the tree of ``old_size`` (nothing before was changed)."""

    old_size: int
    new_size: int
    old_root: str
    new_root: str
    consistency_path: list[str]

    def to_dict(self) -> dict[str, object]:
        """JSON-ready form."""
        return asdict(self)

    @classmethod
    def from_dict(cls, data: Mapping[str, object]) -> ConsistencyDoc:
        """Read a proof document.

        Raises:
            ProofError: a missing or mistyped field.
        """
        path = data.get("consistency_path")
        if not isinstance(path, list):
            raise ProofError("a consistency proof has a consistency_path list")
        return cls(
            _int(data.get("old_size"), "old_size"),
            _int(data.get("new_size"), "new_size"),
            str(data.get("old_root")),
            str(data.get("new_root")),
            [str(p) for p in path],
        )

    def check(self) -> None:
        """Raises ProofError unless the path proves the new tree extends the old one."""
        verify_consistency(
            self.old_size,
            self.new_size,
            _hex(self.old_root, "old_root"),
            _hex(self.new_root, "new_root"),
            [_hex(p, "consistency_path entry") for p in self.consistency_path],
        )
