"""The contract: one report for any entry point, an OpenAPI document a client can be generated
from, stable problem types, a published report schema, and light imports."""

from __future__ import annotations

import importlib
import json
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from PIL import Image

from api.core.operations import Operations
from api.core.runtime import Runtime
from api.core.settings import Settings
from detect.report import SCHEMA_PATH, report_json_schema

from .conftest import PROBLEM_TYPE, RING, Service, make_service, photo_jpeg
from .test_cli import run

REPO = Path(__file__).resolve().parents[2]
VENV_BIN = Path(sys.executable).parent
TEXT = (
    "The harbour master kept a ledger of every boat that came in after dark. Most nights it held two or "
    "three names, written in a careful hand, with the weather noted beside each one."
)


def test_published_report_schema_is_current() -> None:
    published = json.loads(SCHEMA_PATH.read_text())
    assert published == json.loads(json.dumps(report_json_schema())), (
        "detect/report.schema.json is stale: run `python -c 'from detect.report import write_report_schema; "
        "write_report_schema()'` and list any renamed field in the README"
    )
    assert published["properties"]["schema_version"]["const"] == "1.3"


def test_importing_report_and_errors_does_not_import_torch() -> None:
    out = subprocess.run(
        [sys.executable, "-X", "importtime", "-c", "import detect.report, detect.verdict, watermark.errors"],
        capture_output=True,
        text=True,
        check=True,
    )
    modules = {line.rsplit("|", 1)[-1].strip() for line in out.stderr.splitlines() if "|" in line}
    assert "pydantic" in modules  # the measurement sees imports at all
    heavy = sorted(m for m in modules if m.split(".")[0] in ("torch", "transformers", "c2pa", "numpy", "fastapi"))
    assert heavy == [], heavy


def test_openapi_document_is_a_complete_contract(service: Service) -> None:
    from openapi_spec_validator import validate

    doc = service.client.get("/openapi.json").json()
    validate(doc)  # OpenAPI 3.1 specification
    schemes = doc["components"]["securitySchemes"]
    assert schemes["bearer"] == {"type": "http", "scheme": "bearer", "description": schemes["bearer"]["description"]}
    assert schemes["apiKey"]["in"] == "header" and schemes["apiKey"]["name"] == "X-API-Key"
    assert "HTTPValidationError" not in doc["components"]["schemas"]
    problem_ref = {"$ref": "#/components/schemas/Problem"}
    for path, ops in doc["paths"].items():
        for method, op in ops.items():
            where = f"{method.upper()} {path}"
            assert op["operationId"] and op["summary"], where
            for status, response in op["responses"].items():
                content = response.get("content", {})
                if int(status) >= 400 and not (path == "/readyz" and status == "503"):
                    assert content == {PROBLEM_TYPE: {"schema": problem_ref}}, (where, status)
                else:
                    assert content and all("schema" in c for c in content.values()), (where, status)
                    assert all(c["schema"] != {"type": "object"} for c in content.values()), (where, status)
            if path.startswith("/v1/"):
                assert op["security"] == [{"bearer": []}, {"apiKey": []}], where
                assert {"401", "403", "429"} <= set(op["responses"]), where
    verify = doc["paths"]["/v1/verify"]["post"]["responses"]["200"]["content"]["application/json"]["schema"]
    assert verify == {"$ref": "#/components/schemas/Report"}
    assert doc["components"]["schemas"]["Report"]["properties"]["verdict"]["enum"] == [
        "ai",
        "no-evidence",
        "inconclusive",
    ]


