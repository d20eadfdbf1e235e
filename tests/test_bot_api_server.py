"""Tests for the fake Bot API server, driven through python-telegram-bot itself.

Why PTB and not raw HTTP: the server is only useful if PTB's real request encoding, error
mapping and polling loop work against it, so that is what these tests pin down.
"""

from __future__ import annotations

import asyncio
import datetime as dtm
import json
import threading
import time
from collections.abc import AsyncIterator, Iterator
from typing import Any

import httpx
import pytest
from telegram import (
    Bot,
    BotCommand,
    InlineKeyboardButton,
    InlineKeyboardMarkup,
    Update,
)
from telegram.constants import ParseMode
from telegram.error import BadRequest, Conflict, Forbidden, InvalidToken, RetryAfter, TimedOut
from telegram.ext import (
    Application,
    ApplicationBuilder,
    CallbackQueryHandler,
    CommandHandler,
    ContextTypes,
)

from tests.bot_api_server import (
    CONFLICT_OTHER_GET_UPDATES,
    EntityParseError,
    FakeBotApi,
    UploadedFile,
    parse_telegram_html,
)

CHAT = 4242
# RetryAfter.retry_after warns about its future type change whenever it is read.
ignore_retry_after_deprecation = pytest.mark.filterwarnings(
    "ignore:Deprecated since version v22.2:telegram.warnings.PTBDeprecationWarning"
)


@pytest.fixture
def server() -> Iterator[FakeBotApi]:
    with FakeBotApi() as fake:
        yield fake


@pytest.fixture
async def bot(server: FakeBotApi) -> AsyncIterator[Bot]:
    async with Bot(server.token, base_url=server.base_url) as ptb_bot:
        yield ptb_bot


def seconds(value: int | dtm.timedelta) -> float:
    """RetryAfter.retry_after is an int or a timedelta depending on PTB_TIMEDELTA."""
    return value.total_seconds() if isinstance(value, dtm.timedelta) else float(value)


# ---- basics --------------------------------------------------------------------------------


async def test_get_me_and_url_shape(server: FakeBotApi, bot: Bot) -> None:
    me = await bot.get_me()
    assert me.is_bot is True
    assert me.username == "firming_faq_bot"
    assert me.id == 123456
    assert me.can_read_all_group_messages is False
    assert me.supports_inline_queries is True
    assert server.base_url.startswith("http://127.0.0.1:")
    assert server.base_url.endswith("/bot")
    assert server.calls_to("getMe")[-1].ok


async def test_tokens_methods_and_encodings_over_raw_http(server: FakeBotApi) -> None:
    async with httpx.AsyncClient() as client:
        wrong = await client.post(f"{server.base_url}999:WRONG/getMe")
        assert wrong.status_code == 401
        assert wrong.json() == {"ok": False, "error_code": 401, "description": "Unauthorized"}

        unknown = await client.post(f"{server.base_url}{server.token}/fooBar")
        assert unknown.status_code == 404
        assert unknown.json()["description"] == "Not Found: method not found"

        shouting = await client.get(f"{server.base_url}{server.token}/GETME")
        assert shouting.json()["result"]["username"] == "firming_faq_bot"
        assert shouting.headers["content-length"] == str(len(shouting.content))

        as_json = await client.post(
            f"{server.base_url}{server.token}/sendMessage",
            json={"chat_id": "77", "text": 123, "reply_markup": {"inline_keyboard": []}},
        )
        assert as_json.json()["result"]["text"] == "123"

        as_form = await client.post(
            f"{server.base_url}{server.token}/sendMessage",
            data={"chat_id": "77", "text": "true", "disable_notification": "true"},
        )
        assert as_form.json()["result"]["message_id"] == 2

    sent = server.sent_messages(77)
    assert sent[0]["chat_id"] == 77 and sent[0]["text"] == "123"
    assert sent[1]["text"] == "true" and sent[1]["disable_notification"] is True


async def test_unknown_token_surfaces_as_invalid_token(server: FakeBotApi) -> None:
    with pytest.raises(InvalidToken):
        async with Bot("999:WRONG", base_url=server.base_url):
            pass


async def test_unimplemented_real_method_is_recorded_and_true(server: FakeBotApi, bot: Bot) -> None:
    assert await bot.pin_chat_message(CHAT, 1) is True
    call = server.calls_to("pinChatMessage")[-1]
    assert call.params == {"chat_id": CHAT, "message_id": 1}


# ---- messages, keyboards, edits, callbacks ---------------------------------------------------


