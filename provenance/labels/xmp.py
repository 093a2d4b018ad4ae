"""XMP packets: the carrier of image labels (the AIGC implicit label under the TC260 namespace,
and IPTC's ``DigitalSourceType``), read from and written into JPEG, PNG, WebP, GIF and TIFF.

Packets are found wherever a file keeps them (JPEG APP1, PNG ``iTXt``, WebP ``XMP `` chunk,
GIF application extension, TIFF tag 700, the MP4 XMP box) by their ``x:xmpmeta`` frame, plus
compressed PNG ``iTXt`` chunks. Writing keeps the file's other XMP properties: the labels'
properties are replaced in the existing packet, or a packet is added. Pixels are never decoded
or re-encoded, except for TIFF (rewritten losslessly by Pillow).
"""

from __future__ import annotations

import io
import struct
import xml.etree.ElementTree as ET
import zlib
from dataclasses import dataclass

from watermark.errors import InvalidInput, UnsupportedMedia

__all__ = [
    "IPTC_NS",
    "TC260_NS",
    "XmpLabels",
    "find_packets",
    "read_xmp_labels",
    "set_xmp_labels",
    "write_xmp",
    "xmp_packet",
]

TC260_NS = "http://www.tc260.org.cn/ns/AIGC/1.0/"
IPTC_NS = "http://iptc.org/std/Iptc4xmpExt/2008-02-29/"
_RDF = "http://www.w3.org/1999/02/22-rdf-syntax-ns#"
_X = "adobe:ns:meta/"
_PREFIXES = {
    "x": _X,
    "rdf": _RDF,
    "TC260": TC260_NS,
    "Iptc4xmpExt": IPTC_NS,
    "dc": "http://purl.org/dc/elements/1.1/",
    "xmp": "http://ns.adobe.com/xap/1.0/",
    "xmpMM": "http://ns.adobe.com/xap/1.0/mm/",
    "photoshop": "http://ns.adobe.com/photoshop/1.0/",
    "tiff": "http://ns.adobe.com/tiff/1.0/",
    "exif": "http://ns.adobe.com/exif/1.0/",
    "dcterms": "http://purl.org/dc/terms/",
}
for _prefix, _uri in _PREFIXES.items():
    ET.register_namespace(_prefix, _uri)

_MAX_PACKET = 1024 * 1024  # larger packets are not parsed (a label is a few hundred bytes)
_MAX_PACKETS = 16
_JPEG_XMP = b"http://ns.adobe.com/xap/1.0/\x00"
_PNG_XMP = b"XML:com.adobe.xmp"
_GIF_XMP = b"XMP DataXMP"
_OPEN, _CLOSE = b"<x:xmpmeta", b"</x:xmpmeta>"


@dataclass(frozen=True)
class XmpLabels:
    """The label properties of one file's XMP: every AIGC value and every IPTC digital source
    type found (a file with two of either carries conflicting labels)."""

    aigc: tuple[tuple[str, str], ...] = ()  # (property name as found, value)
    source_types: tuple[str, ...] = ()
    unreadable: int = 0  # packets that are not well-formed XML


def _local(tag: str) -> tuple[str, str]:
    if tag.startswith("{"):
        ns, _, name = tag[1:].partition("}")
        return ns, name
    return "", tag


def _prefixed(ns: str, name: str) -> str:
    prefix = next((p for p, u in _PREFIXES.items() if u == ns), None)
    return f"{prefix}:{name}" if prefix else name


def _value(el: ET.Element) -> str:
    """A property's value: its text, its ``rdf:resource``, or the first item of an rdf container."""
    resource = el.get(f"{{{_RDF}}}resource")
    if resource is not None:
        return resource
    for li in el.iter(f"{{{_RDF}}}li"):
        return (li.text or "").strip()
    return (el.text or "").strip()


def _frames(data: bytes) -> list[bytes]:
    """The ``x:xmpmeta`` elements in ``data`` (at most ``_MAX_PACKETS`` of at most ``_MAX_PACKET``
    bytes): each closing tag is paired with the last opening tag before it, so a hostile file
    costs one pass over its bytes."""
    found: list[bytes] = []
    pos = 0
    for _ in range(64 * _MAX_PACKETS):  # closing tags looked at: a file of stray tags ends the search
        if len(found) >= _MAX_PACKETS:
            break
        end = data.find(_CLOSE, pos)
        if end < 0:
            break
        start = data.rfind(_OPEN, pos, end)
        if start >= 0 and end - start <= _MAX_PACKET:
            found.append(data[start : end + len(_CLOSE)])
        pos = end + len(_CLOSE)
    return found


