"""A short run of the image watermark benchmark (``eval/image_watermark.py``; the long run is in eval/)."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[3]


def test_image_benchmark_runs_end_to_end(tmp_path: Path) -> None:
    cmd = [sys.executable, str(REPO / "eval" / "image_watermark.py"), "--images", "1", "--sizes", "512"]
    cmd += ["--methods", "assay", "--skip", "baseline", "riva", "speed", "null", "--out", str(tmp_path)]
    out = subprocess.run(cmd, capture_output=True, text=True, timeout=600, cwd=REPO)
    assert out.returncode == 0, out.stderr[-3000:]
    res = json.loads((tmp_path / "image_watermark.json").read_text())
    assert set(res["robustness"]) == {"photo", "flat"}
    for set_name, image in (("photo", "astronaut@512"), ("flat", "gradient-blobs@1024x1024")):
        assay = res["robustness"][set_name]["assay"]
        assert list(assay["per_image"]) == [image]
        assert assay["psnr_db_min"] >= 42.0 and assay["ssim_min"] >= 0.98 and assay["flat_crop_ssim_min"] > 0.9
        assert {"webp70", "jpeg60-down0.6", "aspect0.8", "aspect1.25", "shear5"} <= set(assay["attacks"])
        for attack in ("none", "webp70", "aspect0.8", "shear5"):
            assert assay["attacks"][attack]["tpr_at_1e_6"] == 1.0, (set_name, attack)
    md = (tmp_path / "image_watermark.md").read_text()
    assert "## flat: quality" in md and "flattest-crop SSIM" in md and "gradient-blobs" in md
    assert (tmp_path / "image_watermark_flat.png").stat().st_size > 10_000
