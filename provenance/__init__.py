"""C2PA provenance: signing credentials, AI-origin manifests, signing and verification.

Only :mod:`provenance.c2pa_io` imports ``c2pa``. :mod:`provenance.store` keeps signed manifests
and their soft-binding index (SQLite or PostgreSQL). Recovery through the image watermark waits
for the image watermark.
"""
