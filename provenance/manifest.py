"""Manifest definitions that declare AI origin (claim v2, ``c2pa.actions.v2``)."""

from __future__ import annotations

import base64
from typing import Any

__all__ = ["COMPOSITE", "TRAINED", "ai_manifest"]

TRAINED = "http://cv.iptc.org/newscodes/digitalsourcetype/trainedAlgorithmicMedia"
COMPOSITE = "http://cv.iptc.org/newscodes/digitalsourcetype/compositeWithTrainedAlgorithmicMedia"


def ai_manifest(
    *,
    title: str,
    model: str,
    digital_source_type: str = TRAINED,
    soft_binding: tuple[str, bytes] | None = None,
) -> dict[str, Any]:
    """A manifest for AI-generated content, its assertions attested by the signer (``created``).

    Args:
        title: the asset's title.
        model: the generator, named in ``softwareAgent``.
        digital_source_type: ``TRAINED`` for generated content, ``COMPOSITE`` for edits.
        soft_binding: ``(algorithm, watermark payload)`` when the asset carries a watermark.
    """
    created: dict[str, Any] = {
        "action": "c2pa.created",
        "digitalSourceType": digital_source_type,
        "softwareAgent": {"name": model},
    }
    actions = [created]
    assertions: list[dict[str, Any]] = []
    if soft_binding is not None:
        alg, payload = soft_binding
        actions.append({"action": "c2pa.watermarked.bound", "softwareAgent": {"name": "Assay"}})
        value = base64.b64encode(payload).decode()
        assertions.append(
            {
                "label": "c2pa.soft-binding",
                "data": {"alg": alg, "blocks": [{"scope": {}, "value": value}]},
                "created": True,
            }
        )
    assertions.insert(0, {"label": "c2pa.actions.v2", "data": {"actions": actions}, "created": True})
    return {
        "claim_generator_info": [{"name": "Assay", "version": "0.1.0"}],
        "title": title,
        "assertions": assertions,
    }
