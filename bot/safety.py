"""Medical red flags: questions that must go to a dermatologist, never to the knowledge base.

The rules live in ``knowledge/safety.yaml`` so maintainers can extend them. They
are checked before any matching, on the user's own words (not on synonyms), and
tolerate one typo in long words because "pregant" is still a pregnancy question.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence

from bot.knowledge import RedFlagRule
from bot.phrases import PhraseIndex


class SafetyRules:
    """Decides whether a question is a red flag, and which rule says so."""

    def __init__(self, rules: Sequence[RedFlagRule], known_words: Iterable[str] = ()) -> None:
        self._rule_ids = [rule.id for rule in rules]
        self._has_requires = {index for index, rule in enumerate(rules) if rule.requires}
        labelled = (
            ((index, role), pattern)
            for index, rule in enumerate(rules)
            for role, patterns in (("match", rule.patterns), ("requires", rule.requires),
                                   ("unless", rule.unless))
            for pattern in patterns
        )
        self._index = PhraseIndex(labelled, known_words)

    def check(self, words: Sequence[str]) -> str | None:
        """The id of the first rule the question's words trigger, or None.

        An ``unless`` phrase that overlaps a matched pattern excuses that occurrence only
        ("acne scars" excuses "acne", not a second "acne" elsewhere); one that overlaps
        none is context that excuses the whole rule ("swollen in the morning").
        """
        spans: dict[int, dict[str, list[tuple[int, int]]]] = {}
        for (index, role), start, end in self._index.find_spans(words):
            spans.setdefault(index, {}).setdefault(role, []).append((start, end))
        for index in sorted(spans):
            found = spans[index]
            matches, unless = found.get("match", []), found.get("unless", [])
            context = [u for u in unless if not any(_overlap(u, m) for m in matches)]
            unexcused = [m for m in matches if not any(_overlap(m, u) for u in unless)]
            if context or not unexcused:
                continue
            if index in self._has_requires and "requires" not in found:
                continue
            return self._rule_ids[index]
        return None


def _overlap(a: tuple[int, int], b: tuple[int, int]) -> bool:
    return a[0] < b[1] and b[0] < a[1]
