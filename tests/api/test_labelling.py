"""Labelling law end to end: Assay's outputs and the regime each reaches, labels written by the
API and the CLI, trust named per list."""

from __future__ import annotations

import base64
import json
from pathlib import Path

from click.testing import CliRunner
from cryptography import x509
from cryptography.hazmat.primitives.serialization import Encoding

from api.cli import main
from provenance.credentials import ensure_dev_credentials
from provenance.labels import AigcLabel, read_labels, write_labels
from provenance.trust_lists import install_trust_list, load_trust_list
from tests.provenance.media_fixtures import wav_bytes
from tests.provenance.tsa import running_tsa

from .conftest import Service, make_service, photo_jpeg

CAPTURE = "http://cv.iptc.org/newscodes/digitalsourcetype/digitalCapture"
JPEG = {"content-type": "image/jpeg"}
OCTETS = {"content-type": "application/octet-stream"}
OTHER_TEXT = (
    "The library on the corner opens late on Thursdays, when the reading group meets upstairs to argue "
    "about the month's novel. Someone always brings a cake, and the librarian pretends not to notice the "
    "crumbs on the atlas table by the window."
)


def _status(report: dict) -> dict[str, str]:  # type: ignore[type-arg]
    return {c["regime"]: c["status"] for c in report["compliance"]}


def _verify(svc: Service, data: bytes) -> dict:  # type: ignore[type-arg]
    r = svc.client.post("/v1/verify", content=data, headers=svc.auth("verify") | OCTETS)
    assert r.status_code == 200, r.text
    return r.json()  # type: ignore[no-any-return]


def test_assay_images_meet_every_regime_and_only_the_time_stamp_waits_for_a_tsa(
    service: Service, env: Path, tmp_path: Path
) -> None:
    c = service.client
    out = c.post("/v1/images/watermark", content=photo_jpeg(), headers=service.auth("sign") | JPEG)
    assert out.status_code == 200
    report = _verify(service, out.content)
    assert _status(report) == {"eu-ai-act-art50": "partial", "cn-gb-45438-2025": "meets", "ca-sb-942": "meets"}
    eu = report["compliance"][0]
    assert eu["missing"] == [
        "a trusted time stamp on the signed metadata (configure a time-stamp authority), measure 1.1.1"
    ]
    assert "except the trusted time stamp" in eu["summary"] and eu["basis"].startswith("Regulation (EU) 2024/1689")
    kinds = sorted((lab["kind"], lab["carrier"]) for lab in report["labels"])
    assert kinds == [("aigc", "xmp"), ("c2pa", "c2pa-manifest"), ("iptc", "xmp")]
    aigc = next(lab for lab in report["labels"] if lab["kind"] == "aigc")
    assert aigc["valid"] and aigc["fields"]["ProduceID"] == out.headers["assay-record-id"]
    assert report["provenance"]["inception"] == "fullyGenAIMedia" and report["provenance"]["created_at"]
    assert report["provenance"]["soft_bindings"] == ["com.assay.image-ss.1", "io.iscc.v0"]  # mark, content code
    assert report["provenance"]["soft_bindings_registered"] == [False, True]  # Assay's mark: not on the C2PA list
    assert any(line.startswith("China GB 45438-2025: meets") for line in report["details"])

    # with a trusted time-stamp authority the same output meets the EU Code too
    with running_tsa() as (url, tsa):
        (tmp_path / "tsa.pem").write_text(tsa.root_pem)
        stamped = make_service(tsa_url=url, tsa_trust_anchors=[tmp_path / "tsa.pem"])
        out = stamped.client.post("/v1/images/watermark", content=photo_jpeg(), headers=stamped.auth("sign") | JPEG)
    report = _verify(stamped, out.content)
    assert set(_status(report).values()) == {"meets"}, report["compliance"]
    assert report["compliance"][0]["layers"][:3] == ["signed-metadata", "timestamp", "watermark"]
    # the same file judged where the authority is not trusted: stamped, but not by a trusted TSA
    untrusted = _verify(service, out.content)["compliance"][0]
    assert untrusted["status"] == "partial" and "not trusted here" in untrusted["missing"][0]


