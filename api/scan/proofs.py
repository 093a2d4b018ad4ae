"""Check a scan report against the audit log without its database: the report's signed checkpoint
with the log's verifier key, then every item's verify row (the leaf's bytes, carried in the report)
and its inclusion proof against that checkpoint's root."""

from __future__ import annotations

import json
from dataclasses import dataclass

from api.scan.run import ScanReport
from provenance.tlog import (
    Checkpoint,
    NoteError,
    NoteVerifier,
    ProofError,
    leaf_hash,
    open_checkpoint,
    verify_inclusion,
)

__all__ = ["ScanProofCheck", "verify_scan"]


@dataclass(frozen=True)
class ScanProofCheck:
    """The outcome of :func:`verify_scan`."""

    checkpoint: Checkpoint | None
    proven: int
    unproven: list[str]  # items with content but no proof
    problems: list[str]

    @property
    def ok(self) -> bool:
        """Every proof holds and every item with content has one."""
        return self.checkpoint is not None and not self.problems and not self.unproven


def verify_scan(report: ScanReport, verifier: NoteVerifier) -> ScanProofCheck:
    """Check every row proof of ``report`` against its checkpoint, signed by ``verifier``'s key."""
    if report.audit_checkpoint is None:
        return ScanProofCheck(None, 0, [], ["the report carries no audit checkpoint"])
    try:
        cp = open_checkpoint(report.audit_checkpoint, verifier)
    except NoteError as exc:
        return ScanProofCheck(None, 0, [], [f"checkpoint: {exc}"])
    items = {i.id: i for i in report.items}
    problems: list[str] = []
    proven: set[str] = set()
    failed: set[str] = set()
    for p in report.audit_proofs:
        failed.add(p.id)  # until its proof holds
        item = items.get(p.id)
        try:
            row = json.loads(p.leaf)
        except json.JSONDecodeError:
            problems.append(f"{p.id}: its audit row is not JSON")
            continue
        if item is None or not isinstance(row, dict):
            problems.append(f"{p.id}: no such item in the report")
            continue
        if (
            row.get("seq") != p.leaf_index + 1
            or row.get("action") != "verify"
            or row.get("subject_sha256") != item.sha256
        ):
            problems.append(f"{p.id}: its audit row is not the verify row of this content")
            continue
        if item.audit_leaf is not None and item.audit_leaf != p.leaf_index:
            problems.append(f"{p.id}: the row names leaf {item.audit_leaf}, the proof leaf {p.leaf_index}")
            continue
        try:
            path = [bytes.fromhex(h) for h in p.inclusion_path]
            verify_inclusion(p.leaf_index, cp.size, leaf_hash(p.leaf.encode()), path, cp.root)
        except (ValueError, ProofError) as exc:
            problems.append(f"{p.id}: {exc}")
            continue
        proven.add(p.id)
        failed.discard(p.id)
    unproven = [i.id for i in report.items if i.sha256 and i.id not in proven and i.id not in failed]
    return ScanProofCheck(cp, len(proven), unproven, problems)
