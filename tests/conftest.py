"""Shared fixtures: offline mode, the embedded model (cached once), a tiny random model."""

from __future__ import annotations

import os

os.environ["HF_HUB_OFFLINE"] = "1"
os.environ["TRANSFORMERS_OFFLINE"] = "1"
if os.environ.get("PYTEST_XDIST_WORKER_COUNT"):
    # Under `pytest -n N` (as `make test` runs): each worker, and every process its tests
    # start, computes with its share of the cores, not all of them (set before torch is imported).
    from api.core.threads import share_of_cores

    share = str(share_of_cores(int(os.environ["PYTEST_XDIST_WORKER_COUNT"])))
    for pool in ("OMP_NUM_THREADS", "MKL_NUM_THREADS", "OPENBLAS_NUM_THREADS"):
        os.environ[pool] = share

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import torch

from watermark.keys import KeyRing, Secret, WatermarkKey
from watermark.text.model import SECOND_MODEL, LanguageModel, default_model_cache, load_model, load_tokenizer
from watermark.text.precision import as_precision, resolve_precision

REPO = Path(__file__).resolve().parents[1]


@pytest.fixture(scope="session", autouse=True)
def reports_match_published_schema() -> Iterator[list[int]]:
    """Every report any test builds is checked against the published JSON Schema
    (``detect/report.schema.json``), not only against the Python types it was built from."""
    import json

    import jsonschema

    from detect.report import SCHEMA_PATH, Report

    validator = jsonschema.Draft202012Validator(json.loads(SCHEMA_PATH.read_text()))
    built = [0]
    original = Report.__init__

    def checked(self: Report, **data: Any) -> None:
        original(self, **data)
        errors = sorted(validator.iter_errors(self.to_json()), key=str)
        assert not errors, f"a report does not match {SCHEMA_PATH.name}: {errors[0].message} at {list(errors[0].path)}"
        built[0] += 1

    Report.__init__ = checked  # type: ignore[method-assign]
    try:
        yield built
    finally:
        Report.__init__ = original  # type: ignore[method-assign]


@pytest.fixture(scope="session")
def cache_dir() -> Path:
    """The machine's model cache (``ASSAY_MODEL_CACHE`` overrides): conversions happen once per machine."""
    return default_model_cache()


@pytest.fixture(scope="session")
def tokenizer(cache_dir: Path) -> Any:
    """The embedded model's tokenizer."""
    return load_tokenizer(cache_dir=cache_dir)


@pytest.fixture(scope="session")
def embedded(cache_dir: Path) -> LanguageModel:
    """The real embedded SmolLM2-135M-Instruct."""
    return load_model(cache_dir=cache_dir)


@pytest.fixture(scope="session")
def scorer(embedded: LanguageModel) -> LanguageModel:
    """The embedded model in the precision the service scores with (``ai_precision`` ``auto``:
    bfloat16 where the CPU computes it natively; generation keeps :func:`embedded`)."""
    return as_precision(embedded, resolve_precision("auto"))


@pytest.fixture(scope="session")
def second(cache_dir: Path) -> LanguageModel:
    """The real second offline model, Gemma 3 270M (assembled and converted once), in the precision
    the service scores with (it only scores)."""
    return as_precision(load_model(SECOND_MODEL, cache_dir=cache_dir), resolve_precision("auto"), keep=False)


@pytest.fixture(scope="session")
def tiny_lm(tokenizer: Any) -> LanguageModel:
    """A two-layer random Llama with the real tokenizer: high-entropy, fast generations."""
    from transformers import LlamaConfig, LlamaForCausalLM

    torch.manual_seed(0)
    config = LlamaConfig(
        vocab_size=len(tokenizer),
        hidden_size=32,
        intermediate_size=64,
        num_hidden_layers=2,
        num_attention_heads=4,
        num_key_value_heads=2,
        max_position_embeddings=2048,
        bos_token_id=tokenizer.bos_token_id,
        eos_token_id=tokenizer.eos_token_id,
        pad_token_id=tokenizer.pad_token_id,
    )
    model = LlamaForCausalLM(config).eval()
    model.generation_config.eos_token_id = tokenizer.eos_token_id
    if tokenizer.pad_token_id is None:
        tokenizer.pad_token = tokenizer.eos_token
    return LanguageModel(model=model, tokenizer=tokenizer, name="tiny-random")


def make_key(key_id: str = "k1", secret: bytes = b"test-secret", scheme: str = "kgw", **params: Any) -> WatermarkKey:
    """A key for tests."""
    return WatermarkKey(key_id, scheme, Secret(secret), params)


@pytest.fixture
def ring() -> Iterator[KeyRing]:
    """Two KGW keys, the second active (rotation)."""
    yield KeyRing([make_key("old", b"old-secret"), make_key("new", b"new-secret")], active="new")


@pytest.fixture(scope="session")
def fast_detect_gpt_dir() -> Path:
    """The labelled sets shipped in ``eval/data/fast-detect-gpt`` (MIT; see its README)."""
    return REPO / "eval" / "data" / "fast-detect-gpt"
