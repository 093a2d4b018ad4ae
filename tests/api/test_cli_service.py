"""The service-side commands: watermark, sign, verify, scan, keys (rotate, API keys), audit, serve."""

from __future__ import annotations

import csv
import io
import json
import os
import socket
import sqlite3
import subprocess
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path

from PIL import Image

from .conftest import photo_jpeg
from .test_cli import run


def test_watermark_verify_strip_recover_and_audit(tmp_path: Path, env: Path) -> None:
    src, out = tmp_path / "photo.jpg", tmp_path / "signed.jpg"
    src.write_bytes(photo_jpeg())
    code, stdout, err = run("watermark", str(src), str(out), "--title", "Harbour", "--json")
    assert code == 0, err
    info = json.loads(stdout)
    assert info["watermark"]["key_id"] and info["development_signer"] and out.is_file()
    code, stdout, _ = run("verify", str(out), "--json")
    report = json.loads(stdout)
    assert code == 0 and report["verdict"] == "ai" and report["provenance"]["validation_state"] == "Valid"
    stripped = tmp_path / "stripped.png"
    Image.open(out).save(stripped)  # a new file with no credentials at all
    code, stdout, _ = run("verify", str(stripped))
    headline = stdout.splitlines()[0]
    assert code == 0 and headline.startswith("Credentials recovered through the watermark: signed as AI-generated")
    assert info["manifest_id"] in stdout and info["manifest_id"].startswith("urn:c2pa:")

    code, stdout, err = run("sign", str(src), str(tmp_path / "capture.jpg"), "--source-type", "digitalCapture")
    assert code == 0 and "signed by Assay Development Signer" in stdout and "not publicly trusted" in err
    code, stdout, _ = run("verify", "--json", "-", input="A few words of plain text, typed by hand.")
    assert code == 0 and json.loads(stdout)["content_type"] == "text/plain"

    code, stdout, _ = run("audit", "verify", "--json")
    check = json.loads(stdout)
    assert code == 0 and check["ok"] and check["rows"] == 5
    code, stdout, _ = run("audit", "export", "--format", "csv")
    rows = list(csv.DictReader(io.StringIO(stdout)))
    assert [r["action"] for r in rows] == ["image.watermark", "verify", "verify", "provenance.sign", "verify"]
    assert rows[0]["actor"].startswith("cli:") and rows[0]["result"] == "signed"
    with sqlite3.connect(env / "assay.db") as db:  # someone edits the log by hand
        db.execute("UPDATE assay_audit SET result = 'no-evidence' WHERE seq = 2")
    code, _, err = run("audit", "verify")
    assert code == 1 and "row 2 was altered" in err

    code, _, err = run("verify", str(tmp_path / "nothing.jpg"))
    assert code == 2 and "cannot read" in err
    (tmp_path / "cut.jpg").write_bytes(src.read_bytes()[:2000])
    code, stdout, err = run("watermark", str(tmp_path / "cut.jpg"), str(tmp_path / "never.jpg"))
    assert code == 2 and not (tmp_path / "never.jpg").exists() and "Traceback" not in stdout + err


def test_keys_rotate_and_api_keys(tmp_path: Path, env: Path) -> None:
    ring = tmp_path / "ring.toml"
    assert run("keys", "init", str(ring), "--id", "k1")[0] == 0
    code, stdout, _ = run("keys", "rotate", "k2", "--keys", str(ring))
    assert code == 0 and "'k2' is now active" in stdout
    rows = json.loads(run("keys", "list", "--keys", str(ring), "--json")[1])
    assert [(r["key_id"], r["active"]) for r in rows] == [("k1", False), ("k2", True)]
    code, _, err = run("keys", "rotate", "k2", "--keys", str(ring))
    assert code != 0 and "already holds" in err

    code, token, _ = run("keys", "api", "create", "newsroom", "--scope", "verify", "--scope", "generate")
    assert code == 0 and token.startswith("assay_")
    listed = json.loads(run("keys", "api", "list", "--json")[1])
    assert listed[0]["name"] == "newsroom" and listed[0]["scopes"] == ["verify", "generate"]
    assert token.strip().split("_", 2)[2] not in json.dumps(listed)
    assert run("keys", "api", "revoke", listed[0]["key_id"])[0] == 0
    assert run("keys", "api", "revoke", listed[0]["key_id"])[0] == 2
    code, _, err = run("keys", "api", "create", "x", "--scope", "root")
    assert code == 2


