"""Reading waits and plan limits from what the agent CLIs say: durations with units up to
days, and usage-limit notices with their reset time, read in the time zone they state.

A *rate limit* is short (seconds to minutes: the turn is retried after a backoff); a *usage
limit* is the plan's or the quota's (hours to days: every worker on that harness waits for
the reset). The texts recognised, as the CLIs print them:

- claude: "You've hit your session limit · resets 12:50am (America/Los_Angeles)", "You've hit
  your limit · resets 2am (Europe/Berlin)", "You're out of extra usage · resets 7pm (...)",
  "Claude usage limit reached. Your limit will reset at 9am (America/Chicago).", and the older
  "Claude AI usage limit reached|1750708800" (the reset as epoch seconds);
- codex: "You've hit your usage limit. ... try again in 5 days 22 hours 11 minutes." or
  "... try again at Jul 5th, 2026 8:19 PM." (the machine's local time), and the API body
  `{"error": {"type": "usage_limit_reached", "resets_at": 1775317531, "resets_in_seconds": 602705}}`;
- gemini: "You have exhausted your daily quota on this model.", "Usage limit reached for all
  Pro models.", "You have reached your daily quota limit" (no time: daily quotas reset at
  midnight Pacific time);
- opencode: "Usage limit reached for 5 hour. Your limit will reset at 2026-04-11 20:30:24",
  "weekly usage limit reached. It will reset in 5 days 10 hours.", "Free usage exceeded",
  "FreeUsageLimitError".

Must not import: anything outside the standard library, msgspec and oompa_lsp.core.
"""

from __future__ import annotations

import re
from datetime import datetime, timedelta, tzinfo
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from msgspec import Struct

_UNITS: tuple[tuple[str, float], ...] = (
    ("ms", 0.001),
    ("milli", 0.001),
    ("w", 7 * 86400.0),
    ("d", 86400.0),
    ("h", 3600.0),
    ("m", 60.0),
    ("s", 1.0),
)
_UNIT = r"(?:ms|milliseconds?|s|secs?|seconds?|m|mins?|minutes?|h|hrs?|hours?|d|days?|w|weeks?)(?![a-z])"
_NUMBER = r"\d+(?:\.\d+)?"
_PAIR = re.compile(rf"({_NUMBER})\s*({_UNIT})?", re.IGNORECASE)
# One duration: "20s", "1h 5m", "5 days 22 hours 11 minutes", "2 days, 3 hours and 4 minutes", "3".
DURATION = rf"{_NUMBER}\s*(?:{_UNIT})?(?:(?:\s*,\s*|\s+and\s+|\s*){_NUMBER}\s*{_UNIT})*"
_WAIT_LEAD = re.compile(
    rf"(?i)(?:retry[- _]after(?:[- _]ms)?|try again in|retry in|resets? in|retrying in|reset in)"
    rf"[\"':=\s]{{0,4}}({DURATION})"
)
# Pacific time: when Google's daily quotas reset, for a notice that names no time.
_DAILY_QUOTA_ZONE = "America/Los_Angeles"
UNKNOWN_RESET_WAIT_S = 1800.0  # a limit that names no reset: look again after this long


class LimitNotice(Struct, frozen=True):
    """A plan or quota limit a CLI reported: its text and when it resets (None: not said)."""

    message: str
    resets_at: float | None = None  # epoch seconds


# --- durations ---------------------------------------------------------------------------


def parse_duration(text: str) -> float | None:
    """Seconds in a duration ("20s", "1h 5m", "5 days 22 hours 11 minutes"); a bare number is
    seconds; None when the text has no number."""
    pairs = _PAIR.findall(text)
    if not pairs:
        return None
    return sum(float(number) * _unit_seconds(unit) for number, unit in pairs)


def _unit_seconds(unit: str) -> float:
    lowered = unit.lower()
    if not lowered:
        return 1.0
    return next(seconds for prefix, seconds in _UNITS if lowered.startswith(prefix))


def wait_in(text: str) -> float | None:
    """Seconds to wait, when the text says so ("try again in 20s", "retry-after: 3",
    "in 1h 5m", "try again in 5 days 22 hours 11 minutes"); the last such mention wins."""
    matches = list(_WAIT_LEAD.finditer(text))
    return parse_duration(matches[-1].group(1)) if matches else None


