"""Watermark keys and the key ring.

A key is ``(key_id, scheme, secret, params)``. A key ring holds several; new content is marked
with the active key, detection tries every key. Secrets live in :class:`Secret`, whose ``repr``
and ``str`` never show the value, and are only read by the scheme that derives its PRF keys.

Key ring file (TOML)::

    active = "k2026-11"            # optional: else the key with `active = true`, else the last

    [[keys]]
    id = "k2026-11"
    scheme = "kgw"
    secret_env = "ASSAY_KEY_K2026_11"   # or `secret = "..."` inline (tests only)
    gamma = 0.25
    delta = 2.0
    context_width = 1

    [[keys]]                       # text marked by a stock `transformers` install
    id = "hf-default"
    scheme = "kgw-transformers"
    hashing_key = 15485863         # the secret of this scheme; or `secret_env`
    greenlist_ratio = 0.25
    bias = 2.0
    seeding_scheme = "lefthash"
    context_width = 1
"""

from __future__ import annotations

import hmac
import os
import re
import secrets
import tomllib
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from types import MappingProxyType
from typing import Any

from watermark.errors import ConfigurationError, UnknownKey

__all__ = [
    "KeyRing",
    "Secret",
    "WatermarkKey",
    "keyring_from_toml",
    "load_keyring",
    "new_keyring_toml",
    "rotated_keyring_toml",
]

_KEY_ID = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$")
# Fields that hold a secret; they are moved out of `params` into `Secret`.
_SECRET_FIELDS = ("secret", "hashing_key")


class Secret:
    """Bytes that never show themselves in a repr, str, log line or exception."""

    __slots__ = ("_value",)

    def __init__(self, value: bytes) -> None:
        if not isinstance(value, bytes) or not value:
            raise ConfigurationError("a secret must be non-empty bytes")
        self._value = value

    def reveal(self) -> bytes:
        """Return the secret bytes (for key derivation only)."""
        return self._value

    def __repr__(self) -> str:
        return "Secret('**********')"

    __str__ = __repr__

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Secret) and hmac.compare_digest(self._value, other._value)

    def __hash__(self) -> int:
        return hash(("Secret", len(self._value)))

    def __reduce__(self) -> Any:
        raise TypeError("Secret cannot be pickled")


@dataclass(frozen=True)
class WatermarkKey:
    """One watermark key: an id, the scheme it belongs to, its secret and its parameters."""

    key_id: str
    scheme: str
    secret: Secret = field(repr=False)
    params: Mapping[str, Any] = field(default_factory=lambda: MappingProxyType({}))

    def __post_init__(self) -> None:
        if not _KEY_ID.match(self.key_id):
            raise ConfigurationError(
                f"key id {self.key_id!r} must be 1-64 characters of letters, digits, '.', '_', '-'"
            )


class KeyRing:
    """An ordered set of watermark keys with one active key."""

    def __init__(self, keys: Sequence[WatermarkKey], *, active: str | None = None) -> None:
        if not keys:
            raise ConfigurationError("a key ring needs at least one key")
        ids = [k.key_id for k in keys]
        dupes = sorted({i for i in ids if ids.count(i) > 1})
        if dupes:
            raise ConfigurationError(f"duplicate key ids in key ring: {', '.join(dupes)}")
        self._keys = tuple(keys)
        self._active = active if active is not None else keys[-1].key_id
        if self._active not in ids:
            raise ConfigurationError(f"active key {self._active!r} is not in the key ring")

    @property
    def active(self) -> WatermarkKey:
        """The key that marks new content."""
        return self.get(self._active)

    def get(self, key_id: str) -> WatermarkKey:
        """Return the key with this id.

        Raises:
            UnknownKey: no key has this id.
        """
        for key in self._keys:
            if key.key_id == key_id:
                return key
        raise UnknownKey(f"no key with id {key_id!r} in the key ring")

    def __iter__(self) -> Iterator[WatermarkKey]:
        return iter(self._keys)

    def __len__(self) -> int:
        return len(self._keys)

    def __repr__(self) -> str:
        return f"KeyRing(keys={[k.key_id for k in self._keys]!r}, active={self._active!r})"


def _secret_bytes(value: object, key_id: str, name: str) -> bytes:
    if isinstance(value, bool):
        raise ConfigurationError(f"key {key_id!r}: {name} must be a string or an integer")
    if isinstance(value, int):
        return str(value).encode()
    if isinstance(value, str) and value:
        return value.encode()
    raise ConfigurationError(f"key {key_id!r}: {name} must be a non-empty string or an integer")


