"""Finding maintainer-written phrases ("bleed*", "blood thinner*") in a list of words.

Used by the red-flag rules and the out-of-scope list. Every phrase is indexed by
its first word, so a look-up costs a few dict reads per word of the question.
Given the words that are real words in their own right, an index also forgives
one typo in a long pattern word: "pregant" is still "pregnant", "hyaluronc" is
still "hyaluronic", but "selling" is not "swelling" and "blurring" is not "slurring".
"""

from __future__ import annotations

from collections.abc import Hashable, Iterable, Sequence
from dataclasses import dataclass
from functools import cache, lru_cache

from rapidfuzz.distance import OSA

from bot.text import fold, inflection_bases

FUZZY_MIN_LENGTH = 6  # shorter words are too easily one edit from another real word


@dataclass(frozen=True)
class PatternWord:
    """One word of a pattern; ``prefix`` words end in ``*`` and match any word they start."""

    text: str
    prefix: bool

    def matches(self, word: str) -> bool:
        return word.startswith(self.text) if self.prefix else word == self.text


# A pattern as filed in an index: its place in the given list, its label, its words.
_Filed = tuple[int, Hashable, tuple[PatternWord, ...]]


@cache
def compile_pattern(pattern: str) -> tuple[PatternWord, ...]:
    """The words of a pattern, folded like a question's words ("décolleté" is "decollete");
    cached, because the same patterns are compiled by validation and by several indexes."""
    parts = []
    for raw in fold(pattern).split():
        prefix = raw.endswith("*")
        text = raw.rstrip("*")
        if not text.isalnum():  # most pattern words are; skipping the scan speeds start-up
            text = "".join(ch for ch in text if ch.isalnum())
        if text:
            parts.append(PatternWord(text, prefix))
    return tuple(parts)


class PhraseIndex:
    """Which of many labelled patterns occur in a sequence of words."""

    def __init__(self, patterns: Iterable[tuple[Hashable, str]],
                 known_words: Iterable[str] | None = None) -> None:
        """``known_words``, when given, turns on typo tolerance: words in it are never typos."""
        # Phrases are filed by their first word, and those whose first two words are plain
        # words by both: "how many minutes" is only tried where "how" meets "many", so the
        # many patterns that open with "how", "my" or "on" cost nothing elsewhere. Each
        # carries its place in the list, so matches at one position keep the given order.
        self._exact: dict[str, list[_Filed]] = {}
        self._pairs: dict[tuple[str, str], list[_Filed]] = {}
        self._prefix: dict[str, list[_Filed]] = {}
        single_words: set[PatternWord] = set()
        spelled: set[PatternWord] = set()
        for place, (label, pattern) in enumerate(patterns):
            phrase = compile_pattern(pattern)
            if not phrase:
                continue
            spelled.update(phrase)
            first = phrase[0]
            filed = (place, label, phrase)
            if first.prefix:
                self._prefix.setdefault(first.text, []).append(filed)
            elif len(phrase) > 1 and not phrase[1].prefix:
                self._pairs.setdefault((first.text, phrase[1].text), []).append(filed)
            else:
                self._exact.setdefault(first.text, []).append(filed)
            if len(phrase) == 1:
                single_words.add(first)
        self._prefix_lengths = sorted({len(text) for text in self._prefix})
        targets = {w for w in single_words if len(w.text) >= FUZZY_MIN_LENGTH}
        self._fuzzy_targets = sorted(targets, key=lambda w: (w.text, w.prefix))
        self._tolerant = known_words is not None
        # Kept as given (not copied): a matcher builds one index per entry over one vocabulary.
        self._known = (known_words if isinstance(known_words, frozenset)
                       else frozenset(known_words or ()))
        # A word some pattern spells out is no typo: "pregnant" in "never pregnant" is not
        # the misspelling "pregant".
        self._spelled = frozenset(w.text for w in spelled if not w.prefix)
        # Nor is a word that a one-word prefix pattern already matches: "scalding" is "scald*",
        # not the misspelling "scaling".
        self._prefixes = frozenset(w.text for w in single_words if w.prefix)
        self._correct = lru_cache(maxsize=20_000)(self._correct_uncached)

    def find(self, words: Sequence[str]) -> list[Hashable]:
        """Labels of every pattern found, once per occurrence, in order of appearance."""
        return [label for label, _, _ in self.find_spans(words)]

    def find_spans(self, words: Sequence[str]) -> list[tuple[Hashable, int, int]]:
        """``find``, with where each occurrence starts and ends (word positions, end excluded)."""
        if self._tolerant:
            words = [self._correct(w) for w in words]
        found = []
        last = len(words) - 1
        for start, word in enumerate(words):
            candidates = list(self._exact.get(word, ()))
            if start < last:
                candidates.extend(self._pairs.get((word, words[start + 1]), ()))
            for end in self._prefix_lengths:
                if end > len(word):
                    break
                candidates.extend(self._prefix.get(word[:end], ()))
            if len(candidates) > 1:
                candidates.sort(key=_place)
            for _, label, phrase in candidates:
                if _matches_at(phrase, words, start):
                    found.append((label, start, start + len(phrase)))
        return found

    def _correct_uncached(self, word: str) -> str:
        """Map a misspelled long word onto a pattern word one edit away, never across a
        different first letter: people rarely mistype it, and "blurring" is not "slurring"."""
        if len(word) < FUZZY_MIN_LENGTH or word in self._known or word in self._spelled:
            return word
        if any(word[:size] in self._prefixes for size in range(1, len(word) + 1)):
            return word
        if any(base in self._known for base in inflection_bases(word)):
            return word  # "fighting" is "fight", not a typo for "flight*"
        for target in self._fuzzy_targets:
            if target.text[0] != word[0]:
                continue
            if target.prefix and len(word) < len(target.text) - 1:
                continue
            if not target.prefix:
                if OSA.distance(word, target.text, score_cutoff=1) <= 1:
                    return target.text
                continue
            for size in (len(target.text), len(target.text) - 1, len(target.text) + 1):
                if OSA.distance(word[:size], target.text, score_cutoff=1) <= 1:
                    return target.text + word[size:]
        return word


def _place(filed: _Filed) -> int:
    return filed[0]


def _matches_at(phrase: tuple[PatternWord, ...], words: Sequence[str], start: int) -> bool:
    if start + len(phrase) > len(words):
        return False
    return all(part.matches(words[start + i]) for i, part in enumerate(phrase))
