"""Durable text credentials: recovery through the watermark and fingerprint after stripping and editing.

Credentialed generations of the embedded model (kgw, the default scheme; one key, so every record
is a candidate for every lookup) are signed with an embedded C2PA manifest (A.8) and recorded in a
SQLite store. Each is then stripped of its wrapper (a plain-text copy), edited (0 / 10 / 20 % of
its words substituted, deleted or inserted), and looked up alone and inserted into three times as
much human text. A recovery is *correct* when the record found is the text's own, *wrong* when it
is another record. Negatives (human texts of the fast-detect-gpt sets and ``eval/data``, unmarked machine
texts of those sets, unmarked generations of the embedded model) are looked up the same way:
any recovery there is wrong. The fingerprint alone (no watermark gate) is measured too, to show
the margin of the containment threshold over the null.

Then the store grows to 1 M records with synthetic sketches (bottom-32 of ~90 uniform 64-bit
hashes per record, like a 120-token text's), and the lookup of the diluted, edited texts is timed
at each size (goal: under 50 ms at 1 M) and their recovery checked again.

Writes ``eval/results/text_recovery.{json,md,png}``.
"""

from __future__ import annotations

import argparse
import json
import platform
import random
import sys
import tempfile
import time
import unicodedata
from dataclasses import asdict, dataclass
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))
sys.path.append(str(REPO / "eval"))  # after the repository: eval/provenance.py must not shadow the package

import numpy as np  # noqa: E402
from text_robustness import CACHE, negatives  # noqa: E402
from tqdm import tqdm  # noqa: E402

from detect.recovery import TextMatchPolicy, recover_text_credentials  # noqa: E402
from provenance.credentials import ensure_dev_credentials  # noqa: E402
from provenance.fingerprint import SKETCH_SIZE, fingerprint_key, shingle_hashes  # noqa: E402
from provenance.store import ManifestStore  # noqa: E402
from provenance.text_binding import sign_and_record_text  # noqa: E402
from provenance.text_manifest import strip_wrappers  # noqa: E402
from provenance.text_records import TextRecordIndex  # noqa: E402
from watermark.keys import Secret, WatermarkKey  # noqa: E402
from watermark.text import TextWatermarkDetector, generate, load_model, scheme_for_key  # noqa: E402

RESULTS = REPO / "eval" / "results"
ALPHA = 1e-3
LOOSE = 1e-2  # a looser watermark gate, measured for comparison (the fingerprint must then carry more)
EDITS = (0.0, 0.1, 0.2)
KEY = WatermarkKey("recovery-key", "kgw", Secret(b"text-recovery-benchmark-key"), {})
FILLER = [
    "however",
    "also",
    "very",
    "the",
    "of",
    "and",
    "river",
    "quietly",
    "seven",
    "little",
    "morning",
    "people",
    "city",
    "report",
    "later",
]


@dataclass(frozen=True)
class Policy:
    min_containment: float
    min_matched: int
    sketch_size: int


@dataclass(frozen=True)
class Quantiles:
    p05: float
    median: float


@dataclass(frozen=True)
class Condition:
    """One attack: how many copies were found, recovered, wrongly recovered (both gates)."""

    texts: int
    watermark_detected: float
    recovered: float
    wrong: int
    recovered_loose_gate: float
    wrong_loose_gate: int
    own_containment: Quantiles


@dataclass(frozen=True)
class NegativeSet:
    texts: int
    watermark_detected: int
    wrong_recoveries: int
    watermark_detected_loose_gate: int
    wrong_recoveries_loose_gate: int


@dataclass(frozen=True)
class FingerprintNull:
    texts: int
    max_containment: float
    max_matched: int
    p999_containment: float
    false_matches_without_watermark_gate: int


@dataclass(frozen=True)
class ScalePoint:
    records: int
    load_s: float
    lookup_ms_median: float
    lookup_ms_p95: float
    queries: int
    recovered: float
    query_shingles_median: float


@dataclass(frozen=True)
class RecoveryResults:
    """Everything the benchmark measured; written once as JSON (``asdict``) and Markdown."""

    generations: int
    empty_generations_skipped: int
    tokens: int
    policy: Policy
    alpha: float
    generation_s: float
    sign_and_record_ms_mean: float
    conditions: dict[str, Condition]
    negatives: dict[str, NegativeSet]
    fingerprint_null: FingerprintNull
    scaling: list[ScalePoint]
    store_bytes: int
    machine: str


