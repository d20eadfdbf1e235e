"""End to end: daily reminders in the real application against the fake Bot API.

Reminders are due at minute granularity, so instead of waiting for a wall-clock minute
the tests schedule through the real handlers and then move the job found by its name
to "in a second" (``make_due``); the job callback, the store and the sending path are
exactly what runs in production.
"""

from __future__ import annotations

import asyncio
import logging
from collections import Counter
from collections.abc import Callable
from datetime import UTC, datetime, time, timedelta
from typing import Any, TypeVar

import pytest

from bot import reminder_handlers
from bot.reminder_handlers import DONE, FORGET_NO, FORGET_YES, SNOOZE_BUTTON
from bot.reminder_store import ChatReminder, ReminderStore
from bot.settings import Settings
from bot.storage import Storage
from tests.bot_api_server import FakeBotApi
from tests.conftest import BotRunner

CHAT = 3003
OTHER = 3004
T = TypeVar("T")
REMINDER_MARK = "Time for your skincare routine"


# -- helpers -------------------------------------------------------------------

def sent(api: FakeBotApi, chat_id: int) -> list[dict[str, Any]]:
    return [{**call.params, "message_id": call.result["message_id"]}
            for call in api.calls_to("sendMessage")
            if call.ok and str(call.params.get("chat_id")) == str(chat_id)]


def ask(api: FakeBotApi, text: str, chat_id: int = CHAT, **sender: Any) -> dict[str, Any]:
    """Send ``text`` (``sender``: push_message's user_id, chat_type...) and return the reply."""
    before = len(sent(api, chat_id))
    api.push_message(chat_id, text, **sender)
    api.wait_for(lambda: len(sent(api, chat_id)) > before, timeout=10)
    return sent(api, chat_id)[-1]


def press(api: FakeBotApi, data: str, message_id: int, chat_id: int = CHAT) -> None:
    before = len(api.calls_to("answerCallbackQuery"))
    api.push_callback_query(chat_id, data, message_id=message_id)
    api.wait_for(lambda: len(api.calls_to("answerCallbackQuery")) > before, timeout=10)


def button_data(message: dict[str, Any]) -> list[str]:
    rows = (message.get("reply_markup") or {}).get("inline_keyboard", [])
    return [button["callback_data"] for row in rows for button in row]


def reminders(api: FakeBotApi, chat_id: int | None = None) -> list[dict[str, Any]]:
    return [m for m in api.sent_messages(chat_id) if REMINDER_MARK in m["text"]]


def reminder_counts(api: FakeBotApi) -> Counter[int]:
    return Counter(int(m["chat_id"]) for m in reminders(api))


def in_loop(runner: BotRunner, action: Callable[[], T]) -> T:
    """Run ``action`` on the bot's event loop thread, where the job queue and database live."""
    async def call() -> T:
        return action()
    return asyncio.run_coroutine_threadsafe(call(), runner.loop).result(timeout=10)


def jobs(runner: BotRunner, name: str) -> int:
    return in_loop(runner, lambda: len(runner.application.job_queue.get_jobs_by_name(name)))


def make_due(runner: BotRunner, names: list[str], seconds: float = 0.3) -> None:
    """Move the named jobs' next run to ``seconds`` from now (the testing seam)."""
    def move() -> None:
        when = datetime.now(UTC) + timedelta(seconds=seconds)
        for name in names:
            found = runner.application.job_queue.get_jobs_by_name(name)
            assert len(found) == 1, f"{len(found)} jobs named {name}"
            found[0].job.modify(next_run_time=when)
    in_loop(runner, move)


def start(api: FakeBotApi, run_bot: Callable[..., BotRunner], **overrides: Any) -> BotRunner:
    """Start the bot and wait until post_init (restore_reminders included) has finished:
    PTB deletes the webhook to start polling only after it."""
    before = len(api.calls_to("deleteWebhook"))
    runner = run_bot(**overrides)
    api.wait_for(lambda: len(api.calls_to("deleteWebhook")) > before, timeout=10)
    return runner


def store_of(runner: BotRunner) -> ReminderStore:
    return ReminderStore(runner.services.storage)


def row(runner: BotRunner, chat_id: int = CHAT) -> ChatReminder:
    return in_loop(runner, lambda: store_of(runner).get(chat_id))


