from __future__ import annotations

import numpy as np

from watermark.image import ecc
from watermark.image.layout import BAND, TILE, tile_layout


def test_bins_are_disjoint_and_in_band() -> None:
    layout = tile_layout(b"k" * 32)
    as_tuples = {tuple(b) for b in layout.bins}
    assert len(as_tuples) == len(layout.bins)
    radius = np.hypot(layout.bins[:, 0], layout.bins[:, 1])
    assert radius.min() >= BAND[0] and radius.max() <= BAND[1]
    # every coded bit owns the same number of bins
    counts = np.bincount(layout.data_bit, minlength=ecc.CODED_BITS)
    assert counts.min() == counts.max() >= 1


def test_tile_carries_its_bits_exactly() -> None:
    layout = tile_layout(b"k" * 32)
    rng = np.random.default_rng(1)
    coded = rng.random(ecc.CODED_BITS) < 0.5
    tile = layout.tile(coded)
    assert tile.shape == (TILE, TILE)
    assert np.isclose(np.sqrt(np.mean(tile**2)), 1.0)
    soft = layout.soft_bits(np.fft.fft2(tile))
    assert np.array_equal(soft > 0, coded)


def test_other_keys_read_fair_coins() -> None:
    rng = np.random.default_rng(2)
    coded = rng.random(ecc.CODED_BITS) < 0.5
    tile = tile_layout(b"a" * 32).tile(coded)
    agree = [np.mean((tile_layout(bytes([i]) * 32).soft_bits(np.fft.fft2(tile)) > 0) == coded) for i in range(20)]
    assert abs(float(np.mean(agree)) - 0.5) < 0.05