def edit_words(text: str, fraction: float, rng: random.Random) -> str:
    """Edit ``fraction`` of the words: half substituted, a quarter deleted, a quarter inserted."""
    words = text.split()
    out: list[str] = []
    for w in words:
        if rng.random() >= fraction:
            out.append(w)
            continue
        op = rng.random()
        if op < 0.5:
            out.append(rng.choice(FILLER))
        elif op < 0.75:
            continue
        else:
            out += [w, rng.choice(FILLER)]
    return " ".join(out)


def embed_in_human(text: str, human: list[str], rng: random.Random) -> str:
    """``text`` placed at a random paragraph boundary inside three times as many words of human text."""
    need, parts = 3 * len(text.split()), list[str]()
    while sum(len(p.split()) for p in parts) < need:
        parts.append(rng.choice(human))
    cut = rng.randrange(len(parts) + 1)
    return "\n\n".join([*parts[:cut], text, *parts[cut:]])


def outcome(
    text: str, own: str | None, dets: list[TextWatermarkDetector], index: TextRecordIndex, policy: TextMatchPolicy
) -> dict[float, dict[str, bool]]:
    """Detection and recovery of one text under each detector's watermark gate (by its alpha);
    ``own`` is the text's record id (None for a negative)."""
    out: dict[float, dict[str, bool]] = {}
    for det in dets:
        detections = det.detect_text(text)
        found = recover_text_credentials(
            text, detections, index, lambda _: KEY.secret.reveal(), policy=policy, gate=det.alpha
        )
        got = found.record_id if found is not None else None
        out[det.alpha] = {
            "detected": bool(detections[0].detected),
            "recovered": got is not None and got == own,
            "wrong": got is not None and got != own,
        }
    return out


def own_containment(text: str, own: str, index: TextRecordIndex, key: bytes) -> float:
    """The containment of the text's own record, whatever the threshold (0 when no hash is found)."""
    for m in index.match(KEY.key_id, shingle_hashes(text, key), min_matched=1):
        if m.record_id == own:
            return m.containment
    return 0.0


def grow_store(index: TextRecordIndex, target: int, have: int, manifest_id: str, rng: np.random.Generator) -> float:
    """Add synthetic records (real-looking bottom-k sketches) until ``target``; returns seconds."""
    t0 = time.perf_counter()
    raw = index.store.engine.raw_connection()
    try:
        cur = raw.cursor()
        chunk = 20_000
        for start in tqdm(range(have, target, chunk), desc=f"store to {target:,}", leave=False):
            n = min(chunk, target - start)
            ids = [f"synthetic-{i}" for i in range(start, start + n)]
            sketches = np.sort(rng.integers(-(2**63), 2**63 - 1, size=(n, 90), dtype=np.int64), axis=1)[:, :SKETCH_SIZE]
            cur.executemany(
                "INSERT INTO assay_text_records"
                " (record_id, manifest_id, key_id, scheme, created_at, shingles, sketch_size)"
                " VALUES (?, ?, ?, 'kgw', '2026-12-04 00:00:00', 90, ?)",
                [(r, manifest_id, KEY.key_id, SKETCH_SIZE) for r in ids],
            )
            cur.executemany(
                "INSERT INTO assay_text_fingerprints (key_id, h, record_id) VALUES (?, ?, ?)",
                [(KEY.key_id, int(h), r) for r, row in zip(ids, sketches, strict=True) for h in row],
            )
            raw.commit()
    finally:
        raw.close()
    return time.perf_counter() - t0


