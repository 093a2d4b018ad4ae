"""Error correction for the image payload: CRC-32 + K=7 rate-1/3 convolutional code, soft Viterbi.

Why a convolutional code and not BCH: the watermark channel hands us *soft* values (one
correlation per coded bit) and a Viterbi decoder uses them directly, which is worth about 2 dB
over hard-decision BCH at the same rate; the code (generators 133, 171, 165 octal, the LTE rate-1/3
mother code, d_free = 15) is zero-terminated, so 96 message bits become 306 coded bits.

Why the statistics stay exact: the decoder is maximum-likelihood and the code is linear, so
translating the received signs by a codeword translates the decision by the corresponding
message. Coded bits are scrambled with a keyed uniform sequence before modulation; under the null
"this image was not marked with this key" the decoded message is therefore uniform over all
2**96 messages, and a check that admits one value in ``2**c`` passes with probability exactly
``2**-c`` per decode (``c`` = 32 CRC bits + the fixed header bits the caller checks).
"""

from __future__ import annotations

import zlib

import numpy as np
import numpy.typing as npt

__all__ = ["CODED_BITS", "MESSAGE_BITS", "crc_ok", "encode", "viterbi_decode", "viterbi_list", "with_crc"]

_K = 7
_STATES = 1 << (_K - 1)
_GENERATORS = (0o133, 0o171, 0o165)
MESSAGE_BITS = 96  # 64 payload bits + CRC-32
CODED_BITS = (MESSAGE_BITS + _K - 1) * len(_GENERATORS)

BoolArray = npt.NDArray[np.bool_]
FloatArray = npt.NDArray[np.float64]


def _parity(x: npt.NDArray[np.int64]) -> npt.NDArray[np.int64]:
    x = x ^ (x >> 4)
    x = x ^ (x >> 2)
    x = x ^ (x >> 1)
    return x & 1


# Register = (state << 1) | input bit, newest bit in the LSB; next state = register & 63.
_REG = np.arange(1 << _K, dtype=np.int64)
_OUT = np.stack([_parity(_REG & g) for g in _GENERATORS], axis=1)  # (128, 3) in {0, 1}
_SIGN = (2 * _OUT - 1).astype(np.float64)  # +1 for a coded 1


def _bits(data: bytes) -> BoolArray:
    return np.unpackbits(np.frombuffer(data, dtype=np.uint8)).astype(bool)


def _bytes(bits: BoolArray) -> bytes:
    return np.packbits(bits.astype(np.uint8)).tobytes()


def with_crc(payload: bytes) -> BoolArray:
    """The 96 message bits: 8 payload bytes followed by their CRC-32 (big-endian)."""
    if len(payload) != 8:
        raise ValueError(f"payload must be 8 bytes, got {len(payload)}")
    return _bits(payload + zlib.crc32(payload).to_bytes(4, "big"))


def crc_ok(message: BoolArray) -> bytes | None:
    """The 8 payload bytes of a decoded 96-bit message if its CRC-32 matches, else ``None``."""
    raw = _bytes(message)
    payload, crc = raw[:8], raw[8:12]
    return payload if zlib.crc32(payload).to_bytes(4, "big") == crc else None


def encode(message: BoolArray) -> BoolArray:
    """Encode ``(MESSAGE_BITS,)`` bits into ``(CODED_BITS,)`` bits, zero-terminated."""
    if message.shape != (MESSAGE_BITS,):
        raise ValueError(f"message must have {MESSAGE_BITS} bits, got shape {message.shape}")
    state = 0
    out = np.empty((MESSAGE_BITS + _K - 1, len(_GENERATORS)), dtype=bool)
    for t, bit in enumerate(np.concatenate([message, np.zeros(_K - 1, dtype=bool)])):
        reg = (state << 1) | int(bit)
        out[t] = _OUT[reg].astype(bool)
        state = reg & (_STATES - 1)
    return out.reshape(-1)


def viterbi_list(soft: FloatArray, size: int = 1) -> list[BoolArray]:
    """The ``size`` most likely messages for soft values (positive = coded 1), best first.

    A parallel list Viterbi decoder: every trellis state keeps its ``size`` best paths. The
    metric is the correlation of the soft values with each path's ±1 code symbols, the ML rule
    for Gaussian noise of equal variance; the scale of ``soft`` does not matter. Checking more
    than the best path against the CRC buys about a decibel; each entry is a uniform message under
    the null (the list is translation-equivariant like the best path), so a caller that checks
    ``size`` entries counts ``size`` decodes.

    Args:
        soft: ``(CODED_BITS,)`` soft values.
        size: list length (1 = plain Viterbi).

    Returns:
        Up to ``size`` distinct ``(MESSAGE_BITS,)`` messages, most likely first.
    """
    if soft.shape != (CODED_BITS,):
        raise ValueError(f"soft values must have shape ({CODED_BITS},), got {soft.shape}")
    if size < 1:
        raise ValueError(f"size must be >= 1, got {size}")
    steps = MESSAGE_BITS + _K - 1
    branch = soft.reshape(steps, len(_GENERATORS)) @ _SIGN.T  # (steps, 128)
    metric = np.full((_STATES, size), -np.inf)
    metric[0, 0] = 0.0
    next_state = np.arange(_STATES)
    pred0 = next_state >> 1
    pred1 = pred0 | (_STATES >> 1)
    back = np.empty((steps, _STATES, size), dtype=np.int16)
    for t in range(steps):
        cand = np.concatenate(
            [metric[pred0] + branch[t, next_state][:, None], metric[pred1] + branch[t, next_state | _STATES][:, None]],
            axis=1,
        )  # (states, 2 * size): ranks from pred0, then from pred1
        order = np.argsort(-cand, axis=1, kind="stable")[:, :size]
        back[t] = order
        metric = np.take_along_axis(cand, order, axis=1)
    # Trace every list entry back at once, zero-terminated (all end in state 0).
    ranks = np.nonzero(np.isfinite(metric[0]))[0]
    bits = np.empty((steps, len(ranks)), dtype=bool)
    state, r = np.zeros(len(ranks), dtype=np.int64), ranks.astype(np.int64)
    for t in range(steps - 1, -1, -1):
        bits[t] = (state & 1).astype(bool)
        j = back[t, state, r].astype(np.int64)
        first = j < size
        state = np.where(first, pred0[state], pred1[state])
        r = np.where(first, j, j - size)
    return [np.ascontiguousarray(bits[:MESSAGE_BITS, i]) for i in range(len(ranks))]


def viterbi_decode(soft: FloatArray) -> BoolArray:
    """The maximum-likelihood message for soft values (see :func:`viterbi_list`)."""
    return viterbi_list(soft, 1)[0]
