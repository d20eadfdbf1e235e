"""SQLite storage: feedback, question statistics and unanswered questions.

One connection, used from the bot's single event-loop thread; every statement is
short, so calls are synchronous. The schema is versioned with ``PRAGMA
user_version`` and migrated forward at open. What is stored is deliberately
minimal: unanswered questions keep only their normalised text and time, never
who asked.
"""

from __future__ import annotations

import logging
import sqlite3
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

logger = logging.getLogger(__name__)


class StorageError(Exception):
    """The database cannot be opened or written; the message says what to check."""


# Each migration is a list of statements run in one transaction; append, never edit.
MIGRATIONS: list[tuple[str, ...]] = [
    (
        """CREATE TABLE feedback (
            chat_id    INTEGER NOT NULL,
            message_id INTEGER NOT NULL,
            entry_id   TEXT    NOT NULL,
            vote       INTEGER NOT NULL CHECK (vote IN (-1, 1)),
            created_at TEXT    NOT NULL,
            PRIMARY KEY (chat_id, message_id))""",
        "CREATE INDEX feedback_entry ON feedback (entry_id)",
        "CREATE TABLE queries (kind TEXT NOT NULL, entry_id TEXT, created_at TEXT NOT NULL)",
        "CREATE INDEX queries_created ON queries (created_at)",
        "CREATE TABLE unanswered (question TEXT NOT NULL, kind TEXT NOT NULL, "
        "created_at TEXT NOT NULL)",
        "CREATE INDEX unanswered_created ON unanswered (created_at)",
    ),
    (  # daily reminders (bot.reminder_store): one row per chat, plus the days marked done
        """CREATE TABLE reminder_chats (
            chat_id        INTEGER PRIMARY KEY,
            zone           TEXT,
            remind_at      TEXT CHECK (remind_at GLOB '[0-2][0-9]:[0-5][0-9]'),
            last_sent_date TEXT,
            snooze_at      TEXT,
            tip_order      TEXT    NOT NULL DEFAULT '[]',
            tip_position   INTEGER NOT NULL DEFAULT 0)""",
        """CREATE TABLE reminder_days (
            chat_id INTEGER NOT NULL,
            day     TEXT    NOT NULL,
            PRIMARY KEY (chat_id, day)) WITHOUT ROWID""",
    ),
]


@dataclass(frozen=True)
class Stats:
    answered: int
    fallbacks: int
    clarifications: int
    safety: int
    top_entries: list[tuple[str, int]]

    @property
    def total(self) -> int:
        return self.answered + self.fallbacks + self.clarifications + self.safety

    @property
    def fallback_rate(self) -> float:
        return self.fallbacks / self.total if self.total else 0.0


def utc_now() -> datetime:
    return datetime.now(UTC)


