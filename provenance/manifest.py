"""Manifest definitions that declare AI origin (claim v2, ``c2pa.actions.v2``)."""

from __future__ import annotations

import base64
import json
from collections.abc import Sequence
from datetime import UTC, datetime
from typing import Any

from watermark.errors import InvalidInput

__all__ = [
    "ACTIONS",
    "AIGC_ASSERTION",
    "COMPOSITE",
    "SOURCE_TYPES",
    "TRAINED",
    "ai_manifest",
    "asset_manifest",
    "source_type_uri",
]

# The assertion an implicit label (GB 45438) rides in where the content has no metadata of its
# own (plain text): Assay's namespace, the label's JSON as its data.
AIGC_ASSERTION = "dev.assay.aigc"

TRAINED = "http://cv.iptc.org/newscodes/digitalsourcetype/trainedAlgorithmicMedia"
COMPOSITE = "http://cv.iptc.org/newscodes/digitalsourcetype/compositeWithTrainedAlgorithmicMedia"
_IPTC = "http://cv.iptc.org/newscodes/digitalsourcetype/"
# The IPTC digital source types a signer may declare (short names).
SOURCE_TYPES = (
    "trainedAlgorithmicMedia",
    "compositeWithTrainedAlgorithmicMedia",
    "algorithmicMedia",
    "compositeSynthetic",
    "digitalCapture",
    "computationalCapture",
    "negativeFilm",
    "positiveFilm",
    "print",
    "humanEdits",
    "minorHumanEdits",
    "composite",
    "digitalCreation",
    "dataDrivenMedia",
    "screenCapture",
    "virtualRecording",
)
ACTIONS = ("c2pa.created", "c2pa.edited", "c2pa.opened", "c2pa.published", "c2pa.converted")


def source_type_uri(name: str) -> str:
    """The IPTC URI of a digital source type given by short name or URI.

    Raises:
        InvalidInput: not an IPTC digital source type.
    """
    short = name.rsplit("/", 1)[-1]
    if short not in SOURCE_TYPES:
        raise InvalidInput(f"digital source type must be one of {', '.join(SOURCE_TYPES)}; got {name[:100]!r}")
    return _IPTC + short


def asset_manifest(
    *,
    title: str,
    software_agent: str,
    action: str = "c2pa.created",
    digital_source_type: str | None = None,
    soft_binding: tuple[str | Sequence[str], bytes] | None = None,
    fingerprints: Sequence[tuple[str, bytes]] = (),
    implicit_label: str | None = None,
    ingredient_ids: Sequence[str] = (),
) -> dict[str, Any]:
    """A manifest describing how an asset was made, its assertions attested by the signer.

    The first action carries ``when`` (now, UTC): the time of creation a latent disclosure states.

    Args:
        title: the asset's title.
        software_agent: the tool that performed ``action``.
        action: one of ``ACTIONS``.
        digital_source_type: an IPTC source type (short name or URI), or None.
        soft_binding: ``(algorithm, watermark payload)`` when the asset carries a watermark (several
            algorithms: one soft-binding assertion each, the same payload: a video's frames and soundtrack).
        fingerprints: ``(algorithm, value)`` of fingerprints computed from the asset (an ISCC
            content code): soft-binding assertions too, but nothing was added to the asset for them.
        implicit_label: an AIGC implicit label's JSON, carried as the ``dev.assay.aigc`` assertion.
        ingredient_ids: the ingredients (by their ``label``) the action acts on (``c2pa.opened``).

    Raises:
        InvalidInput: an unknown action or source type, an empty or overlong title, or an
            implicit label that is not a JSON object.
    """
    if action not in ACTIONS:
        raise InvalidInput(f"action must be one of {', '.join(ACTIONS)}; got {action[:100]!r}")
    if not title.strip() or len(title) > 500:
        raise InvalidInput("a manifest title must have 1 to 500 characters")
    first: dict[str, Any] = {
        "action": action,
        "softwareAgent": {"name": software_agent},
        "when": datetime.now(UTC).isoformat(timespec="seconds"),
    }
    if ingredient_ids:
        first["parameters"] = {"ingredientIds": list(ingredient_ids)}
    if digital_source_type is not None:
        first["digitalSourceType"] = source_type_uri(digital_source_type)
    actions = [first]
    assertions: list[dict[str, Any]] = []
    if soft_binding is not None:
        algs, payload = soft_binding
        actions.append({"action": "c2pa.watermarked.bound", "softwareAgent": {"name": "Assay"}})
        value = base64.b64encode(payload).decode()
        assertions += [
            {
                "label": "c2pa.soft-binding",
                "data": {"alg": alg, "blocks": [{"scope": {}, "value": value}]},
                "created": True,
            }
            for alg in ([algs] if isinstance(algs, str) else algs)
        ]
    assertions += [
        {
            "label": "c2pa.soft-binding",
            "data": {"alg": alg, "blocks": [{"scope": {}, "value": base64.b64encode(value).decode()}]},
            "created": True,
        }
        for alg, value in fingerprints
    ]
    if implicit_label is not None:
        try:
            label = json.loads(implicit_label)
        except ValueError:
            label = None
        if not isinstance(label, dict):
            raise InvalidInput("an implicit label must be a JSON object")
        assertions.append({"label": AIGC_ASSERTION, "data": label, "created": True})
    assertions.insert(0, {"label": "c2pa.actions.v2", "data": {"actions": actions}, "created": True})
    return {
        "claim_generator_info": [{"name": "Assay", "version": "0.1.0"}],
        "title": title,
        "assertions": assertions,
    }


def ai_manifest(
    *,
    title: str,
    model: str,
    digital_source_type: str = TRAINED,
    soft_binding: tuple[str | Sequence[str], bytes] | None = None,
    fingerprints: Sequence[tuple[str, bytes]] = (),
    implicit_label: str | None = None,
) -> dict[str, Any]:
    """A manifest for AI-generated content, its assertions attested by the signer (``created``).

    Args:
        title: the asset's title.
        model: the generator, named in ``softwareAgent``.
        digital_source_type: ``TRAINED`` for generated content, ``COMPOSITE`` for edits.
        soft_binding: ``(algorithm, watermark payload)`` when the asset carries a watermark (several
            algorithms: one soft-binding assertion each, the same payload: a video's frames and soundtrack).
        fingerprints, implicit_label: see :func:`asset_manifest`.
    """
    return asset_manifest(
        title=title,
        software_agent=model,
        digital_source_type=digital_source_type,
        soft_binding=soft_binding,
        fingerprints=fingerprints,
        implicit_label=implicit_label,
    )
