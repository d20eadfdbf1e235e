"""Turning a guide written like ``skin-firming-guide.txt`` into a draft knowledge base.

The guide has a table of contents, numbered sections ("N. Title"), bullet lines
("- Name: text") and a Q&A section of "Q:"/"A:" pairs. The draft has one entry
per Q&A pair, one per bullet and one per section's own paragraphs, each with the
guide's text as its answer and alternates generated mechanically, so that it
validates and a maintainer can start curating at once. It is a starting point:
the answers need rewriting as replies and the alternates replacing with the ways
people really ask.
"""

from __future__ import annotations

import re
import shutil
from collections.abc import Iterable
from dataclasses import dataclass, field
from itertools import chain, count
from pathlib import Path

import yaml

from bot.entry_template import plain_or_quote, quote, render_entry
from bot.knowledge import (
    ID_PATTERN,
    MIN_ALTERNATES,
    TELEGRAM_MESSAGE_LIMIT,
    TOP_LEVEL_KEYS,
    knowledge_files,
)
from bot.text import normalise

DRAFT_HEADER = """\
# DRAFT knowledge base imported from {source} by `run_bot.py import`.
# draft: curate the alternates and answers before use.
# - The answers are the guide's own words: rewrite each as a short conversational reply.
# - The alternates were generated mechanically from each question or title: replace them
#   with the ways people really ask (typos and slang included), at least {minimum} per entry.
# - Then add test questions for each entry to knowledge/eval/tune.yaml, and run
#   `python run_bot.py validate` and `python run_bot.py eval`.
"""
# Blocks that are not drafted from the guide and are copied from the current knowledge folder.
COPIED_BLOCKS = frozenset(TOP_LEVEL_KEYS) - {"entries", "sections"}
ALTERNATES_WANTED = 8
_HEADING = re.compile(r"^(\d{1,2})[.)]\s+(\S.*)$")
_BULLET = re.compile(r"^[-•*]\s+(\S.*)$")
_BULLET_NAME = re.compile(r"^([^:]{2,80}):\s+(\S.*)$")
_QUESTION = re.compile(r"^Q:\s*(.*)$")
_ANSWER = re.compile(r"^A:\s*(.*)$")
_SEPARATOR = re.compile(r"^[-–—]+$")
_TRAILING_SEPARATOR = re.compile(r"\s+[-–—]$")
# Leftovers of the web page the guide was copied from, such as an image link's ".gif)".
_JUNK = re.compile(r"^[\W_]*[\w-]*\.(gif|png|jpe?g|webp|svg)\W*$|^\W+$", re.IGNORECASE)
_TOPIC_FILLER = frozenset((
    "a", "an", "the", "is", "are", "am", "can", "could", "should", "would", "do", "does", "did",
    "i", "my", "me", "we", "our", "you", "your", "to", "of", "for", "in", "on", "or", "and",
    "how", "what", "why", "when", "which", "who", "it", "its", "this", "that", "only", "way",
    "there", "about"))
_PARENTHESES = re.compile(r"\s*\(([^)]*)\)")


class GuideFormatError(ValueError):
    """The text does not look like a guide this importer understands."""


@dataclass
class GuideSection:
    """One numbered section of the guide, as written."""

    number: int
    title: str
    id: str
    paragraphs: list[str] = field(default_factory=list)
    bullets: list[tuple[str, str]] = field(default_factory=list)
    qa: list[tuple[str, str]] = field(default_factory=list)


@dataclass
class Guide:
    """The parsed guide, plus what was left out, so nothing is dropped silently."""

    sections: list[GuideSection]
    contents: list[str] = field(default_factory=list)
    skipped: list[tuple[int, str]] = field(default_factory=list)

    @property
    def missing_sections(self) -> list[str]:
        """Table-of-contents titles with no section of that name in the text."""
        titles = {_fold_title(s.title) for s in self.sections}
        return [t for t in self.contents if _fold_title(t) not in titles]


