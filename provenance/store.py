"""The manifest store: every signed manifest with its asset hash, signer and soft bindings.

SQLAlchemy 2 Core; a SQLite file by default (WAL) and the same code on PostgreSQL
(``postgresql+psycopg://...``). Lookups follow the C2PA Soft Binding Resolution API:
:meth:`ManifestStore.by_binding` is ``matches/byBinding?alg=&value=`` and
:meth:`ManifestStore.manifest_bytes` is ``manifests/{id}`` (``application/c2pa``);
:meth:`ManifestStore.near_fingerprints` finds content codes (``io.iscc.v0`` soft bindings) within a
few bits through an index of their bands. Each record is written in one transaction: a failed
write leaves nothing behind.
"""

from __future__ import annotations

import base64
import datetime as dt
import hashlib
import os
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Engine

from watermark.errors import ConfigurationError, InvalidInput, ManifestNotFound

__all__ = ["FINGERPRINT_ALGS", "MAX_ID", "ManifestRecord", "ManifestStore", "SoftBindingMatch", "open_engine"]

FINGERPRINT_ALGS = frozenset({"io.iscc.v0"})  # soft bindings indexed for near lookups (64-bit ISCC units)
_BANDS = (10, 9, 9, 9, 9, 9, 9)  # bit widths, high bits first: 7 bands find every code within 6 bits


def _bands(value: int) -> list[int]:
    """The 64-bit ``value`` cut into ``_BANDS``."""
    out, shift = [], 64
    for width in _BANDS:
        shift -= width
        out.append((value >> shift) & ((1 << width) - 1))
    return out


_MAX_MANIFEST = 16 * 1024 * 1024
MAX_ID = 255  # manifest ids are C2PA manifest labels (``urn:c2pa:<uuid>``, optionally with a suffix)


def _private_sqlite_file(path: Path) -> None:
    """Create the database file readable by its owner only; SQLite gives its ``-wal`` and ``-shm``
    files the mode of the database file. Files made by older versions are narrowed too."""
    path.parent.mkdir(parents=True, exist_ok=True)
    os.close(os.open(path, os.O_CREAT | os.O_RDWR, 0o600))
    for file in (path, path.with_name(path.name + "-wal"), path.with_name(path.name + "-shm")):
        if file.exists():
            file.chmod(0o600)


def open_engine(url: str) -> Engine:
    """A SQLAlchemy engine for ``url``; SQLite files get WAL, foreign keys and a busy timeout.

    Raises:
        ConfigurationError: the URL cannot be parsed or names a driver that is not installed.
    """
    try:
        engine = sa.create_engine(url, pool_pre_ping=True)
    except (sa.exc.ArgumentError, ImportError) as exc:
        raise ConfigurationError(f"cannot open the store: {exc.__class__.__name__}") from None
    if engine.dialect.name == "sqlite":
        database = engine.url.database
        if database and database != ":memory:":
            _private_sqlite_file(Path(database))

        @sa.event.listens_for(engine, "connect")
        def _pragmas(dbapi_conn: Any, _: Any) -> None:
            cur = dbapi_conn.cursor()
            cur.execute("PRAGMA journal_mode=WAL")
            cur.execute("PRAGMA synchronous=NORMAL")  # WAL keeps commits durable against crashes of the process
            cur.execute("PRAGMA foreign_keys=ON")
            cur.execute("PRAGMA busy_timeout=10000")
            cur.close()

    return engine


@dataclass(frozen=True)
class ManifestRecord:
    """What the store keeps about one signed manifest (the bytes are fetched separately)."""

    manifest_id: str
    asset_sha256: str
    mime: str
    created_at: dt.datetime
    signer: str
    development_signer: bool
    soft_bindings: tuple[tuple[str, str], ...]  # (alg, base64 value)


@dataclass(frozen=True)
class SoftBindingMatch:
    """One answer of ``matches/byBinding``."""

    manifest_id: str
    similarity_score: int = 100


