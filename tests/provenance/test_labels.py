"""Labels per carrier, against files written the way real tools write them: XMP packets in every
image format (element and attribute forms, compressed PNG iTXt), ID3 frames by mutagen, RIFF
chunks, MP4/MOV/MKV metadata by FFmpeg, Markdown front matter; wrapped and bare labels, any key
case; malformed labels never raise."""

from __future__ import annotations

import contextlib
import io
import json
import struct

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from mutagen.id3 import ID3, TXXX
from PIL import Image, PngImagePlugin

from provenance.labels import (
    AigcLabel,
    add_notice,
    parse_aigc,
    read_labels,
    read_text_labels,
    write_labels,
    write_text_label,
)
from provenance.labels.xmp import TC260_NS
from watermark.errors import InvalidInput, UnsupportedMedia

from .media_fixtures import audio_bytes, docx_bytes, mp4_bytes, remuxed, wav_bytes

TRAINED = "http://cv.iptc.org/newscodes/digitalsourcetype/trainedAlgorithmicMedia"
LABEL = AigcLabel(content_producer="示例公司 Example Ltd", produce_id="gen-0001")
BARE = (  # the inner object without its wrapper, keys in lower case (as some generators write it)
    '{"label":"2","contentproducer":"MiniMax","produceid":"abc","reservedcode1":"",'
    '"contentpropagator":"","propagateid":"","reservedcode2":""}'
)


def _image(fmt: str, **kw: object) -> bytes:
    rng = np.random.default_rng(1)
    buf = io.BytesIO()
    Image.fromarray(rng.integers(0, 255, (36, 48, 3), dtype=np.uint8)).save(buf, fmt, **kw)
    return buf.getvalue()


IMAGES = {
    "image/jpeg": lambda: _image("JPEG", quality=90),
    "image/png": lambda: _image("PNG"),
    "image/webp": lambda: _image("WEBP", quality=80),
    "image/gif": lambda: _image("GIF"),
    "image/tiff": lambda: _image("TIFF"),
}
MEDIA = {
    "audio/mpeg": lambda: audio_bytes("mp3", "libmp3lame"),
    "audio/flac": lambda: audio_bytes("flac", "flac"),
    "audio/wav": wav_bytes,
    "audio/mp4": lambda: audio_bytes("ipod", "aac"),
    "video/mp4": mp4_bytes,
    "video/quicktime": lambda: remuxed(mp4_bytes(), "mov"),
    "video/x-matroska": lambda: remuxed(mp4_bytes(), "matroska"),
    "application/vnd.openxmlformats-officedocument.wordprocessingml.document": docx_bytes,
}


def _aigc(found: list) -> list:  # type: ignore[type-arg]
    return [f for f in found if f.kind == "aigc"]


@pytest.mark.parametrize("mime", [*IMAGES, *MEDIA])
def test_every_carrier_round_trips_and_keeps_the_content_readable(mime: str) -> None:
    original = (IMAGES | MEDIA)[mime]()
    marked = write_labels(original, mime, aigc=LABEL, source_type=TRAINED if mime in IMAGES else None)
    found = _aigc(read_labels(marked, mime))
    assert len(found) == 1, found
    parsed = parse_aigc(found[0].value)
    assert parsed.valid and parsed.wrapped and parsed.fields == LABEL.fields()
    # a platform adds its propagator fields: still one label, the producer's kept
    again = write_labels(marked, mime, aigc=LABEL.propagated("Platform", "p-7"), source_type=None)
    (label,) = _aigc(read_labels(again, mime))
    fields = parse_aigc(label.value).fields
    assert fields["ContentProducer"] == LABEL.content_producer and fields["PropagateID"] == "p-7"
    if mime in IMAGES:
        assert [f.value for f in read_labels(again, mime) if f.kind == "iptc"] == [TRAINED]  # kept
        with Image.open(io.BytesIO(again)) as im:
            im.load()
            with Image.open(io.BytesIO(original)) as before:
                assert np.array_equal(np.asarray(im), np.asarray(before)) or mime == "image/tiff"
    elif mime.startswith("application/"):
        import zipfile

        with zipfile.ZipFile(io.BytesIO(again)) as z:  # the document's own parts are untouched
            assert z.read("word/document.xml") == zipfile.ZipFile(io.BytesIO(original)).read("word/document.xml")
            assert b"custom-properties" in z.read("_rels/.rels") and b"custom.xml" in z.read("[Content_Types].xml")
    else:
        import av

        with av.open(io.BytesIO(again)) as container:  # FFmpeg still reads every stream
            assert sum(1 for _ in container.demux() if _.dts is not None) > 0


