"""The verification page in a real headless Chromium (Debian ``chromium`` + ``chromium-driver``)."""

from __future__ import annotations

import hashlib
import io
import os
import shutil
import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest
from PIL import Image, ImageFilter
from skimage import data as skdata

from api.core.operations import Operations

from .conftest import Service, photo_jpeg

CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
CHROMEDRIVER = shutil.which("chromedriver") or "/usr/bin/chromedriver"


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


HUMAN = (
    "The ferry was late again on Tuesday, so I walked the long way round by the old mill. The river was "
    "high after the weekend's rain and somebody had tied a red scarf to the railing near the weir, which "
    "nobody could explain. My neighbour thinks it marks a bet between two fishermen; I think it simply blew "
    "there. Either way it was still flapping when I came back in the evening, soaked and faded."
)


def _shots() -> Path:
    """Where the screenshots go (``ASSAY_SCREENSHOTS`` to keep them; else a temporary folder)."""
    path = Path(os.environ.get("ASSAY_SCREENSHOTS") or tempfile.mkdtemp(prefix="assay-shots-"))
    path.mkdir(parents=True, exist_ok=True)
    return path


def _inserted_voice(svc: Service) -> bytes:
    """A voice (about 15 s) marked at strength 0.2 (the default 0.1 carries it 2 times in 3 here:
    see Figures), signed and recorded, put between 9 s of unmarked speech on each side, as an MP3
    without credentials: the page must say where the marked voice is."""
    import numpy as np

    from provenance.soft_binding import AUDIO_ALG, sign_and_store
    from tests.watermark.audio.test_audio_files import speak
    from watermark.audio import AudioWatermarker, encode_audio, mark_audio, read_audio

    voice, rate = speak()
    media = svc.runtime.media
    marked = mark_audio(encode_audio(voice, rate), AudioWatermarker(svc.runtime.text.keyring, strength=0.04))
    payload = marked.payload.to_bytes()
    sign_and_store(
        marked.data,
        "audio/wav",
        payload,
        media.credentials(),
        media.store,
        title="Harbour report",
        model="tts",
        signer=media.signer_name,
        alg=AUDIO_ALG,
    )
    samples, _ = read_audio(marked.data)
    other, _ = speak("Good evening. Rain spreads from the west tonight, heavy after midnight, with gales by morning.")
    mixed = np.concatenate([other, samples[:, 0], other])
    return encode_audio(mixed, rate, codec="libmp3lame", muxer="mp3", bit_rate=128_000)


