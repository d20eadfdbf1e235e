"""Medical red flags: questions that must go to a dermatologist, never to the knowledge base.

The rules live in ``knowledge/safety.yaml`` so maintainers can extend them. They
are checked before any matching, on the user's own words (not on synonyms), and
tolerate one typo in long words because "pregant" is still a pregnancy question.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from functools import lru_cache

from rapidfuzz.distance import OSA

from bot.knowledge import RedFlagRule
from bot.phrases import PhraseIndex

FUZZY_MIN_LENGTH = 6


class SafetyRules:
    """Decides whether a question is a red flag, and which rule says so."""

    def __init__(self, rules: Sequence[RedFlagRule], known_words: Iterable[str] = ()) -> None:
        self._rule_ids = [rule.id for rule in rules]
        self._has_requires = {index for index, rule in enumerate(rules) if rule.requires}
        self._index = PhraseIndex(
            ((index, role), pattern)
            for index, rule in enumerate(rules)
            for role, patterns in (("match", rule.patterns), ("requires", rule.requires),
                                   ("unless", rule.unless))
            for pattern in patterns
        )
        targets = {w for w in self._index.single_words if len(w.text) >= FUZZY_MIN_LENGTH}
        self._fuzzy_targets = sorted(targets, key=lambda w: (w.text, w.prefix))
        self._known = frozenset(known_words) | {w.text for w in targets}
        self._correct = lru_cache(maxsize=20_000)(self._correct_uncached)

    def check(self, words: Sequence[str]) -> str | None:
        """The id of the first rule the question's words trigger, or None."""
        hits: dict[int, set[str]] = {}
        for index, role in self._index.find([self._correct(w) for w in words]):
            hits.setdefault(index, set()).add(role)
        for index in sorted(hits):
            roles = hits[index]
            if "match" not in roles or "unless" in roles:
                continue
            if index in self._has_requires and "requires" not in roles:
                continue
            return self._rule_ids[index]
        return None

    def _correct_uncached(self, word: str) -> str:
        """Map a misspelled long word onto a red-flag word one edit away."""
        if len(word) < FUZZY_MIN_LENGTH or word in self._known:
            return word
        for target in self._fuzzy_targets:
            if target.prefix and len(word) < len(target.text):
                continue
            if not target.prefix:
                if OSA.distance(word, target.text, score_cutoff=1) <= 1:
                    return target.text
                continue
            for size in (len(target.text), len(target.text) - 1, len(target.text) + 1):
                if OSA.distance(word[:size], target.text, score_cutoff=1) <= 1:
                    return target.text + word[size:]
        return word