def test_labels_as_other_tools_write_them_are_read() -> None:
    # exiftool-style attribute form, bare label, lowercase key, in a compressed PNG iTXt chunk
    xmp = (
        f'<x:xmpmeta xmlns:x="adobe:ns:meta/"><rdf:RDF xmlns:rdf="http://www.w3.org/1999/02/22-rdf-syntax-ns#">'
        f'<rdf:Description rdf:about="" xmlns:TC260="{TC260_NS}" TC260:AIGC=\'{BARE}\' '
        'xmlns:Iptc4xmpExt="http://iptc.org/std/Iptc4xmpExt/2008-02-29/" '
        'Iptc4xmpExt:DigitalSourceType="https://cv.iptc.org/newscodes/digitalsourcetype/trainedAlgorithmicMedia"/>'
        "</rdf:RDF></x:xmpmeta>"
    )
    info = PngImagePlugin.PngInfo()
    info.add_itxt("XML:com.adobe.xmp", xmp, zip=True)
    png = _image("PNG", pnginfo=info)
    found = read_labels(png, "image/png")
    (aigc,) = _aigc(found)
    parsed = parse_aigc(aigc.value)
    assert parsed.valid and not parsed.wrapped and parsed.says == "possibly-ai"
    assert any("not wrapped" in n for n in parsed.notes) and any("written as" in n for n in parsed.notes)
    assert next(f.value for f in found if f.kind == "iptc").startswith("https://")

    # MiniMax-style ID3 frame TXXX:aigc, written by mutagen
    mp3 = io.BytesIO(audio_bytes("mp3", "libmp3lame"))
    tags = ID3(mp3)
    tags.add(TXXX(encoding=3, desc="aigc", text=[BARE]))
    mp3.seek(0)
    tags.save(mp3)
    (frame,) = _aigc(read_labels(mp3.getvalue(), "audio/mpeg"))
    assert frame.field == "TXXX:aigc" and parse_aigc(frame.value).fields["ContentProducer"] == "MiniMax"

    # ffmpeg -movflags use_metadata_tags -metadata aigc=...: a lowercase key in moov/udta/meta
    mov = remuxed(mp4_bytes(), "mp4", {"aigc": BARE}, movflags="use_metadata_tags")
    assert b"mdta" in mov and b"keys" in mov
    (key,) = _aigc(read_labels(mov, "video/mp4"))
    assert key.field == "aigc" and parse_aigc(key.value).valid

    # a WAV file with the chunk id in lower case
    wav = wav_bytes()
    body = BARE.encode()
    wav = wav + b"aigc" + struct.pack("<I", len(body)) + body
    wav = wav[:4] + struct.pack("<I", len(wav) - 8) + wav[8:]
    (chunk,) = _aigc(read_labels(wav, "audio/wav"))
    assert chunk.field == "aigc"


def test_markdown_front_matter_forms_and_notices() -> None:
    one_line = f"---\ntitle: x\nAIGC: '{LABEL.to_json()}'\n---\nBody.\n"
    (found,) = read_text_labels(one_line)
    assert parse_aigc(found.value).fields == LABEL.fields()
    block = "---\naigc:\n  Label: '1'\n  ContentProducer: Acme\n  ProduceID: 9\n---\nText\n"
    (found,) = read_text_labels(block)
    parsed = parse_aigc(found.value)
    assert parsed.fields["ContentProducer"] == "Acme" and "ReservedCode1" in " ".join(parsed.problems)
    written = write_text_label(one_line, aigc=LABEL.propagated("P", "1"), notice="本文由AI生成")
    assert written.count("AIGC") == 2  # one key whose value holds the wrapper's own "AIGC"
    assert "title: x" in written and written.endswith("Body.\n")
    kinds = sorted(f.kind for f in read_text_labels(written))
    assert kinds == ["aigc", "explicit"]
    assert [f.field for f in read_text_labels(add_notice("Plain text. " * 60, at="end"))] == ["end"]
    assert read_text_labels("A text that says nothing about its origin.") == []


@pytest.mark.parametrize(
    ("value", "problem"),
    [
        ("not json", "not valid JSON"),
        ('{"AIGC": {"Label": "4"}}', "not 1 (AI-generated)"),
        ('{"AIGC": {"Label": "1", "ContentProducer": "x"}}', "missing keys"),
        ('{"AIGC": [1, 2]}', "not a JSON object"),
        (
            '{"AIGC": {"Label": 1, "ContentProducer": "", "ProduceID": "", "ReservedCode1": "", '
            '"ContentPropagator": "", "PropagateID": "", "ReservedCode2": ""}}',
            "names neither",
        ),
    ],
)
def test_malformed_labels_say_what_is_wrong(value: str, problem: str) -> None:
    parsed = parse_aigc(value)
    assert not parsed.valid and any(problem in p for p in parsed.problems), parsed.problems


@settings(max_examples=200, deadline=None)
@given(
    st.text(max_size=300)
    | st.recursive(
        st.none() | st.integers() | st.text(max_size=10),
        lambda c: st.dictionaries(st.text(max_size=8), c, max_size=8) | st.lists(c, max_size=4),
    ).map(json.dumps)
)
def test_parsing_never_raises(value: str) -> None:
    parsed = parse_aigc(value)
    assert parsed.valid == (not parsed.problems)