def run(args: argparse.Namespace) -> RecoveryResults:
    rng = random.Random(7)
    human_all, machine = negatives()
    rng.shuffle(human_all)
    human_all = [h for h in human_all if len(h.split()) >= 40]
    prompt_src, filler, human_neg = human_all[:40], human_all[40:400], human_all[400:]
    if args.negatives:
        human_neg, machine = (
            human_neg[: args.negatives],
            machine[:: max(1, len(machine) // args.negatives)][: args.negatives],
        )
    policy = TextMatchPolicy(min_containment=args.containment, min_matched=args.min_hashes)
    lm = load_model(cache_dir=CACHE)
    scheme = scheme_for_key(KEY, vocab_size=lm.vocab_size)
    # the service's gate (p <= 1e-3), and a looser one measured side by side
    dets = [TextWatermarkDetector(schemes=[scheme], tokenizer=lm.tokenizer, alpha=a) for a in (ALPHA, LOOSE)]
    work = Path(tempfile.mkdtemp(prefix="assay-text-recovery-"))
    creds = ensure_dev_credentials(work)
    store = ManifestStore.open(f"sqlite:///{work / 'store.db'}")
    index = TextRecordIndex(store)
    fkey = fingerprint_key(KEY.secret.reveal())

    prompts = [
        f"Write a short news report that begins with this sentence: {' '.join(src.split()[:18])}"
        for src in (prompt_src * ((args.generations // len(prompt_src)) + 1))[: args.generations]
    ]
    records: list[tuple[str, str]] = []  # (record id, generated text without its wrapper)
    gen_s = sign_s = 0.0
    empty = 0
    for i in tqdm(range(0, len(prompts), args.batch), desc="credentialed generations"):
        t0 = time.perf_counter()
        gens = generate(lm, prompts[i : i + args.batch], scheme=scheme, max_new_tokens=args.tokens, seed=1000 + i)
        gen_s += time.perf_counter() - t0
        for j, g in enumerate(gens):
            if not g.text.strip():  # an immediate end of sequence: nothing to sign
                empty += 1
                continue
            t0 = time.perf_counter()
            out = sign_and_record_text(
                g.text, creds, index, record_id=f"urn:uuid:gen-{i + j}", key_id=KEY.key_id, scheme="kgw",
                key_secret=KEY.secret.reveal(), model="SmolLM2-135M-Instruct", signer="Assay Development Signer",
            )  # fmt: skip
            sign_s += time.perf_counter() - t0
            assert strip_wrappers(out.text) == unicodedata.normalize("NFC", g.text) != out.text
            records.append((out.record.record_id, strip_wrappers(out.text)))
    unmarked = [
        g.text
        for i in tqdm(range(0, args.unmarked, args.batch), desc="unmarked generations")
        for g in generate(
            lm, prompts[i : i + args.batch][: args.unmarked - i], scheme=None, max_new_tokens=args.tokens, seed=5 + i
        )
    ]
    # Marked with the same key but never credentialed: the watermark gate passes, so only the
    # fingerprint stands between them and another generation's record (the hardest negatives).
    unrecorded = [
        g.text
        for i in tqdm(range(0, args.unmarked, args.batch), desc="marked generations without records")
        for g in generate(
            lm, prompts[i : i + args.batch][: args.unmarked - i], scheme=scheme, max_new_tokens=args.tokens, seed=9 + i
        )
    ]

    conditions: dict[str, Condition] = {}
    queries: list[tuple[str, str]] = []  # the diluted, 10 %-edited texts: the lookup-time queries
    for frac in EDITS:
        for context in ("alone", "in 3x human text"):
            label = f"{int(frac * 100)}% edits, {context}"
            rows, containment = [], []
            for rid, text in tqdm(records, desc=label, leave=False):
                t = edit_words(text, frac, rng)
                if context != "alone":
                    t = embed_in_human(t, filler, rng)
                    if frac == 0.1:
                        queries.append((rid, t))
                rows.append(outcome(t, rid, dets, index, policy))
                containment.append(own_containment(t, rid, index, fkey))
            conditions[label] = Condition(
                texts=len(rows),
                watermark_detected=float(np.mean([r[ALPHA]["detected"] for r in rows])),
                recovered=float(np.mean([r[ALPHA]["recovered"] for r in rows])),
                wrong=int(sum(r[ALPHA]["wrong"] for r in rows)),
                recovered_loose_gate=float(np.mean([r[LOOSE]["recovered"] for r in rows])),
                wrong_loose_gate=int(sum(r[LOOSE]["wrong"] for r in rows)),
                own_containment=Quantiles(float(np.quantile(containment, 0.05)), float(np.median(containment))),
            )
    neg_texts = {
        "human": human_neg,
        "machine (shared sets)": machine,
        "unmarked generations": unmarked,
        "marked, same key, no record": unrecorded,
    }
    neg: dict[str, NegativeSet] = {}
    null_best: list[float] = []
    null_matched: list[int] = []
    for kind, texts in neg_texts.items():
        null_kind = kind != "marked, same key, no record"  # the fingerprint null: texts unrelated to the records
        rows = [outcome(t, None, dets, index, policy) for t in tqdm(texts, desc=f"negatives: {kind}", leave=False)]
        for t in texts if null_kind else ():  # the fingerprint alone: how close does unrelated text come?
            best = index.match(KEY.key_id, shingle_hashes(t, fkey), min_matched=1)
            null_best.append(best[0].containment if best else 0.0)
            null_matched.append(best[0].matched if best else 0)
        neg[kind] = NegativeSet(
            texts=len(texts),
            watermark_detected=int(sum(r[ALPHA]["detected"] for r in rows)),
            wrong_recoveries=int(sum(r[ALPHA]["wrong"] for r in rows)),
            watermark_detected_loose_gate=int(sum(r[LOOSE]["detected"] for r in rows)),
            wrong_recoveries_loose_gate=int(sum(r[LOOSE]["wrong"] for r in rows)),
        )
    fingerprint_only_false = int(
        sum(
            c >= policy.min_containment and m >= policy.min_matched
            for c, m in zip(null_best, null_matched, strict=True)
        )
    )

    scaling: list[ScalePoint] = []
    manifest_id = index.record(records[0][0]).manifest_id  # type: ignore[union-attr]
    have = len(records)
    nprng = np.random.default_rng(11)
    sample = queries[: args.queries]
    for size in args.sizes:
        load_s = grow_store(index, size, have, manifest_id, nprng) if size > have else 0.0
        have = max(have, size)
        times, ok = [], 0
        for rid, t in sample:
            hashes = shingle_hashes(t, fkey)
            t0 = time.perf_counter()
            found = index.match(KEY.key_id, hashes, min_matched=policy.min_matched)
            times.append(1000 * (time.perf_counter() - t0))
            best = [m for m in found if m.containment >= policy.min_containment]
            ok += bool(best) and best[0].record_id == rid
        scaling.append(
            ScalePoint(
                records=have,
                load_s=round(load_s, 1),
                lookup_ms_median=float(np.median(times)),
                lookup_ms_p95=float(np.quantile(times, 0.95)),
                queries=len(sample),
                recovered=ok / max(1, len(sample)),
                query_shingles_median=float(np.median([shingle_hashes(t, fkey).size for _, t in sample])),
            )
        )
        tqdm.write(
            f"{have:,} records: lookup median {scaling[-1].lookup_ms_median:.1f} ms, "
            f"p95 {scaling[-1].lookup_ms_p95:.1f} ms"
        )
    db_bytes = (work / "store.db").stat().st_size
    return RecoveryResults(
        generations=len(records),
        empty_generations_skipped=empty,
        tokens=args.tokens,
        policy=Policy(policy.min_containment, policy.min_matched, SKETCH_SIZE),
        alpha=ALPHA,
        generation_s=round(gen_s, 1),
        sign_and_record_ms_mean=round(1000 * sign_s / max(1, len(records)), 1),
        conditions=conditions,
        negatives=neg,
        fingerprint_null=FingerprintNull(
            texts=len(null_best),
            max_containment=float(max(null_best, default=0.0)),
            max_matched=int(max(null_matched, default=0)),
            p999_containment=float(np.quantile(null_best, 0.999)) if null_best else 0.0,
            false_matches_without_watermark_gate=fingerprint_only_false,
        ),
        scaling=scaling,
        store_bytes=db_bytes,
        machine=f"{platform.machine()}, {platform.python_version()}",
    )


def write(res: RecoveryResults, out: Path) -> None:
    """The JSON (the one serialisation of the typed results), the Markdown table and the plot."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    out.mkdir(parents=True, exist_ok=True)
    (out / "text_recovery.json").write_text(json.dumps(asdict(res), indent=2) + "\n")
    p = res.policy
    lines = [
        "# Durable text credentials: recovery after stripping and editing",
        "",
        f"{res.generations} credentialed generations of the embedded model "
        f"({res.tokens} new tokens, kgw, one key), "
        f"signed with an embedded manifest and recorded (sign + record: {res.sign_and_record_ms_mean} ms each). "
        f"Watermark decided at p <= {res.alpha}; a record counts as found with >= {p.min_matched} of its "
        f"{p.sketch_size} sketch hashes and containment >= {p.min_containment}. "
        "Command: `python eval/text_recovery.py`.",
        "",
        f"| stripped copy | watermark found | recovered, gate p <= {res.alpha} (detection alone) | wrong record "
        "| own containment p05 / median | recovered, gate p <= 0.01, fingerprint-confirmed: the service's (wrong) |",
        "|---|---|---|---|---|---|",
    ]
    for label, c in res.conditions.items():
        oc = c.own_containment
        cells = f"{c.watermark_detected:.3f} | {c.recovered:.3f} | {c.wrong}"
        loose = f"**{c.recovered_loose_gate:.3f}** ({c.wrong_loose_gate})"
        lines.append(f"| {label} | {cells} | {oc.p05:.2f} / {oc.median:.2f} | {loose} |")
    lines += [
        "",
        f"| negatives | texts | watermark found (p <= {res.alpha}) | wrong recoveries (p <= {res.alpha}) "
        "| gate p <= 0.01, the service's: found / wrong |",
        "|---|---|---|---|---|",
    ]
    for kind, n in res.negatives.items():
        loose = f"{n.watermark_detected_loose_gate} / {n.wrong_recoveries_loose_gate}"
        lines.append(f"| {kind} | {n.texts} | {n.watermark_detected} | **{n.wrong_recoveries}** | {loose} |")
    f = res.fingerprint_null
    lines += [
        "",
        f"Fingerprint alone (no watermark gate) over the {f.texts} unrelated negatives: "
        "best containment of any record "
        f"max {f.max_containment:.3f} (p99.9 {f.p999_containment:.3f}), most hashes matched {f.max_matched}; "
        f"{f.false_matches_without_watermark_gate} would pass the threshold without the watermark.",
        "",
        "| records in the store | lookup median (ms) | p95 (ms) "
        "| fingerprint finds its own record (10% edits, diluted; no watermark gate) | bulk load (s) |",
        "|---|---|---|---|---|",
    ]
    for s in res.scaling:
        lines.append(
            f"| {s.records:,} | {s.lookup_ms_median:.1f} | {s.lookup_ms_p95:.1f} | {s.recovered:.3f} | {s.load_s} |"
        )
    lines += ["", f"Store size at the end: {res.store_bytes / 2**20:,.0f} MiB (SQLite). Machine: {res.machine}."]
    (out / "text_recovery.md").write_text("\n".join(lines) + "\n")

    fig, ax = plt.subplots(1, 2, figsize=(10, 3.6))
    labels = list(res.conditions)
    ax[0].barh(labels, [res.conditions[k].recovered_loose_gate for k in labels], color="#2b6cb0")
    ax[0].set_xlim(0, 1)
    ax[0].axvline(0.95, color="#c53030", ls="--", lw=1)
    ax[0].set_title("credentials recovered, gate p <= 0.01 (goal 0.95 at 10% edits)")
    ax[0].invert_yaxis()
    sizes = [s.records for s in res.scaling]
    ax[1].plot(sizes, [s.lookup_ms_median for s in res.scaling], "o-", label="median")
    ax[1].plot(sizes, [s.lookup_ms_p95 for s in res.scaling], "s--", label="p95")
    ax[1].axhline(50, color="#c53030", ls="--", lw=1, label="goal 50 ms")
    ax[1].set_xscale("log")
    ax[1].set_xlabel("records in the store")
    ax[1].set_ylabel("lookup (ms)")
    ax[1].legend(frameon=False)
    fig.tight_layout()
    fig.savefig(out / "text_recovery.png", dpi=120)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--generations", type=int, default=208)
    ap.add_argument("--tokens", type=int, default=200, help="new tokens per generation (the service's default)")
    ap.add_argument("--batch", type=int, default=16)
    ap.add_argument("--unmarked", type=int, default=48, help="unmarked generations among the negatives")
    ap.add_argument("--negatives", type=int, default=0, help="at most this many human and machine texts (0: all)")
    ap.add_argument(
        "--sizes", type=lambda s: [int(x) for x in s.split(",")], default=[1_000, 10_000, 100_000, 1_000_000]
    )
    ap.add_argument("--queries", type=int, default=100, help="lookups timed at each store size")
    ap.add_argument("--containment", type=float, default=TextMatchPolicy().min_containment)
    ap.add_argument("--min-hashes", type=int, default=TextMatchPolicy().min_matched)
    ap.add_argument("--out", type=Path, default=RESULTS)
    args = ap.parse_args()
    res = run(args)
    write(res, args.out)
    print((args.out / "text_recovery.md").read_text())


if __name__ == "__main__":
    main()
