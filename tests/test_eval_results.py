"""Benchmark results are typed and serialised once: the JSON form reads back into the same types."""

from __future__ import annotations

import dataclasses
import json
from pathlib import Path

import pytest

from eval.typed_results import from_json, write_json

REPO = Path(__file__).resolve().parents[1]


@dataclasses.dataclass(frozen=True)
class Cell:
    rate: float
    interval: tuple[float, float]
    note: str | None = None


@dataclasses.dataclass
class Section:
    cells: dict[str, Cell]
    sizes: list[int]
    best: Cell | None = None


def test_results_round_trip_through_their_json_form(tmp_path: Path) -> None:
    section = Section({"a": Cell(0.5, (0.1, 0.9)), "b": Cell(1.0, (0.8, 1.0), "subset")}, [512, 1024], Cell(1, (1, 1)))
    write_json(tmp_path / "r.json", section)
    assert from_json(Section, json.loads((tmp_path / "r.json").read_text())) == section
    assert not list(tmp_path.glob("*.tmp"))  # written through a temporary file, renamed into place


def test_the_shipped_scale_results_read_back_and_render() -> None:
    from eval.scale import ScaleResults, _md

    results = from_json(ScaleResults, json.loads((REPO / "eval" / "results" / "scale.json").read_text()))
    assert results.ai is not None and set(results.ai.paths) == {"fp32", "bf16", "int8-dynamic"}
    assert set(results.scan) == {"sqlite", "postgresql"} and results.audit is not None
    shipped = (REPO / "eval" / "results" / "scale.md").read_text()
    assert _md(results).splitlines()[3:] == shipped.splitlines()[3:]  # the same tables (the heading names this machine)


def test_the_shipped_image_results_read_back() -> None:
    from eval.image_watermark import Results

    results = from_json(Results, json.loads((REPO / "eval" / "results" / "image_watermark.json").read_text()))
    assert set(results.robustness) == {"photo", "flat"} and results.speed is not None and results.null is not None
    assay = results.robustness["flat"]["assay"]
    assert assay.attacks["none"].tpr_at_1e_6 == 1.0 and assay.per_image and results.null.false_detections == 0


def test_the_scan_profile_counts_the_steady_span_and_weighs_items_by_their_cost() -> None:
    """Two workers that each finish a first item, then share four: the steady span starts when the
    slower first item ends; the weighted efficiency counts what those items cost one worker."""
    from eval.scan_profile import ItemTiming, ScanProfile, _md, _profile

    def item(name: str, pid: int, start: float, wall: float) -> ItemTiming:
        return ItemTiming(name, pid, start, wall, wall, 0.001, 0.0001, 6000)

    timings = [
        item("a", 1, 0.0, 1.0), item("b", 2, 0.0, 2.0),  # first items: worker 2 ready at 2.0
        item("c", 1, 1.0, 1.0),  # started before both were ready: not steady
        item("d", 1, 2.0, 2.0), item("e", 2, 2.0, 2.0), item("f", 1, 4.0, 1.0), item("g", 2, 4.0, 1.0),
    ]  # fmt: skip
    cost = {"a": 1.0, "b": 1.0, "c": 1.0, "d": 1.0, "e": 1.0, "f": 0.5, "g": 0.5}
    run = _profile(2, timings, 0.1, cost)
    assert (run.steady_items, run.steady_s) == (4, 3.0)
    assert run.items_per_s == 4 / 3.0 and run.busy_share == 6.0 / 6.0
    assert run.work_efficiency == (1 + 1 + 0.5 + 0.5) / (2 * 3.0)
    assert run.slowdown == 2.0 and run.first_item_s == 2.0
    shipped = json.loads((REPO / "eval" / "results" / "scan_profile.json").read_text())
    profile = from_json(ScanProfile, shipped)
    assert set(profile.runs) == {"one", "pool", "independent"} and "work efficiency" in _md(profile)


