"""Trust anchors for verification: PEM files (the public C2PA and TSA trust lists drop in as is)."""

from __future__ import annotations

import os
from collections.abc import Sequence
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives.serialization import Encoding

from watermark.errors import ConfigurationError

from .credentials import SigningCredentials

__all__ = ["load_trust_anchors"]


def load_trust_anchors(
    paths: Sequence[str | os.PathLike[str]], *, development: SigningCredentials | None = None
) -> list[str]:
    """Every certificate in ``paths`` as one PEM string each, plus the development root if given.

    Args:
        paths: PEM files, each holding one or many certificates.
        development: development credentials whose root the user opted in to trust.

    Raises:
        ConfigurationError: a file is missing, unreadable or holds no valid certificate.
    """
    anchors: list[str] = []
    for path in paths:
        try:
            data = Path(path).read_bytes()
        except OSError as exc:
            raise ConfigurationError(f"cannot read trust anchors {path}: {exc.strerror}") from None
        try:
            certs = x509.load_pem_x509_certificates(data)
        except ValueError:
            raise ConfigurationError(f"{path} holds no valid PEM certificate") from None
        anchors.extend(c.public_bytes(Encoding.PEM).decode() for c in certs)
    if development is not None:
        if development.root_pem is None:
            raise ConfigurationError("these development credentials carry no root certificate")
        anchors.append(development.root_pem)
    return list(dict.fromkeys(anchors))
