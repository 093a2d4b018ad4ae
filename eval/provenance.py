"""Provenance benchmark: sign and verify time per 1 MP image, Assay vs bare c2pa-python calls.

Same files, same manifest, same signer, same run; thumbnail on and off. Writes
``eval/results/provenance.{json,md}``.
"""

from __future__ import annotations

import argparse
import io
import json
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import c2pa
import numpy as np
from PIL import Image

from provenance.c2pa_io import sign_asset, verify_asset
from provenance.credentials import ensure_dev_credentials
from provenance.manifest import ai_manifest

REPO = Path(__file__).resolve().parents[1]


def _image(fmt: str) -> bytes:
    # A smooth natural-ish 1 MP image (gradients + noise), so JPEG/PNG sizes are realistic.
    y, x = np.mgrid[0:1000, 0:1000] / 1000.0
    rng = np.random.default_rng(0)
    rgb = np.stack([x, y, (x + y) / 2], axis=-1) * 200 + rng.normal(0, 12, (1000, 1000, 3))
    out = io.BytesIO()
    Image.fromarray(np.clip(rgb, 0, 255).astype("uint8")).save(out, fmt, **({"quality": 90} if fmt == "JPEG" else {}))
    return out.getvalue()


def _median_ms(fn: Callable[[], Any], repeats: int) -> float:
    fn()
    times = []
    for _ in range(repeats):
        t0 = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t0)
    return 1000 * statistics.median(times)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--repeats", type=int, default=15)
    ap.add_argument("--out", type=Path, default=REPO / "eval" / "results")
    args = ap.parse_args()
    results: dict[str, Any] = {"repeats": args.repeats, "image": "1000x1000 RGB"}
    with tempfile.TemporaryDirectory() as tmp:
        creds = ensure_dev_credentials(tmp)
        manifest = ai_manifest(title="bench", model="bench-generator")
        for mime, fmt in (("image/jpeg", "JPEG"), ("image/png", "PNG")):
            data = _image(fmt)
            for thumb in (False, True):
                ctx_settings = {"builder": {"thumbnail": {"enabled": thumb}}, "verify": {"verify_trust": True}}

                def bare_sign(
                    data: bytes = data, ctx_settings: dict[str, Any] = ctx_settings, mime: str = mime
                ) -> bytes:
                    info = c2pa.C2paSignerInfo(b"es256", creds.chain_pem.encode(), creds.private_key.reveal(), None)
                    signer = c2pa.Signer.from_info(info)
                    out = io.BytesIO()
                    with c2pa.Builder(json.dumps(manifest), c2pa.Context.from_dict(ctx_settings)) as b:
                        b.sign(signer, mime, io.BytesIO(data), out)
                    signer.close()
                    return out.getvalue()

                def assay_sign(data: bytes = data, thumb: bool = thumb, mime: str = mime) -> bytes:
                    return sign_asset(data, mime, manifest, creds, thumbnail=thumb).data

                signed = assay_sign()

                def bare_verify(signed: bytes = signed, mime: str = mime) -> str | None:
                    settings = {"verify": {"verify_trust": True}}
                    with c2pa.Reader(mime, io.BytesIO(signed), context=c2pa.Context.from_dict(settings)) as r:
                        json.loads(r.json())
                        return r.get_validation_state()

                def assay_verify(signed: bytes = signed, mime: str = mime) -> str | None:
                    return verify_asset(signed, mime).validation_state

                row = {
                    "input_bytes": len(data),
                    "signed_bytes": len(signed),
                    "bare sign ms": _median_ms(bare_sign, args.repeats),
                    "assay sign ms": _median_ms(assay_sign, args.repeats),
                    "bare verify ms": _median_ms(bare_verify, args.repeats),
                    "assay verify ms": _median_ms(assay_verify, args.repeats),
                }
                row["sign overhead"] = row["assay sign ms"] / row["bare sign ms"] - 1
                row["verify overhead"] = row["assay verify ms"] / row["bare verify ms"] - 1
                results[f"{fmt} thumbnail={'on' if thumb else 'off'}"] = row
                print(fmt, thumb, row, flush=True)
    args.out.mkdir(parents=True, exist_ok=True)
    (args.out / "provenance.json").write_text(json.dumps(results, indent=2))
    lines = [
        "# Provenance benchmark",
        "",
        "| case | bare sign | Assay sign | bare verify | Assay verify |",
        "|---|---|---|---|---|",
    ]
    for k, v in results.items():
        if isinstance(v, dict):
            lines.append(
                f"| {k} | {v['bare sign ms']:.1f} ms | {v['assay sign ms']:.1f} ms ({v['sign overhead']:+.0%}) | "
                f"{v['bare verify ms']:.1f} ms | {v['assay verify ms']:.1f} ms ({v['verify overhead']:+.0%}) |"
            )
    (args.out / "provenance.md").write_text("\n".join(lines) + "\n")
    print("\n".join(lines))


if __name__ == "__main__":
    main()
