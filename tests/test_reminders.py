"""Reminders without Telegram: time parsing, due times across DST, the missed-reminder rule,
tip rotation, streaks and the SQLite store, all against an injected clock."""

from __future__ import annotations

import random
from collections.abc import Iterator
from datetime import UTC, date, datetime, time, timedelta
from itertools import pairwise
from pathlib import Path
from types import SimpleNamespace
from zoneinfo import ZoneInfo

import pytest
from apscheduler.triggers.cron import CronTrigger
from hypothesis import given, settings
from hypothesis import strategies as st
from telegram.ext import JobQueue

from bot.reminder_handlers import CLOCK, reminder_job_name, restore_reminders, schedule_reminder
from bot.reminder_store import ReminderStore
from bot.reminders import (
    MISFIRE_GRACE_SECONDS,
    TipCycle,
    already_sent,
    catch_up_due,
    current_streak,
    latest_due,
    local_today,
    next_tip,
    parse_time,
    recent_days,
    should_send,
    suggest_zone,
)
from bot.settings import Settings
from bot.storage import MIGRATIONS, Storage

BERLIN = ZoneInfo("Europe/Berlin")
LOS_ANGELES = ZoneInfo("America/Los_Angeles")
CHAT, OTHER = 11, 22
TIPS = [f"tip-{n}" for n in range(5)]


def utc(*args: int) -> datetime:
    return datetime(*args, tzinfo=UTC)


@pytest.fixture
def storage(tmp_path: Path) -> Iterator[Storage]:
    db = Storage(tmp_path / "bot.sqlite3")
    yield db
    db.close()


@pytest.fixture
def store(storage: Storage) -> ReminderStore:
    return ReminderStore(storage)


# -- parsing -------------------------------------------------------------------

@pytest.mark.parametrize(("text", "expected"), [
    ("21:30", time(21, 30)), ("9:05", time(9, 5)), ("21.30", time(21, 30)),
    ("9pm", time(21, 0)), ("9:30pm", time(21, 30)), ("9:30 PM", time(21, 30)),
    ("9 a.m.", time(9, 0)), ("12am", time(0, 0)), ("12pm", time(12, 0)),
    ("00:00", time(0, 0)), (" 07:45 ", time(7, 45)), ("23:59", time(23, 59)),
])
def test_parse_time_accepts_the_usual_forms(text: str, expected: time) -> None:
    assert parse_time(text) == expected


@pytest.mark.parametrize("text", [
    "25:99", "24:00", "21:60", "tomorrow", "9", "13pm", "0am", "21:3", "21:30:00", "",
    "21:30 tomorrow", "-1:00", "9:30pmx",
])
def test_parse_time_rejects_nonsense_with_an_example(text: str) -> None:
    with pytest.raises(ValueError, match="21:30"):
        parse_time(text)


def test_suggest_zone_fixes_small_typos_only() -> None:
    assert suggest_zone("Europe/Berln") == "Europe/Berlin"
    assert suggest_zone("america/new_yrok") == "America/New_York"
    assert suggest_zone("Mars/Olympus") is None


# -- the missed-reminder rule and due times ------------------------------------

def test_should_send_within_30_minutes_only() -> None:
    due = utc(2025, 1, 1, 21, 30)
    assert should_send(due, due)
    assert should_send(due, due + timedelta(minutes=29, seconds=59))
    assert not should_send(due, due + timedelta(minutes=30))
    assert not should_send(due, due + timedelta(hours=5))
    assert not should_send(due, due - timedelta(seconds=1))  # not due yet


def test_job_settings_implement_the_rule() -> None:
    job = schedule_reminder(JobQueue(), CHAT, time(21, 30), BERLIN)
    assert job.name == reminder_job_name(CHAT) == f"reminder:{CHAT}"
    assert job.job.misfire_grace_time == MISFIRE_GRACE_SECONDS == 1800
    assert job.job.coalesce is True and job.job.max_instances == 1
    assert str(job.job.trigger.timezone) == "Europe/Berlin"


def fire_times(trigger: CronTrigger, start: datetime, count: int) -> list[datetime]:
    """What APScheduler does: each next fire time computed from the previous one."""
    times: list[datetime] = []
    previous, now = None, start
    for _ in range(count):
        fire = trigger.get_next_fire_time(previous, now)
        times.append(fire.astimezone(UTC))
        previous, now = fire, fire
    return times


