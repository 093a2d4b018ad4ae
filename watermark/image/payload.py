"""The 64-bit image payload: version, key tag and record id.

Layout (big-endian): 4 bits version | 12 bits key tag | 48 bits record id. The key tag is a hash
of the key id, so a decoded payload names the key that made it; the record id is what the
provenance store resolves (a manifest, a generation record). Together with the CRC-32 the
decoder checks 48 bits (CRC, version, key tag) that a mark made with another key, or no mark,
matches with probability exactly ``2**-48`` per decode (see :mod:`watermark.image.ecc`).
"""

from __future__ import annotations

import hashlib
import secrets
from dataclasses import dataclass

from ..errors import InvalidInput

__all__ = ["CHECKED_BITS", "PAYLOAD_VERSION", "RECORD_ID_BITS", "Payload", "key_tag", "new_record_id"]

PAYLOAD_VERSION = 1
RECORD_ID_BITS = 48
CHECKED_BITS = 32 + 4 + 12  # CRC-32, version, key tag


def key_tag(key_id: str) -> int:
    """The 12-bit tag of a key id carried in every payload made with that key."""
    return int.from_bytes(hashlib.blake2b(key_id.encode(), digest_size=2, person=b"assay-keytag").digest()) >> 4


def new_record_id() -> int:
    """A random 48-bit record id (used when the caller has no record of its own)."""
    return secrets.randbits(RECORD_ID_BITS)


@dataclass(frozen=True)
class Payload:
    """What an image watermark carries."""

    key_tag: int
    record_id: int
    version: int = PAYLOAD_VERSION

    def __post_init__(self) -> None:
        if not 0 <= self.record_id < 1 << RECORD_ID_BITS:
            raise InvalidInput(f"record_id must be an integer in [0, 2**{RECORD_ID_BITS}), got {self.record_id}")
        if not 0 <= self.key_tag < 1 << 12:
            raise InvalidInput(f"key_tag must fit in 12 bits, got {self.key_tag}")
        if not 0 <= self.version < 16:
            raise InvalidInput(f"version must fit in 4 bits, got {self.version}")

    @classmethod
    def for_key(cls, key_id: str, record_id: int) -> Payload:
        """The payload that ``key_id`` embeds for ``record_id``."""
        return cls(key_tag=key_tag(key_id), record_id=record_id)

    def to_bytes(self) -> bytes:
        """The 8 bytes that the error-correcting code protects."""
        word = (self.version << 60) | (self.key_tag << 48) | self.record_id
        return word.to_bytes(8, "big")

    @classmethod
    def from_bytes(cls, data: bytes) -> Payload:
        """Parse 8 payload bytes."""
        if len(data) != 8:
            raise InvalidInput(f"a payload is 8 bytes, got {len(data)}")
        word = int.from_bytes(data, "big")
        return cls(version=word >> 60, key_tag=(word >> 48) & 0xFFF, record_id=word & ((1 << RECORD_ID_BITS) - 1))

    @classmethod
    def checked(cls, raw: bytes | None, tag: int) -> Payload | None:
        """The payload of a decode whose CRC passed (``raw``; None: it did not), if its version is
        this one and its key tag ``tag``: the 48 checked bits of the exact bound."""
        if raw is None:
            return None
        payload = cls.from_bytes(raw)
        return payload if payload.version == PAYLOAD_VERSION and payload.key_tag == tag else None

    @property
    def record_hex(self) -> str:
        """The record id as 12 hex digits (the form the manifest store indexes)."""
        return f"{self.record_id:012x}"

    def to_dict(self) -> dict[str, object]:
        """JSON-ready form."""
        return {"version": self.version, "key_tag": self.key_tag, "record_id": self.record_hex}
