"""Time zone names as users and settings give them: IANA names or fixed UTC offsets."""

from __future__ import annotations

import re
from datetime import UTC, timedelta, timezone, tzinfo
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError, available_timezones

_OFFSET = re.compile(r"^(?:utc|gmt)?\s*([+-])(\d{1,2})(?::?(\d{2}))?$", re.IGNORECASE)


def parse_timezone(value: str) -> tzinfo:
    """An IANA zone ("Europe/Berlin"), "UTC", or an offset ("+02:00", "UTC-5").

    Raises ValueError with an example of the right form.
    """
    text = value.strip()
    if text.upper() in ("UTC", "GMT", "Z"):
        return UTC
    offset = _OFFSET.match(text)
    if offset:
        sign, hours, minutes = offset.group(1), int(offset.group(2)), int(offset.group(3) or 0)
        delta = timedelta(hours=hours, minutes=minutes) * (-1 if sign == "-" else 1)
        if minutes >= 60 or not timedelta(hours=-12) <= delta <= timedelta(hours=14):
            raise ValueError(f"'{value}' is not a valid UTC offset; offsets run from -12:00 "
                             "to +14:00, for example +02:00")
        return timezone(delta)
    if re.fullmatch(r"[A-Za-z0-9_+\-]+(/[A-Za-z0-9_+\-]+)*", text) and ".." not in text:
        try:
            return ZoneInfo(_canonical_case(text))
        except (ZoneInfoNotFoundError, ValueError, OSError):
            pass
    raise ValueError(f"'{value}' is not a known time zone; use an IANA name such as "
                     "Europe/Berlin or America/New_York, or a UTC offset such as +02:00")


def zone_name(zone: tzinfo) -> str:
    """The name to store and show: the IANA key, or "UTC+02:00" for fixed offsets."""
    if isinstance(zone, ZoneInfo):
        return zone.key
    offset = zone.utcoffset(None) or timedelta(0)
    if not offset:
        return "UTC"
    minutes = int(offset.total_seconds() // 60)
    sign = "+" if minutes >= 0 else "-"
    return f"UTC{sign}{abs(minutes) // 60:02d}:{abs(minutes) % 60:02d}"


_ZONES_BY_LOWER: dict[str, str] | None = None


def _canonical_case(name: str) -> str:
    """Accept "europe/berlin" as well as "Europe/Berlin"."""
    global _ZONES_BY_LOWER
    if _ZONES_BY_LOWER is None:
        _ZONES_BY_LOWER = {z.lower(): z for z in available_timezones()}
    return _ZONES_BY_LOWER.get(name.lower(), name)