def find_packets(data: bytes) -> list[bytes]:
    """Every XMP packet in a file (as ``x:xmpmeta`` elements), compressed PNG ones included."""
    packets = _frames(data)
    if data[:8] == b"\x89PNG\r\n\x1a\n":
        for kind, body in _png_chunks(data):
            if kind == b"iTXt" and body.startswith(_PNG_XMP + b"\x00\x01"):
                text = _png_itxt_text(body)
                if text is not None:
                    packets.extend(_frames(text))
    return packets[:_MAX_PACKETS]


def read_xmp_labels(data: bytes) -> XmpLabels:
    """The AIGC and IPTC source-type properties of every XMP packet in ``data`` (never raises)."""
    aigc: list[tuple[str, str]] = []
    sources: list[str] = []
    unreadable = 0
    for packet in find_packets(data):
        try:
            root = ET.fromstring(packet)
        except ET.ParseError:
            unreadable += 1
            continue
        for el in root.iter():
            ns, name = _local(el.tag)
            if "aigc" in name.lower():
                aigc.append((_prefixed(ns, name), _value(el)))
            elif name == "DigitalSourceType" and ns == IPTC_NS:
                sources.append(_value(el))
            for attr, value in el.attrib.items():
                ans, aname = _local(attr)
                if "aigc" in aname.lower():
                    aigc.append((_prefixed(ans, aname), value.strip()))
                elif aname == "DigitalSourceType" and ans == IPTC_NS:
                    sources.append(value.strip())
    return XmpLabels(tuple(aigc), tuple(sources), unreadable)


def _replaced(tag: str, *, aigc: bool, source: bool) -> bool:
    ns, name = _local(tag)
    return (aigc and "aigc" in name.lower()) or (source and ns == IPTC_NS and name == "DigitalSourceType")


def xmp_packet(*, aigc: str | None, source_type: str | None, base: bytes | None = None) -> bytes:
    """An XMP packet carrying ``aigc`` (``TC260:AIGC``) and ``source_type``
    (``Iptc4xmpExt:DigitalSourceType``): ``base``'s other properties kept, and its label
    properties replaced where a new value is given (None keeps what is there).

    Raises:
        InvalidInput: ``base`` is not well-formed XMP.
    """
    if base is not None:
        try:
            root = ET.fromstring(base)
        except ET.ParseError:
            raise InvalidInput("the file's XMP packet is not well-formed XML; it cannot be updated") from None
        rdf = root.find(f"{{{_RDF}}}RDF") if _local(root.tag)[1] == "xmpmeta" else None
        if rdf is None:
            raise InvalidInput("the file's XMP packet has no rdf:RDF element; it cannot be updated")
        for desc in rdf.findall(f"{{{_RDF}}}Description"):
            for child in list(desc):
                if _replaced(child.tag, aigc=aigc is not None, source=source_type is not None):
                    desc.remove(child)
            for attr in list(desc.attrib):
                if _replaced(attr, aigc=aigc is not None, source=source_type is not None):
                    del desc.attrib[attr]
    else:
        root = ET.Element(f"{{{_X}}}xmpmeta")
        rdf = ET.SubElement(root, f"{{{_RDF}}}RDF")
    desc = ET.SubElement(rdf, f"{{{_RDF}}}Description", {f"{{{_RDF}}}about": ""})
    if aigc is not None:
        ET.SubElement(desc, f"{{{TC260_NS}}}AIGC").text = aigc
    if source_type is not None:
        ET.SubElement(desc, f"{{{IPTC_NS}}}DigitalSourceType").text = source_type
    body = ET.tostring(root, encoding="unicode")
    return f'<?xpacket begin="\ufeff" id="W5M0MpCehiHzreSzNTczkc9d"?>{body}<?xpacket end="w"?>'.encode()


def set_xmp_labels(data: bytes, mime: str, *, aigc: str | None, source_type: str | None) -> bytes:
    """``data`` with its XMP labels set (the first packet's other properties kept).

    Raises:
        UnsupportedMedia: a format whose XMP Assay does not write.
        InvalidInput: a malformed file or XMP packet.
    """
    packets = _frames(data)
    base = packets[0] if packets else None
    return write_xmp(data, mime, xmp_packet(aigc=aigc, source_type=source_type, base=base))


