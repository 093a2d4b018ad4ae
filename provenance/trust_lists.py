"""The C2PA's published lists, as shipped with Assay or installed later by an operator: the C2PA
Trust List (who may sign as a conforming generator), the TSA Trust List (whose time stamps count)
and the Soft Binding Algorithm List (which watermarks and fingerprints are registered).

The trust lists are ETSI TS 119 602 "LoTE" JSON documents naming each trusted entity with its
certificates. The shipped copies live in ``provenance/data/c2pa-lists`` (CC BY 4.0, see its
README); ``install_trust_list`` puts a newer one in the data directory, where it takes
precedence, without a new release.
"""

from __future__ import annotations

import base64
import json
import os
import tempfile
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives.serialization import Encoding
from cryptography.x509.oid import NameOID

from watermark.errors import ConfigurationError, InvalidInput

__all__ = [
    "SHIPPED_DIR",
    "TrustList",
    "TrustedEntity",
    "install_trust_list",
    "load_soft_binding_algorithms",
    "load_trust_list",
    "trust_list_path",
]

SHIPPED_DIR = Path(__file__).with_name("data") / "c2pa-lists"
_FILES = {"signers": "C2PA-TRUST-LIST.json", "tsa": "C2PA-TSA-TRUST-LIST.json"}
_MAX_LIST = 8 * 1024 * 1024


@dataclass(frozen=True)
class TrustedEntity:
    """One entity on a trust list: its name and the certificates it is trusted through."""

    name: str
    organizations: frozenset[str]  # the subject O of its certificates (how a signer's issuer is named)
    certificates_pem: tuple[str, ...]


@dataclass(frozen=True)
class TrustList:
    """A trust list as loaded: its name, version, dates, where it came from, and its entities."""

    name: str
    operator: str
    sequence: int
    issued: str
    next_update: str | None
    source: str  # "shipped" or the installed file's path
    entities: tuple[TrustedEntity, ...]

    @property
    def version(self) -> str:
        """How reports name this list: ``C2PA Trust List #1 of 2026-08-05``."""
        return f"{self.name} #{self.sequence} of {self.issued[:10]}"

    def anchors(self) -> list[str]:
        """Every certificate on the list, one PEM string each."""
        return list(dict.fromkeys(p for e in self.entities for p in e.certificates_pem))

    def entity_for_issuer(self, issuer_organization: str | None) -> TrustedEntity | None:
        """The entity whose certificates carry the signer's issuer organisation, if exactly one does."""
        if not issuer_organization:
            return None
        hits = [e for e in self.entities if issuer_organization in e.organizations]
        return hits[0] if len(hits) == 1 else None


def _text(values: object) -> str:
    if isinstance(values, list) and values and isinstance(values[0], dict):
        return str(values[0].get("value") or values[0].get("uriValue") or "")
    return ""


def _parse(raw: bytes, source: str) -> TrustList:
    try:
        lote = json.loads(raw)["LoTE"]
        info = lote["ListAndSchemeInformation"]
        entities = []
        for item in lote["TrustedEntitiesList"]:
            name = _text(item["TrustedEntityInformation"]["TEName"])
            pems: list[str] = []
            orgs: set[str] = set()
            for service in item.get("TrustedEntityServices", []):
                identity = service["ServiceInformation"].get("ServiceDigitalIdentity", {})
                for cert in identity.get("X509Certificates", []):
                    parsed = x509.load_der_x509_certificate(base64.b64decode(cert["val"]))
                    pems.append(parsed.public_bytes(Encoding.PEM).decode())
                    orgs.update(str(a.value) for a in parsed.subject.get_attributes_for_oid(NameOID.ORGANIZATION_NAME))
            entities.append(TrustedEntity(name, frozenset(orgs), tuple(pems)))
        return TrustList(
            name=_text(info["SchemeName"]),
            operator=_text(info.get("SchemeOperatorName")),
            sequence=int(info.get("LoTESequenceNumber", 0)),
            issued=str(info["ListIssueDateTime"]),
            next_update=info.get("NextUpdate"),
            source=source,
            entities=tuple(entities),
        )
    except (KeyError, TypeError, ValueError, IndexError) as exc:
        raise InvalidInput(f"not a C2PA trust list (ETSI TS 119 602 LoTE JSON): {str(exc)[:100]}") from None


def trust_list_path(kind: str, data_dir: Path | None) -> Path:
    """The list in force: the one installed under ``data_dir/trust`` if any, else the shipped one."""
    if kind not in _FILES:
        raise ValueError(f"kind must be one of {', '.join(_FILES)}")
    if data_dir is not None:
        installed = data_dir / "trust" / _FILES[kind]
        if installed.is_file():
            return installed
    return SHIPPED_DIR / _FILES[kind]


def load_trust_list(kind: str = "signers", *, data_dir: Path | None = None) -> TrustList:
    """The C2PA Trust List (``signers``) or TSA Trust List (``tsa``) in force.

    Raises:
        ConfigurationError: the list cannot be read or parsed.
    """
    path = trust_list_path(kind, data_dir)
    try:
        raw = path.read_bytes()
    except OSError as exc:
        raise ConfigurationError(f"cannot read the trust list {path}: {exc.strerror}") from None
    try:
        return _parse(raw, "shipped" if path.parent == SHIPPED_DIR else str(path))
    except InvalidInput as exc:
        raise ConfigurationError(f"{path}: {exc}") from None


def install_trust_list(raw: bytes, data_dir: Path, *, kind: str | None = None) -> TrustList:
    """Check a downloaded trust list and install it in ``data_dir/trust`` (atomically).

    Args:
        kind: ``signers`` or ``tsa``; None: the list's own scheme name decides.

    Raises:
        InvalidInput: not a LoTE trust list, too large, older than the one in force, or of
            an unknown kind.
    """
    if len(raw) > _MAX_LIST:
        raise InvalidInput(f"a trust list is at most {_MAX_LIST // (1024 * 1024)} MiB")
    new = _parse(raw, "")
    if kind is None:
        kind = "tsa" if "TSA" in new.name.upper() else "signers"
    if kind not in _FILES:
        raise InvalidInput(f"kind must be one of {', '.join(_FILES)}")
    current = load_trust_list(kind, data_dir=data_dir)
    if (new.issued, new.sequence) < (current.issued, current.sequence):
        raise InvalidInput(f"this list ({new.version}) is older than the one in force ({current.version})")
    target = data_dir / "trust" / _FILES[kind]
    target.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=target.parent, prefix=".incoming-")
    try:
        with os.fdopen(fd, "wb") as fh:
            fh.write(raw)
        os.replace(tmp, target)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    return load_trust_list(kind, data_dir=data_dir)


def load_soft_binding_algorithms(path: Path | None = None) -> dict[str, str]:
    """The registered soft-binding algorithms: name -> ``watermark`` or ``fingerprint``.

    Raises:
        ConfigurationError: the list cannot be read.
    """
    path = path or SHIPPED_DIR / "softbinding-algorithm-list.json"
    try:
        entries: Sequence[dict[str, object]] = json.loads(path.read_bytes())
        return {str(e["alg"]): str(e.get("type", "")) for e in entries}
    except (OSError, ValueError, KeyError, TypeError) as exc:
        raise ConfigurationError(f"cannot read the soft-binding algorithm list {path}: {exc}") from None