def later_utc(hours: int = 3) -> str:
    """A reminder time that will not come due by itself during the test."""
    return f"{(datetime.now(UTC) + timedelta(hours=hours)):%H:%M}"


def subscribe(api: FakeBotApi, chat_id: int = CHAT, at: str | None = None) -> dict[str, Any]:
    ask(api, "/timezone UTC", chat_id)
    reply = ask(api, f"/remind {at or later_utc()}", chat_id)
    assert "every day at" in reply["text"]
    return reply


def seed(settings: Settings, chats: range | list[int], at: time, zone: str = "UTC") -> None:
    """Write subscriptions straight into the database while the bot is not running."""
    storage = Storage(settings.database_path)
    store = ReminderStore(storage)
    for chat_id in chats:
        store.set_zone(chat_id, zone)
        store.subscribe(chat_id, at)
    storage.close()


def name(chat_id: int) -> str:
    return reminder_handlers.reminder_job_name(chat_id)


# -- subscribing, restarting, sending ------------------------------------------

def test_commands_are_registered_and_help_mentions_them(api, run_bot):
    start(api, run_bot)
    commands = {c["command"] for c in api.calls_to("setMyCommands")[-1].params["commands"]}
    assert {"remind", "timezone", "streak", "forget"} <= commands
    help_text = ask(api, "/help")["text"]
    assert "/remind" in help_text and "/timezone" in help_text


def test_subscription_survives_a_restart_and_fires_exactly_once(api, run_bot):
    first = start(api, run_bot)
    reply = subscribe(api)
    assert "UTC" in reply["text"]
    assert jobs(first, name(CHAT)) == 1
    first.stop()

    second = start(api, run_bot)
    assert jobs(second, name(CHAT)) == 1
    asyncio.run_coroutine_threadsafe(reminder_handlers.restore_reminders(second.application),
                                     second.loop).result(timeout=10)
    assert jobs(second, name(CHAT)) == 1  # restoring again replaces the job, never adds one
    make_due(second, [name(CHAT)])
    api.wait_for(lambda: reminders(api, CHAT), timeout=10)
    [reminder] = reminders(api, CHAT)
    assert reminder["parse_mode"] == "HTML"
    assert button_data(reminder) == [DONE, SNOOZE_BUTTON]
    assert "💡" in reminder["text"]
    next_run = in_loop(second, lambda: second.application.job_queue.get_jobs_by_name(
        name(CHAT))[0].next_t)
    assert next_run > datetime.now(UTC) + timedelta(hours=1)  # back to the daily time
    assert row(second, CHAT).last_sent_date is not None


def test_a_reminder_missed_while_down_is_sent_late_only_within_30_minutes(
        api, run_bot, bot_settings):
    now = datetime.now(UTC)
    seed(bot_settings, [CHAT], (now - timedelta(minutes=5)).time().replace(second=0,
                                                                          microsecond=0))
    seed(bot_settings, [OTHER], (now - timedelta(minutes=45)).time().replace(second=0,
                                                                            microsecond=0))
    runner = start(api, run_bot)
    api.wait_for(lambda: reminders(api, CHAT), timeout=10)
    assert jobs(runner, name(OTHER)) == 1
    assert not reminders(api, OTHER)
    next_run = in_loop(runner, lambda: runner.application.job_queue.get_jobs_by_name(
        name(CHAT))[0].next_t)
    assert next_run > datetime.now(UTC) + timedelta(hours=23)


def test_unsubscribe_removes_the_job_and_nothing_is_sent(api, run_bot):
    runner = start(api, run_bot)
    subscribe(api)
    reply = ask(api, "/remind off")
    assert "off" in reply["text"]
    assert jobs(runner, name(CHAT)) == 0
    assert not row(runner, CHAT).subscribed
    runner.stop()
    again = start(api, run_bot)
    assert jobs(again, name(CHAT)) == 0
    assert "no daily reminder" in ask(api, "/remind off")["text"]
    assert not reminders(api)


