"""Administration: ``keys`` (watermark key rings and API keys), ``audit`` and ``serve``."""

from __future__ import annotations

import json
import os
import sys
from pathlib import Path
from typing import IO

import click

from api.cli.common import fail, open_runtime, out_suffix, settings_from
from api.core.wording import counted
from watermark.errors import AssayError, ConfigurationError
from watermark.keys import load_keyring, rotated_keyring_toml

__all__ = ["audit", "keys", "serve"]


@click.group()
def keys() -> None:
    """Manage watermark key rings and API keys."""


# Schemes a fresh random secret works for (kgw-transformers takes a transformers hashing_key, and
# synthid in transformers compatibility mode its list of keys: write those rings by hand).
_NEW_KEY_SCHEMES = ("kgw", "unigram", "gumbel", "synthid")
_scheme_option = click.option(
    "--scheme",
    default="kgw",
    show_default=True,
    type=click.Choice(_NEW_KEY_SCHEMES),
    help="Text watermark scheme of the new key (see the README's scheme table).",
)
_width_option = click.option(
    "--context-width",
    type=click.IntRange(1, 16),
    help="Context tokens seeding the key (kgw default 1, gumbel default 2; not for unigram or synthid).",
)


def _scheme_params(scheme: str, context_width: int | None) -> dict[str, int]:
    if context_width is None:
        return {}
    if scheme not in ("kgw", "gumbel"):
        raise click.UsageError(f"--context-width does not apply to scheme {scheme!r}")
    return {"context_width": context_width}


@keys.command("init")
@click.argument("path", type=click.Path(dir_okay=False))
@click.option("--id", "key_id", default="default-1", show_default=True)
@_scheme_option
@_width_option
def keys_init(path: str, key_id: str, scheme: str, context_width: int | None) -> None:
    """Write a new key ring with one random key to PATH (mode 0600; never overwrites)."""
    from api.core.text_service import write_new_keyring

    params = _scheme_params(scheme, context_width)
    try:
        written = write_new_keyring(Path(path), key_id, scheme=scheme, **params)
    except AssayError as exc:
        fail(exc)
        return
    if not written:
        click.echo(f"error: {path} exists; not overwriting it", err=True)
        sys.exit(2)
    click.echo(f"wrote key ring {path} with key {key_id!r}")


@keys.command("list")
@click.option("--keys", "path", type=click.Path(dir_okay=False), help="Key ring TOML.")
@click.option("--json", "as_json", is_flag=True)
def keys_list(path: str | None, as_json: bool) -> None:
    """List key ids, schemes and parameters (never secrets)."""
    from api.core.text_service import TextService

    try:
        ring = load_keyring(path) if path else TextService(settings_from()).keyring
    except AssayError as exc:
        fail(exc)
        return
    rows = [
        {"key_id": k.key_id, "scheme": k.scheme, "active": k.key_id == ring.active.key_id, "parameters": dict(k.params)}
        for k in ring
    ]
    if as_json:
        click.echo(json.dumps(rows, indent=2))
        return
    for r in rows:
        click.echo(f"{'*' if r['active'] else ' '} {r['key_id']}  {r['scheme']}  {r['parameters']}")


@keys.command("rotate")
@click.argument("new_id")
@click.option("--keys", "path", type=click.Path(dir_okay=False), help="Key ring TOML (default: the configured one).")
@_scheme_option
@_width_option
def keys_rotate(new_id: str, path: str | None, scheme: str, context_width: int | None) -> None:
    """Add a fresh key NEW_ID to the key ring and make it active (old keys stay for detection)."""
    target = Path(path) if path else settings_from().keyring_path
    params = _scheme_params(scheme, context_width)
    try:
        try:
            text = target.read_text(encoding="utf-8")
        except OSError as exc:
            raise ConfigurationError(f"cannot read key ring {target}: {exc.strerror}") from None
        rotated = rotated_keyring_toml(text, new_id, scheme=scheme, **params)
    except AssayError as exc:
        fail(exc)
    from api.core.auth import write_secret_file

    write_secret_file(target, rotated)
    click.echo(f"key ring {target}: {new_id!r} is now active; restart the service to use it")


@keys.group("api")
def keys_api() -> None:
    """API keys of the service (scopes: generate, sign, verify, admin)."""


@keys_api.command("create")
@click.argument("name")
@click.option(
    "--scope",
    "scopes",
    multiple=True,
    required=True,
    type=click.Choice(["generate", "sign", "verify", "admin"]),
    help="Repeat for several scopes.",
)
@click.option("--json", "as_json", is_flag=True)
def api_create(name: str, scopes: tuple[str, ...], as_json: bool) -> None:
    """Create an API key NAME; its token is printed once and never stored."""
    try:
        key, token = open_runtime(settings_from()).api_keys.create(name, scopes)
    except AssayError as exc:
        fail(exc)
    if as_json:
        click.echo(json.dumps(key.to_dict() | {"token": token}, indent=2))
    else:
        click.echo(token)
        click.echo(
            f"API key {key.key_id} ({', '.join(key.scopes)}): keep the token above; it is not shown again", err=True
        )