async def test_send_html_keyboard_edit_and_callback_round_trip(
    server: FakeBotApi, bot: Bot
) -> None:
    server.push_message(CHAT, "hi")
    keyboard = InlineKeyboardMarkup([[InlineKeyboardButton("Why?", callback_data="faq:why")]])
    sent = await bot.send_message(
        CHAT, "<b>Sagging</b> skin &amp; massage", parse_mode=ParseMode.HTML, reply_markup=keyboard
    )
    assert sent.message_id == 2  # ids are per chat and shared with the user's message
    assert sent.text == "Sagging skin & massage"
    assert sent.text_html == "<b>Sagging</b> skin &amp; massage"
    assert sent.reply_markup == keyboard
    assert sent.from_user is not None and sent.from_user.id == server.bot_id
    assert isinstance(sent.date, dtm.datetime)

    params = server.sent_messages(CHAT)[-1]
    assert params["text"] == "<b>Sagging</b> skin &amp; massage"  # exactly what the bot sent
    assert params["reply_markup"]["inline_keyboard"][0][0]["callback_data"] == "faq:why"

    update = server.push_callback_query(CHAT, "faq:why", message_id=sent.message_id)
    query_message = update["callback_query"]["message"]
    assert query_message["from"]["id"] == server.bot_id
    assert query_message["reply_markup"] == keyboard.to_dict()
    _hi, incoming = await bot.get_updates(timeout=0)
    assert incoming.callback_query is not None and incoming.callback_query.data == "faq:why"
    assert await incoming.callback_query.answer("ok") is True
    with pytest.raises(BadRequest, match=r"(?i)query is too old"):
        await incoming.callback_query.answer("twice")

    edited = await bot.edit_message_text("<i>Answer</i>", CHAT, sent.message_id, parse_mode="HTML")
    assert isinstance(edited, type(sent))
    assert edited.text == "Answer" and edited.reply_markup is None  # no markup: keyboard dropped
    with pytest.raises(BadRequest, match=r"(?i)message is not modified"):
        await bot.edit_message_text("<i>Answer</i>", CHAT, sent.message_id, parse_mode="HTML")
    assert server.edits(CHAT)[-1]["text"] == "<i>Answer</i>"
    current = server.message(CHAT, sent.message_id)
    assert current is not None and current["text"] == "Answer" and "edit_date" in current

    assert await bot.delete_message(CHAT, sent.message_id) is True
    with pytest.raises(BadRequest, match=r"(?i)message to delete not found"):
        await bot.delete_message(CHAT, sent.message_id)


async def test_reply_parameters_and_chat_action(server: FakeBotApi, bot: Bot) -> None:
    user_message = server.push_message(CHAT, "question")["message"]
    reply = await bot.send_message(CHAT, "answer", reply_to_message_id=user_message["message_id"])
    assert reply.reply_to_message is not None
    assert reply.reply_to_message.text == "question"
    with pytest.raises(BadRequest, match=r"(?i)message to be replied not found"):
        await bot.send_message(CHAT, "answer", reply_to_message_id=999)
    assert await bot.send_chat_action(CHAT, "typing") is True


async def test_set_my_commands_round_trip(server: FakeBotApi, bot: Bot) -> None:
    commands = [BotCommand("start", "Start"), BotCommand("help", "How to use the bot")]
    assert await bot.set_my_commands(commands) is True
    assert await bot.get_my_commands() == tuple(commands)
    assert server.commands() == [c.to_dict() for c in commands]
    with pytest.raises(BadRequest, match=r"(?i)BOT_COMMAND_INVALID"):
        await bot.set_my_commands([BotCommand("Start", "uppercase is not allowed")])
    assert await bot.delete_my_commands() is True
    assert await bot.get_my_commands() == ()


async def test_upload_is_multipart_and_file_can_be_downloaded(server: FakeBotApi) -> None:
    payload = bytes(range(256)) * 4 + b"\r\n--not-a-boundary\r\n"
    async with Bot(
        server.token, base_url=server.base_url, base_file_url=server.file_base_url
    ) as ptb_bot:
        message = await ptb_bot.send_document(CHAT, payload, filename="notes.bin", caption="x")
        assert message.document is not None and message.document.file_name == "notes.bin"
        upload = server.calls_to("sendDocument")[-1].params["document"]
        assert isinstance(upload, UploadedFile) and upload.data == payload
        file = await ptb_bot.get_file(message.document.file_id)
        assert bytes(await file.download_as_bytearray()) == payload


