"""Coverage-guided fuzzing (atheris / libFuzzer) of everything that parses untrusted input.

Targets: ``content`` (classifying uploaded bytes, then decoding the image), ``public_marks`` (the
dwtDct decoder on decoded pixels), ``normalize`` (the text normaliser and the spelling
restoration, including the span mapping), ``keyring`` (the key-ring TOML parser), ``c2pa``
(reading and validating a manifest from a JPEG or PNG), ``json_bodies`` (the request bodies of
``/v1/text/*`` and ``/v1/verify``) ``labels`` (reading every label carrier — XMP, ID3, FLAC,
RIFF, MP4/MKV through FFmpeg, OOXML, front matter — and rewriting an image's XMP), ``video`` (a
video's header, reading its mark from sampled frames, and marking it within a small frame budget)
and ``audio`` (a sound's header, reading its mark from its first seconds, and marking it within a
small budget of seconds). Only documented errors may escape a target: :class:`AssayError`
subclasses (and, for the request models, pydantic's ``ValidationError``, which the API turns into
a 422 problem); anything else is a crash.

Each target runs in its own process for a time budget, from the seed corpus in
``eval/fuzz_corpus/<target>/`` (grown in place by libFuzzer), and reports executions, coverage
(libFuzzer's ``cov``/``ft`` counters) and crashes (the crashing input is kept under
``eval/results/fuzz-crashes/``).

    .venv/bin/python eval/fuzz.py --seconds 300          # the long run: 6 targets x 5 min
    .venv/bin/python eval/fuzz.py --seconds 5 --target keyring
    .venv/bin/python eval/fuzz.py --seconds 1 --jobs 2 --no-write   # the smoke run of the tests

Writes ``eval/results/fuzz.{json,md}`` (the long run; ``--no-write`` for smoke runs).
"""

from __future__ import annotations

import argparse
import contextlib
import io
import json
import os
import re
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path[:] = [str(ROOT)] + [p for p in sys.path if Path(p or ".").resolve() != ROOT / "eval"]  # eval/provenance.py
CORPUS = ROOT / "eval" / "fuzz_corpus"
OOXML_DOCX = "application/vnd.openxmlformats-officedocument.wordprocessingml.document"
RESULTS = ROOT / "eval" / "results"
TARGETS = ("content", "public_marks", "normalize", "keyring", "c2pa", "json_bodies", "labels", "video", "audio")


