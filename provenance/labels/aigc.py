"""The implicit label of GB 45438-2025 (China's mandatory labelling standard): a metadata field
whose name contains ``AIGC`` holding a JSON object of seven keys.

``{"AIGC": {"Label": "1", "ContentProducer": ..., "ProduceID": ..., "ReservedCode1": ...,
"ContentPropagator": ..., "PropagateID": ..., "ReservedCode2": ...}}``; ``Label`` is ``"1"``
(AI-generated), ``"2"`` (possibly AI-generated) or ``"3"`` (suspected AI-generated). Real files
differ from the standard's example: some carry the inner object without the ``{"AIGC": ...}``
wrapper, some write the keys in another case. :func:`parse_aigc` reads every such form and says
in words what departs from the standard; :class:`AigcLabel` writes the wrapped form.
"""

from __future__ import annotations

import contextlib
import json
from dataclasses import dataclass, field, replace
from typing import Literal

from watermark.errors import InvalidInput

__all__ = ["AIGC_KEYS", "LABEL_SAYS", "AigcLabel", "ParsedAigc", "parse_aigc"]

AIGC_KEYS = (
    "Label",
    "ContentProducer",
    "ProduceID",
    "ReservedCode1",
    "ContentPropagator",
    "PropagateID",
    "ReservedCode2",
)
Says = Literal["ai-generated", "possibly-ai", "suspected-ai", "unknown"]
LABEL_SAYS: dict[str, Says] = {"1": "ai-generated", "2": "possibly-ai", "3": "suspected-ai"}
_MAX_VALUE = 1024  # characters per field, written or read (a label is a few hundred bytes)
_MAX_JSON = 16 * 1024


def _check_value(name: str, value: str) -> str:
    if len(value) > _MAX_VALUE:
        raise InvalidInput(f"{name} must have at most {_MAX_VALUE} characters")
    if any(ord(c) < 0x20 for c in value):
        raise InvalidInput(f"{name} must not hold control characters")
    return value


@dataclass(frozen=True)
class AigcLabel:
    """An implicit label to write: who made the content (``content_producer``, ``produce_id``)
    and, once a platform redistributes it, who spread it (``content_propagator``, ``propagate_id``).

    Raises:
        InvalidInput: ``label`` is not 1, 2 or 3; a producer without an id; a value too long or
            holding control characters.
    """

    label: str = "1"
    content_producer: str = ""
    produce_id: str = ""
    reserved_code1: str = ""
    content_propagator: str = ""
    propagate_id: str = ""
    reserved_code2: str = ""

    def __post_init__(self) -> None:
        if self.label not in LABEL_SAYS:
            raise InvalidInput(
                f"Label must be 1 (AI-generated), 2 (possibly) or 3 (suspected); got {self.label[:20]!r}"
            )
        for name, value in zip(AIGC_KEYS, self.values(), strict=True):
            _check_value(name, value)
        producer, produce_id = self.content_producer.strip(), self.produce_id.strip()
        propagator, propagate_id = self.content_propagator.strip(), self.propagate_id.strip()
        if bool(propagator) != bool(propagate_id):
            raise InvalidInput("ContentPropagator and PropagateID go together: give both or neither")
        if bool(producer) != bool(produce_id):
            raise InvalidInput("ContentProducer and ProduceID go together: give both or neither")
        if not producer and not propagator:
            raise InvalidInput("a label names its producer (ContentProducer, ProduceID) or its propagator")

    def values(self) -> tuple[str, ...]:
        """The seven values in the standard's order."""
        return (
            self.label,
            self.content_producer,
            self.produce_id,
            self.reserved_code1,
            self.content_propagator,
            self.propagate_id,
            self.reserved_code2,
        )

    def fields(self) -> dict[str, str]:
        """The seven keys and values, as the standard names them."""
        return dict(zip(AIGC_KEYS, self.values(), strict=True))

    def to_json(self) -> str:
        """The wrapped JSON form, compact, non-ASCII kept as is."""
        return json.dumps({"AIGC": self.fields()}, ensure_ascii=False, separators=(",", ":"))

    def propagated(self, propagator: str, propagate_id: str) -> AigcLabel:
        """This label with a platform's propagator fields filled (the producer's are kept)."""
        return replace(self, content_propagator=propagator, propagate_id=propagate_id)

    @classmethod
    def from_fields(cls, fields: dict[str, str]) -> AigcLabel:
        """A label from fields as :func:`parse_aigc` found them (missing keys empty)."""
        return cls(*(fields.get(k, "") for k in AIGC_KEYS))


