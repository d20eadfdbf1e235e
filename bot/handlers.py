"""Telegram handlers: the conversation, at the edge of the application.

Each handler turns an update into a call on the matcher or storage and a reply;
presentation lives in ``bot.telegram_ui`` and the decisions in ``bot.matcher``.
"""

from __future__ import annotations

import logging
import sqlite3
from collections.abc import Callable
from typing import TypeVar
from uuid import uuid4

from telegram import (
    InlineKeyboardMarkup,
    InlineQueryResultArticle,
    InputTextMessageContent,
    Message,
    MessageEntity,
    Update,
)
from telegram.constants import ChatType, ParseMode
from telegram.error import BadRequest, Conflict, Forbidden, TelegramError
from telegram.ext import ContextTypes

from bot.knowledge import Entry
from bot.matcher import MatchResult
from bot.replies import related_entries, reply_for
from bot.services import Services
from bot.storage import StorageError
from bot.telegram_ui import (
    ANSWER,
    FEEDBACK,
    SECTION,
    TOPICS,
    answer_keyboard,
    choices_keyboard,
    decode_callback,
    escape,
    section_keyboard,
    split_message,
    topics_keyboard,
)
from bot.text import normalise

logger = logging.getLogger(__name__)
T = TypeVar("T")

PENDING_CLARIFY = "pending_clarify"
INLINE_RESULTS = 5
# bot_data flag: the bot stopped because another instance polls with the same token.
STOPPED_BY_CONFLICT = "stopped_by_conflict"


# -- helpers -------------------------------------------------------------------

def services_of(context: ContextTypes.DEFAULT_TYPE) -> Services:
    return context.bot_data["services"]


def addressed_text(message: Message, bot_username: str, bot_id: int) -> str | None:
    """The question in a message meant for the bot, or None when it is not for us.

    In private chats every message is for the bot. In groups only a mention or a
    reply to one of the bot's messages is, so the bot never answers every message.
    """
    text = message.text or ""
    if message.chat.type == ChatType.PRIVATE:
        return text
    replied = message.reply_to_message
    if replied is not None and replied.from_user is not None and replied.from_user.id == bot_id:
        return text
    mention = f"@{bot_username}".lower()
    for entity in message.entities or ():
        if entity.type == MessageEntity.MENTION:
            mentioned = message.parse_entity(entity)
            if mentioned.lower() == mention:
                return text.replace(mentioned, " ").strip()
    return None


def allowed_by_throttle(update: Update, context: ContextTypes.DEFAULT_TYPE) -> bool:
    """False when the user is flooding; they get one polite "slow down" per burst."""
    services = services_of(context)
    user = update.effective_user
    if user is None or services.throttle.allow(user.id):
        return True
    if services.throttle.first_refusal(user.id):
        context.application.create_task(update.effective_message.reply_text(
            escape(services.kb.messages["slow_down"]), parse_mode=ParseMode.HTML))
    return False


def answer_html(entry: Entry) -> str:
    return f"<b>{escape(entry.question)}</b>\n\n{escape(entry.answer)}"


async def send_html(message: Message, text: str,
                    keyboard: InlineKeyboardMarkup | None = None) -> Message:
    """Send possibly long HTML; the keyboard rides on the last piece."""
    pieces = split_message(text)
    sent = message
    for number, piece in enumerate(pieces, start=1):
        markup = keyboard if number == len(pieces) else None
        sent = await message.reply_text(piece, parse_mode=ParseMode.HTML, reply_markup=markup,
                                        do_quote=message.chat.type != ChatType.PRIVATE)
    return sent


async def edit_html(message: Message, text: str, keyboard: InlineKeyboardMarkup) -> None:
    """Show a menu in place of the button's message. A double tap asks for the same
    content twice, which Telegram refuses with "message is not modified": that is no error."""
    try:
        await message.edit_text(text, parse_mode=ParseMode.HTML, reply_markup=keyboard)
    except BadRequest as exc:
        if "not modified" not in exc.message.lower():
            raise
        logger.debug("menu already shown (double tap)")


async def send_entry(message: Message, services: Services, entry: Entry) -> None:
    await send_html(message, answer_html(entry),
                    answer_keyboard(entry, related_entries(services.kb, entry)))


def best_effort(what: str, write: Callable[[], T]) -> T | None:
    """Run a database write whose failure must not change the user's reply (read-only or
    locked database, full disk): log a warning naming ``what`` and return None."""
    try:
        return write()
    except (sqlite3.Error, StorageError) as exc:
        logger.warning("could not %s in the database: %s", what, exc)
        return None


def record_query(services: Services, result: MatchResult, question: str) -> int | None:
    """Statistics are useful but never worth failing a reply over."""
    return best_effort("record a question", lambda: services.storage.record_query(
        result.kind, result.entry_id, normalise(question)))


async def reply_to_question(message: Message, context: ContextTypes.DEFAULT_TYPE,
                            question: str) -> None:
    services = services_of(context)
    kb = services.kb
    result = services.matcher.match(question)
    logger.debug("matched kind=%s id=%s score=%.3f", result.kind, result.entry_id, result.score)
    row_id = record_query(services, result, question)
    if result.kind in ("answer", "smalltalk") and result.entry_id in kb.entries:
        await send_entry(message, services, kb.entries[result.entry_id])
        return
    reply = reply_for(kb, result)
    keyboard = choices_keyboard(reply.choices) if reply.choices else None
    if result.kind == "clarify" and context.chat_data is not None and row_id is not None:
        context.chat_data[PENDING_CLARIFY] = row_id
    await send_html(message, escape(reply.text), keyboard)


