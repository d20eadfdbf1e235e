"""Finding maintainer-written phrases ("bleed*", "blood thinner*") in a list of words.

Used by the red-flag rules and the out-of-scope list. Every phrase is indexed by
its first word, so a look-up costs a few dict reads per word of the question.
"""

from __future__ import annotations

from collections.abc import Hashable, Iterable, Sequence
from dataclasses import dataclass


@dataclass(frozen=True)
class PatternWord:
    """One word of a pattern; ``prefix`` words end in ``*`` and match any word they start."""

    text: str
    prefix: bool

    def matches(self, word: str) -> bool:
        return word.startswith(self.text) if self.prefix else word == self.text


def compile_pattern(pattern: str) -> tuple[PatternWord, ...]:
    parts = []
    for raw in pattern.lower().split():
        prefix = raw.endswith("*")
        text = "".join(ch for ch in raw.rstrip("*") if ch.isalnum())
        if text:
            parts.append(PatternWord(text, prefix))
    return tuple(parts)


class PhraseIndex:
    """Which of many labelled patterns occur in a sequence of words."""

    def __init__(self, patterns: Iterable[tuple[Hashable, str]]) -> None:
        self._exact: dict[str, list[tuple[Hashable, tuple[PatternWord, ...]]]] = {}
        self._prefix: dict[str, list[tuple[Hashable, tuple[PatternWord, ...]]]] = {}
        self.single_words: set[PatternWord] = set()
        for label, pattern in patterns:
            phrase = compile_pattern(pattern)
            if not phrase:
                continue
            first = phrase[0]
            table = self._prefix if first.prefix else self._exact
            table.setdefault(first.text, []).append((label, phrase))
            if len(phrase) == 1:
                self.single_words.add(first)

    def find(self, words: Sequence[str]) -> list[Hashable]:
        """Labels of every pattern found, once per occurrence, in order of appearance."""
        found = []
        for start, word in enumerate(words):
            candidates = list(self._exact.get(word, ()))
            for end in range(1, len(word) + 1):
                candidates.extend(self._prefix.get(word[:end], ()))
            for label, phrase in candidates:
                if _matches_at(phrase, words, start):
                    found.append(label)
        return found


def _matches_at(phrase: tuple[PatternWord, ...], words: Sequence[str], start: int) -> bool:
    if start + len(phrase) > len(words):
        return False
    return all(part.matches(words[start + i]) for i, part in enumerate(phrase))
