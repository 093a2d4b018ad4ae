"""The audit log as an RFC 9162 Merkle tree, with signed checkpoints and proofs.

Every audit row is a leaf, in sequence order: leaf ``i`` is row ``i + 1``, and its bytes are the
row's canonical JSON (:func:`api.core.audit.leaf_bytes`), so the rows written before the tree
existed are its first leaves, unchanged. A checkpoint (C2SP ``tlog-checkpoint``, signed as a C2SP
``signed-note`` with the log's Ed25519 key) states the tree size and root, and records the hash
chain's head at that size on an extension line (``chain-head <hex>``), binding the old chain to
the tree. Checkpoints are signed on demand (a proof always refers to a signed checkpoint) and kept
in ``assay_audit_checkpoints``; :meth:`AuditTree.verify` recomputes every kept checkpoint's root
from the rows, so an edited, removed or reordered row under any checkpoint is found.

The log key is ``ASSAY_AUDIT_LOG_KEY`` (a signed-note signer key, ``PRIVATE+KEY+…``) or, by
default, a key made on first use in the data directory (``audit-log.key``, mode 0600). Its
verifier key (``assay audit public-key``) is all an auditor needs to check proofs offline.

The tree is also served as static tiles (C2SP ``tlog-tiles``: :meth:`AuditTree.tile`), so an
auditor can mirror it and recompute every root. Proofs and tiles are computed from the rows' leaf
hashes (reading the log once: ``O(n)``); storing full tiles as they fill is the next step for very
large logs. Appends are group-committed by :class:`api.core.audit.AuditLog`.
"""

from __future__ import annotations

import datetime as dt
import os
from dataclasses import dataclass
from pathlib import Path

import sqlalchemy as sa

from provenance.tlog import (
    Checkpoint,
    ConsistencyDoc,
    InclusionDoc,
    MerkleTree,
    NoteError,
    NoteSigner,
    NoteVerifier,
    leaf_hash,
    open_checkpoint,
    root_hash,
)
from provenance.tlog.tiles import WIDTH, entry_bundle, hash_tile, parse_tile_path, tile_path, tile_width
from watermark.errors import InvalidInput, TileNotFound

from .audit import AuditEntry, AuditLog, leaf_bytes

__all__ = ["DEFAULT_ORIGIN", "AuditTree", "RowProof", "TreeCheck", "load_log_signer"]

DEFAULT_ORIGIN = "assay.local/audit"


def load_log_signer(data_dir: Path, key_text: str | None = None, *, origin: str = DEFAULT_ORIGIN) -> NoteSigner:
    """The log's signing key: ``key_text`` when given, else ``audit-log.key`` in ``data_dir``
    (created on first use, readable by the owner only).

    Raises:
        NoteError: a malformed key.
    """
    if key_text:
        return NoteSigner.parse(key_text)
    path = data_dir / "audit-log.key"
    if path.exists():
        return NoteSigner.parse(path.read_text())
    signer = NoteSigner.generate(origin)
    tmp = path.with_name(f".{path.name}.{os.getpid()}")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "w") as f:
        f.write(signer.encode() + "\n")
    try:
        os.link(tmp, path)  # first writer wins; a concurrent one reads the winner's key
    except FileExistsError:
        return NoteSigner.parse(path.read_text())
    finally:
        tmp.unlink()
    return signer


@dataclass(frozen=True)
class RowProof:
    """One audit row proven in a tree: its leaf index, its bytes (the row's canonical JSON) and its
    audit path, hashes in hex."""

    leaf_index: int
    leaf: str
    inclusion_path: list[str]


@dataclass(frozen=True)
class TreeCheck:
    """The outcome of :meth:`AuditTree.verify`."""

    ok: bool
    checkpoints: int
    problem: str | None = None


