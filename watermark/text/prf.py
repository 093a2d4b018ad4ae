"""A keyed pseudo-random function over token ids, vectorised in torch int32.

Every value is a 32-bit word held in ``torch.int32``; multiplication wraps modulo 2**32 and right
shifts are made logical by masking, so the bits are the same on every device and torch version
(a pure-Python reference in the tests pins them). Keys enter through per-token tables computed
with keyed BLAKE2b, so without the secret the tables are unpredictable; the murmur3 finaliser
then mixes a context seed with a candidate token. 32-bit words halve the memory traffic of the
per-step pass over the vocabulary against 64-bit ones (measured: 1.9 vs 9.0 ms for 8 x 49,152
candidates on 2 cores); a collision of two PRF inputs only makes them share one green bit, and
detection scores each distinct input once, so the statistics stay exact.
"""

from __future__ import annotations

import hashlib

import numpy as np
import torch

__all__ = ["context_seeds", "fmix32", "keyed_token_table", "srl", "to_int32", "unsigned_less"]

_C1 = 0x85EBCA6B
_C2 = 0xC2B2AE35


def to_int32(word: int) -> int:
    """Map an unsigned 32-bit integer to the int32 with the same bits."""
    word &= (1 << 32) - 1
    return word - (1 << 32) if word >= (1 << 31) else word


_C1_S = to_int32(_C1)
_C2_S = to_int32(_C2)


def srl(x: torch.Tensor, k: int) -> torch.Tensor:
    """Logical right shift of int32 words by ``k`` (1 <= k <= 31) bits."""
    return (x >> k) & ((1 << (32 - k)) - 1)


def fmix32(x: torch.Tensor) -> torch.Tensor:
    """The murmur3 finaliser: a bijection on 32-bit words with full avalanche."""
    x = (x ^ srl(x, 16)) * _C1_S
    x = (x ^ srl(x, 13)) * _C2_S
    return x ^ srl(x, 16)


def context_seeds(words: torch.Tensor, seeding: str) -> torch.Tensor:
    """Seeds from ``(..., h)`` keyed context words (oldest first) -> ``(...,)`` int32.

    ``"minhash"`` (or ``h == 1``): the smallest word, so an edited context token moves the seed
    only when it held the minimum; ``"hash"``: an ordered chain through :func:`fmix32`.
    """
    if words.shape[-1] == 1 or seeding == "minhash":
        return words.amin(dim=-1)
    s = torch.zeros(words.shape[:-1], dtype=torch.int32, device=words.device)
    for i in range(words.shape[-1]):
        s = fmix32(s ^ words[..., i])
    return s


def unsigned_less(x: torch.Tensor, threshold: int) -> torch.Tensor:
    """``x < threshold`` with ``x`` read as unsigned 32-bit words and ``0 <= threshold <= 2**32``."""
    if threshold >= 1 << 32:
        return torch.ones_like(x, dtype=torch.bool)
    # Flipping the top bit maps unsigned order onto signed order.
    return (x ^ to_int32(1 << 31)) < to_int32(threshold ^ (1 << 31))


def keyed_token_table(secret: bytes, label: bytes, size: int) -> torch.Tensor:
    """Keyed 32-bit words for token ids ``0 .. size-1``.

    Args:
        secret: the key's secret bytes.
        label: domain separation, so each table of a scheme is independent.
        size: number of token ids.

    Returns:
        ``(size,)`` int32 tensor; entry ``v`` is ``BLAKE2b-32(key=H(secret), label || v)``.
    """
    if size <= 0:
        raise ValueError(f"`size` has to be > 0, but is {size}")
    key = hashlib.sha256(b"assay.prf.v1\x00" + secret).digest()
    base = hashlib.blake2b(label, key=key, digest_size=4)
    out = bytearray(4 * size)
    for v in range(size):
        h = base.copy()
        h.update(v.to_bytes(4, "little"))
        out[4 * v : 4 * v + 4] = h.digest()
    # Little-endian on every host, so tables agree across machines.
    return torch.from_numpy(np.frombuffer(bytes(out), dtype="<i4").astype(np.int32))