async def test_pushed_media_parse_in_ptb(server: FakeBotApi, bot: Bot) -> None:
    server.push_photo(CHAT, caption="my skin")
    server.push_sticker(CHAT)
    server.push_voice(CHAT)
    server.push_document(CHAT)
    updates = await bot.get_updates(timeout=0)
    photo, sticker, voice, document = (u.message for u in updates)
    assert photo is not None and photo.photo[-1].width == 1280 and photo.caption == "my skin"
    assert sticker is not None and sticker.sticker is not None
    assert voice is not None and voice.voice is not None and voice.voice.mime_type == "audio/ogg"
    assert document is not None and document.document is not None


# ---- validation that makes bugs visible -----------------------------------------------------


@pytest.mark.parametrize(
    ("text", "error"),
    [
        ("a < b", 'Unsupported start tag "" at byte offset 2'),
        ("<b>bold", 'Can\'t find end tag corresponding to start tag "b"'),
        ("<i>a</em>", 'Unmatched end tag at byte offset 4, expected "</i>", found "</em>"'),
        ("<br>", 'Unsupported start tag "br" at byte offset 0'),
        ("Q&A", 'Character "&" at byte offset 1'),
        ("<span>x</span>", 'Tag "span" must have class "tg-spoiler"'),
    ],
)
async def test_bad_html_is_rejected(bot: Bot, text: str, error: str) -> None:
    with pytest.raises(BadRequest, match=r"(?i)can't parse entities") as caught:
        await bot.send_message(CHAT, text, parse_mode=ParseMode.HTML)
    assert error.lower() in caught.value.message.lower()


async def test_message_length_and_callback_data_limits(bot: Bot) -> None:
    with pytest.raises(BadRequest, match=r"(?i)message is too long"):
        await bot.send_message(CHAT, "x" * 4097)
    # 4096 characters *after* entity parsing are fine even though the markup is longer.
    await bot.send_message(CHAT, "<b>" + "x" * 4096 + "</b>", parse_mode="HTML")
    with pytest.raises(BadRequest, match=r"(?i)message text is empty"):
        await bot.send_message(CHAT, "<b> </b>", parse_mode="HTML")
    too_long = InlineKeyboardMarkup([[InlineKeyboardButton("b", callback_data="я" * 33)]])
    with pytest.raises(BadRequest, match=r"(?i)BUTTON_DATA_INVALID"):
        await bot.send_message(CHAT, "keyboard", reply_markup=too_long)


def test_html_parser_matches_tdlib() -> None:
    assert parse_telegram_html("🏟 <b>x</b> &lt;&#33;&gt;") == (
        "🏟 x <!>",
        [{"offset": 3, "length": 1, "type": "bold"}],
    )
    text, entities = parse_telegram_html(
        '<a href="https://t.me/x?a=1&amp;b=2">l</a><pre><code class="language-py">c</code></pre>'
        '<blockquote expandable>q</blockquote><span class="tg-spoiler">s</span>'
    )
    assert text == "lcqs"
    assert entities == [
        {"offset": 0, "length": 1, "type": "text_link", "url": "https://t.me/x?a=1&b=2"},
        {"offset": 1, "length": 1, "type": "pre", "language": "py"},
        {"offset": 2, "length": 1, "type": "expandable_blockquote"},
        {"offset": 3, "length": 1, "type": "spoiler"},
    ]
    assert parse_telegram_html("Tom & Jerry", strict_ampersand=False) == ("Tom & Jerry", [])
    with pytest.raises(EntityParseError, match=r"(?i)Unclosed start tag at byte offset 13"):
        parse_telegram_html("🏟 🏟&lt;<abacaba", strict_ampersand=False)


# ---- long polling ---------------------------------------------------------------------------


async def test_long_poll_returns_promptly_when_update_arrives(server: FakeBotApi, bot: Bot) -> None:
    pusher = threading.Timer(0.3, server.push_message, args=(CHAT, "/start"))
    started = time.monotonic()
    pusher.start()
    updates = await bot.get_updates(timeout=2)
    elapsed = time.monotonic() - started
    pusher.join()
    assert 0.25 < elapsed < 1.5
    [update] = updates
    assert update.message is not None and update.message.text == "/start"
    assert update.message.entities[0].type == "bot_command"

    started = time.monotonic()
    assert await bot.get_updates(offset=update.update_id + 1, timeout=0.3) == ()
    assert time.monotonic() - started >= 0.25