def test_unmarked_captured_and_contradictory_files(service: Service) -> None:
    report = _verify(service, photo_jpeg())
    assert set(_status(report).values()) == {"does-not-meet"} and report["labels"] == []
    sign = service.auth("sign")
    capture = service.client.post(
        "/v1/provenance/sign",
        params={"digital_source_type": "digitalCapture"},
        content=photo_jpeg(),
        headers=sign | JPEG,
    )
    report = _verify(service, capture.content)
    assert set(_status(report).values()) == {"not-applicable"}
    # a camera-declared photo whose metadata also carries an AI label: both labels are flagged
    label = AigcLabel(content_producer="X", produce_id="1").to_json()
    labelled = write_labels(photo_jpeg(), "image/jpeg", aigc=AigcLabel(content_producer="X", produce_id="1"))
    labelled = write_labels(labelled, "image/jpeg", aigc=None, source_type=CAPTURE)
    signed = service.client.post(
        "/v1/provenance/sign", params={"digital_source_type": "digitalCapture"}, content=labelled, headers=sign | JPEG
    )
    report = _verify(service, signed.content)
    aigc = next(lab for lab in report["labels"] if lab["kind"] == "aigc")
    assert not aigc["valid"] and any("contradicts the C2PA credentials" in p for p in aigc["problems"])
    assert label in [f.value for f in read_labels(signed.content, "image/jpeg")]
    # two implicit labels in one file
    twice = labelled.replace(
        b"</rdf:RDF>",
        b'<rdf:Description rdf:about=""><TC260:AIGC xmlns:TC260="x">{}</TC260:AIGC></rdf:Description></rdf:RDF>',
    )
    report = _verify(service, twice)
    problems = [p for lab in report["labels"] if lab["kind"] == "aigc" for p in lab["problems"]]
    assert any("carries 2 implicit labels" in p for p in problems)
    assert _status(report)["cn-gb-45438-2025"] == "partial"


def test_label_route_writes_every_kind_and_keeps_credentials_only_by_re_signing(env: Path) -> None:
    service = make_service(ai_likelihood=False)  # texts here are checked for labels, not scored
    c, sign = service.client, service.auth("sign")
    r = c.post("/v1/label", content=wav_bytes(), headers=sign | {"content-type": "audio/wav"})
    assert r.status_code == 200 and r.headers["assay-label-carrier"] == "riff", r.text
    report = _verify(service, r.content)
    assert _status(report)["cn-gb-45438-2025"] == "meets"
    assert _status(report)["ca-sb-942"] == "partial"  # a label alone is no latent disclosure bound to a mark
    # signing content declared AI-made labels it too (under the signature), audio and text alike
    ai = {"digital_source_type": "trainedAlgorithmicMedia"}
    for body, ctype, carrier in (
        (wav_bytes(), "audio/wav", "riff"),
        (b"A model wrote this.", "text/plain", "c2pa-manifest"),
    ):
        signed = c.post("/v1/provenance/sign", params=ai, content=body, headers=sign | {"content-type": ctype})
        assert signed.status_code == 200, signed.text
        report = (
            _verify(service, signed.content)
            if ctype != "text/plain"
            else c.post(
                "/v1/verify", content=signed.content, headers=service.auth("verify") | {"content-type": "text/plain"}
            ).json()
        )
        (aigc,) = [lab for lab in report["labels"] if lab["kind"] == "aigc"]
        assert aigc["carrier"] == carrier and aigc["valid"] and _status(report)["cn-gb-45438-2025"] == "meets"
        assert report["provenance"]["verdict"] == "valid"  # the label went in before signing
    # a platform redistributes a signed, labelled image: refused unless re-signed
    marked = c.post("/v1/images/watermark", content=photo_jpeg(), headers=sign | JPEG).content
    params = {"propagator": "Example Platform", "propagate_id": "v-42"}
    refused = c.post("/v1/label", params=params, content=marked, headers=sign | JPEG)
    assert refused.status_code == 422 and "--resign" in refused.json()["detail"]
    ok = c.post("/v1/label", params=params | {"resign": "true"}, content=marked, headers=sign | JPEG)
    assert ok.status_code == 200 and ok.headers["assay-manifest-id"].startswith("urn:c2pa:")
    report = _verify(service, ok.content)
    assert report["provenance"]["verdict"] == "valid" and report["provenance"]["detected"]
    assert report["provenance"]["ingredients"][0]["relationship"] == "parentOf"
    aigc = next(lab for lab in report["labels"] if lab["kind"] == "aigc")
    assert aigc["fields"]["ContentPropagator"] == "Example Platform" and aigc["fields"]["ContentProducer"] == "Assay"
    assert set(_status(report).values()) <= {"meets", "partial"}
    # a text gets front matter and a notice; hostile values are refused in words
    text = c.post("/v1/label", params={"notice": "AI生成"}, json={"text": "Hello there."}, headers=sign)
    assert text.status_code == 200 and text.text.startswith("---\nAIGC: ")
    for bad in ({"label": "7"}, {"producer": "a\x01b"}, {"propagator": "only-one"}):
        r = c.post("/v1/label", params=bad, content=wav_bytes(), headers=sign | {"content-type": "audio/wav"})
        assert r.status_code == 422, (bad, r.text)
    r = c.post("/v1/label", content=b"%PDF-1.7\n%%EOF", headers=sign | {"content-type": "application/pdf"})
    assert r.status_code == 415
    assert c.post("/v1/label", content=wav_bytes(), headers=service.auth("verify")).status_code == 403
    rows = [r for r in service.runtime.audit.entries() if r.action == "provenance.label"]
    assert [r.result for r in rows].count("labelled") == 3


