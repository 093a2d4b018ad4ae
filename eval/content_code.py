"""Content-code (ISCC image, audio and video code) benchmark: the nulls that set ``MAX_DISTANCE``,
``AUDIO_MAX_DISTANCE`` and ``VIDEO_MAX_DISTANCE``, and what each code recovers where the watermark
is lost.

- **Null**: 64-bit ISCC image codes of unrelated natural images, every pair compared: the
  ``skimage.data`` pictures the held-apart set does not use, their non-overlapping 128 px tiles,
  its 200 aligned LFW faces (25 px) and scikit-learn's two sample photographs with their tiles. The
  smallest distance between two of them, with a margin, sets the threshold
  (``provenance.content_code.MAX_DISTANCE``). Reported apart: near-duplicate families that a
  32 px code cannot tell apart by design (8 px handwritten digits; the flat artworks rendered
  with other seeds).
- **Held apart**: the image benchmark's photos (16 ``skimage.data`` images at 512 px, centre-cropped)
  and its 12 flat artworks, watermarked and registered by their code; each attack of
  ``eval/image_watermark.py`` applied to each. Per attack: the watermark found (exact payload at
  FPR 1e-6), the code within the threshold of its own registration (and nearest), and wrong
  matches (another registered image within the threshold); and the two layers together.
  Null images queried against the registered codes count as wrong matches too.
- **Sounds** (:func:`part_audio`) and **videos** (:func:`part_video`): the same two halves, with
  unrelated recordings and videos as nulls and the audio and video benchmarks' signals, marked,
  registered and attacked with those benchmarks' attacks.

Writes ``eval/results/content_code.{json,md,png}``.
"""

from __future__ import annotations

import argparse
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))
sys.path.insert(1, str(REPO / "eval"))

import numpy as np  # noqa: E402
from flat_artwork import FLAT_ARTWORK, flat_artwork  # noqa: E402
from image_watermark import ATTACKS, COLOUR, GREY, Assay, load_images  # noqa: E402
from PIL import Image  # noqa: E402
from skimage import data as skdata  # noqa: E402
from tqdm import tqdm  # noqa: E402
from typed_results import write_json  # noqa: E402

from provenance.content_code import AUDIO_MAX_DISTANCE, MAX_DISTANCE, ContentCode, audio_code, image_code  # noqa: E402

RESULTS = REPO / "eval" / "results"
# the skimage.data pictures in the wheel that the held-apart set does not use (cat is chelsea)
NULL_PICTURES = (
    "binary_blobs",
    "cell",
    "checkerboard",
    "clock",
    "horse",
    "microaneurysms",
    "shepp_logan_phantom",
    "text",
)


@dataclass
class AttackRow:
    images: int
    watermark: int  # exact payload at FPR 1e-6
    code: int  # own code within the threshold and nearest
    either: int
    wrong: int  # another registered code within the threshold
    median_distance: float
    max_distance: int


@dataclass
class MediaPart:
    """Sounds or videos: their null, and the registered set under attack."""

    threshold: int
    null_items: int
    null_pairs: int
    null_min: int
    null_at_or_below: dict[str, int]
    registered: int
    strength: float | None = None  # the audio mark's strength (sounds)
    attacks: dict[str, AttackRow] = field(default_factory=dict)
    code_ms: float = 0.0  # per 12 s of sound, per video


@dataclass
class ContentCodeResults:
    threshold: int
    null_images: int
    null_pairs: int
    null_min: int
    null_at_or_below: dict[str, int]  # distance k -> pairs at <= k
    null_vs_registered_min: int
    registered: int
    families: dict[str, dict[str, int]] = field(
        default_factory=dict
    )  # pairs, min, pairs within threshold, vs registered min
    attacks: dict[str, AttackRow] = field(default_factory=dict)
    code_ms: float = 0.0
    audio: MediaPart | None = None
    video: MediaPart | None = None
    run_at: str = ""