@pytest.mark.parametrize(("code", "description"), [
    (403, "Forbidden: bot was blocked by the user"),
    (403, "Forbidden: user is deactivated"),
    (400, "Bad Request: chat not found"),
])
def test_undeliverable_chat_loses_its_subscription_others_keep_theirs(
        api, run_bot, caplog, code, description):
    caplog.set_level(logging.WARNING, logger="bot.reminder_handlers")
    runner = start(api, run_bot)
    subscribe(api, CHAT)
    subscribe(api, OTHER)
    api.fail("sendMessage", code, description, times=None, chat_id=CHAT)
    make_due(runner, [name(CHAT), name(OTHER)])
    api.wait_for(lambda: reminders(api, OTHER), timeout=10)
    api.wait_for(lambda: not row(runner, CHAT).subscribed, timeout=10)
    assert jobs(runner, name(CHAT)) == 0
    assert jobs(runner, name(OTHER)) == 1
    failed = [c for c in api.calls_to("sendMessage") if not c.ok]
    assert len(failed) == 1  # never retried
    assert any(f"chat {CHAT}:" in r.getMessage() and "removed" in r.getMessage()
               for r in caplog.records)


def test_a_group_upgraded_to_a_supergroup_takes_its_reminder_along(api, run_bot, bot_settings):
    group, supergroup = -5005, -1_000_000_005
    seed(bot_settings, [group], time(3, 0) if datetime.now(UTC).hour > 12 else time(15, 0))
    runner = start(api, run_bot)
    api.fail("sendMessage", 400, "Bad Request: group chat was upgraded to a supergroup chat",
             times=None, chat_id=group, migrate_to_chat_id=supergroup)
    make_due(runner, [name(group)])
    api.wait_for(lambda: reminders(api, supergroup), timeout=10)
    assert row(runner, supergroup).subscribed and not row(runner, group).subscribed
    assert jobs(runner, name(supergroup)) == 1 and jobs(runner, name(group)) == 0


def test_the_configured_default_zone_applies_until_one_is_set(api, run_bot):
    runner = start(api, run_bot, timezone="America/New_York")
    reply = ask(api, "/remind 9pm")
    assert "21:00" in reply["text"] and "America/New_York, the default" in reply["text"]
    [job] = in_loop(runner, lambda: runner.application.job_queue.get_jobs_by_name(name(CHAT)))
    assert str(job.job.trigger.timezone) == "America/New_York"
    assert row(runner).zone is None  # follows the setting if the operator changes it


def test_transient_errors_are_retried_without_holding_up_other_chats(
        api, run_bot, monkeypatch):
    monkeypatch.setattr(reminder_handlers, "RETRY_DELAYS", (0.05, 0.05, 0.05))
    runner = start(api, run_bot)
    subscribe(api, CHAT)
    subscribe(api, OTHER)
    # Five failures: more than the rate limiter's own four tries, so the job retries too.
    api.fail("sendMessage", 502, "Bad Gateway", times=5, chat_id=CHAT)
    make_due(runner, [name(CHAT), name(OTHER)])
    api.wait_for(lambda: reminders(api, OTHER), timeout=10)
    assert not reminders(api, CHAT)  # still retrying, and OTHER did not wait for it
    api.wait_for(lambda: reminders(api, CHAT), timeout=15)
    assert reminder_counts(api) == {CHAT: 1, OTHER: 1}
    assert row(runner, CHAT).subscribed


def test_a_burst_of_300_reminders_all_arrive_once(api, run_bot, bot_settings):
    chats = range(10_001, 10_301)
    seed(bot_settings, chats, time(3, 0) if datetime.now(UTC).hour > 12 else time(15, 0))
    runner = start(api, run_bot)
    make_due(runner, [name(chat) for chat in chats])
    api.wait_for(lambda: len(reminder_counts(api)) == len(chats), timeout=40)
    counts = reminder_counts(api)
    assert set(counts) == set(chats) and set(counts.values()) == {1}


def test_a_burst_under_telegram_flood_limits_still_all_arrives(api, run_bot, bot_settings):
    chats = range(20_001, 20_061)
    seed(bot_settings, chats, time(3, 0) if datetime.now(UTC).hour > 12 else time(15, 0))
    runner = start(api, run_bot)
    api.emulate_rate_limits()
    make_due(runner, [name(chat) for chat in chats])
    api.wait_for(lambda: len(reminder_counts(api)) == len(chats), timeout=40)
    counts = reminder_counts(api)
    assert set(counts) == set(chats) and set(counts.values()) == {1}


# -- buttons ---------------------------------------------------------------------

