"""Image watermark benchmark: quality, robustness, speed and the null run, side by side.

Assay's scheme against ``invisible-watermark`` dwtDct and dwtDctSvd (48-bit SDXL payload) and
against Assay's own previous version (``--baseline``, the scheme before flat-artwork shaping and
affine synchronisation, run from that git revision in a child process) on the same images and
attacks in the same run, and RivaGAN (32 bits) on a subset. Two image sets:

- ``photo``: 9 colour and 7 greyscale ``skimage.data`` images, centre-cropped and resized
  (LANCZOS) to 512 and 1024 px;
- ``flat``: 12 flat digital-artwork images rendered in code (``eval/flat_artwork.py``: gradients,
  vector shapes, UI screenshots, a chart, a cartoon), around one megapixel.

Quality is PSNR and SSIM on the whole image and SSIM on its four flattest 128 px crops; the
figure ``image_watermark_crops.png`` shows such crops before and after marking. Writes
``eval/results/image_watermark.{json,md,png}``; ``--skip`` keeps earlier sections.

Decisions at FPR 1e-6: Assay decides with its exact bound (see watermark/image/detect.py); the
unkeyed marks use the binomial thresholds k >= 41 of 48 and k >= 30 of 32.
"""

from __future__ import annotations

import argparse
import dataclasses
import io
import json
import math
import os
import platform
import statistics
import subprocess
import sys
import tempfile
import time
import zlib
from abc import ABC, abstractmethod
from collections import defaultdict
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[1]
# A child run of the previous version imports the package from that revision's tree instead.
sys.path.insert(0, os.environ.get("ASSAY_IMAGE_CODE_ROOT", str(REPO)))
sys.path.insert(1, str(REPO / "eval"))

import cv2  # noqa: E402
import numpy as np  # noqa: E402
from flat_artwork import flat_artwork  # noqa: E402
from PIL import Image  # noqa: E402
from skimage import data as skdata  # noqa: E402
from skimage.metrics import structural_similarity  # noqa: E402
from tqdm import tqdm  # noqa: E402
from typed_results import from_json, write_json  # noqa: E402

from watermark.image import (  # noqa: E402
    ImageWatermarkDetector,
    ImageWatermarker,
    ecc,
)
from watermark.image import sync as image_sync  # noqa: E402
from watermark.image.embed import luma  # noqa: E402
from watermark.image.layout import layout_for_key  # noqa: E402
from watermark.image.payload import CHECKED_BITS, Payload  # noqa: E402
from watermark.keys import KeyRing, Secret, WatermarkKey  # noqa: E402

COLOUR = ["astronaut", "chelsea", "coffee", "rocket", "hubble_deep_field", "immunohistochemistry", "retina",
          "colorwheel", "logo"]  # fmt: skip
GREY = ["camera", "moon", "page", "coins", "brick", "grass", "gravel"]
SDXL_BITS = [int(b) for b in np.unpackbits(np.frombuffer(bytes.fromhex("b3ec907bb19e"), dtype=np.uint8))]
RIVA_BITS = SDXL_BITS[:32]
THRESHOLD = {48: 41, 32: 30}
BASELINE = "9705d06"  # the last revision before flat-artwork shaping and affine synchronisation
# Attacks that move the tile lattice: the detector must search the geometry (speed section).
GEOMETRIC = ["rotate2", "rotate5", "rotate10", "aspect0.8", "aspect1.25", "shear5", "crop0.5-offset", "crop0.71-centre"]

Img = np.ndarray


# ---------------------------------------------------------------------------------------------- images


