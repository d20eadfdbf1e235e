"""Daily skincare reminders in Telegram: /remind, /timezone, /streak, /forget, their buttons
and the scheduled jobs that send the reminders.

Scheduling: the database is the source of truth. Each subscribed chat has one daily
APScheduler cron job named ``reminder:<chat_id>`` at its local time in its own zone (so
DST is the trigger's business), and at most one one-off ``snooze:<chat_id>`` job.
Scheduling removes any job of the same name first, so changing the time or zone, or
restoring twice, never leaves two jobs. ``restore_reminders`` (called from post_init)
schedules every stored subscription at start-up, plus a late send of a reminder missed
while the bot was down, per the missed-reminder rule documented in ``bot.reminders``.

Job settings, chosen on purpose and set per job so other jobs keep theirs:
``misfire_grace_time=1800`` and ``coalesce=True`` are the missed-reminder rule (APScheduler's
default grace of 1 s would drop reminders whenever the loop is briefly busy);
``max_instances=1`` keeps a reminder still retrying from overlapping its next run.
PTB runs jobs with APScheduler's AsyncIOExecutor, i.e. as tasks on the bot's event loop,
so hundreds of reminders due the same minute wait in the rate limiter side by side
instead of queueing for a thread pool.

Sending goes through the application's rate limiter (Telegram's flood limits, 429
retries, short retries of 5xx and network errors). A reminder that still fails with a
transient error is tried again after ``RETRY_DELAYS``; each chat's job retries on its own,
so one failing chat never holds up the others. 403 Forbidden (bot blocked, user
deactivated) and 400 "chat not found" end the chat's subscription; a group that became a
supergroup takes its reminders along.
"""

from __future__ import annotations

import asyncio
import logging
import re
from collections.abc import Callable, MutableMapping
from datetime import date, datetime, time, tzinfo
from typing import Any

from telegram import InlineKeyboardButton, InlineKeyboardMarkup, Message, Update
from telegram.constants import ChatMemberStatus, ChatType, ParseMode
from telegram.error import (
    BadRequest,
    ChatMigrated,
    Forbidden,
    NetworkError,
    RetryAfter,
    TelegramError,
)
from telegram.ext import (
    Application,
    CallbackQueryHandler,
    CommandHandler,
    ContextTypes,
    Job,
    JobQueue,
)

from bot.reminder_store import ChatReminder, ReminderStore
from bot.reminders import (
    MISFIRE_GRACE_SECONDS,
    SNOOZE,
    catch_up_due,
    current_streak,
    format_time,
    latest_due,
    local_today,
    parse_time,
    recent_days,
    should_send,
    suggest_zone,
)
from bot.services import Services
from bot.settings import Settings
from bot.storage import utc_now
from bot.telegram_ui import encode_callback, escape
from bot.timezones import parse_timezone, zone_name

logger = logging.getLogger(__name__)

BUTTONS = r"^r:"
CLOCK = "reminder_clock"  # bot_data key: a zero-argument callable returning aware "now"
JOB_KWARGS: dict[str, Any] = {"misfire_grace_time": MISFIRE_GRACE_SECONDS, "coalesce": True,
                              "max_instances": 1}
RETRY_DELAYS: tuple[float, ...] = (1.0, 2.0, 4.0)  # after the rate limiter's own retries
TIME_CHOICES = (time(7), time(8), time(9), time(20), time(21), time(22))
EXAMPLE_ZONE = "Europe/Berlin"
WEEKDAYS = ("Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun")

# Callback data: "r:" plus an action (and for a time button HHMM); far under 64 bytes.
DONE, SNOOZE_BUTTON, STOP, FORGET_YES, FORGET_NO = (
    encode_callback("r", "done"), encode_callback("r", "snooze"), encode_callback("r", "off"),
    encode_callback("r", "forget-yes"), encode_callback("r", "forget-no"))
SET_TIME = "r:t:"
_SET_TIME_DATA = re.compile(r"^r:t:(\d{2})(\d{2})$")


# -- helpers -------------------------------------------------------------------

def services_from(bot_data: MutableMapping[str, Any]) -> Services:
    return bot_data["services"]


def services_of(context: ContextTypes.DEFAULT_TYPE) -> Services:
    return services_from(context.bot_data)


