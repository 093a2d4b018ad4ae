from __future__ import annotations

from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from api.app import create_app
from api.settings import Settings

SECRET = "app-test-secret-value"
RING = f'[[keys]]\nid = "app-key"\nscheme = "kgw"\nsecret = "{SECRET}"\n'


@pytest.fixture
def client(env: Path) -> TestClient:
    settings = Settings(keyring_toml=RING)  # type: ignore[arg-type]
    return TestClient(create_app(settings))


def test_health(client: TestClient) -> None:
    assert client.get("/healthz").json() == {"status": "ok"}


def test_bad_requests_are_problem_json(client: TestClient) -> None:
    r = client.post("/v1/text/detect", json={"text": ""})
    assert r.status_code == 422 and r.headers["content-type"] == "application/problem+json"
    assert r.json()["type"].endswith("/invalid-input")
    r = client.post("/v1/text/detect", json={"nope": 1})
    assert r.status_code == 422 and r.json()["type"].endswith("/invalid-request")
    r = client.post("/v1/text/detect", content=b"{not json", headers={"content-type": "application/json"})
    assert r.status_code == 422
    r = client.post("/v1/text/detect", json={"text": "x" * 300_000})
    assert r.status_code == 413 and r.json()["type"].endswith("/payload-too-large")
    r = client.post("/v1/text/detect", content=b"a" * (5 * 1024 * 1024), headers={"content-type": "application/json"})
    assert r.status_code == 413

    def chunks():  # streamed without a Content-Length header
        for _ in range(6):
            yield b" " * (1024 * 1024)

    r = client.post("/v1/text/detect", content=chunks(), headers={"content-type": "application/json"})
    assert r.status_code == 413 and r.headers["content-type"] == "application/problem+json"
    r = client.post("/v1/text/generate", json={"prompt": "hi", "messages": [{"role": "user", "content": "hi"}]})
    assert r.status_code == 422
    r = client.post("/v1/text/generate", json={"prompt": "hi", "max_new_tokens": 2000})
    assert r.status_code == 422 and "limited" in r.json()["detail"]


@pytest.mark.slow
def test_generate_and_detect_over_http(client: TestClient) -> None:
    r = client.post(
        "/v1/text/generate",
        json={"messages": [{"role": "user", "content": "Describe a forest."}], "max_new_tokens": 80, "seed": 2},
    )
    assert r.status_code == 200, r.text
    body = r.json()
    assert body["watermark"]["key_id"] == "app-key" and SECRET not in r.text
    r = client.post("/v1/text/detect", json={"text": body["text"]})
    report = r.json()
    assert r.status_code == 200 and report["watermarks"][0]["detected"]
    assert report["label"].startswith("AI-generated")
    plain = client.post(
        "/v1/text/generate", json={"prompt": "Describe a forest.", "max_new_tokens": 80, "watermark": False, "seed": 2}
    ).json()
    assert plain["watermark"] is None
    report = client.post("/v1/text/detect", json={"text": plain["text"]}).json()
    assert not report["watermarks"][0]["detected"]
