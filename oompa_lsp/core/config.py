"""`oompa.json`: typed Structs, decoding, and every check that needs no I/O.

Compatible with the original tool's keys (`review_model`, `workers[].model/iterations/count/prompt`);
everything else is optional. Errors are `ConfigError`s naming the file, the line and column
(or the key path) and what to do. Checks that touch the disk (prompt files exist, harness
binaries) live in `oompa_lsp.adapters.config_file`.

Must not import: anything outside the standard library, msgspec and oompa_lsp.core.
"""

from __future__ import annotations

import re
from typing import Literal

import msgspec
from msgspec import Struct

from .errors import ConfigError
from .jsonpos import byte_offset_in, char_index, position_at, span_of_path, split_path, without_bom

REASONING_LEVELS = ("minimal", "low", "medium", "high", "xhigh")
BUILTIN_HARNESSES = ("claude", "codex", "gemini", "opencode")
Role = Literal["planner", "executor", "worker"]
ReviewMode = Literal["model", "human", "model+human", "none"]
Strategy = Literal["merge", "rebase", "squash"]

_AT_PATH = re.compile(r" - at `(\$[^`]*)`$")
_UNKNOWN_FIELD = re.compile(r"unknown field `([^`]+)`")
_MISSING_FIELD = re.compile(r"missing required field `([^`]+)`")


class _Strict(Struct, forbid_unknown_fields=True, omit_defaults=True):
    pass


class HarnessConfig(_Strict, frozen=True):
    """Overrides a built-in harness (`command` = its binary and fixed args) or declares a
    custom command harness speaking the contract of DESIGN §6."""

    command: list[str] | None = None
    args: list[str] = []
    env: dict[str, str] = {}


class WorkerConfig(_Strict):
    model: str
    count: int = 1
    iterations: int = 10
    prompt: str | list[str] | None = None
    role: Role | None = None
    timeout_s: float = 1800.0
    max_resumes: int = 3


class ReviewerModel(_Strict):
    model: str
    prompt: str | None = None


class ReviewConfig(_Strict):
    mode: ReviewMode = "model"
    max_attempts: int = 3
    timeout_s: float = 900.0


class MergeConfig(_Strict):
    checks: list[list[str]] = []
    strategy: Strategy = "merge"
    max_conflict_attempts: int = 2
    check_timeout_s: float = 900.0


class WorktreeConfig(_Strict):
    dir: str | None = None
    setup: list[list[str]] = []
    copy: list[str] = []
    reuse: bool = True


class Config(_Strict):
    workers: list[WorkerConfig]
    review_model: str | ReviewerModel | list[str | ReviewerModel] | None = None
    review: ReviewConfig = msgspec.field(default_factory=ReviewConfig)
    merge: MergeConfig = msgspec.field(default_factory=MergeConfig)
    worktree: WorktreeConfig = msgspec.field(default_factory=WorktreeConfig)
    target_branch: str | None = None
    spec: str = "spec.md"
    tasks_dir: str = "tasks"
    task_attempts: int = 3
    harnesses: dict[str, HarnessConfig] = {}


class ModelRef(Struct, frozen=True):
    """`harness:model[:reasoning]`, e.g. `claude:opus`, `codex:gpt-5:high`, `mine:anything`."""

    harness: str
    model: str = ""
    reasoning: str | None = None

    def __str__(self) -> str:
        tail = f":{self.reasoning}" if self.reasoning else ""
        return f"{self.harness}:{self.model}{tail}" if self.model else self.harness


def parse_model_ref(text: str) -> ModelRef:
    harness, _, rest = text.partition(":")
    model, reasoning = rest, None
    head, sep, last = rest.rpartition(":")
    if sep and last in REASONING_LEVELS:
        model, reasoning = head, last
    return ModelRef(harness.strip(), model.strip(), reasoning)


def reviewer_models(config: Config) -> list[ReviewerModel]:
    """`review_model` in any of its shapes, as the ordered list of reviewers to try."""
    raw = config.review_model
    if raw is None:
        return []
    items = raw if isinstance(raw, list) else [raw]
    return [ReviewerModel(model=i) if isinstance(i, str) else i for i in items]


def infer_role(worker: WorkerConfig) -> Role:
    if worker.role:
        return worker.role
    for name in prompt_paths(worker):
        lowered = name.lower()
        if "planner" in lowered:
            return "planner"
        if "executor" in lowered:
            return "executor"
    return "worker"


def prompt_paths(worker: WorkerConfig) -> list[str]:
    if worker.prompt is None:
        return []
    return [worker.prompt] if isinstance(worker.prompt, str) else list(worker.prompt)


def decode_config(data: bytes, source: str) -> Config:
    """Decode and check `oompa.json` content; raises ConfigError with line:column."""
    data = without_bom(data)
    text = data.decode("utf-8", errors="replace")
    try:
        config = msgspec.json.decode(data, type=Config)
    except msgspec.DecodeError as exc:
        raise _located_error(str(exc), data, text, source) from None
    check_config(config, text, source)
    return config


def check_config(config: Config, text: str, source: str) -> None:
    if not config.workers:
        raise _at(text, source, ["workers"], "no workers configured",
                  'add at least one, e.g. {"model": "claude:sonnet"}')
    known = set(BUILTIN_HARNESSES) | set(config.harnesses)
    for index, worker in enumerate(config.workers):
        _check_worker(worker, index, known, text, source)
    for index, reviewer in enumerate(reviewer_models(config)):
        path: list[str | int] = ["review_model"]
        if isinstance(config.review_model, list):
            path.append(index)
        _check_model(reviewer.model, path, known, text, source)
    if config.review.mode in ("model", "model+human") and not reviewer_models(config):
        raise ConfigError(source, "review_model", f"review.mode is {config.review.mode!r} but no review_model is set",
                          'set "review_model", or "review": {"mode": "human"} or {"mode": "none"}')
    for name, harness in config.harnesses.items():
        if name not in BUILTIN_HARNESSES and not harness.command:
            raise _at(text, source, ["harnesses", name], f"custom harness {name!r} has no command",
                      'give it "command": ["program", "arg", ...]')


def _check_worker(worker: WorkerConfig, index: int, known: set[str], text: str, source: str) -> None:
    path: list[str | int] = ["workers", index]
    _check_model(worker.model, [*path, "model"], known, text, source)
    for field, value, least in (("count", worker.count, 1), ("iterations", worker.iterations, 1),
                                ("max_resumes", worker.max_resumes, 0)):
        if value < least:
            raise _at(text, source, [*path, field], f"{field} must be at least {least}, got {value}")
    if worker.timeout_s <= 0:
        raise _at(text, source, [*path, "timeout_s"], "timeout_s must be positive")


def _check_model(text_ref: str, path: list[str | int], known: set[str], text: str, source: str) -> None:
    ref = parse_model_ref(text_ref)
    if ref.harness not in known:
        names = ", ".join(sorted(known))
        raise _at(text, source, path, f"unknown harness {ref.harness!r} in {text_ref!r}",
                  f"use one of {names}, or declare it under \"harnesses\"")


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
        return ConfigError(source, _where(text, key_path, key_only=True), problem,
                           "remove it or check its spelling against docs/config.md")
    if _MISSING_FIELD.search(problem):
        return ConfigError(source, _where(text, path), problem, "add the missing key")
    return ConfigError(source, _where(text, path), problem, "see docs/config.md")


_BYTE_SUFFIX = re.compile(r"\s*\(byte \d+\)")
