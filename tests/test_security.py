"""Security: the token never leaks, admin refusals reveal nothing, stored data is minimal."""

from __future__ import annotations

import logging
import re
import sqlite3
import sys
from contextlib import closing
from typing import Any

import pytest

from bot.cli import RedactingFormatter, log_secrets
from bot.telegram_app import COMMANDS
from tests.conftest import PROJECT
from tests.reliability_support import capture_logs, query_db, settle, wait_until
from tests.test_telegram_conversation import ask

CHAT = 7007
EVERYTHING_AT_DEBUG = {name: logging.DEBUG for name in
                       ("httpx", "httpcore", "telegram", "apscheduler", "bot", "asyncio")}


def production_formatter(settings) -> RedactingFormatter:
    """The formatter run_bot.py installs, with the secrets it is given (bot.cli)."""
    return RedactingFormatter("%(asctime)s %(levelname)s %(name)s: %(message)s",
                              log_secrets(settings))


def test_token_never_appears_in_any_log_line_or_reply_even_at_debug(api, run_bot, bot_settings,
                                                                    monkeypatch):
    """Everything at DEBUG (httpx prints every request URL, which holds the token), with
    5xx answers, a 429, a crashing handler whose message holds the token, and a 409."""
    secret_part = api.token.partition(":")[2]
    with capture_logs(production_formatter(bot_settings), levels=EVERYTHING_AT_DEBUG) as logs:
        runner = run_bot()
        api.fail("sendMessage", 500, "Internal Server Error", times=2)
        assert "amino acids" in ask(api, "what do peptides even do", chat_id=CHAT)["text"].lower()
        api.fail("sendMessage", 429, "Too Many Requests: retry after 1", times=1)
        ask(api, "how often should i use my gua sha", chat_id=CHAT)

        def leaky(text: str) -> None:
            raise RuntimeError(f"cannot reach https://api.telegram.org/bot{api.token}/getMe")

        monkeypatch.setattr(runner.services.knowledge.matcher, "match", leaky)
        apology = ask(api, "what do peptides do", chat_id=CHAT)
        monkeypatch.undo()
        api.fail("getUpdates", 500, "Internal Server Error", times=1)
        api.conflict_on_get_updates()
        wait_until(lambda: not runner._thread.is_alive(), 10, "the bot did not stop on 409")
    output = logs.text
    assert "something went wrong" in apology["text"].lower()
    # The run really produced token-bearing lines (request URLs, the leaky traceback)...
    assert "HTTP Request: POST" in output and "[REDACTED]" in output
    assert "RuntimeError: cannot reach https://api.telegram.org/bot[REDACTED]/getMe" in output
    assert "409" in output or "Conflict" in output
    # ... and none of them shows the token or its secret part.
    assert api.token not in output and secret_part not in output
    for message in api.sent_messages():
        assert api.token not in message["text"] and secret_part not in message["text"]


def test_redaction_covers_the_url_encoded_token_and_tracebacks():
    token = "123456:AAE3k-secret_part"
    formatter = RedactingFormatter("%(message)s", [token, token.partition(":")[2]])
    try:
        raise ValueError(f"bad url http://x/bot{token.replace(':', '%3A')}/getFile")
    except ValueError:
        record = logging.LogRecord("t", logging.ERROR, __file__, 1, "failed %s", (token,),
                                   exc_info=sys.exc_info())
    text = formatter.format(record)
    assert "secret_part" not in text and token not in text
    assert text.count("[REDACTED]") == 2


# -- admin refusal -------------------------------------------------------------------------

def reaction_to(api, text: str, chat_id: int, **push: Any) -> list[tuple[str, dict[str, Any]]]:
    """Every Bot API call the bot made because of one message, minus polling and ids."""
    settle(api, quiet=0.1)
    with api._lock:
        before = len(api.calls)
    api.push_message(chat_id, text, **push)
    api.wait_for(lambda: api.sent_messages(chat_id) and len(api.calls) > before, timeout=10)
    settle(api, quiet=0.15)
    with api._lock:
        calls = [c for c in api.calls[before:] if c.method != "getUpdates"]
    return [(c.method, {k: v for k, v in c.params.items()
                        if k not in ("chat_id", "reply_parameters", "reply_to_message_id")})
            for c in calls]


