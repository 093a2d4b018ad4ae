"""Labels in texts: the AIGC implicit label in a Markdown file's front matter, and the explicit
label, a notice at a text's start or end that says it was made by AI (the Labeling Measures'
text label: "AI" or "人工智能" with "生成" or "合成"; English and a few other languages too).

Front matter is the block between a first line ``---`` and the next ``---`` (or ``...``). The
label is a key containing ``AIGC`` (any case) whose value is the JSON object, on one line, as a
quoted string, or as an indented block of ``Key: value`` lines.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass

__all__ = [
    "DEFAULT_NOTICE",
    "ExplicitNotice",
    "add_notice",
    "find_notices",
    "read_front_matter_aigc",
    "write_front_matter_aigc",
]

DEFAULT_NOTICE = "[AI-generated content · 人工智能生成]"
_EDGE = 300  # characters at each end where a notice counts as a label
_FRONT = re.compile(r"\A\ufeff?---[ \t]*\r?\n(.*?)^(?:---|\.\.\.)[ \t]*(?:\r?\n|\Z)", re.S | re.M)
_KEY = re.compile(r"^([A-Za-z0-9_.\-]*aigc[A-Za-z0-9_.\-]*)[ \t]*:[ \t]*(.*?)[ \t]*$", re.I)
_NOTICE = re.compile(
    r"(?:\bAI[- ]generated\b|\bgenerated (?:by|with|using) (?:an? )?(?:AI|artificial intelligence)\b"
    r"|\b(?:created|made|written|produced|synthesi[sz]ed) (?:by|with|using) (?:an? )?(?:AI|artificial intelligence)\b"
    r"|(?:人工智能|AI)\s*(?:生成|合成)|由\s*(?:人工智能|AI)\s*(?:生成|合成)"
    r"|\bKI-generiert\b|\bgénéré par (?:l'|l’)?IA\b|\bgenerado por (?:la )?IA\b)",
    re.I,
)


@dataclass(frozen=True)
class ExplicitNotice:
    """A notice found at a text's start or end: where (``start``/``end``), the words, the offset."""

    where: str
    words: str
    offset: int


def _unquote(value: str) -> str:
    if len(value) >= 2 and value[0] == value[-1] == "'":
        return value[1:-1].replace("''", "'")
    if len(value) >= 2 and value[0] == value[-1] == '"':
        try:
            out = json.loads(value)
        except ValueError:
            return value[1:-1]
        return out if isinstance(out, str) else value[1:-1]
    return value


def read_front_matter_aigc(text: str) -> list[tuple[str, str]]:
    """Every front-matter key containing ``aigc``: ``(key, value as JSON text)``."""
    m = _FRONT.match(text)
    if not m:
        return []
    lines = m.group(1).splitlines()
    found = []
    for i, line in enumerate(lines):
        km = _KEY.match(line)
        if not km:
            continue
        key, value = km.group(1), km.group(2)
        if value:
            found.append((key, _unquote(value)))
            continue
        block: dict[str, str] = {}  # an indented block of `Key: value` lines
        for sub in lines[i + 1 :]:
            if not sub.startswith((" ", "\t")):
                break
            name, sep, val = sub.strip().partition(":")
            if sep:
                block[name.strip()] = _unquote(val.strip())
        found.append((key, json.dumps(block, ensure_ascii=False)))
    return found


def write_front_matter_aigc(text: str, value: str) -> str:
    """``text`` with its front matter's AIGC key set to ``value`` (a JSON object on one line):
    other keys kept, other AIGC keys removed, a front matter added when there is none."""
    line = f"AIGC: {value}"
    m = _FRONT.match(text)
    if not m:
        return f"---\n{line}\n---\n" + text
    kept: list[str] = []
    skipping = False
    for sub in m.group(1).splitlines():
        if _KEY.match(sub):
            skipping = True
            continue
        if skipping and sub.startswith((" ", "\t")):
            continue
        skipping = False
        kept.append(sub)
    head = text[: m.start(1)]
    tail = text[m.end(1) :]
    return head + "\n".join([*kept, line]) + "\n" + tail


def find_notices(text: str) -> list[ExplicitNotice]:
    """Notices saying the text was made by AI within its first or last 300 characters
    (front matter skipped)."""
    m = _FRONT.match(text)
    body_start = m.end() if m else 0
    body = text[body_start:]
    found: list[ExplicitNotice] = []
    for where, lo in (("start", 0), ("end", max(0, len(body) - _EDGE))):
        hit = _NOTICE.search(body, lo, min(len(body), lo + _EDGE))
        if hit and not any(n.offset == body_start + hit.start() for n in found):
            found.append(ExplicitNotice(where, hit.group(0), body_start + hit.start()))
    return found


def add_notice(text: str, notice: str = DEFAULT_NOTICE, *, at: str = "start") -> str:
    """``text`` with ``notice`` on its own line at the start (after any front matter) or end."""
    if at == "end":
        return text.rstrip("\n") + "\n\n" + notice + "\n"
    m = _FRONT.match(text)
    cut = m.end() if m else 0
    return text[:cut] + notice + "\n\n" + text[cut:]