def trigger_for(at: time) -> CronTrigger:
    """The trigger of the job the bot really schedules (JobQueue not started)."""
    return schedule_reminder(JobQueue(), CHAT, at, BERLIN).job.trigger


def test_dst_spring_forward_keeps_the_local_time() -> None:
    times = fire_times(trigger_for(time(21, 30)), utc(2025, 3, 29, 12), 3)
    assert times == [utc(2025, 3, 29, 20, 30), utc(2025, 3, 30, 19, 30), utc(2025, 3, 31, 19, 30)]
    assert {t.astimezone(BERLIN).time() for t in times} == {time(21, 30)}


def test_dst_fall_back_keeps_the_local_time() -> None:
    times = fire_times(trigger_for(time(21, 30)), utc(2025, 10, 25, 12), 3)
    assert times == [utc(2025, 10, 25, 19, 30), utc(2025, 10, 26, 20, 30),
                     utc(2025, 10, 27, 20, 30)]


def test_a_time_in_the_spring_gap_fires_once_an_hour_later() -> None:
    times = fire_times(trigger_for(time(2, 30)), utc(2025, 3, 29, 12), 2)
    assert times == [utc(2025, 3, 30, 1, 30), utc(2025, 3, 31, 0, 30)]
    assert times[0].astimezone(BERLIN).time() == time(3, 30)  # 02:30 does not exist that day
    assert latest_due(time(2, 30), BERLIN, times[0]) == times[0]
    # Before it, the previous day's reminder is the latest due one, not a phantom 02:30 CEST.
    assert latest_due(time(2, 30), BERLIN, utc(2025, 3, 30, 1, 0)).date() == date(2025, 3, 29)


def test_a_time_in_the_repeated_autumn_hour_fires_twice_but_is_sent_once(
        store: ReminderStore) -> None:
    times = fire_times(trigger_for(time(2, 30)), utc(2025, 10, 25, 12), 3)
    assert times == [utc(2025, 10, 26, 0, 30), utc(2025, 10, 26, 1, 30), utc(2025, 10, 27, 1, 30)]
    store.subscribe(CHAT, time(2, 30))
    dates = [latest_due(time(2, 30), BERLIN, fired).date() for fired in times]
    assert dates == [date(2025, 10, 26), date(2025, 10, 26), date(2025, 10, 27)]
    assert [store.claim_daily(CHAT, day) for day in dates] == [True, False, True]


def test_a_late_reminder_belongs_to_the_day_it_was_due() -> None:
    due = latest_due(time(23, 50), BERLIN, datetime(2025, 5, 2, 0, 10, tzinfo=BERLIN))
    assert due == datetime(2025, 5, 1, 23, 50, tzinfo=BERLIN)
    assert should_send(due, datetime(2025, 5, 2, 0, 10, tzinfo=BERLIN))


def test_catch_up_only_when_missed_recently_and_not_sent() -> None:
    now = utc(2025, 6, 1, 21, 40)
    assert catch_up_due(time(21, 30), UTC, now, None) == utc(2025, 6, 1, 21, 30)
    assert catch_up_due(time(21, 30), UTC, now, date(2025, 5, 31)) is not None
    assert catch_up_due(time(21, 30), UTC, now, date(2025, 6, 1)) is None  # already sent
    assert catch_up_due(time(21, 0), UTC, now, None) is None  # 40 minutes late
    assert catch_up_due(time(21, 45), UTC, now, None) is None  # yesterday's: a day late
    assert already_sent(date(2025, 6, 1), date(2025, 6, 1))
    assert not already_sent(None, date(2025, 6, 1))


