"""SIGTERM during a burst of due reminders, then a restart: every reminder arrives once.

The real run_bot.py process starts with many subscriptions whose daily time passed five
minutes ago and that were not sent yet today, so start-up catches them all up at once
(the missed-reminder rule of bot.reminders) -- a burst, paced by the rate limiter. SIGTERM
lands in the middle of it. Jobs already running finish before the process exits (PTB's
Application.stop waits for them; in practice the whole burst is in flight, so the first
process delivers all of it), jobs not started would be caught up by the restarted
process, and the claim-before-send in the store means the restart sends none twice.
"""

from __future__ import annotations

import signal
import sqlite3
import time
from collections import Counter
from contextlib import closing
from datetime import UTC, datetime, timedelta

from bot.reminder_store import ReminderStore
from bot.storage import Storage
from tests.test_reliability_process import bot_env, finish, spawn

REMINDER_MARK = "Time for your skincare routine"
CHATS = list(range(8_000_001, 8_000_121))


def reminder_counts(api) -> Counter[int]:
    return Counter(int(m["chat_id"]) for m in api.sent_messages() if REMINDER_MARK in m["text"])


def test_sigterm_during_a_reminder_burst_then_restart_delivers_each_exactly_once(api, tmp_path):
    data = tmp_path / "data"
    storage = Storage(data / "bot.sqlite3")
    due = (datetime.now(UTC) - timedelta(minutes=5)).time().replace(second=0, microsecond=0)
    store = ReminderStore(storage)
    for chat in CHATS:
        store.subscribe(chat, due)
    storage.close()
    api.delay("sendMessage", 0.02, times=None)  # each send takes a moment: a real burst

    process = spawn(bot_env(api, data, BOT_LOG_LEVEL="INFO"))
    try:
        api.wait_for(lambda: len(reminder_counts(api)) >= 10, timeout=20)
        process.send_signal(signal.SIGTERM)
        sent_at_sigterm = len(reminder_counts(api))
        first_output = finish(process, timeout=30)
    finally:
        if process.poll() is None:
            process.kill()
    assert process.returncode == 0, first_output
    assert sent_at_sigterm < len(CHATS), "the burst was over before SIGTERM: test is moot"

    process = spawn(bot_env(api, data, BOT_LOG_LEVEL="INFO"))
    try:
        api.wait_for(lambda: len(reminder_counts(api)) == len(CHATS), timeout=30)
        time.sleep(1.0)  # a duplicate would arrive now
        process.send_signal(signal.SIGTERM)
        second_output = finish(process, timeout=30)
    finally:
        if process.poll() is None:
            process.kill()
    counts = reminder_counts(api)
    assert set(counts) == set(CHATS)
    assert [chat for chat, n in counts.items() if n != 1] == [], "reminders sent twice"
    assert "ERROR" not in first_output + second_output
    with closing(sqlite3.connect(data / "bot.sqlite3")) as db:
        unsent = db.execute("SELECT COUNT(*) FROM reminder_chats WHERE last_sent_date IS NULL"
                            ).fetchone()[0]
    assert unsent == 0