def format_duration(seconds: float) -> str:
    """A wait as a person says it: "45 s", "2 h 13 min", "5 d 22 h"."""
    total = max(round(seconds), 0)
    days, rest = divmod(total, 86400)
    hours, rest = divmod(rest, 3600)
    minutes, secs = divmod(rest, 60)
    if days:
        return f"{days} d {hours} h" if hours else f"{days} d"
    if hours:
        return f"{hours} h {minutes} min" if minutes else f"{hours} h"
    if minutes:
        return f"{minutes} min"
    return f"{secs} s"


# --- recognising a usage limit ------------------------------------------------------------

_USAGE_LIMIT = re.compile(
    r"(?i)hit your (?:\w+ )?limit|you're out of (?:extra )?usage|usage limit (?:has been )?reached|"
    r"usage[_ ]limit[_ ]reached|the usage limit has been reached|exhausted your (?:\w+ )?quota|"
    r"reached your daily (?:[\w.-]+ )?quota limit|free usage (?:limit )?exceeded|freeusagelimiterror|"
    r"\"?resets_(?:at|in_seconds)\"?\s*:|quota exceeded for quota metric '[^']*per day"
)


def is_usage_limit(text: str) -> bool:
    """The text reports a plan or quota limit (not a short rate limit)."""
    return bool(_USAGE_LIMIT.search(text))


def usage_limit_in(text: str, now: float, local: tzinfo | None = None) -> LimitNotice | None:
    """The usage limit the text reports, with its reset as epoch seconds when it says one.
    `local` is the zone for times stated without one (default: the machine's)."""
    if not is_usage_limit(text):
        return None
    zone = local or datetime.fromtimestamp(now).astimezone().tzinfo
    assert zone is not None
    message = " ".join(text.split())[:300]
    return LimitNotice(message=message, resets_at=reset_time(text, now, zone))


_RESETS_IN_SECONDS = re.compile(r"\"?resets_in_seconds\"?\s*:\s*(\d+(?:\.\d+)?)")
_RESETS_AT_EPOCH = re.compile(r"\"?resets_at\"?\s*:\s*\"?(\d{9,13})\b")
_RESETS_AT_ISO = re.compile(r"\"?resets_at\"?\s*:\s*\"(\d{4}-\d\d-\d\dT[^\"]+)\"")
_PIPE_EPOCH = re.compile(r"(?i)usage limit reached\|(\d{9,13})")
_IN_DURATION = re.compile(rf"(?i)(?:try again in|resets? in|reset in)\s+({DURATION})")
_MONTHS = "jan|feb|mar|apr|may|jun|jul|aug|sep|oct|nov|dec"
_AT_DATE = re.compile(
    rf"(?i)(?:try again|resets?|reset) at\s+((?:{_MONTHS})[a-z]*\.? \d{{1,2}}(?:st|nd|rd|th)?,? \d{{4}},?"
    r"\s+\d{1,2}:\d\d\s*[ap]\.?m\.?)"
)
_AT_ISO_LOCAL = re.compile(r"(?i)(?:reset|resets) at\s+(\d{4}-\d\d-\d\d[ T]\d\d:\d\d(?::\d\d)?)")
_CLOCK = re.compile(
    rf"(?i)(?:resets?|reset at|reset)\s+(?:at\s+)?(?:((?:{_MONTHS})[a-z]* \d{{1,2}}),?\s+(?:at\s+)?)?"
    r"(\d{1,2})(?::(\d\d))?\s*([ap])\.?m\.?(?:\s*\(([A-Za-z_]+(?:/[A-Za-z_+-]+)*)\))?"
)
_DAILY = re.compile(r"(?i)daily|per day|exhausted your (?:\w+ )?quota|for all pro models|usage limit reached for")


def reset_time(text: str, now: float, local: tzinfo) -> float | None:
    """When the limit the text reports resets (epoch seconds), or None when it does not say."""
    for read in (_from_api_body, _from_duration, _from_date, _from_clock):
        found = read(text, now, local)
        if found is not None:
            return found
    if _DAILY.search(text) and re.search(r"(?i)quota|pro models|usage limit reached for", text):
        return _next_clock(now, 0, 0, ZoneInfo(_DAILY_QUOTA_ZONE))
    return None