def fire(api: FakeBotApi, runner: BotRunner, chat_id: int = CHAT) -> dict[str, Any]:
    before = len(reminders(api, chat_id))
    make_due(runner, [name(chat_id)])
    api.wait_for(lambda: len(reminders(api, chat_id)) > before, timeout=10)
    return sent(api, chat_id)[-1]


def test_done_records_today_and_replies_with_the_streak(api, run_bot):
    runner = start(api, run_bot)
    subscribe(api)
    reminder = fire(api, runner)
    today = datetime.now(UTC).date()
    in_loop(runner, lambda: store_of(runner).mark_done(CHAT, today - timedelta(days=1)))
    before = len(sent(api, CHAT))
    press(api, DONE, reminder["message_id"])
    api.wait_for(lambda: len(sent(api, CHAT)) > before, timeout=10)
    assert "2 days" in sent(api, CHAT)[-1]["text"]
    assert "2 days" in api.calls_to("answerCallbackQuery")[-1].params["text"]
    assert today in in_loop(runner, lambda: store_of(runner).done_days(CHAT))
    streak = ask(api, "/streak")["text"]
    assert "2 days" in streak and streak.count("✅") == 2 and streak.count("▫️") == 5


def test_snooze_sends_one_extra_reminder_with_another_tip(api, run_bot):
    runner = start(api, run_bot)
    subscribe(api)
    reminder = fire(api, runner)
    press(api, SNOOZE_BUTTON, reminder["message_id"])
    assert "hour" in api.calls_to("answerCallbackQuery")[-1].params["text"]
    snooze = reminder_handlers.snooze_job_name(CHAT)
    assert jobs(runner, snooze) == 1
    assert row(runner, CHAT).snooze_at is not None
    make_due(runner, [snooze])
    api.wait_for(lambda: len(reminders(api, CHAT)) == 2, timeout=10)
    first, second = reminders(api, CHAT)
    assert first["text"] != second["text"]
    assert jobs(runner, snooze) == 0 and jobs(runner, name(CHAT)) == 1
    assert row(runner, CHAT).snooze_at is None


def test_remind_menu_shows_setting_and_its_buttons_work(api, run_bot):
    runner = start(api, run_bot)
    menu = ask(api, "/remind")
    assert "no daily reminder" in menu["text"] and "UTC" in menu["text"]
    data = button_data(menu)
    assert "r:t:2100" in data and "r:off" in data
    assert all(len(d.encode()) <= 64 for d in data)
    press(api, "r:t:2100", menu["message_id"])
    api.wait_for(lambda: api.edits(CHAT), timeout=10)
    assert "21:00" in api.edits(CHAT)[-1]["text"]
    assert row(runner, CHAT).remind_at == time(21, 0)
    assert jobs(runner, name(CHAT)) == 1
    assert "21:00" in ask(api, "/remind")["text"]
    press(api, "r:off", menu["message_id"])
    api.wait_for(lambda: "reminders are off" in api.edits(CHAT)[-1]["text"], timeout=10)
    assert jobs(runner, name(CHAT)) == 0
    for forged in ("r:t:2599", "r:nonsense"):
        press(api, forged, menu["message_id"])
        assert "expired" in api.calls_to("answerCallbackQuery")[-1].params["text"]
    assert jobs(runner, name(CHAT)) == 0


def test_timezone_change_reschedules_the_one_job(api, run_bot):
    runner = start(api, run_bot)
    assert "UTC" in ask(api, "/timezone")["text"] and "default" in ask(api, "/timezone")["text"]
    ask(api, "/remind 21:30")
    reply = ask(api, "/timezone europe/berlin")
    assert "Europe/Berlin" in reply["text"] and "21:30" in reply["text"]

    def trigger_zone() -> str:
        [job] = runner.application.job_queue.get_jobs_by_name(name(CHAT))
        return str(job.job.trigger.timezone)
    assert in_loop(runner, trigger_zone) == "Europe/Berlin"
    assert "UTC+02:00" in ask(api, "/timezone +02:00")["text"]
    assert in_loop(runner, trigger_zone) == "UTC+02:00"
    assert jobs(runner, name(CHAT)) == 1


