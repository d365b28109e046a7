"""Prices and the config keys of spending (oompa_lsp.core.costs, budget/limits/prices in oompa.json)."""

from __future__ import annotations

import pytest

from oompa_lsp.core.config_checks import decode_config
from oompa_lsp.core.costs import Price, price_for, priced
from oompa_lsp.core.errors import ConfigError
from oompa_lsp.core.tasks import Usage


@pytest.mark.parametrize(("harness", "model", "expected"), [
    ("claude", "sonnet", 3.0), ("claude", "claude-sonnet-4-5-20250929", 3.0), ("claude", "opus", 5.0),
    ("claude", "claude-opus-4-1-20250805", 15.0), ("opencode", "anthropic/claude-haiku-4-5", 1.0),
    ("codex", "gpt-5-codex", 1.25), ("gemini", "gemini-2.5-flash", 0.30), ("codex", "o9-preview", None),
])
def test_models_find_their_shipped_price(harness, model, expected):
    price = price_for(harness, model, {})
    assert (price.input if price else None) == expected


def test_the_config_price_comes_first_by_model_or_harness_model():
    mine = {"codex:gpt-5": Price(2, 4), "house": Price(1, 1)}
    assert price_for("codex", "gpt-5", mine) == Price(2, 4)
    assert price_for("mine", "house-large", mine) == Price(1, 1)


def test_tokens_are_priced_with_their_cached_parts():
    usage = Usage(input_tokens=1_000_000, output_tokens=100_000, cache_read_tokens=500_000, cache_write_tokens=100_000)
    # sonnet: 400k uncached at $3, 500k read at $0.30, 100k written at $3.75, 100k out at $15
    assert priced(usage, "claude", "sonnet", {}).cost_usd == pytest.approx(1.2 + 0.15 + 0.375 + 1.5)


def test_the_clis_dollars_stand_and_an_unknown_model_is_named():
    assert priced(Usage(10, 10, 0.5), "claude", "sonnet", {}).cost_usd == 0.5
    assert priced(Usage(10, 10, 0.0), "opencode", "sonnet", {}).cost_usd == pytest.approx(0.00018)
    unknown = priced(Usage(10, 10), "codex", "", {})
    assert unknown.cost_usd is None and unknown.unpriced == ["codex (its default model)"]
    assert Usage(1, 1, unpriced=["a"]).plus(Usage(1, 1, 0.1, unpriced=["a", "b"])).unpriced == ["a", "b"]


BASE = '{"workers": [{"model": "claude:sonnet"}],\n'


@pytest.mark.parametrize(("tail", "where", "says"), [
    ('"budget": {"usd": 0}}', "2:19 (budget.usd)", "must be positive"),
    ('"budget": {"per_task": {"tokens": -5}}}', "2:35 (budget.per_task.tokens)", "must be positive"),
    ('"budget": {"usd": 1, "grace_s": -1}}', "2:33 (budget.grace_s)", "grace_s"),
    ('"limits": {"max_wait": "soon"}}', "2:24 (limits.max_wait)", "not a duration"),
    ('"limits": {"on_usage_limit": "later"}}', "2:30 (limits.on_usage_limit)", "Invalid enum value"),
    ('"prices": {"m": {"input": -1, "output": 1}}}', "2:27 (prices.m.input)", "cannot be negative"),
    ('"budget": {"dollars": 5}}', "2:12 (budget.dollars)", "unknown field"),
])
def test_bad_spending_keys_are_errors_at_their_line_and_column(tail, where, says):
    with pytest.raises(ConfigError) as raised:
        decode_config((BASE + tail).encode(), "oompa.json")
    assert raised.value.where == where and says in str(raised.value)


def test_spending_keys_read_as_written():
    config = decode_config((BASE + '"budget": {"usd": 2.5, "per_task": {"usd": 0.5}}, '
                                   '"limits": {"max_wait": "1 day", "on_usage_limit": "stop"}}').encode(), "oompa.json")
    assert config.budget is not None and config.budget.usd == 2.5 and config.budget.per_task.usd == 0.5
    assert config.limits.max_wait_s() == 86400 and config.limits.on_usage_limit == "stop"
    assert decode_config((BASE + '"limits": {"max_wait": 3600}}').encode(), "x").limits.max_wait_s() == 3600


def test_usage_is_said_with_the_models_whose_cost_is_unknown():
    from oompa_lsp.core.costs import describe_usage
    assert describe_usage(Usage(12_000, 345, 0.0421)) == "12,345 tokens, $0.0421"
    assert describe_usage(Usage(10, 0, 0.5, unpriced=["codex:o9"])) == "10 tokens, $0.5000 + cost unknown for codex:o9 (no price)"
    assert describe_usage(Usage(10, 0, unpriced=["codex:o9"])) == "10 tokens, cost unknown for codex:o9 (no price)"