@dataclass(frozen=True)
class DraftEntry:
    id: str
    question: str
    alternates: tuple[str, ...]
    answer: str
    section: str
    origin: str


def _fold_title(title: str) -> str:
    return normalise(title)


def slug(text: str, limit: int = 48) -> str:
    """A readable id: lowercase words joined by '-', cut at a word boundary."""
    words = normalise(text.replace("&", "")).split()
    result = ""
    for word in words:
        candidate = f"{result}-{word}" if result else word
        if len(candidate) > limit:
            break
        result = candidate
    return result or (words[0][:limit] if words else "entry")


def parse_guide(text: str) -> Guide:
    """Read the guide's structure; raises GuideFormatError when it has no numbered sections."""
    lines = text.lstrip("\ufeff").replace("\r\n", "\n").replace("\r", "\n").split("\n")
    guide = Guide(sections=[])
    section: GuideSection | None = None
    in_contents = False
    paragraph: list[str] = []
    last: str | None = None  # "bullet", "question" or "answer": what a wrapped line continues
    pending_question: list[str] = []

    def end_paragraph() -> None:
        if paragraph and section is not None:
            section.paragraphs.append(" ".join(paragraph))
        paragraph.clear()

    for number, raw in enumerate(lines, start=1):
        line = raw.strip()
        heading = _HEADING.match(line)
        expected = section.number + 1 if section else None
        if heading and (expected is None or int(heading.group(1)) == expected):
            end_paragraph()
            in_contents, last = False, None
            title = heading.group(2).strip()
            section = GuideSection(int(heading.group(1)), title, _section_id(title, guide))
            guide.sections.append(section)
            continue
        if not line:
            end_paragraph()
            last = "question" if last == "question" else None
            continue
        if section is None:
            if line.lower().rstrip(":") in ("table of contents", "contents"):
                in_contents = True
            elif in_contents and _BULLET.match(line):
                guide.contents.append(_BULLET.match(line).group(1).strip())  # type: ignore[union-attr]
            else:
                guide.skipped.append((number, line))
            continue
        if _SEPARATOR.match(line):
            end_paragraph()
            last = None
            continue
        if _JUNK.match(line):
            guide.skipped.append((number, line))
            continue
        question, answer, bullet = _QUESTION.match(line), _ANSWER.match(line), _BULLET.match(line)
        if question:
            end_paragraph()
            if pending_question:
                guide.skipped.append((number, "a question without an answer: "
                                      + " ".join(pending_question)))
            pending_question = [question.group(1)]
            last = "question"
        elif answer and pending_question:
            section.qa.append((" ".join(pending_question).strip(),
                               _TRAILING_SEPARATOR.sub("", answer.group(1)).strip()))
            pending_question = []
            last = "answer"
        elif last == "question":
            pending_question.append(line)
        elif last == "answer":
            q, a = section.qa[-1]
            section.qa[-1] = (q, _TRAILING_SEPARATOR.sub("", f"{a} {line}").strip())
        elif bullet:
            end_paragraph()
            named = _BULLET_NAME.match(bullet.group(1))
            if named:
                section.bullets.append((named.group(1).strip(), named.group(2).strip()))
            else:
                body = bullet.group(1).strip()
                section.bullets.append((" ".join(body.split()[:8]).rstrip(".,;:"), body))
            last = "bullet"
        elif last == "bullet":
            name, body = section.bullets[-1]
            section.bullets[-1] = (name, f"{body} {line}")
        else:
            paragraph.append(line)
    end_paragraph()
    if not guide.sections:
        raise GuideFormatError("no numbered sections found; the guide's sections must start "
                               "with lines like '1. Introduction'")
    return guide


def _section_id(title: str, guide: Guide) -> str:
    base = slug(title.split(":", 1)[0], limit=40)
    taken = {s.id for s in guide.sections}
    candidate, n = base, 2
    while candidate in taken:
        candidate, n = f"{base}-{n}", n + 1
    return candidate


