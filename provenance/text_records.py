"""Generation records of credentialed texts, found again through the watermark and a fingerprint.

Each record keeps the record id (the manifest's soft-binding value), the watermark key and
scheme, the time, the signed manifest (in :class:`provenance.store.ManifestStore`) and the text's
fingerprint (:mod:`provenance.fingerprint`), never the text. A text that lost its wrapper is
matched in two steps: its watermark names the key, then the records of that key whose sketch
entries appear among the text's shingles are ranked by containment (the fraction found).

The inverted index (key id, hash) -> record is the table's primary key, so a lookup is one
index probe per query shingle whatever the number of records.
"""

from __future__ import annotations

import datetime as dt
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import sqlalchemy as sa

from watermark.errors import InvalidInput

from .fingerprint import Fingerprint
from .store import MAX_ID, ManifestStore

__all__ = ["TextMatch", "TextRecord", "TextRecordIndex"]

_CHUNK = 900  # hashes per IN (...) query: under every backend's parameter limit


@dataclass(frozen=True)
class TextRecord:
    """One credentialed generation."""

    record_id: str
    manifest_id: str
    key_id: str
    scheme: str
    created_at: dt.datetime
    shingles: int
    sketch_size: int


@dataclass(frozen=True)
class TextMatch:
    """A record whose fingerprint is found in a text: ``matched`` of its ``sketch_size`` hashes."""

    record_id: str
    manifest_id: str
    matched: int
    sketch_size: int

    @property
    def containment(self) -> float:
        """The estimated fraction of the record's text still present."""
        return self.matched / self.sketch_size if self.sketch_size else 0.0


class TextRecordIndex:
    """Text generation records and their fingerprint index, in the manifest store's database."""

    def __init__(self, store: ManifestStore) -> None:
        self.store = store
        md = store.metadata
        self.records = sa.Table(
            "assay_text_records",
            md,
            sa.Column("record_id", sa.String(MAX_ID), primary_key=True),
            sa.Column(
                "manifest_id",
                sa.String(MAX_ID),
                sa.ForeignKey(store.manifests.c.manifest_id, ondelete="CASCADE"),
                nullable=False,
            ),
            sa.Column("key_id", sa.String(200), nullable=False),
            sa.Column("scheme", sa.String(50), nullable=False),
            sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
            sa.Column("shingles", sa.Integer, nullable=False),
            sa.Column("sketch_size", sa.Integer, nullable=False),
        )
        self.fingerprints = sa.Table(
            "assay_text_fingerprints",
            md,
            sa.Column("key_id", sa.String(200), primary_key=True),
            sa.Column("h", sa.BigInteger, primary_key=True, autoincrement=False),
            sa.Column(
                "record_id",
                sa.String(MAX_ID),
                sa.ForeignKey(self.records.c.record_id, ondelete="CASCADE"),
                primary_key=True,
            ),
        )
        md.create_all(store.engine, tables=[self.records, self.fingerprints])

    def insert(
        self,
        conn: sa.Connection,
        *,
        record_id: str,
        manifest_id: str,
        key_id: str,
        scheme: str,
        fingerprint: Fingerprint,
    ) -> TextRecord:
        """Record one credentialed generation inside ``conn``'s transaction, the one that stores
        its manifest (``ManifestStore.put(..., also=...)``).

        A text of under three words has an empty fingerprint: it is recorded, and can be found by
        its record id (the soft binding), but never by content.

        Raises:
            InvalidInput: an empty or overlong id.
        """
        if not 0 < len(record_id) <= MAX_ID:
            raise InvalidInput(f"record ids have 1 to {MAX_ID} characters")
        record = TextRecord(
            record_id=record_id,
            manifest_id=manifest_id,
            key_id=key_id,
            scheme=scheme,
            created_at=dt.datetime.now(dt.UTC),
            shingles=fingerprint.shingles,
            sketch_size=len(fingerprint.hashes),
        )
        conn.execute(
            self.records.insert().values(
                record_id=record_id,
                manifest_id=manifest_id,
                key_id=key_id,
                scheme=scheme,
                created_at=record.created_at,
                shingles=record.shingles,
                sketch_size=record.sketch_size,
            )
        )
        if fingerprint.hashes:
            conn.execute(
                self.fingerprints.insert(),
                [{"key_id": key_id, "h": h, "record_id": record_id} for h in fingerprint.hashes],
            )
        return record

    def match(self, key_id: str, hashes: np.ndarray | Sequence[int], *, min_matched: int = 1) -> list[TextMatch]:
        """Records of ``key_id`` with at least ``min_matched`` sketch hashes among ``hashes``
        (a query text's shingle hashes), best containment first."""
        values = [int(h) for h in np.unique(np.asarray(hashes, dtype=np.int64))]
        counts: Counter[str] = Counter()
        fp = self.fingerprints
        with self.store.engine.connect() as conn:
            for i in range(0, len(values), _CHUNK):
                q = (
                    sa.select(fp.c.record_id, sa.func.count())
                    .where(fp.c.key_id == key_id, fp.c.h.in_(values[i : i + _CHUNK]))
                    .group_by(fp.c.record_id)
                )
                counts.update({row[0]: int(row[1]) for row in conn.execute(q)})
            found = [r for r, n in counts.items() if n >= min_matched]
            rows: list[sa.Row[tuple[str, str, int]]] = []
            for i in range(0, len(found), _CHUNK):
                q = sa.select(self.records.c.record_id, self.records.c.manifest_id, self.records.c.sketch_size).where(
                    self.records.c.record_id.in_(found[i : i + _CHUNK])
                )
                rows.extend(conn.execute(q).all())
        matches = [TextMatch(r.record_id, r.manifest_id, counts[r.record_id], r.sketch_size) for r in rows]
        return sorted(matches, key=lambda m: (-m.containment, -m.matched, m.record_id))

    def record(self, record_id: str) -> TextRecord | None:
        """One record, or None."""
        with self.store.engine.connect() as conn:
            row = conn.execute(sa.select(self.records).where(self.records.c.record_id == record_id)).first()
        if row is None:
            return None
        created = row.created_at if row.created_at.tzinfo else row.created_at.replace(tzinfo=dt.UTC)
        return TextRecord(
            row.record_id, row.manifest_id, row.key_id, row.scheme, created, row.shingles, row.sketch_size
        )
