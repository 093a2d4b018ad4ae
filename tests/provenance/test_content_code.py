"""The ISCC image code: the normalisation the ISCC prescribes, registration at signing, and
recovery of a stripped picture's credentials where its watermark is gone."""

from __future__ import annotations

import io

import cv2
import iscc_core
import numpy as np
import pytest
from PIL import Image, ImageChops, ImageOps
from skimage import data as skdata

from detect.recovery import recover_by_content_code, recover_credentials
from provenance.c2pa_io import verify_asset
from provenance.content_code import (
    AUDIO_MAX_DISTANCE,
    ISCC_ALG,
    MAX_DISTANCE,
    ContentCode,
    audio_code,
    code_from_binding,
    image_code,
    nearest,
    raster_code,
    sound_code,
)
from provenance.credentials import SigningCredentials
from provenance.soft_binding import sign_and_store
from provenance.store import ManifestStore
from tests.provenance.test_store import creds, store  # noqa: F401  (fixtures: SQLite and PostgreSQL)
from watermark.image import ImageWatermarkDetector, ImageWatermarker, detect_file, read_image, watermark_file
from watermark.keys import KeyRing, Secret, WatermarkKey

RING = KeyRing([WatermarkKey("img", "kgw", Secret(b"content-code-test-secret-000000"))])


def _reference_code(im: Image.Image) -> str:
    """The ISCC image code by the ISCC's own recipe, step by step in Pillow: orientation, alpha on
    white, the border of the top-left pixel's colour trimmed, grey, 32 x 32 bicubic."""
    im = ImageOps.exif_transpose(im) or im
    rgba = im.convert("RGBA")
    im = Image.alpha_composite(Image.new("RGBA", rgba.size, (255, 255, 255)), rgba).convert("RGB")
    bbox = ImageChops.difference(im, Image.new("RGB", im.size, im.getpixel((0, 0)))).getbbox()
    if bbox:
        im = im.crop(bbox)
    pixels = np.asarray(im.convert("L").resize((32, 32), Image.Resampling.BICUBIC)).ravel().tolist()
    return str(iscc_core.gen_image_code_v0(pixels, bits=64)["iscc"])


def _png(im: Image.Image) -> bytes:
    buf = io.BytesIO()
    im.save(buf, "PNG")
    return buf.getvalue()


def test_the_code_is_the_iscc_image_code_of_the_normalised_picture() -> None:
    """Framed (a uniform border is trimmed), transparent (composited on white) and plain pictures:
    the code Assay computes from a decoded file is the ISCC's, within a bit of rounding."""
    photo = Image.fromarray(skdata.astronaut()).resize((300, 300))
    framed = ImageOps.expand(photo, border=40, fill=(0, 0, 0))
    logo = Image.fromarray(skdata.logo())  # RGBA
    for im in (photo, framed, logo):
        ours = raster_code(read_image(_png(im)))
        assert ours is not None and ours.iscc.startswith("ISCC:EEA")
        theirs = code_from_binding_iscc(_reference_code(im))
        assert ours.distance(theirs) <= 1, (ours.iscc, _reference_code(im))
        assert theirs.iscc == _reference_code(im)  # the same ISCC string for the same digest
    assert raster_code(read_image(_png(framed))) == raster_code(read_image(_png(photo)))  # the frame is trimmed
    assert image_code(np.full((64, 64), 128, np.uint8)) is None  # too flat to tell apart from others


def code_from_binding_iscc(iscc: str):  # type: ignore[no-untyped-def]
    import base64

    raw = iscc_core.decode_base32(iscc.removeprefix("ISCC:"))
    code = code_from_binding(base64.b64encode(raw).decode())
    assert code is not None
    return code


