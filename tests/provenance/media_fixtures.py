"""Small real audio, video and PDF files made in code (c2pa embeds manifests into each)."""

from __future__ import annotations

import io
import math
import os
import struct
import tempfile
import wave

import cv2
import numpy as np

__all__ = ["audio_bytes", "docx_bytes", "mp4_bytes", "pdf_bytes", "remuxed", "wav_bytes"]


def wav_bytes(seconds: float = 0.2) -> bytes:
    """A mono 16-bit 8 kHz tone."""
    buf = io.BytesIO()
    with wave.open(buf, "wb") as w:
        w.setnchannels(1)
        w.setsampwidth(2)
        w.setframerate(8000)
        n = int(8000 * seconds)
        w.writeframes(b"".join(struct.pack("<h", int(8000 * math.sin(i / 5))) for i in range(n)))
    return buf.getvalue()


def mp4_bytes(frames: int = 5) -> bytes:
    """A 64x48 MPEG-4 Part 2 video written by OpenCV."""
    fd, path = tempfile.mkstemp(suffix=".mp4")
    os.close(fd)
    try:
        writer = cv2.VideoWriter(path, cv2.VideoWriter_fourcc(*"mp4v"), 10, (64, 48))
        for i in range(frames):
            writer.write(np.full((48, 64, 3), i * 40, np.uint8))
        writer.release()
        with open(path, "rb") as fh:
            return fh.read()
    finally:
        os.unlink(path)


def pdf_bytes(text: str = "Hello") -> bytes:
    """A one-page PDF with a correct cross-reference table."""
    objects = [
        b"<< /Type /Catalog /Pages 2 0 R >>",
        b"<< /Type /Pages /Kids [3 0 R] /Count 1 >>",
        b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 200 200] /Contents 4 0 R >>",
    ]
    stream = f"BT /F1 12 Tf 20 100 Td ({text}) Tj ET".encode()
    out = b"%PDF-1.7\n"
    offsets = []
    for i, obj in enumerate(objects, 1):
        offsets.append(len(out))
        out += b"%d 0 obj\n%s\nendobj\n" % (i, obj)
    offsets.append(len(out))
    out += b"4 0 obj\n<< /Length %d >>\nstream\n%s\nendstream\nendobj\n" % (len(stream), stream)
    xref = len(out)
    out += b"xref\n0 5\n0000000000 65535 f \n" + b"".join(b"%010d 00000 n \n" % o for o in offsets)
    out += b"trailer\n<< /Size 5 /Root 1 0 R >>\nstartxref\n%d\n%%%%EOF\n" % xref
    return out


def audio_bytes(container: str, codec: str, seconds: float = 0.3, rate: int = 44_100) -> bytes:
    """A short tone encoded by FFmpeg (through PyAV): ``mp3``/``libmp3lame``, ``flac``/``flac``,
    ``ipod``/``aac`` (M4A) ..."""
    import av

    buf = io.BytesIO()
    with av.open(buf, "w", format=container) as out:
        stream = out.add_stream(codec, rate=rate)
        stream.layout = "mono"  # type: ignore[union-attr]
        samples = (8000 * np.sin(np.arange(int(rate * seconds)) / 7)).astype(np.int16)
        fmt = "fltp" if codec in ("aac", "libmp3lame", "mp3") else "s16"
        data = samples[None, :].astype(np.float32) / 32768 if fmt == "fltp" else samples[None, :]
        frame = av.AudioFrame.from_ndarray(data, format=fmt, layout="mono")
        frame.sample_rate = rate
        for packet in stream.encode(frame):  # type: ignore[union-attr]
            out.mux(packet)
        for packet in stream.encode(None):  # type: ignore[union-attr]
            out.mux(packet)
    return buf.getvalue()


def remuxed(data: bytes, container: str, metadata: dict[str, str] | None = None, **options: str) -> bytes:
    """``data`` remuxed by FFmpeg into ``container`` (stream copy), with container ``metadata``
    written the way ``ffmpeg -metadata K=V`` writes it (``movflags=use_metadata_tags`` for MP4/MOV keys)."""
    import av

    out_buf = io.BytesIO()
    with av.open(io.BytesIO(data)) as src, av.open(out_buf, "w", format=container, options=options) as dst:
        for key, value in (metadata or {}).items():
            dst.metadata[key] = value
        streams = {s.index: dst.add_stream_from_template(s) for s in src.streams}
        for packet in src.demux():
            if packet.dts is None:
                continue
            packet.stream = streams[packet.stream.index]
            dst.mux(packet)
    return out_buf.getvalue()


def docx_bytes(text: str = "Hello") -> bytes:
    """A minimal Word document (the three parts Word needs to open it)."""
    import zipfile

    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as z:
        z.writestr(
            "[Content_Types].xml",
            '<?xml version="1.0" encoding="UTF-8"?><Types xmlns="http://schemas.openxmlformats.org/package/2006/'
            'content-types"><Default Extension="rels" ContentType="application/vnd.openxmlformats-package.'
            'relationships+xml"/><Default Extension="xml" ContentType="application/xml"/><Override PartName='
            '"/word/document.xml" ContentType="application/vnd.openxmlformats-officedocument.wordprocessingml.'
            'document.main+xml"/></Types>',
        )
        z.writestr(
            "_rels/.rels",
            '<?xml version="1.0" encoding="UTF-8"?><Relationships xmlns="http://schemas.openxmlformats.org/package/'
            '2006/relationships"><Relationship Id="rId1" Type="http://schemas.openxmlformats.org/officeDocument/'
            '2006/relationships/officeDocument" Target="word/document.xml"/></Relationships>',
        )
        z.writestr(
            "word/document.xml",
            '<?xml version="1.0" encoding="UTF-8"?><w:document xmlns:w="http://schemas.openxmlformats.org/'
            f'wordprocessingml/2006/main"><w:body><w:p><w:r><w:t>{text}</w:t></w:r></w:p></w:body></w:document>',
        )
    return buf.getvalue()
