from __future__ import annotations

import hashlib
import io
import json
from collections.abc import Callable

import pytest
import sqlalchemy as sa
from PIL import Image, ImageFilter
from skimage import data as skdata

from api.core.auth import SCOPES

from .conftest import SECRET, Service, photo_jpeg

PROBLEM = "application/problem+json"


def test_health_and_metrics_need_no_key(service: Service) -> None:
    c = service.client
    assert c.get("/healthz").json() == {"status": "ok"}
    r = c.get("/readyz")
    assert r.status_code == 503 and r.json() == {
        "ready": False,
        "model_loaded": False,
        "store_reachable": True,
        "rate_limits": "process",
        "redis_reachable": None,
    }
    r = c.get("/metrics")
    assert r.status_code == 200 and 'assay_requests_total{method="GET",route="/healthz",status="200"} 1.0' in r.text
    assert "assay_model_loaded 0.0" in r.text
    assert r.headers["x-content-type-options"] == "nosniff"


def test_every_route_but_health_needs_a_key_with_the_right_scope(service: Service) -> None:
    c = service.client
    routes = [
        ("post", "/v1/text/generate", "generate", {"json": {"prompt": "hi"}}),
        ("post", "/v1/text/detect", "verify", {"json": {"text": "hi"}}),
        ("post", "/v1/verify", "verify", {"content": b"hi", "headers": {"content-type": "text/plain"}}),
        ("post", "/v1/images/watermark", "sign", {"content": b"x", "headers": {"content-type": "image/png"}}),
        ("post", "/v1/provenance/sign", "sign", {"content": b"x", "headers": {"content-type": "image/png"}}),
        ("get", "/v1/matches/byBinding?alg=a&value=AA==", "verify", {}),
        ("get", "/v1/manifests/x", "verify", {}),
        ("get", "/v1/keys", "admin", {}),
    ]
    for method, path, scope, kwargs in routes:
        r = getattr(c, method)(path, **kwargs)
        assert r.status_code == 401 and r.headers["content-type"] == PROBLEM, path
        assert r.headers["www-authenticate"] == "Bearer"
        bad = dict(kwargs.get("headers", {})) | {"Authorization": "Bearer assay_nope_wrong"}
        assert getattr(c, method)(path, **(kwargs | {"headers": bad})).status_code == 401
        for other in SCOPES:
            if other in (scope, "admin"):
                continue
            headers = dict(kwargs.get("headers", {})) | service.auth(other)
            r = getattr(c, method)(path, **(kwargs | {"headers": headers}))
            assert r.status_code == 403 and r.json()["type"].endswith("/forbidden"), (path, other)


def test_revoked_key_is_refused_and_secrets_never_leak(service: Service) -> None:
    c = service.client
    r = c.get("/v1/keys", headers=service.auth("admin"))
    assert r.status_code == 200
    body = r.json()
    assert body["watermark_keys"] == [{"key_id": "app-key", "scheme": "kgw", "status": "active", "parameters": {}}]
    assert body["signer"]["development"] is True and SECRET not in r.text
    admin_id = service.tokens["admin"].split("_")[1]
    assert service.runtime.api_keys.revoke(admin_id)
    assert c.get("/v1/keys", headers=service.auth("admin")).status_code == 401
    with service.runtime.engine.connect() as conn:
        stored = " ".join(str(v) for row in conn.execute(sa.text("SELECT * FROM assay_api_keys")) for v in row)
    assert all(token.split("_", 2)[2] not in stored for token in service.tokens.values())


def test_anonymous_verification_is_a_setting_and_never_opens_signing(
    service_factory: Callable[..., Service],
) -> None:
    svc = service_factory(anonymous_verify=True)
    c = svc.client
    r = c.post("/v1/verify", content=b"Some short text to check.", headers={"content-type": "text/plain"})
    assert r.status_code == 200 and r.json()["content_type"] == "text/plain"
    r = c.post("/v1/images/watermark", content=photo_jpeg(), headers={"content-type": "image/jpeg"})
    assert r.status_code == 401
    assert svc.runtime.audit.count() == 1  # the anonymous verification is audited too
    entry = next(svc.runtime.audit.entries())
    assert entry.actor.startswith("anonymous:") and entry.action == "verify"