@dataclass(frozen=True)
class ParsedAigc:
    """What one AIGC field holds: the seven keys as found (canonical names), whether the
    ``{"AIGC": ...}`` wrapper was there, and what departs from the standard, in words."""

    fields: dict[str, str]
    wrapped: bool
    says: Says
    problems: tuple[str, ...] = field(default=())
    notes: tuple[str, ...] = field(default=())  # departures from the standard's example that read unambiguously

    @property
    def valid(self) -> bool:
        """Whether the label meets the standard (no problems)."""
        return not self.problems


def parse_aigc(text: str) -> ParsedAigc:
    """Read an AIGC field's value: wrapped or bare, keys in any case, values as strings.

    Never raises: a value that is not a JSON object gives no fields and a problem saying so.
    """
    if len(text) > _MAX_JSON:
        return ParsedAigc({}, False, "unknown", (f"the label is longer than {_MAX_JSON} characters",))
    try:
        obj = json.loads(text)
    except (ValueError, RecursionError):
        return ParsedAigc({}, False, "unknown", ("the label is not valid JSON",))
    wrapped = False
    if isinstance(obj, dict) and len(obj) == 1:
        ((key, inner),) = obj.items()
        if str(key).lower() == "aigc":
            if isinstance(inner, str):  # the inner object written as a JSON string
                with contextlib.suppress(ValueError, RecursionError):
                    inner = json.loads(inner)
            obj, wrapped = inner, True
    if not isinstance(obj, dict):
        return ParsedAigc({}, wrapped, "unknown", ("the label is not a JSON object of the seven AIGC keys",))
    canonical = {k.lower(): k for k in AIGC_KEYS}
    fields: dict[str, str] = {}
    problems: list[str] = []
    notes: list[str] = []
    unknown: list[str] = []
    for key, value in obj.items():
        name = canonical.get(str(key).lower())
        if name is None:
            unknown.append(str(key)[:40])
            continue
        if isinstance(value, bool) or not isinstance(value, (str, int, float)):
            problems.append(f"{name} is not a string")
            value = "" if value is None else json.dumps(value)[:_MAX_VALUE]
        elif not isinstance(value, str):
            notes.append(f"{name} is a number, not a string")
        fields[name] = str(value)[:_MAX_VALUE]
        if str(key) != name:
            notes.append(f"the key {str(key)[:40]!r} is not written as the standard writes it ({name})")
    if not wrapped:
        notes.append('the label is not wrapped in {"AIGC": ...} as the standard\'s example writes it')
    missing = [k for k in AIGC_KEYS if k not in fields]
    if missing:
        problems.append("missing key" + "s" * (len(missing) > 1) + ": " + ", ".join(missing))
    if unknown:
        notes.append("unknown key" + "s" * (len(unknown) > 1) + ": " + ", ".join(unknown))
    label = fields.get("Label")
    if label is not None and label not in LABEL_SAYS:
        problems.append(f"Label is {label[:20]!r}, not 1 (AI-generated), 2 (possibly) or 3 (suspected)")
    producer = [bool(fields.get(k, "").strip()) for k in ("ContentProducer", "ProduceID")]
    propagator = [bool(fields.get(k, "").strip()) for k in ("ContentPropagator", "PropagateID")]
    if producer[0] != producer[1]:
        problems.append("ContentProducer and ProduceID must be filled together")
    if propagator[0] != propagator[1]:
        problems.append("ContentPropagator and PropagateID must be filled together")
    if not any(producer) and not any(propagator) and not missing:
        problems.append("the label names neither its producer nor a propagator")
    return ParsedAigc(fields, wrapped, LABEL_SAYS.get(label or "", "unknown"), tuple(problems), tuple(notes))