def _from_api_body(text: str, now: float, local: tzinfo) -> float | None:
    if match := _RESETS_IN_SECONDS.search(text):
        return now + float(match.group(1))
    if match := _RESETS_AT_EPOCH.search(text) or _PIPE_EPOCH.search(text):
        value = float(match.group(1))
        return value / 1000 if value > 1e11 else value  # milliseconds
    if match := _RESETS_AT_ISO.search(text):
        try:
            return datetime.fromisoformat(match.group(1).replace("Z", "+00:00")).timestamp()
        except ValueError:
            return None
    return None


def _from_duration(text: str, now: float, local: tzinfo) -> float | None:
    match = _IN_DURATION.search(text)
    seconds = parse_duration(match.group(1)) if match else None
    return now + seconds if seconds is not None else None


def _from_date(text: str, now: float, local: tzinfo) -> float | None:
    if match := _AT_DATE.search(text):
        cleaned = re.sub(r"(\d)(st|nd|rd|th)", r"\1", match.group(1), flags=re.IGNORECASE)
        cleaned = re.sub(r"[,.]", " ", cleaned).replace("a m", "am").replace("p m", "pm")
        cleaned = " ".join(cleaned.split()).upper()
        for form in ("%b %d %Y %I:%M %p", "%B %d %Y %I:%M %p"):
            try:
                return datetime.strptime(cleaned, form).replace(tzinfo=local).timestamp()
            except ValueError:
                continue
    if match := _AT_ISO_LOCAL.search(text):
        try:
            return datetime.fromisoformat(match.group(1)).replace(tzinfo=local).timestamp()
        except ValueError:
            return None
    return None


def _from_clock(text: str, now: float, local: tzinfo) -> float | None:
    match = _CLOCK.search(text)
    if match is None:
        return None
    day, hour, minute, half, zone_name = match.groups()
    zone = _zone(zone_name) or local
    hour24 = int(hour) % 12 + (12 if half.lower() == "p" else 0)
    if day:
        return _on_day(day, hour24, int(minute or 0), now, zone)
    return _next_clock(now, hour24, int(minute or 0), zone)


def _zone(name: str | None) -> tzinfo | None:
    if not name:
        return None
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        return None


def _next_clock(now: float, hour: int, minute: int, zone: tzinfo) -> float:
    """The first time at hour:minute in `zone` after `now`."""
    here = datetime.fromtimestamp(now, zone)
    candidate = here.replace(hour=hour, minute=minute, second=0, microsecond=0)
    if candidate.timestamp() <= now:
        candidate = (candidate + timedelta(days=1)).replace(hour=hour, minute=minute)
    return candidate.timestamp()


def _on_day(day: str, hour: int, minute: int, now: float, zone: tzinfo) -> float | None:
    """ "Jul 7" at hour:minute in `zone`: this year, or next year when that is past."""
    here = datetime.fromtimestamp(now, zone)
    try:
        parsed = datetime.strptime(f"{day[:3].title()} {day.split()[-1]} {here.year}", "%b %d %Y")
    except ValueError:
        return None
    when = parsed.replace(hour=hour, minute=minute, tzinfo=zone)
    if when.timestamp() < now - 86400:
        when = when.replace(year=here.year + 1)
    return when.timestamp()


# --- saying it ----------------------------------------------------------------------------


def describe_limit(harness: str, resets_at: float | None, now: float, local: tzinfo | None = None) -> str:
    """ "claude: usage limit, resumes 00:50 (in 2 h 13 min)" — in the viewer's local time."""
    if resets_at is None:
        return (
            f"{harness}: usage limit, reset time not given (trying again every {format_duration(UNKNOWN_RESET_WAIT_S)})"
        )
    zone = local or datetime.fromtimestamp(now).astimezone().tzinfo
    when = datetime.fromtimestamp(resets_at, zone)
    same_day = resets_at - now < 86400
    clock = when.strftime("%H:%M") if same_day else when.strftime("%b %d %H:%M")
    return f"{harness}: usage limit, resumes {clock} (in {format_duration(resets_at - now)})"