async def test_restore_schedules_every_subscription_once_and_catches_up(
        storage: Storage, store: ReminderStore) -> None:
    now = utc(2025, 6, 1, 21, 40)
    for chat_id, at in ((1, time(21, 30)), (2, time(21, 0)), (3, time(21, 30)), (4, time(8))):
        store.set_zone(chat_id, "UTC")
        store.subscribe(chat_id, at)
    store.claim_daily(3, date(2025, 6, 1))  # chat 3 got today's reminder before the restart
    store.unsubscribe(4)
    store.set_snooze(5, now + timedelta(minutes=10))
    store.set_snooze(6, now - timedelta(hours=2))
    services = SimpleNamespace(storage=storage, settings=Settings())
    job_queue = JobQueue()
    application = SimpleNamespace(job_queue=job_queue,
                                  bot_data={"services": services, CLOCK: lambda: now})
    assert await restore_reminders(application) == 3
    assert await restore_reminders(application) == 3  # again: replaced, not added

    def first_run(name: str) -> datetime | None:
        [job] = job_queue.get_jobs_by_name(name)
        return getattr(job.job, "next_run_time", None)  # set only for a catch-up
    assert first_run("reminder:1") == utc(2025, 6, 1, 21, 30)  # 10 minutes late: sent now
    assert first_run("reminder:2") is None  # 40 minutes late: skipped until tomorrow
    assert first_run("reminder:3") is None  # sent before the restart
    assert not job_queue.get_jobs_by_name("reminder:4")
    assert len(job_queue.get_jobs_by_name("snooze:5")) == 1
    assert not job_queue.get_jobs_by_name("snooze:6")
    assert store.get(6).snooze_at is None
    assert len(job_queue.jobs()) == 4


# -- tips ------------------------------------------------------------------------

@settings(max_examples=100, deadline=None, database=None)
@given(count=st.integers(min_value=1, max_value=16), seed=st.integers())
def test_tips_never_repeat_in_a_row_and_all_come_before_repeats(count: int, seed: int) -> None:
    ids = [f"t{n}" for n in range(count)]
    rng, cycle, sequence = random.Random(seed), TipCycle(), []
    for _ in range(3 * count):
        tip, cycle = next_tip(ids, cycle, rng)
        sequence.append(tip)
    if count > 1:
        assert all(a != b for a, b in pairwise(sequence))
    for start in range(0, 3 * count, count):
        assert sorted(sequence[start:start + count]) == sorted(ids)


def test_tips_added_or_removed_mid_cycle() -> None:
    rng = random.Random(1)
    first, cycle = next_tip(["a", "b", "c"], TipCycle(), rng)
    rest = [t for t in ("a", "b", "c") if t != first]
    ids = [*rest[:1], "d"]  # rest[1] removed, "d" added
    seen = []
    for _ in range(2):
        tip, cycle = next_tip(ids, cycle, rng)
        seen.append(tip)
    assert sorted(seen) == sorted(ids)
    assert next_tip([], cycle, rng) == (None, cycle)


def test_tip_rotation_is_stored_and_survives_reopening(tmp_path: Path) -> None:
    path = tmp_path / "bot.sqlite3"
    storage = Storage(path)
    sent = [ReminderStore(storage).next_tip(CHAT, TIPS, random.Random(7)) for _ in range(3)]
    storage.close()
    storage = Storage(path)
    store = ReminderStore(storage)
    sent += [store.next_tip(CHAT, TIPS, random.Random(7)) for _ in range(2 * len(TIPS))]
    assert store.next_tip(OTHER, []) is None
    storage.close()
    assert sorted(sent[:5]) == sorted(TIPS) and sorted(sent[5:10]) == sorted(TIPS)
    assert all(a != b for a, b in pairwise(sent))


# -- streaks -------------------------------------------------------------------

def days(*pairs: tuple[int, int]) -> set[date]:
    return {date(2025, month, day) for month, day in pairs}


def test_streak_counts_consecutive_days() -> None:
    done = days((5, 1), (5, 2), (5, 3))
    assert current_streak(done, date(2025, 5, 3)) == 3
    assert current_streak(done, date(2025, 5, 4)) == 3  # today still open: not broken yet
    assert current_streak(done, date(2025, 5, 5)) == 0  # a whole day missed
    assert current_streak(set(), date(2025, 5, 5)) == 0


def test_a_gap_breaks_the_streak() -> None:
    assert current_streak(days((5, 1), (5, 2), (5, 4), (5, 5)), date(2025, 5, 5)) == 2


def test_streak_across_month_year_and_leap_day_boundaries() -> None:
    assert current_streak(days((1, 30), (1, 31), (2, 1)), date(2025, 2, 1)) == 3
    assert current_streak({date(2024, 12, 31), date(2025, 1, 1)}, date(2025, 1, 1)) == 2
    leap = {date(2024, 2, 28), date(2024, 2, 29), date(2024, 3, 1)}
    assert current_streak(leap, date(2024, 3, 1)) == 3


