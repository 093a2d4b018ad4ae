"""Perceptual content codes of images and sounds (ISCC, ISO 24138): the fingerprint layer under the watermark.

An image signed by Assay is registered under its ISCC Content-Code Image (64 bits, computed by
``iscc-core`` from the image normalised as the ISCC defines it: orientation applied, transparency
on white, a uniform border trimmed, grey, 32 x 32 bicubic). The code is a C2PA soft binding of
its own (``io.iscc.v0``, a fingerprint in the C2PA soft-binding algorithm list): declared in the
manifest and indexed in the store by band (:meth:`ManifestStore.near_fingerprints`). Where the
watermark did not survive (a small blurred thumbnail, heavy WebP or JPEG recompression of a
shrunk copy) but the picture is still recognisably the same, a stored code within
``MAX_DISTANCE`` bits of the image's own leads back to the manifest, as weaker evidence than a
watermark: a perceptual code says the pictures look alike, not that one was made from the other.
It does not survive crops or rotations (the watermark does).
A nearly uniform picture gets no code (its DCT signs are noise: two blank images would match).

A sound is registered the same way under its ISCC Content-Code Audio (:func:`audio_code`: the
Chromaprint fingerprint of its first 60 s, from ``fpcalc``, hashed by ``iscc-core``), and a
video under its ISCC Content-Code Video (:func:`video_code`: the MPEG-7 frame signatures of its
first 60 s at 5 frames a second, from FFmpeg's ``signature`` filter, hashed by ``iscc-core``; the
recipe of ``iscc-core``'s documentation and ``iscc-sdk``, so a video up to 60 s long gets the
code those tools give it).

``MAX_DISTANCE``, ``AUDIO_MAX_DISTANCE`` and ``VIDEO_MAX_DISTANCE`` come from measured nulls
(``eval/content_code.py``): the smallest distance between codes of unrelated images (sounds,
videos) there, less a margin.
"""

from __future__ import annotations

import base64
import binascii
import json
import logging
import re
import shutil
import subprocess
import tempfile
import wave
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Literal

import numpy as np
import numpy.typing as npt
from PIL import Image

if TYPE_CHECKING:
    from watermark.image.codec import Raster

    from .store import ManifestStore

__all__ = [
    "AUDIO_HEADER",
    "AUDIO_MAX_DISTANCE",
    "ISCC_ALG",
    "MAX_DISTANCE",
    "MIN_CONTRAST",
    "VIDEO_HEADER",
    "VIDEO_MAX_DISTANCE",
    "CodeMatch",
    "ContentCode",
    "audio_code",
    "code_from_binding",
    "image_code",
    "nearest",
    "normalised_pixels",
    "raster_code",
    "sound_code",
    "video_code",
]

log = logging.getLogger(__name__)

ISCC_ALG = "io.iscc.v0"
MAX_DISTANCE = 6  # bits of 64: see eval/content_code.py (null minimum and attack distances)
MIN_CONTRAST = 8.0  # grey levels (std of the 32 x 32 picture): flatter pictures get no code
_IMAGE_HEADER = bytes.fromhex("2101")  # ISCC header: Content-Code, Image, v0, 64 bits
AUDIO_HEADER = bytes.fromhex("2201")  # ISCC header: Content-Code, Audio, v0, 64 bits
AUDIO_MAX_DISTANCE = 4  # bits of 64 for sound: see eval/content_code.py (null nearest 5)
MIN_AUDIO_SECONDS = 5.0  # shorter sound gets no code (too few Chromaprint frames to be distinctive)
VIDEO_HEADER = bytes.fromhex("2301")  # ISCC header: Content-Code, Video, v0, 64 bits
VIDEO_MAX_DISTANCE = 5  # bits of 64 for video: see eval/content_code.py (null nearest 7)
VIDEO_SECONDS = 60.0  # the stretch of a video its code is computed from
VIDEO_FPS = 5  # frames a second signed by MPEG-7 signatures (iscc-sdk's default)
MIN_VIDEO_FRAMES = 5  # fewer distinct frame signatures (under a second of video) get no code
# the FFmpeg demuxer for each video type Assay signs: named, so a file cannot pick a demuxer
# that reads other files or the network (playlists, concat lists)
_DEMUXERS = {
    "video/mp4": "mov",
    "video/quicktime": "mov",
    "video/x-m4v": "mov",
    "video/webm": "matroska",
    "video/x-matroska": "matroska",
    "video/avi": "avi",
}
CodeKind = Literal["image", "audio", "video"]
_KINDS: dict[bytes, CodeKind] = {_IMAGE_HEADER: "image", AUDIO_HEADER: "audio", VIDEO_HEADER: "video"}
_SIDE = 32
_BAND = 512  # rows converted at a time