# -- handlers ------------------------------------------------------------------

async def start(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """Greet, say in one line that this is not medical advice, and offer the topics."""
    kb = services_of(context).kb
    text = (f"{escape(kb.messages['welcome'])}\n\n<i>{escape(kb.messages['disclaimer'])}</i>\n\n"
            f"{escape(kb.messages['topics'])}")
    await update.effective_message.reply_text(text, parse_mode=ParseMode.HTML,
                                              reply_markup=topics_keyboard(kb))


async def help_command(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """List what the bot can do."""
    kb = services_of(context).kb
    text = f"{escape(kb.messages['help'])}\n\n<i>{escape(kb.messages['disclaimer'])}</i>"
    await update.effective_message.reply_text(text, parse_mode=ParseMode.HTML)


async def topics(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """Show the guide's sections as buttons."""
    kb = services_of(context).kb
    await update.effective_message.reply_text(escape(kb.messages["topics"]),
                                              parse_mode=ParseMode.HTML,
                                              reply_markup=topics_keyboard(kb))


async def question(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """Answer a text message (new or edited) from the guide, or refer to a dermatologist."""
    message = update.effective_message
    if message is None or message.text is None:
        return
    text = addressed_text(message, context.bot.username, context.bot.id)
    if text is None:
        return
    if not allowed_by_throttle(update, context):
        return
    await reply_to_question(message, context, text)


async def non_text(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """Photos, stickers, voice and files get a polite note that only text is understood."""
    message = update.effective_message
    if message is None:
        return
    if message.chat.type != ChatType.PRIVATE and addressed_text(
            message, context.bot.username, context.bot.id) is None:
        return
    await message.reply_text(escape(services_of(context).kb.messages["non_text"]),
                             parse_mode=ParseMode.HTML)


async def button(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """Topic browsing, answers, "did you mean" choices and 👍/👎 feedback."""
    query = update.callback_query
    services = services_of(context)
    kb = services.kb
    callback = decode_callback(query.data)
    message = query.message if isinstance(query.message, Message) else None
    if callback is None or message is None:
        await expired_button(update, context)
        return
    if callback.action == TOPICS:
        await query.answer()
        await edit_html(message, escape(kb.messages["topics"]), topics_keyboard(kb))
    elif callback.action == SECTION and kb.section(callback.value):
        await query.answer()
        section = kb.section(callback.value)
        await edit_html(message, f"<b>{escape(section.title)}</b>",
                        section_keyboard(kb, section.id))
    elif callback.action == ANSWER and callback.value in kb.entries:
        await query.answer()
        pending = context.chat_data.pop(PENDING_CLARIFY, None) if context.chat_data else None
        if pending is not None:
            best_effort("resolve a clarified question",
                        lambda: services.storage.resolve_unanswered(pending))
        await send_entry(message, services, kb.entries[callback.value])
    elif callback.action == FEEDBACK and callback.value in kb.entries:
        vote = 1 if callback.extra == "+" else -1
        best_effort("record feedback", lambda: services.storage.record_feedback(
            message.chat.id, message.message_id, callback.value, vote))
        await query.answer(kb.messages["feedback_thanks"])
    else:
        await query.answer("That topic is no longer available. Please use /topics.")


async def expired_button(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """Buttons from old versions of the bot, or forged data: answer so the spinner stops."""
    await update.callback_query.answer("This button has expired. Please ask again or use /topics.")


async def inline_query(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """``@bot question`` in any chat: offer the best matching answers to share."""
    query = update.inline_query
    kb = services_of(context).kb
    matcher = services_of(context).matcher
    text = query.query.strip()
    results = []
    if text and matcher.match(text).kind == "safety":
        results.append(_article("See a dermatologist", kb.messages["safety"],
                                escape(kb.messages["safety"])))
    else:
        ranked = matcher.rank(text) if text else []
        entries = [kb.entries[c.entry_id] for c in ranked
                   if c.score >= matcher.thresholds.suggest][:INLINE_RESULTS]
        if not text:
            entries = [e for e in kb.entries.values() if e.kind == "answer"][:INLINE_RESULTS]
        for entry in entries:
            results.append(_article(entry.question, entry.answer, answer_html(entry)))
    await query.answer(results, cache_time=60, is_personal=False)


def _article(title: str, description: str, html_text: str) -> InlineQueryResultArticle:
    return InlineQueryResultArticle(
        id=uuid4().hex,
        title=title[:100],
        description=description[:120],
        input_message_content=InputTextMessageContent(split_message(html_text)[0],
                                                      parse_mode=ParseMode.HTML),
    )


async def error_handler(update: object, context: ContextTypes.DEFAULT_TYPE) -> None:
    """Log every failure with its traceback and apologise to the user; never go silent."""
    error = context.error
    if isinstance(error, Conflict):
        logger.error("another bot instance is polling with this token (409 Conflict); "
                     "stopping this one. Make sure only one copy of the bot runs.")
        context.application.bot_data[STOPPED_BY_CONFLICT] = True
        context.application.stop_running()
        return
    logger.error("error while handling an update", exc_info=error)
    if not isinstance(update, Update) or update.effective_chat is None:
        return
    if isinstance(error, Forbidden):
        return  # the user blocked the bot: nobody to apologise to
    try:
        await context.bot.send_message(update.effective_chat.id,
                                       escape(services_of(context).kb.messages["error"]),
                                       parse_mode=ParseMode.HTML)
    except TelegramError as exc:
        logger.warning("could not send the apology either: %s", exc)
