"""Keyed watermarks for text and images: embedding, detection and exact statistics.

A pure library: it takes keys and parameters, reads no settings, and opens no file it was not
handed.
"""

from watermark.errors import AssayError
from watermark.keys import KeyRing, Secret, WatermarkKey, keyring_from_toml, load_keyring

__all__ = ["AssayError", "KeyRing", "Secret", "WatermarkKey", "keyring_from_toml", "load_keyring"]
