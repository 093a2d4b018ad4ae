from __future__ import annotations

import json
import stat
from pathlib import Path

import pytest
from click.testing import CliRunner

from api.cli import main

RING = """
[[keys]]
id = "other-key"
scheme = "kgw"
secret = "another-secret"

[[keys]]
id = "cli-key"
scheme = "kgw"
secret = "cli-test-secret-value"
"""


def run(*args: str, input: bytes | str | None = None) -> tuple[int, str, str]:
    r = CliRunner().invoke(main, list(args), input=input)
    return r.exit_code, r.stdout, r.stderr


def test_keys_init_writes_private_file_and_list_hides_secrets(tmp_path: Path, env: Path) -> None:
    path = tmp_path / "ring.toml"
    code, out, _ = run("keys", "init", str(path), "--id", "k-2026")
    assert code == 0 and "k-2026" in out
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    code, _, err = run("keys", "init", str(path))
    assert code == 2 and "not overwriting" in err
    code, out, _ = run("keys", "list", "--keys", str(path), "--json")
    assert code == 0
    rows = json.loads(out)
    assert rows[0]["key_id"] == "k-2026" and rows[0]["active"]
    secret = path.read_text().split('secret = "')[1].split('"')[0]
    assert secret not in out


def test_keys_init_and_rotate_choose_the_scheme(tmp_path: Path, env: Path) -> None:
    path = tmp_path / "ring.toml"
    assert run("keys", "init", str(path), "--id", "g1", "--scheme", "gumbel", "--context-width", "3")[0] == 0
    code, out, _ = run("keys", "rotate", "s1", "--keys", str(path), "--scheme", "synthid")
    assert code == 0, out
    rows = json.loads(run("keys", "list", "--keys", str(path), "--json")[1])
    assert [(r["key_id"], r["scheme"], r["active"], r["parameters"]) for r in rows] == [
        ("g1", "gumbel", False, {"context_width": 3}),
        ("s1", "synthid", True, {}),
    ]
    code, _, err = run("keys", "rotate", "u1", "--keys", str(path), "--scheme", "unigram", "--context-width", "2")
    assert code == 2 and "does not apply" in err
    code, _, err = run("keys", "init", str(tmp_path / "x.toml"), "--scheme", "kgw-transformers")
    assert code == 2 and "Invalid value" in err


def test_default_key_ring_is_created_once_with_private_mode(env: Path) -> None:
    code, out, _ = run("keys", "list")
    assert code == 0 and "default-1" in out
    ring = env / "keys.toml"
    assert stat.S_IMODE(ring.stat().st_mode) == 0o600
    before = ring.read_text()
    run("keys", "list")
    assert ring.read_text() == before


@pytest.mark.slow
def test_generate_then_detect_round_trip(tmp_path: Path, env: Path) -> None:
    ring = tmp_path / "ring.toml"
    ring.write_text(RING)
    code, out, err = run(
        "generate", "--keys", str(ring), "--json", "--max-new-tokens", "80", "--seed", "1", "Write about the sea."
    )
    assert code == 0, err
    gen = json.loads(out)
    assert gen["watermark"]["key_id"] == "cli-key" and "cli-test-secret-value" not in out
    text_file = tmp_path / "text.txt"
    text_file.write_text(gen["text"])
    code, out, _ = run("detect", "--keys", str(ring), "--json", str(text_file))
    assert code == 0
    report = json.loads(out)
    best = report["watermarks"][0]
    assert best["key_id"] == "cli-key" and best["detected"] and best["p_value"] <= 1e-3
    assert best["keys_tried"] == 2 and not report["watermarks"][1]["detected"]
    assert {"scheme", "key_id", "p_value", "detected", "decided_at_fpr", "verdict", "evidence_size", "spans"} <= set(
        best
    )
    assert best["evidence_unit"] == "tokens" and report["schema_version"] == "1.3"
    code, out, _ = run("detect", "--keys", str(ring), "-", input=gen["text"])
    headline, *details = out.splitlines()
    assert code == 0 and headline == "Marked as AI-generated (Assay watermark)"
    assert any("key 'cli-key'" in line and "found" in line for line in details)
    code, out, _ = run("detect", "--keys", str(ring), "--key", "cli-key", "--json", "-", input=gen["text"])
    assert code == 0 and json.loads(out)["watermarks"][0]["keys_tried"] == 1


def test_detect_bad_inputs_exit_cleanly(tmp_path: Path, env: Path) -> None:
    ring = tmp_path / "ring.toml"
    ring.write_text(RING)
    cases = [
        (b"\xff\xfe\xfa bad bytes", "UTF-8"),
        (b"", "empty"),
        (b"a" * 10_000_000, "larger than"),
    ]
    for data, message in cases:
        code, out, err = run("detect", "--keys", str(ring), "-", input=data)
        assert code == 2 and message in err and "Traceback" not in out + err
    code, _, err = run("detect", "--keys", str(ring), str(tmp_path / "missing.txt"))
    assert code == 2 and "cannot read" in err
    code, out, _ = run("detect", "--keys", str(ring), "-", input="Just a few words here.")
    assert code == 0 and out.startswith("Not decided: the text is too short")
    code, _, err = run("detect", "--keys", str(ring), "--key", "no-such-key", "-", input="Some text to test.")
    assert code == 2 and "no-such-key" in err
    code, _, err = run("generate", "--keys", str(ring), "--key", "no-such-key", "hello")
    assert code == 2 and "no-such-key" in err
    code, _, err = run("detect", "--keys", str(tmp_path / "nope.toml"), "-", input="text")
    assert code == 1 and "does not exist" in err


