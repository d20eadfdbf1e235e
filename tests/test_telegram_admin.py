"""End to end: admin commands, hot reload that never takes a bad edit live, flood control."""

from __future__ import annotations

import logging

from tests.conftest import ADMIN_ID, RELOAD_CHECK_ENTRY
from tests.test_telegram_conversation import ask, last_sent

CHAT = 2002


def slow_down(message: dict) -> bool:
    return "faster than i can read" in message["text"].lower()


def test_non_admin_gets_the_unknown_command_reply_and_is_logged(api, run_bot, caplog):
    run_bot()
    unknown = ask(api, "/nosuchcommand", chat_id=CHAT)["text"]
    with caplog.at_level(logging.WARNING):
        for command in ("/reload", "/stats"):
            assert ask(api, command, chat_id=CHAT, user_id=999)["text"] == unknown
    assert "Sorry, I don't know that command" in unknown
    assert sum("tried an admin command" in r.getMessage() for r in caplog.records) == 2


def test_invalid_reload_keeps_the_old_knowledge_live_then_a_good_one_goes_live(
        api, run_bot, knowledge_copy):
    knowledge = knowledge_copy
    run_bot(knowledge_dir=knowledge)
    massage = knowledge / "entries-massage.yaml"
    original = massage.read_text(encoding="utf-8")
    massage.write_text(original.replace("answer:", "anwser:", 1), encoding="utf-8")
    reply = ask(api, "/reload", chat_id=ADMIN_ID, user_id=ADMIN_ID)
    assert "Reload rejected" in reply["text"]
    assert "entries-massage.yaml:" in reply["text"] and "anwser" in reply["text"]
    assert "amino acids" in ask(api, "what do peptides do", chat_id=ADMIN_ID)["text"].lower()

    massage.write_text(original + RELOAD_CHECK_ENTRY, encoding="utf-8")
    reply = ask(api, "/reload", chat_id=ADMIN_ID, user_id=ADMIN_ID)
    assert "Reloaded:" in reply["text"]
    assert "Zebra stripes are live." in ask(api, "zebra stripe test", chat_id=ADMIN_ID)["text"]


def test_stats_for_admin(api, run_bot):
    run_bot()
    ask(api, "what do peptides do", chat_id=CHAT)
    ask(api, "what is hyaluronic acid", chat_id=CHAT)
    ask(api, "/remind 21:30", chat_id=CHAT)
    text = ask(api, "/stats", chat_id=ADMIN_ID, user_id=ADMIN_ID)["text"]
    assert "Questions: 2" in text and "Fallback: 1 (50%)" in text and "peptides" in text
    assert "Reminder subscribers: 1" in text


def test_a_flooding_user_is_throttled_while_others_are_served(api, run_bot):
    run_bot(user_rate_limit=3)
    flooder, other = 7001, 7002
    for _ in range(6):
        api.push_message(flooder, "what do peptides do")
    api.wait_for(lambda: any(slow_down(m) for m in api.sent_messages(flooder)), timeout=10)
    assert "amino acids" in ask(api, "what do peptides do", chat_id=other)["text"].lower()
    replies = api.sent_messages(flooder)
    assert sum("amino acids" in m["text"].lower() for m in replies) == 3
    assert sum(slow_down(m) for m in replies) == 1
    assert "amino acids" in last_sent(api, other)["text"].lower()
