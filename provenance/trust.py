"""Trust anchors for verification: PEM files (the public C2PA and TSA trust lists drop in as is)."""

from __future__ import annotations

import os
from collections.abc import Iterable, Sequence
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives.serialization import Encoding

from watermark.errors import ConfigurationError

from .credentials import SigningCredentials

__all__ = ["TrustAnchors", "load_trust_anchors"]


class TrustAnchors(tuple[str, ...]):
    """The certificates (PEM) a signer may chain to, carrying beside them the time-stamp
    authorities whose time stamps count as trusted (``tsa``). It is a tuple of the signer
    anchors, so every function taking ``Sequence[str]`` anchors takes it; the C2PA reader
    (:mod:`provenance.c2pa_io`) reads ``tsa`` too."""

    tsa: tuple[str, ...]

    def __new__(cls, anchors: Iterable[str] = (), *, tsa: Iterable[str] = ()) -> TrustAnchors:
        """Signer anchors and TSA anchors, each deduplicated in order."""
        obj = super().__new__(cls, dict.fromkeys(anchors))
        obj.tsa = tuple(dict.fromkeys(tsa))
        return obj


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
