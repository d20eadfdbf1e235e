"""Helpers shared by the reliability, security and property tests (not a test module)."""

from __future__ import annotations

import logging
import sqlite3
import time
from collections.abc import Iterator
from contextlib import closing, contextmanager
from typing import Any

from bot.settings import Settings
from tests.bot_api_server import FakeBotApi


def query_db(settings: Settings, sql: str, params: tuple[Any, ...] = ()) -> list[tuple]:
    """Read the bot's database through a separate connection (WAL: readers never block)."""
    uri = f"file:{settings.database_path}?mode=ro"
    with closing(sqlite3.connect(uri, uri=True, timeout=5.0)) as db:
        return db.execute(sql, params).fetchall()


def handled_questions(settings: Settings) -> int:
    """How many times the question handler ran: it records one ``queries`` row per run."""
    return query_db(settings, "SELECT COUNT(*) FROM queries")[0][0]


def delivered_update_ids(api: FakeBotApi) -> list[int]:
    """Every update id the bot received through getUpdates, in order, repeats included."""
    return [update["update_id"] for call in api.calls_to("getUpdates")
            if call.ok and isinstance(call.result, list) for update in call.result]


def sends_to(api: FakeBotApi, chat_id: int) -> list[Any]:
    """Every sendMessage call to a chat, failed ones included."""
    return [call for call in api.calls_to("sendMessage")
            if str(call.params.get("chat_id")) == str(chat_id)]


def settle(api: FakeBotApi, quiet: float = 0.3, timeout: float = 10.0) -> None:
    """Wait until the bot made no new call except polling for ``quiet`` seconds."""
    deadline = time.monotonic() + timeout
    last = -1
    quiet_since = time.monotonic()
    while time.monotonic() < deadline:
        with api._lock:
            count = sum(1 for call in api.calls if call.method != "getUpdates")
        if count != last:
            last, quiet_since = count, time.monotonic()
        elif time.monotonic() - quiet_since >= quiet:
            return
        time.sleep(0.02)
    raise AssertionError(f"the bot did not go quiet within {timeout} s")


class ListHandler(logging.Handler):
    """Keeps every record, formatted with the given formatter (tracebacks included)."""

    def __init__(self, formatter: logging.Formatter | None = None) -> None:
        super().__init__(logging.DEBUG)
        self.records: list[logging.LogRecord] = []
        self.lines: list[str] = []
        self.setFormatter(formatter or logging.Formatter("%(levelname)s %(name)s: %(message)s"))

    def emit(self, record: logging.LogRecord) -> None:
        self.records.append(record)
        self.lines.append(self.format(record))

    @property
    def text(self) -> str:
        return "\n".join(self.lines)


@contextmanager
def capture_logs(formatter: logging.Formatter | None = None, *,
                 levels: dict[str, int] | None = None) -> Iterator[ListHandler]:
    """Attach a ListHandler to the root logger at DEBUG; restore every level afterwards."""
    handler = ListHandler(formatter)
    root = logging.getLogger()
    saved = {name: logging.getLogger(name).level for name in (levels or {})}
    saved_root = root.level
    root.addHandler(handler)
    root.setLevel(logging.DEBUG)
    for name, level in (levels or {}).items():
        logging.getLogger(name).setLevel(level)
    try:
        yield handler
    finally:
        root.removeHandler(handler)
        root.setLevel(saved_root)
        for name, level in saved.items():
            logging.getLogger(name).setLevel(level)


def wait_until(predicate: Any, timeout: float, message: str) -> Any:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(0.02)
    raise AssertionError(message)