class ManifestStore:
    """Manifests and their soft-binding index in a relational database."""

    def __init__(self, engine: Engine, *, schema: str | None = None) -> None:
        self.engine = engine
        self.metadata = sa.MetaData(schema=schema)
        self.manifests = sa.Table(
            "assay_manifests",
            self.metadata,
            sa.Column("manifest_id", sa.String(MAX_ID), primary_key=True),
            sa.Column("asset_sha256", sa.String(64), nullable=False, index=True),
            sa.Column("mime", sa.String(100), nullable=False),
            sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
            sa.Column("signer", sa.String(400), nullable=False),
            sa.Column("development_signer", sa.Boolean, nullable=False),
            sa.Column("manifest_store", sa.LargeBinary, nullable=False),
        )
        self.bindings = sa.Table(
            "assay_soft_bindings",
            self.metadata,
            sa.Column("alg", sa.String(200), primary_key=True),
            sa.Column("value", sa.String(400), primary_key=True),
            sa.Column(
                "manifest_id",
                sa.String(MAX_ID),
                sa.ForeignKey(self.manifests.c.manifest_id, ondelete="CASCADE"),
                primary_key=True,
            ),
        )

        # 64-bit fingerprints (ISCC units) by band, for near lookups: split into _BANDS bands, two
        # codes within len(_BANDS) - 1 bits agree exactly on at least one band (pigeonhole)
        self.codes = sa.Table(
            "assay_fingerprint_bands",
            self.metadata,
            sa.Column(
                "manifest_id",
                sa.String(MAX_ID),
                sa.ForeignKey(self.manifests.c.manifest_id, ondelete="CASCADE"),
                primary_key=True,
            ),
            sa.Column("header", sa.String(8), primary_key=True),  # the ISCC unit's header, hex: its kind
            sa.Column("band", sa.SmallInteger, primary_key=True),
            sa.Column("bits", sa.Integer, nullable=False),
            sa.Column("code", sa.BigInteger, nullable=False),  # the 64-bit digest, signed
            sa.Index("assay_fingerprint_bands_lookup", "header", "band", "bits"),
        )

    @classmethod
    def open(cls, url: str, *, schema: str | None = None) -> ManifestStore:
        """Open (and create the tables of) a store at a SQLAlchemy URL."""
        store = cls(open_engine(url), schema=schema)
        store.metadata.create_all(store.engine)
        return store

    def put(
        self,
        *,
        manifest_id: str,
        asset: bytes,
        mime: str,
        manifest_store: bytes,
        signer: str,
        development_signer: bool,
        soft_bindings: Sequence[tuple[str, bytes]] = (),
        also: Callable[[sa.Connection], None] | None = None,
    ) -> ManifestRecord:
        """Store one signed manifest under its label and index its soft bindings, atomically.

        ``also`` runs in the same transaction (a record that refers to this manifest): if it
        raises, nothing is stored.

        Raises:
            InvalidInput: an empty or oversized manifest store, or an id that is empty or too long.
        """
        if not 0 < len(manifest_id) <= MAX_ID:
            raise InvalidInput(f"manifest ids have 1 to {MAX_ID} characters")
        if not manifest_store or len(manifest_store) > _MAX_MANIFEST:
            raise InvalidInput("manifest store must be 1 byte to 16 MiB")
        record = ManifestRecord(
            manifest_id=manifest_id,
            asset_sha256=hashlib.sha256(asset).hexdigest(),
            mime=mime,
            created_at=dt.datetime.now(dt.UTC),
            signer=signer,
            development_signer=development_signer,
            soft_bindings=tuple((alg, base64.b64encode(v).decode()) for alg, v in soft_bindings),
        )
        with self.engine.begin() as conn:
            conn.execute(
                self.manifests.insert().values(
                    manifest_id=record.manifest_id,
                    asset_sha256=record.asset_sha256,
                    mime=mime,
                    created_at=record.created_at,
                    signer=signer,
                    development_signer=development_signer,
                    manifest_store=manifest_store,
                )
            )
            for alg, value in record.soft_bindings:
                conn.execute(self.bindings.insert().values(alg=alg, value=value, manifest_id=record.manifest_id))
            bands = [
                {"manifest_id": manifest_id, "header": raw[:2].hex(), "band": i, "bits": bits, "code": signed}
                for alg, raw in soft_bindings
                if alg in FINGERPRINT_ALGS and len(raw) == 10
                for signed in [int.from_bytes(raw[2:], "big", signed=True)]
                for i, bits in enumerate(_bands(int.from_bytes(raw[2:], "big")))
            ]
            if bands:
                conn.execute(self.codes.insert(), bands)
            if also is not None:
                also(conn)
        return record

    def by_binding(self, alg: str, value: str) -> list[SoftBindingMatch]:
        """Manifests whose soft binding ``alg`` has this base64 ``value`` (newest first)."""
        q = (
            sa.select(self.bindings.c.manifest_id)
            .join(self.manifests, self.manifests.c.manifest_id == self.bindings.c.manifest_id)
            .where(self.bindings.c.alg == alg, self.bindings.c.value == value)
            .order_by(self.manifests.c.created_at.desc())
        )
        with self.engine.connect() as conn:
            return [SoftBindingMatch(row.manifest_id) for row in conn.execute(q)]

    def near_fingerprints(self, unit: bytes, max_distance: int) -> list[tuple[str, int]]:
        """Manifests with a 64-bit fingerprint of the same kind as ``unit`` (an ISCC unit: a 2-byte
        header and 8 bytes) within ``max_distance`` bits: ``(manifest_id, distance)``, nearest
        first, then newest. Only codes sharing a band with ``unit`` are read (an index lookup).

        Raises:
            ValueError: ``max_distance`` beyond what the bands guarantee to find, or a unit that is
                not 10 bytes.
        """
        if not 0 <= max_distance < len(_BANDS) or len(unit) != 10:
            raise ValueError(f"fingerprints of 10 bytes, within at most {len(_BANDS) - 1} bits")
        value = int.from_bytes(unit[2:], "big")
        c = self.codes.c
        hits = sa.union_all(  # one index range per band
            *(
                sa.select(c.manifest_id, c.code).where(c.header == unit[:2].hex(), c.band == i, c.bits == bits)
                for i, bits in enumerate(_bands(value))
            )
        ).subquery()
        q = sa.select(hits.c.manifest_id, hits.c.code, self.manifests.c.created_at).join(
            self.manifests, self.manifests.c.manifest_id == hits.c.manifest_id
        )
        with self.engine.connect() as conn:
            rows = {r.manifest_id: r for r in conn.execute(q)}.values()
        near = [(((r.code % (1 << 64)) ^ value).bit_count(), r) for r in rows]
        near = [(d, r) for d, r in near if d <= max_distance]
        near.sort(key=lambda x: x[1].created_at, reverse=True)
        near.sort(key=lambda x: x[0])
        return [(r.manifest_id, d) for d, r in near]

    def by_asset_hash(self, sha256: str) -> list[str]:
        """Ids of manifests signed for an asset with this SHA-256 (exact copies)."""
        q = sa.select(self.manifests.c.manifest_id).where(self.manifests.c.asset_sha256 == sha256)
        with self.engine.connect() as conn:
            return [row.manifest_id for row in conn.execute(q)]

    def manifest_bytes(self, manifest_id: str) -> bytes:
        """The stored manifest store (``application/c2pa``).

        Raises:
            ManifestNotFound: no manifest has this id.
        """
        q = sa.select(self.manifests.c.manifest_store).where(self.manifests.c.manifest_id == manifest_id)
        with self.engine.connect() as conn:
            row = conn.execute(q).first()
        if row is None:
            raise ManifestNotFound(f"no manifest with id {manifest_id!r}")
        return bytes(row.manifest_store)

    def record(self, manifest_id: str) -> ManifestRecord:
        """Metadata of one stored manifest.

        Raises:
            ManifestNotFound: no manifest has this id.
        """
        with self.engine.connect() as conn:
            row = conn.execute(sa.select(self.manifests).where(self.manifests.c.manifest_id == manifest_id)).first()
            if row is None:
                raise ManifestNotFound(f"no manifest with id {manifest_id!r}")
            binds = conn.execute(
                sa.select(self.bindings.c.alg, self.bindings.c.value).where(self.bindings.c.manifest_id == manifest_id)
            ).all()
        created = row.created_at if row.created_at.tzinfo else row.created_at.replace(tzinfo=dt.UTC)
        return ManifestRecord(
            manifest_id=row.manifest_id,
            asset_sha256=row.asset_sha256,
            mime=row.mime,
            created_at=created,
            signer=row.signer,
            development_signer=row.development_signer,
            soft_bindings=tuple((b.alg, b.value) for b in binds),
        )