def test_the_page_says_before_the_first_check_whether_a_key_is_needed(
    service: Service, service_factory: Callable[..., Service]
) -> None:
    assert '<div id="auth">' in service.client.get("/").text  # the key field shown from the start
    assert '<div id="auth" hidden>' in service_factory(anonymous_verify=True).client.get("/").text


def test_bad_requests_are_problem_json(service: Service) -> None:
    c, h = service.client, service.auth("verify")
    r = c.post("/v1/text/detect", json={"text": "   "}, headers=h)
    assert r.status_code == 422 and r.headers["content-type"] == PROBLEM
    assert r.json()["type"].endswith("/invalid-input")
    r = c.post("/v1/text/detect", json={"text": ""}, headers=h)
    assert r.status_code == 422 and r.json()["detail"].startswith("the request body field 'text' is invalid")
    r = c.post("/v1/text/detect", json={"nope": 1}, headers=h)
    assert r.status_code == 422 and r.json()["type"].endswith("/invalid-request")
    r = c.post("/v1/text/detect", content=b"{not json", headers=h | {"content-type": "application/json"})
    assert r.status_code == 422
    r = c.post("/v1/text/detect", json={"text": "x" * 300_000}, headers=h)
    assert r.status_code == 413 and r.json()["type"].endswith("/payload-too-large")
    r = c.post("/v1/text/detect", content=b"a" * (33 * 1024 * 1024), headers=h | {"content-type": "application/json"})
    assert r.status_code == 413

    def chunks():  # streamed without a Content-Length header
        for _ in range(34):
            yield b" " * (1024 * 1024)

    r = c.post("/v1/text/detect", content=chunks(), headers=h | {"content-type": "application/json"})
    assert r.status_code == 413 and r.headers["content-type"] == PROBLEM
    g = service.auth("generate")
    r = c.post("/v1/text/generate", json={"prompt": "hi", "messages": [{"role": "user", "content": "hi"}]}, headers=g)
    assert r.status_code == 422
    r = c.post("/v1/text/generate", json={"prompt": "hi", "max_new_tokens": 2000}, headers=g)
    assert r.status_code == 422 and "limited" in r.json()["detail"]
    assert c.get("/nowhere").headers["content-type"] == PROBLEM


