"""Recovery of stripped C2PA credentials through the image watermark.

64 marked images (16 ``skimage.data`` sources x 4 crops, 1024 px) are watermarked, signed with a
soft-bound manifest and stored (SQLite); each is then stripped of metadata, resized to 0.5 and
re-encoded as JPEG 75, and the credentials are looked up through the watermark. 512 unmarked
images (the same sources, other crops, scales and JPEG qualities) are looked up in the same store:
any recovery there is a wrong recovery. Writes ``eval/results/recovery.{json,md}``.
"""

from __future__ import annotations

import argparse
import io
import json
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

import numpy as np  # noqa: E402
from PIL import Image  # noqa: E402
from skimage import data as skdata  # noqa: E402
from tqdm import tqdm  # noqa: E402

from detect.recovery import recover_credentials  # noqa: E402
from provenance.c2pa_io import verify_asset  # noqa: E402
from provenance.credentials import ensure_dev_credentials  # noqa: E402
from provenance.soft_binding import sign_and_store  # noqa: E402
from provenance.store import ManifestStore  # noqa: E402
from watermark.image import ImageWatermarkDetector, ImageWatermarker, detect_file, watermark_file  # noqa: E402
from watermark.keys import KeyRing, Secret, WatermarkKey  # noqa: E402

SOURCES = ["astronaut", "chelsea", "coffee", "rocket", "hubble_deep_field", "immunohistochemistry", "retina",
           "colorwheel", "logo", "camera", "moon", "page", "coins", "brick", "grass", "gravel"]  # fmt: skip


def source(name: str) -> Image.Image:
    arr = getattr(skdata, name)()
    if arr.ndim == 3 and arr.shape[2] == 4:
        a = arr[..., 3:4].astype(np.float32) / 255
        arr = (arr[..., :3] * a + 255 * (1 - a)).astype(np.uint8)
    return Image.fromarray(arr).convert("RGB")


def crop(im: Image.Image, area: float, fx: float, fy: float, size: int) -> Image.Image:
    w, h = im.size
    side = round(min(w, h) * area**0.5)
    left, top = round((w - side) * fx), round((h - side) * fy)
    return im.crop((left, top, left + side, top + side)).resize((size, size), Image.LANCZOS)


def jpeg(im: Image.Image, quality: int) -> bytes:
    buf = io.BytesIO()
    im.save(buf, "JPEG", quality=quality)
    return buf.getvalue()


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--variants", type=int, default=4, help="marked crops per source (16 sources)")
    ap.add_argument("--unmarked", type=int, default=32, help="unmarked variants per source")
    ap.add_argument("--out", type=Path, default=REPO / "eval" / "results")
    args = ap.parse_args()
    rng = np.random.default_rng(2026)
    ring = KeyRing([WatermarkKey("eval-recovery", "kgw", Secret(b"recovery-eval-secret-000000000"))])
    marker, detector = ImageWatermarker(ring), ImageWatermarkDetector(ring)
    tmp = Path(tempfile.mkdtemp(prefix="assay-recovery-"))
    creds = ensure_dev_credentials(tmp / "dev-ca")
    store = ManifestStore.open(f"sqlite:///{tmp / 'store.db'}")

    marked_rows: list[dict[str, Any]] = []
    crops = [(1.0, 0.5, 0.5), (0.8, 0.0, 0.0), (0.8, 1.0, 1.0), (0.8, 1.0, 0.0), (0.8, 0.0, 1.0)]
    for name in tqdm(SOURCES, desc="marked"):
        im = source(name)
        for area, fx, fy in crops[: args.variants]:
            original = jpeg(crop(im, area, fx, fy, 1024), 95)
            t = time.perf_counter()
            marked = watermark_file(original, marker)
            bound = sign_and_store(
                marked.data, "image/jpeg", marked.payload.to_bytes(), creds, store, title=name, model="eval"
            )
            sign_s = time.perf_counter() - t
            decoded = Image.open(io.BytesIO(bound.signed.data))
            stripped = jpeg(decoded.resize((512, 512), Image.LANCZOS), 75)
            assert not verify_asset(stripped, "image/jpeg").manifest_present
            t = time.perf_counter()
            detection = detect_file(stripped, detector)
            rec = recover_credentials(stripped, "image/jpeg", detection, store, trust_anchors=[creds.root_pem])
            recover_s = time.perf_counter() - t
            marked_rows.append(
                {
                    "image": f"{name}/{area}/{fx}/{fy}",
                    "psnr_db": marked.psnr,
                    "recovered": rec is not None,
                    "correct": rec is not None and rec.manifest.manifest_id == bound.record.manifest_id,
                    "p_value": detection.p_value,
                    "mark_sign_store_s": sign_s,
                    "detect_recover_s": recover_s,
                }
            )
    wrong = 0
    unmarked_total = 0
    for name in tqdm(SOURCES, desc="unmarked"):
        im = source(name)
        for _ in range(args.unmarked):
            area = float(rng.uniform(0.3, 1.0))
            size = int(rng.choice([384, 512, 768, 1024]))
            data = jpeg(crop(im, area, float(rng.random()), float(rng.random()), size), int(rng.integers(60, 96)))
            detection = detect_file(data, detector)
            wrong += recover_credentials(data, "image/jpeg", detection, store) is not None
            unmarked_total += 1
    n = len(marked_rows)
    results = {
        "attack": "metadata stripped, resized 1024 -> 512 (LANCZOS), JPEG quality 75",
        "marked_images": n,
        "recovered": sum(r["recovered"] for r in marked_rows),
        "recovered_correct": sum(r["correct"] for r in marked_rows),
        "recovery_rate": sum(r["correct"] for r in marked_rows) / n,
        "unmarked_images": unmarked_total,
        "wrong_recoveries_on_unmarked": wrong,
        "median_mark_sign_store_s": float(np.median([r["mark_sign_store_s"] for r in marked_rows])),
        "median_detect_recover_s": float(np.median([r["detect_recover_s"] for r in marked_rows])),
        "failures": [r["image"] for r in marked_rows if not r["correct"]],
    }
    print(json.dumps(results, indent=2))
    args.out.mkdir(parents=True, exist_ok=True)
    (args.out / "recovery.json").write_text(json.dumps({**results, "rows": marked_rows}, indent=2))
    lines = ["# Credential recovery through the watermark", "", "```json", json.dumps(results, indent=2), "```", ""]
    (args.out / "recovery.md").write_text("\n".join(lines))


if __name__ == "__main__":
    main()
