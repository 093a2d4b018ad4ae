"""The audit log as a Merkle tree: every row's inclusion proof checks offline against a signed
checkpoint, later checkpoints are proven consistent with earlier ones, the roots match a tree
computed here straight from RFC 9162's definition, and tampering under a checkpoint is caught."""

from __future__ import annotations

import hashlib
import json
import stat
from pathlib import Path

import pytest
import sqlalchemy as sa

from api.core.audit import AuditLog, leaf_bytes
from api.core.audit_tree import AuditTree, load_log_signer
from provenance.tlog import ConsistencyDoc, InclusionDoc, NoteError, NoteSigner, ProofError, open_checkpoint

from .test_audit import _fill, log  # noqa: F401  (the SQLite and PostgreSQL log fixture)
from .test_cli import run


def mth(leaves: list[bytes]) -> bytes:
    """RFC 9162 §2.1.1 MTH, written from the RFC's recursive definition (not Assay's code)."""
    if not leaves:
        return hashlib.sha256(b"").digest()
    if len(leaves) == 1:
        return hashlib.sha256(b"\x00" + leaves[0]).digest()
    k = 1
    while k * 2 < len(leaves):
        k *= 2
    return hashlib.sha256(b"\x01" + mth(leaves[:k]) + mth(leaves[k:])).digest()


def test_every_row_is_proven_against_one_signed_checkpoint(log: AuditLog) -> None:  # noqa: F811
    _fill(log, 7)
    signer = NoteSigner.generate("assay.test/audit")
    tree = AuditTree(log, signer).create()
    rows = list(log.entries())
    for row in rows:
        doc = InclusionDoc.from_dict(json.loads(json.dumps(tree.prove(str(row.seq)).to_dict())))
        cp = doc.check(signer.verifier, leaf=leaf_bytes(row))
        assert cp.size == 7 and cp.root == mth([leaf_bytes(r) for r in rows])
        assert cp.extensions == (f"chain-head {rows[-1].hash}",)  # the hash chain's head is signed in
    by_content = tree.prove(hashlib.sha256(b"content 3").hexdigest())
    assert by_content.leaf_index == 3 and tree.verify().checkpoints == 1  # signed once for size 7
    with pytest.raises(ProofError):
        InclusionDoc.from_dict(by_content.to_dict() | {"leaf_index": 2}).check(signer.verifier)
    with pytest.raises(NoteError):
        by_content.check(NoteSigner.generate("assay.test/audit").verifier)  # another log's key
    old = open_checkpoint(tree.checkpoint(), signer.verifier)
    _fill(log, 3)
    new = open_checkpoint(tree.checkpoint(), signer.verifier)
    proof = ConsistencyDoc.from_dict(json.loads(json.dumps(tree.consistency(old.size).to_dict())))
    proof.check()
    assert (proof.old_size, proof.new_size) == (7, 10) and bytes.fromhex(proof.old_root) == old.root
    assert bytes.fromhex(proof.new_root) == new.root and tree.verify().ok and tree.verify().checkpoints == 2


@pytest.mark.parametrize(
    ("tamper", "problem"),
    [
        ("UPDATE {t} SET result = 'no-evidence' WHERE seq = 3", "not the ones it signed"),
        ("DELETE FROM {t} WHERE seq = 5", "the log has 4 rows"),
        ("UPDATE {t} SET actor = CASE seq WHEN 1 THEN 'key:k1' ELSE 'key:k0' END WHERE seq IN (1, 2)", "not the ones"),
        ("UPDATE {c} SET note = REPLACE(note, 'chain-head', 'chain-tail')", "was changed"),
    ],
)
def test_tampering_under_a_checkpoint_is_caught(log: AuditLog, tamper: str, problem: str) -> None:  # noqa: F811
    _fill(log)
    tree = AuditTree(log, NoteSigner.generate("assay.test/audit")).create()
    tree.checkpoint()
    quote = lambda t: t.fullname if t.schema is None else f'"{t.schema}".{t.name}'  # noqa: E731
    with log.engine.begin() as conn:
        conn.execute(sa.text(tamper.format(t=quote(log.table), c=quote(tree.table))))
    check = tree.verify()
    assert not check.ok and problem in str(check.problem)


def test_the_log_key_is_made_once_kept_private_and_never_printed(tmp_path: Path) -> None:
    signer = load_log_signer(tmp_path, origin="example.org/log")
    again = load_log_signer(tmp_path)
    assert again.verifier == signer.verifier and signer.name == "example.org/log"
    assert stat.S_IMODE((tmp_path / "audit-log.key").stat().st_mode) == 0o600
    assert signer.encode() not in repr(signer)
    assert load_log_signer(tmp_path, signer.encode()).verifier == signer.verifier


def test_the_cli_proves_a_row_and_anyone_checks_it_offline(tmp_path: Path, env: Path) -> None:
    from api.cli.common import open_runtime, settings_from

    runtime = open_runtime(settings_from())
    for i in range(4):
        runtime.audit.append(actor="cli", action="verify", result="ai", subject=f"file {i}".encode())
    code, key, _ = run("audit", "public-key")
    assert code == 0 and key.startswith("assay.local/audit+")
    code, out, _ = run("audit", "prove", "2", "--json")
    assert code == 0
    doc = json.loads(out)
    assert set(doc) == {"leaf_index", "tree_size", "leaf_hash", "root_hash", "inclusion_path", "checkpoint"}
    assert doc["leaf_index"] == 1 and doc["tree_size"] == 4 and all(len(h) == 64 for h in doc["inclusion_path"])
    proof = tmp_path / "proof.json"
    proof.write_text(out)
    code, out, _ = run("audit", "verify-proof", str(proof), "--key", key.strip())
    assert code == 0 and "proof holds: leaf 1" in out
    proof.write_text(json.dumps(doc | {"leaf_hash": "00" * 32}))
    code, _, err = run("audit", "verify-proof", str(proof), "--key", key.strip())
    assert code == 1 and "does NOT hold" in err
    code, out, _ = run("audit", "checkpoint")
    assert code == 0 and out.startswith("assay.local/audit\n4\n") and "\u2014 assay.local/audit " in out
    code, out, _ = run("audit", "consistency", "2", "--json")
    assert code == 0 and set(json.loads(out)) == {"old_size", "new_size", "old_root", "new_root", "consistency_path"}
    code, _, err = run("audit", "prove", "99")
    assert code == 2 and "rows 1 to 4" in err
    code, out, _ = run("audit", "verify")
    assert code == 0 and "1 signed checkpoint holds" in out


