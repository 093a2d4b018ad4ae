"""Invisible image watermarks with a payload, their detection, and public marks.

Public API:

- :class:`ImageWatermarker` / :class:`ImageWatermarkDetector`: mark and detect pixel arrays
  with key ring keys; :func:`watermark_file` / :func:`detect_file` do the same for files.
- :class:`WatermarkingGenerator`: wrap an image generator so every output is marked.
- :func:`detect_public_marks`: the Stable Diffusion / SDXL ``invisible-watermark`` marks.
"""

from .codec import Raster, read_image, write_image
from .detect import DEFAULT_FPR, DEFAULT_PSNR, ImageDetection, ImageWatermarkDetector, ImageWatermarker
from .files import MarkedImage, detect_file, watermark_file
from .generate import WatermarkingGenerator
from .payload import Payload, new_record_id
from .public_marks import PublicMarkDetection, detect_public_marks

__all__ = [
    "DEFAULT_FPR",
    "DEFAULT_PSNR",
    "ImageDetection",
    "ImageWatermarkDetector",
    "ImageWatermarker",
    "MarkedImage",
    "Payload",
    "PublicMarkDetection",
    "Raster",
    "WatermarkingGenerator",
    "detect_file",
    "detect_public_marks",
    "new_record_id",
    "read_image",
    "watermark_file",
    "write_image",
]
