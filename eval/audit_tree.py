"""The audit log's Merkle tree: what a signed checkpoint and a proof cost as the log grows.

For logs of growing size (SQLite in a temporary folder, rows written in bulk with the log's own
row hashing), the time to sign a checkpoint, to build an inclusion proof for a row and a
consistency proof, and to check each offline; and the proof sizes (hashes in the path, which grow
as log2 of the rows). Proofs are built from the rows' leaf hashes, so their cost is linear in the
rows read: the figure that says when static tiles (C2SP ``tlog-tiles``) are needed.

    .venv/bin/python eval/audit_tree.py         # writes eval/results/audit_tree.{json,md}
"""

from __future__ import annotations

import argparse
import dataclasses
import datetime as dt
import json
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from tqdm import tqdm

from api.core.audit import GENESIS, AuditLog, _row_hash
from api.core.audit_tree import AuditTree
from eval.typed_results import write_json
from provenance.store import open_engine
from provenance.tlog import ConsistencyDoc, InclusionDoc, NoteSigner

REPO = Path(__file__).resolve().parents[1]


@dataclasses.dataclass
class TreeRow:
    rows: int
    checkpoint_ms: float
    prove_ms: float
    consistency_ms: float
    check_ms: float
    path_hashes: int


@dataclasses.dataclass
class TreeResults:
    rows: list[TreeRow]


def _bulk(log: AuditLog, n: int) -> None:
    """``n`` rows chained exactly as :meth:`AuditLog.append` chains them, inserted in one transaction."""
    prev, at = GENESIS, dt.datetime.now(dt.UTC).isoformat(timespec="microseconds")
    values = []
    for seq in range(1, n + 1):
        fields = {
            "seq": seq,
            "at": at,
            "actor": f"key:k{seq % 7}",
            "action": "verify",
            "subject_sha256": f"{seq:064x}",
            "key_id": "wm-1",
            "result": "ai" if seq % 3 else "no-evidence",
            "detail": json.dumps({}, separators=(",", ":")),
        }
        digest = _row_hash(fields, prev)
        values.append({**fields, "prev_hash": prev, "hash": digest})
        prev = digest
    with log.engine.begin() as conn:
        conn.execute(log.table.insert(), values)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--sizes", type=int, nargs="+", default=[1_000, 10_000, 100_000])
    ap.add_argument("--out", type=Path, default=REPO / "eval" / "results")
    args = ap.parse_args()
    rows = []
    for n in tqdm(args.sizes, desc="log sizes", unit="log"):
        with tempfile.TemporaryDirectory() as tmp:
            log = AuditLog(open_engine(f"sqlite:///{tmp}/audit.db")).create()
            _bulk(log, n)
            signer = NoteSigner.generate("bench/audit")
            tree = AuditTree(log, signer).create()
            t0 = time.perf_counter()
            tree.checkpoint()
            checkpoint_ms = (time.perf_counter() - t0) * 1000
            t0 = time.perf_counter()
            doc = tree.prove(str(n // 3))
            prove_ms = (time.perf_counter() - t0) * 1000
            t0 = time.perf_counter()
            consistency = tree.consistency(max(1, n // 2))
            consistency_ms = (time.perf_counter() - t0) * 1000
            t0 = time.perf_counter()
            InclusionDoc.from_dict(doc.to_dict()).check(signer.verifier)
            ConsistencyDoc.from_dict(consistency.to_dict()).check()
            check_ms = (time.perf_counter() - t0) * 1000
            rows.append(TreeRow(n, checkpoint_ms, prove_ms, consistency_ms, check_ms, len(doc.inclusion_path)))
            log.engine.dispose()
    res = TreeResults(rows)
    write_json(args.out / "audit_tree.json", res)
    (args.out / "audit_tree.md").write_text(_md(res))
    print(_md(res))


def _md(res: TreeResults) -> str:
    lines = [
        "# Audit log Merkle tree: cost of checkpoints and proofs by log size",
        "",
        "Command: `.venv/bin/python eval/audit_tree.py` (SQLite, one process). Building a proof reads "
        "every row's leaf hash (linear); checking one is logarithmic and needs no database.",
        "",
        "| rows | sign checkpoint ms | inclusion proof ms | consistency proof ms | check both offline ms "
        "| path hashes |",
        "|---:|---:|---:|---:|---:|---:|",
    ]
    for r in res.rows:
        lines.append(
            f"| {r.rows:,} | {r.checkpoint_ms:.0f} | {r.prove_ms:.0f} | {r.consistency_ms:.0f} | {r.check_ms:.2f} "
            f"| {r.path_hashes} |"
        )
    return "\n".join(lines) + "\n"


if __name__ == "__main__":
    main()