def null_images() -> list[tuple[str, np.ndarray]]:
    """Unrelated natural images, none from a registered picture: the ``skimage.data`` pictures the
    held-apart set does not use, their non-overlapping 128 px tiles, the 200 LFW faces and
    scikit-learn's two sample photographs (and their tiles)."""
    from sklearn.datasets import load_sample_images

    pictures: list[tuple[str, np.ndarray]] = []
    for name in NULL_PICTURES:
        arr = np.asarray(getattr(skdata, name)())
        if arr.dtype == bool:
            arr = arr.astype(np.uint8) * 255
        pictures.append((name, arr[..., :3] if arr.ndim == 3 else arr))
    pictures += [(f"sample{i}", img) for i, img in enumerate(load_sample_images().images)]
    out = list(pictures)
    for name, arr in pictures:
        h, w = arr.shape[:2]
        out += [
            (f"{name}-tile{y}-{x}", arr[y : y + 128, x : x + 128])
            for y in range(0, h - 127, 128)
            for x in range(0, w - 127, 128)
        ]
    out += [(f"lfw{i}", np.asarray(f * 255 if f.max() <= 1 else f)) for i, f in enumerate(skdata.lfw_subset())]
    return out


def families(limit: int | None = None) -> dict[str, list[tuple[str, np.ndarray]]]:
    """Near-duplicate families, reported apart from the null: different images a 32 px code cannot
    tell apart by design (handwritten digits of 8 px; the flat artworks rendered with other seeds:
    the same layout with other text, numbers or colours); ``limit``: the first of each."""
    from sklearn.datasets import load_digits

    digits = [
        (f"digit{i}", np.kron(d * (255 / 16), np.ones((8, 8)))) for i, d in enumerate(load_digits().images[:limit])
    ]
    specs = [
        (f"{name}-seed{seed}", render, h, w, seed * 100 + i)
        for i, (name, (render, (h, w))) in enumerate(FLAT_ARTWORK.items())
        for seed in (7, 8, 9)
    ][:limit]
    variants = [(name, render(h, w, np.random.default_rng(seed))) for name, render, h, w, seed in specs]
    return {f"digits (8 px, {len(digits):,})": digits, f"flat artwork, other seeds ({len(variants)})": variants}


def pairwise_min(values: np.ndarray) -> tuple[int, np.ndarray]:
    """Hamming distances of every pair: their minimum and a histogram (0..64)."""
    bits = np.unpackbits(values.view(np.uint8).reshape(len(values), 8), axis=1).astype(np.int16)
    hist = np.zeros(65, dtype=np.int64)
    for i in range(len(bits) - 1):
        d = np.abs(bits[i + 1 :] - bits[i]).sum(axis=1)
        hist += np.bincount(d, minlength=65)
    return int(np.flatnonzero(hist)[0]), hist


def _codes(images: list[np.ndarray]) -> np.ndarray:
    """The images' codes; a picture too flat for a code (``MIN_CONTRAST``) is left out."""
    codes = [image_code(a) for a in images]
    return np.array([int.from_bytes(c.digest, "big") for c in codes if c is not None], dtype=np.uint64)


def _distances(registered: np.ndarray, code: ContentCode | None) -> np.ndarray:
    """Bits between a query's code and each registered one (65 for a query too flat or short for a code)."""
    return _distance(registered, code.value) if code is not None else np.full(len(registered), 65)


def _tally(readings: list[tuple[bool, np.ndarray]], threshold: int) -> AttackRow:
    """One attack's row from each registered item's reading: (watermark found, its code's distances
    to every registered code); the code finds item ``i`` when its own code is within the threshold
    and nearest, and matches wrongly when another registered code is within it."""
    wm = by_code = either = wrong = 0
    own_distances = []
    for i, (found, dist) in enumerate(readings):
        own, others = int(dist[i]), np.delete(dist, i)
        hit = own <= threshold and (not len(others) or own < int(others.min()))
        wrong += int((others <= threshold).any())
        wm, by_code, either = wm + found, by_code + hit, either + (found or hit)
        own_distances.append(own)
    return AttackRow(len(readings), wm, by_code, either, wrong, float(np.median(own_distances)), max(own_distances))


def _at_or_below(hist: np.ndarray) -> dict[str, int]:
    """Pairs at or below each distance 0..16."""
    return {str(k): int(hist[: k + 1].sum()) for k in range(17)}


def _distance(a: np.ndarray, b: int) -> np.ndarray:
    x = np.bitwise_xor(a, np.uint64(b))
    return np.unpackbits(x.view(np.uint8).reshape(len(a), 8), axis=1).sum(axis=1)


