"""The database failing while the bot runs: answers keep coming, writes degrade to a warning.

Start-up failures (read-only file, lock held by another process, folder that cannot be
created) are in tests/test_reliability_process.py: there the bot refuses to start.
"""

from __future__ import annotations

import logging
import sqlite3
import time
from contextlib import closing

from tests.reliability_support import handled_questions, settle
from tests.test_telegram_conversation import ask, button_data

CHAT = 6006
APOLOGY = "something went wrong"


def make_read_only(runner) -> None:
    """What a database that became read-only does: every write fails at once with
    "attempt to write a readonly database" (the same sqlite3.OperationalError)."""
    runner.services.storage.db.execute("PRAGMA query_only = ON")


def warnings_from_handlers(caplog) -> list[str]:
    return [r.getMessage() for r in caplog.records
            if r.name == "bot.handlers" and r.levelno == logging.WARNING]


def test_read_only_database_questions_feedback_and_choices_still_work(api, run_bot, caplog):
    runner = run_bot()
    vague = next(q for q in ("massage", "skin", "face stuff", "cream", "routine help", "firm")
                 if runner.services.matcher.match(q).kind == "clarify")
    make_read_only(runner)
    with caplog.at_level(logging.WARNING, logger="bot.handlers"):
        answer = ask(api, "what do peptides even do", chat_id=CHAT)
        assert "amino acids" in answer["text"].lower()

        api.push_callback_query(CHAT, "f:+:peptides", message_id=answer["message_id"])
        api.wait_for(lambda: api.calls_to("answerCallbackQuery"), timeout=10)
        assert api.calls_to("answerCallbackQuery")[-1].params.get("text") == (
            runner.services.kb.messages["feedback_thanks"])

        choices = ask(api, vague, chat_id=CHAT)
        choice = next(d for d in button_data(choices) if d.startswith("a:"))
        before = len(api.sent_messages(CHAT))
        api.push_callback_query(CHAT, choice, message_id=choices["message_id"])
        api.wait_for(lambda: len(api.sent_messages(CHAT)) > before, timeout=10)
        settle(api)
    texts = [m["text"].lower() for m in api.sent_messages(CHAT)]
    assert not any(APOLOGY in t for t in texts), "a failed statistics write reached the user"
    warned = warnings_from_handlers(caplog)
    assert any("could not record a question" in w and "readonly" in w for w in warned)
    assert any("could not record feedback" in w for w in warned)
    assert not [r for r in caplog.records if r.levelno >= logging.ERROR]


def test_locked_database_answers_after_the_busy_timeout(api, run_bot, caplog):
    """Another process holds the write lock: the write waits SQLite's busy timeout (5 s),
    then gives up with a warning; the user still gets the answer."""
    runner = run_bot()
    with closing(sqlite3.connect(runner.settings.database_path, isolation_level=None)) as other:
        other.execute("BEGIN IMMEDIATE")
        started = time.monotonic()
        with caplog.at_level(logging.WARNING, logger="bot.handlers"):
            reply = ask(api, "what do peptides even do", chat_id=CHAT)
        waited = time.monotonic() - started
        other.execute("ROLLBACK")
    assert "amino acids" in reply["text"].lower()
    assert waited < 9
    assert any("database is locked" in w for w in warnings_from_handlers(caplog))
    # The lock is gone: statistics are recorded again.
    ask(api, "how often should i use my gua sha", chat_id=CHAT)
    settle(api)
    assert handled_questions(runner.settings) == 1
