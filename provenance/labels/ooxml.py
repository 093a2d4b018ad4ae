"""Labels in Office Open XML documents (DOCX, XLSX, PPTX): a custom document property named
``AIGC`` in ``docProps/custom.xml``, as the TC260 practice guide places it. Writing rebuilds the
package with every other part unchanged, adding the custom-properties part, its content type and
its relationship when the document has none."""

from __future__ import annotations

import io
import xml.etree.ElementTree as ET
import zipfile
import zlib

from watermark.errors import InvalidInput

__all__ = ["read_ooxml_aigc", "write_ooxml_aigc"]

_CUSTOM = "docProps/custom.xml"
_CP = "http://schemas.openxmlformats.org/officeDocument/2006/custom-properties"
_VT = "http://schemas.openxmlformats.org/officeDocument/2006/docPropsVTypes"
_CT = "http://schemas.openxmlformats.org/package/2006/content-types"
_REL = "http://schemas.openxmlformats.org/package/2006/relationships"
_REL_TYPE = "http://schemas.openxmlformats.org/officeDocument/2006/relationships/custom-properties"
_CUSTOM_TYPE = "application/vnd.openxmlformats-officedocument.custom-properties+xml"
_FMTID = "{D5CDD505-2E9C-101B-9397-08002B2CF9AE}"  # the format id Office gives user-defined properties
_MAX_PART = 1024 * 1024
_MAX_TOTAL = 512 * 1024 * 1024  # a package that inflates beyond this is not rewritten (a zip bomb)
_MAX_ENTRIES = 10_000

# What a damaged or hostile package raises while it is read (corrupt deflate data, an unsupported
# or encrypted entry, a truncated file, malformed XML).
_BROKEN = (
    zipfile.BadZipFile,
    zlib.error,
    ET.ParseError,
    ValueError,
    OSError,
    EOFError,
    NotImplementedError,
    RuntimeError,
)
ET.register_namespace("vt", _VT)
ET.register_namespace("assaycp", _CP)  # made the default namespace when written (see _default_ns)


def _part(z: zipfile.ZipFile, name: str) -> bytes | None:
    try:
        info = z.getinfo(name)
    except KeyError:
        return None
    if info.file_size > _MAX_PART:
        return None
    return z.read(info)


def read_ooxml_aigc(data: bytes) -> list[tuple[str, str]]:
    """Every custom property whose name contains ``aigc``: ``(name, value)``."""
    try:
        with zipfile.ZipFile(io.BytesIO(data)) as z:
            raw = _part(z, _CUSTOM)
        root = ET.fromstring(raw) if raw else None
    except _BROKEN:
        return []
    found = []
    for prop in root.iter(f"{{{_CP}}}property") if root is not None else ():
        name = prop.get("name", "")
        if "aigc" in name.lower():
            found.append((name, "".join(child.text or "" for child in prop)))
    return found


def _default_ns(xml: bytes, prefix: str) -> bytes:
    """Serialised XML with ``prefix`` made the default namespace (Office writes these parts so).
    Safe as a text edit: ``<`` never appears unescaped in text or attribute values."""
    return (
        xml.replace(f"<{prefix}:".encode(), b"<")
        .replace(f"</{prefix}:".encode(), b"</")
        .replace(f"xmlns:{prefix}=".encode(), b"xmlns=")
    )


def _custom_xml(old: bytes | None, value: str) -> bytes:
    root = ET.fromstring(old) if old else ET.Element(f"{{{_CP}}}Properties")
    for prop in list(root.iter(f"{{{_CP}}}property")):
        if "aigc" in prop.get("name", "").lower():
            root.remove(prop)
    pids = [int(p.get("pid", "1")) for p in root.iter(f"{{{_CP}}}property") if p.get("pid", "").isdigit()]
    prop = ET.SubElement(root, f"{{{_CP}}}property", {"fmtid": _FMTID, "pid": str(max(pids, default=1) + 1)})
    prop.set("name", "AIGC")
    ET.SubElement(prop, f"{{{_VT}}}lpwstr").text = value
    return _default_ns(ET.tostring(root, encoding="UTF-8", xml_declaration=True), "assaycp")


def _insert(raw: bytes, element: bytes) -> bytes:
    """``element`` inserted before the root's closing tag (the rest of the part byte for byte)."""
    end = raw.rstrip().rfind(b"</")
    if end < 0:
        raise ValueError("a package part without a closing root tag")
    return raw[:end] + element + raw[end:]


def _content_types(raw: bytes) -> bytes:
    root = ET.fromstring(raw)
    if any(o.get("PartName") == "/" + _CUSTOM for o in root.iter(f"{{{_CT}}}Override")):
        return raw
    return _insert(raw, f'<Override PartName="/{_CUSTOM}" ContentType="{_CUSTOM_TYPE}"/>'.encode())


def _relationships(raw: bytes | None) -> bytes:
    raw = raw or f'<?xml version="1.0" encoding="UTF-8"?><Relationships xmlns="{_REL}"></Relationships>'.encode()
    rels = list(ET.fromstring(raw).iter(f"{{{_REL}}}Relationship"))
    if any(r.get("Type") == _REL_TYPE for r in rels):
        return raw
    ids = {r.get("Id") for r in rels}
    rid = next(f"rId{i}" for i in range(1, len(ids) + 2) if f"rId{i}" not in ids)
    return _insert(raw, f'<Relationship Id="{rid}" Type="{_REL_TYPE}" Target="{_CUSTOM}"/>'.encode())


def write_ooxml_aigc(data: bytes, value: str) -> bytes:
    """``data`` (a DOCX, XLSX or PPTX) with its custom property ``AIGC`` set to ``value``.

    Raises:
        InvalidInput: not an OOXML package, a malformed part, or one that inflates too far.
    """
    out = io.BytesIO()
    try:
        with zipfile.ZipFile(io.BytesIO(data)) as src:
            infos = src.infolist()
            if len(infos) > _MAX_ENTRIES or sum(i.file_size for i in infos) > _MAX_TOTAL:
                raise InvalidInput("this package is too large to rewrite")
            names = {i.filename for i in infos}
            if "[Content_Types].xml" not in names:
                raise InvalidInput("not an Office Open XML package (no [Content_Types].xml)")
            replaced = {
                _CUSTOM: _custom_xml(_part(src, _CUSTOM), value),
                "[Content_Types].xml": _content_types(src.read("[Content_Types].xml")),
                "_rels/.rels": _relationships(_part(src, "_rels/.rels")),
            }
            with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as dst:
                for info in infos:
                    body = replaced.pop(info.filename, None)
                    dst.writestr(info, body if body is not None else src.read(info))
                for name, body in replaced.items():  # parts the package did not have
                    dst.writestr(name, body)
    except (*_BROKEN, KeyError) as exc:
        raise InvalidInput(f"cannot rewrite this Office document: {str(exc)[:200]}") from None
    return out.getvalue()
