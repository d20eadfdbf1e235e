"""Telegram presentation helpers: HTML escaping, message splitting, keyboards, callback data.

Kept apart from the handlers so they can be tested as plain functions. Callback
data is a short prefix plus an id, well under Telegram's 64-byte limit (ids are
validated to be short ASCII when the knowledge base loads).
"""

from __future__ import annotations

import html
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from telegram import InlineKeyboardButton, InlineKeyboardMarkup

from bot.knowledge import Entry, KnowledgeBase

MESSAGE_LIMIT = 4096
CALLBACK_LIMIT = 64
BUTTON_TEXT_LIMIT = 60

ANSWER, SECTION, TOPICS, FEEDBACK = "a", "s", "t", "f"
# Callback data these helpers produce; other features register their own prefixes.
CONVERSATION_BUTTONS = r"^[asft](:|$)"


@dataclass(frozen=True)
class Callback:
    action: str
    value: str = ""
    extra: str = ""


def encode_callback(action: str, value: str = "", extra: str = "") -> str:
    data = ":".join(part for part in (action, extra, value) if part)
    if len(data.encode()) > CALLBACK_LIMIT:
        raise ValueError(f"callback data over {CALLBACK_LIMIT} bytes: {data!r}")
    return data


def decode_callback(data: str | None) -> Callback | None:
    """Parse callback data; None for anything we did not produce (old or forged buttons)."""
    if not data:
        return None
    parts = data.split(":")
    action = parts[0]
    if action == TOPICS and len(parts) == 1:
        return Callback(TOPICS)
    if action in (ANSWER, SECTION) and len(parts) == 2 and parts[1]:
        return Callback(action, parts[1])
    if action == FEEDBACK and len(parts) == 3 and parts[1] in ("+", "-") and parts[2]:
        return Callback(FEEDBACK, parts[2], parts[1])
    return None


def escape(text: str) -> str:
    """Escape user- or maintainer-supplied text for HTML parse mode."""
    return html.escape(text, quote=False)


def split_message(text: str, limit: int = MESSAGE_LIMIT) -> list[str]:
    """Split at paragraph, then line, then word boundaries so no piece exceeds ``limit``.

    Never splits inside an HTML entity such as ``&amp;``; callers pass escaped text
    without tags, or tags that do not span a break.
    """
    pieces: list[str] = []
    rest = text
    while len(rest) > limit:
        window = rest[:limit]
        cut = max(window.rfind("\n\n"), window.rfind("\n"), window.rfind(" "))
        if cut < limit // 2:
            cut = limit
            amp = window.rfind("&")
            if amp != -1 and ";" not in window[amp:]:
                cut = amp
        pieces.append(rest[:cut].rstrip())
        rest = rest[cut:].lstrip()
    if rest or not pieces:
        pieces.append(rest)
    return pieces


def button_label(text: str) -> str:
    return text if len(text) <= BUTTON_TEXT_LIMIT else text[: BUTTON_TEXT_LIMIT - 1] + "…"


def entry_buttons(entries: Iterable[Entry]) -> list[list[InlineKeyboardButton]]:
    return [[InlineKeyboardButton(button_label(e.question),
                                  callback_data=encode_callback(ANSWER, e.id))]
            for e in entries]


def topics_keyboard(kb: KnowledgeBase) -> InlineKeyboardMarkup:
    rows = [[InlineKeyboardButton(s.title, callback_data=encode_callback(SECTION, s.id))]
            for s in kb.sections if s.browse and kb.entries_in(s.id)]
    return InlineKeyboardMarkup(rows)


def section_keyboard(kb: KnowledgeBase, section_id: str) -> InlineKeyboardMarkup:
    rows = entry_buttons(kb.entries_in(section_id))
    rows.append([InlineKeyboardButton("⬅️ All topics", callback_data=encode_callback(TOPICS))])
    return InlineKeyboardMarkup(rows)


def answer_keyboard(entry: Entry, related: Sequence[Entry]) -> InlineKeyboardMarkup:
    """Related questions first, then the 👍/👎 feedback row."""
    rows = entry_buttons(related[:3])
    if entry.kind == "answer":
        rows.append([
            InlineKeyboardButton("👍", callback_data=encode_callback(FEEDBACK, entry.id, "+")),
            InlineKeyboardButton("👎", callback_data=encode_callback(FEEDBACK, entry.id, "-")),
        ])
    return InlineKeyboardMarkup(rows)


def choices_keyboard(entries: Sequence[Entry]) -> InlineKeyboardMarkup:
    return InlineKeyboardMarkup(entry_buttons(entries))