def test_group_calibration_answers_from_the_group_and_falls_back_where_it_is_too_small() -> None:
    """A group with enough texts at the text's length answers alone (the p-value ranks the text
    among that group's humans only); a group under ``MIN_REFERENCE`` texts, or one full only at a
    shorter length than the pooled reference would judge the text at, is answered by the pooled
    reference and says so; a text with no group is the pooled reference's, not a fallback."""
    import numpy as np

    from detect.calibration import build_reference
    from detect.cross_model import ScoredText
    from detect.features import TokenScores
    from eval.group_calibration import build

    rng = np.random.default_rng(0)

    def text(mean: float, tokens: int = 40) -> ScoredText:
        ll = rng.normal(mean, 0.5, tokens)
        offsets = np.stack([np.arange(tokens) * 5, np.arange(tokens) * 5 + 4], axis=1).astype(np.int64)
        return ScoredText(TokenScores(ll, np.zeros(tokens), -ll, ll, np.ones(tokens), offsets))

    scores = [text(-3.0) for _ in range(150)] + [text(-1.0) for _ in range(50)] + [text(0.0, 20) for _ in range(120)]
    groups = ["a"] * 150 + ["b"] * 50 + ["c"] * 120
    grouped, sizes = build(lambda h: build_reference("m", h), scores, groups, [True] * len(scores))
    assert sizes == {"a": 150, "b": 50, "c": 120}
    probe = text(-2.0)  # 40 tokens: judged at 32 by the pooled reference; above every "a", below every "b"
    pooled = grouped.p_value(probe, None)
    assert pooled == (51 / 201, False)  # the 200 texts long enough for 32 tokens; the 50 "b" score higher
    assert grouped.p_value(probe, "a") == (1 / 151, False)  # the smallest p-value 150 texts give
    assert grouped.p_value(probe, "b") == (51 / 201, True)  # 50 texts: too few
    assert grouped.p_value(probe, "c") == (51 / 201, True)  # 120 texts, but none of 32 tokens


def test_the_reference_draw_study_reads_back_and_renders() -> None:
    """The shipped split is one of the draws' kind: its figures and the draws' spread are stored
    for both windows, and the page is what the stored figures render to."""
    from eval.reference_draws import Results, summary

    results = from_json(Results, json.loads((REPO / "eval" / "results" / "reference_draws.json").read_text()))
    assert set(results.windows) == {"whole text", "128-token window"}
    for w in results.windows.values():
        assert len(w.draws) == results.draws and w.tpr_1.low <= w.tpr_1.mean <= w.tpr_1.high
        assert w.shipped.humans > 400 and 0 <= w.shipped.flagged_1 <= w.shipped.humans
    shipped = (REPO / "eval" / "results" / "reference_draws.md").read_text()
    assert "\n".join(summary(results)) + "\n" == shipped


@pytest.mark.parametrize(
    ("name", "statistic"), [("surprise_cap", "cross_model"), ("surprise_cap_single", "log_likelihood")]
)
def test_the_surprise_cap_study_reads_back_and_renders(name: str, statistic: str) -> None:
    """Every cap is judged on the same draws; no cap is dropped from the page; only the two-model
    statistic has weights to report."""
    from eval.surprise_cap import CAPS, KINDS, Results, markdown

    results = from_json(Results, json.loads((REPO / "eval" / "results" / f"{name}.json").read_text()))
    assert [c.cap for c in results.caps] == list(CAPS) and results.statistic == statistic
    for c in results.caps:
        assert len(c.draws) == results.draws and set(c.tpr) == set(KINDS)
        assert c.fpr.low <= c.fpr.mean <= c.fpr.high and c.shipped.humans == results.humans
        assert (c.shipped.weights is None) == (statistic == "log_likelihood")
    assert markdown(results) == (REPO / "eval" / "results" / f"{name}.md").read_text()


def test_the_restoration_counts_read_back_and_render() -> None:
    """Every restoration is counted on both halves over the same damaged words, each word once."""
    from detect.spelling import RESTORATIONS
    from eval.restoration_counts import OUTCOMES, Results, markdown

    results = from_json(Results, json.loads((REPO / "eval" / "results" / "restoration_counts.json").read_text()))
    for half in ("calibration", "evaluation"):
        mine = [c for c in results.counts if c.half == half]
        assert [c.restoration for c in mine] == list(RESTORATIONS) and len({c.damaged for c in mine}) == 1
        assert all(list(c.outcomes) == list(OUTCOMES) and sum(c.outcomes.values()) == c.damaged for c in mine)
    assert markdown(results) == (REPO / "eval" / "results" / "restoration_counts.md").read_text()