def test_image_mark_then_detect(tmp_path: Path, env: Path) -> None:
    import numpy as np
    from PIL import Image
    from skimage import data as skdata

    src = tmp_path / "in.jpg"
    Image.fromarray(skdata.coffee()).save(src, quality=92)
    out = tmp_path / "out.jpg"
    code, stdout, stderr = run("image", "mark", str(src), str(out), "--record-id", "00000000abcd", "--json")
    assert code == 0, stderr
    info = json.loads(stdout)
    assert info["payload"]["record_id"] == "00000000abcd" and info["mime_type"] == "image/jpeg"
    assert "secret" not in stdout
    code, stdout, _ = run("image", "detect", str(out), "--json")
    report = json.loads(stdout)
    [assay, *public] = report["watermarks"]
    assert assay["detected"] and assay["record_id"] == "00000000abcd" and assay["kind"] == "image"
    assert {m["scheme"] for m in public} == {
        "invisible-watermark-dwtdct/sdxl-dwtdct",
        "invisible-watermark-dwtdct/sd-v1-dwtdct",
    }
    code, stdout, _ = run("image", "detect", str(src))
    assert code == 0 and "No Assay watermark" in stdout
    bad = tmp_path / "bad.png"
    bad.write_bytes(b"\x89PNG\r\n\x1a\n garbage")
    code, _, stderr = run("image", "mark", str(bad), str(tmp_path / "x.png"))
    assert code == 2 and "error:" in stderr and not (tmp_path / "x.png").exists()
    code, _, stderr = run("image", "mark", str(src), str(tmp_path / "y.jpg"), "--record-id", "zz")
    assert code == 2 and "hexadecimal" in stderr
    assert np.asarray(Image.open(out)).shape == np.asarray(Image.open(src)).shape


@pytest.mark.slow
def test_detect_train_then_use(
    tmp_path: Path, env: Path, fast_detect_gpt_dir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from detect.training import in_calibration_half, in_reference_part

    monkeypatch.setenv("ASSAY_AI_SECOND_MODEL", "true")  # the default: both offline models
    raw = json.loads((fast_detect_gpt_dir / "xsum_gpt-3.5-turbo.raw_data.json").read_text())
    rows = [{"text": t, "label": 0} for t in raw["original"][:12]] + [
        {"text": t, "label": 1} for t in raw["sampled"][:12]
    ]
    data = tmp_path / "labelled.jsonl"
    data.write_text("\n".join(json.dumps(r) for r in rows + rows[:6]))  # repeated rows count once
    code, out, err = run("detect", "train", str(data), "--no-embeddings")
    assert code == 0, err
    assert (env / "detector" / "human_reference.json").is_file() and (env / "detector" / "classifier.json").is_file()
    reference = json.loads((env / "detector" / "human_reference.json").read_text())
    # Two models by default: the reference is the calibration half's reference part only (the
    # rest of its human texts fitted the weights).
    assert reference["statistic"] == "cross_model" and reference["second_model"]["name"] == "Gemma-3-270M"
    screen = json.loads((env / "detector" / "human_reference_single.json").read_text())  # the first stage's
    assert screen["statistic"] == "log_likelihood"
    part = [t for t in raw["original"][:12] if in_calibration_half(t) and in_reference_part(t)]
    cal = sum(in_calibration_half(t) for t in raw["original"][:12])
    assert 0 < sum(reference["sources"].values()) == len(part) < cal
    sample = tmp_path / "sample.txt"
    held_out = next(t for t in raw["sampled"][12:] if not in_calibration_half(t))
    sample.write_text(held_out)
    code, out, err = run("detect", str(sample), "--json")
    assert code == 0, err
    ai = json.loads(out)["ai_likelihood"]
    # 12 human texts make a reference too small to decide at any length: said so, not guessed.
    assert ai["verdict"] == "inconclusive" and ai["abstain_reason"].startswith("no-reference")
    assert ai["classifier_probability"] is not None  # the retrained classifier still corroborates
    bad = tmp_path / "bad.jsonl"
    bad.write_text('{"text": "x", "label": 3}')
    code, _, err = run("detect", "train", str(bad))
    assert code == 2 and "label must be 0 or 1" in err


def test_an_out_suffix_the_command_does_not_write_is_refused_before_any_work(tmp_path: Path, env: Path) -> None:
    corpus = tmp_path / "corpus"
    corpus.mkdir()
    (corpus / "a.txt").write_text("A short text.")
    code, _, err = run("scan", str(corpus), "--out", str(tmp_path / "report.parquet"), "--no-progress")
    assert code == 2 and "writes .json, .csv or .html files" in err and "--results" in err
    assert not (tmp_path / "report.parquet").exists() and not list(env.glob("*.db"))  # nothing was opened
    code, _, err = run("audit", "export", "--out", str(tmp_path / "audit.txt"))
    assert code == 2 and ".jsonl or .csv" in err
    code, _, err = run("audit", "export", "--format", "csv", "--out", str(tmp_path / "audit.jsonl"))
    assert code == 2 and "name it audit.csv" in err and not (tmp_path / "audit.jsonl").exists()
    code, _, err = run("audit", "export", "--out", str(tmp_path / "audit.csv"))
    assert code == 0 and (tmp_path / "audit.csv").read_text().startswith(("seq", "id", "index", "row")), err
