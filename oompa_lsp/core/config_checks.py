"""Decoding `oompa.json` and every check and warning that needs no I/O: `decode_config`
(and `_with_warnings`), `check_config`, `config_warnings`, and decode errors located at a
line:column or key path of the text.

Errors are `ConfigError`s naming the file, where the problem is and what to do; warnings are
`ConfigWarning`s (what the config asks for that will not happen as written). Checks that touch
the disk (prompt files exist, harness binaries) live in `oompa_lsp.adapters.config_file`.

Must not import: anything outside the standard library, msgspec and oompa_lsp.core.
"""

from __future__ import annotations

import re
from collections.abc import Iterator

import msgspec

from .config import (
    BUILTIN_HARNESSES,
    REVIEWER_KEYS,
    Config,
    ConfigWarning,
    PlannerConfig,
    ReviewerEntry,
    ReviewerModel,
    WorkerConfig,
    as_reviewers,
    parse_model_ref,
    review_mode,
    worker_iterations,
    worker_reviewers,
)
from .errors import ConfigError
from .jsonpos import byte_offset_in, char_index, position_at, span_of_path, split_path, without_bom
from .usage_limits import parse_duration

_AT_PATH = re.compile(r" - at `(\$[^`]*)`$")
_UNKNOWN_FIELD = re.compile(r"unknown field `([^`]+)`")
_MISSING_FIELD = re.compile(r"missing required field `([^`]+)`")


def decode_config(data: bytes, source: str) -> Config:
    """Decode and check `oompa.json` content; raises ConfigError with line:column."""
    return decode_config_with_warnings(data, source)[0]


def decode_config_with_warnings(data: bytes, source: str) -> tuple[Config, list[ConfigWarning]]:
    """The checked config, resolved (`max_cycle` read as `iterations`, the review mode
    decided), and what it asks for that will not happen as written."""
    data = without_bom(data)
    text = data.decode("utf-8", errors="replace")
    try:
        config = msgspec.json.decode(data, type=Config)
    except msgspec.DecodeError as exc:
        raise _located_error(str(exc), data, text, source) from None
    check_config(config, text, source)
    warnings = config_warnings(config, text)
    _resolve(config)
    return config, warnings


def _resolve(config: Config) -> None:
    config.review.mode = review_mode(config)
    for worker in config.workers:
        worker.iterations = worker_iterations(worker)


def check_config(config: Config, text: str, source: str) -> None:
    if not config.workers:
        raise _at(
            text, source, ["workers"], "no workers configured", 'add at least one, e.g. {"model": "claude:sonnet"}'
        )
    known = set(BUILTIN_HARNESSES) | set(config.harnesses)
    for index, worker in enumerate(config.workers):
        _check_worker(worker, index, known, text, source)
    for path, reviewer in _reviewer_places(config):
        _check_model(reviewer.model, path, known, text, source)
    if config.planner is not None:
        _check_planner(config.planner, known, text, source)
    _check_spending(config, text, source)
    explicit = config.review.mode
    if explicit in ("model", "model+human") and not any(worker_reviewers(config, w) for w in config.workers):
        raise ConfigError(
            source,
            "review_model",
            f"review.mode is {explicit!r} but no reviewer is set",
            'set "review_model", or "review": {"mode": "human"} or {"mode": "none"}',
        )
    for name, harness in config.harnesses.items():
        if name not in BUILTIN_HARNESSES and not harness.command:
            raise _at(
                text,
                source,
                ["harnesses", name],
                f"custom harness {name!r} has no command",
                'give it "command": ["program", "arg", ...]',
            )


def _reviewer_places(config: Config) -> Iterator[tuple[list[str | int], ReviewerModel]]:
    """(key path, reviewer) of every reviewer written anywhere, used or not."""
    scopes: list[tuple[list[str | int], Config | WorkerConfig]] = [([], config)]
    scopes += [(["workers", i], w) for i, w in enumerate(config.workers)]
    for prefix, scope in scopes:
        for key in REVIEWER_KEYS:
            value = getattr(scope, key)
            for index, reviewer in enumerate(as_reviewers(value)):
                path = [*prefix, key, index] if isinstance(value, list) else [*prefix, key]
                yield [*path, "model"] if not isinstance(_entry_at(value, index), str) else path, reviewer


def _entry_at(value: ReviewerEntry | list[ReviewerEntry], index: int) -> ReviewerEntry:
    return value[index] if isinstance(value, list) else value


def _check_worker(worker: WorkerConfig, index: int, known: set[str], text: str, source: str) -> None:
    path: list[str | int] = ["workers", index]
    _check_model(worker.model, [*path, "model"], known, text, source)
    if worker.iterations is not None and worker.max_cycle is not None:
        raise _at(
            text,
            source,
            [*path, "max_cycle"],
            "both iterations and max_cycle are set; they mean the same (cycles per worker)",
            "keep one of them",
        )
    limits = (
        ("count", worker.count, 1),
        ("iterations", worker.iterations, 1),
        ("max_cycle", worker.max_cycle, 1),
        ("max_resumes", worker.max_resumes, 1),
        ("max_working_resumes", worker.max_working_resumes, 0),
        ("max_wait_for_tasks", worker.max_wait_for_tasks, 0),
        ("wait_between", worker.wait_between, 0),
    )
    for field, value, least in limits:
        if value is not None and value < least:
            raise _at(text, source, [*path, field], f"{field} must be at least {least}, got {value}")
    if worker.timeout_s <= 0:
        raise _at(text, source, [*path, "timeout_s"], "timeout_s must be positive")