def _target(name: str) -> Callable[[bytes], None]:
    """The one-input test of a target (imports are instrumented by the caller)."""
    import pydantic

    from watermark.errors import AssayError

    if name == "content":
        from detect.content import Content
        from watermark.image import read_image

        def content(data: bytes) -> None:
            with contextlib.suppress(AssayError):  # documented refusals are allowed; anything else is a find
                c = Content.of_bytes(data, declared_type="application/octet-stream")
                if c.kind == "image":
                    read_image(c.data, max_pixels=4_000_000)

        return content
    if name == "public_marks":
        import numpy as np

        from watermark.image import detect_public_marks

        def public_marks(data: bytes) -> None:
            if len(data) < 2:
                return
            w = 256 + data[0] % 64
            pixels = np.resize(np.frombuffer(data[1:], dtype=np.uint8), (256, w, 3))
            for m in detect_public_marks(pixels):
                assert 0.0 <= m.p_value <= 1.0

        return public_marks
    if name == "normalize":
        import numpy as np

        from detect.spelling import SpellingRestorer
        from watermark.text.normalize import normalize_text

        # The AI-likelihood's spelling restoration after it, its dictionary loaded now (3-6 s), not
        # inside the first input, which libFuzzer would report as a slow unit on a slow machine.
        restorer = SpellingRestorer.loaded()

        def normalize(data: bytes) -> None:
            text = data.decode("utf-8", "surrogateescape")  # invalid bytes become lone surrogates
            for norm in (normalize_text(text), restorer.restore(normalize_text(text))):
                assert len(norm.source) == len(norm.text) + 1 and int(norm.source[-1]) == len(text)
                assert bool(np.all(np.diff(norm.source) >= 0))  # the map never runs backwards
                offsets = norm.original_offsets(np.array([0, len(norm.text)]))
                assert 0 <= int(offsets[0]) <= int(offsets[1]) <= len(text)

        return normalize
    if name == "keyring":
        from watermark.keys import keyring_from_toml

        def keyring(data: bytes) -> None:
            with contextlib.suppress(AssayError):  # documented refusals are allowed; anything else is a find
                ring = keyring_from_toml(data.decode("utf-8", "replace"), environ={})
                assert len(ring) >= 1

        return keyring
    if name == "c2pa":
        from provenance.c2pa_io import verify_asset

        def c2pa(data: bytes) -> None:
            mime = "image/png" if data[:4] == b"\x89PNG" else "image/jpeg"
            with contextlib.suppress(AssayError):
                verify_asset(data, mime)

        return c2pa
    if name == "json_bodies":
        from api.http.models import DetectRequest, GenerateRequest
        from detect.content import Content

        def json_bodies(data: bytes) -> None:
            for model in (DetectRequest, GenerateRequest):
                with contextlib.suppress(pydantic.ValidationError):
                    model.model_validate_json(data)
            try:
                obj = json.loads(data)
            except (ValueError, RecursionError):
                return
            if isinstance(obj, dict) and isinstance(obj.get("text"), str):
                with contextlib.suppress(AssayError):
                    Content.of_text(obj["text"])

        return json_bodies
    if name == "labels":
        from provenance.labels import AigcLabel, parse_aigc, read_labels, read_text_labels, write_labels
        from provenance.media_types import sniff_media
        from watermark.image.codec import sniff_mime_type

        label = AigcLabel(content_producer="fuzz", produce_id="1")

        def labels(data: bytes) -> None:
            mime = sniff_media(data)
            if mime is None:
                with contextlib.suppress(AssayError):
                    mime = sniff_mime_type(data, max_pixels=4_000_000)
            for found in read_labels(data, mime or "application/octet-stream"):
                parse_aigc(found.value)
            text = data.decode("utf-8", "replace")
            for found in read_text_labels(text):
                parse_aigc(found.value)
            if mime in ("image/jpeg", "image/png", "image/webp", "image/gif"):
                with contextlib.suppress(AssayError):
                    write_labels(data, mime, aigc=label)

        return labels
    if name == "video":
        from watermark.image import ImageWatermarkDetector
        from watermark.keys import KeyRing, Secret, WatermarkKey
        from watermark.video import VideoMarker, detect_video, mark_video, probe_video

        ring = KeyRing([WatermarkKey("fuzz", "kgw", Secret(b"f" * 32))])
        detector, marker = ImageWatermarkDetector(ring), VideoMarker(ring)

        def video(data: bytes) -> None:
            with contextlib.suppress(AssayError):
                probe_video(data).detection_bytes()
                detect_video(data, detector, max_seconds=2.0, dense_seconds=1.0)
                mark_video(data, marker, max_frames=12, max_pixel_frames=12 * 320 * 256)

        return video
    if name == "audio":
        from watermark.audio import AudioWatermarkDetector, AudioWatermarker, detect_audio, mark_audio, probe_audio
        from watermark.keys import KeyRing, Secret, WatermarkKey

        ring = KeyRing([WatermarkKey("fuzz", "kgw", Secret(b"f" * 32))])
        listener, speaker = AudioWatermarkDetector(ring, search=False), AudioWatermarker(ring)

        def audio(data: bytes) -> None:
            with contextlib.suppress(AssayError):
                probe_audio(data).held_bytes(8.0)
                detect_audio(data, listener, max_seconds=8.0)
                mark_audio(data, speaker, max_seconds=8.0)

        return audio
    raise ValueError(f"unknown target {name!r}; one of {', '.join(TARGETS)}")


def _child(name: str, seconds: int, corpus: Path, crashes: Path) -> None:
    """Run one target under libFuzzer in this process (exits when the budget is spent or on a crash)."""
    import atheris

    with atheris.instrument_imports(include=["watermark", "detect", "provenance", "api"]):
        test = _target(name)
    args = [
        sys.argv[0],
        str(corpus),
        f"-max_total_time={seconds}",
        "-max_len=65536",
        "-rss_limit_mb=4096",
        "-timeout=20",
        f"-artifact_prefix={crashes}/{name}-",
        "-print_final_stats=1",
    ]
    atheris.Setup(args, test)
    atheris.Fuzz()