def test_a_picture_whose_mark_was_destroyed_is_found_by_its_content_code(
    store: ManifestStore,  # noqa: F811
    creds: SigningCredentials,  # noqa: F811
) -> None:
    """Signed with its content code as a second soft binding; stripped and blurred until the mark is
    gone, it is still found, as a likeness; an unrelated picture is not."""
    source = _png(Image.fromarray(skdata.chelsea()).resize((600, 400)))
    marked = watermark_file(source, ImageWatermarker(RING))
    code = raster_code(read_image(marked.data))
    assert code is not None
    bound = sign_and_store(
        marked.data,
        marked.mime_type,
        marked.payload.to_bytes(),
        creds,
        store,
        title="a cat",
        model="gen-1",
        fingerprints=[(ISCC_ALG, code.binding)],
    )
    signed = verify_asset(bound.signed.data, "image/png", trust_anchors=[creds.root_pem])
    assert signed.validation_state == "Trusted" and not signed.failures  # io.iscc.v0 is a registered algorithm
    # stripped, shrunk to 150 px and blurred: the watermark is gone, the picture is recognisable
    small = cv2.GaussianBlur(np.asarray(Image.open(io.BytesIO(bound.signed.data)).resize((150, 100))), (0, 0), 1.5)
    buf = io.BytesIO()
    Image.fromarray(small).save(buf, "JPEG", quality=60)
    copy = buf.getvalue()
    detection = detect_file(copy, ImageWatermarkDetector(RING))
    assert not detection.found and recover_credentials(copy, "image/jpeg", detection, store) is None
    copy_code = raster_code(read_image(copy))
    assert copy_code is not None and copy_code.distance(code) <= MAX_DISTANCE
    found = recover_by_content_code(copy, "image/jpeg", copy_code, detection.p_value, store)
    assert found is not None and found.manifest.manifest_id == bound.record.manifest_id
    assert found.through == "content-code" and found.soft_binding_alg == ISCC_ALG and not found.hard_binding_matches
    assert found.similarity is not None and found.similarity >= 1 - MAX_DISTANCE / 64
    assert "looks like a signed picture, weaker evidence than a watermark" in found.summary
    other = raster_code(read_image(_png(Image.fromarray(skdata.coffee()))))
    assert other is not None and nearest(store, other) == []


def test_the_band_index_finds_every_code_within_six_bits(store: ManifestStore) -> None:  # noqa: F811
    """Pigeonhole: 7 bands, so a code within 6 bits shares one band exactly; the lookup reads only
    those, and its answer equals a full comparison's."""
    rng = np.random.default_rng(5)
    stored = [int(rng.integers(0, 2**62)) << 2 | int(rng.integers(0, 4)) for _ in range(40)]
    for i, value in enumerate(stored):
        unit = ContentCode(value.to_bytes(8, "big")).binding
        store.put(
            manifest_id=f"urn:c2pa:test-{i}",
            asset=bytes([i]),
            mime="image/png",
            manifest_store=b"m",
            signer="s",
            development_signer=True,
            soft_bindings=[(ISCC_ALG, unit)],
        )
    for trial in range(60):
        target = int(rng.integers(0, len(stored)))
        flips = rng.choice(64, size=int(rng.integers(0, 9)), replace=False)
        query = stored[target] ^ sum(1 << int(b) for b in flips)
        found = nearest(store, ContentCode(query.to_bytes(8, "big")))
        expected = sorted(
            (bin(v ^ query).count("1"), i) for i, v in enumerate(stored) if bin(v ^ query).count("1") <= 6
        )
        assert [(m.distance, m.manifest_id) for m in found] == [(d, f"urn:c2pa:test-{i}") for d, i in expected], trial
    with pytest.raises(ValueError, match="within at most 6 bits"):
        store.near_fingerprints(ContentCode(b"\0" * 8).binding, 7)


def test_a_sound_s_code_survives_codecs_and_tells_other_speech_apart() -> None:
    """The ISCC audio code of the Chromaprint fingerprint: the same speech through Opus and AAC
    stays within the threshold, other speech does not; too short or silent sound gets no code."""
    from tests.watermark.audio.test_audio_files import reencode, speak
    from watermark.audio import encode_audio

    samples, rate = speak()
    wav = encode_audio(samples, rate)
    code = sound_code(wav)
    assert code is not None and code.kind == "audio" and code.iscc.startswith("ISCC:EIA")
    assert code_from_binding_iscc(code.iscc) == code  # the binding round-trips with its kind
    for codec, muxer, rate_bps in (("libopus", "ogg", 32_000), ("aac", "ipod", 64_000)):
        copy = sound_code(reencode(wav, codec, muxer, rate_bps))
        assert copy is not None and copy.distance(code) <= AUDIO_MAX_DISTANCE, (codec, copy and copy.distance(code))
    other = sound_code(
        encode_audio(
            *speak(
                "A completely different text: the trains to the north run late this week, the weather turns cold "
                "on Friday, and the price of bread at the market went up again for the third month in a row."
            )
        )
    )
    assert other is not None and other.distance(code) > AUDIO_MAX_DISTANCE
    assert audio_code(samples[: 4 * rate], rate) is None and audio_code(np.zeros(10 * rate), rate) is None