def _parse_key(entry: Mapping[str, Any], environ: Mapping[str, str]) -> tuple[WatermarkKey, bool]:
    if not isinstance(entry, Mapping):
        raise ConfigurationError("each [[keys]] entry must be a table")
    params = dict(entry)
    key_id = params.pop("id", None)
    scheme = params.pop("scheme", None)
    active = params.pop("active", False)
    if not isinstance(key_id, str):
        raise ConfigurationError("every key needs a string `id`")
    if not isinstance(scheme, str):
        raise ConfigurationError(f"key {key_id!r} needs a string `scheme`")
    inline = [f for f in _SECRET_FIELDS if f in params]
    env_name = params.pop("secret_env", None)
    if len(inline) + (env_name is not None) != 1:
        raise ConfigurationError(f"key {key_id!r} needs exactly one of `secret`, `hashing_key` or `secret_env`")
    if env_name is not None:
        if not isinstance(env_name, str) or env_name not in environ:
            raise ConfigurationError(f"key {key_id!r}: environment variable {env_name!r} is not set")
        raw = _secret_bytes(environ[env_name], key_id, f"${env_name}")
    else:
        raw = _secret_bytes(params.pop(inline[0]), key_id, inline[0])
    key = WatermarkKey(key_id, scheme, Secret(raw), MappingProxyType(params))
    return key, bool(active)


def keyring_from_toml(text: str, *, environ: Mapping[str, str] | None = None) -> KeyRing:
    """Parse a key ring from TOML text (format in the module docstring).

    Raises:
        ConfigurationError: the TOML or a key entry is invalid, or a named variable is unset.
    """
    env = os.environ if environ is None else environ
    try:
        doc = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise ConfigurationError(f"key ring is not valid TOML: {exc}") from None
    entries = doc.get("keys")
    if not isinstance(entries, list) or not entries:
        raise ConfigurationError("key ring has no [[keys]] entries")
    parsed = [_parse_key(e, env) for e in entries]
    keys = [k for k, _ in parsed]
    flagged = [k.key_id for k, is_active in parsed if is_active]
    active = doc.get("active")
    if active is None and flagged:
        if len(flagged) > 1:
            raise ConfigurationError(f"several keys are marked active: {', '.join(flagged)}")
        active = flagged[0]
    if active is not None and not isinstance(active, str):
        raise ConfigurationError("`active` must be a key id")
    return KeyRing(keys, active=active)


def load_keyring(path: str | os.PathLike[str], *, environ: Mapping[str, str] | None = None) -> KeyRing:
    """Load a key ring from a TOML file.

    Raises:
        ConfigurationError: the file is missing, unreadable or invalid.
    """
    p = Path(path)
    try:
        text = p.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise ConfigurationError(f"cannot read key ring {p}: {exc.__class__.__name__}") from None
    return keyring_from_toml(text, environ=environ)


def new_keyring_toml(key_id: str, *, scheme: str = "kgw", **params: Any) -> str:
    """Return the TOML text of a new key ring with one fresh random 256-bit key."""
    WatermarkKey(key_id, scheme, Secret(b"x"))  # validates the id
    lines = [f'active = "{key_id}"', "", "[[keys]]", f'id = "{key_id}"', f'scheme = "{scheme}"']
    lines.append(f'secret = "{secrets.token_hex(32)}"')
    for name, value in params.items():
        lines.append(f"{name} = {_toml_value(value)}")
    return "\n".join(lines) + "\n"


def rotated_keyring_toml(text: str, key_id: str, *, scheme: str = "kgw", **params: Any) -> str:
    """The key ring ``text`` with a fresh random key ``key_id`` appended and made active.

    Older keys stay (detection keeps trying them); only new content uses the new key.

    Raises:
        ConfigurationError: ``text`` is not a valid key ring, or already holds ``key_id``.
    """
    ring = keyring_from_toml(text, environ={**os.environ})
    if any(k.key_id == key_id for k in ring):
        raise ConfigurationError(f"the key ring already holds a key {key_id!r}")
    head, sep, tables = text.partition("[[keys]]")
    head_lines = [line for line in head.splitlines() if not re.match(r"^\s*active\s*=", line)]
    lines = [line for line in text.splitlines() if re.match(r"^\s*active\s*=\s*(true|false)\s*$", line)]
    if lines:  # per-key `active = true` flags would contradict the top-level choice
        tables = re.sub(r"(?m)^\s*active\s*=\s*(true|false)\s*\n", "", tables)
    block = new_keyring_toml(key_id, scheme=scheme, **params).split("\n", 2)[2]
    out = "\n".join([f'active = "{key_id}"', *head_lines]).rstrip() + "\n\n" + sep + tables.rstrip() + "\n\n" + block
    keyring_from_toml(out, environ={**os.environ})  # the result must load
    return out


def _toml_value(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int | float):
        return repr(value)
    return '"' + str(value).replace("\\", "\\\\").replace('"', '\\"') + '"'