_STAT = re.compile(r"#(\d+)\s+\w+\s+cov: (\d+) ft: (\d+)")


def run_target(
    name: str, seconds: int, *, corpus_root: Path = CORPUS, crashes: Path = RESULTS / "fuzz-crashes"
) -> dict[str, Any]:
    """Fuzz one target in a subprocess; return its executions, coverage and crashes."""
    corpus = corpus_root / name
    corpus.mkdir(parents=True, exist_ok=True)
    crashes.mkdir(parents=True, exist_ok=True)
    before = set(crashes.iterdir())
    t0 = time.perf_counter()
    proc = subprocess.run(
        [
            sys.executable,
            __file__,
            "--child",
            name,
            "--seconds",
            str(seconds),
            "--corpus",
            str(corpus),
            "--crashes",
            str(crashes),
        ],
        capture_output=True,
        text=True,
        env=os.environ | {"HF_HUB_OFFLINE": "1", "PYTHONPATH": str(ROOT)},
        timeout=seconds + 300,
    )
    out = proc.stdout + proc.stderr
    stats = _STAT.findall(out)
    runs = re.search(r"stat::number_of_executed_units:\s*(\d+)", out)
    new = sorted(set(crashes.iterdir()) - before)
    crashed = proc.returncode != 0 or bool(new)
    return {
        "target": name,
        "seconds": round(time.perf_counter() - t0, 1),
        "executions": int(runs.group(1)) if runs else (int(stats[-1][0]) if stats else 0),
        "coverage": int(stats[-1][1]) if stats else 0,
        "features": int(stats[-1][2]) if stats else 0,
        "corpus_files": sum(1 for _ in corpus.iterdir()),
        "crashes": [p.name for p in new] if crashed else [],
        "exit_code": proc.returncode,
        "tail": out[-1500:] if crashed else "",
    }