SENTENCES = (
    "The committee met on Tuesday to discuss the budget for the new library and the old town hall roof.",
    "Rain is expected across the north this evening, clearing by morning, a little above the seasonal average.",
    "She bought three apples, a loaf of bread and a newspaper, then walked home along the river in the sun.",
    "The train to the coast leaves every hour from platform four, and the last one returns before midnight.",
    "Scientists counted the birds on the island for a week and found twice as many as ten years ago.",
    "Our guest today has written six books about mountains, and her latest is about a glacier that is melting.",
    "Prices at the market rose again this month, mostly for fruit, coffee and fuel for the fishing boats.",
    "The museum will stay open late on Fridays this summer, with music in the courtyard after nine.",
    "Please remember to bring your tickets, a warm coat and something to eat, because the tour is long.",
    "A small fire in the bakery was put out quickly, and nobody was hurt, the fire service said.",
)


def part_audio(attacks: list[str], strength: float, limit: int | None = None) -> MediaPart:
    """Sounds: a null of unrelated recordings (espeak voices reading other sentences, rendered music
    from other seeds) and the audio benchmark's voices and music, marked, registered and attacked."""
    from audio_watermark import ATTACKS as SOUND_ATTACKS
    from audio_watermark import RATE, _music, _speech, spoken

    from watermark.audio import AudioWatermarkDetector, AudioWatermarker
    from watermark.keys import KeyRing, Secret, WatermarkKey

    null = [spoken(t, v) for t in SENTENCES[:limit] for v in ("en-us", "en+f3", "en-gb", "en+m3")]
    null += [_music(seed) for seed in range(100, 120)[:limit]]
    t0 = time.perf_counter()
    codes = [audio_code(x, RATE) for x in tqdm(null, desc="null sounds", leave=False)]
    code_ms = 1000 * (time.perf_counter() - t0) / len(null)
    null_codes = np.array([int.from_bytes(c.digest, "big") for c in codes if c is not None], dtype=np.uint64)
    null_min, hist = pairwise_min(null_codes)
    print(f"audio null: {len(null_codes)} sounds, {int(hist.sum()):,} pairs, min distance {null_min}", flush=True)
    ring = KeyRing([WatermarkKey("bench", "kgw", Secret(bytes(range(32))))])
    marker, detector = AudioWatermarker(ring, strength=strength), AudioWatermarkDetector(ring)
    held = [*_speech()[:3], _music(1), _music(2)][:limit]  # three voices, two music pieces
    marked = [marker.mark_samples(x, RATE, record_id=100 + i).samples for i, x in enumerate(held)]
    registered = np.array([int.from_bytes(audio_code(x, RATE).digest, "big") for x in marked], dtype=np.uint64)  # type: ignore[union-attr]
    part = MediaPart(
        threshold=AUDIO_MAX_DISTANCE,
        null_items=len(null_codes),
        null_pairs=int(hist.sum()),
        null_min=null_min,
        null_at_or_below=_at_or_below(hist),
        registered=len(marked),
        strength=strength,
        code_ms=round(code_ms, 1),
    )
    for attack in tqdm([a for a in attacks if a in SOUND_ATTACKS], desc="sound attacks"):
        readings = []
        for i, x in enumerate(marked):
            y, rate = SOUND_ATTACKS[attack](x)
            d = detector.detect_samples(y, rate)
            found = bool(d.found and d.payload is not None and d.payload.record_id == 100 + i)
            readings.append((found, _distances(registered, audio_code(y, rate))))
        part.attacks[attack] = _tally(readings, AUDIO_MAX_DISTANCE)
        print(f"sound {attack}: {part.attacks[attack]}", flush=True)
    return part


VIDEO_HELD_PICTURES = ("astronaut", "coffee", "chelsea", "rocket")  # panned over for registered videos


def _picture(name: str) -> np.ndarray:
    """A ``skimage.data`` picture as 8-bit RGB (binary and grey pictures spread to three channels)."""
    arr = np.asarray(getattr(skdata, name)())
    if arr.dtype == bool:
        arr = arr.astype(np.uint8) * 255
    arr = arr[..., :3] if arr.ndim == 3 else np.repeat(arr[..., None], 3, axis=2)
    return np.ascontiguousarray(arr.astype(np.uint8))


