"""Waits and usage limits read from what the CLIs print (oompa_lsp.core.usage_limits)."""

from __future__ import annotations

from datetime import datetime
from zoneinfo import ZoneInfo

import pytest

from oompa_lsp.core.usage_limits import (
    describe_limit,
    format_duration,
    is_usage_limit,
    parse_duration,
    usage_limit_in,
    wait_in,
)

LA = ZoneInfo("America/Los_Angeles")
UTC = ZoneInfo("UTC")
# 22:37 in Los Angeles on 4 July 2026
NOW = datetime(2026, 7, 4, 22, 37, tzinfo=LA).timestamp()


@pytest.mark.parametrize(("text", "seconds"), [
    ("20s", 20.0), ("1h 5m", 3900.0), ("5 days 22 hours 11 minutes", 5 * 86400 + 22 * 3600 + 11 * 60),
    ("2 days, 3 hours and 4 minutes", 2 * 86400 + 3 * 3600 + 4 * 60), ("250ms", 0.25), ("3", 3.0),
    ("1 week", 7 * 86400.0), ("2m 22s", 142.0), ("15.5 secs", 15.5), ("nothing", None),
])
def test_durations_are_read_in_their_units_up_to_weeks(text, seconds):
    assert parse_duration(text) == seconds


@pytest.mark.parametrize(("text", "seconds"), [
    ("Please try again in 20s.", 20.0), ("retry-after: 3", 3.0), ("try again in 1h 5m", 3900.0),
    ("You've hit your usage limit. Upgrade to Pro (https://openai.com/chatgpt/pricing) or try again in "
     "5 days 22 hours 11 minutes.", 5 * 86400 + 22 * 3600 + 11 * 60),
    ("Please retry in 15.002899939s.", 15.002899939), ("no hint here", None),
])
def test_a_wait_in_a_message_is_read_with_days(text, seconds):
    assert wait_in(text) == pytest.approx(seconds) if seconds else wait_in(text) is None


def at(zone, *parts) -> float:
    return datetime(*parts, tzinfo=zone).timestamp()


@pytest.mark.parametrize(("text", "resets_at"), [
    ("You've hit your session limit · resets 12:50am (America/Los_Angeles)", at(LA, 2026, 7, 5, 0, 50)),
    ("You've hit your limit · resets 2am (Europe/Berlin)", at(ZoneInfo("Europe/Berlin"), 2026, 7, 6, 2, 0)),
    ("Claude usage limit reached. Your limit will reset at 9am (America/Chicago).",
     at(ZoneInfo("America/Chicago"), 2026, 7, 5, 9, 0)),
    ("Claude AI usage limit reached|1783300000", 1783300000.0),
    ("You've hit your usage limit. Upgrade to Pro (https://openai.com/chatgpt/pricing) or try again in "
     "5 days 22 hours 11 minutes.", NOW + 5 * 86400 + 22 * 3600 + 11 * 60),
    ("You've hit your usage limit. Upgrade to Plus to continue using Codex (https://chatgpt.com/explore/plus), "
     "or try again at Jul 5th, 2026 8:19 PM.", at(UTC, 2026, 7, 5, 20, 19)),
    ('429 {"error":{"type":"usage_limit_reached","message":"The usage limit has been reached",'
     '"plan_type":"plus","resets_at":1783300000,"resets_in_seconds":7200}}', NOW + 7200),
    ('{"error":{"type":"usage_limit_reached","resets_at":1783300000}}', 1783300000.0),
    ("[API Error: You have exhausted your daily quota on this model.]", at(LA, 2026, 7, 5, 0, 0)),
    ("Usage limit reached for all Pro models.", at(LA, 2026, 7, 5, 0, 0)),
    ("Usage limit reached for 5 hour. Your limit will reset at 2026-07-05 03:30:24 [retrying in 2m 22s #8]",
     at(UTC, 2026, 7, 5, 3, 30, 24)),
    ("weekly usage limit reached. It will reset in 5 days 10 hours.", NOW + 5 * 86400 + 10 * 3600),
    ("The usage limit has been reached", None),
])
def test_usage_limits_are_recognised_with_their_reset_in_the_stated_zone(text, resets_at):
    notice = usage_limit_in(text, NOW, local=UTC)
    assert notice is not None
    assert notice.resets_at == (pytest.approx(resets_at) if resets_at is not None else None)


@pytest.mark.parametrize("text", [
    "Error: 429 Too Many Requests. Please try again in 30s.",
    "Attempt 2 failed with status 429. Retrying with backoff...",
    "This request would exceed your account's rate limit. Please try again later.",
    "the agent wrote about limits",
])
def test_short_rate_limits_are_not_usage_limits(text):
    assert not is_usage_limit(text)


def test_a_usage_limit_is_said_with_its_local_reset_and_the_wait():
    resets = at(LA, 2026, 7, 5, 0, 50)
    assert describe_limit("claude", resets, NOW, LA) == "claude: usage limit, resumes 00:50 (in 2 h 13 min)"
    assert "Jul 10" in describe_limit("codex", NOW + 5 * 86400 + 22 * 3600, NOW, LA)
    assert format_duration(45) == "45 s" and format_duration(5 * 86400 + 22 * 3600 + 60) == "5 d 22 h"