class Storage:
    """All persistent state of the bot, behind small intention-revealing methods."""

    def __init__(self, path: Path | str, clock: Callable[[], datetime] = utc_now) -> None:
        self.path = Path(path)
        self._clock = clock
        try:
            if str(path) != ":memory:":
                self.path.parent.mkdir(parents=True, exist_ok=True)
            self.db = sqlite3.connect(str(path), timeout=5.0, isolation_level=None,
                                      check_same_thread=False)
            self.db.execute("PRAGMA journal_mode=WAL")
            # In WAL mode NORMAL is still corruption-safe; it only drops the fsync per
            # commit, which otherwise dominates writing a statistic per question.
            self.db.execute("PRAGMA synchronous=NORMAL")
            self.db.execute("PRAGMA foreign_keys=ON")
            self._migrate()
            self._check_writable()
        except (OSError, sqlite3.Error) as exc:
            raise StorageError(f"cannot open the database {self.path}: {exc}. Check that the "
                               "folder exists and is writable (BOT_DATA_DIR), and that no "
                               "other process holds a lock on it.") from exc

    def _migrate(self) -> None:
        version = self.db.execute("PRAGMA user_version").fetchone()[0]
        for number, statements in enumerate(MIGRATIONS[version:], start=version + 1):
            with self.transaction():
                for statement in statements:
                    self.db.execute(statement)
                # PRAGMA takes no parameters; the value is an int we control.
                self.db.execute(f"PRAGMA user_version = {int(number)}")
            logger.info("database migrated to schema version %d", number)

    def _check_writable(self) -> None:
        """Fail at start-up rather than at the first write when the file is read-only or
        another process holds the write lock longer than the busy timeout. (BEGIN IMMEDIATE
        alone succeeds on a read-only file; a rolled-back write of the header does not.)"""
        version = int(self.db.execute("PRAGMA user_version").fetchone()[0])
        self.db.execute("BEGIN IMMEDIATE")
        try:
            self.db.execute(f"PRAGMA user_version = {version}")
        finally:
            self.db.execute("ROLLBACK")

    def transaction(self) -> sqlite3.Connection:
        """``with storage.transaction():`` — BEGIN/COMMIT, ROLLBACK on error."""
        return _Transaction(self.db)  # type: ignore[return-value]

    def close(self) -> None:
        self.db.close()

    def _now(self) -> str:
        return self._clock().isoformat(timespec="seconds")

    # -- questions -----------------------------------------------------------
    def record_query(self, kind: str, entry_id: str | None,
                     normalised_question: str) -> int | None:
        """Count every question; keep the text of those the bot could not answer.

        Returns the unanswered row's id, so a "did you mean" the user then resolves
        can be taken back with resolve_unanswered.
        """
        now = self._now()
        with self.transaction():
            self.db.execute("INSERT INTO queries (kind, entry_id, created_at) VALUES (?, ?, ?)",
                            (kind, entry_id, now))
            if kind in ("fallback", "clarify") and normalised_question:
                cursor = self.db.execute(
                    "INSERT INTO unanswered (question, kind, created_at) VALUES (?, ?, ?)",
                    (normalised_question[:500], kind, now))
                return cursor.lastrowid
        return None

    def resolve_unanswered(self, row_id: int) -> None:
        self.db.execute("DELETE FROM unanswered WHERE rowid = ? AND kind = 'clarify'", (row_id,))

    def unanswered_questions(self) -> list[tuple[str, str, str]]:
        rows = self.db.execute("SELECT question, kind, created_at FROM unanswered "
                               "ORDER BY created_at")
        return [tuple(row) for row in rows]

    def purge_unanswered(self, older_than: datetime) -> int:
        cursor = self.db.execute("DELETE FROM unanswered WHERE created_at < ?",
                                 (older_than.isoformat(timespec="seconds"),))
        return cursor.rowcount

    def stats(self, top: int = 5) -> Stats:
        counts = dict(self.db.execute("SELECT kind, COUNT(*) FROM queries GROUP BY kind"))
        top_rows = self.db.execute(
            "SELECT entry_id, COUNT(*) AS n FROM queries WHERE kind = 'answer' "
            "GROUP BY entry_id ORDER BY n DESC, entry_id LIMIT ?", (top,)).fetchall()
        return Stats(
            answered=counts.get("answer", 0) + counts.get("smalltalk", 0),
            fallbacks=counts.get("fallback", 0),
            clarifications=counts.get("clarify", 0),
            safety=counts.get("safety", 0),
            top_entries=[(entry_id, n) for entry_id, n in top_rows],
        )

    # -- feedback ------------------------------------------------------------
    def record_feedback(self, chat_id: int, message_id: int, entry_id: str, vote: int) -> None:
        """One vote per answer message; tapping again changes the vote."""
        with self.transaction():
            self.db.execute(
                "INSERT INTO feedback (chat_id, message_id, entry_id, vote, created_at) "
                "VALUES (?, ?, ?, ?, ?) ON CONFLICT (chat_id, message_id) "
                "DO UPDATE SET vote = excluded.vote, created_at = excluded.created_at",
                (chat_id, message_id, entry_id, 1 if vote > 0 else -1, self._now()))

    def feedback_totals(self) -> dict[str, tuple[int, int]]:
        """entry id -> (thumbs up, thumbs down)."""
        rows = self.db.execute(
            "SELECT entry_id, SUM(vote = 1), SUM(vote = -1) FROM feedback GROUP BY entry_id")
        return {entry_id: (int(up), int(down)) for entry_id, up, down in rows}


class _Transaction:
    def __init__(self, db: sqlite3.Connection) -> None:
        self.db = db

    def __enter__(self) -> sqlite3.Connection:
        self.db.execute("BEGIN IMMEDIATE")
        return self.db

    def __exit__(self, exc_type: object, exc: object, tb: object) -> None:
        self.db.execute("ROLLBACK" if exc_type else "COMMIT")
