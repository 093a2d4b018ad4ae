"""Signing credentials: a development CA created on first run, or a chain and key from files.

The development CA (root -> intermediate -> ES256 end-entity with ``digitalSignature`` and the
emailProtection and documentSigning extended key uses) lives in
``<directory>/dev-ca``. It is written once, into a temporary directory renamed into place, with the
private key file at mode 0600. It is not publicly trusted, and every verification says so.
"""

from __future__ import annotations

import datetime as dt
import os
import shutil
import tempfile
from dataclasses import dataclass, field
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID, ObjectIdentifier

from watermark.errors import ConfigurationError
from watermark.keys import Secret

__all__ = [
    "DEV_CA_NAME",
    "DEV_SIGNER_NAME",
    "SIGNING_ALGS",
    "SigningCredentials",
    "credentials_from_files",
    "ensure_dev_credentials",
]

DEV_CA_NAME = "Assay Development CA (not publicly trusted)"
DEV_SIGNER_NAME = "Assay Development Signer"
# c2pa-python 0.38.1 (c2pa-rs 0.91) rejected, with "certificate missing required EKU", a leaf whose
# EKU was documentSigning or c2pa-kp-claimSigning alone; emailProtection is accepted.
_DOCUMENT_SIGNING = ObjectIdentifier("1.3.6.1.5.5.7.3.36")
SIGNING_ALGS = ("es256", "es384", "es512", "ps256", "ps384", "ps512", "ed25519")


@dataclass(frozen=True)
class SigningCredentials:
    """A certificate chain (end-entity first, no root) and its private key (None when a callback
    signs: the key stays in a KMS or HSM)."""

    alg: str
    chain_pem: str
    private_key: Secret | None = field(repr=False)
    root_pem: str | None = None
    development: bool = False


def _name(common_name: str) -> x509.Name:
    return x509.Name(
        [x509.NameAttribute(NameOID.ORGANIZATION_NAME, "Assay"), x509.NameAttribute(NameOID.COMMON_NAME, common_name)]
    )


def _cert(
    subject: str,
    key: ec.EllipticCurvePrivateKey,
    issuer: str,
    issuer_key: ec.EllipticCurvePrivateKey,
    *,
    ca: bool,
    days: int,
) -> x509.Certificate:
    now = dt.datetime.now(dt.UTC) - dt.timedelta(minutes=5)
    builder = (
        x509.CertificateBuilder()
        .subject_name(_name(subject))
        .issuer_name(_name(issuer))
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now)
        .not_valid_after(now + dt.timedelta(days=days))
        .add_extension(x509.BasicConstraints(ca=ca, path_length=None), critical=True)
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(key.public_key()), critical=False)
        .add_extension(x509.AuthorityKeyIdentifier.from_issuer_public_key(issuer_key.public_key()), critical=False)
    )
    if ca:
        builder = builder.add_extension(
            x509.KeyUsage(False, False, False, False, False, True, True, False, False), critical=True
        )
    else:
        builder = builder.add_extension(
            x509.KeyUsage(True, False, False, False, False, False, False, False, False), critical=True
        ).add_extension(
            x509.ExtendedKeyUsage([ExtendedKeyUsageOID.EMAIL_PROTECTION, _DOCUMENT_SIGNING]), critical=False
        )
    return builder.sign(issuer_key, hashes.SHA256())


def _pem(cert: x509.Certificate) -> str:
    return cert.public_bytes(serialization.Encoding.PEM).decode()


def ensure_dev_credentials(directory: str | os.PathLike[str]) -> SigningCredentials:
    """The development signer under ``directory/dev-ca``, created on first call."""
    target = Path(directory) / "dev-ca"
    if not (target / "signer.key").is_file():
        Path(directory).mkdir(parents=True, exist_ok=True)
        tmp = Path(tempfile.mkdtemp(prefix=".dev-ca-", dir=directory))
        try:
            root_key = ec.generate_private_key(ec.SECP256R1())
            int_key = ec.generate_private_key(ec.SECP256R1())
            leaf_key = ec.generate_private_key(ec.SECP256R1())
            root = _cert(DEV_CA_NAME, root_key, DEV_CA_NAME, root_key, ca=True, days=3650)
            inter = _cert("Assay Development Intermediate", int_key, DEV_CA_NAME, root_key, ca=True, days=1825)
            leaf = _cert(DEV_SIGNER_NAME, leaf_key, "Assay Development Intermediate", int_key, ca=False, days=730)
            (tmp / "root.pem").write_text(_pem(root))
            (tmp / "chain.pem").write_text(_pem(leaf) + _pem(inter))
            fd = os.open(tmp / "signer.key", os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
            with os.fdopen(fd, "wb") as fh:
                fh.write(
                    leaf_key.private_bytes(
                        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
                    )
                )
            try:
                os.rename(tmp, target)
            except OSError:
                if not (target / "signer.key").is_file():  # not merely lost a race
                    raise
        finally:
            shutil.rmtree(tmp, ignore_errors=True)
    creds = credentials_from_files(target / "chain.pem", target / "signer.key", alg="es256")
    return SigningCredentials(
        alg=creds.alg,
        chain_pem=creds.chain_pem,
        private_key=creds.private_key,
        root_pem=(target / "root.pem").read_text(),
        development=True,
    )


def credentials_from_files(
    chain: str | os.PathLike[str], key: str | os.PathLike[str], *, alg: str
) -> SigningCredentials:
    """Credentials from a PEM chain (end-entity first) and a PEM private key.

    Raises:
        ConfigurationError: unreadable files, an unknown algorithm, or a key that does not match.
    """
    alg = alg.lower()
    if alg not in SIGNING_ALGS:
        raise ConfigurationError(f"signing algorithm {alg!r} is not one of {', '.join(SIGNING_ALGS)}")
    try:
        chain_pem = Path(chain).read_text()
        key_pem = Path(key).read_bytes()
        certs = x509.load_pem_x509_certificates(chain_pem.encode())
        private = serialization.load_pem_private_key(key_pem, password=None)
    except (OSError, ValueError) as exc:
        raise ConfigurationError(f"cannot load signing credentials: {exc.__class__.__name__}") from None
    leaf_pub = (
        certs[0].public_key().public_bytes(serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo)
    )
    key_pub = private.public_key().public_bytes(
        serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo
    )
    if leaf_pub != key_pub:
        raise ConfigurationError("the private key does not belong to the first certificate of the chain")
    return SigningCredentials(alg=alg, chain_pem=chain_pem, private_key=Secret(key_pem))
