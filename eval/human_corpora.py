"""Human text of genres the shipped references never saw, extracted at run time from Debian
packages (nothing of it is copied into the repository).

Each genre is cut into passages the size of the benchmark texts: consecutive verses or paragraphs
joined until a passage holds at least :data:`MIN_WORDS` words (one that would pass
:data:`MAX_WORDS` is cut at the last unit before; units longer on their own are skipped), never
across a chapter or section; a chapter's remainder under :data:`MIN_WORDS` is dropped. A genre
with more passages than asked is thinned evenly (every k-th), so each spans its whole source.

- ``bible-web``: the World English Bible, Debian ``sword-text-web`` (read through ``diatheke``),
  public domain; verses, per chapter.
- ``bible-kjv``: the King James Version, Debian ``sword-text-kjv`` (``diatheke``), public domain
  outside the United Kingdom; verses, per chapter.
- ``austen``: Jane Austen's six novels, Debian ``r-cran-janeaustenr`` (read through ``Rscript``),
  texts public domain, package MIT; paragraphs, per chapter.
- ``debian-reference``: the Debian Reference, Debian ``debian-reference-en``
  (``debian-reference-common``'s HTML), GPL-2+; ``<p>`` paragraphs, per page (chapter).
- ``debian-handbook``: the Debian Administrator's Handbook, Debian ``debian-handbook`` (its
  ``en-US`` HTML), GPL-2+ or CC BY-SA 3.0; DocBook paragraphs, per page (section).

Install: ``apt-get install sword-text-web sword-text-kjv diatheke r-cran-janeaustenr debian-reference-en
debian-handbook``. A
genre whose package is missing raises :class:`MissingCorpus` with that command.
"""

from __future__ import annotations

import re
import shutil
import subprocess
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from html.parser import HTMLParser
from pathlib import Path

__all__ = ["GENRES", "MAX_WORDS", "MIN_WORDS", "MissingCorpus", "Passage", "passages"]

MIN_WORDS = 150
MAX_WORDS = 260
BIBLES = {"bible-web": "engWEB2015eb", "bible-kjv": "engKJV2006eb"}  # genre -> SWORD module
DEBIAN_REFERENCE = Path("/usr/share/doc/debian-reference-common/docs")
DEBIAN_HANDBOOK = Path("/usr/share/doc/debian-handbook/html/en-US")
INSTALL = (
    "apt-get install sword-text-web sword-text-kjv diatheke r-cran-janeaustenr debian-reference-en debian-handbook"
)


class MissingCorpus(RuntimeError):
    """A genre's Debian package (or the program that reads it) is not installed."""


@dataclass(frozen=True)
class Passage:
    """One passage: its genre, where it starts (book and chapter, or file and section) and text."""

    genre: str
    where: str
    text: str


def _pack(units: Iterable[str]) -> Iterator[str]:
    """Consecutive units joined into passages of MIN_WORDS..MAX_WORDS words (see module docstring)."""
    words: list[str] = []
    for unit in units:
        w = unit.split()
        if len(w) > MAX_WORDS:
            words = []
            continue
        if len(words) + len(w) > MAX_WORDS:
            words = []
        words += w
        if len(words) >= MIN_WORDS:
            yield " ".join(words)
            words = []


def _need(program: str, genre: str) -> str:
    path = shutil.which(program)
    if path is None:
        raise MissingCorpus(f"{genre}: `{program}` is not installed ({INSTALL})")
    return path


_VERSE = re.compile(r"^\s*(?P<book>.+?) (?P<chapter>\d+):(?P<verse>\d+): ?(?P<text>.*)$")


def _chapter(diatheke: str, module: str, key: str) -> tuple[str, int, list[str]]:
    """The book and chapter diatheke answers ``key`` with (it rolls past a book's last chapter into
    the next book) and that chapter's verses; lines before the first verse (a psalm's heading) and
    lines of a verse's own (poetry) are kept with their verse."""
    out = subprocess.run(
        [diatheke, "-b", module, "-f", "plain", "-k", key], capture_output=True, text=True, check=True
    ).stdout
    book, chapter = "", 0
    verses: list[str] = []
    for line in out.splitlines():
        if line.strip() == f"({module})":
            break
        m = _VERSE.match(line)
        if m:
            if not verses:
                book, chapter = m["book"], int(m["chapter"])
            verses.append(m["text"])
        elif verses and line.strip():
            verses[-1] += " " + line.strip()
    return book, chapter, verses


