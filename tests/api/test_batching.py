from __future__ import annotations

import threading
import time
from collections.abc import Sequence
from typing import Any

import pytest

from api.core.batching import GenerationBatcher, Overloaded
from watermark.errors import InvalidInput
from watermark.text import Generation


class Recorder:
    """A run function that records each batch it was given and takes ``delay`` seconds."""

    def __init__(self, delay: float = 0.05) -> None:
        self.delay = delay
        self.batches: list[list[str]] = []

    def __call__(self, prompts: Sequence[Any], kwargs: dict[str, Any]) -> list[Generation]:
        if any(p == "bad" for p in prompts):
            raise InvalidInput("bad prompt")
        self.batches.append(list(prompts))
        time.sleep(self.delay)
        return [
            Generation(text=f"{p}|{kwargs.get('temperature')}", token_ids=(), prompt_tokens=0, finish_reason="stop")
            for p in prompts
        ]


def _parallel(batcher: GenerationBatcher, jobs: list[tuple[str, dict[str, Any]]], timeout: float = 5.0) -> list[object]:
    out: list[object] = [None] * len(jobs)

    def one(i: int, prompt: str, kwargs: dict[str, Any]) -> None:
        try:
            out[i] = batcher.generate(prompt, queue_timeout=timeout, **kwargs).text
        except Exception as exc:
            out[i] = exc

    threads = [threading.Thread(target=one, args=(i, p, k)) for i, (p, k) in enumerate(jobs)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    return out


def test_compatible_requests_share_batches_and_each_gets_its_own_result() -> None:
    run = Recorder()
    batcher = GenerationBatcher(run, max_batch=4, window_s=0.1)
    jobs = [(f"p{i}", {"temperature": 1.0}) for i in range(8)] + [("hot", {"temperature": 2.0})]
    out = _parallel(batcher, jobs)
    assert out == [f"p{i}|1.0" for i in range(8)] + ["hot|2.0"]
    assert max(len(b) for b in run.batches) > 1 and all(len(b) <= 4 for b in run.batches)
    assert all(("hot" in b) == (b == ["hot"]) for b in run.batches)  # other parameters never share a batch
    assert sorted(p for b in run.batches for p in b) == sorted(p for p, _ in jobs)


def test_seeded_requests_run_alone_and_errors_reach_only_their_batch() -> None:
    run = Recorder()
    batcher = GenerationBatcher(run, max_batch=8, window_s=0.05)
    out = _parallel(batcher, [("a", {"seed": 1}), ("b", {"seed": 2}), ("bad", {"seed": 3})])
    assert out[:2] == ["a|None", "b|None"] and isinstance(out[2], InvalidInput)
    assert sorted(run.batches) == [["a"], ["b"]]
    assert batcher.generate("after", queue_timeout=5).text == "after|None"  # the worker survived the error


def test_a_request_that_waits_too_long_is_withdrawn_unrun() -> None:
    run = Recorder(delay=0.5)
    batcher = GenerationBatcher(run, max_batch=1, window_s=0.0)
    out = _parallel(batcher, [("one", {"seed": 1}), ("two", {"seed": 2})], timeout=0.2)
    served = [x for x in out if isinstance(x, str)]  # whichever reached the worker first
    refused = [x for x in out if isinstance(x, Overloaded)]
    assert len(served) == 1 and len(refused) == 1 and isinstance(refused[0], Overloaded)
    time.sleep(0.7)
    assert run.batches == [[served[0].split("|")[0]]]  # the withdrawn request never ran
    with pytest.raises(ValueError):
        GenerationBatcher(run, max_batch=0)