def test_admin_commands_refused_exactly_like_an_unknown_command(api, run_bot):
    run_bot()
    stranger = 7101
    unknown = reaction_to(api, "/nosuchcommand", stranger)
    assert [method for method, _ in unknown] == ["sendMessage"]
    for command in ("/stats", "/reload", "/stats all", "/reload now please"):
        assert reaction_to(api, command, stranger) == unknown, command
    group = -7102
    in_group = reaction_to(api, "/nosuchcommand@firming_faq_bot", group, chat_type="group",
                           user_id=stranger)
    for command in ("/stats@firming_faq_bot", "/reload@firming_faq_bot"):
        assert reaction_to(api, command, group, chat_type="group", user_id=stranger) == in_group


def test_admin_commands_are_not_advertised(api, run_bot):
    run_bot()
    advertised = {command.command for command in COMMANDS}
    assert not advertised & {"stats", "reload"}
    help_text = ask(api, "/help", chat_id=CHAT)["text"]
    assert "/stats" not in help_text and "/reload" not in help_text


# -- stored data -----------------------------------------------------------------------------

IDENTIFYING = re.compile(r"chat|user|from|name|phone|message_id|sender", re.IGNORECASE)


def columns(settings, table: str) -> list[str]:
    return [row[1] for row in query_db(settings, f"PRAGMA table_info({table})")]


def test_unanswered_and_statistics_tables_have_no_identifying_columns(api, run_bot):
    runner = run_bot()
    assert columns(runner.settings, "unanswered") == ["question", "kind", "created_at"]
    assert columns(runner.settings, "queries") == ["kind", "entry_id", "created_at"]
    for table in ("unanswered", "queries"):
        assert not [c for c in columns(runner.settings, table) if IDENTIFYING.search(c)]


def test_an_unanswered_question_is_stored_without_who_asked(api, run_bot):
    runner = run_bot()
    user_id, username, first_name = 918273645, "zelda_private_handle", "Zeldaprivatename"
    api.push_message(user_id, "What is hyaluronic acid, asks Zelda?", username=username,
                     first_name=first_name)
    api.wait_for(lambda: api.sent_messages(user_id), timeout=10)
    settle(api)
    rows = query_db(runner.settings, "SELECT * FROM unanswered")
    assert len(rows) == 1 and "hyaluronic" in rows[0][0]
    dumps = {"unanswered": "SELECT * FROM unanswered", "queries": "SELECT * FROM queries"}
    for table, sql in dumps.items():
        for row in query_db(runner.settings, sql):
            cells = " ".join(str(cell) for cell in row).lower()
            for secret in (str(user_id), username, first_name.lower()):
                assert secret not in cells, f"{table} stores {secret!r}"


def documented_tables() -> set[str]:
    readme = (PROJECT / "README.md").read_text(encoding="utf-8")
    match = re.search(r"### What is stored\n(.*?)(?=\n##)", readme + "\n##", re.DOTALL)
    assert match, 'README.md has no "### What is stored" section'
    return set(re.findall(r"^\| `(\w+)` \|", match.group(1), re.MULTILINE))


def test_every_table_is_documented_in_the_readme(tmp_path):
    from bot.storage import Storage

    storage = Storage(tmp_path / "bot.sqlite3")
    storage.close()
    with closing(sqlite3.connect(tmp_path / "bot.sqlite3")) as db:
        tables = {row[0] for row in db.execute(
            "SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%'")}
    missing = tables - documented_tables()
    assert not missing, f"tables not described in README 'What is stored': {sorted(missing)}"


@pytest.mark.parametrize("days", [1, 90])
def test_unanswered_questions_expire_after_the_retention_period(tmp_path, days):
    from datetime import timedelta

    from bot.storage import Storage, utc_now

    now = utc_now()
    clock_value = [now - timedelta(days=days, hours=1)]
    storage = Storage(tmp_path / "bot.sqlite3", clock=lambda: clock_value[0])
    storage.record_query("fallback", None, "old question")
    clock_value[0] = now
    storage.record_query("fallback", None, "new question")
    assert storage.purge_unanswered(now - timedelta(days=days)) == 1
    assert [q for q, _, _ in storage.unanswered_questions()] == ["new question"]
    storage.close()
