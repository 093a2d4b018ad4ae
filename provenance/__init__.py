"""C2PA provenance: signing credentials, AI-origin manifests, signing and verification.

Only :mod:`provenance.c2pa_io` imports ``c2pa``. The manifest store, soft-binding index and
recovery through the watermark are not built yet.
"""
