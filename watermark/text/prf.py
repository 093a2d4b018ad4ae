"""A keyed pseudo-random function over token ids, vectorised in torch int64.

Every value is a 64-bit word held in ``torch.int64``; multiplication wraps modulo 2**64 and right
shifts are made logical by masking, so the bits are the same on every device and torch version
(a pure-Python reference in the tests pins them). Keys enter through per-token tables computed
with keyed BLAKE2b, so without the secret the tables are unpredictable; the cheap splitmix64
finaliser then mixes a context seed with a candidate token.
"""

from __future__ import annotations

import hashlib

import numpy as np
import torch

__all__ = ["fmix64", "keyed_token_table", "srl", "to_int64", "uniform53"]

_M1 = 0xBF58476D1CE4E5B9
_M2 = 0x94D049BB133111EB


def to_int64(word: int) -> int:
    """Map an unsigned 64-bit integer to the int64 with the same bits."""
    word &= (1 << 64) - 1
    return word - (1 << 64) if word >= (1 << 63) else word


_M1_S = to_int64(_M1)
_M2_S = to_int64(_M2)


def srl(x: torch.Tensor, k: int) -> torch.Tensor:
    """Logical right shift of int64 words by ``k`` (1 <= k <= 63) bits."""
    return (x >> k) & ((1 << (64 - k)) - 1)


def fmix64(x: torch.Tensor) -> torch.Tensor:
    """The splitmix64 finaliser: a bijection on 64-bit words with full avalanche."""
    x = (x ^ srl(x, 30)) * _M1_S
    x = (x ^ srl(x, 27)) * _M2_S
    return x ^ srl(x, 31)


def uniform53(x: torch.Tensor) -> torch.Tensor:
    """The top 53 bits of each word, as int64 in ``[0, 2**53)``."""
    return srl(x, 11)


def keyed_token_table(secret: bytes, label: bytes, size: int) -> torch.Tensor:
    """Keyed 64-bit words for token ids ``0 .. size-1``.

    Args:
        secret: the key's secret bytes.
        label: domain separation, so each table of a scheme is independent.
        size: number of token ids.

    Returns:
        ``(size,)`` int64 tensor; entry ``v`` is ``BLAKE2b-64(key=H(secret), label || v)``.
    """
    if size <= 0:
        raise ValueError(f"`size` has to be > 0, but is {size}")
    key = hashlib.sha256(b"assay.prf.v1\x00" + secret).digest()
    base = hashlib.blake2b(label, key=key, digest_size=8)
    out = bytearray(8 * size)
    for v in range(size):
        h = base.copy()
        h.update(v.to_bytes(4, "little"))
        out[8 * v : 8 * v + 8] = h.digest()
    # Little-endian on every host, so tables agree across machines.
    return torch.from_numpy(np.frombuffer(bytes(out), dtype="<i8").astype(np.int64))