@settings(max_examples=50, deadline=None)
@given(
    st.sampled_from(["1", "2", "3"]),
    st.text(min_size=1, max_size=40).filter(lambda s: bool(s.strip()) and all(ord(c) >= 32 for c in s)),
)
def test_written_labels_parse_back_exactly(label: str, producer: str) -> None:
    written = AigcLabel(label=label, content_producer=producer, produce_id="id-1")
    parsed = parse_aigc(written.to_json())
    assert parsed.valid and parsed.fields == written.fields()


def test_bad_labels_and_files_are_refused_in_words() -> None:
    with pytest.raises(InvalidInput, match="Label must be"):
        AigcLabel(label="5", content_producer="x", produce_id="y")
    with pytest.raises(InvalidInput, match="go together"):
        AigcLabel(content_producer="x")
    with pytest.raises(InvalidInput, match="names its producer"):
        AigcLabel()
    with pytest.raises(InvalidInput, match="control characters"):
        AigcLabel(content_producer="a\x00b", produce_id="1")
    for mime, data in [
        ("image/jpeg", b"\xff\xd8\xff\xe0\x00\x50garbage"),
        ("image/png", b"not a png"),
        ("audio/wav", b"RIFF\x00\x00\x00\x00AVI "),
        ("video/mp4", b"\x00\x00\x00\x08ftypjunk"),
    ]:
        with pytest.raises(InvalidInput):
            write_labels(data, mime, aigc=LABEL)
    with pytest.raises(UnsupportedMedia):
        write_labels(b"%PDF-1.7", "application/pdf", aigc=LABEL)
    assert read_labels(b"\xff\xd8" + b"<x:xmpmeta>" * 3, "image/jpeg") == []  # malformed XMP: no label, no error


def test_a_caption_is_prominent_and_changes_only_the_bottom_band() -> None:
    from provenance.labels.caption import add_caption

    original = _image("PNG", optimize=False)
    big = Image.open(io.BytesIO(original)).resize((400, 300))
    buf = io.BytesIO()
    big.save(buf, "PNG")
    captioned = add_caption(buf.getvalue(), "image/png")
    before = np.asarray(big, dtype=np.int16)
    after = np.asarray(Image.open(io.BytesIO(captioned)).convert("RGB"), dtype=np.int16)
    changed_rows = np.flatnonzero(np.abs(after - before).max(axis=(1, 2)) > 0)
    assert changed_rows.min() > 300 * 0.8 and changed_rows.max() == 299  # a band along the bottom edge
    letters = np.flatnonzero((after[changed_rows.min() :] >= 250).all(axis=2).any(axis=1))
    assert letters.max() - letters.min() + 1 >= 0.05 * 300  # letters at least 5 % of the short side tall
    with pytest.raises(InvalidInput, match="no glyphs"):
        add_caption(buf.getvalue(), "image/png", "AI生成")  # no CJK font given: refused, not drawn as boxes
    with pytest.raises(InvalidInput, match="does not fit"):
        add_caption(buf.getvalue(), "image/png", "AI-generated content, made with a very long caption")
    with pytest.raises(UnsupportedMedia):
        add_caption(buf.getvalue(), "image/gif")


def test_damaged_office_packages_are_no_label_and_no_crash() -> None:
    """Two fuzzing finds: a ZIP entry needing an unknown version, and corrupt deflate data."""
    from detect.content import Content

    docx = "application/vnd.openxmlformats-officedocument.wordprocessingml.document"
    labelled = write_labels(docx_bytes(), docx, aigc=LABEL)
    central = labelled.index(b"PK\x01\x02")
    future = labelled[: central + 6] + bytes([114, 0]) + labelled[central + 8 :]  # "version 11.4 needed"
    start = labelled.index(b"docProps/custom.xml") + len(b"docProps/custom.xml")  # its local header's name
    corrupt = labelled[:start] + bytes(b ^ 0x5A for b in labelled[start : start + 40]) + labelled[start + 40 :]
    for data in (future, corrupt):
        assert read_labels(data, docx) == []
        with pytest.raises(InvalidInput):
            write_labels(data, docx, aigc=LABEL)
        with contextlib.suppress(InvalidInput, UnsupportedMedia):
            Content.of_bytes(data)


def test_hostile_xmp_framing_is_read_in_one_pass() -> None:
    """Thousands of unclosed or stray packet tags (a regex would rescan the file for each)."""
    for hostile in (b"<x:xmpmeta " * 200_000, b"</x:xmpmeta>" * 200_000, b"<x:xmpmeta>" + b"a" * 2_000_000):
        assert read_labels(b"\xff\xd8" + hostile, "image/jpeg") == []
