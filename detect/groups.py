"""Group-conditional (Mondrian) human references: a genre the pooled reference does not represent
is judged against its own human texts.

The pooled references (``human_reference*.json``) hold human texts of a few domains (news,
stories, biomedical answers, hacker lore). Human text far from all of them is judged unfairly:
scripture, which every language model has read many times, is more predictable than any of them,
and against the pooled reference a quarter of the World English Bible's passages are flagged at
1 % (``eval/results/human_genres.md``).

:class:`Groups` routes each text, by a function of the text alone (multinomial logistic
regression on its MiniLM sentence embedding, :mod:`detect.embeddings`), to ``pooled`` or to a
named group (only where the router gives the group at least :data:`ROUTER_FLOOR` probability: a
text it is unsure of stays pooled); a named group holds its own pair of references (two-model and
single-model, with the pooled ones' statistic: the same weights, scoring vocabulary, spelling restoration and surprise
cap), built from the calibration-half human texts the router sends there. Within a group the
conformal argument is the usual one: a human text the router sends to a group is exchangeable with
that group's reference texts, so its p-value is valid and the false-positive rate holds group by
group (Mondrian conformal prediction). A group ships only with at least :data:`MIN_GROUP_TEXTS`
human texts; everything else stays pooled.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from watermark.errors import ConfigurationError

from .calibration import HumanReference
from .embeddings import EMBEDDING_DIM

__all__ = ["MIN_GROUP_TEXTS", "POOLED", "ROUTER_FLOOR", "Group", "Groups", "fit_router"]

POOLED = "pooled"
MIN_GROUP_TEXTS = 300  # a group's human texts: enough that 1 % is 3 texts, not an extrapolation
# A text goes to a named group only where the router gives that group at least this probability;
# anything less sure stays pooled. Without it the router's argmax sends text far from every class
# (a short generic answer about rain) to whichever genre is least unlike it.
ROUTER_FLOOR = 0.8


@dataclass(frozen=True)
class Group:
    """A named group's references and what it holds, in words."""

    description: str  # e.g. "passages of the World English Bible"
    reference: HumanReference  # the two-model statistic
    single: HumanReference  # the embedded model alone (the screen's, or a single-model detector's)

    @property
    def size(self) -> int:
        """Human texts in the group's reference (all lengths)."""
        return sum(self.single.sources.values())