@dataclass(frozen=True)
class ContentCode:
    """A 64-bit ISCC Content-Code (Image, Audio or Video)."""

    digest: bytes  # the 8 similarity-preserving bytes
    header: bytes = _IMAGE_HEADER  # the ISCC unit's header: its kind

    @property
    def kind(self) -> CodeKind:
        """``"image"``, ``"audio"`` or ``"video"``."""
        return _KINDS[self.header]

    @property
    def iscc(self) -> str:
        """The canonical ISCC string (``ISCC:EEA…``)."""
        import iscc_core

        return "ISCC:" + str(iscc_core.encode_base32(self.header + self.digest))

    @property
    def binding(self) -> bytes:
        """The soft-binding value: the ISCC unit's bytes (header and digest)."""
        return self.header + self.digest

    @property
    def value(self) -> int:
        """The digest as an unsigned integer (for Hamming distances)."""
        return int.from_bytes(self.digest, "big")

    def distance(self, other: ContentCode) -> int:
        """Bits that differ between the two codes (0-64)."""
        return (self.value ^ other.value).bit_count()


def code_from_binding(value: str) -> ContentCode | None:
    """The image, audio or video code a stored ``io.iscc.v0`` binding (base64) holds; ``None`` for other units."""
    try:
        raw = base64.b64decode(value, validate=True)
    except (binascii.Error, ValueError):
        return None
    return ContentCode(raw[2:], raw[:2]) if len(raw) == 10 and raw[:2] in _KINDS else None


def normalised_pixels(
    pixels: npt.NDArray[np.floating] | npt.NDArray[np.integer],
    *,
    peak: float = 255.0,
    alpha: npt.NDArray[np.generic] | None = None,
) -> npt.NDArray[np.uint8]:
    """The 32 x 32 grey pixels the ISCC image code is computed from.

    ``pixels``: ``(h, w)`` grey or ``(h, w, 3)`` RGB in ``[0, peak]``, orientation already applied;
    ``alpha``: the alpha plane (``0..peak``), composited on white.
    """
    px = np.asarray(pixels)
    scale = np.float32(255.0 / peak)
    weights = np.array([0.299, 0.587, 0.114], np.float32) * scale  # ITU-R 601-2 luma, as Pillow's "L"
    grey8 = np.empty(px.shape[:2], dtype=np.uint8)
    for y in range(0, px.shape[0], _BAND):  # a band of rows at a time: no float copy of the image
        band = px[y : y + _BAND].astype(np.float32, copy=False)
        grey = band @ weights if band.ndim == 3 else band * scale
        if alpha is not None:
            a = np.asarray(alpha[y : y + _BAND], dtype=np.float32) / np.float32(
                peak if alpha.dtype != np.uint8 else 255.0
            )
            grey = grey * a + 255.0 * (1.0 - a)
        grey8[y : y + _BAND] = np.clip(np.rint(grey), 0, 255)
    # a uniform border (the colour of the top-left pixel) is cropped away, as the ISCC prescribes
    differs = grey8 != grey8[0, 0]
    rows, cols = np.flatnonzero(differs.any(axis=1)), np.flatnonzero(differs.any(axis=0))
    if rows.size and cols.size:
        grey8 = grey8[rows[0] : rows[-1] + 1, cols[0] : cols[-1] + 1]
    small = Image.fromarray(np.ascontiguousarray(grey8), mode="L").resize((_SIDE, _SIDE), Image.Resampling.BICUBIC)
    return np.asarray(small, dtype=np.uint8)