def ken_burns(picture: np.ndarray, w: int, h: int, n: int, seed: int) -> list[np.ndarray]:
    """``n`` frames of a slow camera move over a picture: a pan between two random points while
    the view narrows from 1.4 to 1.1 frames' worth (the picture scaled to cover 1.5 frames)."""
    import cv2

    rng = np.random.default_rng(seed)
    scale = 1.5 * max(w / picture.shape[1], h / picture.shape[0])
    big = cv2.resize(picture, None, fx=scale, fy=scale, interpolation=cv2.INTER_CUBIC)
    bh, bw = big.shape[:2]
    start, end = rng.uniform(0, 1, 2), rng.uniform(0, 1, 2)
    frames = []
    for i in range(n):
        t = i / max(1, n - 1)
        zoom = 1.4 - 0.3 * t
        vw, vh = min(bw, int(w * zoom)), min(bh, int(h * zoom))
        fx, fy = start + (end - start) * t
        x, y = int(fx * (bw - vw)), int(fy * (bh - vh))
        frames.append(cv2.resize(big[y : y + vh, x : x + vw], (w, h), interpolation=cv2.INTER_AREA))
    return frames


def slideshow(faces: list[np.ndarray], w: int, h: int, per: int) -> list[np.ndarray]:
    """Faces shown one after another (``per`` frames each), centred on grey, hard cuts."""
    import cv2

    frames = []
    for face in faces:
        f = np.asarray(face * 255 if face.max() <= 1 else face, dtype=np.float64).astype(np.uint8)
        f = cv2.resize(np.repeat(f[..., None], 3, axis=2) if f.ndim == 2 else f, (h, h), interpolation=cv2.INTER_CUBIC)
        frame = np.full((h, w, 3), 128, np.uint8)
        frame[:, (w - h) // 2 : (w - h) // 2 + h] = f
        frames += [frame] * per
    return frames


def null_videos(limit: int | None, seconds: float = 6.0) -> list[tuple[str, list[np.ndarray]]]:
    """Unrelated videos (640 x 360, ``seconds`` at 30 fps), none made from a registered one: camera moves
    over the ``skimage.data`` and scikit-learn pictures the registered videos do not use, LFW faces
    eight to a slideshow, and the video benchmark's panning and cutting scenes rendered from other
    seeds (their random fields are unrelated; its textured and flat clips are not: they differ
    between seeds only in noise)."""
    from sklearn.datasets import load_sample_images
    from video_watermark import _frames

    w, h, n = 640, 360, int(seconds * 30)
    pictures = [(name, _picture(name)) for name in (*COLOUR, *GREY, *NULL_PICTURES) if name not in VIDEO_HELD_PICTURES]
    pictures += [(f"sample{i}", img) for i, img in enumerate(load_sample_images().images)]
    out = [
        (f"pan over {name}", lambda a=a, i=i: ken_burns(a, w, h, n, 1000 + i)) for i, (name, a) in enumerate(pictures)
    ][:limit]
    faces = list(skdata.lfw_subset())
    out += [(f"faces {k}-{k + 7}", lambda k=k: slideshow(faces[k : k + 8], w, h, n // 8)) for k in range(0, 200, 8)][
        :limit
    ]
    out += [(f"{kind} seed {seed}", lambda kind=kind, seed=seed: _frames(kind, w, h, n, seed))
            for kind in ("panning", "cuts") for seed in range(10, 20)][:limit]  # fmt: skip
    return [(name, make()) for name, make in out]


def part_video(attacks: list[str], limit: int | None, size: tuple[int, int], seconds: float) -> MediaPart:
    """Videos: a null of unrelated videos, and the video benchmark's clips with camera moves over
    four photographs, marked through ``mark_video``, registered by their code and attacked (the
    attacks of ``eval/video_watermark.py``, each read back by the watermark and by the code)."""
    from video_watermark import ATTACKS as VIDEO_ATTACKS
    from video_watermark import CLIPS, FPS, _decode, _encode, _frames

    from provenance.content_code import VIDEO_MAX_DISTANCE, video_code
    from provenance.media_types import sniff_media
    from watermark.image import ImageWatermarkDetector
    from watermark.keys import KeyRing, Secret, WatermarkKey
    from watermark.video import VideoMarker, detect_video, mark_video

    null = null_videos(limit, min(6.0, seconds))
    encoded = [_encode(frames) for _, frames in tqdm(null, desc="null videos", leave=False)]
    t0 = time.perf_counter()
    codes = [video_code(v, "video/mp4") for v in encoded]
    code_ms = 1000 * (time.perf_counter() - t0) / len(encoded)
    null_codes = np.array([c.value for c in codes if c is not None], dtype=np.uint64)
    null_min, hist = pairwise_min(null_codes)
    print(f"video null: {len(null_codes)} videos, {int(hist.sum()):,} pairs, min distance {null_min}", flush=True)
    w, h = size
    n = int(seconds * FPS)
    held = [(kind, lambda k=kind, s=seed: _frames(k, w, h, n, s)) for seed, kind in enumerate(CLIPS)]
    held += [
        (f"pan over {p}", lambda p=p, i=i: ken_burns(_picture(p), w, h, n, i))
        for i, p in enumerate(VIDEO_HELD_PICTURES)
    ]
    held = held[:limit]
    ring = KeyRing([WatermarkKey("bench", "kgw", Secret(bytes(range(32))))])
    marker, detector = VideoMarker(ring), ImageWatermarkDetector(ring)
    marked = [
        mark_video(_encode(make()), marker, record_id=100 + i).data
        for i, (_, make) in enumerate(tqdm(held, desc="marking videos", leave=False))
    ]
    registered = np.array([video_code(m, "video/mp4").value for m in marked], dtype=np.uint64)  # type: ignore[union-attr]
    vs_registered = min(int(_distance(registered, int(c)).min()) for c in null_codes)
    print(f"video null vs registered: min distance {vs_registered}", flush=True)
    part = MediaPart(
        threshold=VIDEO_MAX_DISTANCE,
        null_items=len(null_codes),
        null_pairs=int(hist.sum()),
        null_min=min(null_min, vs_registered),
        null_at_or_below=_at_or_below(hist),
        registered=len(marked),
        code_ms=round(code_ms, 1),
    )
    chosen = [a for a in attacks if a in VIDEO_ATTACKS]
    readings: dict[str, list[tuple[bool, np.ndarray]]] = {a: [] for a in chosen}
    for i, m in enumerate(tqdm(marked, desc="video attacks")):
        frames = _decode(m)  # one clip's frames in memory at a time
        for attack in chosen:
            copy = VIDEO_ATTACKS[attack](frames)
            d = detect_video(copy, detector)
            found = bool(d.found and d.payload is not None and d.payload.record_id == 100 + i)
            readings[attack].append((found, _distances(registered, video_code(copy, sniff_media(copy) or ""))))
    for attack in chosen:
        part.attacks[attack] = _tally(readings[attack], VIDEO_MAX_DISTANCE)
        print(f"video {attack}: {part.attacks[attack]}", flush=True)
    return part


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--attacks", default=",".join(ATTACKS), help="comma-separated attack names")
    ap.add_argument("--limit", type=int, default=None, help="held-apart images of each set (default: all)")
    ap.add_argument("--family-limit", type=int, default=None, help="images of each near-duplicate family")
    ap.add_argument("--sound-attacks", default="none,mp3 64k,aac 64k,opus 32k,resample 16k,gain -6 dB,"
                    "pink noise 20 dB,10 s excerpt,stretch -3.1 %,speed +2.4 %,mixed under -6 dB",
                    help="comma-separated audio attacks (eval/audio_watermark.py); empty: no sound part")  # fmt: skip
    ap.add_argument("--strength", type=float, default=None, help="audio mark strength (default: the service's)")
    ap.add_argument(
        "--sounds-only",
        action="store_true",
        help="run the sound part alone; the image and video parts are kept from the results already in --out",
    )
    ap.add_argument("--sound-limit", type=int, default=None, help="null sentences, music seeds and held signals")
    ap.add_argument("--video-attacks", default="none,H.264 CRF 28,H.264 CRF 35,VP9 CRF 40,scale to 480p,crop 10 %,"
                    "30 → 24 fps,2 s excerpt from 4.5 s,every 5th frame dropped,screen recording",
                    help="comma-separated video attacks (eval/video_watermark.py); empty: no video part")  # fmt: skip
    ap.add_argument("--video-limit", type=int, default=None, help="null videos per source, and held clips")
    ap.add_argument("--video-size", default="1280x720", help="registered clips' frame size")
    ap.add_argument("--video-seconds", type=float, default=10.0, help="registered clips' length")
    ap.add_argument("--out", type=Path, default=RESULTS)
    args = ap.parse_args()
    if args.strength is None:
        from watermark.audio import DEFAULT_STRENGTH

        args.strength = DEFAULT_STRENGTH
    if args.sounds_only:
        _rerun_sounds(args)
        return

    nulls = null_images()
    t0 = time.perf_counter()
    null_codes = _codes([a for _, a in nulls])
    code_ms = 1000 * (time.perf_counter() - t0) / len(nulls)
    null_min, hist = pairwise_min(null_codes)
    print(f"null: {len(null_codes)} images with a code, {int(hist.sum()):,} pairs, min distance {null_min}", flush=True)

    fams = {}
    for fam, imgs in families(args.family_limit).items():
        fam_min, fam_hist = pairwise_min(_codes([a for _, a in imgs]))
        fams[fam] = {"pairs": int(fam_hist.sum()), "min": fam_min, "within": int(fam_hist[: MAX_DISTANCE + 1].sum())}
    method = Assay()
    held = load_images(512)[: args.limit] + flat_artwork(args.limit)
    marked = [(n, method.embed(a)) for n, a in tqdm(held, desc="marking", leave=False)]
    registered = _codes([a for _, a in marked])
    assert len(registered) == len(marked), "every registered image has a code"
    vs_registered = min(int(_distance(registered, int(c)).min()) for c in null_codes)
    results = ContentCodeResults(
        threshold=MAX_DISTANCE,
        null_images=len(null_codes),
        null_pairs=int(hist.sum()),
        null_min=null_min,
        null_at_or_below=_at_or_below(hist),
        null_vs_registered_min=vs_registered,
        registered=len(registered),
        families=fams,
        code_ms=round(code_ms, 2),
    )
    for attack in tqdm(args.attacks.split(","), desc="attacks"):
        readings = []
        for _, img in marked:
            attacked = np.asarray(ATTACKS[attack](img))
            readings.append((method.detect(attacked)[1], _distances(registered, image_code(attacked))))
        results.attacks[attack] = _tally(readings, MAX_DISTANCE)
        print(f"{attack}: {results.attacks[attack]}", flush=True)
    if args.sound_attacks:
        results.audio = part_audio(args.sound_attacks.split(","), args.strength, args.sound_limit)
    if args.video_attacks:
        size = tuple(int(v) for v in args.video_size.split("x"))
        results.video = part_video(
            args.video_attacks.split(","), args.video_limit, (size[0], size[1]), args.video_seconds
        )
    results.run_at = time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime())
    _write(results, args.out)
    _plot(hist, results, args.out / "content_code.png")
    print((args.out / "content_code.md").read_text())


def _write(results: ContentCodeResults, out: Path) -> None:
    out.mkdir(parents=True, exist_ok=True)
    write_json(out / "content_code.json", results)
    (out / "content_code.md").write_text(_md(results))


def _rerun_sounds(args: argparse.Namespace) -> None:
    """The sound part again, over the image and video parts of the results in ``args.out`` (whose
    run time the page keeps; the sound part says its own strength)."""
    import json

    from typed_results import from_json

    path = args.out / "content_code.json"
    if not path.exists():
        raise SystemExit(f"--sounds-only needs earlier results in {path}: run the whole benchmark first")
    results = from_json(ContentCodeResults, json.loads(path.read_text()))
    results.audio = part_audio(args.sound_attacks.split(","), args.strength, args.sound_limit)
    results.run_at = f"{results.run_at.split(' (')[0]} (sounds {time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime())})"
    _write(results, args.out)
    print((args.out / "content_code.md").read_text())


def _md(r: ContentCodeResults) -> str:
    lines = [
        "# Content codes (ISCC image, audio and video codes): nulls, and recovery where the watermark is lost",
        "",
        f"Run {r.run_at}. `.venv/bin/python eval/content_code.py`.",
        "",
        f"**Null**: {r.null_images:,} unrelated images with a code, {r.null_pairs:,} pairs: smallest distance",
        f"**{r.null_min}** bits of 64 (pairs at or below: {_near(r.null_at_or_below)}); null images against the",
        f"registered set: smallest {r.null_vs_registered_min}.",
        f"Threshold (`MAX_DISTANCE`): **{r.threshold}**. A code costs {r.code_ms} ms per image here.",
        "",
        "Near-duplicate families (not in the null: different images a 32 px code cannot tell apart):",
        "",
        "| family | pairs | smallest distance | pairs within the threshold |",
        "|---|---|---|---|",
        *(f"| {k} | {v['pairs']:,} | {v['min']} | {v['within']} |" for k, v in r.families.items()),
        "",
        f"**Held apart**: {r.registered} marked, registered images (the photos at 512 px and flat artworks);",
        "per attack, how many are found by the watermark (exact payload, FPR 1e-6), by the content code",
        "(own registration within the threshold and nearest), by either, and wrong code matches; a distance",
        "of 65: the attacked picture was too flat for a code.",
        "",
        *_attack_table(r.attacks),
    ]
    if (s := r.audio) is not None:
        lines += [
            "",
            "## Sounds (ISCC audio code of the Chromaprint fingerprint)",
            "",
            f"**Null**: {s.null_items} unrelated recordings (espeak voices reading 10 other sentences, music",
            f"rendered from 20 other seeds), {s.null_pairs:,} pairs: smallest distance **{s.null_min}**",
            f"({_near(s.null_at_or_below)}).",
            f"Threshold (`AUDIO_MAX_DISTANCE`): **{s.threshold}**. A code costs {s.code_ms} ms per 12 s here.",
            "",
            f"**Held apart**: the audio benchmark's {s.registered} signals (3 voices, 2 music), marked at",
            f"{s.strength}, registered; per attack, found by the watermark (right record), by the content code,",
            "by either:",
            "",
            *_attack_table(s.attacks),
        ]
    if (v := r.video) is not None:
        lines += [
            "",
            "## Videos (ISCC video code of MPEG-7 frame signatures, 5 frames a second)",
            "",
            f"**Null**: {v.null_items} unrelated videos (640 x 360, 6 s: camera moves over the `skimage` and",
            "scikit-learn pictures the registered videos do not use, LFW faces eight to a slideshow, the video",
            f"benchmark's panning and cutting scenes from 20 other seeds), {v.null_pairs:,} pairs and each against",
            f"the registered videos: smallest distance **{v.null_min}** ({_near(v.null_at_or_below)}).",
            f"Threshold (`VIDEO_MAX_DISTANCE`): **{v.threshold}**. A code costs {v.code_ms:.0f} ms per 6 s video here",
            "(`ffmpeg`).",
            "",
            f"**Held apart**: {v.registered} videos (the video benchmark's four clips and camera moves over four",
            "photographs; 10 s, 720p), marked through `mark_video`, registered; per attack (those of",
            "`eval/video_watermark.py`), found by the watermark (right record), by the content code, by either:",
            "",
            *_attack_table(v.attacks),
        ]
    return "\n".join(lines) + "\n"


def _near(at_or_below: dict[str, int]) -> str:
    """Null pairs at or below a few distances, in words."""
    return ", ".join(f"≤{k}: {n}" for k, n in at_or_below.items() if int(k) in (4, 6, 8, 10, 12, 14, 16))


def _attack_table(attacks: dict[str, AttackRow]) -> list[str]:
    return [
        "| attack | watermark | content code | either | wrong | code distance median / max |",
        "|---|---|---|---|---|---|",
        *(
            f"| {name} | {a.watermark}/{a.images} | {a.code}/{a.images} | {a.either}/{a.images} | {a.wrong} | "
            f"{a.median_distance:.0f} / {a.max_distance} |"
            for name, a in attacks.items()
        ),
    ]


def _plot(hist: np.ndarray, r: ContentCodeResults, path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(8, 3.6))
    ax.bar(range(65), hist, color="#888", label="unrelated pairs (null)")
    ax.axvline(r.threshold + 0.5, color="#c33", label=f"threshold {r.threshold}")
    meds = [a.median_distance for a in r.attacks.values()]
    ax.scatter(meds, [0.7] * len(meds), marker="v", color="#36c", label="attacks: median distance to its own code")
    ax.set(xlabel="Hamming distance (bits of 64)", ylabel="pairs (log scale)", xlim=(-1, 65), yscale="log")
    ax.set_ylim(0.5, None)
    ax.legend(fontsize=8)
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    Image.open(path).load()


if __name__ == "__main__":
    main()
