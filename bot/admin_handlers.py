"""Admin commands (/reload, /stats), unknown commands, hot reload on SIGHUP and data retention.

Admin commands answer non-admins exactly like an unknown command, so their
existence is not revealed; the attempt is logged with the user id only.
"""

from __future__ import annotations

import asyncio
import functools
import logging
import signal
from collections.abc import Awaitable, Callable
from datetime import timedelta

from telegram import Update
from telegram.constants import ParseMode
from telegram.ext import Application, ContextTypes

from bot.handlers import services_of
from bot.knowledge import KnowledgeError, knowledge_warnings
from bot.reminder_store import ReminderStore
from bot.services import Services
from bot.storage import utc_now
from bot.telegram_ui import escape, split_message

logger = logging.getLogger(__name__)

RETENTION_INTERVAL = timedelta(hours=24)
Handler = Callable[[Update, ContextTypes.DEFAULT_TYPE], Awaitable[None]]


# -- helpers -------------------------------------------------------------------

def is_admin(update: Update, services: Services) -> bool:
    user = update.effective_user
    return user is not None and user.id in services.settings.admin_ids


def reload_knowledge(services: Services) -> tuple[bool, str]:
    """Reload; on failure keep serving the old knowledge base and say exactly why."""
    try:
        kb = services.reload()
    except KnowledgeError as exc:
        logger.warning("knowledge reload rejected (%d problems); still serving the previous "
                       "version", len(exc.problems))
        problems = "\n".join(str(p) for p in exc.problems)
        return False, f"Reload rejected; still serving the previous version.\n\n{problems}"
    warnings = knowledge_warnings(kb)
    logger.info("knowledge reloaded: %d entries, %d warnings", len(kb.entries), len(warnings))
    text = f"Reloaded: {len(kb.entries)} entries, {len(kb.red_flags)} red-flag rules."
    if warnings:
        text += "\n\nWarnings:\n" + "\n".join(str(w) for w in warnings)
    return True, text


def stats_text(services: Services) -> str:
    stats = services.storage.stats()
    lines = [
        "<b>Statistics</b>",
        f"Questions: {stats.total}",
        f"Answered: {stats.answered}",
        f"Did you mean: {stats.clarifications}",
        f"Fallback: {stats.fallbacks} ({stats.fallback_rate:.0%})",
        f"Safety referrals: {stats.safety}",
        f"Reminder subscribers: {ReminderStore(services.storage).subscriber_count()}",
    ]
    if stats.top_entries:
        lines.append("\n<b>Top entries</b>")
        lines += [f"{count} × {escape(entry_id)}" for entry_id, count in stats.top_entries]
    return "\n".join(lines)


async def deny(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    user = update.effective_user
    logger.warning("user %s tried an admin command", user.id if user else "unknown")
    await unknown_command(update, context)


def admin_only(handler: Handler) -> Handler:
    """Non-admins get exactly the unknown-command reply, so admin commands stay invisible."""

    @functools.wraps(handler)
    async def guarded(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
        if not is_admin(update, services_of(context)):
            await deny(update, context)
            return
        await handler(update, context)

    return guarded


# -- handlers ------------------------------------------------------------------

async def unknown_command(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """Any command the bot does not know: point to /help."""
    text = escape(services_of(context).kb.messages["unknown_command"])
    await update.effective_message.reply_text(text, parse_mode=ParseMode.HTML)


@admin_only
async def reload_command(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """Admins: load the knowledge files again; a bad edit never replaces the live version."""
    _, text = reload_knowledge(services_of(context))
    for piece in split_message(f"<pre>{escape(text)}</pre>", limit=4000):
        if not piece.startswith("<pre>"):
            piece = "<pre>" + piece
        if not piece.endswith("</pre>"):
            piece += "</pre>"
        await update.effective_message.reply_text(piece, parse_mode=ParseMode.HTML)


@admin_only
async def stats_command(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """Admins: questions answered, fallback rate, top entries, subscribers."""
    await update.effective_message.reply_text(stats_text(services_of(context)),
                                              parse_mode=ParseMode.HTML)


async def purge_old_questions(context: ContextTypes.DEFAULT_TYPE) -> None:
    """Daily: delete unanswered questions older than the retention period."""
    services = services_of(context)
    cutoff = utc_now() - timedelta(days=services.settings.retention_days)
    deleted = services.storage.purge_unanswered(cutoff)
    if deleted:
        logger.info("deleted %d unanswered questions older than %d days", deleted,
                    services.settings.retention_days)


def install_sighup_reload(application: Application) -> None:
    """``kill -HUP <pid>`` reloads the knowledge base, like /reload."""
    services: Services = application.bot_data["services"]
    try:
        asyncio.get_running_loop().add_signal_handler(
            signal.SIGHUP, lambda: reload_knowledge(services))
    except (NotImplementedError, RuntimeError, ValueError):
        logger.info("SIGHUP reload is not available here (not the main thread or no signals)")


def schedule_retention(application: Application) -> None:
    application.job_queue.run_repeating(purge_old_questions, interval=RETENTION_INTERVAL,
                                        first=timedelta(seconds=30), name="retention")