async def test_offset_confirms_updates(server: FakeBotApi, bot: Bot) -> None:
    ids = [server.push_message(CHAT, f"m{i}")["update_id"] for i in range(3)]
    assert [u.update_id for u in await bot.get_updates(timeout=0)] == ids
    assert [u.update_id for u in await bot.get_updates(timeout=0)] == ids  # not yet confirmed
    assert [u.update_id for u in await bot.get_updates(offset=ids[1], timeout=0)] == ids[1:]
    assert [u.update_id for u in await bot.get_updates(limit=1, timeout=0)] == ids[1:2]
    assert await bot.get_updates(offset=ids[-1] + 1, timeout=0) == ()
    assert server.pending_updates == 0


async def test_second_instance_terminates_the_first_ones_long_poll(
    server: FakeBotApi, bot: Bot
) -> None:
    older = asyncio.create_task(bot.get_updates(timeout=3))
    await server.async_wait_for(lambda: server.long_polls_waiting == 1)
    async with Bot(server.token, base_url=server.base_url) as second_instance:
        assert await second_instance.get_updates(timeout=0) == ()
    with pytest.raises(Conflict, match=r"(?i)terminated by other getUpdates request"):
        await older


async def test_group_privacy_withholds_plain_group_messages(server: FakeBotApi, bot: Bot) -> None:
    group = -1001234
    server.push_message(group, "just chatting", chat_type="supergroup")
    server.push_message(group, "/help@other_bot", chat_type="supergroup")
    server.push_message(group, "/help@firming_faq_bot", chat_type="supergroup")
    server.push_message(group, "hey @firming_faq_bot", chat_type="supergroup")
    texts = [u.message.text for u in await bot.get_updates(timeout=0) if u.message]
    assert texts == ["/help@firming_faq_bot", "hey @firming_faq_bot"]
    assert len(server.withheld_updates) == 2
    [update] = [u for u in await bot.get_updates(timeout=0) if u.message][:1]
    assert update.message is not None and update.message.chat.title


async def test_webhook_blocks_get_updates(bot: Bot) -> None:
    assert await bot.set_webhook("https://example.com/hook") is True
    info = await bot.get_webhook_info()
    assert info.url == "https://example.com/hook"
    with pytest.raises(Conflict, match=r"(?i)webhook is active"):
        await bot.get_updates(timeout=0)
    assert await bot.delete_webhook() is True
    assert await bot.get_updates(timeout=0) == ()


# ---- fault injection and rate limits --------------------------------------------------------


@ignore_retry_after_deprecation
async def test_injected_errors_map_to_ptb_exceptions(server: FakeBotApi, bot: Bot) -> None:
    server.fail("sendMessage", 429, "Too Many Requests: retry after 7", retry_after=7)
    with pytest.raises(RetryAfter) as caught:
        await bot.send_message(CHAT, "flood")
    assert seconds(caught.value.retry_after) == 7
    await bot.send_message(CHAT, "times=1 means only once")

    server.fail("sendMessage", 403, "Forbidden: bot was blocked by the user", chat_id=7, times=None)
    for _ in range(2):
        with pytest.raises(Forbidden, match=r"(?i)blocked by the user"):
            await bot.send_message(7, "hello")
    await bot.send_message(8, "other chats are unaffected")

    server.conflict_on_get_updates()
    with pytest.raises(Conflict) as conflict:
        await bot.get_updates(timeout=0)
    assert conflict.value.message == CONFLICT_OTHER_GET_UPDATES

    server.clear_faults()
    await bot.send_message(7, "cleared")
    assert await bot.get_updates(timeout=0) == ()
    failed = [c for c in server.calls if not c.ok]
    assert [c.error_code for c in failed] == [429, 403, 403, 409]


async def test_delay_causes_client_timeout_but_request_still_executes(
    server: FakeBotApi, bot: Bot
) -> None:
    server.delay("sendMessage", 0.6)
    with pytest.raises(TimedOut):
        await bot.send_message(CHAT, "slow", read_timeout=0.2)
    sent = await server.wait_for_messages(CHAT, 1, timeout=2)
    assert sent[0]["text"] == "slow"


@ignore_retry_after_deprecation
async def test_rate_limit_emulation(server: FakeBotApi, bot: Bot) -> None:
    server.emulate_rate_limits(per_chat_per_second=1.0, group_per_minute=2)
    await bot.send_message(CHAT, "first")
    with pytest.raises(RetryAfter) as caught:
        await bot.send_message(CHAT, "second, too fast")
    assert seconds(caught.value.retry_after) == 1
    await bot.send_message(CHAT + 1, "another chat is fine")

    server.push_message(-100500, "/start", chat_type="supergroup")
    await bot.send_message(-100500, "g1")
    server.emulate_rate_limits(per_chat_per_second=100, group_per_minute=2)
    await bot.send_message(-100500, "g1")
    await bot.send_message(-100500, "g2")
    with pytest.raises(RetryAfter) as group_caught:
        await bot.send_message(-100500, "g3")
    assert 55 <= seconds(group_caught.value.retry_after) <= 60
    assert server.rate_limited_count == 2
    server.disable_rate_limits()
    await bot.send_message(-100500, "g3")