def test_image_uploads_are_validated(service: Service) -> None:
    c, s, v = service.client, service.auth("sign"), service.auth("verify")
    jpeg = photo_jpeg()
    cases = [
        (jpeg[: len(jpeg) // 3], "image/jpeg", 422),  # truncated
        (b"%PDF-1.7 not an image", "application/pdf", 415),  # wrong type
        (b"", "image/png", 422),  # empty
        (b"just words", "text/plain", 415),  # a text where an image is needed
        (b"\x00" * 64, "image/png", 415),  # garbage claiming to be an image: not a format Assay reads
    ]
    for data, ctype, status in cases:
        r = c.post("/v1/images/watermark", content=data, headers=s | {"content-type": ctype})
        assert r.status_code == status and r.headers["content-type"] == PROBLEM, (ctype, r.text)
    # a decompression bomb: a tiny PNG that declares 30000 x 30000 pixels
    buf = io.BytesIO()
    Image.new("L", (30000, 30000)).save(buf, "PNG")
    r = c.post("/v1/verify", content=buf.getvalue(), headers=v | {"content-type": "image/png"})
    assert r.status_code == 413 and r.json()["type"].endswith("/payload-too-large")
    r = c.post("/v1/verify", files={"other": ("a.txt", b"x", "text/plain")}, headers=v)
    assert r.status_code == 422 and "file" in r.json()["detail"]
    r = c.post("/v1/verify", content=b"x", headers=v)  # no content type at all
    assert r.status_code == 415
    r = c.post(
        "/v1/provenance/sign?digital_source_type=madeUp", content=jpeg, headers=s | {"content-type": "image/jpeg"}
    )
    assert r.status_code == 422 and "digital source type" in r.json()["detail"]
    r = c.get("/v1/matches/byBinding?alg=x&value=not*base64", headers=v)
    assert r.status_code == 422
    r = c.get("/v1/manifests/urn:uuid:nothing", headers=v)
    assert r.status_code == 404 and r.json()["type"].endswith("/manifest-not-found")
    # refusals inside a route are audited as errors; nothing was stored
    results = [e.result for e in service.runtime.audit.entries()]
    assert results and all(r.startswith("error:") for r in results) and service.runtime.audit.verify().ok
    with service.runtime.engine.connect() as conn:
        assert conn.execute(sa.text("SELECT count(*) FROM assay_manifests")).scalar_one() == 0


def test_watermark_sign_verify_recover_over_http(service: Service) -> None:
    c, s, v = service.client, service.auth("sign"), service.auth("verify")
    original = photo_jpeg()
    r = c.post("/v1/images/watermark?title=Forest", files={"file": ("forest.jpg", original, "image/jpeg")}, headers=s)
    assert r.status_code == 200 and r.headers["content-type"] == "image/jpeg", r.text
    manifest_id, record_id = r.headers["assay-manifest-id"], r.headers["assay-record-id"]
    signed = r.content

    report = c.post("/v1/verify", content=signed, headers=v | {"content-type": "image/jpeg"}).json()
    assert report["verdict"] == "ai" and report["watermarks"][0]["detected"]
    assert report["watermarks"][0]["record_id"] == record_id
    prov = report["provenance"]
    assert prov["present"] and prov["validation_state"] == "Valid" and prov["development_signer"]
    assert prov["digital_source_type"].endswith("trainedAlgorithmicMedia")
    # one id for the credentials: the header, the store and the manifest in the file
    assert prov["manifest_id"] == manifest_id and manifest_id.startswith("urn:c2pa:")
    assert prov["title"] == "Forest" and report["label"].startswith("Signed as AI-generated by")

    # strip the metadata by re-encoding: the watermark leads back to the stored manifest
    buf = io.BytesIO()
    Image.open(io.BytesIO(signed)).save(buf, "JPEG", quality=85)
    stripped = buf.getvalue()
    report = c.post("/v1/verify", files={"file": ("x.jpg", stripped, "image/jpeg")}, headers=v).json()
    assert report["provenance"]["present"] is False
    assert report["recovered"]["manifest"]["manifest_id"] == manifest_id and report["verdict"] == "ai"

    binding = report["watermarks"][0]
    r = c.post("/v1/matches/byContent", content=stripped, headers=v | {"content-type": "image/jpeg"})
    assert r.json()["matches"][0]["manifestId"] == manifest_id and r.json()["watermark"]["detected"]
    value = service.runtime.store.record(manifest_id).soft_bindings[0][1]
    r = c.get("/v1/matches/byBinding", params={"alg": "com.assay.image-ss.1", "value": value}, headers=v)
    assert r.json() == {"matches": [{"manifestId": manifest_id, "similarityScore": 100}]}
    assert binding["record_id"] == record_id
    r = c.get(f"/v1/manifests/{manifest_id}", headers=v)
    assert r.status_code == 200 and r.headers["content-type"] == "application/c2pa" and len(r.content) > 1000

    # signing without a watermark: a camera capture, declared as such
    r = c.post(
        "/v1/provenance/sign?title=Capture&digital_source_type=digitalCapture&software_agent=Camera",
        content=original,
        headers=s | {"content-type": "image/jpeg"},
    )
    assert r.status_code == 200 and "assay-record-id" not in r.headers
    report = c.post("/v1/verify", content=r.content, headers=v | {"content-type": "image/jpeg"}).json()
    assert report["provenance"]["digital_source_type"].endswith("digitalCapture")
    assert report["provenance"]["soft_bindings"] == ["io.iscc.v0"]  # its content code, registered too
    assert report["verdict"] == "no-evidence" and not report["watermarks"][0]["detected"]
    assert report["label"].startswith("Signed as a camera capture by")

    rows = list(service.runtime.audit.entries())
    assert [e.action for e in rows] == ["image.watermark", "verify", "verify", "provenance.sign", "verify"]
    assert rows[0].key_id == "app-key" and json.loads(rows[0].detail)["manifest_id"] == manifest_id
    assert all(e.actor.startswith("key:") for e in rows)

    # a photograph signed, then shrunk to a blurred thumbnail: the watermark is gone, the picture
    # still looks like the signed one (its ISCC content code, registered at signing, is near)
    buf = io.BytesIO()
    Image.fromarray(skdata.chelsea()).save(buf, "JPEG", quality=92)
    r = c.post("/v1/images/watermark?title=Cat", files={"file": ("cat.jpg", buf.getvalue(), "image/jpeg")}, headers=s)
    manifest_id = r.headers["assay-manifest-id"]
    thumb = Image.open(io.BytesIO(r.content)).resize((240, 160)).filter(ImageFilter.GaussianBlur(2))
    buf = io.BytesIO()
    thumb.save(buf, "JPEG", quality=60)
    r = c.post("/v1/verify", content=buf.getvalue(), headers=v | {"content-type": "image/jpeg"})
    assert r.status_code == 200, r.text
    report = r.json()
    assert not report["watermarks"][0]["detected"]
    rec = report["recovered"]
    assert rec["through"] == "content-code" and rec["soft_binding_alg"] == "io.iscc.v0"
    assert rec["manifest"]["manifest_id"] == manifest_id and not rec["hard_binding_matches"]
    assert report["verdict"] == "inconclusive", report["label"]  # a likeness is not proof
    assert report["label"].startswith("Looks like a picture signed as AI-generated by"), report["label"]
    assert "fingerprint" in report["compliance"][0]["layers"]
    r = c.post("/v1/matches/byContent", content=buf.getvalue(), headers=v | {"content-type": "image/jpeg"})
    top = r.json()["matches"][0]
    assert top["manifestId"] == manifest_id and top["similarityScore"] >= 90 and not r.json()["watermark"]["detected"]


def test_rate_limit_answers_429_with_retry_after(service_factory: Callable[..., Service]) -> None:
    svc = service_factory(rate_limit_per_minute=1, rate_limit_burst=2)
    h = svc.auth("verify")
    codes = [
        svc.client.get("/v1/matches/byBinding", params={"alg": "a", "value": "AA=="}, headers=h).status_code
        for _ in range(3)
    ]
    assert codes == [200, 200, 429]
    r = svc.client.get("/v1/matches/byBinding", params={"alg": "a", "value": "AA=="}, headers=h)
    assert r.json()["type"].endswith("/rate-limited") and int(r.headers["retry-after"]) >= 1
    other = svc.client.get("/v1/matches/byBinding", params={"alg": "a", "value": "AA=="}, headers=svc.auth("admin"))
    assert other.status_code == 200  # limits are per key


def test_openapi_lists_every_route(service: Service) -> None:
    doc = service.client.get("/openapi.json").json()
    paths = set(doc["paths"])
    assert {
        "/v1/text/generate",
        "/v1/text/detect",
        "/v1/images/watermark",
        "/v1/verify",
        "/v1/provenance/sign",
        "/v1/matches/byBinding",
        "/v1/matches/byContent",
        "/v1/manifests/{manifest_id}",
        "/v1/keys",
        "/healthz",
        "/readyz",
        "/metrics",
    } <= paths


def test_web_page_is_served_offline(service: Service) -> None:
    c = service.client
    page = c.get("/")
    assert page.status_code == 200 and "<title>Assay" in page.text
    assert "http://" not in page.text and "https://" not in page.text  # nothing from a CDN
    js = c.get("/static/app.js")
    assert js.status_code == 200 and "/v1/verify" in js.text and "https://" not in js.text
    assert "script-src 'self'" in page.headers["content-security-policy"]


@pytest.mark.slow
def test_generate_stream_and_detect_over_http(service: Service) -> None:
    c, g, v = service.client, service.auth("generate"), service.auth("verify")
    body = {"messages": [{"role": "user", "content": "Describe a forest."}], "max_new_tokens": 60, "seed": 2}
    r = c.post("/v1/text/generate", json=body, headers=g)
    assert r.status_code == 200, r.text
    gen = r.json()
    assert gen["watermark"]["key_id"] == "app-key" and SECRET not in r.text and gen["record_id"].startswith("urn:uuid:")
    report = c.post("/v1/text/detect", json={"text": gen["text"]}, headers=v).json()
    assert report["watermarks"][0]["detected"] and report["label"] == "Marked as AI-generated (Assay watermark)"

    with c.stream("POST", "/v1/text/generate", json=body | {"stream": True}, headers=g) as r:
        assert r.headers["content-type"].startswith("text/event-stream")
        raw = "".join(r.iter_text())
    events = [block for block in raw.split("\n\n") if block.strip()]
    parsed = [
        (e.split("\n")[0].removeprefix("event: "), json.loads(e.split("\n")[1].removeprefix("data: "))) for e in events
    ]
    deltas = "".join(d["text"] for kind, d in parsed if kind == "delta")
    kind, done = parsed[-1]
    assert kind == "done" and done["text"] == gen["text"] == deltas  # same seed: the same text, streamed
    assert service.client.get("/readyz").json()["model_loaded"]
    entries = list(service.runtime.audit.entries())
    assert [e.action for e in entries] == ["text.generate", "text.detect", "text.generate"]
    detail = json.loads(entries[0].detail)
    assert detail["record_id"] == gen["record_id"]
    assert detail["output_sha256"] == hashlib.sha256(gen["text"].encode()).hexdigest()


@pytest.mark.slow
@pytest.mark.parametrize("active", ["synthid", "gumbel"])
def test_every_scheme_generates_streams_and_is_detected_through_the_service(
    service_factory: Callable[..., Service], active: str
) -> None:
    """The key ring's `scheme` selects the watermark for the same generate, stream and detect path."""
    ring = "".join(
        f'[[keys]]\nid = "{s}-key"\nscheme = "{s}"\nsecret = "{SECRET}-{s}"\nactive = {str(s == active).lower()}\n\n'
        for s in ("kgw", "synthid", "gumbel", "unigram")
    )
    svc = service_factory(keyring_toml=ring)
    c, g, v = svc.client, svc.auth("generate"), svc.auth("verify")
    listed = {k["key_id"]: k for k in c.get("/v1/keys", headers=svc.auth("admin")).json()["watermark_keys"]}
    assert {k["scheme"] for k in listed.values()} == {"kgw", "synthid", "gumbel", "unigram"}
    assert listed[f"{active}-key"]["status"] == "active"
    body = {"messages": [{"role": "user", "content": "Describe a forest."}], "max_new_tokens": 60, "seed": 2}
    gen = c.post("/v1/text/generate", json=body, headers=g).json()
    assert gen["watermark"]["scheme"] == active and SECRET not in json.dumps(gen)
    with c.stream("POST", "/v1/text/generate", json=body | {"stream": True}, headers=g) as r:
        raw = "".join(r.iter_text())
    done = json.loads(raw.strip().split("\n\n")[-1].split("\n")[1].removeprefix("data: "))
    assert done["text"] == gen["text"]  # the same seed streams the same marked text
    report = c.post("/v1/text/detect", json={"text": gen["text"]}, headers=v).json()
    best = report["watermarks"][0]
    assert best["key_id"] == f"{active}-key" and best["detected"], best
    assert best["keys_tried"] == 4


def test_an_unexpected_error_is_a_logged_500_problem_with_the_security_headers(
    service: Service, caplog: pytest.LogCaptureFixture
) -> None:
    """A broken store (its table dropped under the running service) is not an Assay error: the
    client gets a plain 500 problem with the usual headers, the details go to the log only."""
    with service.runtime.engine.begin() as conn:
        conn.execute(sa.text("DROP TABLE assay_manifests"))
    r = service.client.get("/v1/manifests/x", headers=service.auth("verify"))
    assert r.status_code == 500 and r.headers["content-type"] == PROBLEM
    assert r.json()["detail"] == "an unexpected error occurred; it has been logged"
    assert "assay_manifests" not in r.text and "Traceback" not in r.text
    assert r.headers["x-content-type-options"] == "nosniff" and "content-security-policy" in r.headers
    assert any("unexpected error" in m for m in caplog.messages)
    metrics = service.client.get("/metrics").text
    assert 'route="/v1/manifests/{manifest_id}",status="500"' in metrics