@pytest.fixture
def env(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    for name in ("ASSAY_KEYRING", "ASSAY_KEYRING_TOML", "ASSAY_CONFIG", "ASSAY_STORE_URL", "ASSAY_AUDIT_LOG_KEY"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("ASSAY_DATA_DIR", str(tmp_path / "data"))
    return tmp_path / "data"


def test_the_service_serves_the_checkpoint_the_key_and_proofs(env: Path) -> None:
    from provenance.tlog import NoteVerifier

    from .conftest import make_service

    svc = make_service(ai_likelihood=False)
    svc.runtime.audit.append(actor="t", action="verify", result="ai", subject=b"some file")
    key = svc.client.get("/v1/audit/public-key", headers=svc.auth("verify"))
    note = svc.client.get("/v1/audit/checkpoint", headers=svc.auth("verify"))
    assert key.status_code == note.status_code == 200 and note.headers["content-type"].startswith("text/plain")
    verifier = NoteVerifier.parse(key.text)
    size = open_checkpoint(note.text, verifier).size
    proof = svc.client.get(f"/v1/audit/proof/{hashlib.sha256(b'some file').hexdigest()}", headers=svc.auth("verify"))
    assert proof.status_code == 200, proof.text
    assert InclusionDoc.from_dict(proof.json()).check(verifier).size >= size
    checked = svc.client.post(
        "/v1/verify", content="A few words to check.", headers=svc.auth("verify") | {"content-type": "text/plain"}
    )
    row = checked.headers["assay-audit-row"]  # the report names its audit row: prove it later
    assert checked.status_code == 200 and int(checked.headers["assay-audit-leaf"]) == int(row) - 1
    proven = InclusionDoc.from_dict(svc.client.get(f"/v1/audit/proof/{row}", headers=svc.auth("verify")).json())
    assert proven.leaf_index == int(row) - 1 and proven.check(verifier).size >= int(row)
    assert svc.client.get("/v1/audit/proof/not-a-row", headers=svc.auth("verify")).status_code == 422
    assert svc.client.get("/v1/audit/checkpoint").status_code == 401


def test_a_mirror_rebuilds_every_root_from_the_served_tiles(env: Path) -> None:
    """C2SP tlog-tiles over HTTP: the entry bundles hash to the level-0 tiles, the level-0 tiles to
    the level-1 tile (each hash the root of 256 leaves), and all of it to the checkpoint's root,
    computed here from RFC 9162's definition; tiles the tree does not have are 404, bad paths 422."""
    from provenance.tlog import NoteVerifier
    from provenance.tlog.tiles import parse_entry_bundle

    from .conftest import make_service

    svc = make_service(ai_likelihood=False)
    for i in range(600):  # two full level-0 tiles and a partial third
        svc.runtime.audit.append(actor="t", action="verify", result="ai", subject=f"file {i}".encode())
    auth = svc.auth("verify")
    verifier = NoteVerifier.parse(svc.client.get("/v1/audit/public-key", headers=auth).text)
    cp = open_checkpoint(svc.client.get("/v1/audit/checkpoint", headers=auth).text, verifier)
    size = cp.size
    assert size >= 600

    def get(path: str) -> bytes:
        r = svc.client.get(f"/v1/audit/{path}", headers=auth)
        assert r.status_code == 200, (path, r.text)
        return r.content

    full, width = divmod(size, 256)
    names = [f"{n:03d}" for n in range(full)] + ([f"{full:03d}.p/{width}"] if width else [])
    leaves = b"".join(get(f"tile/0/{n}") for n in names)
    entries = [e for n in names for e in parse_entry_bundle(get(f"tile/entries/{n}"))]
    assert len(leaves) == 32 * size and len(entries) == size
    assert [hashlib.sha256(b"\x00" + e).digest() for e in entries] == [
        leaves[i : i + 32] for i in range(0, len(leaves), 32)
    ]
    assert json.loads(entries[0])["seq"] == 1  # the rows' canonical bytes
    assert mth(entries) == cp.root
    upper = get(f"tile/1/000.p/{full}")  # each hash: the root of one full level-0 tile
    assert upper == b"".join(mth(entries[256 * k : 256 * (k + 1)]) for k in range(full))
    r = svc.client.get("/v1/audit/tile/0/000", headers=auth)
    assert r.headers["cache-control"].endswith("immutable")
    for missing in (f"tile/0/{full:03d}", f"tile/1/000.p/{full + 1}", "tile/2/000.p/1", "tile/entries/x001/000"):
        assert svc.client.get(f"/v1/audit/{missing}", headers=auth).status_code == 404, missing
    for bad in ("tile/0/1", "tile/01/000", "tile/0/000.p/256", "tile/0/000.p/0", "tile/9/000", "tile/0/001/000"):
        assert svc.client.get(f"/v1/audit/{bad}", headers=auth).status_code == 422, bad
    assert svc.client.get("/v1/audit/tile/0/000").status_code == 401