def test_routing_and_parsing_problems_have_stable_types(service: Service) -> None:
    c, h = service.client, service.auth("verify")
    r = c.get("/v1/nowhere", headers=h)
    assert r.status_code == 404 and r.json()["type"] == "https://assay.dev/problems/not-found"
    r = c.delete("/v1/verify", headers=h)
    assert r.status_code == 405 and r.json()["type"] == "https://assay.dev/problems/method-not-allowed"
    assert r.headers["allow"] == "POST"
    r = c.get("/v1/matches/byBinding", params={"alg": ""}, headers=h)
    body = r.json()
    assert r.status_code == 422 and body["type"] == "https://assay.dev/problems/invalid-request"
    assert body["detail"].startswith("the query parameter 'alg' is invalid"), body["detail"]
    r = c.post("/v1/text/detect", content=b"{", headers=h | {"content-type": "application/json"})
    assert r.status_code == 422 and r.json()["detail"] == "the request body is not valid JSON"
    r = c.post("/v1/feedback", content=b"\x80\x81j\x9c", headers=h | {"content-type": "application/json"})
    assert r.status_code == 422 and r.json()["detail"] == "the request body is not valid JSON (not UTF-8 text)"
    r = c.post("/v1/verify", content=b"--x\r\nbroken", headers=h | {"content-type": "multipart/form-data; boundary=x"})
    assert r.status_code == 422 and r.json()["type"] == "https://assay.dev/problems/invalid-input"
    surrogate = b'{"text": "abc \\ud800 def"}'  # JSON may escape an unpaired surrogate
    r = c.post("/v1/verify", content=surrogate, headers=h | {"content-type": "application/json"})
    assert r.status_code == 422 and "surrogate" in r.json()["detail"]
    assert all(x.headers["content-type"] == PROBLEM_TYPE for x in (r,))


def _audit_fields(rt: Runtime) -> dict[str, list[tuple[Any, ...]]]:
    rows: dict[str, list[tuple[Any, ...]]] = {}
    for e in rt.audit.entries():
        detail = json.loads(e.detail) if e.detail else {}
        fields = (e.action, e.key_id, e.result, detail.get("label"), detail.get("content_type"))
        rows.setdefault(e.subject_sha256 or "", []).append(fields)
    return rows


