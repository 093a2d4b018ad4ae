"""One model cache per user and machine: shared by every data directory, built once by processes
that start together, named after the source file's hash."""

from __future__ import annotations

import multiprocessing
import time
from pathlib import Path

import pytest

from api.core.settings import Settings
from watermark.text.model import _DONE_MARKER, build_once, default_model_cache


def _slow_build(into: Path) -> None:
    with open(into.parent / "builds.log", "a") as log:
        log.write("built\n")
    time.sleep(0.5)
    (into / "weights").write_text("w")


def _ask(target: str) -> None:
    build_once(Path(target), _slow_build)


def test_processes_starting_together_build_once_and_all_use_it(tmp_path: Path) -> None:
    target = tmp_path / "cache" / "model-0123"
    ctx = multiprocessing.get_context("fork")
    procs = [ctx.Process(target=_ask, args=(str(target),)) for _ in range(3)]
    for p in procs:
        p.start()
    for p in procs:
        p.join(timeout=30)
    assert [p.exitcode for p in procs] == [0, 0, 0]
    assert (target.parent / "builds.log").read_text() == "built\n"
    assert (target / "weights").read_text() == "w" and (target / _DONE_MARKER).is_file()
    assert sorted(p.name for p in target.parent.iterdir() if not p.name.startswith(".")) == ["builds.log", "model-0123"]


def test_an_interrupted_build_leaves_nothing_half_written(tmp_path: Path) -> None:
    def broken(into: Path) -> None:
        (into / "weights").write_text("half")
        raise KeyboardInterrupt

    target = tmp_path / "model"
    with pytest.raises(KeyboardInterrupt):
        build_once(target, broken)
    assert not target.exists() and [p.name for p in tmp_path.iterdir()] == [".model.lock"]
    build_once(target, _slow_build)
    assert (target / "weights").read_text() == "w"


def test_every_data_directory_shares_the_machine_cache(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("ASSAY_MODEL_CACHE", raising=False)
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "xdg"))
    a, b = Settings(data_dir=tmp_path / "a"), Settings(data_dir=tmp_path / "b")
    assert a.model_cache == b.model_cache == tmp_path / "xdg" / "assay" / "models" == default_model_cache()
    monkeypatch.setenv("ASSAY_MODEL_CACHE", str(tmp_path / "mine"))
    assert Settings(data_dir=tmp_path / "a").model_cache == tmp_path / "mine"
