from __future__ import annotations

import io
import socket
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pytest
import uvicorn
from fastapi.testclient import TestClient
from PIL import Image

from api.core.runtime import Runtime
from api.core.settings import Settings
from api.http.app import create_app

from .servers import postgres_server, redis_server

__all__ = ["postgres_server", "redis_server"]  # fixtures for every test here

SECRET = "app-test-secret-value"
PROBLEM_TYPE = "application/problem+json"
RING = f'[[keys]]\nid = "app-key"\nscheme = "kgw"\nsecret = "{SECRET}"\n'


@pytest.fixture
def env(tmp_path: Path, cache_dir: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A fresh data directory (key ring created on first use) sharing the model cache."""
    for name in ("ASSAY_KEYRING", "ASSAY_KEYRING_TOML", "ASSAY_MODEL", "ASSAY_CONFIG", "ASSAY_STORE_URL"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("ASSAY_DATA_DIR", str(tmp_path / "data"))
    monkeypatch.setenv("ASSAY_CACHE_DIR", str(cache_dir))
    # The embedded model's statistic alone keeps these tests fast; the tests of the two-model
    # default (the contract test, `detect train`, tests/detect) turn it back on.
    monkeypatch.setenv("ASSAY_AI_SECOND_MODEL", "false")
    return tmp_path / "data"


@dataclass
class Service:
    """A test client on a fresh runtime, with one token per scope."""

    client: TestClient
    runtime: Runtime
    tokens: dict[str, str]

    def auth(self, scope: str) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.tokens[scope]}"}


def make_service(**overrides: object) -> Service:
    settings = Settings(**{"keyring_toml": RING, "warm_on_start": False, **overrides})  # type: ignore[arg-type]
    rt = Runtime.open(settings)
    tokens = {
        scope: rt.api_keys.create(f"test {scope}", [scope])[1] for scope in ("generate", "sign", "verify", "admin")
    }
    return Service(TestClient(create_app(runtime=rt)), rt, tokens)


@pytest.fixture
def service(env: Path) -> Service:
    return make_service()


@pytest.fixture
def service_factory(env: Path) -> Callable[..., Service]:
    return make_service


@pytest.fixture
def served(env: Path) -> Iterator[tuple[str, Service]]:
    svc = make_service()
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    server = uvicorn.Server(
        uvicorn.Config(create_app(runtime=svc.runtime), host="127.0.0.1", port=port, log_level="warning")
    )
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    for _ in range(200):
        if server.started:
            break
        time.sleep(0.05)
    try:
        yield f"http://127.0.0.1:{port}", svc
    finally:
        server.should_exit = True
        thread.join(timeout=10)


def photo_jpeg(size: tuple[int, int] = (640, 480), quality: int = 92) -> bytes:
    """A textured, photo-like JPEG (smooth gradients plus noise)."""
    w, h = size
    rng = np.random.default_rng(7)
    y, x = np.mgrid[0:h, 0:w]
    base = np.stack([128 + 60 * np.sin(x / 37.0), 128 + 60 * np.cos(y / 23.0), 128 + 40 * np.sin((x + y) / 51.0)], -1)
    pixels = np.clip(base + rng.normal(0, 18, base.shape), 0, 255).astype(np.uint8)
    buf = io.BytesIO()
    Image.fromarray(pixels).save(buf, "JPEG", quality=quality)
    return buf.getvalue()
