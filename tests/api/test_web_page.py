"""The verification page in a real headless Chromium (Debian ``chromium`` + ``chromium-driver``)."""

from __future__ import annotations

import shutil
import socket
import tempfile
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
import uvicorn

from api.app import create_app

from .conftest import Service, make_service, photo_jpeg

CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
CHROMEDRIVER = shutil.which("chromedriver") or "/usr/bin/chromedriver"


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


@pytest.fixture
def browser() -> Iterator[object]:
    if not (Path(CHROMIUM).exists() and Path(CHROMEDRIVER).exists()):
        pytest.fail("the page test needs Debian's chromium and chromium-driver (`make install` installs them)")
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service as DriverService

    options = webdriver.ChromeOptions()
    options.binary_location = CHROMIUM
    profile = tempfile.mkdtemp(prefix="assay-chromium-")
    for flag in (
        "--headless=new",
        "--no-sandbox",
        "--disable-gpu",
        "--disable-dev-shm-usage",
        "--disable-quic",
        "--no-first-run",
        "--disable-background-networking",
        "--disable-component-update",
        "--disable-sync",
        f"--user-data-dir={profile}",
    ):
        options.add_argument(flag)
    driver = webdriver.Chrome(options=options, service=DriverService(executable_path=CHROMEDRIVER))
    try:
        yield driver
    finally:
        driver.quit()
        shutil.rmtree(profile, ignore_errors=True)


def _wait(driver, condition, timeout: float = 60.0):  # type: ignore[no-untyped-def]
    from selenium.webdriver.support.ui import WebDriverWait

    return WebDriverWait(driver, timeout).until(condition)


@pytest.mark.slow
def test_journalist_checks_a_signed_image_and_a_marked_text(
    served: tuple[str, Service], browser: object, tmp_path: Path
) -> None:
    from selenium.webdriver.common.by import By

    base, svc = served
    d = browser  # a selenium WebDriver
    signed = svc.runtime.media.watermark_and_sign(photo_jpeg(), title="Harbour at dusk")
    image = tmp_path / "harbour.jpg"
    image.write_bytes(signed.data)
    gen = svc.runtime.text.generate("Write two sentences about rivers.", max_new_tokens=60, seed=3)

    d.get(base + "/")  # type: ignore[attr-defined]
    assert d.title.startswith("Assay")  # type: ignore[attr-defined]
    find = d.find_element  # type: ignore[attr-defined]
    find(By.ID, "file").send_keys(str(image))
    find(By.ID, "check").click()
    # no key yet: the page asks for one, then succeeds with it
    _wait(d, lambda drv: find(By.ID, "auth").is_displayed())
    assert "API key" in find(By.ID, "status").text
    find(By.ID, "apikey").send_keys(svc.tokens["verify"])
    find(By.ID, "check").click()
    _wait(d, lambda drv: find(By.ID, "result").is_displayed())
    label = find(By.ID, "label")
    assert label.text.startswith("AI-generated") and "ai" in label.get_attribute("class").split()
    provenance = find(By.ID, "provenance").text
    assert "valid signature, signer not publicly trusted" in provenance
    assert "Assay Development Signer" in provenance and "trainedAlgorithmicMedia" in provenance
    marks = find(By.ID, "watermarks").text
    assert 'key "app-key"' in marks and signed.marked is not None and signed.marked.payload.record_hex in marks
    assert not find(By.ID, "recovered-card").is_displayed()

    # the text: label, and the marked passage highlighted
    text_box = find(By.ID, "text")
    text_box.send_keys(gen.text)
    find(By.ID, "check").click()
    _wait(
        d,
        lambda drv: (
            find(By.ID, "label").get_attribute("class") == "label ai" and find(By.ID, "marked-text").is_displayed()
        ),
    )
    assert "watermark" in find(By.ID, "label").text
    highlighted = d.find_elements(By.CSS_SELECTOR, "#highlighted mark")  # type: ignore[attr-defined]
    assert highlighted and sum(len(m.text) for m in highlighted) > len(gen.text) // 3
    assert find(By.ID, "ai-card").is_displayed() and find(By.ID, "ai").text
    assert find(By.ID, "download").is_displayed()
    actions = [e.action for e in svc.runtime.audit.entries()]
    assert actions == ["verify", "verify"]  # the refused first try never reached the route
