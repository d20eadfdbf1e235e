"""The knowledge base: loading the YAML files in ``knowledge/`` and validating them.

Every YAML file may hold any of the top-level blocks below; several files merge
into one knowledge base. All problems are collected (not just the first) so a
maintainer fixes a file in one pass, and each names ``file:line``.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from difflib import get_close_matches
from pathlib import Path
from typing import Any

from bot.phrases import PhraseIndex
from bot.text import normalise, words
from bot.yaml_source import LineDict, Problem, YamlReadError, read_yaml

TELEGRAM_MESSAGE_LIMIT = 4096
ID_PATTERN = re.compile(r"^[a-z0-9][a-z0-9_-]{0,47}$")  # fits Telegram's 64-byte callback data
MIN_ALTERNATES = 6
ENTRY_KINDS = ("answer", "smalltalk")
TOP_LEVEL_KEYS = ("entries", "sections", "synonyms", "stopwords", "common_words", "not_typos",
                  "out_of_scope", "passing_topics", "red_flags", "messages", "tips")
ENTRY_REQUIRED = ("id", "question", "alternates", "answer", "section")
ENTRY_OPTIONAL = ("related", "keywords", "kind", "not_covered")
SECTION_KEYS = ("id", "title", "browse")
RED_FLAG_KEYS = ("id", "patterns", "requires", "unless")
TIP_KEYS = ("id", "text")
MESSAGE_KEYS = (
    "disclaimer",
    "welcome",
    "help",
    "fallback",
    "safety",
    "did_you_mean",
    "related",
    "non_text",
    "error",
    "feedback_thanks",
    "topics",
    "unknown_command",
    "slow_down",
)


@dataclass(frozen=True)
class Entry:
    """One question the bot can answer, with the ways people ask it."""

    id: str
    question: str
    alternates: tuple[str, ...]
    answer: str
    section: str
    related: tuple[str, ...] = ()
    keywords: tuple[str, ...] = ()
    kind: str = "answer"
    source: str = ""
    # Details of this topic its answer does not give ("morning or night", "turned orange"):
    # a question about one gets the fallback instead of an answer that does not fit it.
    not_covered: tuple[str, ...] = ()

    @property
    def phrasings(self) -> tuple[str, ...]:
        return (self.question, *self.alternates)


@dataclass(frozen=True)
class Section:
    """A part of the guide, used to browse entries by topic."""

    id: str
    title: str
    browse: bool = True


@dataclass(frozen=True)
class RedFlagRule:
    """A medical red flag: any pattern, plus one of ``requires`` if given, not excused by
    ``unless`` (see ``SafetyRules.check``).

    Patterns are words or phrases; a word ending in ``*`` matches any word it starts.
    """

    id: str
    patterns: tuple[str, ...]
    requires: tuple[str, ...] = ()
    unless: tuple[str, ...] = ()
    source: str = ""


@dataclass(frozen=True)
class Tip:
    """A short routine tip sent with daily reminders."""

    id: str
    text: str


@dataclass(frozen=True)
class KnowledgeBase:
    """Everything the bot knows, merged from all knowledge files and validated."""

    entries: dict[str, Entry]
    sections: tuple[Section, ...]
    synonyms: dict[str, tuple[str, ...]]
    stopwords: frozenset[str]
    common_words: frozenset[str]
    out_of_scope: tuple[str, ...]
    # Also out of scope, but everyday things people mention while setting the scene
    # (shops, brands, money, travel): the question after the story can still be answered.
    passing_topics: tuple[str, ...]
    red_flags: tuple[RedFlagRule, ...]
    messages: dict[str, str]
    tips: tuple[Tip, ...]
    files: tuple[str, ...] = ()
    warnings: tuple[Problem, ...] = field(default=())
    # Real words one letter away from a red-flag or topic word ("inflated", "inflamed"):
    # always read as themselves, never as that word misspelled.
    not_typos: frozenset[str] = frozenset()

    def entries_in(self, section_id: str) -> list[Entry]:
        return [entry for entry in self.entries.values() if entry.section == section_id]

    def section(self, section_id: str) -> Section | None:
        return next((s for s in self.sections if s.id == section_id), None)


class KnowledgeError(Exception):
    """The knowledge base is invalid; ``problems`` lists every error as ``file:line: message``."""

    def __init__(self, problems: Sequence[Problem]) -> None:
        self.problems = list(problems)
        super().__init__("\n".join(str(p) for p in self.problems))


def knowledge_files(paths: Iterable[Path]) -> list[Path]:
    """Expand directories to the ``*.yaml``/``*.yml`` files directly inside them, sorted."""
    files: list[Path] = []
    for path in paths:
        if path.is_dir():
            files.extend(sorted(p for p in path.iterdir() if p.suffix in (".yaml", ".yml")))
        else:
            files.append(path)
    return files


def load_knowledge(paths: Path | Iterable[Path]) -> KnowledgeBase:
    """Load and validate; raises KnowledgeError listing every problem found."""
    paths = [paths] if isinstance(paths, Path) else list(paths)
    files = knowledge_files(paths)
    collector = _Collector()
    if not files:
        shown = ", ".join(str(p) for p in paths) or "(none)"
        raise KnowledgeError([Problem(shown, 1, "no .yaml knowledge files found here")])
    for path in files:
        collector.read_file(path)
    kb = collector.build(tuple(str(f) for f in files))
    if collector.errors:
        raise KnowledgeError(collector.errors)
    return kb


class _Collector:
    """Accumulates blocks from several files and the problems found on the way."""

    def __init__(self) -> None:
        self.errors: list[Problem] = []
        self.entries: dict[str, Entry] = {}
        self.entry_lines: dict[str, tuple[str, int]] = {}
        self.related_refs: list[tuple[str, int, str, str]] = []
        self.sections: dict[str, Section] = {}
        self.synonyms: dict[str, tuple[str, ...]] = {}
        self.synonym_owner: dict[str, str] = {}
        self.stopwords: set[str] = set()
        self.common_words: set[str] = set()
        self.not_typos: set[str] = set()
        self.out_of_scope: list[str] = []
        self.passing_topics: list[str] = []
        self.red_flags: list[RedFlagRule] = []
        self.messages: dict[str, str] = {}
        self.message_lines: dict[str, str] = {}
        self.tips: dict[str, Tip] = {}
        self.phrasing_owner: dict[str, tuple[str, str, int]] = {}
        self.file = ""

    # -- reporting ---------------------------------------------------------
    def error(self, line: int, message: str) -> None:
        self.errors.append(Problem(self.file, line, message))

    # -- file level --------------------------------------------------------
    def read_file(self, path: Path) -> None:
        self.file = str(path)
        try:
            data, problems = read_yaml(path)
        except YamlReadError as exc:
            self.errors.append(exc.problem)
            return
        self.errors.extend(problems)
        expected = ", ".join(TOP_LEVEL_KEYS)
        if data is None:
            self.error(1, f"file is empty; expected a mapping with one or more of: {expected}")
            return
        if not isinstance(data, LineDict):
            self.error(1, f"expected a mapping with one or more of: {expected}")
            return
        for key in data:
            if key not in TOP_LEVEL_KEYS:
                self.error(data.line_of(key), _unknown_key(key, TOP_LEVEL_KEYS, "top-level key"))
        readers = {
            "entries": self._read_entries,
            "sections": self._read_sections,
            "synonyms": self._read_synonyms,
            "stopwords": lambda value, line: self._read_words(value, line, "stopwords",
                                                               self.stopwords),
            "common_words": lambda value, line: self._read_words(value, line, "common_words",
                                                                 self.common_words),
            "not_typos": lambda value, line: self._read_words(value, line, "not_typos",
                                                              self.not_typos),
            "out_of_scope": lambda value, line: self._read_topics(value, line, "out_of_scope",
                                                                  self.out_of_scope),
            "passing_topics": lambda value, line: self._read_topics(value, line, "passing_topics",
                                                                    self.passing_topics),
            "red_flags": self._read_red_flags,
            "messages": self._read_messages,
            "tips": self._read_tips,
        }
        for key, reader in readers.items():
            if key in data:
                reader(data[key], data.line_of(key))

    # -- typed field helpers ----------------------------------------------
    def _mapping_items(self, value: Any, line: int, what: str) -> list[LineDict]:
        if not isinstance(value, list):
            self.error(line, f"'{what}' must be a list of mappings (each item starts with '- ')")
            return []
        items = []
        for index, item in enumerate(value, start=1):
            if isinstance(item, LineDict):
                items.append(item)
            else:
                self.error(line, f"item {index} of '{what}' must be a mapping with named fields")
        return items

    def _check_keys(self, item: LineDict, required: Sequence[str], optional: Sequence[str],
                    what: str) -> bool:
        allowed = (*required, *optional)
        ok = True
        for key in item:
            if key not in allowed:
                self.error(item.line_of(key), _unknown_key(key, allowed, f"field in {what}"))
                ok = False
        for key in required:
            if key not in item:
                self.error(item.line, f"{what} is missing the required field '{key}'")
                ok = False
        return ok

    def _text(self, item: LineDict, key: str, what: str, *, required: bool = True) -> str | None:
        value = item.get(key)
        if value is None and not required:
            return None
        if isinstance(value, bool) or not isinstance(value, str | int | float):
            self.error(item.line_of(key), f"{what}: '{key}' must be text, got {_type_name(value)}")
            return None
        text = str(value).strip()
        if not text:
            self.error(item.line_of(key), f"{what}: '{key}' is empty")
            return None
        return text

    def _text_list(self, item: LineDict, key: str, what: str) -> tuple[str, ...]:
        value = item.get(key)
        if value is None:
            return ()
        if not isinstance(value, list):
            self.error(item.line_of(key),
                       f"{what}: '{key}' must be a list, got {_type_name(value)}")
            return ()
        texts = []
        for index, element in enumerate(value, start=1):
            if isinstance(element, bool) or not isinstance(element, str | int | float):
                self.error(item.line_of(key),
                           f"{what}: item {index} of '{key}' must be text, got "
                           f"{_type_name(element)}")
            elif not str(element).strip():
                self.error(item.line_of(key), f"{what}: item {index} of '{key}' is empty")
            else:
                texts.append(str(element).strip())
        return tuple(texts)

    # -- blocks --------------------------------------------------------------
    def _read_entries(self, value: Any, line: int) -> None:
        for item in self._mapping_items(value, line, "entries"):
            self._read_entry(item)

    def _read_entry(self, item: LineDict) -> None:
        entry_id = item.get("id")
        what = f"entry '{entry_id}'" if isinstance(entry_id, str) else "entry"
        keys_ok = self._check_keys(item, ENTRY_REQUIRED, ENTRY_OPTIONAL, what)
        entry_id = self._text(item, "id", what)
        question = self._text(item, "question", what)
        answer = self._text(item, "answer", what)
        section = self._text(item, "section", what)
        kind = self._text(item, "kind", what, required=False) or "answer"
        alternates = self._text_list(item, "alternates", what)
        related = self._text_list(item, "related", what)
        keywords = self._text_list(item, "keywords", what)
        not_covered = self._text_list(item, "not_covered", what)
        if "alternates" in item and len(alternates) < MIN_ALTERNATES:
            self.error(item.line_of("alternates"),
                       f"{what}: has {len(alternates)} alternates; give at least "
                       f"{MIN_ALTERNATES} other ways people ask it")
        if kind not in ENTRY_KINDS:
            self.error(item.line_of("kind"),
                       f"{what}: kind '{kind}' is not one of: {', '.join(ENTRY_KINDS)}")
        if answer is not None and len(answer) > TELEGRAM_MESSAGE_LIMIT:
            self.error(item.line_of("answer"),
                       f"{what}: answer is {len(answer)} characters; Telegram allows at most "
                       f"{TELEGRAM_MESSAGE_LIMIT} — shorten it or split it into two entries")
        if entry_id is None or question is None or answer is None or section is None:
            return
        if not ID_PATTERN.match(entry_id):
            self.error(item.line_of("id"),
                       f"{what}: id must be 1-48 lowercase letters, digits, '-' or '_', "
                       "starting with a letter or digit (it is used in Telegram buttons)")
            return
        if entry_id in self.entries:
            first_file, first_line = self.entry_lines[entry_id]
            self.error(item.line_of("id"),
                       f"duplicate id '{entry_id}' (first defined at {first_file}:{first_line})")
            return
        source_line = item.line_of("id")
        self.entry_lines[entry_id] = (self.file, source_line)
        for ref in related:
            self.related_refs.append((self.file, item.line_of("related"), entry_id, ref))
        self._claim_phrasings(entry_id, item, question, alternates)
        self._check_not_covered(item, what, not_covered, (question, *alternates, *keywords))
        if not keys_ok:
            return
        self.entries[entry_id] = Entry(
            id=entry_id, question=question, alternates=alternates, answer=answer,
            section=section, related=related, keywords=keywords, kind=kind,
            source=f"{self.file}:{source_line}", not_covered=not_covered,
        )

    def _check_not_covered(self, item: LineDict, what: str, patterns: tuple[str, ...],
                           own_texts: tuple[str, ...]) -> None:
        """A detail the entry does not cover must be a pattern, and none of the entry's own
        phrasings may ask about it: that phrasing could never be answered."""
        if not patterns:
            return
        valid = []
        for pattern in patterns:
            if _is_pattern(pattern):
                valid.append(pattern)
            else:
                self.error(item.line_of("not_covered"),
                           f"{what}: not_covered item '{pattern}' must be a word or phrase")
        index = PhraseIndex((pattern, pattern) for pattern in valid)
        clashes: dict[str, str] = {}
        for text in own_texts:
            for pattern in index.find(words(text)):
                clashes.setdefault(str(pattern), text)
        for pattern, text in clashes.items():
            self.error(item.line_of("not_covered"),
                       f"{what}: not_covered '{pattern}' occurs in its own phrasing "
                       f"'{text}', which could then never be answered; narrow the "
                       "pattern or reword the phrasing")

    def _claim_phrasings(self, entry_id: str, item: LineDict, question: str,
                         alternates: tuple[str, ...]) -> None:
        """Two entries may not share a phrasing: the matcher could not tell them apart."""
        for key, texts in (("question", (question,)), ("alternates", alternates)):
            for text in texts:
                norm = normalise(text)
                if not norm:
                    self.error(item.line_of(key),
                               f"entry '{entry_id}': '{text}' has no letters or digits to match on")
                    continue
                owner = self.phrasing_owner.get(norm)
                if owner and owner[0] != entry_id:
                    kind = "same question as" if key == "question" else "same phrasing as"
                    self.error(item.line_of(key),
                               f"entry '{entry_id}': '{text}' is the {kind} entry '{owner[0]}' "
                               f"({owner[1]}:{owner[2]}); each phrasing must belong to one entry")
                elif not owner:
                    self.phrasing_owner[norm] = (entry_id, self.file, item.line_of(key))

    def _read_sections(self, value: Any, line: int) -> None:
        for item in self._mapping_items(value, line, "sections"):
            if not self._check_keys(item, ("id", "title"), ("browse",), "section"):
                continue
            section_id = self._text(item, "id", "section")
            title = self._text(item, "title", "section")
            browse = item.get("browse", True)
            if not isinstance(browse, bool):
                self.error(item.line_of("browse"), "section: 'browse' must be true or false")
                continue
            if section_id is None or title is None:
                continue
            if section_id in self.sections:
                self.error(item.line_of("id"), f"duplicate section id '{section_id}'")
                continue
            self.sections[section_id] = Section(section_id, title, browse)

    def _read_synonyms(self, value: Any, line: int) -> None:
        if not isinstance(value, LineDict):
            self.error(line, "'synonyms' must be a mapping: canonical word -> list of variants")
            return
        for canonical, variants in value.items():
            key_line = value.line_of(canonical)
            word = normalise(str(canonical))
            if not word or " " in word:
                self.error(key_line, f"synonym key '{canonical}' must be a single word")
                continue
            if not isinstance(variants, list) or not variants:
                self.error(key_line, f"synonyms for '{canonical}' must be a non-empty list")
                continue
            cleaned = []
            for variant in variants:
                norm = normalise(str(variant)) if isinstance(variant, str | int | float) else ""
                if not norm:
                    self.error(key_line, f"synonyms for '{canonical}': '{variant}' is not a word")
                    continue
                owner = self.synonym_owner.get(norm)
                if owner and owner != word:
                    self.error(key_line,
                               f"synonym '{variant}' is listed under both '{owner}' and "
                               f"'{canonical}'; keep it under one")
                    continue
                self.synonym_owner[norm] = word
                cleaned.append(norm)
            self.synonyms[word] = (*self.synonyms.get(word, ()), *cleaned)

    def _read_words(self, value: Any, line: int, key: str, target: set[str]) -> None:
        if not isinstance(value, list):
            self.error(line, f"'{key}' must be a list of words")
            return
        for word in value:
            norm = normalise(str(word))
            if isinstance(word, bool):  # YAML reads unquoted on/off/yes/no as booleans
                self.error(line, f"{key}: {word!r} is not text; quote on/off/yes/no")
            elif not norm or " " in norm:
                self.error(line, f"{key}: '{word}' must be a single word")
            else:
                target.add(norm)

    def _read_topics(self, value: Any, line: int, key: str, target: list[str]) -> None:
        if not isinstance(value, list):
            self.error(line, f"'{key}' must be a list of words or phrases")
            return
        for phrase in value:
            if not isinstance(phrase, str) or not _is_pattern(phrase):
                self.error(line, f"{key} item '{phrase}' must be a word or phrase")
            else:
                target.append(phrase)

    def _read_red_flags(self, value: Any, line: int) -> None:
        seen = {rule.id for rule in self.red_flags}
        for item in self._mapping_items(value, line, "red_flags"):
            if not self._check_keys(item, ("id", "patterns"), ("requires", "unless"), "red flag"):
                continue
            rule_id = self._text(item, "id", "red flag")
            what = f"red flag '{rule_id}'"
            patterns = self._text_list(item, "patterns", what)
            if rule_id is None:
                continue
            if rule_id in seen:
                self.error(item.line_of("id"), f"duplicate red flag id '{rule_id}'")
                continue
            if not patterns:
                self.error(item.line_of("patterns"), f"{what}: needs at least one pattern")
                continue
            seen.add(rule_id)
            self.red_flags.append(RedFlagRule(
                id=rule_id, patterns=patterns,
                requires=self._text_list(item, "requires", what),
                unless=self._text_list(item, "unless", what),
                source=f"{self.file}:{item.line}",
            ))

    def _read_messages(self, value: Any, line: int) -> None:
        if not isinstance(value, LineDict):
            self.error(line, "'messages' must be a mapping: message name -> text")
            return
        for key in value:
            if key not in MESSAGE_KEYS:
                self.error(value.line_of(key), _unknown_key(key, MESSAGE_KEYS, "message"))
                continue
            if key in self.messages:
                self.error(value.line_of(key),
                           f"message '{key}' is already defined at {self.message_lines[key]}")
                continue
            text = self._text(value, key, "messages")
            if text is None:
                continue
            if len(text) > TELEGRAM_MESSAGE_LIMIT:
                self.error(value.line_of(key), f"message '{key}' is longer than "
                                               f"{TELEGRAM_MESSAGE_LIMIT} characters")
                continue
            self.messages[key] = text
            self.message_lines[key] = f"{self.file}:{value.line_of(key)}"

    def _read_tips(self, value: Any, line: int) -> None:
        for item in self._mapping_items(value, line, "tips"):
            if not self._check_keys(item, TIP_KEYS, (), "tip"):
                continue
            tip_id = self._text(item, "id", "tip")
            text = self._text(item, "text", f"tip '{tip_id}'")
            if tip_id is None or text is None:
                continue
            if tip_id in self.tips:
                self.error(item.line_of("id"), f"duplicate tip id '{tip_id}'")
                continue
            if len(text) > 1000:
                self.error(item.line_of("text"), f"tip '{tip_id}' is {len(text)} characters; "
                                                 "keep tips under 1000")
                continue
            self.tips[tip_id] = Tip(tip_id, text)

    # -- cross-file checks ---------------------------------------------------
    def build(self, files: tuple[str, ...]) -> KnowledgeBase:
        for file, line, entry_id, ref in self.related_refs:
            if ref not in self.entry_lines:
                message = f"entry '{entry_id}': related id '{ref}' does not exist"
                self.errors.append(Problem(file, line, message))
            elif ref == entry_id:
                self.errors.append(Problem(file, line,
                                           f"entry '{entry_id}' lists itself as related"))
        for entry in self.entries.values():
            if self.sections and entry.section not in self.sections:
                file, line = self.entry_lines[entry.id]
                known = ", ".join(self.sections)
                self.errors.append(Problem(file, line, f"entry '{entry.id}': section "
                                                       f"'{entry.section}' is not one of: {known}"))
        where = files[0] if files else "knowledge"
        if not self.entries and not self.errors:
            self.errors.append(Problem(where, 1, "the knowledge base has no entries"))
        if not self.sections:
            self.errors.append(Problem(where, 1, "no 'sections' block found in any file"))
        for key in MESSAGE_KEYS:
            if key not in self.messages:
                self.errors.append(Problem(where, 1, f"message '{key}' is not defined in any "
                                                     "file's 'messages' block"))
        return KnowledgeBase(
            entries=dict(self.entries),
            sections=tuple(self.sections.values()),
            synonyms=dict(self.synonyms),
            stopwords=frozenset(self.stopwords),
            common_words=frozenset(self.common_words),
            not_typos=frozenset(self.not_typos),
            # Each topic counts once, however many times (or files) list it.
            out_of_scope=tuple(dict.fromkeys(self.out_of_scope)),
            passing_topics=tuple(dict.fromkeys(self.passing_topics)),
            red_flags=tuple(self.red_flags),
            messages=dict(self.messages),
            tips=tuple(self.tips.values()),
            files=files,
        )


def _unknown_key(key: Any, allowed: Sequence[str], what: str) -> str:
    guess = get_close_matches(str(key), allowed, n=1)
    hint = f" — did you mean '{guess[0]}'?" if guess else ""
    return f"unknown {what} '{key}'{hint} (allowed: {', '.join(allowed)})"


def _is_pattern(text: str) -> bool:
    """A word or phrase to look for (``*`` ends a prefix), not just punctuation or stars."""
    return bool(normalise(text.replace("*", "")))


def _type_name(value: Any) -> str:
    if value is None:
        return "nothing"
    return {dict: "a mapping", LineDict: "a mapping", list: "a list", bool: "true/false"}.get(
        type(value), type(value).__name__)


def near_duplicate_warnings(kb: KnowledgeBase, threshold: float = 90.0) -> list[Problem]:
    """Phrasings of different entries that read almost the same: the matcher may confuse them.

    Quadratic in the number of phrasings, so it runs in ``validate``, not at start-up.
    """
    from rapidfuzz import fuzz, process

    owners: list[Entry] = []
    texts: list[str] = []
    for entry in kb.entries.values():
        for phrasing in entry.phrasings:
            owners.append(entry)
            texts.append(normalise(phrasing))
    warnings = []
    seen: set[tuple[str, str]] = set()
    for i, text in enumerate(texts):
        a = owners[i]
        for _, _, j in process.extract(text, texts, scorer=fuzz.token_sort_ratio,
                                       score_cutoff=threshold, limit=None):
            b = owners[j]
            if i >= j or a.id == b.id or (a.id, b.id) in seen:
                continue
            seen.add((a.id, b.id))
            file, _, line = a.source.rpartition(":")
            warnings.append(Problem(file, int(line),
                                    f"entry '{a.id}': '{text}' is very close to '{texts[j]}' "
                                    f"of entry '{b.id}' ({b.source}); the matcher may confuse "
                                    "them"))
    return warnings


def topics_covered(kb: KnowledgeBase, listed: PhraseIndex) -> set[str]:
    """The listed topics that an entry's question or keywords name: once a maintainer adds
    "Can I keep my roller in the fridge?", the fridge is covered. (An alternate that merely
    mentions sunscreen does not make sunscreen a covered topic.)"""
    return {str(topic) for entry in kb.entries.values() if entry.kind != "smalltalk"
            for text in (entry.question, *entry.keywords)
            for topic in listed.find(words(text))}


def topic_clash_warnings(kb: KnowledgeBase) -> list[Problem]:
    """Out-of-scope topics that an entry's own alternates name.

    Such a topic counts against every question that names it, so the phrasing matches
    worse than its entry deserves ("dry skin" out of scope, "can I massage on dry skin?"
    an alternate). Topics the knowledge base covers (see ``topics_covered``) and passing
    topics are left alone: a phrasing that tells a story may mention them as users do.
    One warning per entry and topic.
    """
    listed = PhraseIndex((topic, topic) for topic in kb.out_of_scope)
    covered = topics_covered(kb, listed)
    warnings = []
    for entry in kb.entries.values():
        if entry.kind == "smalltalk":
            continue
        named: dict[str, str] = {}
        for phrasing in entry.phrasings:
            for topic in listed.find(words(phrasing)):
                if topic not in covered:
                    named.setdefault(str(topic), phrasing)
        file, _, line = entry.source.rpartition(":")
        warnings.extend(
            Problem(file, int(line),
                    f"entry '{entry.id}': its phrasing '{phrasing}' names the out-of-scope "
                    f"topic '{topic}', which counts against it; narrow the topic in "
                    "out_of_scope.yaml or reword the phrasing")
            for topic, phrasing in named.items())
    return warnings


def repeated_phrase_warnings(kb: KnowledgeBase) -> list[Problem]:
    """A phrase listed twice in one red flag's list: harmless to matching, but a sign that a
    long list is being edited in two places."""
    warnings = []
    for rule in kb.red_flags:
        file, _, line = rule.source.rpartition(":")
        for part in ("patterns", "requires", "unless"):
            seen: set[str] = set()
            for phrase in getattr(rule, part):
                if phrase in seen:
                    warnings.append(Problem(file, int(line), f"red flag '{rule.id}': '{phrase}' "
                                                             f"is listed twice in its {part}"))
                seen.add(phrase)
    return warnings


def knowledge_warnings(kb: KnowledgeBase) -> list[Problem]:
    """Everything ``validate`` warns about: loadable, but likely to match worse than meant."""
    return [*near_duplicate_warnings(kb), *topic_clash_warnings(kb),
            *repeated_phrase_warnings(kb)]
