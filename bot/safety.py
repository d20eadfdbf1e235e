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
        """The id of the first rule the question's words trigger, or None."""
        hits: dict[int, set[str]] = {}
        for index, role in self._index.find(words):
            hits.setdefault(index, set()).add(role)
        for index in sorted(hits):
            roles = hits[index]
            if "match" not in roles or "unless" in roles:
                continue
            if index in self._has_requires and "requires" not in roles:
                continue
            return self._rule_ids[index]
        return None