def image_code(
    pixels: npt.NDArray[np.floating] | npt.NDArray[np.integer],
    *,
    peak: float = 255.0,
    alpha: npt.NDArray[np.generic] | None = None,
) -> ContentCode | None:
    """The 64-bit ISCC Content-Code Image of decoded pixels (see :func:`normalised_pixels`);
    ``None`` for a picture too flat to tell apart from others (``MIN_CONTRAST``)."""
    import iscc_core  # 0.2 s to import: only where a code is made

    small = normalised_pixels(pixels, peak=peak, alpha=alpha)
    if float(small.std()) < MIN_CONTRAST:
        return None
    return ContentCode(bytes(iscc_core.soft_hash_image_v0(small.ravel().tolist(), bits=64)))


def raster_code(raster: Raster) -> ContentCode | None:
    """The code of a decoded image file (its alpha composited on white)."""
    return image_code(raster.pixels, peak=raster.peak, alpha=raster.alpha)


@dataclass(frozen=True)
class CodeMatch:
    """A stored manifest whose registered content code is ``distance`` bits from the query's."""

    manifest_id: str
    distance: int

    @property
    def similarity(self) -> float:
        """1 - distance / 64."""
        return 1.0 - self.distance / 64.0


def nearest(store: ManifestStore, code: ContentCode, max_distance: int | None = None) -> list[CodeMatch]:
    """Stored manifests whose code of the same kind is within ``max_distance`` bits of ``code``
    (default: the kind's measured threshold), nearest first (then newest): an index lookup by
    band (:meth:`ManifestStore.near_fingerprints`)."""
    if max_distance is None:
        max_distance = {"audio": AUDIO_MAX_DISTANCE, "video": VIDEO_MAX_DISTANCE}.get(code.kind, MAX_DISTANCE)
    return [CodeMatch(m, d) for m, d in store.near_fingerprints(code.binding, max_distance)]


def audio_code(samples: npt.NDArray[np.floating], rate: int) -> ContentCode | None:
    """The 64-bit ISCC Content-Code Audio of decoded sound (``(n,)`` or ``(n, channels)`` in
    [-1, 1]): its Chromaprint fingerprint (``fpcalc``, Debian ``libchromaprint-tools``), hashed by
    ``iscc-core``. ``None`` when the sound is shorter than ``MIN_AUDIO_SECONDS``, silent, or
    ``fpcalc`` is not installed (the service then registers no audio code, and says so in its log).
    """
    import iscc_core

    mono = np.asarray(samples, dtype=np.float32)
    if mono.ndim == 2:
        mono = mono.mean(axis=1)
    if len(mono) < MIN_AUDIO_SECONDS * rate or not np.any(mono):
        return None
    fpcalc = shutil.which("fpcalc")
    if fpcalc is None:
        log.warning("no audio content code: fpcalc (Chromaprint) is not installed")
        return None
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "sound.wav"
        with wave.open(str(path), "wb") as w:
            w.setnchannels(1)
            w.setsampwidth(2)
            w.setframerate(rate)
            w.writeframes((np.clip(mono, -1.0, 1.0) * 32767.0).astype("<i2").tobytes())
        run = _run_tool([fpcalc, "-raw", "-json", "-signed", "-length", "0", str(path)], timeout=120)
        if run is None:
            return None
    try:  # fpcalc may complain about the end of a file and still print the whole fingerprint
        fingerprint = json.loads(run.stdout)["fingerprint"]
    except (ValueError, KeyError, TypeError):
        log.warning("no audio content code: fpcalc failed", extra={"stderr": run.stderr[-200:]})
        return None
    if not fingerprint:
        return None
    return ContentCode(bytes(iscc_core.soft_hash_audio_v0(fingerprint, bits=64)), AUDIO_HEADER)