@pytest.mark.slow
def test_journalist_checks_images_and_texts(served: tuple[str, Service], browser: object, tmp_path: Path) -> None:
    """Signed, stripped and recovered, tampered, human text, watermarked text, a marked voice inside
    other speech: the headline says what was found, who vouches for it and (a sound) where the mark
    is; each state is kept as a screenshot."""
    from selenium.webdriver.common.by import By

    base, svc = served
    d = browser  # a selenium WebDriver
    d.set_window_size(1100, 2200)  # type: ignore[attr-defined]
    shots = _shots()
    signed = svc.runtime.media.watermark_and_sign(photo_jpeg(), title="Harbour at dusk")
    buf = io.BytesIO()
    Image.open(io.BytesIO(signed.data)).save(buf, "JPEG", quality=85)  # a platform strips and re-encodes
    tampered = bytearray(signed.data)
    tampered[-200] ^= 0xFF  # one byte of the picture changed after signing
    files = {"signed": signed.data, "stripped": buf.getvalue(), "tampered": bytes(tampered), "plain": photo_jpeg()}
    files["inserted"] = _inserted_voice(svc)
    cat = io.BytesIO()
    Image.fromarray(skdata.chelsea()).save(cat, "JPEG", quality=92)
    cat_signed = svc.runtime.media.watermark_and_sign(cat.getvalue(), title="Cat on a sill")
    thumb = io.BytesIO()  # shrunk to a blurred thumbnail: the watermark is gone, the picture looks the same
    Image.open(io.BytesIO(cat_signed.data)).resize((240, 160)).filter(ImageFilter.GaussianBlur(2)).save(thumb, "JPEG")
    files["thumbnail"] = thumb.getvalue()
    from tests.watermark.video.test_video_watermark import clip, reencode

    clip_signed = svc.runtime.media.sign(  # a video signed without a watermark, then stripped and re-encoded
        clip(frames=30), title="Tide clip", digital_source_type="trainedAlgorithmicMedia"
    )
    files["video"] = reencode(clip_signed.data, crf="30")
    gen = svc.runtime.text.generate("Write two sentences about rivers.", max_new_tokens=60, seed=3)
    credentialed = Operations(svc.runtime).generate(
        "Write a short news story about a harbour.", actor="test", max_new_tokens=100, seed=4, credentials=True
    )

    d.get(base + "/")  # type: ignore[attr-defined]
    assert d.title.startswith("Assay")  # type: ignore[attr-defined]
    find = d.find_element  # type: ignore[attr-defined]

    def check_file(name: str, suffix: str = ".jpg") -> str:
        path = tmp_path / f"{name}{suffix}"
        path.write_bytes(files[name])
        find(By.ID, "file").send_keys(str(path))
        before = find(By.ID, "label").text
        find(By.ID, "check").click()
        _wait(d, lambda drv: find(By.ID, "result").is_displayed() and find(By.ID, "label").text != before)
        d.save_screenshot(str(shots / f"{name}-image.png"))  # type: ignore[attr-defined]
        return str(find(By.ID, "label").text)

    def check_text(name: str, text: str) -> str:
        box = find(By.ID, "text")
        box.clear()
        # a paste: ChromeDriver types only the Basic Multilingual Plane, and C2PA text credentials
        # are variation selectors beyond it
        d.execute_script(  # type: ignore[attr-defined]
            "arguments[0].value = arguments[1];arguments[0].dispatchEvent(new Event('input', {bubbles: true}));",
            box,
            text,
        )
        before = find(By.ID, "label").text
        find(By.ID, "check").click()
        _wait(d, lambda drv: find(By.ID, "label").text != before)
        d.save_screenshot(str(shots / f"{name}-text.png"))  # type: ignore[attr-defined]
        return str(find(By.ID, "label").text)

    # this server needs a key: the page says so before the first check; a check without one is refused
    assert find(By.ID, "auth").is_displayed() and "API key" in find(By.ID, "auth").text
    path = tmp_path / "first.jpg"
    path.write_bytes(signed.data)
    find(By.ID, "file").send_keys(str(path))
    find(By.ID, "check").click()
    _wait(d, lambda drv: "API key" in find(By.ID, "status").text)
    find(By.ID, "apikey").send_keys(svc.tokens["verify"])

    label = check_file("signed")
    assert label.startswith("Signed as AI-generated by Assay Development Signer") and "trust list" in label
    assert find(By.ID, "label").get_attribute("class") == "label ai"
    provenance = find(By.ID, "provenance").text
    assert "Intact signature — the signer is not on this server's trust list" in provenance
    assert "Harbour at dusk" in provenance and "Made by generative AI" in provenance and "Created" in provenance
    assert "trainedAlgorithmicMedia" not in provenance  # the IPTC code only in the expert details
    assert "not on this server's trust list" in find(By.ID, "provenance").text
    assert not d.find_elements(By.CSS_SELECTOR, "#provenance .bad")  # type: ignore[attr-defined]
    marks = find(By.ID, "watermarks")
    assert "Found the Assay watermark" in marks.text and signed.marked is not None
    assert signed.marked.payload.record_hex in marks.text and marks.find_element(By.CLASS_NAME, "found")
    assert not find(By.ID, "recovered-card").is_displayed()
    rules = find(By.ID, "rules").text  # the labelling rules, judged from what the file carries
    assert "China GB 45438-2025 meets" in rules and "EU AI Act Art. 50 partly meets" in rules, rules
    assert "Missing: a trusted time stamp" in rules and "California SB 942 meets" in rules
    assert "GB 45438 implicit label in the XMP metadata: AI-generated, made by Assay" in find(By.ID, "labels").text
    assert "cannot tell" in find(By.ID, "limits").text
    find(By.CSS_SELECTOR, "#feedback-card summary").click()  # a reader disputes the verdict
    find(By.ID, "fb-comment").send_keys("This is my own photo of the harbour.")
    find(By.ID, "fb-send").click()
    _wait(d, lambda drv: "Thank you" in find(By.ID, "fb-status").text)
    d.save_screenshot(str(shots / "signed-rules-and-feedback.png"))  # type: ignore[attr-defined]
    (kept,) = svc.runtime.feedback.recent()
    assert kept.content_sha256 == hashlib.sha256(signed.data).hexdigest() and kept.verdict_seen == "ai"
    find(By.CSS_SELECTOR, "#feedback-card summary").click()

    label = check_file("stripped")
    assert label.startswith("Credentials recovered through the watermark: signed as AI-generated")
    recovered = find(By.ID, "recovered")
    assert find(By.ID, "recovered-card").is_displayed() and "Harbour at dusk" in recovered.text
    assert "re-encoded or edited since signing" in recovered.text and "Problems" not in recovered.text

    label = check_file("thumbnail")  # no mark left; its content code is near the signed picture's
    assert label.startswith("Looks like a picture signed as AI-generated by Assay Development Signer"), label
    assert find(By.ID, "label").get_attribute("class") == "label inconclusive"
    recovered = find(By.ID, "recovered")
    assert "Cat on a sill" in recovered.text and "content code (ISCC; " in recovered.text
    assert "weaker evidence than a watermark" in find(By.ID, "recovered-intro").text

    label = check_file("video", ".mp4")  # no mark, no credentials: its video content code is near the signed one's
    assert label.startswith("Looks like a video signed as AI-generated by Assay Development Signer"), label
    recovered = find(By.ID, "recovered")
    assert "Tide clip" in recovered.text and "Found through the video's content code (ISCC; " in recovered.text
    assert "looks like a video signed here" in find(By.ID, "recovered-intro").text

    label = check_file("plain")  # no mark under any key: said in words, never as key "null"
    marks = find(By.ID, "watermarks").text
    assert "No Assay watermark found under" in marks and "null" not in marks, marks

    label = check_file("inserted", ".mp3")  # a marked voice between unmarked speech, credentials gone
    assert label.startswith("Credentials recovered through the watermark"), label
    marks = find(By.ID, "watermarks")
    assert "Found the Assay watermark" in marks.text and "Where the sound carries the mark: 0:0" in marks.text
    bar = find(By.CSS_SELECTOR, ".timeline-mark")  # drawn where the marked voice sits, not over the whole bar
    whole = find(By.CSS_SELECTOR, ".timeline-bar").size["width"]
    assert 0.15 * whole < bar.location["x"] - find(By.CSS_SELECTOR, ".timeline-bar").location["x"] < 0.35 * whole
    assert 0.4 * whole < bar.size["width"] < 0.75 * whole

    label = check_file("tampered")
    assert label.startswith("Credentials tampered: the file changed after signing")
    assert find(By.ID, "label").get_attribute("class") == "label tampered"
    assert "Tampered or damaged" in find(By.ID, "provenance").text

    label = check_text("human", HUMAN)
    assert not label.startswith(("Marked", "Signed", "Likely")), label
    assert find(By.ID, "ai-card").is_displayed() and find(By.ID, "ai").text
    assert "No Assay watermark found" in find(By.ID, "watermarks").text

    label = check_text("watermarked", gen.text)
    assert label == "Marked as AI-generated (Assay watermark)"
    _wait(d, lambda drv: find(By.ID, "marked-text").is_displayed())
    highlighted = d.find_elements(By.CSS_SELECTOR, "#highlighted mark")  # type: ignore[attr-defined]
    assert highlighted and sum(len(m.text) for m in highlighted) > len(gen.text) // 3
    find(By.CSS_SELECTOR, "#details-card summary").click()
    assert "p =" in find(By.ID, "details").text and "app-key" in find(By.ID, "details").text
    assert find(By.ID, "download").is_displayed()
    label = check_text("credentialed", credentialed.text)
    assert label.startswith("Signed as AI-generated by Assay Development Signer"), label
    assert "also carries the Assay watermark" in label
    assert "Intact signature" in find(By.ID, "provenance").text
    assert "Made by generative AI" in find(By.ID, "provenance").text
    copy = credentialed.generation.text.replace(" the ", " a ", 3)  # pasted as plain text, then edited
    label = check_text("recovered", "Earlier today residents met on the quay.\n\n" + copy)
    assert label.startswith("Credentials recovered through the watermark: signed as AI-generated"), label
    assert label.endswith("the text changed since signing")
    assert find(By.ID, "recovered-card").is_displayed() and "Generated text" in find(By.ID, "recovered").text
    assert "the text's fingerprint" in find(By.ID, "recovered").text
    assert "none in this text" in find(By.ID, "provenance").text
    actions = [e.action for e in svc.runtime.audit.entries()]
    assert actions == ["text.generate"] + ["verify"] * 11  # the refused first try never reached the operation
