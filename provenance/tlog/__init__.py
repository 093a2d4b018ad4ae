"""A verifiable log: RFC 9162 Merkle trees (:mod:`.merkle`), C2SP signed checkpoints
(:mod:`.note`) and proofs as documents (:mod:`.documents`), with nothing else to depend on, so an
auditor can check Assay's audit log proofs with this package alone (or any RFC 9162 verifier)."""

from .documents import ConsistencyDoc, InclusionDoc
from .merkle import (
    EMPTY_ROOT,
    MerkleTree,
    ProofError,
    consistency_proof,
    inclusion_proof,
    leaf_hash,
    node_hash,
    root_hash,
    verify_consistency,
    verify_inclusion,
)
from .note import Checkpoint, NoteError, NoteSigner, NoteVerifier, open_checkpoint

__all__ = [
    "EMPTY_ROOT",
    "Checkpoint",
    "ConsistencyDoc",
    "InclusionDoc",
    "MerkleTree",
    "NoteError",
    "NoteSigner",
    "NoteVerifier",
    "ProofError",
    "consistency_proof",
    "inclusion_proof",
    "leaf_hash",
    "node_hash",
    "open_checkpoint",
    "root_hash",
    "verify_consistency",
    "verify_inclusion",
]