def store_from(bot_data: MutableMapping[str, Any]) -> ReminderStore:
    return ReminderStore(services_from(bot_data).storage)


def now_from(bot_data: MutableMapping[str, Any]) -> datetime:
    clock: Callable[[], datetime] = bot_data.get(CLOCK, utc_now)
    return clock()


def zone_of(chat: ChatReminder, settings: Settings) -> tuple[tzinfo, bool]:
    """The chat's zone and whether it is the configured default (no zone of its own)."""
    if chat.zone is not None:
        try:
            return parse_timezone(chat.zone), False
        except ValueError:  # e.g. a zone name dropped from a newer tz database
            logger.warning("chat %s: stored time zone %r is unknown; using the default",
                           chat.chat_id, chat.zone)
    return settings.zone, True


def zone_note(zone: tzinfo, is_default: bool) -> str:
    name = escape(zone_name(zone))
    if is_default:
        return (f"Times are in {name}, the default time zone; set yours with "
                f"/timezone {EXAMPLE_ZONE} (or an offset like +02:00).")
    return f"Times are in your time zone, {name}."


def reminder_job_name(chat_id: int) -> str:
    return f"reminder:{chat_id}"


def snooze_job_name(chat_id: int) -> str:
    return f"snooze:{chat_id}"


def _remove_jobs(job_queue: JobQueue, name: str) -> None:
    for job in job_queue.get_jobs_by_name(name):
        job.schedule_removal()


def schedule_reminder(job_queue: JobQueue, chat_id: int, at: time, zone: tzinfo, *,
                      catch_up: datetime | None = None, replace: bool = True) -> Job:
    """(Re)place the chat's daily job; ``catch_up`` makes its first run that past due time.

    ``replace=False`` skips looking for an old job (a scan of all jobs) when the caller
    has removed it already.
    """
    if replace:
        _remove_jobs(job_queue, reminder_job_name(chat_id))
    job_kwargs = dict(JOB_KWARGS)
    if catch_up is not None:
        job_kwargs["next_run_time"] = catch_up
    return job_queue.run_daily(send_reminder, time=at.replace(tzinfo=zone),
                               name=reminder_job_name(chat_id), chat_id=chat_id,
                               job_kwargs=job_kwargs)


def schedule_snooze(job_queue: JobQueue, chat_id: int, when: datetime, *,
                    replace: bool = True) -> Job:
    """One extra reminder at ``when``; a newer snooze replaces an older one."""
    if replace:
        _remove_jobs(job_queue, snooze_job_name(chat_id))
    return job_queue.run_once(send_snooze, when=when, name=snooze_job_name(chat_id),
                              chat_id=chat_id, job_kwargs=dict(JOB_KWARGS))


def unschedule(job_queue: JobQueue, chat_id: int) -> None:
    _remove_jobs(job_queue, reminder_job_name(chat_id))
    _remove_jobs(job_queue, snooze_job_name(chat_id))


# -- presentation --------------------------------------------------------------

def reminder_keyboard() -> InlineKeyboardMarkup:
    return InlineKeyboardMarkup([[InlineKeyboardButton("Done ✅", callback_data=DONE),
                                  InlineKeyboardButton("Snooze 1 h", callback_data=SNOOZE_BUTTON)]])


def choices_keyboard() -> InlineKeyboardMarkup:
    buttons = [InlineKeyboardButton(format_time(t), callback_data=f"{SET_TIME}{t:%H%M}")
               for t in TIME_CHOICES]
    return InlineKeyboardMarkup([buttons[:3], buttons[3:],
                                 [InlineKeyboardButton("Stop", callback_data=STOP)]])


def forget_keyboard() -> InlineKeyboardMarkup:
    return InlineKeyboardMarkup([[InlineKeyboardButton("Yes, delete", callback_data=FORGET_YES),
                                  InlineKeyboardButton("Cancel", callback_data=FORGET_NO)]])


def reminder_text(tip: str | None) -> str:
    text = "✨ <b>Time for your skincare routine</b>"
    if tip:
        text += f"\n\n💡 {escape(tip)}"
    return text + "\n\nTap Done ✅ when you have finished."


def days_text(count: int) -> str:
    return f"{count} day" if count == 1 else f"{count} days"