def write_xmp(data: bytes, mime: str, packet: bytes) -> bytes:
    """``data`` with ``packet`` as its only XMP packet.

    Raises:
        UnsupportedMedia: a format whose XMP Assay does not write.
        InvalidInput: a malformed file.
    """
    writers = {
        "image/jpeg": _jpeg,
        "image/png": _png,
        "image/webp": _webp,
        "image/gif": _gif,
        "image/tiff": _tiff,
    }
    writer = writers.get(mime)
    if writer is None:
        raise UnsupportedMedia(f"Assay writes XMP labels into JPEG, PNG, WebP, GIF and TIFF, not {mime}")
    try:
        return writer(data, packet)
    except (struct.error, IndexError, ValueError) as exc:
        raise InvalidInput(f"this {mime} file is malformed: {exc}") from None


# -- JPEG: an APP1 segment after the JFIF/Exif segments


def _jpeg(data: bytes, packet: bytes) -> bytes:
    if data[:2] != b"\xff\xd8":
        raise InvalidInput("not a JPEG file")
    payload = _JPEG_XMP + packet
    if len(payload) + 2 > 0xFFFF:
        raise InvalidInput("the XMP packet is too large for one JPEG segment")
    segment = b"\xff\xe1" + struct.pack(">H", len(payload) + 2) + payload
    kept: list[tuple[int, bytes]] = []
    pos = 2
    while pos + 4 <= len(data) and data[pos] == 0xFF:
        marker = data[pos + 1]
        if marker == 0xFF:  # fill byte
            pos += 1
            continue
        if marker in (0xD9, 0xDA):  # end of image, start of scan: the rest is copied as is
            break
        (length,) = struct.unpack(">H", data[pos + 2 : pos + 4])
        end = pos + 2 + length
        if end > len(data):
            raise ValueError("a segment runs past the end of the file")
        if not (marker == 0xE1 and data[pos + 4 : end].startswith(_JPEG_XMP)):  # the old packet goes
            kept.append((marker, data[pos:end]))
        pos = end
    at = 0
    while at < len(kept) and kept[at][0] in (0xE0, 0xE1):  # after JFIF and Exif, as readers expect
        at += 1
    parts = [b for _, b in kept[:at]] + [segment] + [b for _, b in kept[at:]]
    return b"\xff\xd8" + b"".join(parts) + data[pos:]


# -- PNG: an iTXt chunk after IHDR


def _png_chunks(data: bytes) -> list[tuple[bytes, bytes]]:
    chunks, pos = [], 8
    while pos + 8 <= len(data):
        (length,) = struct.unpack(">I", data[pos : pos + 4])
        kind = data[pos + 4 : pos + 8]
        if pos + 12 + length > len(data):
            break
        chunks.append((kind, data[pos + 8 : pos + 8 + length]))
        pos += 12 + length
        if kind == b"IEND":
            break
    return chunks


def _png_itxt_text(body: bytes) -> bytes | None:
    """The text of a compressed iTXt chunk (None when it cannot be inflated within the limit)."""
    try:
        rest = body.split(b"\x00", 1)[1][2:]  # after the keyword: flag, method
        rest = rest.split(b"\x00", 2)[2]  # after the language tag and translated keyword
        out = zlib.decompressobj().decompress(rest, _MAX_PACKET)
    except (IndexError, zlib.error):
        return None
    return out


def _chunk(kind: bytes, body: bytes) -> bytes:
    return struct.pack(">I", len(body)) + kind + body + struct.pack(">I", zlib.crc32(kind + body) & 0xFFFFFFFF)


def _png(data: bytes, packet: bytes) -> bytes:
    if data[:8] != b"\x89PNG\r\n\x1a\n":
        raise InvalidInput("not a PNG file")
    out, pos = [data[:8]], 8
    while pos + 8 <= len(data):
        (length,) = struct.unpack(">I", data[pos : pos + 4])
        kind = data[pos + 4 : pos + 8]
        end = pos + 12 + length
        if end > len(data):
            raise ValueError("a chunk runs past the end of the file")
        if not (kind == b"iTXt" and data[pos + 8 : pos + 8 + len(_PNG_XMP) + 1] == _PNG_XMP + b"\x00"):
            out.append(data[pos:end])
        if kind == b"IHDR":
            out.append(_chunk(b"iTXt", _PNG_XMP + b"\x00\x00\x00\x00\x00" + packet))
        pos = end
        if kind == b"IEND":
            break
    return b"".join(out) + data[pos:]