def test_forget_asks_first_then_deletes_only_this_chat(api, run_bot):
    runner = start(api, run_bot)
    subscribe(api, CHAT)
    subscribe(api, OTHER)
    storage = runner.services.storage
    in_loop(runner, lambda: storage.record_feedback(CHAT, 1, "peptides", 1))
    in_loop(runner, lambda: storage.record_feedback(OTHER, 1, "peptides", 1))
    in_loop(runner, lambda: store_of(runner).mark_done(CHAT, datetime.now(UTC).date()))

    confirm = ask(api, "/forget")
    assert button_data(confirm) == [FORGET_YES, FORGET_NO]
    press(api, FORGET_NO, confirm["message_id"])
    api.wait_for(lambda: api.edits(CHAT), timeout=10)
    assert "nothing was deleted" in api.edits(CHAT)[-1]["text"]
    assert row(runner, CHAT).subscribed

    confirm = ask(api, "/forget")
    press(api, FORGET_YES, confirm["message_id"])
    api.wait_for(lambda: "deleted everything" in api.edits(CHAT)[-1]["text"], timeout=10)
    assert row(runner, CHAT).zone is None
    assert not row(runner, CHAT).subscribed
    assert not in_loop(runner, lambda: store_of(runner).done_days(CHAT))
    assert jobs(runner, name(CHAT)) == 0
    assert storage.db.execute("SELECT COUNT(*) FROM feedback WHERE chat_id = ?",
                              (CHAT,)).fetchone()[0] == 0
    assert row(runner, OTHER).subscribed and jobs(runner, name(OTHER)) == 1
    assert storage.db.execute("SELECT COUNT(*) FROM feedback WHERE chat_id = ?",
                              (OTHER,)).fetchone()[0] == 1


GROUP, MEMBER, ADMIN = -1_000_000_077, 5101, 5102


def group_says(api: FakeBotApi, text: str, user_id: int) -> dict[str, Any]:
    return ask(api, text, GROUP, user_id=user_id, chat_type="supergroup")


def test_in_a_group_only_admins_change_or_delete_the_groups_reminder(api, run_bot):
    runner = start(api, run_bot)
    api.set_member_status(GROUP, ADMIN, "administrator")
    assert "every day at" in group_says(api, f"/remind {later_utc()}", ADMIN)["text"]

    for command in ("/remind off", "/remind 07:00", "/timezone Asia/Tokyo", "/forget"):
        reply = group_says(api, command, MEMBER)
        assert "only its admins" in reply["text"], command
    assert row(runner, GROUP).subscribed and row(runner, GROUP).zone is None

    menu = group_says(api, "/remind", MEMBER)  # looking is for everyone
    before = len(api.calls_to("answerCallbackQuery"))
    api.push_callback_query(GROUP, button_data(menu)[-1], message_id=menu["message_id"],
                            user_id=MEMBER)
    api.wait_for(lambda: len(api.calls_to("answerCallbackQuery")) > before, timeout=10)
    refusal = api.calls_to("answerCallbackQuery")[-1].params
    assert "only its admins" in refusal["text"] and refusal.get("show_alert") in (True, "true")
    assert row(runner, GROUP).subscribed

    confirm = group_says(api, "/forget", ADMIN)
    assert button_data(confirm) == [FORGET_YES, FORGET_NO]


@pytest.mark.parametrize(("command", "expected"), [
    ("/remind 25:99", "/remind 21:30"),
    ("/remind tomorrow", "/remind 21:30"),
    ("/remind 21:30 every day", "/remind 21:30"),
    ("/remind 9", "9pm"),
    ("/timezone Mars/Olympus", "/timezone Europe/Berlin"),
    ("/timezone Europe Berlin", "/timezone Europe/Berlin"),
    ("/timezone +25:00", "+02:00"),
])
def test_bad_input_explains_the_right_form_and_changes_nothing(api, run_bot, command,
                                                                expected):
    runner = start(api, run_bot)
    reply = ask(api, command)
    assert "⚠️" in reply["text"] and expected in reply["text"]
    chat = row(runner, CHAT)
    assert chat.zone is None and chat.remind_at is None
    assert jobs(runner, name(CHAT)) == 0


def test_misspelt_zone_gets_a_suggestion(api, run_bot):
    start(api, run_bot)
    assert "/timezone Europe/Berlin ?" in ask(api, "/timezone Europe/Berln")["text"]