def load_images(size: int) -> list[tuple[str, Img]]:
    out = []
    for name in COLOUR + GREY:
        arr = getattr(skdata, name)()
        if arr.ndim == 3 and arr.shape[2] == 4:  # logo: composite on white
            a = arr[..., 3:4].astype(np.float32) / 255
            arr = (arr[..., :3] * a + 255 * (1 - a)).astype(np.uint8)
        h, w = arr.shape[:2]
        s = min(h, w)
        arr = arr[(h - s) // 2 : (h - s) // 2 + s, (w - s) // 2 : (w - s) // 2 + s]
        im = Image.fromarray(arr).resize((size, size), Image.LANCZOS)
        out.append((f"{name}@{size}", np.asarray(im)))
    return out


def image_set(name: str, sizes: list[int], limit: int) -> list[tuple[str, Img]]:
    """The ``photo`` or ``flat`` set (``limit`` images per size for photos, in all for flat artwork)."""
    if name == "flat":
        return flat_artwork(limit)
    return [im for size in sizes for im in load_images(size)[:limit]]


# ---------------------------------------------------------------------------------------------- attacks


def _pil(a: Img) -> Image.Image:
    return Image.fromarray(a)


def jpeg(a: Img, q: int) -> Img:
    buf = io.BytesIO()
    _pil(a).save(buf, "JPEG", quality=q, subsampling=2)  # 4:2:0
    return np.asarray(Image.open(buf))


def webp(a: Img, q: int) -> Img:
    buf = io.BytesIO()
    _pil(a).save(buf, "WEBP", quality=q)
    return np.asarray(Image.open(buf))


def resize(a: Img, f: float, restore: bool) -> Img:
    h, w = a.shape[:2]
    small = cv2.resize(a, (round(w * f), round(h * f)), interpolation=cv2.INTER_AREA)
    return cv2.resize(small, (w, h), interpolation=cv2.INTER_CUBIC) if restore else small


def crop(a: Img, area: float, where: str) -> Img:
    h, w = a.shape[:2]
    ch, cw = round(h * area**0.5), round(w * area**0.5)
    top, left = ((h - ch) // 2, (w - cw) // 2) if where == "centre" else (h - ch, w // 10)
    return np.ascontiguousarray(a[top : top + ch, left : left + cw])


def rotate(a: Img, deg: float) -> Img:
    h, w = a.shape[:2]
    m = cv2.getRotationMatrix2D((w / 2, h / 2), deg, 1.0)
    return cv2.warpAffine(a, m, (w, h), flags=cv2.INTER_LINEAR, borderMode=cv2.BORDER_CONSTANT)


def aspect(a: Img, f: float) -> Img:
    """Width scaled by ``f``, height kept (a stretched or squeezed re-layout), then JPEG 90."""
    h, w = a.shape[:2]
    interp = cv2.INTER_AREA if f < 1 else cv2.INTER_CUBIC
    return jpeg(cv2.resize(a, (round(w * f), h), interpolation=interp), 90)


def shear(a: Img, deg: float) -> Img:
    """Horizontal shear by ``deg`` degrees about the centre, same canvas (corners filled black)."""
    h, w = a.shape[:2]
    t = math.tan(math.radians(deg))
    m = np.array([[1.0, t, -t * h / 2], [0.0, 1.0, 0.0]])
    return cv2.warpAffine(a, m, (w, h), flags=cv2.INTER_LINEAR, borderMode=cv2.BORDER_CONSTANT)


def noise(a: Img, sigma: float, seed: int = 0) -> Img:
    rng = np.random.default_rng(seed)
    return np.clip(a + rng.normal(0, sigma, a.shape), 0, 255).astype(np.uint8)


def gain(a: Img, f: float) -> Img:
    return np.clip(a.astype(np.float32) * f, 0, 255).astype(np.uint8)


def contrast(a: Img, f: float) -> Img:
    m = a.mean()
    return np.clip((a.astype(np.float32) - m) * f + m, 0, 255).astype(np.uint8)


ATTACKS: dict[str, Callable[[Img], Img]] = {
    "none": lambda a: a,
    "jpeg90": lambda a: jpeg(a, 90),
    "jpeg75": lambda a: jpeg(a, 75),
    "jpeg50": lambda a: jpeg(a, 50),
    "webp80": lambda a: webp(a, 80),
    "resize0.5": lambda a: resize(a, 0.5, False),
    "resize0.75": lambda a: resize(a, 0.75, False),
    "resize0.5-restored": lambda a: resize(a, 0.5, True),
    "resize0.75-restored": lambda a: resize(a, 0.75, True),
    "crop0.71-centre": lambda a: crop(a, 0.71, "centre"),
    "crop0.5-centre": lambda a: crop(a, 0.5, "centre"),
    "crop0.5-offset": lambda a: crop(a, 0.5, "offset"),
    "rotate2": lambda a: rotate(a, 2),
    "rotate5": lambda a: rotate(a, 5),
    "rotate10": lambda a: rotate(a, 10),
    "blur1": lambda a: cv2.GaussianBlur(a, (0, 0), 1.0),
    "noise5": lambda a: noise(a, 5),
    "noise13": lambda a: noise(a, 13),
    "brightness1.5": lambda a: gain(a, 1.5),
    "brightness0.5": lambda a: gain(a, 0.5),
    "contrast1.5": lambda a: contrast(a, 1.5),
    "contrast0.5": lambda a: contrast(a, 0.5),
    "webp70": lambda a: webp(a, 70),
    "webp60": lambda a: webp(a, 60),
    "jpeg60-down0.6": lambda a: jpeg(resize(a, 0.6, False), 60),
    "jpeg50-down0.5": lambda a: jpeg(resize(a, 0.5, False), 50),
    "aspect0.8": lambda a: aspect(a, 0.8),
    "aspect1.25": lambda a: aspect(a, 1.25),
    "shear5": lambda a: shear(a, 5),
    "social": lambda a: jpeg(resize(a, 0.75, False), 80),
    "combo": lambda a: gain(crop(jpeg(a, 40), 0.71, "centre"), 0.5),
}


# ---------------------------------------------------------------------------------------------- methods


class Method(ABC):
    name: str
    bits: int

    @abstractmethod
    def embed(self, img: Img) -> Img:
        """The marked image."""

    @abstractmethod
    def detect(self, img: Img) -> tuple[bool, bool, float]:
        """(decided marked at FPR 1e-6, exact payload, bit accuracy)."""


class Assay(Method):
    name, bits = "assay", 64

    def __init__(self) -> None:
        self.key = WatermarkKey("eval", "kgw", Secret(b"image-eval-secret-0001"))
        ring = KeyRing([self.key])
        self.marker, self.detector = ImageWatermarker(ring), ImageWatermarkDetector(ring)
        self.layout = layout_for_key(self.key)
        self.record = 0x5EED_CAFE_F00D

    def embed(self, img: Img) -> Img:
        marked, _ = self.marker.mark_pixels(img, peak=255.0, record_id=self.record)
        if marked.dtype == np.uint8:
            return marked
        return np.rint(marked).astype(np.uint8)  # revisions before 05899a7 return float32

    def coded_accuracy(self, img: Img) -> float:
        """Raw coded-bit accuracy at the best pilot alignment over the geometries the detector tries."""
        sy = image_sync
        frame, _ = sy.detection_frame(luma(img.astype(np.float32)))
        r = sy.whiten(frame)
        acf = sy.autocorrelation(r)
        upright = getattr(sy, "upright_axes", None) or getattr(sy, "upright_scales")  # noqa: B009 (either version)
        geoms = [sy.untouched_geometry(*img.shape[:2]), *sy.search_geometry(acf, candidates=8), *upright(acf)]
        g = max(geoms, key=lambda g: sy.align(sy.fold(r, g), self.layout).pilot_z)
        best = sy.polish(r, g, self.layout)[1]
        truth = ecc.encode(ecc.with_crc(Payload.for_key(self.key.key_id, self.record).to_bytes()))
        return float(np.mean((self.layout.soft_bits(best.spectrum) > 0) == truth))

    def detect(self, img: Img) -> tuple[bool, bool, float]:
        d = self.detector.detect_pixels(img.astype(np.float32), peak=255.0)
        exact = bool(d.found and d.payload is not None and d.payload.record_id == self.record)
        acc = d.bit_accuracy if exact and d.bit_accuracy is not None else self.coded_accuracy(img)
        return d.found, exact, acc


def _bgr3(img: Img) -> Img:
    rgb = np.dstack([img] * 3) if img.ndim == 2 else img
    return np.ascontiguousarray(rgb[..., ::-1])


class ImWatermark(Method):
    def __init__(self, method: str, bits: list[int]) -> None:
        from imwatermark import WatermarkDecoder, WatermarkEncoder

        self.name, self.method, self.payload, self.bits = method, method, np.array(bits, bool), len(bits)
        self.encoder = WatermarkEncoder()
        self.encoder.set_watermark("bits", bits)
        self.decoder = WatermarkDecoder("bits", len(bits))
        if method == "rivaGan":
            WatermarkEncoder.loadModel()

    def embed(self, img: Img) -> Img:
        # Grey images become 3-channel (the package only takes BGR); dwtDct then adds chroma.
        return np.ascontiguousarray(self.encoder.encode(_bgr3(img), self.method)[..., ::-1])

    def detect(self, img: Img) -> tuple[bool, bool, float]:
        if img.shape[0] * img.shape[1] < 256 * 256:
            return False, False, 0.5
        bits = np.array(self.decoder.decode(_bgr3(img), self.method), dtype=bool)
        k = int(np.sum(bits == self.payload))
        return k >= THRESHOLD[self.bits], k == self.bits, k / self.bits


# ---------------------------------------------------------------------------------------------- runs


def psnr(a: Img, b: Img) -> float:
    mse = float(np.mean((a.astype(np.float64) - b.astype(np.float64)) ** 2))
    return float("inf") if mse == 0 else 10 * np.log10(255.0**2 / mse)


def ssim(a: Img, b: Img) -> float:
    if a.ndim == 3 and b.ndim == 3:
        return float(structural_similarity(a, b, channel_axis=2, data_range=255))
    a2 = a if a.ndim == 2 else cv2.cvtColor(a, cv2.COLOR_RGB2GRAY)
    b2 = b if b.ndim == 2 else cv2.cvtColor(b, cv2.COLOR_RGB2GRAY)
    return float(structural_similarity(a2, b2, data_range=255))


def flattest_crops(img: Img, count: int = 4, size: int = 128) -> list[tuple[int, int]]:
    """Top-left corners of the ``count`` non-overlapping ``size`` px crops with the lowest luma deviation."""
    y = luma(img.astype(np.float32))
    h, w = y.shape
    cells = sorted(
        (float(y[t : t + size, x : x + size].std()), t, x)
        for t in range(0, h - size + 1, size // 2)
        for x in range(0, w - size + 1, size // 2)
    )
    picked: list[tuple[int, int]] = []
    for _, t, x in cells:
        if all(abs(t - pt) >= size or abs(x - px) >= size for pt, px in picked):
            picked.append((t, x))
        if len(picked) == count:
            break
    return picked


def flat_ssim(ref: Img, marked: Img) -> float:
    """The lowest SSIM over the image's four flattest 128 px crops (where a mark would show first)."""
    crops = flattest_crops(ref)
    return min(ssim(ref[t : t + 128, x : x + 128], marked[t : t + 128, x : x + 128]) for t, x in crops)


# ---------------------------------------------------------------------------------------------- results


@dataclass(frozen=True)
class ImageQuality:
    psnr_db: float
    ssim: float
    flat_crop_ssim: float  # the lowest SSIM of the image's four flattest 128 px crops


@dataclass(frozen=True)
class AttackOutcome:
    tpr_at_1e_6: float  # detected at a false-positive rate of 1e-6
    exact_payload: float
    bit_accuracy: float


@dataclass(frozen=True)
class MethodResult:
    """One method on one image set: quality, cost and detection after every attack."""

    images: int
    payload_bits: int
    psnr_db: float
    psnr_db_min: float
    ssim: float
    ssim_min: float
    flat_crop_ssim_min: float | None
    per_image: dict[str, ImageQuality]
    embed_ms_per_mp_median: float
    detect_ms_per_mp_median_untouched: float
    attacks: dict[str, AttackOutcome]
    note: str | None = None


@dataclass(frozen=True)
class SizeSpeed:
    megapixels: float
    assay_embed_ms_per_mp: float
    assay_detect_ms_per_mp: float
    dwtDct_embed_ms_per_mp: float | None = None
    dwtDct_detect_ms_per_mp: float | None = None
    dwtDctSvd_embed_ms_per_mp: float | None = None
    dwtDctSvd_detect_ms_per_mp: float | None = None


@dataclass(frozen=True)
class GeometricSpeed:
    cases: dict[str, float]  # "<image> <attack>" -> detection ms per megapixel
    found: int
    median_ms_per_mp: float
    max_ms_per_mp: float


@dataclass(frozen=True)
class FileMemory:
    """Marking one large colour PNG through ``watermark_file`` (decode, mark, encode)."""

    megapixels: float
    traced_peak_mib: float  # Python-traced allocations (numpy's arrays included) at the peak
    bytes_per_pixel: float


@dataclass(frozen=True)
class Speed:
    sizes: dict[str, SizeSpeed]  # "<size>px"
    geometric_1mp: GeometricSpeed
    mark_file_memory: FileMemory | None = None


@dataclass(frozen=True)
class NullRates:
    version_nibble_rate: float
    crc_first_byte_rate: float


@dataclass(frozen=True)
class MlMessages:
    n: int
    version_nibble_rate: float
    version_nibble_expected: float
    version_nibble_binom_p: float
    crc_first_byte_rate: float
    crc_first_byte_expected: float
    crc_first_byte_binom_p: float


@dataclass(frozen=True)
class NullRun:
    unmarked_images: int
    attacks: int
    keys: int
    detections_run: int
    decodes: int
    false_detections: int
    smallest_p_value: float
    expected_full_check_passes: float
    fpr_per_decode_95_upper_from_zero_hits: float | None
    all_entries: NullRates
    ml_messages: MlMessages


@dataclass
class Results:
    machine: str = ""
    baseline: str | None = None  # the git revision of `assay (before)`
    robustness: dict[str, dict[str, MethodResult]] = field(default_factory=dict)  # set -> method -> result
    speed: Speed | None = None
    speed_before: Speed | None = None
    null: NullRun | None = None


@dataclass
class ChildResults:
    """What a ``--child`` run of the previous version hands back."""

    robustness: dict[str, MethodResult] = field(default_factory=dict)  # set -> Assay's result
    speed: Speed | None = None


def robustness(methods: list[Method], images: list[tuple[str, Img]], attacks: list[str]) -> dict[str, MethodResult]:
    out: dict[str, MethodResult] = {}
    for m in methods:
        rows: dict[str, list[tuple[bool, bool, float]]] = defaultdict(list)
        quality: dict[str, ImageQuality] = {}
        embed_ms, detect_ms = [], []
        for name, img in tqdm(images, desc=m.name):
            mp = img.shape[0] * img.shape[1] / 1e6
            t = time.perf_counter()
            marked = m.embed(img)
            embed_ms.append((time.perf_counter() - t) * 1e3 / mp)
            ref = img if marked.ndim == img.ndim else np.dstack([img] * 3)
            quality[name] = ImageQuality(
                psnr_db=psnr(ref, marked), ssim=ssim(ref, marked), flat_crop_ssim=flat_ssim(ref, marked)
            )
            for attack in attacks:
                attacked = ATTACKS[attack](marked)
                t = time.perf_counter()
                rows[attack].append(m.detect(attacked))
                if attack == "none":
                    detect_ms.append((time.perf_counter() - t) * 1e3 / mp)
        q = list(quality.values())
        out[m.name] = r = MethodResult(
            images=len(images),
            payload_bits=m.bits,
            psnr_db=statistics.mean(v.psnr_db for v in q),
            psnr_db_min=min(v.psnr_db for v in q),
            ssim=statistics.mean(v.ssim for v in q),
            ssim_min=min(v.ssim for v in q),
            flat_crop_ssim_min=min(v.flat_crop_ssim for v in q),
            per_image=quality,
            embed_ms_per_mp_median=statistics.median(embed_ms),
            detect_ms_per_mp_median_untouched=statistics.median(detect_ms),
            attacks={
                a: AttackOutcome(
                    tpr_at_1e_6=float(np.mean([x[0] for x in v])),
                    exact_payload=float(np.mean([x[1] for x in v])),
                    bit_accuracy=float(np.mean([x[2] for x in v])),
                )
                for a, v in rows.items()
            },
        )
        print(m.name, f"PSNR {r.psnr_db:.1f} dB (min {r.psnr_db_min:.1f}), SSIM min {r.ssim_min:.3f}")
        print("  TPR:", {a: round(v.tpr_at_1e_6, 2) for a, v in r.attacks.items()})
    return out


def _timed(f: Callable[[], Any], repeats: int = 5) -> float:
    """Median seconds of ``repeats`` calls."""
    ts = []
    for _ in range(repeats):
        t = time.perf_counter()
        f()
        ts.append(time.perf_counter() - t)
    return statistics.median(ts)


def _interleaved(calls: dict[str, Callable[[], Any]], repeats: int = 7) -> dict[str, float]:
    """Median seconds of each call over ``repeats`` rounds, the calls taking turns within a round,
    so a slow spell of a shared machine hits every method alike."""
    times: dict[str, list[float]] = {name: [] for name in calls}
    for _ in range(repeats):
        for name, f in calls.items():
            t = time.perf_counter()
            f()
            times[name].append(time.perf_counter() - t)
    return {name: statistics.median(ts) for name, ts in times.items()}


def speed(sizes: list[int], *, baselines: bool = True) -> Speed:
    """Embed and detect ms per megapixel (median of 7 interleaved rounds) at each size, Assay's
    detection per geometric attack.

    Geometric detection: a 1 MP photograph and a 1 MP flat artwork, marked, then each attack in
    ``GEOMETRIC``; ms per megapixel of the marked image, median over the cases (3 calls each).
    """
    a = Assay()
    img0 = np.asarray(Image.fromarray(skdata.astronaut()).resize((sizes[0], sizes[0]), Image.LANCZOS))
    res: dict[str, SizeSpeed] = {}
    for size in sizes:
        img = np.asarray(Image.fromarray(img0).resize((size, size), Image.LANCZOS))
        mp = size * size / 1e6
        marked = a.embed(img)
        calls: dict[str, Callable[[], Any]] = {
            "assay_embed_ms_per_mp": lambda: a.embed(img),  # noqa: B023
            "assay_detect_ms_per_mp": lambda: a.detector.detect_pixels(marked.astype(np.float32), peak=255.0),  # noqa: B023
        }
        if baselines:
            for method in ("dwtDct", "dwtDctSvd"):
                iw = ImWatermark(method, SDXL_BITS)
                m2 = iw.embed(img)
                calls[f"{method}_embed_ms_per_mp"] = lambda iw=iw: iw.embed(img)  # type: ignore[misc]  # noqa: B023
                calls[f"{method}_detect_ms_per_mp"] = lambda iw=iw, m2=m2: iw.detect(m2)  # type: ignore[misc]
        times = _interleaved(calls)
        res[f"{size}px"] = SizeSpeed(megapixels=mp, **{k: v * 1e3 / mp for k, v in times.items()})
        print(size, res[f"{size}px"])
    cases: dict[str, float] = {}
    found = 0
    for name, img in [("astronaut@1024", load_images(1024)[0][1]), flat_artwork(1)[0]]:
        marked = a.embed(img)
        mp = img.shape[0] * img.shape[1] / 1e6
        for attack in GEOMETRIC:
            attacked = ATTACKS[attack](marked).astype(np.float32)
            found += a.detector.detect_pixels(attacked, peak=255.0).found
            cases[f"{name} {attack}"] = _timed(lambda: a.detector.detect_pixels(attacked, peak=255.0), 3) * 1e3 / mp  # noqa: B023
    geometric = GeometricSpeed(
        cases=cases,
        found=found,
        median_ms_per_mp=statistics.median(cases.values()),
        max_ms_per_mp=max(cases.values()),
    )
    print("geometric", geometric)
    return Speed(sizes=res, geometric_1mp=geometric, mark_file_memory=file_memory())


def file_memory(side: int = 4096) -> FileMemory:
    """The traced peak of marking a ``side`` x ``side`` colour PNG (the astronaut, resized) through
    ``watermark_file``, after a small warm-up image (caches and lazy imports)."""
    import tracemalloc

    from watermark.image import watermark_file

    a = Assay()

    def png(img: Img) -> bytes:
        buf = io.BytesIO()
        Image.fromarray(img).save(buf, "PNG", compress_level=1)
        return buf.getvalue()

    watermark_file(png(np.asarray(Image.fromarray(skdata.astronaut()).resize((300, 300)))), a.marker)
    data = png(np.asarray(Image.fromarray(skdata.astronaut()).resize((side, side), Image.LANCZOS)))
    tracemalloc.start()
    watermark_file(data, a.marker)
    peak = tracemalloc.get_traced_memory()[1]
    tracemalloc.stop()
    out = FileMemory(megapixels=side * side / 1e6, traced_peak_mib=peak / 2**20, bytes_per_pixel=peak / (side * side))
    print("file memory", out)
    return out


def null_run(images: list[tuple[str, Img]], attacks: list[str], keys: int) -> NullRun:
    """Run the real detector on unmarked images x attacks with a ring of unused keys; count passes.

    Every decoded message is observed. Besides the full 48-bit check (expected 0 passes), weaker
    checks whose null rate is large enough to be seen test the uniformity the exact bound rests
    on: the version nibble (1/16) and the first CRC byte (1/256). The bound is exact over the
    choice of key; with a handful of fixed keys, the list entries, geometries and attacks of one
    image are strongly correlated, so the binomial tests are run on the maximum-likelihood
    (rank 0) messages only, and even those share images across attacks: read the p-values as
    indicative.
    """
    ring = KeyRing([WatermarkKey(f"null-{i}", "kgw", Secret(f"null-secret-{i}".encode())) for i in range(keys)])
    detector = ImageWatermarkDetector(ring)
    counts = {"decodes": 0, "ml": 0, "version": 0, "crc1": 0, "ml_version": 0, "ml_crc1": 0}

    def observe(raw: bytes, rank: int) -> None:
        crc = zlib.crc32(raw[:8]).to_bytes(4, "big")
        version, crc1 = raw[0] >> 4 == 1, raw[8] == crc[0]
        counts["decodes"] += 1
        counts["version"] += version
        counts["crc1"] += crc1
        if rank == 0:
            counts["ml"] += 1
            counts["ml_version"] += version
            counts["ml_crc1"] += crc1

    found = detections = 0
    min_p = 1.0
    for _, img in tqdm(images, desc="null"):
        for attack in attacks:
            d = detector.detect_pixels(ATTACKS[attack](img).astype(np.float32), peak=255.0, on_decode=observe)
            found += d.found
            detections += 1
            min_p = min(min_p, d.p_value)
    from scipy.stats import binomtest

    n, ml = counts["decodes"], counts["ml"]
    return NullRun(
        unmarked_images=len(images),
        attacks=len(attacks),
        keys=keys,
        detections_run=detections,
        decodes=n,
        false_detections=found,
        smallest_p_value=min_p,
        expected_full_check_passes=n * 2.0**-CHECKED_BITS,
        fpr_per_decode_95_upper_from_zero_hits=3.0 / n if found == 0 else None,
        all_entries=NullRates(version_nibble_rate=counts["version"] / n, crc_first_byte_rate=counts["crc1"] / n),
        ml_messages=MlMessages(
            n=ml,
            version_nibble_rate=counts["ml_version"] / ml,
            version_nibble_expected=1 / 16,
            version_nibble_binom_p=float(binomtest(counts["ml_version"], ml, 1 / 16).pvalue),
            crc_first_byte_rate=counts["ml_crc1"] / ml,
            crc_first_byte_expected=1 / 256,
            crc_first_byte_binom_p=float(binomtest(counts["ml_crc1"], ml, 1 / 256).pvalue),
        ),
    )


# ---------------------------------------------------------------------------------------------- report


def _quality_table(rob: dict[str, MethodResult]) -> list[str]:
    lines = [
        "| method | images | payload bits | PSNR dB (min) | SSIM (min) | flattest-crop SSIM (min) "
        "| embed ms/MP | detect ms/MP |",
        "|---|---|---|---|---|---|---|---|",
    ]
    for m, r in rob.items():
        flat = r.flat_crop_ssim_min
        lines.append(
            f"| {m} | {r.images} | {r.payload_bits} | {r.psnr_db:.1f} ({r.psnr_db_min:.1f}) | "
            f"{r.ssim:.3f} ({r.ssim_min:.3f}) | {'—' if flat is None else f'{flat:.3f}'} | "
            f"{r.embed_ms_per_mp_median:.0f} | {r.detect_ms_per_mp_median_untouched:.0f} |"
        )
    return lines


def _robustness_table(rob: dict[str, MethodResult]) -> list[str]:
    methods = list(rob)
    lines = ["| attack | " + " | ".join(methods) + " |", "|---|" + "---|" * len(methods)]
    for attack in rob[methods[0]].attacks:
        cells = []
        for m in methods:
            v = rob[m].attacks.get(attack)
            cells.append("—" if v is None else f"{v.tpr_at_1e_6:.2f} / {v.exact_payload:.2f} / {v.bit_accuracy:.2f}")
        lines.append(f"| {attack} | " + " | ".join(cells) + " |")
    return lines


def write_report(results: Results, out: Path) -> None:
    """Write ``image_watermark.json`` (atomically), the report and the figures; called after every
    section, so a run that dies keeps what it measured."""
    write_json(out / "image_watermark.json", results)
    lines = ["# Image watermark benchmark", "", f"Machine: {results.machine}", ""]
    if results.baseline is not None:
        lines += [f"`assay (before)` is revision `{results.baseline}` of this repository, run in the same job.", ""]
    for set_name, rob in results.robustness.items():
        lines += [f"## {set_name}: quality", "", *_quality_table(rob), ""]
        lines += [f"## {set_name}: TPR at FPR 1e-6 / exact payload / bit accuracy", "", *_robustness_table(rob), ""]
        if "assay" in rob and set_name == "flat":
            lines += ["Per image (assay): PSNR dB / SSIM / flattest-crop SSIM", ""]
            lines += [
                f"- {n}: {q.psnr_db:.1f} / {q.ssim:.4f} / {q.flat_crop_ssim:.4f}"
                for n, q in rob["assay"].per_image.items()
            ]
            lines.append("")
        _plot(rob, out / f"image_watermark_{set_name}.png", set_name)
    if results.speed is not None:
        lines += ["## speed and memory", "", *_speed_table(results.speed, results.speed_before), ""]
    for name, section in (("speed", results.speed), ("speed_before", results.speed_before), ("null", results.null)):
        if section is not None:
            lines += [f"## {name}", "", "```json", json.dumps(asdict(section), indent=2, default=float), "```", ""]
    (out / "image_watermark.md").write_text("\n".join(lines))


def _speed_table(now: Speed, before: Speed | None) -> list[str]:
    """Embedding ms per megapixel (median of 5, the astronaut resized, one process) side by side,
    and the traced peak of marking a 16.8 MP colour PNG."""
    lines = ["| size | assay embed ms/MP | assay (before) | dwtDct | assay / dwtDct |", "|---|---|---|---|---|"]
    for size, s in now.sizes.items():
        prev = before.sizes.get(size) if before is not None else None
        ref = s.dwtDct_embed_ms_per_mp
        before_cell = f"{prev.assay_embed_ms_per_mp:.0f}" if prev else "-"
        ref_cells = f"{ref:.0f} | {s.assay_embed_ms_per_mp / ref:.2f}" if ref else "- | -"
        lines.append(f"| {size} | {s.assay_embed_ms_per_mp:.0f} | {before_cell} | {ref_cells} |")
    for name, speed in (("assay", now), ("assay (before)", before)):
        m = speed.mark_file_memory if speed is not None else None
        if m is not None:
            lines.append("")
            lines.append(
                f"{name}: marking a {m.megapixels:.1f} MP colour PNG holds {m.traced_peak_mib:.0f} MiB at its "
                f"peak ({m.bytes_per_pixel:.1f} bytes a pixel, traced)."
            )
    return lines


def _plot(rob: dict[str, MethodResult], path: Path, set_name: str) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    methods = list(rob)
    attacks = list(rob[methods[0]].attacks)
    x = np.arange(len(attacks))
    width = 0.8 / len(methods)
    fig, ax = plt.subplots(figsize=(16, 6))
    for i, m in enumerate(methods):
        vals = [o.tpr_at_1e_6 if (o := rob[m].attacks.get(a)) is not None else np.nan for a in attacks]
        ax.bar(
            x + i * width,
            vals,
            width,
            label=f"{m} (PSNR {rob[m].psnr_db:.1f} dB, SSIM min {rob[m].ssim_min:.3f})",
        )
    ax.set_xticks(x + 0.4 - width / 2, attacks, rotation=60, ha="right")
    ax.set_ylabel("TPR at FPR 1e-6")
    ax.set_ylim(0, 1.05)
    ax.set_title(f"Detection after each attack: {set_name} set (same images, same run)", pad=42)
    ax.legend(loc="lower center", bbox_to_anchor=(0.5, 1.0), ncol=3, frameon=False, fontsize=9)
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)


def crops_figure(originals: list[tuple[str, Img]], marked: dict[str, dict[str, Img]], path: Path) -> None:
    """The flattest crop of each image: original, each method's marked copy, and their changes x 16."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    methods = list(marked)
    cols = 1 + 2 * len(methods)
    fig, axes = plt.subplots(len(originals), cols, figsize=(2.4 * cols, 2.5 * len(originals)), squeeze=False)
    for row, (name, img) in enumerate(originals):
        t, x = flattest_crops(img, count=1)[0]
        crop = img[t : t + 128, x : x + 128]
        panels = [("original", crop)]
        for m in methods:
            mc = marked[m][name][t : t + 128, x : x + 128]
            change = np.clip(128 + 16 * (mc.astype(np.float32) - crop), 0, 255).astype(np.uint8)
            panels += [
                (f"{m}\nPSNR {psnr(img, marked[m][name]):.1f}, SSIM {ssim(img, marked[m][name]):.3f}", mc),
                (f"{m}: change x16", change),
            ]
        for col, (title, panel) in enumerate(panels):
            ax = axes[row][col]
            ax.imshow(panel, cmap="gray" if panel.ndim == 2 else None, vmin=0, vmax=255, interpolation="nearest")
            ax.set_xticks([])
            ax.set_yticks([])
            ax.set_title(title if row == 0 or col == 0 else title.split("\n")[-1], fontsize=7)
        axes[row][0].set_ylabel(name, fontsize=7)
    fig.suptitle("Flattest 128 px crop of each image: original, marked, and the change amplified 16 times")
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)


CROP_IMAGES = ["gradient-blobs", "ui-light", "cartoon", "radial"]


def run_baseline(rev: str, args: argparse.Namespace, section: str) -> tuple[ChildResults, dict[str, Img]]:
    """One ``section`` (``robustness`` with the crop images, or ``speed``) of Assay at git revision ``rev``.

    The revision's ``watermark`` package is extracted to a temporary tree and this script runs
    on it in a child process, on the same images and attacks.
    """
    with tempfile.TemporaryDirectory(prefix="assay-before-") as tmp:
        root = Path(tmp) / "tree"
        root.mkdir()
        archive = subprocess.run(["git", "-C", str(REPO), "archive", rev, "watermark"], capture_output=True, check=True)
        subprocess.run(["tar", "-x", "-C", str(root)], input=archive.stdout, check=True)
        result = Path(tmp) / "before.json"
        skip = [s for s in ("robustness", "speed") if s != section]
        cmd = [sys.executable, __file__, "--child", str(result), "--sets", *args.sets, "--skip", *skip]
        cmd += ["--sizes", *map(str, args.sizes), "--images", str(args.images)]
        subprocess.run(cmd, check=True, env={**os.environ, "ASSAY_IMAGE_CODE_ROOT": str(root)})
        data = from_json(ChildResults, json.loads(result.read_text()))
        crops = dict(np.load(Path(tmp) / "before.npz")) if section == "robustness" else {}
    return data, crops


def child(path: Path, args: argparse.Namespace) -> None:
    """The ``--child`` half of :func:`run_baseline`: Assay only, at the revision on ``sys.path``."""
    out = ChildResults()
    if "robustness" not in args.skip:
        sets = {s: image_set(s, args.sizes, args.images) for s in args.sets}
        out.robustness = {s: robustness([Assay()], images, list(ATTACKS))["assay"] for s, images in sets.items()}
        a = Assay()
        crops = {name: a.embed(img) for name, img in flat_artwork() if name.split("@")[0] in CROP_IMAGES}
        np.savez(path.with_suffix(".npz"), **crops)  # type: ignore[arg-type]
    if "speed" not in args.skip:
        out.speed = speed([1024], baselines=False)
    write_json(path, out)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--sizes", type=int, nargs="*", default=[512, 1024], help="photo sizes")
    ap.add_argument(
        "--images", type=int, default=16, help="photos per size (9 colour + 7 grey at 16); flat images in all"
    )
    ap.add_argument("--sets", nargs="*", default=["photo", "flat"], choices=["photo", "flat"])
    ap.add_argument("--riva-images", type=int, default=3)
    ap.add_argument("--null-keys", type=int, default=8)
    ap.add_argument("--skip", nargs="*", default=[], choices=["robustness", "baseline", "riva", "speed", "null"])
    ap.add_argument("--methods", nargs="*", default=["assay", "dwtDct", "dwtDctSvd"], help="robustness section only")
    ap.add_argument("--baseline", default=BASELINE, help="git revision of Assay's previous version")
    ap.add_argument("--child", type=Path, help=argparse.SUPPRESS)
    ap.add_argument("--out", type=Path, default=REPO / "eval" / "results")
    args = ap.parse_args()
    if args.child:
        child(args.child, args)
        return
    args.out.mkdir(parents=True, exist_ok=True)
    prev = args.out / "image_watermark.json"
    results = from_json(Results, json.loads(prev.read_text())) if prev.is_file() else Results()
    results.machine = f"{platform.machine()}, {os.cpu_count()} CPUs"
    sets = {s: image_set(s, args.sizes, args.images) for s in args.sets}
    attacks = list(ATTACKS)
    rob = results.robustness
    if "robustness" not in args.skip:
        make: dict[str, Callable[[], Method]] = {
            "assay": Assay,
            "dwtDct": lambda: ImWatermark("dwtDct", SDXL_BITS),
            "dwtDctSvd": lambda: ImWatermark("dwtDctSvd", SDXL_BITS),
        }
        for s, images in sets.items():
            rob[s] = {**rob.get(s, {}), **robustness([make[name]() for name in args.methods], images, attacks)}
            write_report(results, args.out)
    if "baseline" not in args.skip:
        before, before_crops = run_baseline(args.baseline, args, "robustness")
        results.baseline = args.baseline
        for s, r in before.robustness.items():
            rob.setdefault(s, {})["assay (before)"] = r
        a = Assay()
        originals = [(n, im) for n, im in flat_artwork() if n.split("@")[0] in CROP_IMAGES]
        marked = {"assay": {n: a.embed(im) for n, im in originals}, "assay (before)": before_crops}
        crops_figure(originals, marked, args.out / "image_watermark_crops.png")
        write_report(results, args.out)
    if "riva" not in args.skip and "photo" in sets:
        subset = [im for im in sets["photo"] if im[1].shape[0] == 512][: args.riva_images]
        riva = robustness([ImWatermark("rivaGan", RIVA_BITS)], subset, attacks)["rivaGan"]
        riva = dataclasses.replace(riva, note=f"subset: first {len(subset)} 512 px images")
        rob.setdefault("photo", {})["rivaGan"] = riva
        write_report(results, args.out)
    if "speed" not in args.skip:
        results.speed = speed([1024, 2048])
        results.speed_before = run_baseline(args.baseline, args, "speed")[0].speed
        results.baseline = args.baseline
        write_report(results, args.out)
    if "null" not in args.skip:
        results.null = null_run([im for images in sets.values() for im in images], attacks, args.null_keys)
        print(results.null)
        write_report(results, args.out)
    print(f"wrote {args.out}/image_watermark.json, .md and the figures")


if __name__ == "__main__":
    main()
