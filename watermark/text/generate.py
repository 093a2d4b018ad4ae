"""The generation wrapper: ``model.generate`` with a watermark logits processor.

Prompts are plain strings or chat messages (``[{"role": "user", "content": ...}]``); instruct
models get their chat template. A batch is left-padded and generated in one call. Each result
carries the text, the generated token ids (what detection from ids expects: no prompt, no
padding, no end-of-sequence token) and the watermark metadata; ``scheme=None`` generates
without a watermark, for baselines.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import torch

from watermark.errors import InvalidInput
from watermark.text.model import LanguageModel
from watermark.text.scheme import TextScheme

__all__ = ["Generation", "Prompt", "generate"]

Message = Mapping[str, str]
Prompt = str | Sequence[Message]


@dataclass(frozen=True)
class Generation:
    """One generated text with the ids it was sampled as and the watermark it carries."""

    text: str
    token_ids: tuple[int, ...]
    prompt_tokens: int
    finish_reason: str  # "stop" (end-of-sequence) or "length"
    watermark: dict[str, Any] | None = field(default=None)

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready dictionary."""
        return {
            "text": self.text,
            "token_ids": list(self.token_ids),
            "prompt_tokens": self.prompt_tokens,
            "finish_reason": self.finish_reason,
            "watermark": self.watermark,
        }


def _render(lm: LanguageModel, prompt: Prompt, chat: bool) -> str:
    if isinstance(prompt, str):
        if not prompt.strip():
            raise InvalidInput("prompt is empty")
        messages: list[dict[str, str]] = [{"role": "user", "content": prompt}]
        if not chat:
            return prompt
    else:
        messages = []
        for m in prompt:
            if (
                not isinstance(m, Mapping)
                or not isinstance(m.get("role"), str)
                or not isinstance(m.get("content"), str)
            ):
                raise InvalidInput("chat messages must be objects with string `role` and `content`")
            messages.append({"role": str(m["role"]), "content": str(m["content"])})
        if not messages:
            raise InvalidInput("chat has no messages")
        if not chat:
            raise InvalidInput("this model has no chat template; pass a plain prompt")
    rendered: str = lm.tokenizer.apply_chat_template(messages, tokenize=False, add_generation_prompt=True)
    return rendered


def generate(
    lm: LanguageModel,
    prompts: Prompt | Sequence[Prompt],
    *,
    scheme: TextScheme | None,
    max_new_tokens: int = 200,
    min_new_tokens: int = 0,
    temperature: float = 1.0,
    top_p: float = 1.0,
    top_k: int = 0,
    repetition_penalty: float = 1.0,
    seed: int | None = None,
    chat: bool | None = None,
    max_prompt_tokens: int = 4096,
    streamer: Any = None,
) -> list[Generation]:
    """Generate one text per prompt, watermarked with ``scheme`` (or not, when ``None``).

    Args:
        lm: the loaded model.
        prompts: one prompt (a string or a list of chat messages) or a list of prompts.
        scheme: the watermark scheme bound to the active key; ``None`` for no watermark.
        max_new_tokens: tokens to generate per prompt (1 to 4096).
        min_new_tokens: suppress end-of-sequence before this many tokens (for fixed-length runs).
        temperature: 0 for greedy decoding, else the sampling temperature.
        top_p: nucleus sampling mass in (0, 1].
        top_k: keep only the k most likely tokens (0 = off).
        repetition_penalty: >= 1.0; 1.0 = off.
        seed: seed for sampling, for reproducible output.
        chat: apply the chat template; default: when the tokenizer has one.
        max_prompt_tokens: longer prompts are rejected.
        streamer: a ``transformers`` streamer (``put``/``end``) fed the tokens as they are
            sampled; only with one prompt.

    Returns:
        One :class:`Generation` per prompt, in order.

    Raises:
        InvalidInput: empty prompts or out-of-range parameters.
    """
    if isinstance(prompts, str) or (isinstance(prompts, Sequence) and prompts and isinstance(prompts[0], Mapping)):
        batch: list[Prompt] = [prompts]  # type: ignore[list-item]
    else:
        batch = list(prompts)  # type: ignore[arg-type]
    if not batch:
        raise InvalidInput("no prompts")
    if streamer is not None and len(batch) != 1:
        raise InvalidInput("streaming needs exactly one prompt")
    if not (isinstance(max_new_tokens, int) and 1 <= max_new_tokens <= 4096):
        raise InvalidInput("`max_new_tokens` has to be an int in [1, 4096]")
    if not 0 <= min_new_tokens <= max_new_tokens:
        raise InvalidInput("`min_new_tokens` has to be in [0, max_new_tokens]")
    if not 0.0 <= temperature <= 10.0:
        raise InvalidInput("`temperature` has to be in [0, 10]")
    if not 0.0 < top_p <= 1.0:
        raise InvalidInput("`top_p` has to be in (0, 1]")
    if top_k < 0 or repetition_penalty < 1.0:
        raise InvalidInput("`top_k` has to be >= 0 and `repetition_penalty` >= 1")
    use_chat = lm.is_chat if chat is None else chat
    texts = [_render(lm, p, use_chat) for p in batch]
    tok = lm.tokenizer
    tok.padding_side = "left"
    enc = tok(texts, return_tensors="pt", padding=True, add_special_tokens=not use_chat)
    if enc["input_ids"].shape[1] > max_prompt_tokens:
        raise InvalidInput(f"prompt is longer than {max_prompt_tokens} tokens")
    device = next(lm.model.parameters()).device
    enc = {k: v.to(device) for k, v in enc.items()}
    sampling: dict[str, Any] = {"do_sample": temperature > 0}
    if temperature > 0:
        sampling.update(temperature=temperature, top_p=top_p, top_k=top_k)
    else:
        sampling.update(temperature=None, top_p=None, top_k=None)
    if scheme is not None:  # a scheme that samples itself replaces the sampling arguments
        sampling.update(scheme.generation_kwargs(temperature=temperature, top_p=top_p, top_k=top_k))
    if seed is not None:
        torch.manual_seed(seed)
    with torch.inference_mode():
        out = lm.model.generate(
            **enc,
            max_new_tokens=max_new_tokens,
            min_new_tokens=min_new_tokens,
            repetition_penalty=repetition_penalty,
            pad_token_id=tok.pad_token_id,
            streamer=streamer,
            **sampling,
        )
    prompt_len = enc["input_ids"].shape[1]
    eos = lm.model.generation_config.eos_token_id
    eos_ids = set(eos if isinstance(eos, list) else [eos] if eos is not None else [])
    meta = (
        {"scheme": scheme.name, "key_id": scheme.key_id, "parameters": scheme.parameters()}
        if scheme is not None
        else None
    )
    results = []
    for i, row in enumerate(out[:, prompt_len:].tolist()):
        stop = next((j for j, t in enumerate(row) if t in eos_ids), None)
        ids = row if stop is None else row[:stop]
        prompt_tokens = int(enc["attention_mask"][i].sum())
        results.append(
            Generation(
                text=tok.decode(ids, skip_special_tokens=True),
                token_ids=tuple(ids),
                prompt_tokens=prompt_tokens,
                finish_reason="length" if stop is None else "stop",
                watermark=meta,
            )
        )
    return results