def _lote(entity: str, pem: str, issued: str) -> bytes:
    der = x509.load_pem_x509_certificate(pem.encode()).public_bytes(Encoding.DER)
    service = {
        "ServiceInformation": {
            "ServiceDigitalIdentity": {"X509Certificates": [{"val": base64.b64encode(der).decode()}]}
        }
    }
    return json.dumps(
        {
            "LoTE": {
                "ListAndSchemeInformation": {
                    "LoTESequenceNumber": 2,
                    "SchemeName": [{"lang": "en", "value": "C2PA Trust List"}],
                    "SchemeOperatorName": [{"lang": "en", "value": "C2PA"}],
                    "ListIssueDateTime": issued,
                    "NextUpdate": "2027-09-01T00:00:00Z",
                },
                "TrustedEntitiesList": [
                    {
                        "TrustedEntityInformation": {"TEName": [{"lang": "en", "value": entity}]},
                        "TrustedEntityServices": [service],
                    }
                ],
            }
        }
    ).encode()


def test_trust_is_named_per_list_and_the_list_is_replaced_without_a_release(env: Path) -> None:
    shipped = load_trust_list()
    assert shipped.version == "C2PA Trust List #1 of 2026-08-05" and "Google LLC" in [e.name for e in shipped.entities]
    assert len(shipped.anchors()) == 30 and len(load_trust_list("tsa").anchors()) == 22
    own = make_service(trust_dev_signer=True)
    marked = own.client.post("/v1/images/watermark", content=photo_jpeg(), headers=own.auth("sign") | JPEG).content
    prov = _verify(own, marked)["provenance"]
    assert prov["trusted"] and prov["trusted_by"] == "server-anchors" and prov["trust_entity"] is None
    # an operator installs a newer list on which this signer's root appears
    root = ensure_dev_credentials(env).root_pem
    assert root is not None
    with __import__("pytest").raises(Exception, match="older than the one in force"):
        install_trust_list(_lote("Example Generator Inc", root, "2025-01-01T00:00:00Z"), env)
    code = CliRunner().invoke(main, ["trust", "update", "-"], input=b"")  # a path that does not exist: refused
    assert code.exit_code != 0
    path = env / "newer.json"
    path.write_bytes(_lote("Example Generator Inc", root, "2026-09-01T00:00:00Z"))
    r = CliRunner().invoke(main, ["trust", "update", str(path)])
    assert r.exit_code == 0 and "C2PA Trust List #2 of 2026-09-01" in r.stdout, r.output
    listed = make_service()
    report = _verify(listed, marked)
    prov = report["provenance"]
    assert prov["trusted_by"] == "c2pa-trust-list" and prov["trust_entity"] == "Example Generator Inc"
    assert prov["trust_list"] == "C2PA Trust List #2 of 2026-09-01"
    assert "signer on the C2PA Trust List (Example Generator Inc)" in report["label"]
    trust = listed.client.get("/v1/trust", headers=listed.auth("verify")).json()
    assert trust["lists"][0] == {
        "kind": "signers",
        "version": "C2PA Trust List #2 of 2026-09-01",
        "source": "installed",
        "next_update": "2027-09-01T00:00:00Z",
        "entities": ["Example Generator Inc"],
        "certificates": 1,
    }


