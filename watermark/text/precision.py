"""Reduced-precision copies of a loaded model for scoring (the AI-likelihood statistic).

bfloat16 weights with float32 log-softmax score 128 tokens about twice as fast as float32 on CPUs
with native bfloat16 (AMX or AVX-512 BF16) and change the mean log-likelihood by ~1e-3 nats
(``eval/scale.py``); on other CPUs bfloat16 is emulated and slower, so ``auto`` keeps float32
there. The setting applies to both AI-likelihood models; per text, the embedded model's mean
log-likelihood moves by at most 0.024 nats and the second model's mean entropy by 0.011 (72
evaluation texts, against spreads of 0.35 and 0.30 across texts), and ``eval/detection.py``
scores as the service does. Generation always uses the float32 model: its sampling stays bit-exact with transformers.
"""

from __future__ import annotations

import copy
from functools import lru_cache
from pathlib import Path
from typing import Literal

import torch

from .model import LanguageModel

__all__ = ["Precision", "as_precision", "native_bf16", "resolve_precision"]

Precision = Literal["auto", "fp32", "bf16"]


@lru_cache(maxsize=1)
def native_bf16() -> bool:
    """Whether this CPU computes bfloat16 natively (AMX or AVX-512 BF16; read from /proc/cpuinfo)."""
    try:
        flags = Path("/proc/cpuinfo").read_text()
    except OSError:
        return False
    return " amx_bf16" in flags or " avx512_bf16" in flags


def resolve_precision(precision: Precision) -> Literal["fp32", "bf16"]:
    """``auto`` -> ``bf16`` where the CPU has native bfloat16, else ``fp32``."""
    if precision == "auto":
        return "bf16" if native_bf16() else "fp32"
    return precision


def as_precision(lm: LanguageModel, precision: Literal["fp32", "bf16"], *, keep: bool = True) -> LanguageModel:
    """``lm`` itself for fp32, else a bfloat16 copy (same tokenizer and name); ``keep=False``
    converts ``lm``'s own weights instead (a model used only for scoring: no second copy)."""
    if precision == "fp32":
        return lm
    model = (copy.deepcopy(lm.model) if keep else lm.model).to(torch.bfloat16)
    model.eval()
    return LanguageModel(model=model, tokenizer=lm.tokenizer, name=lm.name)