def streak_text(store: ReminderStore, chat_id: int, today: date) -> str:
    days = store.done_days(chat_id, today)
    streak = current_streak(days, today)
    if streak:
        head = f"🔥 Current streak: <b>{days_text(streak)}</b> in a row."
    else:
        head = "No streak yet: tap Done ✅ under a reminder to start one."
    lines = [f"{'✅' if done else '▫️'} {WEEKDAYS[day.weekday()]} {day.day:02d}.{day.month:02d}"
             + (" (today)" if day == today else "")
             for day, done in recent_days(days, today)]
    return head + "\n\nLast 7 days:\n" + "\n".join(lines)


def status_text(chat: ChatReminder, zone: tzinfo, is_default: bool) -> str:
    if chat.remind_at is not None:
        head = f"⏰ Your daily reminder is set for <b>{format_time(chat.remind_at)}</b>."
    else:
        head = "You have no daily reminder yet."
    return (f"{head}\n{zone_note(zone, is_default)}\n\nPick a time below, or send your own, "
            "for example /remind 21:30. /remind off stops it.")


# -- actions shared by commands and buttons -----------------------------------

def subscribe(bot_data: MutableMapping[str, Any], job_queue: JobQueue, chat_id: int,
              at: time) -> str:
    """Store and schedule a daily reminder; returns the confirmation (HTML)."""
    store = store_from(bot_data)
    store.subscribe(chat_id, at)
    zone, is_default = zone_of(store.get(chat_id), services_from(bot_data).settings)
    schedule_reminder(job_queue, chat_id, at, zone)
    logger.info("chat %s subscribed to a daily reminder", chat_id)
    return (f"⏰ Done! I'll remind you every day at <b>{format_time(at)}</b> with a short "
            f"routine tip.\n{zone_note(zone, is_default)}\n\n/remind off stops it.")


def unsubscribe(bot_data: MutableMapping[str, Any], job_queue: JobQueue, chat_id: int) -> str:
    had_one = store_from(bot_data).unsubscribe(chat_id)
    unschedule(job_queue, chat_id)
    if had_one:
        logger.info("chat %s unsubscribed from daily reminders", chat_id)
        return "🔕 Daily reminders are off. Turn them back on any time with /remind 21:30."
    return "You have no daily reminder. Start one with /remind 21:30."


def end_subscription(bot_data: MutableMapping[str, Any], job_queue: JobQueue, chat_id: int,
                     reason: str) -> None:
    """Telegram will never deliver to this chat again: stop trying."""
    store_from(bot_data).unsubscribe(chat_id)
    unschedule(job_queue, chat_id)
    logger.warning("chat %s: %s; its daily reminder was removed", chat_id, reason)


def follow_migration(bot_data: MutableMapping[str, Any], job_queue: JobQueue, old_id: int,
                     new_id: int) -> None:
    """A group became a supergroup: move its data and jobs to the new chat id."""
    store = store_from(bot_data)
    store.move_chat(old_id, new_id)
    unschedule(job_queue, old_id)
    chat = store.get(new_id)
    zone, _ = zone_of(chat, services_from(bot_data).settings)
    if chat.remind_at is not None:
        schedule_reminder(job_queue, new_id, chat.remind_at, zone)
    logger.info("chat %s became supergroup %s; reminders moved", old_id, new_id)