def seed_corpus(root: Path = CORPUS) -> None:
    """Small valid inputs for each target (written once; libFuzzer grows the folders)."""
    import numpy as np
    from PIL import Image

    def put(target: str, name: str, data: bytes) -> None:
        folder = root / target
        folder.mkdir(parents=True, exist_ok=True)
        if not (folder / name).exists():
            (folder / name).write_bytes(data)

    rng = np.random.default_rng(0)
    for fmt in ("PNG", "JPEG", "WEBP", "BMP", "GIF", "TIFF"):
        buf = io.BytesIO()
        Image.fromarray(rng.integers(0, 255, (24, 24, 3), dtype=np.uint8)).save(buf, fmt)
        put("content", f"seed.{fmt.lower()}", buf.getvalue())
    put("content", "seed.txt", "A few words, with an accent: café.".encode())
    put("public_marks", "seed.bin", bytes(rng.integers(0, 255, 4096, dtype=np.uint8)))
    put(
        "normalize",
        "seed.txt",
        "He\u200bllo w\u0430rld \u00ad tags\U000e0041 and ﬁ ligature, a goverment polciy".encode(),
    )
    put("keyring", "seed.toml", b'active = "a"\n[[keys]]\nid = "a"\nscheme = "kgw"\nsecret = "s"\ngamma = 0.25\n')
    put("json_bodies", "detect.json", b'{"text": "hello"}')
    put("json_bodies", "generate.json", b'{"messages": [{"role": "user", "content": "hi"}], "max_new_tokens": 5}')
    from provenance.c2pa_io import sign_asset
    from provenance.credentials import ensure_dev_credentials
    from provenance.manifest import ai_manifest

    creds = ensure_dev_credentials(Path(tempfile.mkdtemp(prefix="assay-fuzz-ca-")))
    for fmt, mime in (("JPEG", "image/jpeg"), ("PNG", "image/png")):
        buf = io.BytesIO()
        Image.fromarray(rng.integers(0, 255, (32, 32, 3), dtype=np.uint8)).save(buf, fmt)
        signed = sign_asset(buf.getvalue(), mime, ai_manifest(title="t", model="m"), creds).data
        put("c2pa", f"signed.{fmt.lower()}", signed)
    from provenance.labels import AigcLabel, write_labels, write_text_label
    from tests.provenance.media_fixtures import audio_bytes, docx_bytes, mp4_bytes, wav_bytes

    label = AigcLabel(content_producer="seed", produce_id="1")
    media = {
        "audio/wav": wav_bytes(0.02),
        "video/mp4": mp4_bytes(2),
        "audio/mpeg": audio_bytes("mp3", "libmp3lame", 0.05),
    }
    media[OOXML_DOCX] = docx_bytes()
    for fmt, mime in (("JPEG", "image/jpeg"), ("PNG", "image/png"), ("WEBP", "image/webp"), ("GIF", "image/gif")):
        buf = io.BytesIO()
        Image.fromarray(rng.integers(0, 255, (16, 16, 3), dtype=np.uint8)).save(buf, fmt)
        media[mime] = buf.getvalue()
    for mime, data in media.items():
        put("labels", f"labelled.{mime.split('/')[1][:12]}", write_labels(data, mime, aigc=label))
    put("labels", "labelled.md", write_text_label("Text.", aigc=label, notice="AI-generated").encode())
    from tests.watermark.video.test_video_watermark import clip

    put("video", "seed.mp4", clip(width=160, height=128, frames=4))
    from watermark.audio import encode_audio

    tone = 0.3 * np.sin(np.arange(6 * 8000) * 0.07) * (1 + 0.3 * rng.normal(size=6 * 8000))
    for name, codec, muxer in (
        ("seed.wav", "pcm_s16le", "wav"),
        ("seed.mp3", "libmp3lame", "mp3"),
        ("seed.flac", "flac", "flac"),
    ):
        put("audio", name, encode_audio(np.clip(tone, -1, 1), 8000, codec=codec, muxer=muxer, bit_rate=32_000))
    put("audio", "seed.opus", encode_audio(np.clip(tone, -1, 1), 8000, codec="libopus", muxer="ogg", bit_rate=16_000))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--seconds", type=int, default=300, help="Budget per target.")
    parser.add_argument("--target", action="append", choices=TARGETS, help="Only these targets.")
    parser.add_argument("--child", choices=TARGETS, help=argparse.SUPPRESS)
    parser.add_argument("--no-write", action="store_true", help="Do not write eval/results/fuzz.*.")
    parser.add_argument("--jobs", type=int, default=1, help="Targets fuzzed at once (each in its own process).")
    parser.add_argument("--workdir", type=Path, help="Corpus and crashes here (a smoke run; implies --no-write).")
    parser.add_argument("--corpus", type=Path, help=argparse.SUPPRESS)
    parser.add_argument("--crashes", type=Path, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        _child(args.child, args.seconds, args.corpus, args.crashes)
        return
    corpus_root, crashes = CORPUS, RESULTS / "fuzz-crashes"
    if args.workdir is not None:
        corpus_root, crashes, args.no_write = args.workdir / "corpus", args.workdir / "crashes", True
    seed_corpus(corpus_root)
    with ThreadPoolExecutor(max(1, args.jobs)) as pool:  # each target runs in its own child process
        rows = list(
            pool.map(
                lambda t: run_target(t, args.seconds, corpus_root=corpus_root, crashes=crashes), args.target or TARGETS
            )
        )
    for r in rows:
        state = f"CRASH {r['crashes']}" if r["crashes"] else "no crash"
        print(f"{r['target']:>13}: {r['executions']:>9} inputs, cov {r['coverage']}, ft {r['features']}, {state}")
    if args.no_write:
        return
    (RESULTS / "fuzz.json").write_text(json.dumps({"seconds_per_target": args.seconds, "targets": rows}, indent=2))
    lines = [
        "# Fuzzing (atheris / libFuzzer)",
        "",
        f"`.venv/bin/python eval/fuzz.py --seconds {args.seconds}`; only documented errors may escape a target.",
        "",
        "| target | seconds | inputs run | coverage (cov / ft) | corpus files | crashes |",
        "|---|---|---|---|---|---|",
    ]
    for r in rows:
        crashes = ", ".join(r["crashes"]) or "0"
        lines.append(
            f"| {r['target']} | {r['seconds']} | {r['executions']:,} | {r['coverage']} / {r['features']} | "
            f"{r['corpus_files']} | {crashes} |"
        )
    (RESULTS / "fuzz.md").write_text("\n".join(lines) + "\n")
    print("\n".join(lines))


if __name__ == "__main__":
    main()