@keys_api.command("list")
@click.option("--json", "as_json", is_flag=True)
def api_list(as_json: bool) -> None:
    """List API keys (ids, names, scopes, status; never tokens)."""
    rows = [k.to_dict() for k in open_runtime(settings_from()).api_keys.list()]
    if as_json:
        click.echo(json.dumps(rows, indent=2))
        return
    for r in rows:
        click.echo(f"{r['key_id']}  {r['status']:8}  {','.join(r['scopes']):24}  {r['name']}")


@keys_api.command("revoke")
@click.argument("key_id")
def api_revoke(key_id: str) -> None:
    """Revoke the API key KEY_ID (takes effect at once)."""
    if not open_runtime(settings_from()).api_keys.revoke(key_id):
        click.echo(f"error: no live API key {key_id!r}", err=True)
        sys.exit(2)
    click.echo(f"revoked {key_id}")


@click.group()
def audit() -> None:
    """Check and export the audit log."""


@audit.command("verify")
@click.option("--expect-head", help="The head hash recorded earlier; catches rows removed from the end.")
@click.option("--json", "as_json", is_flag=True)
def audit_verify(expect_head: str | None, as_json: bool) -> None:
    """Recompute the hash chain and every signed checkpoint's root; exit 1 if any row was edited,
    inserted, deleted or reordered."""
    runtime = open_runtime(settings_from())
    check = runtime.audit.verify(expect_head=expect_head)
    tree = runtime.audit_tree.verify()
    ok = check.ok and tree.ok
    if as_json:
        click.echo(
            json.dumps({**check.to_dict(), "checkpoints": tree.checkpoints, "tree_problem": tree.problem}, indent=2)
        )
    elif ok:
        n = tree.checkpoints
        held = f"{counted(n, 'signed checkpoint')} {'holds' if n == 1 else 'hold'}" if n else "no checkpoint signed yet"
        click.echo(f"audit log intact: {counted(check.rows, 'row')}, head {check.head}; {held}")
    else:
        click.echo(f"audit log BROKEN: {check.problem or tree.problem}", err=True)
    sys.exit(0 if ok else 1)


@audit.command("checkpoint")
def audit_checkpoint() -> None:
    """Print the latest signed checkpoint (signed now when rows were added since the last)."""
    click.echo(open_runtime(settings_from()).audit_tree.checkpoint(), nl=False)


@audit.command("public-key")
def audit_public_key() -> None:
    """Print the log's verifier key (name+keyid+key): give it to auditors to check proofs offline."""
    click.echo(open_runtime(settings_from()).audit_tree.verifier.encode())


@audit.command("prove")
@click.argument("ref")
@click.option("--json", "as_json", is_flag=True, help="The proof document (the default prints it too).")
def audit_prove(ref: str, as_json: bool) -> None:
    """The inclusion proof of audit row REF (its number, or the SHA-256 of the content it is
    about), against a signed checkpoint; check it anywhere with `assay audit verify-proof`."""
    try:
        doc = open_runtime(settings_from()).audit_tree.prove(ref)
    except AssayError as exc:
        fail(exc)
    click.echo(json.dumps(doc.to_dict(), indent=2 if not as_json else None))


@audit.command("consistency")
@click.argument("old_size", type=click.IntRange(min=1))
@click.argument("new_size", type=click.IntRange(min=1), required=False)
@click.option("--json", "as_json", is_flag=True, help="The proof document (the default prints it too).")
def audit_consistency(old_size: int, new_size: int | None, as_json: bool) -> None:
    """The proof that the log of NEW_SIZE rows (default: all) extends the log of OLD_SIZE rows."""
    try:
        doc = open_runtime(settings_from()).audit_tree.consistency(old_size, new_size)
    except AssayError as exc:
        fail(exc)
    click.echo(json.dumps(doc.to_dict(), indent=2 if not as_json else None))


@audit.command("verify-scan")
@click.argument("report", type=click.File("r"))
@click.option("--key", "key", required=True, help="The log's verifier key (from `assay audit public-key`).")
def audit_verify_scan(report: IO[str], key: str) -> None:
    """Check a scan report (its JSON form) against the audit log, offline: the signed checkpoint,
    then every item's verify row and inclusion proof. Exit 0 when all hold, 1 otherwise."""
    import pydantic

    from api.scan.proofs import verify_scan
    from api.scan.run import ScanReport
    from provenance.tlog import NoteError, NoteVerifier

    try:
        verifier = NoteVerifier.parse(key)
        scan = ScanReport.model_validate_json(report.read())
    except (NoteError, pydantic.ValidationError) as exc:
        click.echo(f"error: {str(exc)[:300]}", err=True)
        sys.exit(2)
    check = verify_scan(scan, verifier)
    for problem in check.problems:
        click.echo(f"NOT proven: {problem}", err=True)
    for item in check.unproven:
        click.echo(f"NOT proven: {item}: no audit row proof in the report", err=True)
    if check.checkpoint is not None:
        cp = check.checkpoint
        click.echo(f"{check.proven} of {counted(len(scan.items), 'item')} proven in {cp.origin} at tree size {cp.size}")
    sys.exit(0 if check.ok else 1)