def _bible(genre: str) -> Iterator[Passage]:
    diatheke = _need("diatheke", genre)
    module = BIBLES[genre]
    seen: set[tuple[str, int]] = set()
    key = "Genesis 1"
    while True:
        book, chapter, verses = _chapter(diatheke, module, key)
        if not verses and not seen:
            raise MissingCorpus(f"{genre}: diatheke has no module {module} ({INSTALL})")
        if not verses or (book, chapter) in seen:
            return
        seen.add((book, chapter))
        for text in _pack(verses):
            yield Passage(genre, f"{book} {chapter}", text)
        key = f"{book} {chapter + 1}"


def _austen() -> Iterator[Passage]:
    rscript = _need("Rscript", "austen")
    program = (
        "suppressMessages(library(janeaustenr)); b <- austen_books(); "
        "writeLines(paste(as.character(b$book), gsub('\\t', ' ', b$text), sep='\\t'))"
    )
    done = subprocess.run([rscript, "-e", program], capture_output=True, text=True)
    if done.returncode != 0:
        raise MissingCorpus(f"austen: janeaustenr could not be read ({INSTALL}): {done.stderr.strip()[-200:]}")
    chapters: dict[tuple[str, int], list[str]] = {}
    book, chapter = "", 0
    paragraph: list[str] = []
    for line in done.stdout.splitlines():
        name, _, text = line.partition("\t")
        if name != book:
            book, chapter, paragraph = name, 0, []
        if re.fullmatch(r"\s*(CHAPTER|Chapter) [0-9IVXLC]+\.?\s*", text):
            chapter += 1
            paragraph = []
            continue
        if text.strip():
            paragraph.append(text.strip())
        elif paragraph:
            if chapter:  # the title page before chapter 1 is not prose
                chapters.setdefault((book, chapter), []).append(" ".join(paragraph))
            paragraph = []
    for (book, chapter), paragraphs in chapters.items():
        for text in _pack(paragraphs):
            yield Passage("austen", f"{book} {chapter}", text)


class _Paragraphs(HTMLParser):
    """Paragraph texts of an HTML page (``<p>``, or DocBook's ``<div class="para">``), grouped by
    the heading (``<h1>``..``<h4>``) above them (sections are short: a page's passages run across
    them)."""

    def __init__(self) -> None:
        super().__init__()
        self.sections: list[tuple[str, list[str]]] = [("", [])]
        self._in: str | None = None
        self._depth = 0  # open tags named like self._in (a paragraph's own nested divs)
        self._buf: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if self._in is not None:
            self._depth += tag == self._in
            return
        para = tag == "div" and "para" in (dict(attrs).get("class") or "").split()
        if tag == "p" or para or re.fullmatch(r"h[1-4]", tag):
            self._in, self._depth, self._buf = tag, 1, []

    def handle_endtag(self, tag: str) -> None:
        if tag != self._in:
            return
        self._depth -= 1
        if self._depth:
            return
        text = " ".join("".join(self._buf).split())
        if not re.fullmatch(r"h[1-4]", tag):
            if text:
                self.sections[-1][1].append(text)
        else:
            self.sections.append((text, []))
        self._in = None

    def handle_data(self, data: str) -> None:
        if self._in is not None:
            self._buf.append(data)


def _html_pages(genre: str, pages: list[Path], where: Path) -> Iterator[Passage]:
    if not pages:
        raise MissingCorpus(f"{genre}: no pages under {where} ({INSTALL})")
    for page in pages:
        parser = _Paragraphs()
        parser.feed(page.read_text(encoding="utf-8"))
        paragraphs = [p for _, section in parser.sections for p in section]
        for text in _pack(paragraphs):
            yield Passage(genre, page.name, text)


GENRES: dict[str, Callable[[], Iterator[Passage]]] = {
    "bible-web": lambda: _bible("bible-web"),
    "bible-kjv": lambda: _bible("bible-kjv"),
    "austen": _austen,
    "debian-reference": lambda: _html_pages(
        "debian-reference", sorted(DEBIAN_REFERENCE.glob("ch*.en.html")), DEBIAN_REFERENCE
    ),
    "debian-handbook": lambda: _html_pages("debian-handbook", sorted(DEBIAN_HANDBOOK.glob("*.html")), DEBIAN_HANDBOOK),
}


def passages(genre: str, limit: int = 0) -> list[Passage]:
    """A genre's passages, thinned evenly to at most ``limit`` (0: all).

    Raises:
        KeyError: an unknown genre.
        MissingCorpus: its package is not installed.
    """
    every = list(GENRES[genre]())
    if limit and len(every) > limit:
        step = len(every) / limit
        every = [every[int(i * step)] for i in range(limit)]
    return every
