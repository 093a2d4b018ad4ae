"""A signing callback for the tests: the key lives here, outside Assay, as it would in a KMS."""

from __future__ import annotations

import os
from pathlib import Path

from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec

CALLS: list[int] = []


def sign(payload: bytes) -> bytes:
    """ES256 over ``payload`` with the key named by ``ASSAY_TEST_CALLBACK_KEY``."""
    key = serialization.load_pem_private_key(Path(os.environ["ASSAY_TEST_CALLBACK_KEY"]).read_bytes(), password=None)
    assert isinstance(key, ec.EllipticCurvePrivateKey)
    CALLS.append(len(payload))
    return key.sign(payload, ec.ECDSA(hashes.SHA256()))