@audit.command("verify-proof")
@click.argument("proof", type=click.File("r"))
@click.option("--key", "key", required=True, help="The log's verifier key (from `assay audit public-key`).")
@click.option("--row", type=click.File("rb"), help="The row's canonical JSON bytes, to check the leaf too.")
def audit_verify_proof(proof: IO[str], key: str, row: IO[bytes] | None) -> None:
    """Check an inclusion proof offline (no database): the checkpoint's signature with --key, then
    the path from the leaf to the signed root. Exit 0 when it holds, 1 when it does not."""
    from provenance.tlog import InclusionDoc, NoteError, NoteVerifier, ProofError

    try:
        verifier = NoteVerifier.parse(key)
        data = json.loads(proof.read())
        if not isinstance(data, dict):
            raise ProofError("a proof document is a JSON object")
        cp = InclusionDoc.from_dict(data).check(verifier, leaf=row.read() if row is not None else None)
    except (NoteError, ProofError, json.JSONDecodeError) as exc:
        click.echo(f"proof does NOT hold: {exc}", err=True)
        sys.exit(1)
    click.echo(
        f"proof holds: leaf {data['leaf_index']} is in {cp.origin} at tree size {cp.size} (signed by {verifier.name})"
    )


@audit.command("export")
@click.option(
    "--format",
    "fmt",
    type=click.Choice(["jsonl", "csv"]),
    help="jsonl or csv (default: from --out's suffix, else jsonl).",
)
@click.option(
    "--out",
    type=click.Path(dir_okay=False),
    callback=out_suffix({".jsonl": "jsonl", ".csv": "csv"}),
    help="Output file, .jsonl or .csv (default: stdout).",
)
def audit_export(fmt: str | None, out: str | None) -> None:
    """Export every audit row (with its hashes) for a compliance review."""
    named = Path(out).suffix.lower().lstrip(".") if out is not None else None
    if fmt is not None and named is not None and fmt != named:
        target = Path(out or "")
        raise click.UsageError(
            f"--format {fmt} does not match {target.name}: name it {target.stem}.{fmt}, or drop --format"
        )
    fmt = fmt or named or "jsonl"
    log = open_runtime(settings_from()).audit
    if out is None:
        log.export(fmt, sys.stdout)
        return
    target = Path(out)
    tmp = target.with_name(f".{target.name}.part")
    with open(tmp, "w", encoding="utf-8", newline="") as fh:
        n = log.export(fmt, fh)
    tmp.replace(target)
    click.echo(f"wrote {counted(n, 'row')} to {target}", err=True)


@click.command()
@click.option("--host", help="Interface to bind (default 127.0.0.1).")
@click.option("--port", type=int, help="Port (default 8000).")
@click.option("--workers", type=click.IntRange(1, 64), default=1, show_default=True, help="Worker processes.")
def serve(host: str | None, port: int | None, workers: int) -> None:
    """Start the HTTP service and the verification page."""
    import uvicorn

    from api.core.threads import share_of_cores

    settings = settings_from(host=host, port=port)
    try:
        rt = open_runtime(settings)
        written = rt.bootstrap_admin_key()
    except AssayError as exc:
        fail(exc)
    url = f"http://{settings.host}:{settings.port}/"
    click.echo(f"Assay: verification page at {url}  (API: {url}openapi.json; data: {settings.data_dir})")
    if written is not None:
        click.echo(f"first admin API key written to {written} (mode 0600)")
    if settings.public_mode:
        click.echo("public mode: verification and feedback need no key; no client address is logged or kept")
    elif not settings.anonymous_verify:
        click.echo("verification needs an API key with the verify scope (ASSAY_ANONYMOUS_VERIFY=true opens it)")
    if workers == 1:
        from api.http.app import create_app

        uvicorn.run(create_app(runtime=rt), host=settings.host, port=settings.port, log_level="info")
    else:
        os.environ.setdefault("ASSAY_DATA_DIR", str(settings.data_dir))
        os.environ.setdefault("ASSAY_THREADS", str(share_of_cores(workers)))  # each worker its share
        uvicorn.run("api.http.app:create_app", factory=True, host=settings.host, port=settings.port, workers=workers)