def _pan(picture: np.ndarray, frames: int = 40, crf: str = "18", width: int = 320, height: int = 240) -> bytes:
    """A camera pan across a photograph (10 fps), H.264 in MP4."""
    import av

    buf = io.BytesIO()
    with av.open(buf, "w", format="mp4") as c:
        v = c.add_stream("libx264", rate=10, options={"crf": crf, "preset": "veryfast"})
        v.width, v.height, v.pix_fmt = width, height, "yuv420p"  # type: ignore[union-attr]
        for i in range(frames):
            view = np.ascontiguousarray(picture[40 : 40 + height, 3 * i : 3 * i + width])
            for p in v.encode(av.VideoFrame.from_ndarray(view, format="rgb24")):  # type: ignore[union-attr]
                c.mux(p)
        for p in v.encode(None):  # type: ignore[union-attr]
            c.mux(p)
    return buf.getvalue()


def test_a_video_s_code_is_the_iscc_video_code_and_survives_re_encoding(tmp_path) -> None:  # type: ignore[no-untyped-def]
    """The code is what the ISCC's documented FFmpeg command and ``iscc-core`` give (Assay only
    pins the demuxer and the streams); a re-encoded, shrunk copy stays within the threshold, a pan
    over another photograph does not; a still, an unknown type and a playlist get no code."""
    import re
    import subprocess

    from provenance.content_code import VIDEO_MAX_DISTANCE, video_code

    video = _pan(skdata.astronaut())
    code = video_code(video, "video/mp4")
    assert code is not None and code.kind == "video" and code.iscc.startswith("ISCC:EMA")
    assert code_from_binding_iscc(code.iscc) == code
    (tmp_path / "video.mp4").write_bytes(video)
    subprocess.run(
        ["ffmpeg", "-i", "video.mp4", "-vf", "fps=fps=5,signature=format=xml:filename=sig.xml", "-f", "null", "-"],
        cwd=tmp_path,
        capture_output=True,
        check=True,
    )
    xml = (tmp_path / "sig.xml").read_text()
    sigs = [tuple(map(int, s.split())) for s in re.findall(r"<FrameSignature>([^<]*)<", xml)]
    assert code.iscc == iscc_core.gen_video_code_v0(sigs, bits=64)["iscc"]

    from tests.watermark.video.test_video_watermark import reencode

    worse = video_code(reencode(video, crf="35"), "video/mp4")
    assert worse is not None and worse.distance(code) <= VIDEO_MAX_DISTANCE, worse and worse.distance(code)
    other = video_code(_pan(skdata.coffee()), "video/mp4")
    assert other is not None and other.distance(code) > VIDEO_MAX_DISTANCE
    # Each row one colour: a pan shows no change. Lossless, so every frame decodes the same: a lossy
    # encode of this flat picture puts the signature's region differences on their thresholds, and
    # the encoder's noise (which varied between runs of the whole suite) made them distinct.
    rows = np.tile(np.asarray(skdata.astronaut())[:, :1], (1, 600, 1))
    assert video_code(_pan(rows, crf="0"), "video/mp4") is None
    assert video_code(video, "image/png") is None and video_code(b"\0" * 1000, "video/mp4") is None
    (tmp_path / "secret.mp4").write_bytes(video)  # a playlist naming a local file is not followed (FFmpeg would)
    playlist = f"#EXTM3U\n#EXT-X-TARGETDURATION:10\n#EXTINF:10,\n{tmp_path / 'secret.mp4'}\n#EXT-X-ENDLIST\n"
    assert video_code(playlist.encode(), "video/mp4") is None
