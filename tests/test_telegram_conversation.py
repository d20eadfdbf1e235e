"""End to end: the real application, over real HTTP, against the local fake Bot API."""

from __future__ import annotations

from typing import Any

from bot.telegram_ui import decode_callback
from tests.bot_api_server import FakeBotApi

CHAT = 1001


def buttons(message: dict[str, Any]) -> list[dict[str, Any]]:
    markup = message.get("reply_markup") or {}
    return [b for row in markup.get("inline_keyboard", []) for b in row]


def button_data(message: dict[str, Any]) -> list[str]:
    return [b["callback_data"] for b in buttons(message)]


def sent(api: FakeBotApi, chat_id: int = CHAT) -> list[dict[str, Any]]:
    """Messages the bot sent to a chat: request parameters plus the message_id it got back."""
    return [{**call.params, "message_id": call.result["message_id"]}
            for call in api.calls_to("sendMessage")
            if call.ok and str(call.params.get("chat_id")) == str(chat_id)]


def last_sent(api: FakeBotApi, chat_id: int = CHAT) -> dict[str, Any]:
    return sent(api, chat_id)[-1]


def ask(api: FakeBotApi, text: str, chat_id: int = CHAT, **kwargs: Any) -> dict[str, Any]:
    before = len(api.sent_messages(chat_id))
    api.push_message(chat_id, text, **kwargs)
    api.wait_for(lambda: len(api.sent_messages(chat_id)) > before, timeout=10)
    return last_sent(api, chat_id)


def test_registers_commands_and_start_shows_disclaimer_and_topics(api, run_bot):
    run_bot()
    commands = [c["command"] for c in api.calls_to("setMyCommands")[-1].params["commands"]]
    assert {"start", "help", "topics"} <= set(commands)
    reply = ask(api, "/start")
    assert "not medical advice" in reply["text"]
    assert reply["parse_mode"] == "HTML"
    assert all(d.startswith("s:") for d in button_data(reply)) and button_data(reply)


def test_help_lists_commands(api, run_bot):
    run_bot()
    reply = ask(api, "/help")
    assert "/topics" in reply["text"]


def test_browse_topics_section_then_answer(api, run_bot):
    run_bot()
    menu = ask(api, "/topics")
    massage = next(b for b in buttons(menu) if b["text"] == "Facial massage")
    sent_before = len(api.sent_messages(CHAT))
    api.push_callback_query(CHAT, massage["callback_data"], message_id=menu["message_id"])
    api.wait_for(lambda: api.edits(CHAT), timeout=10)
    section = api.edits(CHAT)[-1]
    question_button = next(b for b in buttons(section) if b["callback_data"].startswith("a:"))
    api.push_callback_query(CHAT, question_button["callback_data"],
                            message_id=menu["message_id"])
    api.wait_for(lambda: len(api.sent_messages(CHAT)) > sent_before, timeout=10)
    answer = last_sent(api)
    assert question_button["text"].rstrip("…")[:20] in answer["text"]
    assert api.calls_to("answerCallbackQuery")


def test_question_gets_answer_with_related_and_feedback_buttons(api, run_bot):
    run_bot()
    reply = ask(api, "what do peptides even do")
    assert "amino acids" in reply["text"].lower()
    data = button_data(reply)
    related = [d for d in data if d.startswith("a:")]
    assert 1 <= len(related) <= 3
    assert "f:+:peptides" in data and "f:-:peptides" in data


def test_related_button_answers_that_question(api, run_bot):
    runner = run_bot()
    reply = ask(api, "what do peptides even do")
    related = next(d for d in button_data(reply) if d.startswith("a:"))
    entry = runner.services.kb.entries[decode_callback(related).value]
    before = len(api.sent_messages(CHAT))
    api.push_callback_query(CHAT, related, message_id=reply["message_id"])
    api.wait_for(lambda: len(api.sent_messages(CHAT)) > before, timeout=10)
    assert entry.answer.split()[0] in last_sent(api)["text"]


def test_feedback_is_acknowledged_and_stored(api, run_bot):
    runner = run_bot()
    reply = ask(api, "what do peptides even do")
    api.push_callback_query(CHAT, "f:-:peptides", message_id=reply["message_id"])
    api.wait_for(lambda: api.calls_to("answerCallbackQuery"), timeout=10)
    assert api.calls_to("answerCallbackQuery")[-1].params.get("text")
    api.wait_for(lambda: runner.services.storage.feedback_totals().get("peptides") == (0, 1))


