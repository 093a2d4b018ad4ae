"""The AI-likelihood statistic in bfloat16: the same verdicts as float32, the model itself untouched."""

from __future__ import annotations

import copy as copy_module
from pathlib import Path

import pytest
import torch

from api.core.runtime import Runtime
from api.core.settings import Settings
from api.scan.run import scan_settings
from detect.defaults import load_groups, load_reference, load_text_detector
from detect.spelling import SPELLING
from detect.text import DEFAULT_SCREEN
from watermark.text.model import LanguageModel
from watermark.text.precision import as_precision, native_bf16, resolve_precision

TEXTS = [
    "The council met on Tuesday evening to discuss the new bus timetable. Several residents said the early "
    "service had been cut without warning, and the chair promised to raise it with the operator before the "
    "next meeting in March.",
    "Photosynthesis is the process by which green plants and some other organisms use sunlight to synthesize "
    "foods from carbon dioxide and water. It generally involves the green pigment chlorophyll and generates "
    "oxygen as a byproduct, which is essential for most life on Earth.",
]


@pytest.mark.slow
def test_bf16_scores_like_fp32_and_leaves_the_generation_model_alone(embedded: LanguageModel) -> None:
    assert as_precision(embedded, "fp32") is embedded
    fast = as_precision(embedded, "bf16")
    assert next(fast.model.parameters()).dtype == torch.bfloat16
    assert next(embedded.model.parameters()).dtype == torch.float32  # generation keeps float32
    exact = load_text_detector(embedded, with_classifier=False).score_batch(TEXTS)
    approx = load_text_detector(fast, with_classifier=False).score_batch(TEXTS)
    for a, b in zip(exact, approx, strict=True):
        assert a.verdict == b.verdict and a.tokens == b.tokens
        assert a.features["log_likelihood"] == pytest.approx(b.features["log_likelihood"], abs=0.05)
        assert a.p_value == pytest.approx(b.p_value, abs=0.02)


def test_a_scoring_only_model_is_converted_in_place(tiny_lm: LanguageModel) -> None:
    copy = LanguageModel(model=copy_module.deepcopy(tiny_lm.model), tokenizer=tiny_lm.tokenizer, name=tiny_lm.name)
    same = as_precision(copy, "bf16", keep=False)
    assert same.model is copy.model and next(copy.model.parameters()).dtype == torch.bfloat16


def test_the_screen_follows_the_setting(tmp_path: Path) -> None:
    from api.core.text_service import TextService

    assert TextService(Settings(ai_screen=1.0, data_dir=tmp_path))._screen(SPELLING) is None
    screen = TextService(Settings(data_dir=tmp_path))._screen(SPELLING)
    assert (
        screen.above == DEFAULT_SCREEN == Settings().ai_screen and screen.reference.statistic_name == "log_likelihood"
    )
    # a two-model reference trained before spelling restoration runs without the (restoring) shipped screen
    assert TextService(Settings(data_dir=tmp_path))._screen(None) is None


def test_the_genre_groups_follow_the_setting(tmp_path: Path) -> None:
    from api.core.text_service import TextService

    ref = load_reference()
    assert TextService(Settings(data_dir=tmp_path))._groups(ref, None) is load_groups()
    assert TextService(Settings(ai_groups=False, data_dir=tmp_path))._groups(ref, None) is None


def test_auto_precision_follows_the_cpu_and_scans_record_it(tmp_path: Path) -> None:
    assert resolve_precision("auto") == ("bf16" if native_bf16() else "fp32")
    assert resolve_precision("fp32") == "fp32" and resolve_precision("bf16") == "bf16"
    settings = Settings(ai_precision="fp32", data_dir=tmp_path)
    assert scan_settings(settings, Runtime.open(settings)).ai_precision == "fp32"