async def deliver(context: ContextTypes.DEFAULT_TYPE, chat_id: int) -> bool:
    """Send one reminder with the chat's next tip; True when Telegram accepted it."""
    services = services_of(context)
    tips = {tip.id: tip.text for tip in services.kb.tips}
    tip_id = store_from(context.bot_data).next_tip(chat_id, list(tips))
    text = reminder_text(tips.get(tip_id) if tip_id else None)
    delays = iter(RETRY_DELAYS)
    migrated = False
    while True:
        try:
            await context.bot.send_message(chat_id, text, parse_mode=ParseMode.HTML,
                                           reply_markup=reminder_keyboard())
            return True
        except Forbidden as exc:
            end_subscription(context.bot_data, context.job_queue, chat_id,
                             f"Telegram refuses to deliver ({exc.message})")
            return False
        except ChatMigrated as exc:
            if migrated:
                logger.error("chat %s: migrated twice in a row; reminder not sent", chat_id)
                return False
            follow_migration(context.bot_data, context.job_queue, chat_id, exc.new_chat_id)
            chat_id, migrated = exc.new_chat_id, True
        except BadRequest as exc:
            if "chat not found" in exc.message.lower():
                end_subscription(context.bot_data, context.job_queue, chat_id,
                                 "the chat no longer exists")
            else:
                logger.error("chat %s: Telegram rejected the reminder: %s", chat_id, exc.message)
            return False
        except (NetworkError, RetryAfter) as exc:
            delay = next(delays, None)
            if delay is None:
                logger.error("chat %s: reminder not sent after %d retries: %s", chat_id,
                             len(RETRY_DELAYS), exc.message)
                return False
            logger.warning("chat %s: reminder failed (%s: %s); retrying in %.0f s", chat_id,
                           type(exc).__name__, exc.message, delay)
            await asyncio.sleep(delay)
        except TelegramError as exc:
            logger.error("chat %s: reminder not sent: %s: %s", chat_id, type(exc).__name__,
                         exc.message)
            return False


async def edit_or_send(update: Update, context: ContextTypes.DEFAULT_TYPE, text: str,
                       keyboard: InlineKeyboardMarkup | None = None) -> None:
    """Replace the button's message; send a new one when it cannot be edited any more."""
    query = update.callback_query
    message = query.message if isinstance(query.message, Message) else None
    if message is not None:
        try:
            await message.edit_text(text, parse_mode=ParseMode.HTML, reply_markup=keyboard)
            return
        except BadRequest as exc:
            if "not modified" in exc.message.lower():
                return
            logger.info("could not edit a reminder menu (%s); sending a new message", exc.message)
    await context.bot.send_message(update.effective_chat.id, text, parse_mode=ParseMode.HTML,
                                   reply_markup=keyboard)


GROUP_CHATS = (ChatType.GROUP, ChatType.SUPERGROUP)
MANAGERS = (ChatMemberStatus.OWNER, ChatMemberStatus.ADMINISTRATOR)
ADMINS_ONLY = "👮 In a group, only its admins can change the group's reminder or delete its data."


async def may_manage(update: Update, context: ContextTypes.DEFAULT_TYPE) -> bool:
    """Anyone manages a private chat; in a group only its admins (or the group itself,
    for an anonymous admin), so one member cannot stop or wipe everyone's reminder."""
    chat, user = update.effective_chat, update.effective_user
    if chat is None or chat.type not in GROUP_CHATS:
        return True
    message = update.effective_message
    if message is not None and message.sender_chat is not None:
        return message.sender_chat.id == chat.id
    if user is None:
        return False
    try:
        member = await context.bot.get_chat_member(chat.id, user.id)
    except TelegramError as exc:
        logger.warning("chat %s: could not check whether a user is an admin: %s", chat.id,
                       exc.message)
        return False
    return member.status in MANAGERS


# -- commands ------------------------------------------------------------------