def test_did_you_mean_offers_candidate_buttons(api, run_bot):
    runner = run_bot()
    matcher = runner.services.matcher
    vague = next(q for q in ("massage", "skin", "face stuff", "cream", "routine help",
                             "serum massage", "tools", "firm")
                 if matcher.match(q).kind == "clarify")
    reply = ask(api, vague)
    data = button_data(reply)
    assert data and all(d.startswith("a:") for d in data) and len(data) <= 3


def test_fallback_and_safety_refer_to_dermatologist(api, run_bot):
    run_bot()
    fallback = ask(api, "what is hyaluronic acid")
    assert "board-certified dermatologist" in fallback["text"]
    safety = ask(api, "I got a rash after retinol")
    assert "board-certified dermatologist" in safety["text"]
    assert "retinoid" not in safety["text"].lower()


def test_smalltalk_is_friendly_not_fallback(api, run_bot):
    run_bot()
    reply = ask(api, "hi")
    assert "can't answer" not in reply["text"]


def test_non_text_messages_get_polite_reply(api, run_bot):
    run_bot()
    for push in (api.push_photo, api.push_sticker, api.push_voice, api.push_document):
        before = len(api.sent_messages(CHAT))
        push(CHAT)
        api.wait_for(lambda b=before: len(api.sent_messages(CHAT)) > b, timeout=10)
        assert "only read text" in last_sent(api)["text"]


def test_edited_message_is_answered_again(api, run_bot):
    run_bot()
    first = ask(api, "what do peptdes do")
    api.push_edited_message(CHAT, "how often should i use my gua sha",
                            message_id=first["message_id"])
    api.wait_for(lambda: "daily" in last_sent(api)["text"].lower(), timeout=10)


def test_group_answers_only_when_addressed(api, run_bot):
    run_bot()
    group = -5005
    api.push_message(group, "what do peptides do", chat_type="group", chat_title="Skin club")
    mention = "@firming_faq_bot what do peptides do"
    reply = ask(api, mention, chat_id=group, chat_type="group", chat_title="Skin club",
                entities=[{"type": "mention", "offset": 0, "length": 16}])
    assert "amino acids" in reply["text"].lower()
    assert len(api.sent_messages(group)) == 1  # the unaddressed message got no reply
    follow = ask(api, "and how often should i use gua sha", chat_id=group, chat_type="group",
                 chat_title="Skin club", reply_to_message=reply["message_id"])
    assert "daily" in follow["text"].lower()
    command = ask(api, "/help@firming_faq_bot", chat_id=group, chat_type="group",
                  chat_title="Skin club")
    assert "/topics" in command["text"]


def test_inline_query_offers_answers(api, run_bot):
    run_bot()
    api.push_inline_query(77, "gua sha how often")
    api.wait_for(lambda: api.calls_to("answerInlineQuery"), timeout=10)
    results = api.calls_to("answerInlineQuery")[-1].params["results"]
    assert results and results[0]["input_message_content"]["parse_mode"] == "HTML"
    assert any("daily" in r["input_message_content"]["message_text"].lower() for r in results)


def test_hostile_html_is_escaped(api, run_bot):
    run_bot()
    hostile = '<b>hi</b> <script>alert(1)</script> & <a href="x">peptides</a> </i>'
    reply = ask(api, hostile)
    assert "<script>" not in reply["text"]
    inline_hostile = "<b>unclosed & peptides"
    api.push_inline_query(78, inline_hostile)
    api.wait_for(lambda: api.calls_to("answerInlineQuery"), timeout=10)
    # The fake server rejects malformed Telegram HTML with 400, as Telegram does.
    assert all(call.ok for call in api.calls_to("sendMessage"))
    assert all(call.ok for call in api.calls_to("answerInlineQuery"))


def test_handler_error_apologises_and_bot_keeps_running(api, run_bot, monkeypatch):
    runner = run_bot()

    def explode(text: str) -> None:
        raise RuntimeError("boom")

    monkeypatch.setattr(runner.services.knowledge.matcher, "match", explode)
    reply = ask(api, "what do peptides do")
    assert "something went wrong" in reply["text"].lower()
    monkeypatch.undo()
    assert "amino acids" in ask(api, "what do peptides do")["text"].lower()


def test_unknown_button_is_answered_not_left_spinning(api, run_bot):
    run_bot()
    reply = ask(api, "what do peptides even do")
    api.push_callback_query(CHAT, "zz:nothing", message_id=reply["message_id"])
    api.wait_for(lambda: api.calls_to("answerCallbackQuery"), timeout=10)
    assert "expired" in api.calls_to("answerCallbackQuery")[-1].params["text"]
