"""SQLite access for daily reminders: subscriptions, time zones, tip positions and streaks.

Tables come from migration 2 in ``bot.storage``. One ``reminder_chats`` row per chat
that ever set something (a NULL ``remind_at`` means not subscribed, a NULL ``zone`` means
the configured default zone); ``reminder_days`` holds the local dates marked done. The
store is stateless apart from the Storage it wraps, so handlers create one per call and
see a reloaded knowledge base's tips at once. All SQL is parameterised.
"""

from __future__ import annotations

import json
import random
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, time

from bot.reminders import TipCycle, format_time, next_tip
from bot.storage import Storage


@dataclass(frozen=True)
class ChatReminder:
    """What is stored about one chat's reminders."""

    chat_id: int
    zone: str | None = None
    remind_at: time | None = None
    last_sent_date: date | None = None
    snooze_at: datetime | None = None
    tips: TipCycle = field(default_factory=TipCycle)

    @property
    def subscribed(self) -> bool:
        return self.remind_at is not None


def _row_to_chat(row: Sequence[object]) -> ChatReminder:
    chat_id, zone, remind_at, last_sent, snooze_at, order, position = row
    try:
        tip_order = tuple(str(t) for t in json.loads(str(order)))
    except ValueError:  # a hand-edited database: start a fresh cycle rather than fail
        tip_order = ()
    return ChatReminder(
        chat_id=int(chat_id),  # type: ignore[call-overload]
        zone=str(zone) if zone is not None else None,
        remind_at=time.fromisoformat(str(remind_at)) if remind_at is not None else None,
        last_sent_date=date.fromisoformat(str(last_sent)) if last_sent is not None else None,
        snooze_at=datetime.fromisoformat(str(snooze_at)) if snooze_at is not None else None,
        tips=TipCycle(tip_order, int(position)),  # type: ignore[call-overload]
    )


