from __future__ import annotations

import numpy as np
import pytest

from watermark.image.public_marks import PUBLIC_MARKS, detect_public_marks, dwtdct_bits

imwatermark = pytest.importorskip("imwatermark")


@pytest.mark.parametrize("length", [48, 136])
def test_decoder_is_bit_exact_with_invisible_watermark(length: int, astronaut: np.ndarray, coffee: np.ndarray) -> None:
    for rgb in (astronaut, coffee, astronaut[::-1, ::2]):
        bgr = np.ascontiguousarray(rgb[..., ::-1])
        reference = imwatermark.WatermarkDecoder("bits", length).decode(bgr, "dwtDct")
        assert np.array_equal(np.array(reference, dtype=bool), dwtdct_bits(bgr, length))


def _found(rgb: np.ndarray) -> dict[str, bool]:
    return {d.name: d.found for d in detect_public_marks(rgb)}


def test_detects_the_sdxl_and_sd_marks(astronaut: np.ndarray) -> None:
    sdxl = PUBLIC_MARKS[0]
    enc = imwatermark.WatermarkEncoder()
    enc.set_watermark("bits", list(sdxl.bits))
    as_diffusers = enc.encode(astronaut.copy(), "dwtDct")  # diffusers passes RGB to the BGR API
    assert _found(as_diffusers) == {"sdxl-dwtdct": True, "sd-v1-dwtdct": False}
    enc = imwatermark.WatermarkEncoder()
    enc.set_watermark("bytes", b"StableDiffusionV1")
    as_scripts = np.ascontiguousarray(enc.encode(np.ascontiguousarray(astronaut[..., ::-1]), "dwtDct")[..., ::-1])
    result = {d.name: d for d in detect_public_marks(as_scripts)}
    assert result["sd-v1-dwtdct"].found and result["sd-v1-dwtdct"].matched_bits == 136
    assert not result["sdxl-dwtdct"].found


def test_unmarked_and_small_images(astronaut: np.ndarray) -> None:
    assert _found(astronaut) == {"sdxl-dwtdct": False, "sd-v1-dwtdct": False}
    assert detect_public_marks(astronaut[:100, :100]) == []
    assert all(0 <= d.p_value <= 1 for d in detect_public_marks(astronaut))
