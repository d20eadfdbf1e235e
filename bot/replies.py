"""Turning a match result into the words the user sees, independent of any chat platform."""

from __future__ import annotations

from dataclasses import dataclass

from bot.knowledge import Entry, KnowledgeBase
from bot.matcher import MatchResult


@dataclass(frozen=True)
class Reply:
    """Plain text plus the entries a front end may offer as follow-up choices."""

    text: str
    choices: tuple[Entry, ...] = ()
    choices_heading: str = ""


def related_entries(kb: KnowledgeBase, entry: Entry, limit: int = 3) -> tuple[Entry, ...]:
    """The entries a reader likely wants next, as the maintainer listed them."""
    return tuple(kb.entries[r] for r in entry.related if r in kb.entries)[:limit]


def reply_for(kb: KnowledgeBase, result: MatchResult) -> Reply:
    """The reply for any kind of result; related entries ride along with answers."""
    messages = kb.messages
    if result.kind == "safety":
        return Reply(messages["safety"])
    if result.kind == "clarify":
        options = tuple(kb.entries[c.entry_id] for c in result.candidates)
        return Reply(messages["did_you_mean"], options, messages["did_you_mean"])
    if result.kind in ("answer", "smalltalk") and result.entry_id in kb.entries:
        entry = kb.entries[result.entry_id]
        related = related_entries(kb, entry)
        return Reply(entry.answer, related, messages["related"] if related else "")
    return Reply(messages["fallback"])


def as_plain_text(reply: Reply) -> str:
    """Render for a terminal: choices become a numbered list."""
    if not reply.choices:
        return reply.text
    if reply.text == reply.choices_heading:
        lines = [reply.text]
    else:
        lines = [reply.text, "", reply.choices_heading]
    lines += [f"  {number}. {entry.question}" for number, entry in enumerate(reply.choices, 1)]
    return "\n".join(lines)
