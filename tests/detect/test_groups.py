"""Genre groups (Mondrian references): the router, the file format and its checks, and the shipped
groups with the real models (a Bible passage is judged against scripture, a news text stays pooled)."""

from __future__ import annotations

import dataclasses
import json
from pathlib import Path

import numpy as np
import pytest

from detect.defaults import load_groups, load_reference, load_text_detector
from detect.embeddings import EMBEDDING_DIM
from detect.groups import MIN_GROUP_TEXTS, POOLED, ROUTER_FLOOR, Groups, fit_router
from detect.text import TextAIDetector
from detect.training import in_calibration_half
from detect.verdict import assemble
from watermark.errors import ConfigurationError
from watermark.text.model import LanguageModel


def _clusters(seed: int = 0) -> tuple[np.ndarray, list[str]]:
    """Unit vectors around three directions, labelled by direction."""
    rng = np.random.default_rng(seed)
    centres = np.eye(EMBEDDING_DIM)[:3]
    rows, labels = [], []
    for label, c in zip((POOLED, "scripture", "novels"), centres, strict=True):
        x = c + 0.3 * rng.standard_normal((40, EMBEDDING_DIM)) / np.sqrt(EMBEDDING_DIM)
        rows.append(x / np.linalg.norm(x, axis=1, keepdims=True))
        labels += [label] * 40
    return np.vstack(rows).astype(np.float32), labels


def test_router_learns_and_routes_held_out_points() -> None:
    x, y = _clusters()
    labels, coef, intercept = fit_router(x, y)
    router = Groups(labels, coef, intercept, {})
    held_out, truth = _clusters(seed=1)
    assert router.route(held_out) == truth
    assert router.route(np.zeros((0, EMBEDDING_DIM), dtype=np.float32)) == []


def test_router_with_one_group_keeps_both_classes() -> None:
    """sklearn keeps one row of weights for two classes; the router must still pick either."""
    x, y = _clusters()
    two = [i for i, label in enumerate(y) if label != "novels"]
    labels, coef, intercept = fit_router(x[two], [y[i] for i in two])
    assert labels == (POOLED, "scripture") and coef.shape == (2, EMBEDDING_DIM)
    assert Groups(labels, coef, intercept, {}).route(x[two]) == [y[i] for i in two]
    with pytest.raises(ValueError, match="pooled"):
        fit_router(x[:2], ["a", "b"])


def test_a_text_the_router_is_unsure_of_stays_pooled() -> None:
    """Between two genres (the router gives each about half) a text is pooled under the floor, and
    goes to the more probable genre without it; a sure text goes to its genre either way."""
    x, y = _clusters()
    labels, coef, intercept = fit_router(x, y)
    router = Groups(labels, coef, intercept, {}, floor=ROUTER_FLOOR)
    between = np.eye(EMBEDDING_DIM, dtype=np.float32)[[1]] + np.eye(EMBEDDING_DIM, dtype=np.float32)[[2]]
    between[0, 2] *= 1.05  # a little nearer the novels
    between /= np.linalg.norm(between)
    p = router.probabilities(between)[0]
    assert p.sum() == pytest.approx(1.0) and 0.3 < p[labels.index("novels")] < ROUTER_FLOOR
    assert router.route(between) == [POOLED]
    assert dataclasses.replace(router, floor=0.0).route(between) == ["novels"]
    sure = np.eye(EMBEDDING_DIM, dtype=np.float32)[[1]]
    assert router.route(sure) == ["scripture"] and router.probabilities(sure)[0].max() >= ROUTER_FLOOR