@dataclass(frozen=True)
class Groups:
    """The router and the named groups' references (see module docstring)."""

    labels: tuple[str, ...]  # the router's classes, POOLED among them
    coef: npt.NDArray[np.float64]  # (classes, EMBEDDING_DIM)
    intercept: npt.NDArray[np.float64]  # (classes,)
    groups: Mapping[str, Group]
    floor: float = ROUTER_FLOOR  # a named group needs at least this probability, else POOLED

    def probabilities(self, embeddings: npt.NDArray[np.float32]) -> npt.NDArray[np.float64]:
        """The router's probability of each class (columns: :attr:`labels`) for each text."""
        logits = np.asarray(embeddings, dtype=np.float64).reshape(-1, self.coef.shape[1]) @ self.coef.T + self.intercept
        logits -= logits.max(axis=1, keepdims=True)
        e: npt.NDArray[np.float64] = np.exp(logits)
        return e / e.sum(axis=1, keepdims=True)  # type: ignore[no-any-return]

    def route(self, embeddings: npt.NDArray[np.float32]) -> list[str]:
        """The group of each text (rows: unit sentence embeddings): the router's most probable
        class where it is :data:`POOLED` or at least :attr:`floor` probable, else :data:`POOLED`."""
        if len(embeddings) == 0:
            return []
        p = self.probabilities(embeddings)
        best = np.argmax(p, axis=1)
        return [
            self.labels[i] if self.labels[i] == POOLED or row[i] >= self.floor else POOLED
            for i, row in zip(best, p, strict=True)
        ]

    def to_json(self) -> str:
        """Serialise (plain JSON; no pickle)."""
        return json.dumps(
            {
                "router": {
                    "labels": list(self.labels),
                    "coef": [[round(float(x), 7) for x in row] for row in self.coef],
                    "intercept": [round(float(x), 7) for x in self.intercept],
                    "floor": self.floor,
                },
                "groups": {
                    name: {
                        "description": g.description,
                        "reference": g.reference.to_dict(),
                        "single": g.single.to_dict(),
                    }
                    for name, g in self.groups.items()
                },
            }
        )

    @classmethod
    def from_json(cls, text: str) -> Groups:
        """Load groups written by :meth:`to_json`.

        Raises:
            ConfigurationError: the file is not valid groups.
        """
        try:
            raw = json.loads(text)
            labels = tuple(str(x) for x in raw["router"]["labels"])
            coef = np.asarray(raw["router"]["coef"], dtype=np.float64)
            intercept = np.asarray(raw["router"]["intercept"], dtype=np.float64)
            floor = float(raw["router"].get("floor", 0.0))  # files from before the floor route by argmax
            groups = {
                str(name): Group(
                    str(g["description"]),
                    HumanReference.from_dict(g["reference"]),
                    HumanReference.from_dict(g["single"]),
                )
                for name, g in raw["groups"].items()
            }
            if not 0.0 <= floor < 1.0:
                raise ValueError(f"the router's floor must be in [0, 1), not {floor}")
            if POOLED not in labels or len(set(labels)) != len(labels):
                raise ValueError(f"the router's classes must be distinct and include {POOLED!r}")
            if coef.shape != (len(labels), EMBEDDING_DIM) or intercept.shape != (len(labels),):
                raise ValueError("the router's weights do not fit its classes")
            if set(labels) - {POOLED} != set(groups):
                raise ValueError("every class but 'pooled' needs a group, and every group a class")
            for name, g in groups.items():
                if g.reference.combination is None or g.single.combination is not None:
                    raise ValueError(f"group {name!r}: needs a two-model and a single-model reference")
                if g.size < MIN_GROUP_TEXTS:
                    raise ValueError(f"group {name!r} holds {g.size} human texts, under {MIN_GROUP_TEXTS}")
            return cls(labels, coef, intercept, groups, floor)
        except (ValueError, KeyError, TypeError, AttributeError) as exc:
            raise ConfigurationError(f"not a valid groups file: {exc}") from None

    def check_against(self, reference: HumanReference) -> None:
        """Raise unless every group's statistic is the pooled ``reference``'s: the same models,
        weights, scoring vocabulary, window, spelling restoration and surprise cap.

        Raises:
            ConfigurationError: a group was built for another statistic.
        """
        for name, g in self.groups.items():
            mine = g.reference if reference.combination is not None else g.single
            same = (
                mine.model == reference.model
                and mine.statistic_name == reference.statistic_name
                and mine.spelling == reference.spelling
                and mine.surprise_cap == reference.surprise_cap
                and mine.second_model == reference.second_model
                and mine.second_window == reference.second_window
                and (mine.combination is None) == (reference.combination is None)
                and (mine.combination is None or mine.combination.to_dict() == reference.combination.to_dict())  # type: ignore[union-attr]
                and np.array_equal(
                    mine.second_vocabulary if mine.second_vocabulary is not None else [],
                    reference.second_vocabulary if reference.second_vocabulary is not None else [],
                )
            )
            if not same:
                raise ConfigurationError(f"group {name!r} was built for another statistic than the human reference's")


def fit_router(
    embeddings: npt.NDArray[np.float32], labels: Sequence[str]
) -> tuple[tuple[str, ...], npt.NDArray[np.float64], npt.NDArray[np.float64]]:
    """Multinomial logistic regression from sentence embeddings to group labels (balanced classes):
    the router's classes, weights and intercepts for :class:`Groups`."""
    from sklearn.linear_model import LogisticRegression

    if POOLED not in labels:
        raise ValueError(f"the router needs texts labelled {POOLED!r}")
    model = LogisticRegression(C=1.0, max_iter=2000, class_weight="balanced")
    model.fit(np.asarray(embeddings, dtype=np.float64), list(labels))
    classes = tuple(str(c) for c in model.classes_)
    coef, intercept = np.asarray(model.coef_, dtype=np.float64), np.asarray(model.intercept_, dtype=np.float64)
    if len(classes) == 2:  # sklearn keeps one row for two classes: the second class's logit
        coef, intercept = np.vstack([np.zeros_like(coef[0]), coef[0]]), np.array([0.0, intercept[0]])
    return classes, coef, intercept
