"""Request and response bodies of the HTTP API (the report itself is :class:`detect.report.Report`)."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator

from detect.report import WatermarkFinding

__all__ = [
    "AuditProof",
    "BindingMatches",
    "ChatMessage",
    "DetectRequest",
    "GenerateRequest",
    "GenerateResponse",
    "GenerationWatermark",
    "Health",
    "KeysResponse",
    "Match",
    "MatchesByContent",
    "Readiness",
    "SignerInfo",
    "WatermarkKeyInfo",
]

Scalar = str | int | float | bool


class _Out(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


class ChatMessage(BaseModel):
    """One chat message."""

    role: Literal["system", "user", "assistant"]
    content: str = Field(max_length=100_000)


class GenerateRequest(BaseModel):
    """Body of ``POST /v1/text/generate``: a prompt or chat messages."""

    prompt: str | None = Field(default=None, min_length=1, max_length=100_000)
    messages: list[ChatMessage] | None = Field(default=None, min_length=1, max_length=64)
    max_new_tokens: int = Field(default=200, ge=1, le=4096)
    temperature: float = Field(default=1.0, ge=0.0, le=10.0)
    top_p: float = Field(default=1.0, gt=0.0, le=1.0)
    top_k: int = Field(default=0, ge=0, le=100_000)
    repetition_penalty: float = Field(default=1.0, ge=1.0, le=10.0)
    seed: int | None = Field(default=None, ge=0, lt=2**63)
    watermark: bool = True
    credentials: bool = Field(
        default=False,
        description="Embed signed C2PA credentials declaring AI origin in the text (C2PA A.8), bound to "
        "its watermark, and record the generation so a stripped, edited copy can be traced back to them.",
    )
    stream: bool = Field(default=False, description="Send the text as server-sent events while it is sampled.")

    @model_validator(mode="after")
    def _one_input(self) -> GenerateRequest:
        if (self.prompt is None) == (self.messages is None):
            raise ValueError("give exactly one of `prompt` or `messages`")
        return self


class GenerationWatermark(_Out):
    """The watermark a generated text carries."""

    scheme: str
    key_id: str
    parameters: dict[str, Scalar]


class GenerateResponse(_Out):
    """A generated text (also the ``done`` event of a streamed generation)."""

    text: str
    token_ids: list[int]
    prompt_tokens: int
    finish_reason: Literal["stop", "length"]
    watermark: GenerationWatermark | None
    record_id: str = Field(
        description="The id of this generation in the audit log (and its credentials' soft binding)."
    )
    manifest_id: str | None = Field(
        default=None, description="With `credentials`: the embedded manifest's label (the text ends with it)."
    )


class DetectRequest(BaseModel):
    """Body of ``POST /v1/text/detect``."""

    text: str = Field(min_length=1)


class Match(_Out):
    """A stored manifest that matches (C2PA Soft Binding Resolution API)."""

    manifestId: str = Field(description="The C2PA manifest label, `urn:c2pa:...`.")
    similarityScore: int | None = None


class BindingMatches(_Out):
    """Manifests that match a soft binding."""

    matches: list[Match]


class MatchesByContent(_Out):
    """Manifests for an image or a text, through its watermark (and, for a text, its fingerprint)."""

    matches: list[Match]
    watermark: WatermarkFinding


class AuditProof(_Out):
    """An audit row's RFC 9162 inclusion proof and the signed checkpoint it refers to."""

    leaf_index: int = Field(description="The row's leaf (row number - 1).")
    tree_size: int
    leaf_hash: str = Field(description="SHA-256(0x00 || the row's canonical JSON), hex.")
    root_hash: str
    inclusion_path: list[str]
    checkpoint: str = Field(description="The C2SP signed note holding tree_size and root_hash.")


class Health(_Out):
    """Liveness."""

    status: Literal["ok"]


class Readiness(_Out):
    """Readiness: 200 when ready, 503 with the same body when not."""

    ready: bool
    model_loaded: bool
    store_reachable: bool
    rate_limits: Literal["process", "redis"] = Field(
        description="Where rate-limit buckets live: this process, or Redis (shared by every worker)."
    )
    redis_reachable: bool | None = Field(
        None,
        description="Whether Redis answers (null without Redis). Not part of `ready`: while Redis is "
        "down, limits fall back to each process and requests are still served.",
    )


class WatermarkKeyInfo(_Out):
    """A watermark key (never its secret)."""

    key_id: str
    scheme: str
    status: Literal["active", "detect-only"]
    parameters: dict[str, Scalar]


class SignerInfo(_Out):
    """The C2PA signer in use."""

    name: str
    algorithm: str
    development: bool


class KeysResponse(_Out):
    """Watermark keys and the signer."""

    watermark_keys: list[WatermarkKeyInfo]
    signer: SignerInfo


class TrustListInfo(_Out):
    """A C2PA list in force: its version, where it came from, its entities."""

    kind: Literal["signers", "tsa"]
    version: str = Field(examples=["C2PA Trust List #1 of 2026-08-05"])
    source: str = Field(description="`shipped` (with this release) or installed by `assay trust update`.")
    next_update: str | None
    entities: list[str]
    certificates: int


class TrustResponse(_Out):
    """Who this server trusts: the C2PA lists (when on) and the number of its own anchors."""

    c2pa_trust_list: bool = Field(description="Whether signers on the C2PA Trust List are trusted.")
    lists: list[TrustListInfo]
    server_anchors: int = Field(description="Trust anchors this server's operator added (PEM certificates).")


class FeedbackRequest(BaseModel):
    """Feedback on a verdict: which content (by its report's hash), what was seen, what is wrong."""

    model_config = ConfigDict(extra="forbid")

    content_sha256: str = Field(min_length=64, max_length=64, description="The report's `content_sha256`.")
    verdict_seen: str = Field(max_length=40, description="The report's `verdict` (or a regime's status).")
    topic: Literal["verdict", "watermark", "credentials", "label", "compliance", "other"] = "verdict"
    comment: str = Field(
        min_length=1, max_length=2000, description="Why it is wrong, in your words (no personal data, please)."
    )


class FeedbackReceipt(_Out):
    """Feedback kept: its id (nothing else about the sender is kept)."""

    feedback_id: str