def test_recent_days_lists_the_last_week_oldest_first() -> None:
    week = recent_days(days((4, 28), (5, 1)), date(2025, 5, 1))
    assert [d for d, _ in week] == [date(2025, 4, 25) + timedelta(days=n) for n in range(7)]
    assert [done for _, done in week] == [False, False, False, True, False, False, True]


def test_today_is_the_chats_local_date(store: ReminderStore) -> None:
    now = utc(2025, 1, 31, 23, 30)
    assert local_today(BERLIN, now) == date(2025, 2, 1)
    assert local_today(LOS_ANGELES, now) == date(2025, 1, 31)
    store.mark_done(CHAT, date(2025, 1, 31))
    store.mark_done(CHAT, local_today(BERLIN, now))
    store.mark_done(CHAT, local_today(BERLIN, now))  # tapping twice counts once
    assert current_streak(store.done_days(CHAT), local_today(BERLIN, now)) == 2
    assert store.done_days(CHAT, until=date(2025, 1, 31)) == {date(2025, 1, 31)}


# -- the store -------------------------------------------------------------------

def test_migration_is_appended_and_reopening_is_harmless(tmp_path: Path) -> None:
    path = tmp_path / "bot.sqlite3"
    for _ in range(2):
        storage = Storage(path)
        assert storage.db.execute("PRAGMA user_version").fetchone()[0] == len(MIGRATIONS) >= 2
        storage.close()


def test_subscribe_change_unsubscribe(store: ReminderStore) -> None:
    assert not store.get(CHAT).subscribed and store.scheduled() == []
    store.subscribe(CHAT, time(21, 30))
    assert store.claim_daily(CHAT, date(2025, 6, 1))
    store.subscribe(CHAT, time(21, 30))  # same time: today's reminder stays sent
    assert store.get(CHAT).last_sent_date == date(2025, 6, 1)
    store.subscribe(CHAT, time(8, 0))  # a new time starts afresh
    chat = store.get(CHAT)
    assert chat.remind_at == time(8, 0) and chat.last_sent_date is None
    assert [c.chat_id for c in store.scheduled()] == [CHAT]
    assert store.unsubscribe(CHAT) and not store.unsubscribe(CHAT)
    assert store.scheduled() == []


def test_claim_daily_once_per_date_and_release(store: ReminderStore) -> None:
    assert not store.claim_daily(CHAT, date(2025, 6, 1))  # not subscribed
    store.subscribe(CHAT, time(21, 30))
    assert store.claim_daily(CHAT, date(2025, 6, 1))
    assert not store.claim_daily(CHAT, date(2025, 6, 1))
    store.release_daily(CHAT, date(2025, 6, 1), None)  # the send failed
    assert store.claim_daily(CHAT, date(2025, 6, 1))
    assert store.claim_daily(CHAT, date(2025, 6, 2))


def test_forget_deletes_every_row_of_that_chat_only(storage: Storage,
                                                    store: ReminderStore) -> None:
    for chat_id in (CHAT, OTHER):
        store.set_zone(chat_id, "Europe/Berlin")
        store.subscribe(chat_id, time(21, 30))
        store.set_snooze(chat_id, utc(2025, 6, 1, 22))
        store.next_tip(chat_id, TIPS)
        store.mark_done(chat_id, date(2025, 6, 1))
        storage.record_feedback(chat_id, 7, "peptides", 1)
    before = {table: count_rows(storage, table, OTHER)
              for table in ("reminder_chats", "reminder_days", "feedback")}
    store.forget(CHAT)
    for table in ("reminder_chats", "reminder_days", "feedback"):
        assert count_rows(storage, table, CHAT) == 0
    assert {table: count_rows(storage, table, OTHER) for table in before} == before
    assert store.get(CHAT) == type(store.get(CHAT))(CHAT)


def count_rows(storage: Storage, table: str, chat_id: int) -> int:
    assert table in ("reminder_chats", "reminder_days", "feedback")
    return storage.db.execute(f"SELECT COUNT(*) FROM {table} WHERE chat_id = ?",  # noqa: S608
                              (chat_id,)).fetchone()[0]


def test_a_migrated_group_keeps_its_reminders(store: ReminderStore) -> None:
    store.subscribe(-5, time(20, 0))
    store.mark_done(-5, date(2025, 6, 1))
    store.move_chat(-5, -1005)
    assert store.get(-1005).remind_at == time(20, 0)
    assert store.done_days(-1005) == {date(2025, 6, 1)}
    assert not store.get(-5).subscribed and not store.done_days(-5)
