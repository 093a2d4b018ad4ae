"""The log as static tiles (C2SP ``tlog-tiles``), so anyone can mirror it and check it offline.

A *hash tile* ``tile/<L>/<N>[.p/<W>]`` holds the ``W`` (256 when full) consecutive hashes at
tree level ``8 * L`` starting at index ``256 * N``: the level-0 tiles are the leaf hashes, and
every hash of a higher level is the root of a complete subtree of ``2 ** (8 * L)`` leaves. An
*entry bundle* ``tile/entries/<N>[.p/<W>]`` holds leaves ``256 * N`` to ``256 * N + W - 1``
themselves, each after its length as a big-endian ``uint16``. ``<N>`` is written in groups of
three digits, every group but the last prefixed with ``x`` (1234067: ``x001/x234/067``). A tile is
served only where the tree (at the checkpoint in force) has that many hashes, so a full tile
never changes, and a partial one only grows under a new path.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass

from .merkle import MerkleTree

__all__ = [
    "HEIGHT",
    "WIDTH",
    "TileRef",
    "entry_bundle",
    "hash_tile",
    "parse_entry_bundle",
    "parse_tile_path",
    "tile_path",
    "tile_width",
]

HEIGHT = 8
WIDTH = 1 << HEIGHT
_MAX_LEVEL = 63 // HEIGHT  # level 7: 2**56 leaves per hash, beyond any tree here
_INDEX = re.compile(r"^(?:x\d{3}/)*\d{3}$")


@dataclass(frozen=True)
class TileRef:
    """A tile's coordinates: ``level`` None for an entry bundle, ``width`` None for a full tile."""

    level: int | None
    index: int
    width: int | None = None

    @property
    def count(self) -> int:
        """How many hashes (or entries) the tile holds."""
        return self.width if self.width is not None else WIDTH


def _encode_index(n: int) -> str:
    groups = [f"{n % 1000:03d}"]
    n //= 1000
    while n:
        groups.append(f"x{n % 1000:03d}")
        n //= 1000
    return "/".join(reversed(groups))


def tile_path(ref: TileRef) -> str:
    """``tile/<L>/<N>[.p/<W>]`` or ``tile/entries/<N>[.p/<W>]``."""
    head = "tile/entries/" if ref.level is None else f"tile/{ref.level}/"
    tail = f".p/{ref.width}" if ref.width is not None else ""
    return head + _encode_index(ref.index) + tail


def parse_tile_path(level: str, rest: str) -> TileRef:
    """The tile that ``tile/<level>/<rest>`` names (``level`` ``entries`` for a bundle).

    Raises:
        ValueError: a path the specification does not allow (a leading zero in the level, an index
            not in three-digit groups, a partial width outside 1..255).
    """
    if level == "entries":
        lev: int | None = None
    elif re.fullmatch(r"0|[1-9]\d?", level) and int(level) <= _MAX_LEVEL:
        lev = int(level)
    else:
        raise ValueError(f"a tile level is 0 to {_MAX_LEVEL}, without leading zeros")
    width = None
    if ".p/" in rest:
        rest, _, w = rest.partition(".p/")
        if not re.fullmatch(r"[1-9]\d{0,2}", w) or int(w) >= WIDTH:
            raise ValueError(f"a partial tile's width is 1 to {WIDTH - 1}")
        width = int(w)
    if not _INDEX.fullmatch(rest) or len(rest) > 4 * 7:
        raise ValueError("a tile index is written in groups of three digits, all but the last after an 'x'")
    return TileRef(lev, int(rest.replace("x", "").replace("/", "")), width)


def tile_width(ref: TileRef, size: int) -> int:
    """How many hashes (or entries) of ``ref``'s row exist in a tree of ``size`` leaves (0..256)."""
    level = 0 if ref.level is None else ref.level
    complete = size >> (HEIGHT * level)  # complete subtrees of that level
    return max(0, min(WIDTH, complete - ref.index * WIDTH))


def hash_tile(tree: MerkleTree, ref: TileRef) -> bytes:
    """The tile's hashes, concatenated.

    Raises:
        LookupError: the tree does not (yet) have the tile at this width.
    """
    assert ref.level is not None
    if ref.count > tile_width(ref, tree.size) or (ref.width is not None and ref.width >= WIDTH):
        raise LookupError(f"{tile_path(ref)} is not in the tree of {tree.size} leaves")
    start = ref.index * WIDTH
    return b"".join(tree.levels[HEIGHT * ref.level][start : start + ref.count])


def entry_bundle(entries: Sequence[bytes]) -> bytes:
    """Entries, each after its length as a big-endian ``uint16``.

    Raises:
        ValueError: an entry of more than 65,535 bytes.
    """
    out = bytearray()
    for e in entries:
        if len(e) > 0xFFFF:
            raise ValueError(f"an entry of {len(e)} bytes does not fit a bundle's 16-bit length")
        out += len(e).to_bytes(2, "big") + e
    return bytes(out)


def parse_entry_bundle(data: bytes) -> list[bytes]:
    """The entries of a bundle.

    Raises:
        ValueError: a length that runs past the end.
    """
    out, at = [], 0
    while at < len(data):
        if at + 2 > len(data):
            raise ValueError("a bundle ends inside an entry's length")
        n = int.from_bytes(data[at : at + 2], "big")
        if at + 2 + n > len(data):
            raise ValueError("a bundle ends inside an entry")
        out.append(data[at + 2 : at + 2 + n])
        at += 2 + n
    return out