def _check_planner(planner: PlannerConfig, known: set[str], text: str, source: str) -> None:
    _check_model(planner.model, ["planner", "model"], known, text, source)
    if planner.max_pending < 1:
        raise _at(
            text, source, ["planner", "max_pending"], f"max_pending must be at least 1, got {planner.max_pending}"
        )
    if planner.timeout_s <= 0:
        raise _at(text, source, ["planner", "timeout_s"], "timeout_s must be positive")


def _check_spending(config: Config, text: str, source: str) -> None:
    """`budget`, `limits` and `prices`: positive limits, a wait that reads as a duration."""
    figures: list[tuple[list[str | int], float | None]] = []
    if config.budget is not None:
        budget = config.budget
        figures += [(["budget", "usd"], budget.usd), (["budget", "tokens"], budget.tokens)]
        figures += [(["budget", "per_task", "usd"], budget.per_task.usd)]
        figures += [(["budget", "per_task", "tokens"], budget.per_task.tokens)]
        if budget.grace_s < 0:
            raise _at(text, source, ["budget", "grace_s"], f"grace_s must be at least 0, got {budget.grace_s}")
    for path, value in figures:
        if value is not None and value <= 0:
            raise _at(text, source, path, f"{_dotted(path)} must be positive, got {value}", "leave it out for no limit")
    wait = config.limits.max_wait
    if (isinstance(wait, str) and parse_duration(wait) is None) or config.limits.max_wait_s() < 0:
        raise _at(
            text, source, ["limits", "max_wait"], f"max_wait {wait!r} is not a duration", 'e.g. "6h", "90 min", 21600'
        )
    for name, price in config.prices.items():
        for part in ("input", "output", "cache_read", "cache_write"):
            value = getattr(price, part)
            if value is not None and value < 0:
                raise _at(text, source, ["prices", name, part], f"a price cannot be negative, got {value}")


def config_warnings(config: Config, text: str) -> list[ConfigWarning]:
    """What the config asks for that will not happen as written (before resolving it)."""
    out = [*_ignored_reviewer_keys(config, text), *_unhonoured_keys(config, text)]
    if review_mode(config) == "none" and config.review.mode is None:
        why = "needs_review is false" if not config.needs_review else "no reviewer is configured"
        out.append(
            ConfigWarning(
                _where(text, ["workers"], key_only=True),
                f"review is off ({why}): work merges without review; "
                'set "review_model" to have a model review every change',
            )
        )
    elif review_mode(config) in ("model", "model+human"):
        for index, worker in enumerate(config.workers):
            if not worker_reviewers(config, worker):
                out.append(
                    ConfigWarning(
                        _where(text, ["workers", index], key_only=False),
                        f"workers[{index}] ({worker.model}) has no reviewer: its work merges without review",
                    )
                )
    return out


def _ignored_reviewer_keys(config: Config, text: str) -> list[ConfigWarning]:
    out = []
    scopes: list[tuple[list[str | int], Config | WorkerConfig]] = [([], config)]
    scopes += [(["workers", i], w) for i, w in enumerate(config.workers)]
    for prefix, scope in scopes:
        present = [key for key in REVIEWER_KEYS if getattr(scope, key) is not None]
        for key in present[1:]:
            out.append(
                ConfigWarning(
                    _where(text, [*prefix, key], key_only=True),
                    f"{_dotted([*prefix, key])} is ignored: {_dotted([*prefix, present[0]])} "
                    "comes first (the original oompa's precedence); keep one",
                )
            )
    return out


def _unhonoured_keys(config: Config, text: str) -> list[ConfigWarning]:
    return [
        ConfigWarning(
            _where(text, ["workers", i, "can_claim_gpu"], key_only=True),
            "can_claim_gpu is not honoured: oompa-lsp does not schedule GPUs, every worker runs as if it were absent",
        )
        for i, worker in enumerate(config.workers)
        if worker.can_claim_gpu is not None
    ]


def _check_model(text_ref: str, path: list[str | int], known: set[str], text: str, source: str) -> None:
    ref = parse_model_ref(text_ref)
    if ref.harness not in known:
        names = ", ".join(sorted(known))
        raise _at(
            text,
            source,
            path,
            f"unknown harness {ref.harness!r} in {text_ref!r}",
            f'use one of {names}, or declare it under "harnesses"',
        )


def _at(text: str, source: str, path: list[str | int], problem: str, hint: str = "") -> ConfigError:
    return ConfigError(source, _where(text, path), problem, hint)


def _where(text: str, path: list[str | int], key_only: bool = False) -> str:
    span = span_of_path(text, path, key_only)
    dotted = _dotted(path)
    if span is None:
        return dotted
    return f"{span.start.line + 1}:{span.start.character + 1} ({dotted})"


def _dotted(path: list[str | int]) -> str:
    out = ""
    for part in path:
        out += f"[{part}]" if isinstance(part, int) else (f".{part}" if out else part)
    return out


def _located_error(message: str, data: bytes, text: str, source: str) -> ConfigError:
    offset = byte_offset_in(message)
    if offset is not None:
        pos = position_at(text, char_index(data, offset))
        problem = _BYTE_SUFFIX.sub("", message)
        return ConfigError(source, f"{pos.line + 1}:{pos.character + 1}", problem, "fix the JSON syntax")
    at = _AT_PATH.search(message)
    path = split_path(at.group(1)) if at else []
    problem = _AT_PATH.sub("", message)
    unknown = _UNKNOWN_FIELD.search(problem)
    if unknown:
        key_path = [*path, unknown.group(1)]
        return ConfigError(
            source,
            _where(text, key_path, key_only=True),
            problem,
            "remove it or check its spelling against docs/config.md",
        )
    if _MISSING_FIELD.search(problem):
        return ConfigError(source, _where(text, path), problem, "add the missing key")
    return ConfigError(source, _where(text, path), problem, "see docs/config.md")


_BYTE_SUFFIX = re.compile(r"\s*\(byte \d+\)")
