"""Plain-function tests of the Telegram presentation helpers, plus one long answer end to end."""

from __future__ import annotations

from pathlib import Path

from bot.knowledge import load_knowledge
from bot.telegram_ui import (
    CALLBACK_LIMIT,
    MESSAGE_LIMIT,
    answer_keyboard,
    decode_callback,
    encode_callback,
    escape,
    section_keyboard,
    split_message,
    topics_keyboard,
)
from tests.conftest import KNOWLEDGE_DIR
from tests.test_telegram_conversation import ask, sent

KB = load_knowledge(KNOWLEDGE_DIR)


def all_callback_data() -> list[str]:
    markups = [topics_keyboard(KB)]
    markups += [section_keyboard(KB, s.id) for s in KB.sections]
    markups += [answer_keyboard(e, [KB.entries[r] for r in e.related]) for e in
                KB.entries.values()]
    return [b.callback_data for m in markups for row in m.inline_keyboard for b in row]


def test_every_button_fits_telegrams_callback_limit_and_round_trips() -> None:
    data = all_callback_data()
    assert data
    for item in data:
        assert len(item.encode()) <= CALLBACK_LIMIT
        assert decode_callback(item) is not None


def test_forged_or_stale_callback_data_decodes_to_none() -> None:
    for item in (None, "", "a", "a:", "f:x:peptides", "f:+:", "zz:1", "t:extra", "s:a:b"):
        assert decode_callback(item) is None
    feedback = decode_callback(encode_callback("f", "peptides", "-"))
    assert (feedback.action, feedback.value, feedback.extra) == ("f", "peptides", "-")


def test_escape_neutralises_html() -> None:
    assert escape('<b>x</b> & "y"') == '&lt;b&gt;x&lt;/b&gt; &amp; "y"'


def test_short_text_is_one_piece() -> None:
    assert split_message("hello") == ["hello"]
    assert split_message("") == [""]


def test_long_text_splits_at_paragraphs_and_never_exceeds_the_limit() -> None:
    paragraph = "word " * 300
    text = "\n\n".join(paragraph.strip() for _ in range(10))
    pieces = split_message(text)
    assert len(pieces) > 1
    assert all(len(p) <= MESSAGE_LIMIT for p in pieces)
    assert all(p == paragraph.strip() or "\n\n" in p or p.endswith("word") for p in pieces)
    assert " ".join(" ".join(pieces).split()) == " ".join(text.split())


def test_a_single_huge_word_is_cut_but_never_inside_an_entity() -> None:
    text = escape("&" * 5000)  # 25,000 characters of "&amp;"
    pieces = split_message(text)
    assert all(len(p) <= MESSAGE_LIMIT for p in pieces)
    assert all(p.startswith("&amp;") and p.endswith("&amp;") for p in pieces)
    assert "".join(pieces) == text


def test_a_long_answer_reaches_the_user_in_valid_pieces(api, run_bot, knowledge_copy: Path) -> None:
    knowledge = knowledge_copy
    long_answer = " ".join(["Massage & oils <work> together."] * 120)  # ~3,800 characters
    assert len(long_answer) <= MESSAGE_LIMIT < len(escape(long_answer))
    with (knowledge / "entries-massage.yaml").open("a", encoding="utf-8") as file:
        file.write(f'''
  - id: long-answer-check
    question: "Is the zebra long answer working?"
    alternates: ["zebra long answer", "zebra long?", "long zebra answer",
                 "zebra long answer check", "is zebra long ok", "zebra long status"]
    answer: "{long_answer}"
    section: about
''')
    run_bot(knowledge_dir=knowledge)
    ask(api, "zebra long answer", chat_id=5150)
    api.wait_for(lambda: len(sent(api, 5150)) >= 2, timeout=10)
    pieces = sent(api, 5150)
    assert len(pieces) == 2 and all(len(p["text"]) <= MESSAGE_LIMIT for p in pieces)
    assert "reply_markup" not in pieces[0] and pieces[1]["reply_markup"]["inline_keyboard"]
    assert all(call.ok for call in api.calls_to("sendMessage"))