def _lower_title(title: str) -> str:
    """'Boost Circulation' -> 'boost circulation', keeping 'Q&A', 'AAD' and 'Vitamin C' readable."""
    def fix(word: str) -> str:
        letters = word.strip("()[],.:;!?\"'")
        if len(letters) > 1 and letters[0].isupper() and letters[1:].replace("-", "").islower():
            return word.replace(letters, letters.lower(), 1)
        return word
    return " ".join(fix(w) for w in title.split())


def _trim_answer(text: str) -> str:
    if len(text) <= TELEGRAM_MESSAGE_LIMIT:
        return text
    cut = text[: TELEGRAM_MESSAGE_LIMIT - 1]
    end = max(cut.rfind(". "), cut.rfind("\n"))
    return (cut[: end + 1] if end > TELEGRAM_MESSAGE_LIMIT // 2 else cut.rsplit(" ", 1)[0]) + "…"


def _topic(text: str) -> str:
    words = [w for w in normalise(text).split() if w not in _TOPIC_FILLER]
    return " ".join(words) or normalise(text)


def _question_phrasings(question: str) -> list[str]:
    base = question.strip().rstrip("?").strip()
    topic = _topic(base)
    return [base.lower(), topic, f"what about {topic}", f"tell me about {topic}",
            f"explain {topic}", f"{topic} advice", f"question about {topic}",
            f"more about {topic}", f"how does {topic} work", f"{topic} info"]


def _title_phrasings(title: str) -> list[str]:
    plain = _lower_title(_PARENTHESES.sub("", title)).strip()
    inner = [_lower_title(m) for m in _PARENTHESES.findall(title)]
    phrasings = [plain.lower(), f"what about {plain}", f"tell me about {plain}",
                 f"explain {plain}", f"what is {plain}", f"how does {plain} work",
                 f"more about {plain}", f"{plain} info"]
    for extra in inner:
        phrasings += [extra.lower(), f"what about {extra}", f"{plain} {extra}"]
    return phrasings


class _Claims:
    """Phrasings and ids already used in the draft: both must be unique across entries."""

    def __init__(self) -> None:
        self.phrasings: set[str] = set()
        self.ids: set[str] = set()

    def new_id(self, text: str) -> str:
        base = slug(text, limit=44)
        candidate, n = base, 2
        while candidate in self.ids:
            candidate, n = f"{base}-{n}", n + 1
        assert ID_PATTERN.match(candidate), candidate
        self.ids.add(candidate)
        return candidate

    def question(self, question: str, context: str) -> str:
        """``question``, or, if another entry already asks it, the same with ``context``."""
        base = question.rstrip("?")
        options = chain([question, f"{base} ({context})?"],
                        (f"{base} ({context}, {n})?" for n in count(2)))
        chosen = next(q for q in options if normalise(q) not in self.phrasings)
        self.phrasings.add(normalise(chosen))
        return chosen

    def alternates(self, question: str, candidates: Iterable[str]) -> tuple[str, ...]:
        chosen: list[str] = []
        for text in candidates:
            norm = normalise(text)
            if norm and norm not in self.phrasings and len(chosen) < ALTERNATES_WANTED:
                self.phrasings.add(norm)
                chosen.append(norm)
        n = 1
        topic = _topic(question)
        while len(chosen) < MIN_ALTERNATES:  # only when the templates collide with other entries
            norm = normalise(f"{topic} question {n}")
            if norm not in self.phrasings:
                self.phrasings.add(norm)
                chosen.append(norm)
            n += 1
        return tuple(chosen)


def draft_entries(guide: Guide) -> list[DraftEntry]:
    """One entry per Q&A pair, per bullet, and per section's own paragraphs, in guide order."""
    claims = _Claims()
    entries: list[DraftEntry] = []

    def add(question: str, phrasings: list[str], answer: str, section: GuideSection,
            id_source: str, origin: str) -> None:
        question = claims.question(question, section.title)
        entries.append(DraftEntry(
            id=claims.new_id(id_source), question=question,
            alternates=claims.alternates(question, phrasings), answer=_trim_answer(answer),
            section=section.id, origin=origin))

    for section in guide.sections:
        where = f"{section.number}. {section.title}"
        if section.paragraphs:
            answer = "\n".join(section.paragraphs)
            if section.bullets:
                answer += "\n" + "\n".join(f"• {name}" for name, _ in section.bullets)
            short = section.title.split(":", 1)[0].strip()
            phrasings = [*_title_phrasings(short), section.title]
            add(f"What does the guide's {short} section say?", phrasings, answer, section,
                section.id, f"{where}: the section's text")
        for name, text in section.bullets:
            add(f"What about {_lower_title(name)}?", _title_phrasings(name), text, section,
                _PARENTHESES.sub("", name), f"{where}: bullet '{name}'")
        for question, answer in section.qa:
            add(question, _question_phrasings(question), answer, section, _topic(question),
                f"{where}: Q&A")
    return entries


def _header(guide: Guide, source: str) -> str:
    lines = [DRAFT_HEADER.format(source=source, minimum=MIN_ALTERNATES)]
    for title in guide.missing_sections:
        lines.append(f"# The table of contents lists '{title}', but the guide has no such "
                     "section.\n")
    for number, text in guide.skipped:
        lines.append(f"# Skipped line {number} of the guide (not part of any section's text): "
                     f"{text[:80]}\n")
    return "".join(lines)


def render_sections(guide: Guide) -> str:
    lines = ["sections:"]
    for section in guide.sections:
        lines += [f"  - id: {plain_or_quote(section.id)}", f"    title: {quote(section.title)}"]
    return "\n".join(lines) + "\n"


def render_entries(entries: list[DraftEntry]) -> str:
    parts = ["entries:\n"]
    for entry in entries:
        parts.append(f"  # from {entry.origin}\n")
        parts.append(render_entry(entry_id=entry.id, question=entry.question,
                                  alternates=entry.alternates, answer=entry.answer,
                                  section=entry.section))
        parts.append("\n")
    return "".join(parts).rstrip("\n") + "\n"


def render_draft(guide: Guide, source: str) -> str:
    """The whole draft as one YAML file: header, ``sections:`` and ``entries:``."""
    entries = draft_entries(guide)
    return f"{_header(guide, source)}\n{render_sections(guide)}\n{render_entries(entries)}"


def copyable_files(knowledge_dir: Path) -> list[Path]:
    """Knowledge files holding only blocks a draft reuses as they are (messages, safety, ...)."""
    chosen = []
    for path in knowledge_files([knowledge_dir]):
        try:
            data = yaml.safe_load(path.read_text(encoding="utf-8"))
        except (OSError, UnicodeDecodeError, yaml.YAMLError):
            continue
        if isinstance(data, dict) and data and set(data) <= COPIED_BLOCKS:
            chosen.append(path)
    return chosen


def write_draft_dir(guide: Guide, source: str, out_dir: Path, knowledge_dir: Path,
                    *, force: bool = False) -> list[Path]:
    """A complete knowledge folder: the drafted sections and entries, and copies of the rest.

    Refuses to overwrite files unless ``force``, so pointing it at the live
    knowledge folder by mistake changes nothing.
    """
    copies = copyable_files(knowledge_dir)
    targets = {"sections.yaml", "entries.yaml", *(p.name for p in copies)}
    existing = sorted(name for name in targets if (out_dir / name).exists())
    if existing and not force:
        raise FileExistsError(f"{out_dir} already has {', '.join(existing)}; choose an empty "
                              "folder or pass --force to overwrite")
    out_dir.mkdir(parents=True, exist_ok=True)
    entries = draft_entries(guide)
    header = _header(guide, source)
    written = [out_dir / "sections.yaml", out_dir / "entries.yaml"]
    written[0].write_text(f"{header}\n{render_sections(guide)}", encoding="utf-8")
    written[1].write_text(f"{header}\n{render_entries(entries)}", encoding="utf-8")
    for path in copies:
        shutil.copyfile(path, out_dir / path.name)
        written.append(out_dir / path.name)
    return written
