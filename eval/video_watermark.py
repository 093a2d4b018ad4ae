"""Video watermark benchmark: quality, stillness, robustness and speed of ``watermark.video``.

Clips (rendered in code, 30 fps, 720p, 10 s each, encoded H.264 CRF 18): a moving textured scene
with heavy grain (an extreme bit rate), a flat animation (gradients and shapes, the hard case for
a mark), a camera pan over a smooth multi-scale field, and two such scenes cut every second. Each
is marked with its own record id through ``mark_video`` (re-encoded H.264 CRF 18, as a user's file
would be), then attacked and read back with ``detect_video`` (key frames first, then frames of the
first 4 s, or the seconds its first 8 MB hold); the unmarked clips go through the same attacks to
count false detections and decodes (the bound: decodes × 2**-48), and every attacked clip, unmarked
and marked, is read once more with a ring of four keys that marked nothing here (a null of
its own: what a platform's other keys would decode).

Attacks: none, H.264 CRF 28 and 35, VP9 (CRF 40), scaling to 480p, a 10 % crop, 30 → 24 fps,
2 s excerpts (from 1 s, from 4.5 s, the last 2 s), every 5th frame dropped, and a
screen-recording-like chain (scale 0.8, crop 5 %, H.264 CRF 30). Quality per frame: PSNR and SSIM
of the marked frames against the originals before encoding; stillness: the mean absolute
frame-to-frame change of the mark (in luma) after encoding, as a share of the mark's mean absolute
size. Speed: marking time over a plain re-encode with the same encoder and options, decoded frames
handed straight to it (the median of three interleaved rounds), and detection time on the marked
and on the unmarked clip.

    .venv/bin/python eval/video_watermark.py      # writes eval/results/video_watermark.{json,md,png}
    .venv/bin/python eval/video_watermark.py --plot-only   # only the frame crops (seconds)

The figure (``video_watermark.png``): per clip, a crop of its first frame as rendered, marked, the
mark alone amplified 10× around grey, and what an H.264 encode at CRF 18 kept of it (the marked
file minus a plain re-encode of the same source, both decoded, ×10).
"""

from __future__ import annotations

import argparse
import dataclasses
import io
import sys
import time
from collections.abc import Callable, Mapping
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import av
import cv2
import numpy as np
from PIL import Image
from skimage.metrics import structural_similarity
from tqdm import tqdm

from eval.typed_results import write_json
from watermark.image import ImageWatermarkDetector
from watermark.keys import KeyRing, Secret, WatermarkKey
from watermark.video import VideoMarker, detect_video, mark_video
from watermark.video.files import H264_OPTIONS

REPO = Path(__file__).resolve().parents[1]
FPS = 30
OTHER_KEYS = 12  # keys that marked nothing here: every attacked clip, marked or not, is read with them too
CLIPS = ("textured", "flat", "panning", "cuts")
U8 = np.ndarray


@dataclasses.dataclass
class ClipRow:
    clip: str
    psnr_min: float
    ssim_min: float
    stillness: float  # frame-to-frame change of the mark after encoding, over its size
    mark_seconds: float
    reencode_seconds: float
    detect_seconds: float
    detect_unmarked_seconds: float


@dataclasses.dataclass
class AttackRow:
    attack: str
    detected: int
    total: int
    null_false: int
    null_decodes: int
    other_keys_false: int  # the unmarked clips read by OTHER_KEYS other keys
    other_keys_decodes: int
    other_keys_marked_false: int  # the marked clips read by them
    other_keys_marked_decodes: int


@dataclasses.dataclass
class VideoResults:
    size: str
    seconds: float
    clips: list[ClipRow]
    attacks: list[AttackRow]
    rounds: int = 1  # timing rounds (the times are their medians)


