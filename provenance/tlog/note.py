"""Signed checkpoints in the C2SP formats: ``signed-note`` (Ed25519) and ``tlog-checkpoint``.

A checkpoint is the text ``<origin>\\n<tree size>\\n<base64 root hash>\\n`` plus optional extension
lines; a signed note is that text, a blank line, and one line per signature:
``— <key name> <base64(key id || signature)>``. An Ed25519 key's id is the first four bytes of
``SHA-256(name || "\\n" || 0x01 || public key)``; its verifier key is written
``<name>+<key id in hex>+<base64(0x01 || public key)>``, which is all an auditor needs to check a
checkpoint offline.
"""

from __future__ import annotations

import base64
import hashlib
import re
from dataclasses import dataclass

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey

__all__ = ["Checkpoint", "NoteError", "NoteSigner", "NoteVerifier", "open_checkpoint"]

_ED25519 = b"\x01"
_DASH = "\u2014"  # the em dash that starts a signature line
_NAME = re.compile(r"^[^\s+]+$")


class NoteError(ValueError):
    """A note or key that is malformed or whose signature does not verify."""


def _key_id(name: str, public: bytes) -> bytes:
    return hashlib.sha256(name.encode() + b"\n" + _ED25519 + public).digest()[:4]


@dataclass(frozen=True)
class NoteVerifier:
    """A signed-note verifier key (Ed25519)."""

    name: str
    public: bytes

    @property
    def key_id(self) -> bytes:
        """The four-byte key id."""
        return _key_id(self.name, self.public)

    def encode(self) -> str:
        """``<name>+<hex key id>+<base64(0x01 || public key)>``."""
        return f"{self.name}+{self.key_id.hex()}+{base64.b64encode(_ED25519 + self.public).decode()}"

    @classmethod
    def parse(cls, text: str) -> NoteVerifier:
        """Read an encoded verifier key.

        Raises:
            NoteError: not ``name+hash+key``, not Ed25519, or a key id that does not match.
        """
        parts = text.strip().split("+", 2)  # base64 may hold '+' itself
        if len(parts) != 3 or not _NAME.match(parts[0]):
            raise NoteError("a verifier key reads name+keyid+base64key")
        try:
            raw = base64.b64decode(parts[2], validate=True)
            key_id = bytes.fromhex(parts[1])
        except ValueError:
            raise NoteError("the verifier key's id or key is not hex / base64") from None
        if len(raw) != 33 or raw[:1] != _ED25519:
            raise NoteError("only Ed25519 verifier keys are supported")
        verifier = cls(parts[0], raw[1:])
        if verifier.key_id != key_id:
            raise NoteError("the verifier key's id does not match its name and key")
        return verifier

    def verify(self, note: str) -> str:
        """The text of a note that this key signed.

        Raises:
            NoteError: malformed, or no valid signature by this key.
        """
        text, sep, block = note.rpartition("\n\n")
        if not sep or not block.endswith("\n"):
            raise NoteError("a signed note is text, a blank line and signature lines")
        text += "\n"
        key = Ed25519PublicKey.from_public_bytes(self.public)
        for line in block[:-1].split("\n"):
            prefix = f"{_DASH} {self.name} "
            if not line.startswith(prefix):
                continue
            try:
                blob = base64.b64decode(line[len(prefix) :], validate=True)
            except ValueError:
                continue
            if blob[:4] != self.key_id:
                continue
            try:
                key.verify(blob[4:], text.encode())
            except InvalidSignature:
                raise NoteError(f"the signature by {self.name} does not verify: the note was changed") from None
            return text
        raise NoteError(f"the note carries no signature by {self.name}")


class NoteSigner:
    """Signs notes with an Ed25519 key under a name."""

    def __init__(self, name: str, key: Ed25519PrivateKey) -> None:
        if not _NAME.match(name):
            raise NoteError(f"a key name has no spaces or '+': {name!r}")
        self.name = name
        self._key = key

    @classmethod
    def generate(cls, name: str) -> NoteSigner:
        """A new random key."""
        return cls(name, Ed25519PrivateKey.generate())

    @classmethod
    def parse(cls, text: str) -> NoteSigner:
        """Read a signer key written ``PRIVATE+KEY+<name>+<hex key id>+<base64(0x01 || seed)>``.

        Raises:
            NoteError: malformed, not Ed25519, or a key id that does not match.
        """
        parts = text.strip().split("+", 4)
        if len(parts) != 5 or parts[:2] != ["PRIVATE", "KEY"]:
            raise NoteError("a signer key reads PRIVATE+KEY+name+keyid+base64key")
        try:
            raw = base64.b64decode(parts[4], validate=True)
        except ValueError:
            raise NoteError("the signer key is not base64") from None
        if len(raw) != 33 or raw[:1] != _ED25519:
            raise NoteError("only Ed25519 signer keys are supported")
        signer = cls(parts[2], Ed25519PrivateKey.from_private_bytes(raw[1:]))
        if signer.verifier.key_id.hex() != parts[3].lower():
            raise NoteError("the signer key's id does not match its name and key")
        return signer

    def encode(self) -> str:
        """The signer key as text (a secret: store it like one)."""
        from cryptography.hazmat.primitives.serialization import Encoding, NoEncryption, PrivateFormat

        seed = self._key.private_bytes(Encoding.Raw, PrivateFormat.Raw, NoEncryption())
        key_id = self.verifier.key_id.hex()
        return f"PRIVATE+KEY+{self.name}+{key_id}+{base64.b64encode(_ED25519 + seed).decode()}"

    def __repr__(self) -> str:
        return f"NoteSigner({self.name!r}, key id {self.verifier.key_id.hex()})"  # never the key

    @property
    def verifier(self) -> NoteVerifier:
        """The matching verifier key."""
        from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat

        return NoteVerifier(self.name, self._key.public_key().public_bytes(Encoding.Raw, PublicFormat.Raw))

    def sign(self, text: str) -> str:
        """``text`` (ending in a newline) as a signed note."""
        if not text.endswith("\n") or "\n\n" in text:
            raise NoteError("a note's text ends with one newline and has no blank line")
        blob = self.verifier.key_id + self._key.sign(text.encode())
        return f"{text}\n{_DASH} {self.name} {base64.b64encode(blob).decode()}\n"


@dataclass(frozen=True)
class Checkpoint:
    """A log's state: its origin, tree size, root hash and extension lines."""

    origin: str
    size: int
    root: bytes
    extensions: tuple[str, ...] = ()

    def text(self) -> str:
        """The checkpoint body as ``tlog-checkpoint`` writes it."""
        lines = [self.origin, str(self.size), base64.b64encode(self.root).decode(), *self.extensions]
        return "\n".join(lines) + "\n"


def open_checkpoint(note: str, verifier: NoteVerifier) -> Checkpoint:
    """The checkpoint a signed note holds, after its signature is checked.

    Raises:
        NoteError: a bad signature, or a body that is not a checkpoint.
    """
    lines = verifier.verify(note).rstrip("\n").split("\n")
    if len(lines) < 3 or not lines[1].isdigit():
        raise NoteError("a checkpoint reads origin, tree size and root hash, one per line")
    try:
        root = base64.b64decode(lines[2], validate=True)
    except ValueError:
        raise NoteError("the checkpoint's root hash is not base64") from None
    if len(root) != 32:
        raise NoteError("the checkpoint's root hash is not 32 bytes")
    return Checkpoint(lines[0], int(lines[1]), root, tuple(lines[3:]))