def sound_code(data: bytes) -> ContentCode | None:
    """The audio code of a sound file's first ``DETECT_SECONDS`` (what a detection reads too);
    ``None`` where it cannot be decoded or is too short (see :func:`audio_code`)."""
    from watermark.audio.files import DETECT_SECONDS, read_audio
    from watermark.errors import InvalidInput, PayloadTooLarge, UnsupportedMedia

    try:
        samples, rate = read_audio(data, max_seconds=DETECT_SECONDS)
    except (InvalidInput, UnsupportedMedia, PayloadTooLarge):  # the mark's reading says why, in words
        return None
    return audio_code(samples, rate)


def video_code(data: bytes, mime: str, max_seconds: float = VIDEO_SECONDS) -> ContentCode | None:
    """The 64-bit ISCC Content-Code Video of a video file's first ``max_seconds``: the MPEG-7
    frame signatures of its first video stream at ``VIDEO_FPS`` frames a second (FFmpeg's
    ``signature`` filter, through the ``ffmpeg`` program: Debian ``ffmpeg``), the distinct ones
    summed and hashed by ``iscc-core``. The file's type (``mime``) names the demuxer and FFmpeg may
    open only that file, nothing it refers to.

    ``None`` for a type Assay does not sign, a file FFmpeg cannot read, a video with fewer than
    ``MIN_VIDEO_FRAMES`` distinct frame signatures (a still, or under a second), or without the
    ``ffmpeg`` program (the service then registers no video code, and says so in its log).
    """
    import iscc_core

    demuxer = _DEMUXERS.get(mime)
    ffmpeg = shutil.which("ffmpeg")
    if demuxer is None:
        return None
    if ffmpeg is None:
        log.warning("no video content code: the ffmpeg program is not installed")
        return None
    with tempfile.TemporaryDirectory() as tmp:
        (Path(tmp) / "video").write_bytes(data)
        # the filter writes into the working folder: a relative name needs no escaping
        graph = f"fps=fps={VIDEO_FPS},signature=format=xml:filename=signature.xml"
        run = _run_tool(
            [ffmpeg, "-hide_banner", "-nostdin", "-loglevel", "error", "-protocol_whitelist", "file",
             "-f", demuxer, "-t", f"{max_seconds:g}", "-i", "video",
             "-map", "0:v:0", "-an", "-sn", "-dn", "-vf", graph, "-f", "null", "-"],
            timeout=300,
            cwd=tmp,
        )  # fmt: skip
        if run is None:
            return None
        out = Path(tmp) / "signature.xml"
        xml = out.read_text(errors="replace") if run.returncode == 0 and out.exists() else ""
    if not xml:
        log.info("no video content code: ffmpeg could not read the video", extra={"stderr": run.stderr[-200:]})
        return None
    frames = {tuple(map(int, m.split())) for m in re.findall(r"<FrameSignature>([^<]*)</FrameSignature>", xml)}
    if len(frames) < MIN_VIDEO_FRAMES or any(len(f) != 380 for f in frames):
        return None
    return ContentCode(bytes(iscc_core.soft_hash_video_v0(sorted(frames), bits=64)), VIDEO_HEADER)


def _run_tool(argv: list[str], *, timeout: float, cwd: str | None = None) -> subprocess.CompletedProcess[str] | None:
    """Run a fingerprinting program (its exit code is the caller's to judge); ``None`` and a log
    line when it runs past ``timeout`` seconds."""
    try:
        return subprocess.run(argv, cwd=cwd, capture_output=True, text=True, timeout=timeout, check=False)
    except subprocess.TimeoutExpired:
        log.warning("no content code: %s ran over %g s", Path(argv[0]).name, timeout)
        return None