def test_shipped_groups_round_trip_and_fit_the_shipped_references() -> None:
    groups = load_groups()
    assert groups.groups and POOLED in groups.labels
    for g in groups.groups.values():
        assert g.size >= MIN_GROUP_TEXTS and g.description
    again = Groups.from_json(groups.to_json())
    assert again.labels == groups.labels and np.allclose(again.coef, groups.coef)
    assert again.floor == groups.floor
    raw = json.loads(groups.to_json())
    del raw["router"]["floor"]  # a file written before the floor: the router's argmax, as it was built
    assert Groups.from_json(json.dumps(raw)).floor == 0.0
    for reference in (load_reference(), load_reference(single=True)):
        groups.check_against(reference)
    other = dataclasses.replace(load_reference(), spelling=None)
    with pytest.raises(ConfigurationError, match="another statistic"):
        groups.check_against(other)


@pytest.mark.parametrize(
    ("change", "message"),
    [
        (lambda raw: raw["router"].update(labels=["a", "b"]), "include 'pooled'"),
        (lambda raw: raw["router"].update(intercept=[0.0]), "do not fit"),
        (lambda raw: raw["groups"].clear(), "every class but 'pooled'"),
        (lambda raw: [g["single"].update(sources={"x": 12}) for g in raw["groups"].values()], "under 300"),
        (lambda raw: raw.pop("router"), "router"),
        (lambda raw: raw["router"].update(floor=1.0), "floor"),
    ],
)
def test_invalid_groups_files_are_refused(change: object, message: str) -> None:
    raw = json.loads(load_groups().to_json())
    change(raw)  # type: ignore[operator]
    with pytest.raises(ConfigurationError, match=message):
        Groups.from_json(json.dumps(raw))


# Genesis 27:1-7, World English Bible (public domain); a passage of the evaluation half (no
# reference holds it). Against the pooled reference it scored p = 0.008 (flagged at 1 %).
SCRIPTURE = (
    "When Isaac was old, and his eyes were dim, so that he could not see, he called Esau his elder son, and said "
    "to him, “My son?” He said to him, “Here I am.” He said, “See now, I am old. I don’t know the day of my death. "
    "Now therefore, please take your weapons, your quiver and your bow, and go out to the field, and get me "
    "venison. Make me savory food, such as I love, and bring it to me, that I may eat, and that my soul may bless "
    "you before I die.” Rebekah heard when Isaac spoke to Esau his son. Esau went to the field to hunt for venison, "
    "and to bring it. Rebekah spoke to Jacob her son, saying, “Behold, I heard your father speak to Esau your "
    "brother, saying, ‘Bring me venison, and make me savory food, that I may eat, and bless you before Yahweh "
    "before my death.’"
)


@pytest.mark.slow
def test_scripture_is_judged_against_its_own_group(embedded: LanguageModel, fast_detect_gpt_dir: Path) -> None:
    """The shipped detector routes a Bible passage to the 'bible-web' group, whose human texts find
    it typical; the pooled reference alone flags it. A news story stays pooled."""
    raw = json.loads((fast_detect_gpt_dir / "xsum_gpt-3.5-turbo.raw_data.json").read_text())
    news = next(t for t in raw["original"] if not in_calibration_half(t))
    detector = load_text_detector(embedded, with_classifier=False)
    scripture, story = detector.score_batch([SCRIPTURE, news])
    group = load_groups().groups["bible-web"]
    assert scripture.reference_group == "bible-web" and scripture.group_description == group.description
    assert scripture.reference_sources == dict(group.single.sources)
    assert scripture.verdict == "no-evidence" and scripture.p_value is not None and scripture.p_value > 0.05
    assert story.reference_group == "pooled" and story.reference_sources == dict(detector.reference.sources)
    pooled = TextAIDetector(embedded, detector.reference).score(SCRIPTURE)
    assert pooled.verdict == "ai" and pooled.p_value is not None and pooled.p_value <= 0.01
    finding = scripture.finding()
    assert "of the group 'bible-web' (passages of the World English Bible)" in finding.meaning
    report = assemble(content_type="text/plain", content_sha256="0" * 64, ai_likelihood=finding)
    assert any("calibrated against the 'bible-web' group's own reference" in line for line in report.details)