def test_label_and_comply_on_the_command_line(env: Path, tmp_path: Path) -> None:
    src, out = tmp_path / "in.jpg", tmp_path / "out.jpg"
    src.write_bytes(photo_jpeg())
    r = CliRunner().invoke(
        main, ["label", str(src), str(out), "--label", "2", "--source-type", "trainedAlgorithmicMedia"]
    )
    assert r.exit_code == 0 and "implicit label in xmp — Label 2" in r.stdout, r.output
    r = CliRunner().invoke(main, ["comply", str(out), str(src), "--strict"])
    assert r.exit_code == 3, r.output
    lines = r.stdout.splitlines()
    assert any("China GB 45438-2025  meets" in line for line in lines)
    assert any("EU AI Act Art. 50    does not meet" in line for line in lines)
    assert any("possibly AI-generated" in line for line in lines)
    r = CliRunner().invoke(main, ["comply", str(out), "--json"])
    doc = json.loads(r.stdout)
    assert [c["status"] for c in doc["compliance"]] == ["partial", "meets", "partial"]
    # a scan gets one column per regime, a summary and a chart each; audio is scanned too
    (tmp_path / "tone.wav").write_bytes(wav_bytes())
    r = CliRunner().invoke(main, ["scan", str(tmp_path), "--no-progress"])
    assert r.exit_code == 0, r.output
    scan = json.loads(r.stdout)
    assert scan["summary"]["by_regime"]["cn-gb-45438-2025"] == {"meets": 1, "does-not-meet": 2}
    assert sorted(i["kind"] for i in scan["items"]) == ["audio", "image", "image"]
    labelled = next(i for i in scan["items"] if i["id"].endswith("out.jpg"))
    assert labelled["implicit_label"] == "2" and labelled["ca_sb_942"] == "partial"
    html_out = tmp_path / "report.html"
    assert CliRunner().invoke(main, ["scan", str(tmp_path), "--no-progress", "--out", str(html_out)]).exit_code == 0
    page = html_out.read_text()
    assert "GB 45438-2025: items by status" in page and "<th>SB 942</th>" in page


def test_public_mode_keeps_no_personal_data_and_takes_feedback(env: Path) -> None:
    import logging

    from api.http.access_log import DropClientAddress

    svc = make_service(public_mode=True)
    c = svc.client
    report = c.post("/v1/verify", content=photo_jpeg(), headers=JPEG).json()  # no key needed
    assert report["verdict"] == "no-evidence"
    (row,) = [r for r in svc.runtime.audit.entries() if r.action == "verify"]
    assert row.actor == "public" and "testclient" not in json.dumps(row.detail)
    body = {"content_sha256": report["content_sha256"], "verdict_seen": "no-evidence", "comment": "It is AI."}
    r = c.post("/v1/feedback", json=body)
    assert r.status_code == 200 and r.json()["feedback_id"].startswith("fb-")
    for bad in ({**body, "content_sha256": "x" * 64}, {**body, "comment": ""}, {**body, "topic": "nope"}):
        assert c.post("/v1/feedback", json=bad).status_code == 422
    (kept,) = svc.runtime.feedback.recent()
    assert kept.comment == "It is AI." and kept.topic == "verdict"
    assert 'assay_feedback_total{topic="verdict"} 1.0' in c.get("/metrics").text
    assert c.post("/v1/label", content=wav_bytes(), headers={"content-type": "audio/wav"}).status_code == 401
    record = logging.LogRecord(
        "uvicorn.access", 20, "", 0, '%s - "%s %s HTTP/%s" %d', ("1.2.3.4:5", "GET", "/", "1.1", 200), None
    )
    DropClientAddress().filter(record)
    assert record.getMessage() == '- - "GET / HTTP/1.1" 200'