@pytest.mark.slow
def test_same_content_same_report_and_audit_row_over_http_cli_and_scan(
    env: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("ASSAY_KEYRING_TOML", RING)
    monkeypatch.setenv("ASSAY_AI_SECOND_MODEL", "true")  # the default: both offline models
    rt = Runtime.open(Settings(warm_on_start=False))
    image = Operations(rt).watermark_and_sign(photo_jpeg(), actor="test", title="Parity").data
    folder = tmp_path / "corpus"
    folder.mkdir()
    (folder / "a.jpg").write_bytes(image)
    (folder / "b.txt").write_text(TEXT)
    svc = make_service()
    h = svc.auth("verify")
    over_http = [
        svc.client.post("/v1/verify", content=image, headers=h | {"content-type": "image/jpeg"}).json(),
        svc.client.post("/v1/verify", content=TEXT.encode(), headers=h | {"content-type": "text/plain"}).json(),
    ]
    over_cli = [json.loads(run("verify", str(folder / name), "--json")[1]) for name in ("a.jpg", "b.txt")]
    code, out, err = run("scan", str(folder), "--no-progress")
    assert code == 0, err
    over_scan = [item["report"] for item in json.loads(out)["items"]]
    for http, cli, scanned in zip(over_http, over_cli, over_scan, strict=True):
        assert http == cli == scanned
    assert over_http[0]["verdict"] == "ai" and over_http[0]["provenance"]["title"] == "Parity"
    ai = over_http[1]["ai_likelihood"]  # the two-model default; a text the screen decides says so
    assert over_http[1]["content_type"] == "text/plain"
    assert ai["statistic"] == ("cross_model" if ai["screened_above"] is None else "log_likelihood")
    # one audit row per check, the same fields whoever asked (only the actor differs)
    rows = _audit_fields(rt)
    for report in over_http:
        checks = rows[report["content_sha256"]]
        verify_rows = [r for r in checks if r[0] == "verify"]
        assert len(verify_rows) == 3 and len(set(verify_rows)) == 1, verify_rows
        assert verify_rows[0][3] == report["label"] and verify_rows[0][2] == report["verdict"]
    actors = {e.actor.split(":")[0] for e in rt.audit.entries() if e.action == "verify"}
    assert actors == {"key", "cli"}
    # a failure is audited the same way from the CLI as over HTTP
    broken = tmp_path / "broken.png"
    broken.write_bytes(b"\x89PNG\r\n\x1a\n not an image after all")
    assert run("verify", str(broken))[0] == 2
    r = svc.client.post("/v1/verify", content=broken.read_bytes(), headers=h | {"content-type": "image/png"})
    assert r.status_code == 415
    failed = [r for r in _audit_fields(rt).get(_sha(broken.read_bytes()), []) if r[0] == "verify"]
    assert len(failed) == 2 and len(set(failed)) == 1 and failed[0][2] == "error:unsupported-media"


def _sha(data: bytes) -> str:
    import hashlib

    return hashlib.sha256(data).hexdigest()


def _generate_client(doc: dict[str, Any], out: Path) -> Path:
    """Generate a Python client with ``openapi-python-client``.

    The generator's ``endpoint_macros`` template assigns a variable inside a Jinja loop, which does not
    survive the loop, so every operation with several request content types gets ``| Unset = UNSET``
    without importing ``Unset``: the override computes the same condition without the loop variable.
    """
    import openapi_python_client

    templates = out / "templates"
    templates.mkdir()
    source = Path(openapi_python_client.__file__).parent / "templates" / "endpoint_macros.py.jinja"
    text = source.read_text()
    broken = "{% if not body_required %} | Unset = UNSET{% endif %}"
    fixed = (
        '{% if (endpoint.bodies | map(attribute="prop") | rejectattr("required") | list) %} | Unset = UNSET{% endif %}'
    )
    (templates / source.name).write_text(text.replace(broken, fixed))
    spec = out / "openapi.json"
    spec.write_text(json.dumps(doc))
    generator = shutil.which("openapi-python-client", path=str(VENV_BIN)) or "openapi-python-client"
    subprocess.run(
        [
            generator,
            "generate",
            "--path",
            str(spec),
            "--meta",
            "none",
            "--output-path",
            str(out / "assay_client"),
            "--custom-template-path",
            str(templates),
        ],
        check=True,
        capture_output=True,
        env={"PATH": f"{VENV_BIN}:/usr/bin:/bin"},
    )
    return out / "assay_client"


@pytest.mark.slow
def test_a_generated_client_type_checks_and_verifies(
    served: tuple[str, Service], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    base, svc = served
    doc = svc.client.get("/openapi.json").json()
    package = _generate_client(doc, tmp_path)
    assert (package / "api" / "images_and_provenance" / "verify.py").is_file()
    # What the document drives (operations and models) type-checks strictly; ``client.py`` is the
    # generator's fixed template, not derived from the document.
    mypy = [str(VENV_BIN / "mypy"), "--strict", "--follow-imports=silent", "--no-incremental"]
    checked = subprocess.run(
        [*mypy, "assay_client/api", "assay_client/models"], cwd=tmp_path, capture_output=True, text=True
    )
    assert checked.returncode == 0, checked.stdout[-3000:]
    monkeypatch.syspath_prepend(str(tmp_path))
    client_mod = importlib.import_module("assay_client")
    verify = importlib.import_module("assay_client.api.images_and_provenance.verify")
    models = importlib.import_module("assay_client.models")
    client = client_mod.AuthenticatedClient(base_url=base, token=svc.tokens["verify"])
    with client:
        report = verify.sync(client=client, body=models.VerifyJsonBody(text=TEXT))
        assert isinstance(report, models.Report), report
        assert report.schema_version == "1.3" and report.content_type == "text/plain" and report.label
        assert report.watermarks[0].key_id == "app-key" and report.watermarks[0].detected is False
        image = photo_jpeg((320, 240))
        found = verify.sync(client=client, body=client_mod.types.File(payload=_io(image), mime_type="image/jpeg"))
        assert isinstance(found, models.Report) and found.content_type == "image/jpeg"
        problem = verify.sync(client=client, body=models.VerifyJsonBody(text=""))
        assert isinstance(problem, models.Problem) and problem.status == 422
    with Image.open(_io(image)) as im:
        assert im.size == (320, 240)


def _io(data: bytes) -> Any:
    import io

    return io.BytesIO(data)