async def test_wait_for_timeout_explains_what_happened(server: FakeBotApi, bot: Bot) -> None:
    await bot.send_message(CHAT, "only one")
    server.push_message(-1009, "plain", chat_type="supergroup")
    with pytest.raises(AssertionError) as caught:
        await server.wait_for_messages(CHAT, 2, timeout=0.1)
    report = str(caught.value)
    assert "2 sendMessage call(s) to chat 4242" in report
    assert "sendMessage(chat_id=4242, text='only one') -> ok" in report
    assert "withheld by privacy mode" in report

    with pytest.raises(AssertionError):
        server.wait_for(lambda: False, timeout=0.05)


def test_wait_for_is_woken_by_calls_from_other_threads(server: FakeBotApi) -> None:
    def call_later() -> None:
        time.sleep(0.1)
        httpx.post(f"{server.base_url}{server.token}/sendMessage", data={"chat_id": 1, "text": "x"})

    worker = threading.Thread(target=call_later)
    worker.start()
    sent = server.wait_for(lambda: server.sent_messages(1), timeout=3)
    worker.join()
    assert sent[0]["text"] == "x"


def test_binds_loopback_only_and_stops_with_open_long_poll() -> None:
    server = FakeBotApi().start()
    host, port = server._server.server_address[:2]  # type: ignore[union-attr]
    assert host == "127.0.0.1" and port > 0
    outcome: list[object] = []

    def poll() -> None:
        try:
            response = httpx.post(
                f"{server.base_url}{server.token}/getUpdates", data={"timeout": "30"}, timeout=10
            )
            outcome.append(response.json())
        except httpx.HTTPError as exc:  # also acceptable: the connection was torn down
            outcome.append(exc)

    poller = threading.Thread(target=poll, daemon=True)
    poller.start()
    server.wait_for(lambda: server.long_polls_waiting == 1)
    started = time.monotonic()
    server.stop()
    poller.join(timeout=5)
    assert time.monotonic() - started < 3
    assert not poller.is_alive()
    assert outcome in ([{"ok": True, "result": []}],) or isinstance(outcome[0], httpx.HTTPError)


# ---- a real Application ---------------------------------------------------------------------


async def test_application_replies_to_start_via_polling(server: FakeBotApi) -> None:
    async def start(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
        assert update.effective_message is not None
        keyboard = InlineKeyboardMarkup([[InlineKeyboardButton("More", callback_data="more")]])
        await update.effective_message.reply_html("<b>Hello</b>!", reply_markup=keyboard)

    async def more(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
        query = update.callback_query
        assert query is not None
        await query.answer()
        await query.edit_message_text("More details")

    app: Application[Any, Any, Any, Any, Any, Any] = (
        ApplicationBuilder().token(server.token).base_url(server.base_url).build()
    )
    app.add_handler(CommandHandler("start", start))
    app.add_handler(CallbackQueryHandler(more, pattern="^more$"))

    async with app:
        await app.updater.start_polling(poll_interval=0, timeout=1)  # type: ignore[union-attr]
        await app.start()
        server.push_message(CHAT, "/start", username="client")
        [reply] = await server.wait_for_messages(CHAT, 1)
        assert reply["text"] == "<b>Hello</b>!" and reply["parse_mode"] == "HTML"

        message_id = server.calls_to("sendMessage")[-1].result["message_id"]
        server.push_callback_query(CHAT, "more", message_id=message_id)
        await server.async_wait_for(lambda: server.edits(CHAT))
        await server.async_wait_for(
            lambda: any(c.ok for c in server.calls_to("answerCallbackQuery"))
        )
        await app.updater.stop()  # type: ignore[union-attr]
        await app.stop()

    methods = [call.method for call in server.calls]
    assert methods[:2] == ["getMe", "deleteWebhook"]
    assert server.pending_updates == 0  # the final getUpdates confirmed everything
    assert json.dumps(server.message(CHAT, message_id))  # stored state stays JSON-clean
    assert server.message(CHAT, message_id)["text"] == "More details"  # type: ignore[index]
    assert not server.server_errors