def test_videos_are_read_for_the_video_watermark_through_the_service(service: Service) -> None:
    from tests.watermark.video.test_video_watermark import clip
    from watermark.video import VideoMarker, mark_video

    marked = mark_video(clip(frames=30), VideoMarker(service.runtime.text.keyring), record_id=0xBEEF).data
    report = _verify(service, marked)
    mark, sound = report["watermarks"]  # the frames, and the soundtrack (2 s of silence: too short)
    assert sound["kind"] == "audio" and sound["verdict"] == "too-short"
    assert mark["kind"] == "video" and mark["detected"] and mark["record_id"] == "00000000beef"
    assert mark["frames_read"] >= 1 and report["verdict"] == "ai" and "watermark" not in report["not_checked"]
    assert "watermark" in report["compliance"][0]["layers"]
    plain = _verify(service, clip(frames=30))
    assert not plain["watermarks"][0]["detected"] and plain["verdict"] == "no-evidence"
    broken = _verify(service, marked[: len(marked) // 3])  # cut short: no 500, the reading says why
    assert broken["watermarks"][0]["verdict"] in ("inconclusive", "not-detected", "watermarked")


def test_a_video_is_watermarked_labelled_and_signed_through_the_service(env: Path) -> None:
    from tests.watermark.video.test_video_watermark import clip

    svc = make_service(ai_likelihood=False)
    out = svc.client.post(
        "/v1/images/watermark", content=clip(frames=30), headers=svc.auth("sign") | {"content-type": "video/mp4"}
    )
    assert out.status_code == 200 and out.headers["content-type"] == "video/mp4", out.text
    report = _verify(svc, out.content)
    mark, sound = report["watermarks"]
    assert mark["kind"] == "video" and mark["detected"] and mark["record_id"] == out.headers["assay-record-id"]
    assert sound["verdict"] == "too-short"  # its 2 s soundtrack was copied unmarked
    assert report["provenance"]["verdict"] == "valid" and report["provenance"]["soft_bindings"] == [
        "com.assay.video-lowband.1",
        "io.iscc.v0",  # its content code
    ]
    assert _status(report) == {"eu-ai-act-art50": "partial", "cn-gb-45438-2025": "meets", "ca-sb-942": "meets"}
    from watermark.image.payload import Payload

    payload = Payload.for_key(mark["key_id"], int(mark["record_id"], 16)).to_bytes()
    matches = svc.client.get(  # Soft Binding Resolution finds the manifest from the mark's payload
        "/v1/matches/byBinding",
        params={"alg": "com.assay.video-lowband.1", "value": base64.b64encode(payload).decode()},
        headers=svc.auth("verify"),
    ).json()
    assert [m["manifestId"] for m in matches["matches"]] == [report["provenance"]["manifest_id"]]
    from tests.watermark.video.test_video_watermark import reencode

    stripped = _verify(svc, reencode(out.content, crf="28"))  # credentials and labels gone, frames re-encoded
    assert stripped["provenance"]["present"] is False and stripped["watermarks"][0]["detected"]
    recovered = stripped["recovered"]
    assert recovered["manifest"]["manifest_id"] == report["provenance"]["manifest_id"]
    assert recovered["soft_binding_alg"] == "com.assay.video-lowband.1" and not recovered["hard_binding_matches"]
    assert "recovered" not in stripped["not_checked"]

    # another video signed without a watermark, then stripped and re-encoded: its content code (the
    # ISCC video code of its MPEG-7 frame signatures, registered at signing) finds it, as a likeness
    from skimage import data as skdata

    from tests.provenance.test_content_code import _pan

    signed = svc.client.post(
        "/v1/provenance/sign?title=Clip&digital_source_type=trainedAlgorithmicMedia",
        content=_pan(skdata.coffee()),
        headers=svc.auth("sign") | {"content-type": "video/mp4"},
    )
    assert signed.status_code == 200, signed.text
    copy_bytes = reencode(signed.content, crf="30")
    copy = _verify(svc, copy_bytes)
    assert copy["provenance"]["present"] is False and not copy["watermarks"][0]["detected"]
    rec = copy["recovered"]
    assert rec["through"] == "content-code" and rec["content_code"] == "video"
    assert rec["manifest"]["manifest_id"] == signed.headers["assay-manifest-id"] and rec["similarity"] >= 58 / 64
    assert copy["verdict"] == "inconclusive"
    assert copy["label"].startswith("Looks like a video signed as AI-generated by"), copy["label"]
    found = svc.client.post("/v1/matches/byContent", content=copy_bytes, headers=svc.auth("verify") | OCTETS).json()
    assert signed.headers["assay-manifest-id"] in [m["manifestId"] for m in found["matches"]]


def test_a_sound_is_watermarked_labelled_signed_and_recovered_through_the_service(env: Path) -> None:
    from tests.watermark.audio.test_audio_files import reencode, speak
    from watermark.audio import encode_audio

    samples, rate = speak()
    svc = make_service(ai_likelihood=False, audio_strength=0.04)  # a margin for the random record id
    mp3 = encode_audio(samples, rate, codec="libmp3lame", muxer="mp3", bit_rate=128_000)
    out = svc.client.post(
        "/v1/images/watermark", content=mp3, headers=svc.auth("sign") | {"content-type": "audio/mpeg"}
    )
    assert out.status_code == 200 and out.headers["content-type"] == "audio/mpeg", out.text
    report = _verify(svc, out.content)
    (mark,) = report["watermarks"]
    assert mark["kind"] == "audio" and mark["detected"] and mark["record_id"] == out.headers["assay-record-id"]
    assert mark["time_spans"] and mark["seconds_read"] > 10
    assert report["provenance"]["soft_bindings"] == ["com.assay.audio-stft.1", "io.iscc.v0"]  # mark, content code
    assert _status(report) == {"eu-ai-act-art50": "partial", "cn-gb-45438-2025": "meets", "ca-sb-942": "meets"}
    stripped = reencode(out.content, "aac", "ipod", 128_000)  # tags and manifest gone, another codec
    again = _verify(svc, stripped)
    assert again["provenance"]["present"] is False and again["watermarks"][0]["detected"]
    assert again["recovered"]["manifest"]["manifest_id"] == report["provenance"]["manifest_id"]
    assert again["recovered"]["soft_binding_alg"] == "com.assay.audio-stft.1"
    found = svc.client.post("/v1/matches/byContent", content=stripped, headers=svc.auth("verify") | OCTETS).json()
    assert [m["manifestId"] for m in found["matches"]] == [report["provenance"]["manifest_id"]]
    plain = _verify(svc, encode_audio(samples, rate))  # the same speech, never marked
    assert not plain["watermarks"][0]["detected"]
    # no evidence, or, where its content code lies within reach of the marked copy's (the mark, with
    # its random record id, moves the code by a few bits), a likeness that says so and decides nothing
    likeness = (plain.get("recovered") or {}).get("through") == "content-code"
    assert plain["verdict"] == ("inconclusive" if likeness else "no-evidence"), plain["label"]
    broken = _verify(svc, out.content[:4000])  # cut short: no 500, the reading says why
    assert broken["watermarks"][0]["verdict"] in ("inconclusive", "too-short")

    # another recording, signed without a watermark, then stripped and re-encoded: its content code
    # (the Chromaprint fingerprint's ISCC audio code, registered at signing) finds it, as a likeness.
    # Not the speech above: the marked copy's code lies within a few bits of it, so either
    # registration could be the nearer one.
    other, other_rate = speak(OTHER_TEXT)
    signed = svc.client.post(
        "/v1/provenance/sign?title=Voice&digital_source_type=trainedAlgorithmicMedia",
        content=encode_audio(other, other_rate, codec="libmp3lame", muxer="mp3", bit_rate=128_000),
        headers=svc.auth("sign") | {"content-type": "audio/mpeg"},
    )
    assert signed.status_code == 200, signed.text
    copy = _verify(svc, reencode(signed.content, "aac", "ipod", 128_000))
    assert copy["provenance"]["present"] is False and not copy["watermarks"][0]["detected"]
    rec = copy["recovered"]
    assert rec["through"] == "content-code" and rec["soft_binding_alg"] == "io.iscc.v0"
    assert rec["manifest"]["manifest_id"] == signed.headers["assay-manifest-id"] and rec["similarity"] >= 60 / 64
    assert copy["verdict"] == "inconclusive"
    assert copy["label"].startswith("Sounds like a recording signed as AI-generated by"), copy["label"]
