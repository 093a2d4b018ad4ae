"""Watermark images (not yet implemented: see the image watermarking issue)."""