def test_scan_folder_writes_html_csv_json(tmp_path: Path, env: Path, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    monkeypatch.setenv("ASSAY_AI_LIKELIHOOD", "false")
    folder = tmp_path / "corpus"
    folder.mkdir()
    signed = tmp_path / "signed.jpg"
    (tmp_path / "photo.jpg").write_bytes(photo_jpeg())
    assert run("watermark", str(tmp_path / "photo.jpg"), str(signed))[0] == 0
    (folder / "a-marked.jpg").write_bytes(signed.read_bytes())
    (folder / "b-plain.jpg").write_bytes(photo_jpeg((400, 300)))
    (folder / "c-note.txt").write_text("A short note written by a person, long enough to tokenise into a few words.")
    (folder / "d-broken.png").write_bytes(b"\x89PNG\r\n\x1a\n broken")
    code, _, err = run("scan", str(folder), "--out", str(tmp_path / "report.html"))
    assert code == 0, err
    page = (tmp_path / "report.html").read_text()
    assert page.count("<svg") == 3 and "a-marked.jpg" in page and "https://" not in page
    assert "assay 0.1.0" in page and "false-positive rate" in page and "True" not in page
    head = json.loads(run("audit", "verify", "--json")[1])["head"]
    assert head in page  # the audit head when the scan ended: a later truncation is caught with --expect-head
    assert run("scan", str(folder), "--out", str(tmp_path / "report.csv"), "--no-progress")[0] == 0
    rows = list(csv.DictReader(io.StringIO((tmp_path / "report.csv").read_text())))
    # every row matches its audit row by SHA-256
    code, exported, _ = run("audit", "export", "--format", "csv")
    subjects = {r["subject_sha256"] for r in csv.DictReader(io.StringIO(exported)) if r["action"] == "verify"}
    assert {r["sha256"] for r in rows} <= subjects
    assert [(r["id"], r["verdict"]) for r in rows] == [
        ("a-marked.jpg", "ai"),
        ("b-plain.jpg", "no-evidence"),
        ("c-note.txt", rows[2]["verdict"]),
        ("d-broken.png", "error"),
    ]
    assert rows[2]["verdict"] in ("no-evidence", "inconclusive") and rows[0]["watermark_detected"] == "yes"
    assert rows[0]["signer"] == "Assay Development Signer" and rows[0]["manifest_id"].startswith("urn:c2pa:")
    assert rows[1]["watermark_detected"] == "no" and rows[3]["error"] == "unsupported-media"
    jsonl = tmp_path / "items.jsonl"
    jsonl.write_text(
        json.dumps({"id": "t1", "text": "Hello there, a text."}) + "\n" + json.dumps({"path": str(signed)})
    )
    code, stdout, _ = run("scan", str(jsonl), "--no-progress")
    result = json.loads(stdout)
    assert code == 0 and result["summary"]["items"] == 2 and result["items"][1]["verdict"] == "ai"
    (tmp_path / "bad.jsonl").write_text('{"nothing": 1}\n')
    code, _, err = run("scan", str(tmp_path / "bad.jsonl"))
    assert code == 2 and "bad.jsonl:1" in err


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def test_serve_starts_prints_where_the_admin_key_is_and_answers(tmp_path: Path, env: Path) -> None:
    port = _free_port()
    envs = os.environ | {"ASSAY_WARM_ON_START": "false", "ASSAY_PORT": str(port)}
    proc = subprocess.Popen(
        [str(Path(sys.executable).parent / "assay"), "serve"],
        env=envs,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    try:
        lines = [proc.stdout.readline() for _ in range(3)]  # type: ignore[union-attr]
        assert f"http://127.0.0.1:{port}/" in lines[0]
        key_file = env / "admin-api-key"
        assert str(key_file) in lines[1] and oct(key_file.stat().st_mode & 0o777) == "0o600"
        token = key_file.read_text().strip()
        assert token not in "".join(lines)
        for _ in range(100):
            try:
                with urllib.request.urlopen(f"http://127.0.0.1:{port}/healthz") as r:
                    assert json.load(r) == {"status": "ok"}
                break
            except OSError:
                time.sleep(0.1)
        req = urllib.request.Request(f"http://127.0.0.1:{port}/v1/keys", headers={"Authorization": f"Bearer {token}"})
        with urllib.request.urlopen(req) as r:
            assert json.load(r)["signer"]["development"] is True
        try:  # a client that puts its key in the URL is refused, and the access log does not keep the key
            urllib.request.urlopen(f"http://127.0.0.1:{port}/v1/keys?api_key={token}")
            raise AssertionError("a key in the URL was accepted")
        except urllib.error.HTTPError as refused:
            assert refused.code == 401
    finally:
        proc.terminate()
        proc.wait(timeout=20)
    log = proc.stdout.read()  # type: ignore[union-attr]
    assert "api_key=[redacted]" in log and token not in log


def test_scan_workers_keep_a_key_ring_given_as_text(tmp_path: Path, env: Path, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    """Secrets reach the worker processes intact (a JSON dump of the settings would mask them)."""
    from .conftest import RING

    monkeypatch.setenv("ASSAY_KEYRING_TOML", RING)
    monkeypatch.setenv("ASSAY_AI_LIKELIHOOD", "false")
    src, signed = tmp_path / "photo.jpg", tmp_path / "corpus" / "signed.jpg"
    src.write_bytes(photo_jpeg())
    signed.parent.mkdir()
    assert run("watermark", str(src), str(signed))[0] == 0
    code, stdout, err = run("scan", str(signed.parent), "--workers", "2", "--no-progress")
    assert code == 0, err
    item = json.loads(stdout)["items"][0]
    assert item["verdict"] == "ai" and item["report"]["watermarks"][0]["key_id"] == "app-key"