async def remind_command(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """/remind [HH:MM | off]: subscribe, stop, or show the setting with time buttons."""
    message = update.effective_message
    chat_id = update.effective_chat.id
    argument = " ".join(context.args or ()).strip()
    if not argument:
        chat = store_from(context.bot_data).get(chat_id)
        zone, is_default = zone_of(chat, services_of(context).settings)
        await message.reply_text(status_text(chat, zone, is_default), parse_mode=ParseMode.HTML,
                                 reply_markup=choices_keyboard())
        return
    if not await may_manage(update, context):
        await message.reply_text(ADMINS_ONLY)
        return
    if argument.lower() in ("off", "stop"):
        await message.reply_text(unsubscribe(context.bot_data, context.job_queue, chat_id),
                                 parse_mode=ParseMode.HTML)
        return
    try:
        at = parse_time(argument)
    except ValueError as exc:
        await message.reply_text(f"⚠️ {escape(str(exc))}.\nFor example: /remind 21:30 "
                                 "(or /remind off to stop).", parse_mode=ParseMode.HTML)
        return
    await message.reply_text(subscribe(context.bot_data, context.job_queue, chat_id, at),
                             parse_mode=ParseMode.HTML)


async def timezone_command(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """/timezone [ZONE]: show or set the chat's time zone (IANA name or UTC offset)."""
    message = update.effective_message
    chat_id = update.effective_chat.id
    settings = services_of(context).settings
    store = store_from(context.bot_data)
    argument = " ".join(context.args or ()).strip()
    if not argument:
        zone, is_default = zone_of(store.get(chat_id), settings)
        default = " (the default)" if is_default else ""
        await message.reply_text(
            f"🌍 Your time zone is <b>{escape(zone_name(zone))}</b>{default}.\nChange it with "
            f"/timezone {EXAMPLE_ZONE}, or give a UTC offset like /timezone +02:00.",
            parse_mode=ParseMode.HTML)
        return
    if not await may_manage(update, context):
        await message.reply_text(ADMINS_ONLY)
        return
    try:
        zone = parse_timezone(argument)
    except ValueError as exc:
        guess = suggest_zone(argument)
        hint = f"\nDid you mean /timezone {escape(guess)} ?" if guess else ""
        await message.reply_text(f"⚠️ {escape(str(exc))}.{hint}\nFor example: "
                                 f"/timezone {EXAMPLE_ZONE}", parse_mode=ParseMode.HTML)
        return
    name = zone_name(zone)
    store.set_zone(chat_id, name)
    chat = store.get(chat_id)
    local_now = now_from(context.bot_data).astimezone(zone)
    text = f"🌍 Time zone set to <b>{escape(name)}</b>; it is {local_now:%H:%M} there now."
    if chat.remind_at is not None:
        schedule_reminder(context.job_queue, chat_id, chat.remind_at, zone)
        text += f"\nYour daily reminder comes at {format_time(chat.remind_at)} {escape(name)} time."
    else:
        text += "\nSet a daily reminder with /remind 21:30."
    await message.reply_text(text, parse_mode=ParseMode.HTML)


async def streak_command(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """/streak: consecutive days marked done, and the last 7 days."""
    chat_id = update.effective_chat.id
    store = store_from(context.bot_data)
    zone, _ = zone_of(store.get(chat_id), services_of(context).settings)
    today = local_today(zone, now_from(context.bot_data))
    await update.effective_message.reply_text(streak_text(store, chat_id, today),
                                              parse_mode=ParseMode.HTML)


async def forget_command(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """/forget: ask for confirmation before deleting everything stored about this chat."""
    if not await may_manage(update, context):
        await update.effective_message.reply_text(ADMINS_ONLY)
        return
    await update.effective_message.reply_text(
        "🗑 This deletes everything I store about this chat: the reminder time, time zone, "
        "streak, tip position and your 👍/👎 feedback. Delete it all?",
        parse_mode=ParseMode.HTML, reply_markup=forget_keyboard())


# -- buttons -------------------------------------------------------------------

async def button(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """Reminder buttons: Done, Snooze, a time choice, Stop, and /forget's confirmation."""
    query = update.callback_query
    chat = update.effective_chat
    data = query.data or ""
    if chat is None:
        await query.answer("This button has expired. Please use /remind.")
        return
    bot_data, job_queue = context.bot_data, context.job_queue
    store = store_from(bot_data)
    changes = data in (STOP, FORGET_YES) or _SET_TIME_DATA.match(data) is not None
    if changes and not await may_manage(update, context):
        await query.answer(ADMINS_ONLY, show_alert=True)
        return
    if data == DONE:
        zone, _ = zone_of(store.get(chat.id), services_of(context).settings)
        today = local_today(zone, now_from(bot_data))
        store.mark_done(chat.id, today)
        streak = current_streak(store.done_days(chat.id, today), today)
        await query.answer(f"Done! Streak: {days_text(streak)}")
        reply = f"✅ Marked today as done. Current streak: <b>{days_text(streak)}</b> in a row."
        await context.bot.send_message(chat.id, reply + "\n/streak shows your week.",
                                       parse_mode=ParseMode.HTML)
    elif data == SNOOZE_BUTTON:
        when = now_from(bot_data) + SNOOZE
        store.set_snooze(chat.id, when)
        schedule_snooze(job_queue, chat.id, when)
        await query.answer("OK, I'll remind you again in an hour.")
    elif (match := _SET_TIME_DATA.match(data)) and int(match[1]) < 24 and int(match[2]) < 60:
        await query.answer()
        text = subscribe(bot_data, job_queue, chat.id, time(int(match[1]), int(match[2])))
        await edit_or_send(update, context, text)
    elif data == STOP:
        await query.answer()
        await edit_or_send(update, context, unsubscribe(bot_data, job_queue, chat.id))
    elif data == FORGET_YES:
        store.forget(chat.id)
        unschedule(job_queue, chat.id)
        context.application.drop_chat_data(chat.id)  # in memory, e.g. a pending "did you mean"
        logger.info("chat %s: all stored data deleted on request (/forget)", chat.id)
        await query.answer("Deleted.")
        await edit_or_send(update, context, "🗑 Done: I deleted everything I stored about "
                                            "this chat.")
    elif data == FORGET_NO:
        await query.answer()
        await edit_or_send(update, context, "OK, nothing was deleted.")
    else:
        await query.answer("This button has expired. Please use /remind.")


# -- jobs ----------------------------------------------------------------------

async def send_reminder(context: ContextTypes.DEFAULT_TYPE) -> None:
    """Daily job: send the chat's reminder unless one was already sent for this local date."""
    job = context.job
    chat_id = int(job.chat_id)
    store = store_from(context.bot_data)
    chat = store.get(chat_id)
    if chat.remind_at is None:
        job.schedule_removal()  # unsubscribed meanwhile (e.g. /forget from another update)
        return
    zone, _ = zone_of(chat, services_of(context).settings)
    due = latest_due(chat.remind_at, zone, now_from(context.bot_data))
    if not store.claim_daily(chat_id, due.date()):
        logger.info("chat %s: the reminder for %s was already sent; skipped", chat_id,
                    due.date().isoformat())
        return
    if not await deliver(context, chat_id):
        store.release_daily(chat_id, due.date(), chat.last_sent_date)


async def send_snooze(context: ContextTypes.DEFAULT_TYPE) -> None:
    """One-off job: the extra reminder an hour after "Snooze 1 h"."""
    chat_id = int(context.job.chat_id)
    store_from(context.bot_data).set_snooze(chat_id, None)
    await deliver(context, chat_id)


async def restore_reminders(application: Application) -> int:
    """Start-up: schedule every stored reminder exactly once; returns how many daily ones."""
    job_queue = application.job_queue
    if job_queue is None:
        logger.error("no job queue (install python-telegram-bot[job-queue]); reminders are off")
        return 0
    bot_data = application.bot_data
    store = store_from(bot_data)
    settings = services_from(bot_data).settings
    now = now_from(bot_data)
    existing: dict[str, list[Job]] = {}  # one scan of all jobs, not one per chat
    for job in job_queue.jobs():
        existing.setdefault(job.name or "", []).append(job)
    daily = late = snoozes = 0
    for chat in store.scheduled():
        zone, _ = zone_of(chat, settings)
        if chat.remind_at is not None:
            catch_up = catch_up_due(chat.remind_at, zone, now, chat.last_sent_date)
            for old in existing.get(reminder_job_name(chat.chat_id), ()):
                old.schedule_removal()
            schedule_reminder(job_queue, chat.chat_id, chat.remind_at, zone, catch_up=catch_up,
                              replace=False)
            daily += 1
            late += catch_up is not None
        if chat.snooze_at is not None:
            for old in existing.get(snooze_job_name(chat.chat_id), ()):
                old.schedule_removal()
            if chat.snooze_at > now or should_send(chat.snooze_at, now):
                schedule_snooze(job_queue, chat.chat_id, chat.snooze_at, replace=False)
                snoozes += 1
            else:
                store.set_snooze(chat.chat_id, None)
    logger.info("scheduled %d daily reminders (%d missed ones sent late) and %d snoozes",
                daily, late, snoozes)
    return daily


def register(application: Application) -> None:
    """Add the reminder commands and buttons (before the catch-all handlers)."""
    application.add_handler(CommandHandler("remind", remind_command))
    application.add_handler(CommandHandler("timezone", timezone_command))
    application.add_handler(CommandHandler("streak", streak_command))
    application.add_handler(CommandHandler("forget", forget_command))
    application.add_handler(CallbackQueryHandler(button, pattern=BUTTONS))