def _frames(kind: str, w: int, h: int, n: int, seed: int) -> list[U8]:
    rng = np.random.default_rng(seed)
    y, x = np.mgrid[0:h, 0:w].astype(np.float64)
    field = _field(rng, h + 2 * n + 8, w + 4 * n + 8) if kind in ("panning", "cuts") else None
    out = []
    for i in range(n):
        if kind == "textured":
            base = np.stack(
                [
                    128 + 60 * np.sin((x + 3 * i) / 23),
                    128 + 50 * np.cos((y - 2 * i) / 17),
                    128 + 40 * np.sin((x + y) / 41),
                ],
                -1,
            )
            img = base + rng.normal(0, 10, base.shape)
        elif kind == "panning":  # a camera pan over a smooth natural-looking field, mild sensor noise
            img = field[i * 4 // 2 : i * 4 // 2 + h, i * 4 : i * 4 + w] + rng.normal(0, 2, (h, w, 3))
        elif kind == "cuts":  # two scenes that alternate every second
            scene = (i // FPS) % 2
            img = (field[:h, :w] if scene else 255 - field[-h:, -w:]) + rng.normal(0, 2, (h, w, 3))
        else:  # flat animation: smooth gradients and a moving disc
            img = np.stack([60 + 120 * x / w, 90 + 80 * y / h, np.full_like(x, 170.0)], -1)
            cx, cy = w * (0.2 + 0.6 * i / n), h / 2
            disc = (x - cx) ** 2 + (y - cy) ** 2 < (h / 6) ** 2
            img[disc] = (230, 200, 60)
        out.append(np.clip(img, 0, 255).astype(np.uint8))
    return out


def _field(rng: np.random.Generator, h: int, w: int) -> np.ndarray:
    """A smooth colour field with detail at several scales (clouds, foliage-like), in [20, 235]."""
    img = np.zeros((h, w, 3))
    for scale, weight in ((64, 1.0), (16, 0.5), (4, 0.25)):
        small = rng.normal(0, 1, (h // scale + 2, w // scale + 2, 3)).astype(np.float32)
        img += weight * np.asarray(cv2.resize(small, (w, h), interpolation=cv2.INTER_CUBIC))
    img = (img - img.min()) / (img.max() - img.min())
    return 20 + 215 * img


def _plain_reencode(data: bytes) -> bytes:
    """What marking rides on: decode and encode again with the same encoder and options, frames
    handed over as they come out of the decoder (no colour conversion)."""
    out = io.BytesIO()
    with av.open(io.BytesIO(data)) as src, av.open(out, "w", format="mp4") as dst:
        vin = src.streams.video[0]
        vin.thread_type = "SLICE"
        v = dst.add_stream("libx264", rate=vin.average_rate, options=dict(H264_OPTIONS))
        v.width, v.height, v.pix_fmt = vin.codec_context.width, vin.codec_context.height, "yuv420p"  # type: ignore[union-attr]
        for f in src.decode(vin):
            for p in v.encode(f):  # type: ignore[union-attr]
                dst.mux(p)
        for p in v.encode(None):  # type: ignore[union-attr]
            dst.mux(p)
    return out.getvalue()


def _encode(frames: list[U8], codec: str = "libx264", options: dict[str, str] | None = None, fmt: str = "mp4") -> bytes:
    buf = io.BytesIO()
    with av.open(buf, "w", format=fmt) as c:
        v = c.add_stream(codec, rate=FPS, options=options or {"crf": "18", "preset": "veryfast"})
        v.width, v.height, v.pix_fmt = frames[0].shape[1], frames[0].shape[0], "yuv420p"  # type: ignore[union-attr]
        for f in frames:
            for p in v.encode(av.VideoFrame.from_ndarray(f, format="rgb24")):  # type: ignore[union-attr]
                c.mux(p)
        for p in v.encode(None):  # type: ignore[union-attr]
            c.mux(p)
    return buf.getvalue()


def _stillness(marked: bytes, source: bytes) -> tuple[float, float]:
    """The mean absolute frame-to-frame change of the mark after encoding, and its mean absolute
    size (luma, streamed: two frames in memory at a time)."""
    changes, sizes = [], []
    previous = None
    with av.open(io.BytesIO(marked)) as a, av.open(io.BytesIO(source)) as b:
        for fa, fb in zip(a.decode(video=0), b.decode(video=0), strict=False):
            mark = fa.to_ndarray(format="gray").astype(np.float32) - fb.to_ndarray(format="gray")
            sizes.append(float(np.mean(np.abs(mark))))
            if previous is not None:
                changes.append(float(np.mean(np.abs(mark - previous))))
            previous = mark
    return float(np.mean(changes)), float(np.mean(sizes))


def _decode(data: bytes) -> list[U8]:
    with av.open(io.BytesIO(data), "r") as c:
        return [f.to_ndarray(format="rgb24") for f in c.decode(video=0)]


def _resize(f: U8, scale: float) -> U8:
    w, h = int(f.shape[1] * scale) // 2 * 2, int(f.shape[0] * scale) // 2 * 2
    return np.asarray(Image.fromarray(f).resize((w, h), Image.BILINEAR))


def _crop(f: U8, share: float) -> U8:
    h, w = f.shape[:2]
    dh, dw = int(h * share / 2) // 2 * 2, int(w * share / 2) // 2 * 2
    return np.ascontiguousarray(f[dh : h - dh, dw : w - dw])


def _h264(crf: int) -> dict[str, str]:
    return {"crf": str(crf), "preset": "veryfast"}


ATTACKS: dict[str, Callable[[list[U8]], bytes]] = {
    "none": lambda fr: _encode(fr),
    "H.264 CRF 28": lambda fr: _encode(fr, options=_h264(28)),
    "H.264 CRF 35": lambda fr: _encode(fr, options=_h264(35)),
    "VP9 CRF 40": lambda fr: _encode(
        fr, "libvpx-vp9", {"crf": "40", "b": "0", "deadline": "realtime", "cpu-used": "8"}, "webm"
    ),
    "scale to 480p": lambda fr: _encode([_resize(f, 480 / f.shape[0]) for f in fr], options=_h264(23)),
    "crop 10 %": lambda fr: _encode([_crop(f, 0.10) for f in fr], options=_h264(23)),
    "30 → 24 fps": lambda fr: _encode([f for i, f in enumerate(fr) if i % 5 != 4], options=_h264(23)),
    "2 s excerpt from 1 s": lambda fr: _encode(fr[FPS : 3 * FPS], options=_h264(23)),
    "2 s excerpt from 4.5 s": lambda fr: _encode(fr[int(4.5 * FPS) : int(6.5 * FPS)], options=_h264(23)),
    "2 s excerpt from the end": lambda fr: _encode(fr[-2 * FPS :], options=_h264(23)),
    "every 5th frame dropped": lambda fr: _encode([f for i, f in enumerate(fr) if i % 5 != 0], options=_h264(23)),
    "screen recording": lambda fr: _encode([_resize(_crop(f, 0.05), 0.8) for f in fr], options=_h264(30)),
}


CROP = 240  # pixels on a side of each crop in the figure


def plot_crops(marker: VideoMarker, width: int, height: int, path: Path) -> None:
    """Frame crops of every clip kind: as rendered, marked, the mark alone ×10, and what of it an
    H.264 encode keeps (the marked file minus a plain re-encode of the same source, decoded, ×10)."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, axes = plt.subplots(len(CLIPS), 4, figsize=(12, 3.1 * len(CLIPS)), constrained_layout=True)
    y, x = (height - CROP) // 2, (width - CROP) // 2
    for row, (seed, kind) in zip(axes, enumerate(CLIPS), strict=True):
        frames = _frames(kind, width, height, FPS // 3, seed)  # a third of a second is enough to encode
        source = _encode(frames)
        plan = marker.plan(frames[0], record_id=seed + 1)
        encoded = _decode(mark_video(source, marker, record_id=seed + 1).data)[0].astype(np.float64)
        kept = encoded - _decode(_plain_reencode(source))[0]
        first = frames[0][y : y + CROP, x : x + CROP]
        marked = plan.apply(frames[0])[y : y + CROP, x : x + CROP]
        mark = marked.astype(np.float64) - first
        psnr = 10 * np.log10(255**2 / max(float(np.mean(mark**2)), 1e-9))
        for ax, image, title in zip(
            row,
            (first, marked, _amplified(mark), _amplified(kept[y : y + CROP, x : x + CROP])),
            (
                f"{kind}: as rendered",
                f"marked (PSNR {psnr:.1f} dB)",
                "the mark alone, ×10 around grey",
                "what H.264 CRF 18 kept of it, ×10",
            ),
            strict=True,
        ):
            ax.imshow(image)
            ax.set_title(title, fontsize=9)
            ax.axis("off")
    fig.savefig(path, dpi=72)
    plt.close(fig)


def _amplified(change: np.ndarray) -> np.ndarray:
    return np.clip(128 + 10 * change, 0, 255).astype(np.uint8)


MIN_SECONDS = 6.5  # the latest excerpt ends here


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--width", type=int, default=1280)
    ap.add_argument("--height", type=int, default=720)
    ap.add_argument("--seconds", type=float, default=10.0)
    ap.add_argument("--rounds", type=int, default=3, help="Timing rounds of marking and the plain re-encode (median).")
    ap.add_argument("--out", type=Path, default=REPO / "eval" / "results")
    ap.add_argument("--plot-only", action="store_true", help="Only draw the frame crops.")
    args = ap.parse_args()
    if args.seconds < MIN_SECONDS:
        ap.error(f"--seconds must be at least {MIN_SECONDS:g}: the attacks cut 2 s excerpts up to 6.5 s in")
    args.out.mkdir(parents=True, exist_ok=True)
    ring = KeyRing([WatermarkKey("bench", "kgw", Secret(bytes(range(32))))])
    marker, detector = VideoMarker(ring), ImageWatermarkDetector(ring)
    others = ImageWatermarkDetector(
        KeyRing([WatermarkKey(f"other-{i}", "kgw", Secret(bytes([i + 1] * 32))) for i in range(OTHER_KEYS)])
    )
    plot_crops(marker, args.width, args.height, args.out / "video_watermark.png")
    if args.plot_only:
        return
    n = int(args.seconds * FPS)
    clips: list[ClipRow] = []
    hits: dict[str, int] = {}
    nulls: dict[str, list[int]] = {}  # attack -> false detections, decodes (the marking key)
    wrong: dict[str, list[int]] = {}  # attack -> the same for the unmarked, then the marked clips (other keys)
    for seed, kind in enumerate(tqdm(CLIPS, desc="clips", unit="clip")):
        frames = _frames(kind, args.width, args.height, n, seed)
        source = _encode(frames)
        mark_times, plain_times = [], []
        for _ in range(args.rounds):  # interleaved, so a slow spell of the machine hits both
            t0 = time.perf_counter()
            marked = mark_video(source, marker, record_id=seed + 1)
            mark_times.append(time.perf_counter() - t0)
            t0 = time.perf_counter()
            _plain_reencode(source)
            plain_times.append(time.perf_counter() - t0)
        mark_s, reencode_s = float(np.median(mark_times)), float(np.median(plain_times))
        plan = marker.plan(frames[0], record_id=seed + 1)
        ssims = [
            structural_similarity(f, plan.apply(f), channel_axis=2, data_range=255) for f in frames[:: max(1, n // 10)]
        ]
        change, size = _stillness(marked.data, source)
        t0 = time.perf_counter()
        detect_video(marked.data, detector)
        detect_s = time.perf_counter() - t0
        t0 = time.perf_counter()
        detect_video(source, detector)
        detect_unmarked_s = time.perf_counter() - t0
        clips.append(
            ClipRow(
                kind,
                marked.psnr_min,
                float(min(ssims)),
                float(change / size),
                mark_s,
                reencode_s,
                detect_s,
                detect_unmarked_s,
            )
        )
        decoded, plain = _decode(marked.data), _decode(source)
        for name, attack in ATTACKS.items():
            attacked, unmarked = attack(decoded), attack(plain)
            d = detect_video(attacked, detector)
            hits[name] = hits.get(name, 0) + int(d.found and d.payload is not None and d.payload.record_id == seed + 1)
            u = detect_video(unmarked, detector)
            _tally(nulls, name, int(u.found), u.decodes)
            w, wm = detect_video(unmarked, others), detect_video(attacked, others)
            _tally(wrong, name, int(w.found), w.decodes, int(wm.found), wm.decodes)
    res = VideoResults(
        size=f"{args.width}x{args.height}",
        seconds=args.seconds,
        clips=clips,
        attacks=[AttackRow(a, hits[a], len(clips), *nulls[a], *wrong[a]) for a in ATTACKS],
        rounds=args.rounds,
    )
    write_json(args.out / "video_watermark.json", res)
    (args.out / "video_watermark.md").write_text(_md(res))
    print(_md(res))


def _tally(into: dict[str, list[int]], name: str, *counts: int) -> None:
    row = into.setdefault(name, [0] * len(counts))
    for i, c in enumerate(counts):
        row[i] += c


def _options(options: Mapping[str, str]) -> str:
    return " ".join(f"{k}={v}" for k, v in options.items())


def _md(res: VideoResults) -> str:
    lines = [
        "# Video watermark: quality, stillness, robustness, speed",
        "",
        f"Command: `.venv/bin/python eval/video_watermark.py` ({res.size}, {res.seconds:g} s at {FPS} fps, H.264).",
        "",
        "| clip | PSNR min (dB) | SSIM min | stillness (frame-to-frame change / mark) | mark s | plain re-encode s "
        "| ratio | detect s (marked) | detect s (unmarked) |",
        "|---|---:|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for c in res.clips:
        lines.append(
            f"| {c.clip} | {c.psnr_min:.1f} | {c.ssim_min:.4f} | {c.stillness:.2f} | {c.mark_seconds:.1f} | "
            f"{c.reencode_seconds:.1f} | {c.mark_seconds / c.reencode_seconds:.2f} | {c.detect_seconds:.2f} | "
            f"{c.detect_unmarked_seconds:.2f} |"
        )
    lines += [
        "",
        f"Marking and the plain re-encode (H.264 with marking's own options, `{_options(H264_OPTIONS)}`): the "
        f"median of {res.rounds} interleaved round{'s' if res.rounds != 1 else ''} each. Marking adds no more than "
        "the encode it rides on where the ratio is at most 2.",
        "",
        f"| attack | detected (right record id) | unmarked: false detections | decodes "
        f"| unmarked, {OTHER_KEYS} other keys: false detections | decodes "
        f"| marked, {OTHER_KEYS} other keys: false detections | decodes |",
        "|---|---|---:|---:|---:|---:|---:|---:|",
    ]
    for a in res.attacks:
        lines.append(
            f"| {a.attack} | {a.detected}/{a.total} | {a.null_false} | {a.null_decodes} | {a.other_keys_false} "
            f"| {a.other_keys_decodes} | {a.other_keys_marked_false} | {a.other_keys_marked_decodes} |"
        )
    unmarked = sum(a.null_decodes + a.other_keys_decodes for a in res.attacks)
    marked = sum(a.other_keys_marked_decodes for a in res.attacks)
    false = sum(a.null_false + a.other_keys_false + a.other_keys_marked_false for a in res.attacks)
    lines += [
        "",
        f"Null in all: {false} false detections in {unmarked:,} decodes of unmarked clips and {marked:,} of "
        "marked clips read with keys that did not mark them (the bound: decodes × 2**-48).",
    ]
    return "\n".join(lines) + "\n"


if __name__ == "__main__":
    main()