def test_the_larger_scorer_study_reads_back_and_renders() -> None:
    """The pair and the shipped default are judged on the same texts of every set."""
    from eval.larger_scorer import STATISTICS, Results, markdown

    results = from_json(Results, json.loads((REPO / "eval" / "results" / "larger_scorer.json").read_text()))
    for cells in results.sets.values():
        assert list(cells) == list(STATISTICS) and len({c.texts for c in cells.values()}) == 1
    assert all(k <= n for cells in results.fpr.values() for k, n, _, _ in cells.values())
    assert markdown(results) == (REPO / "eval" / "results" / "larger_scorer.md").read_text()


def test_the_audio_studies_read_back_and_render() -> None:
    """The watermark page is what its JSON renders to, and the budget measures the shipped rule
    beside the previous one on the same sounds."""
    from eval.audio_budget import Budget
    from eval.audio_budget import _md as budget_md
    from eval.audio_watermark import AudioResults, _md

    results = from_json(AudioResults, json.loads((REPO / "eval" / "results" / "audio_watermark.json").read_text()))
    assert {c.strength for c in results.cells} == set(results.strengths) and results.null_false_detections == 0
    assert all(c.detected <= c.found <= c.total for c in results.cells)
    assert _md(results) == (REPO / "eval" / "results" / "audio_watermark.md").read_text()
    budget = from_json(Budget, json.loads((REPO / "eval" / "results" / "audio_budget.json").read_text()))
    assert {r.rule for r in budget.rows} == {"floor", "uniform"}
    assert {r.signal for r in budget.rows if r.rule == "floor"} == {
        r.signal for r in budget.rows if r.rule == "uniform"
    }
    assert budget_md(budget.rows) == (REPO / "eval" / "results" / "audio_budget.md").read_text()


def test_the_human_genres_study_reads_back_and_renders() -> None:
    """Both forms judge the same texts of every genre, and the shipped groups are the ones measured."""
    from detect.defaults import load_groups
    from eval.human_genres import FORMS, Results, _md

    results = from_json(Results, json.loads((REPO / "eval" / "results" / "human_genres.json").read_text()))
    assert results.groups == {name: g.size for name, g in load_groups().groups.items()}
    for g in results.genres.values():
        assert list(g.forms) == list(FORMS) and len({len(f.p_values) for f in g.forms.values()}) == 1
        assert sum(g.forms["grouped"].routed.values()) == g.texts == len(g.forms["pooled"].p_values) + g.abstained
        assert all(k <= len(g.forms["pooled"].p_values) for f in g.forms.values() for k, _, _ in f.flagged.values())
    assert _md(results, 0) == (REPO / "eval" / "results" / "human_genres.md").read_text()


def test_the_group_router_study_reads_back_and_renders() -> None:
    """Every text is routed once each way; the floor moves exactly the named-group texts under it,
    and only to the pooled reference."""
    from detect.defaults import load_groups
    from detect.groups import POOLED, ROUTER_FLOOR
    from eval.group_router import md, read

    results = read(REPO / "eval" / "results" / "group_router.json")
    assert results.floor == ROUTER_FLOOR and results.groups == list(load_groups().groups)
    for row in results.rows:
        assert sum(row.argmax.values()) == sum(row.at_floor.values()) == row.texts
        moved = row.named_below[f"{results.floor:g}"]
        assert row.at_floor.get(POOLED, 0) - row.argmax.get(POOLED, 0) == moved
        assert all(row.at_floor.get(g, 0) <= n for g, n in row.argmax.items() if g != POOLED)
    assert md(results) == (REPO / "eval" / "results" / "group_router.md").read_text()


def test_human_passages_are_cut_at_unit_boundaries_within_their_bounds() -> None:
    """Passages join whole units up to MIN_WORDS..MAX_WORDS words; the HTML reader takes paragraphs
    (``<p>`` and DocBook's ``<div class="para">``, nested divs included) and skips headings."""
    from eval.human_corpora import MAX_WORDS, MIN_WORDS, _pack, _Paragraphs

    units = [" ".join(["w"] * n) for n in (60, 60, 60, 10, 300, 90, 90, 5)]
    packed = [len(p.split()) for p in _pack(units)]
    assert packed == [180, 180] and all(MIN_WORDS <= n <= MAX_WORDS for n in packed)
    parser = _Paragraphs()
    parser.feed(
        "<h2>Intro</h2><p>One <b>bold</b> word.</p><div class='para'>Two <div>nested</div> parts.</div>"
        "<h3>Next</h3><div class='note'>not a paragraph</div><p>Three.</p>"
    )
    assert parser.sections == [("", []), ("Intro", ["One bold word.", "Two nested parts."]), ("Next", ["Three."])]
