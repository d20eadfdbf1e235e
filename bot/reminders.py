"""Daily reminders, the pure part: time parsing, due times, tip rotation and streaks.

No Telegram imports and no clock of its own: every function that needs "now" takes it
as an argument, so tests run against any date (DST changes included) without sleeping.

Missed-reminder rule
--------------------
A daily reminder that was due while the bot was down, or while the event loop was too
busy to run it on time, is still sent when it is less than ``MISSED_GRACE`` (30 minutes)
late; a later one is skipped and the chat gets the next day's reminder as usual. At
start-up ``should_send`` decides for the most recent due time (the bot then sends it at
once); while running, APScheduler applies the same limit through the job's
``misfire_grace_time`` (``MISFIRE_GRACE_SECONDS``), with ``coalesce`` so that several
missed runs collapse into one. A snoozed reminder follows the same rule.

At most one daily reminder per local date
-----------------------------------------
Each chat records the local date of its last daily reminder, and a second one due on the
same local date is skipped (``already_sent``). That covers the autumn DST change, when a
time in the repeated hour (02:30 in Europe/Berlin) occurs twice and APScheduler's cron
trigger fires at both instants, and a catch-up send at start-up racing the regular one.
Choosing a different reminder time starts afresh: the new time may fire the same day.
In the spring gap a time that does not exist (02:30 on the last Sunday of March in Berlin)
fires once, an hour later by the wall clock (03:30 CEST), like APScheduler computes it.
"""

from __future__ import annotations

import random
import re
from collections.abc import Collection, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta, tzinfo
from difflib import get_close_matches
from functools import cache
from zoneinfo import available_timezones

MISSED_GRACE = timedelta(minutes=30)
MISFIRE_GRACE_SECONDS = int(MISSED_GRACE.total_seconds())
SNOOZE = timedelta(hours=1)
HISTORY_DAYS = 7

TIME_EXAMPLE = "21:30 (24-hour), 9:05, 21.30, 9pm or 9:30pm"
_TIME = re.compile(r"^(\d{1,2})(?:[:.](\d{2}))?\s*(?:([ap])\.?m\.?)?$", re.IGNORECASE)


# -- times ---------------------------------------------------------------------

def parse_time(text: str) -> time:
    """A time of day as people type it: 21:30, 9:05, 21.30, 9pm, 9:30pm.

    A bare number ("9") is refused: morning or evening would be a guess.
    Raises ValueError naming the accepted forms.
    """
    match = _TIME.match(text.strip())
    error = ValueError(f"'{text.strip()}' is not a time I understand; write it like "
                       f"{TIME_EXAMPLE}")
    if match is None:
        raise error
    hour, minute = int(match.group(1)), int(match.group(2) or 0)
    meridiem = (match.group(3) or "").lower()
    if not meridiem and match.group(2) is None:
        raise error
    if meridiem:
        if not 1 <= hour <= 12:
            raise error
        hour = hour % 12 + (12 if meridiem == "p" else 0)
    if hour > 23 or minute > 59:
        raise error
    return time(hour, minute)


def format_time(value: time) -> str:
    return f"{value.hour:02d}:{value.minute:02d}"


def local_today(zone: tzinfo, now: datetime) -> date:
    return now.astimezone(zone).date()


def latest_due(at: time, zone: tzinfo, now: datetime) -> datetime:
    """The most recent instant, not after ``now``, at which a daily ``at`` reminder was due.

    Returned in ``zone``, so its ``.date()`` is the local date the reminder belongs to,
    also when it fires after midnight (23:50 sent at 00:10) or in the repeated DST hour.
    """
    today = local_today(zone, now)
    candidates = []
    for days_back in range(3):
        day = today - timedelta(days=days_back)
        naive = datetime.combine(day, at.replace(tzinfo=None))
        for fold in (0, 1):  # fold=1: the second occurrence in the repeated autumn hour
            instant = naive.replace(tzinfo=zone, fold=fold).astimezone(UTC)
            # In the spring gap only fold=0 counts: it is the instant APScheduler picks.
            exists = instant.astimezone(zone).replace(tzinfo=None) == naive
            # Compare in UTC: aware datetimes of one zone compare by wall clock, ignoring fold.
            if (fold == 0 or exists) and instant <= now.astimezone(UTC):
                candidates.append(instant)
    return max(candidates).astimezone(zone)


def should_send(due: datetime, now: datetime) -> bool:
    """The missed-reminder rule: send when due and less than MISSED_GRACE late."""
    late = now - due
    return timedelta(0) <= late < MISSED_GRACE


def already_sent(last_sent: date | None, due_date: date) -> bool:
    """At most one daily reminder per local date (see the module docstring)."""
    return last_sent is not None and last_sent >= due_date


def catch_up_due(at: time, zone: tzinfo, now: datetime, last_sent: date | None) -> datetime | None:
    """At start-up: the missed due time to send now, or None when there is nothing to catch up."""
    due = latest_due(at, zone, now)
    if should_send(due, now) and not already_sent(last_sent, due.date()):
        return due
    return None


# -- time zones ----------------------------------------------------------------

@cache
def _zone_names() -> tuple[str, ...]:
    return tuple(sorted(available_timezones()))


def suggest_zone(text: str) -> str | None:
    """The closest IANA name to a misspelt one ("Europe/Berln"), or None."""
    names = _zone_names()
    lowered = {name.lower(): name for name in names}
    guess = get_close_matches(text.strip().lower(), list(lowered), n=1, cutoff=0.8)
    return lowered[guess[0]] if guess else None


# -- tips ----------------------------------------------------------------------

@dataclass(frozen=True)
class TipCycle:
    """A chat's pass through the tips: a shuffled order and how many of it were sent."""

    order: tuple[str, ...] = ()
    position: int = 0

    @property
    def last(self) -> str | None:
        return self.order[self.position - 1] if 0 < self.position <= len(self.order) else None


def next_tip(tip_ids: Sequence[str], cycle: TipCycle,
             rng: random.Random | None = None) -> tuple[str | None, TipCycle]:
    """The next tip for a chat and its new cycle.

    Every tip comes once before any comes again, and a new cycle never starts with the
    tip that ended the previous one, so no chat sees the same tip twice in a row. Tips
    added to the knowledge base join the current cycle; removed ones are dropped.
    """
    if not tip_ids:
        return None, cycle
    known = set(tip_ids)
    shown = list(cycle.order[:cycle.position])
    remaining = [t for t in cycle.order[cycle.position:] if t in known]
    remaining += [t for t in tip_ids if t not in cycle.order]
    if not remaining:
        rng = rng or random.Random()
        remaining = list(tip_ids)
        rng.shuffle(remaining)
        if len(remaining) > 1 and remaining[0] == cycle.last:
            remaining[0], remaining[1] = remaining[1], remaining[0]
        shown = []
    order = tuple(shown + remaining)
    return order[len(shown)], TipCycle(order, len(shown) + 1)


# -- streaks -------------------------------------------------------------------

def current_streak(days: Collection[date], today: date) -> int:
    """Consecutive done days ending today, or yesterday while today is still open."""
    day = today if today in days else today - timedelta(days=1)
    streak = 0
    while day in days:
        streak += 1
        day -= timedelta(days=1)
    return streak


def recent_days(days: Collection[date], today: date,
                count: int = HISTORY_DAYS) -> list[tuple[date, bool]]:
    """The last ``count`` days, oldest first, each with whether it was done."""
    return [(day, day in days)
            for day in (today - timedelta(days=back) for back in range(count - 1, -1, -1))]