class ReminderStore:
    """Reminder data of all chats, behind small intention-revealing methods."""

    def __init__(self, storage: Storage) -> None:
        self.storage = storage
        self.db = storage.db

    def _ensure_row(self, chat_id: int) -> None:
        self.db.execute("INSERT INTO reminder_chats (chat_id) VALUES (?) "
                        "ON CONFLICT (chat_id) DO NOTHING", (chat_id,))

    # -- reading ---------------------------------------------------------------
    def get(self, chat_id: int) -> ChatReminder:
        """The chat's row, or an empty default (nothing stored) when there is none."""
        row = self.db.execute(
            "SELECT chat_id, zone, remind_at, last_sent_date, snooze_at, tip_order, tip_position "
            "FROM reminder_chats WHERE chat_id = ?", (chat_id,)).fetchone()
        return _row_to_chat(row) if row else ChatReminder(chat_id)

    def scheduled(self) -> list[ChatReminder]:
        """Chats with a daily reminder or a pending snooze: what start-up must schedule."""
        rows = self.db.execute(
            "SELECT chat_id, zone, remind_at, last_sent_date, snooze_at, tip_order, tip_position "
            "FROM reminder_chats WHERE remind_at IS NOT NULL OR snooze_at IS NOT NULL "
            "ORDER BY chat_id")
        return [_row_to_chat(row) for row in rows]

    def subscriber_count(self) -> int:
        return self.db.execute(
            "SELECT COUNT(*) FROM reminder_chats WHERE remind_at IS NOT NULL").fetchone()[0]

    # -- settings --------------------------------------------------------------
    def subscribe(self, chat_id: int, at: time) -> None:
        """Remind daily at ``at``; a changed time starts afresh, so it may fire again today."""
        value = format_time(at)
        with self.storage.transaction():
            self._ensure_row(chat_id)
            self.db.execute(
                "UPDATE reminder_chats SET last_sent_date = CASE WHEN remind_at = ? "
                "THEN last_sent_date END, remind_at = ? WHERE chat_id = ?",
                (value, value, chat_id))

    def unsubscribe(self, chat_id: int) -> bool:
        """Stop the daily reminder and any pending snooze; True when there was one."""
        cursor = self.db.execute(
            "UPDATE reminder_chats SET remind_at = NULL, snooze_at = NULL "
            "WHERE chat_id = ? AND (remind_at IS NOT NULL OR snooze_at IS NOT NULL)",
            (chat_id,))
        return cursor.rowcount > 0

    def set_zone(self, chat_id: int, zone: str) -> None:
        with self.storage.transaction():
            self._ensure_row(chat_id)
            self.db.execute("UPDATE reminder_chats SET zone = ? WHERE chat_id = ?",
                            (zone, chat_id))

    def set_snooze(self, chat_id: int, at: datetime | None) -> None:
        """Remember a pending snooze, so a restart before it is due does not lose it."""
        with self.storage.transaction():
            self._ensure_row(chat_id)
            self.db.execute("UPDATE reminder_chats SET snooze_at = ? WHERE chat_id = ?",
                            (at.isoformat() if at else None, chat_id))

    def move_chat(self, old_chat_id: int, new_chat_id: int) -> None:
        """A group became a supergroup: its reminders follow the new chat id."""
        with self.storage.transaction():
            self.db.execute("DELETE FROM reminder_chats WHERE chat_id = ?", (new_chat_id,))
            self.db.execute("UPDATE reminder_chats SET chat_id = ? WHERE chat_id = ?",
                            (new_chat_id, old_chat_id))
            self.db.execute("UPDATE OR IGNORE reminder_days SET chat_id = ? WHERE chat_id = ?",
                            (new_chat_id, old_chat_id))
            self.db.execute("DELETE FROM reminder_days WHERE chat_id = ?", (old_chat_id,))

    # -- sending ---------------------------------------------------------------
    def claim_daily(self, chat_id: int, local_date: date) -> bool:
        """Mark the daily reminder of ``local_date`` as sent; False when it already was
        (or the chat is no longer subscribed). A single UPDATE, so two jobs can never
        both claim one date."""
        cursor = self.db.execute(
            "UPDATE reminder_chats SET last_sent_date = ? WHERE chat_id = ? "
            "AND remind_at IS NOT NULL AND (last_sent_date IS NULL OR last_sent_date < ?)",
            (local_date.isoformat(), chat_id, local_date.isoformat()))
        return cursor.rowcount == 1

    def release_daily(self, chat_id: int, local_date: date, previous: date | None) -> None:
        """Undo claim_daily after a failed send, so a restart within the grace time retries."""
        self.db.execute(
            "UPDATE reminder_chats SET last_sent_date = ? WHERE chat_id = ? "
            "AND last_sent_date = ?",
            (previous.isoformat() if previous else None, chat_id, local_date.isoformat()))

    def next_tip(self, chat_id: int, tip_ids: Sequence[str],
                 rng: random.Random | None = None) -> str | None:
        """Advance the chat's tip rotation and return the tip to send (None without tips)."""
        with self.storage.transaction():
            cycle = self.get(chat_id).tips
            tip, cycle = next_tip(tip_ids, cycle, rng)
            if tip is not None:
                self._ensure_row(chat_id)
                self.db.execute("UPDATE reminder_chats SET tip_order = ?, tip_position = ? "
                                "WHERE chat_id = ?",
                                (json.dumps(list(cycle.order)), cycle.position, chat_id))
        return tip

    # -- streaks ---------------------------------------------------------------
    def mark_done(self, chat_id: int, day: date) -> None:
        self.db.execute("INSERT OR IGNORE INTO reminder_days (chat_id, day) VALUES (?, ?)",
                        (chat_id, day.isoformat()))

    def done_days(self, chat_id: int, until: date | None = None) -> set[date]:
        """Days marked done (up to ``until``); a streak needs them all, there is one per day."""
        rows = self.db.execute("SELECT day FROM reminder_days WHERE chat_id = ? AND day <= ?",
                               (chat_id, (until or date.max).isoformat()))
        return {date.fromisoformat(day) for (day,) in rows}

    # -- privacy ---------------------------------------------------------------
    def forget(self, chat_id: int) -> None:
        """/forget: everything the bot stores about the chat, including its feedback votes."""
        with self.storage.transaction():
            self.db.execute("DELETE FROM reminder_chats WHERE chat_id = ?", (chat_id,))
            self.db.execute("DELETE FROM reminder_days WHERE chat_id = ?", (chat_id,))
            self.db.execute("DELETE FROM feedback WHERE chat_id = ?", (chat_id,))
