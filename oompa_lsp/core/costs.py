"""What a turn cost: the CLI's own dollar figure where it reports one, else tokens times a
price (the shipped defaults below, `prices` in oompa.json over them).

A price is US dollars per million tokens: `input` (uncached prompt), `output`, and
`cache_read` / `cache_write` (default: 10% and 125% of `input`, the providers' usual
ratios). A model is found by its name as written after `harness:` (`claude:sonnet` →
"sonnet"), then as `harness:model`, then by the longest price name it starts with
("claude-sonnet-4-5-20250929" → "claude-sonnet-4-5"), then by family ("opus", "sonnet",
"haiku" anywhere in the name). A provider prefix (`anthropic/claude-sonnet-4-5`, opencode's
form) is dropped. A model with no price is named in `Usage.unpriced`, never guessed.

Must not import: anything outside the standard library, msgspec and oompa_lsp.core.
"""

from __future__ import annotations

from collections.abc import Mapping

import msgspec
from msgspec import Struct

from .tasks import Usage


class Price(Struct, frozen=True, forbid_unknown_fields=True, omit_defaults=True):
    """US dollars per million tokens."""

    input: float
    output: float
    cache_read: float | None = None
    cache_write: float | None = None


# List prices of the models the docs name (and their close kin), per million tokens, as
# published by their providers when this table was written; `prices` in oompa.json wins.
DEFAULT_PRICES: dict[str, Price] = {
    "opus": Price(5.0, 25.0),
    "claude-opus-4-5": Price(5.0, 25.0),
    "claude-opus-4-1": Price(15.0, 75.0),
    "claude-opus-4": Price(15.0, 75.0),
    "sonnet": Price(3.0, 15.0),
    "claude-sonnet-4": Price(3.0, 15.0),
    "haiku": Price(1.0, 5.0),
    "claude-haiku-4-5": Price(1.0, 5.0),
    "gpt-5": Price(1.25, 10.0, cache_read=0.125),
    "gpt-5-codex": Price(1.25, 10.0, cache_read=0.125),
    "gpt-5-mini": Price(0.25, 2.0, cache_read=0.025),
    "gemini-2.5-pro": Price(1.25, 10.0, cache_read=0.125),
    "gemini-2.5-flash": Price(0.30, 2.50, cache_read=0.03),
}
_FAMILIES = ("opus", "sonnet", "haiku")
_PER = 1_000_000


def price_for(harness: str, model: str, prices: Mapping[str, Price]) -> Price | None:
    """The price of `harness:model`: the config's first, then the defaults."""
    name = model.rsplit("/", 1)[-1].strip().lower()
    if not name:
        return None
    for table in (prices, DEFAULT_PRICES):
        for key in (model, f"{harness}:{model}", name):
            if key in table:
                return table[key]
    for table in (prices, DEFAULT_PRICES):
        starts = [key for key in table if name.startswith(key.lower())]
        if starts:
            return table[max(starts, key=len)]
    family = next((f for f in _FAMILIES if f in name), None)
    return DEFAULT_PRICES[family] if family and family in DEFAULT_PRICES else None


def cost_of(usage: Usage, price: Price) -> float:
    cache_read = price.cache_read if price.cache_read is not None else price.input * 0.1
    cache_write = price.cache_write if price.cache_write is not None else price.input * 1.25
    uncached = max(usage.input_tokens - usage.cache_read_tokens - usage.cache_write_tokens, 0)
    dollars = (
        uncached * price.input
        + usage.cache_read_tokens * cache_read
        + usage.cache_write_tokens * cache_write
        + usage.output_tokens * price.output
    )
    return dollars / _PER


def priced(usage: Usage, harness: str, model: str, prices: Mapping[str, Price]) -> Usage:
    """`usage` with its dollars: the CLI's figure when it gave one (a 0 for tokens it could not
    price yields to a price we have), else the table's, else the model named as unpriced."""
    if usage.tokens == 0 and usage.cost_usd is None:
        return usage
    price = price_for(harness, model, prices)
    if usage.cost_usd is not None and (usage.cost_usd > 0 or price is None):
        return usage
    if price is None:
        label = f"{harness}:{model}" if model else f"{harness} (its default model)"
        return msgspec.structs.replace(usage, unpriced=[label])
    return msgspec.structs.replace(usage, cost_usd=round(cost_of(usage, price), 6))


def describe_usage(usage: Usage) -> str:
    """ "12,345 tokens, $0.0421", and the models whose cost is unknown, by name:
    "12,345 tokens, $0.0421 + cost unknown for codex:o9 (no price)"."""
    tokens = f"{usage.tokens:,} tokens"
    unknown = f"cost unknown for {', '.join(usage.unpriced)} (no price)" if usage.unpriced else ""
    if usage.cost_usd is None:
        return f"{tokens}, {unknown}" if unknown else tokens
    return f"{tokens}, ${usage.cost_usd:.4f}" + (f" + {unknown}" if unknown else "")
