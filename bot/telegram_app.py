"""Building and running the Telegram application (polling by default, webhook on request)."""

from __future__ import annotations

import logging
import signal
from collections.abc import Sequence
from urllib.parse import urlsplit

from telegram import BotCommand, Update
from telegram.ext import (
    AIORateLimiter,
    Application,
    ApplicationBuilder,
    CallbackQueryHandler,
    CommandHandler,
    InlineQueryHandler,
    MessageHandler,
    filters,
)

from bot import admin_handlers, handlers, reminder_handlers
from bot.retry import RetryingRateLimiter
from bot.services import Services, open_services
from bot.settings import Settings
from bot.telegram_ui import CONVERSATION_BUTTONS

logger = logging.getLogger(__name__)

COMMANDS = (
    BotCommand("start", "Welcome and main topics"),
    BotCommand("topics", "Browse the guide by section"),
    BotCommand("help", "How to use the bot"),
    BotCommand("remind", "Daily skincare reminder: /remind 21:30 or /remind off"),
    BotCommand("timezone", "Set your time zone, e.g. /timezone Europe/Berlin"),
    BotCommand("streak", "Your streak of days marked done"),
    BotCommand("forget", "Delete everything the bot stores about this chat"),
)
NON_TEXT = (filters.PHOTO | filters.Sticker.ALL | filters.VOICE | filters.VIDEO
            | filters.VIDEO_NOTE | filters.AUDIO | filters.Document.ALL | filters.ANIMATION
            | filters.LOCATION | filters.CONTACT | filters.POLL)
SEND_RETRIES = 3  # 429 retries; 5xx/network retries are bot.retry.SEND_ATTEMPTS
CONCURRENT_UPDATES = 32
POLL_TIMEOUT = 30
DEFAULT_SIGNALS = (signal.SIGINT, signal.SIGTERM, signal.SIGABRT)
EXIT_CONFLICT = 3  # another instance polls with the same token (409 Conflict)


async def post_init(application: Application) -> None:
    """Register the command menu, SIGHUP reload, data retention and the stored reminders."""
    admin_handlers.install_sighup_reload(application)  # first: setMyCommands marks readiness
    await application.bot.set_my_commands(list(COMMANDS))
    admin_handlers.schedule_retention(application)
    logger.info("bot @%s is up", application.bot.username)
    await reminder_handlers.restore_reminders(application)


async def post_shutdown(application: Application) -> None:
    """Close the database after the last in-flight update has been handled."""
    services: Services | None = application.bot_data.get("services")
    if services is not None:
        services.storage.close()
        logger.info("database closed")


def build_application(services: Services) -> Application:
    """The whole bot: handlers, rate limiting and lifecycle hooks, not yet running."""
    settings = services.settings
    application = (
        ApplicationBuilder()
        .token(settings.require_token())
        .base_url(settings.base_url)
        .rate_limiter(RetryingRateLimiter(AIORateLimiter(max_retries=SEND_RETRIES)))
        .concurrent_updates(CONCURRENT_UPDATES)
        .post_init(post_init)
        .post_shutdown(post_shutdown)
        .build()
    )
    application.bot_data["services"] = services
    application.add_handler(CommandHandler("start", handlers.start))
    application.add_handler(CommandHandler("help", handlers.help_command))
    application.add_handler(CommandHandler("topics", handlers.topics))
    application.add_handler(CommandHandler("reload", admin_handlers.reload_command))
    application.add_handler(CommandHandler("stats", admin_handlers.stats_command))
    application.add_handler(CallbackQueryHandler(handlers.button, pattern=CONVERSATION_BUTTONS))
    application.add_handler(InlineQueryHandler(handlers.inline_query))
    application.add_handler(MessageHandler(filters.TEXT & ~filters.COMMAND, handlers.question))
    application.add_handler(MessageHandler(NON_TEXT, handlers.non_text))
    reminder_handlers.register(application)
    # Feature modules register their handlers above this line; these must stay last.
    application.add_handler(CallbackQueryHandler(handlers.expired_button))
    application.add_handler(MessageHandler(filters.COMMAND, admin_handlers.unknown_command))
    application.add_error_handler(handlers.error_handler)
    return application


def run_bot(settings: Settings) -> int:
    """Run until SIGINT/SIGTERM; in-flight updates finish before the database closes.

    Returns the exit code: 0 after a stop signal, EXIT_CONFLICT when the bot stopped
    because another instance is polling with the same token.
    """
    application = build_application(open_services(settings))
    serve(application)
    if application.bot_data.get(handlers.STOPPED_BY_CONFLICT):
        return EXIT_CONFLICT
    return 0


def serve(application: Application, stop_signals: Sequence[int] | None = DEFAULT_SIGNALS,
          poll_timeout: int = POLL_TIMEOUT) -> None:
    """Block running the bot: webhook mode when a webhook URL is set, long polling otherwise."""
    settings: Settings = application.bot_data["services"].settings
    if settings.webhook_url:
        host, _, port = settings.webhook_listen.rpartition(":")
        logger.info("starting in webhook mode on %s", settings.webhook_listen)
        application.run_webhook(
            listen=host, port=int(port), url_path=_webhook_path(settings.webhook_url),
            webhook_url=settings.webhook_url, secret_token=settings.webhook_secret,
            allowed_updates=Update.ALL_TYPES, stop_signals=stop_signals, close_loop=False,
        )
    else:
        logger.info("starting with long polling")
        application.run_polling(allowed_updates=Update.ALL_TYPES, stop_signals=stop_signals,
                                timeout=poll_timeout, close_loop=False)


def _webhook_path(url: str) -> str:
    return urlsplit(url).path.lstrip("/")