# -- WebP: the extended format's XMP chunk (a simple file gains a VP8X header)


def _webp(data: bytes, packet: bytes) -> bytes:
    if data[:4] != b"RIFF" or data[8:12] != b"WEBP":
        raise InvalidInput("not a WebP file")
    chunks, pos = [], 12
    while pos + 8 <= len(data):
        kind = data[pos : pos + 4]
        (length,) = struct.unpack("<I", data[pos + 4 : pos + 8])
        end = pos + 8 + length + (length & 1)
        if pos + 8 + length > len(data):
            raise ValueError("a chunk runs past the end of the file")
        chunks.append((kind, data[pos + 8 : pos + 8 + length]))
        pos = end
    if not chunks:
        raise ValueError("no chunks")
    if chunks[0][0] != b"VP8X":
        from PIL import Image  # the canvas size and alpha of a simple file, from its header

        with Image.open(io.BytesIO(data)) as im:
            width, height = im.size
            alpha = 0x10 if "A" in im.mode else 0
        header = bytes([alpha, 0, 0, 0]) + (width - 1).to_bytes(3, "little") + (height - 1).to_bytes(3, "little")
        chunks.insert(0, (b"VP8X", header))
    flags = chunks[0][1][0] | 0x04
    chunks[0] = (b"VP8X", bytes([flags]) + chunks[0][1][1:])
    chunks = [c for c in chunks if c[0] != b"XMP "] + [(b"XMP ", packet)]
    body = b"".join(k + struct.pack("<I", len(b)) + b + b"\x00" * (len(b) & 1) for k, b in chunks)
    return b"RIFF" + struct.pack("<I", 4 + len(body)) + b"WEBP" + body


# -- GIF: the XMP application extension after the global colour table


def _gif(data: bytes, packet: bytes) -> bytes:
    if data[:6] not in (b"GIF87a", b"GIF89a"):
        raise InvalidInput("not a GIF file")
    flags = data[10]
    pos = 13 + (3 * 2 ** ((flags & 7) + 1) if flags & 0x80 else 0)
    head, out = b"GIF89a" + data[6:pos], []
    while pos < len(data):
        intro = data[pos]
        if intro == 0x3B:
            out.append(data[pos:])
            break
        start = pos
        if intro == 0x21:
            pos += 2
        elif intro == 0x2C:
            lflags = data[pos + 9]
            pos += 10 + (3 * 2 ** ((lflags & 7) + 1) if lflags & 0x80 else 0) + 1
        else:
            raise ValueError(f"unexpected block 0x{intro:02x}")
        while data[pos] != 0:  # sub-blocks
            pos += data[pos] + 1
        pos += 1
        block = data[start:pos]
        if not (intro == 0x21 and block[1] == 0xFF and block[3:14] == _GIF_XMP):
            out.append(block)
    magic = bytes([1]) + bytes(range(255, -1, -1))  # lets sub-block readers skip the raw packet
    extension = b"\x21\xff\x0b" + _GIF_XMP + packet + magic + b"\x00"
    return head + extension + b"".join(out)


# -- TIFF: tag 700, written by Pillow (lossless; single-image files only)


def _tiff(data: bytes, packet: bytes) -> bytes:
    from PIL import Image, TiffImagePlugin

    with Image.open(io.BytesIO(data)) as im:
        if getattr(im, "n_frames", 1) > 1:
            raise UnsupportedMedia("Assay writes XMP labels into single-image TIFF files only")
        info = TiffImagePlugin.ImageFileDirectory_v2()
        for tag, value in im.tag_v2.items():  # type: ignore[attr-defined]
            if tag not in (273, 279, 700, 256, 257, 258, 259, 262, 277, 278, 284, 317, 338, 339):
                info[tag] = value
        info[700] = packet
        for tags in (im.tag_v2, getattr(im, "tag", {})):  # type: ignore[attr-defined]
            if 700 in tags:  # Pillow copies the file's own XMP over the one given otherwise
                del tags[700]
        out = io.BytesIO()
        im.save(out, "TIFF", tiffinfo=info, compression=im.info.get("compression", "raw"))
    return out.getvalue()