class AuditTree:
    """Checkpoints and proofs over an :class:`AuditLog`."""

    def __init__(self, log: AuditLog, signer: NoteSigner) -> None:
        self.log = log
        self.signer = signer
        self.table = sa.Table(
            "assay_audit_checkpoints",
            log.metadata,
            sa.Column(
                "size", sa.BigInteger().with_variant(sa.Integer, "sqlite"), primary_key=True, autoincrement=False
            ),
            sa.Column("root", sa.String(64), nullable=False),
            sa.Column("note", sa.Text, nullable=False),
            sa.Column("at", sa.String(40), nullable=False),
        )

    def create(self) -> AuditTree:
        """Create the checkpoint table if needed; returns self."""
        self.log.metadata.create_all(self.log.engine, tables=[self.table])
        return self

    @property
    def verifier(self) -> NoteVerifier:
        """The log's public verifier key."""
        return self.signer.verifier

    def _rows(self, size: int | None = None) -> list[AuditEntry]:
        rows = []
        for entry in self.log.entries():
            if size is not None and entry.seq > size:
                break
            rows.append(entry)
        return rows

    def _stored(self, size: int) -> str | None:
        with self.log.engine.connect() as conn:
            note = conn.execute(sa.select(self.table.c.note).where(self.table.c.size == size)).scalar()
        return str(note) if note is not None else None

    def latest(self) -> str | None:
        """The newest signed checkpoint kept, if any."""
        q = sa.select(self.table.c.note).order_by(self.table.c.size.desc()).limit(1)
        with self.log.engine.connect() as conn:
            note = conn.execute(q).scalar()
        return str(note) if note is not None else None

    @staticmethod
    def _tree(rows: list[AuditEntry]) -> MerkleTree:
        return MerkleTree([leaf_hash(leaf_bytes(r)) for r in rows])

    def _sign(self, rows: list[AuditEntry], tree: MerkleTree | None = None) -> str:
        """The checkpoint of ``rows`` (the first ``len(rows)`` rows), signed and kept (``tree``: their
        tree, when the caller built it already)."""
        size = len(rows)
        kept = self._stored(size)
        if kept is not None:
            return kept
        root = (tree or self._tree(rows)).root()
        head = rows[-1].hash if rows else "0" * 64
        cp = Checkpoint(self.signer.name, size, root, (f"chain-head {head}",))
        note = self.signer.sign(cp.text())
        at = dt.datetime.now(dt.UTC).isoformat(timespec="seconds")
        try:
            with self.log.engine.begin() as conn:
                conn.execute(self.table.insert().values(size=size, root=root.hex(), note=note, at=at))
        except sa.exc.IntegrityError:  # another process signed this size first: theirs is kept
            return self._stored(size) or note
        return note

    def checkpoint(self) -> str:
        """A signed checkpoint covering every row (signed now when rows were added since the last)."""
        return self._sign(self._rows())

    def _find(self, ref: str, rows: list[AuditEntry]) -> AuditEntry:
        ref = ref.strip().lower()
        if ref.isdigit():
            seq = int(ref)
            if not 1 <= seq <= len(rows):
                raise InvalidInput(f"the log has rows 1 to {len(rows)}, not {seq}")
            return rows[seq - 1]
        if len(ref) == 64 and all(c in "0123456789abcdef" for c in ref):
            for entry in reversed(rows):  # the newest row about this content
                if entry.subject_sha256 == ref or entry.hash == ref:
                    return entry
            raise InvalidInput(f"no audit row is about content {ref}")
        raise InvalidInput("name a row by its number or a content SHA-256 (64 hex digits)")

    def prove(self, ref: str) -> InclusionDoc:
        """The inclusion proof of a row (its number, or the SHA-256 of the content it is about:
        the newest such row), against a signed checkpoint that covers it.

        Raises:
            InvalidInput: no such row.
        """
        rows = self._rows()
        entry = self._find(ref, rows)
        tree = self._tree(rows)
        index = entry.seq - 1
        return InclusionDoc(
            leaf_index=index,
            tree_size=tree.size,
            leaf_hash=tree.levels[0][index].hex(),
            root_hash=tree.root().hex(),
            inclusion_path=[p.hex() for p in tree.inclusion(index)],
            checkpoint=self._sign(rows, tree),
        )

    def prove_subjects(
        self, subjects: list[str | None], *, action: str = "verify"
    ) -> tuple[str, list[RowProof | None]]:
        """A signed checkpoint over every row, and for each content SHA-256 the proof of the newest
        ``action`` row about it (each row used once: identical contents take successive rows;
        ``None`` where no row is about it). One pass over the log, then ``O(log n)`` a proof.
        """
        rows = self._rows()
        tree = self._tree(rows)
        note = self._sign(rows, tree)
        by_subject: dict[str, list[AuditEntry]] = {}
        for r in rows:
            if r.action == action and r.subject_sha256:
                by_subject.setdefault(r.subject_sha256, []).append(r)
        proofs: list[RowProof | None] = []
        for sha in subjects:
            found = by_subject.get(sha or "")
            if not found:
                proofs.append(None)
                continue
            row = found.pop()
            path = [p.hex() for p in tree.inclusion(row.seq - 1)]
            proofs.append(RowProof(row.seq - 1, leaf_bytes(row).decode(), path))
        return note, proofs

    def consistency(self, old_size: int, new_size: int | None = None) -> ConsistencyDoc:
        """The proof that the tree of ``new_size`` (default: every row) extends the one of ``old_size``.

        Raises:
            InvalidInput: sizes outside ``1 <= old_size <= new_size <= rows``.
        """
        rows = self._rows()
        new = len(rows) if new_size is None else new_size
        if not 1 <= old_size <= new <= len(rows):
            raise InvalidInput(f"sizes must satisfy 1 <= old <= new <= {len(rows)}, got {old_size} and {new}")
        tree = self._tree(rows[:new])
        self._sign(rows[:new], tree)
        return ConsistencyDoc(
            old_size=old_size,
            new_size=new,
            old_root=root_hash(tree.levels[0][:old_size]).hex(),
            new_root=tree.root().hex(),
            consistency_path=[p.hex() for p in tree.consistency(old_size)],
        )

    def tile(self, level: str, rest: str) -> bytes:
        """A hash tile (``level`` 0–7) or an entry bundle (``level`` ``entries``; each row's
        canonical bytes) at ``rest`` (``<N>[.p/<W>]``), of the tree at the latest signed checkpoint
        (signed now when there is none).

        Raises:
            InvalidInput: a path the specification does not allow.
            TileNotFound: a tile that tree does not have (yet).
        """
        try:
            ref = parse_tile_path(level, rest)
        except ValueError as exc:
            raise InvalidInput(str(exc)) from None
        size = open_checkpoint(self.latest() or self.checkpoint(), self.verifier).size
        if ref.count > tile_width(ref, size):
            raise TileNotFound(f"{tile_path(ref)} is not in the tree of {size} leaves (its latest checkpoint)")
        rows = self._rows(size)
        if ref.level is None:
            start = ref.index * WIDTH
            try:
                return entry_bundle([leaf_bytes(r) for r in rows[start : start + ref.count]])
            except ValueError as exc:  # a row over 64 KiB: the bundle format cannot frame it
                raise TileNotFound(f"{tile_path(ref)} cannot be served: {exc}") from None
        return hash_tile(self._tree(rows), ref)

    def verify(self) -> TreeCheck:
        """Check every kept checkpoint: its signature, and its root against the rows as they are now."""
        with self.log.engine.connect() as conn:
            kept = conn.execute(sa.select(self.table.c.size, self.table.c.note).order_by(self.table.c.size)).all()
        if not kept:
            return TreeCheck(True, 0)
        leaves = [leaf_hash(leaf_bytes(r)) for r in self._rows()]
        for size, note in kept:
            try:
                cp = open_checkpoint(note, self.verifier)
            except NoteError as exc:
                return TreeCheck(False, len(kept), f"checkpoint of size {size}: {exc}")
            if cp.size != size:
                return TreeCheck(False, len(kept), f"checkpoint of size {size} states size {cp.size}")
            if size > len(leaves):
                return TreeCheck(False, len(kept), f"checkpoint of size {size}, but the log has {len(leaves)} rows")
            if root_hash(leaves[:size]) != cp.root:
                return TreeCheck(
                    False,
                    len(kept),
                    f"the rows under checkpoint {size} are not the ones it signed (edited, removed or reordered)",
                )
        return TreeCheck(True, len(kept))
