"""The one span type: where in a text a finding is concentrated (no torch, no numpy)."""

from __future__ import annotations

from dataclasses import dataclass

__all__ = ["Span"]


@dataclass(frozen=True)
class Span:
    """Characters ``[start, end)`` and tokens ``[token_start, token_end)`` of a passage, with the
    p-value of the passage alone (already corrected for the passages tested).

    When detection ran on token ids without text, ``start``/``end`` are token offsets too.
    ``green_fraction`` is set for watermark spans (the share of green tokens in the passage).
    """

    start: int
    end: int
    token_start: int
    token_end: int
    tokens: int
    p_value: float
    green_fraction: float | None = None
