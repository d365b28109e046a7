"""`oompa.json`: typed Structs, decoding, and every check that needs no I/O.

Compatible with the original tool's keys (`review_model`, `workers[].model/iterations/count/prompt`);
everything else is optional. Errors are `ConfigError`s naming the file, the line and column
(or the key path) and what to do. Checks that touch the disk (prompt files exist, harness
binaries) live in `oompa_lsp.adapters.config_file`.

Must not import: anything outside the standard library, msgspec and oompa_lsp.core.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import Any, Literal

import msgspec
from msgspec import Struct

from .errors import ConfigError
from .jsonpos import byte_offset_in, char_index, position_at, span_of_path, split_path, without_bom

REASONING_LEVELS = ("minimal", "low", "medium", "high", "max", "xhigh")
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


class ReviewerModel(_Strict):
    model: str
    prompt: str | list[str] | None = None


# A reviewer as the config may write it: a model string or {model, prompt}.
ReviewerEntry = str | ReviewerModel


class WorkerConfig(_Strict):
    model: str
    count: int = 1
    iterations: int | None = None     # ours; the original's name is max_cycle (one of them, not both)
    max_cycle: int | None = None
    prompt: str | list[str] | None = None
    role: Role | None = None
    timeout_s: float = 1800.0
    # The original's two limits, with its meaning and defaults (docs/config.md, "Coming from oompa"):
    max_working_resumes: int = 5      # resumes of a turn that ended without a signal (the last one nudges)
    max_resumes: int = 7              # agent runs in one cycle, at most (first turn, resumes, fix turns)
    can_plan: bool = True             # False: only takes tasks, waits for them, never plans
    max_wait_for_tasks: float = 600.0  # how long a worker that cannot plan waits for a task
    wait_between: float | None = None  # seconds to sleep before every cycle after the first
    needs_review: bool = True          # False: this worker's work merges without review
    reviewers: list[ReviewerEntry] | None = None
    review_models: list[ReviewerEntry] | None = None
    reviewer: ReviewerEntry | None = None
    review_model: ReviewerEntry | list[ReviewerEntry] | None = None
    can_claim_gpu: Any = None  # the original's; accepted with a warning (not honoured)


class PlannerConfig(_Strict):
    """The original's top-level planner: one planning run before the workers start."""

    model: str
    prompt: str | list[str] | None = None
    max_pending: int = 10
    timeout_s: float = 1800.0


class ReviewConfig(_Strict):
    mode: ReviewMode | None = None  # None: "model" when a reviewer is configured, else "none" (said aloud)
    max_attempts: int = 3
    timeout_s: float = 900.0


class MergeConfig(_Strict):
    checks: list[list[str]] = []
    # A move of the target the queue did not make: "warn" (say it, carry on) or "pause" (wait for the user).
    foreign_moves: Literal["warn", "pause"] = "warn"
    strategy: Strategy = "merge"
    max_conflict_attempts: int = 2
    check_timeout_s: float = 900.0


class WorktreeConfig(_Strict):
    dir: str | None = None
    # Programs an agent turn may leave running for the worker's checks (a dev server, a database):
    # stopped once those checks are done; anything else a turn leaves is stopped when it ends.
    services: list[str] = []
    setup: list[list[str]] = []
    copy: list[str] = []
    reuse: bool = True


class Config(_Strict):
    workers: list[WorkerConfig]
    # Generic reviewers, in the original's precedence: the first key present is used.
    reviewers: list[ReviewerEntry] | None = None
    review_models: list[ReviewerEntry] | None = None
    review_model: ReviewerEntry | list[ReviewerEntry] | None = None
    reviewer: ReviewerEntry | None = None
    needs_review: bool = True
    planner: PlannerConfig | None = None
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


# The original's reviewer keys in its precedence: only the first one present counts.
REVIEWER_KEYS = ("reviewers", "review_models", "review_model", "reviewer")
DEFAULT_ITERATIONS = 10


class ConfigWarning(Struct, frozen=True):
    """Something the config asks for that will not happen as written: said, never silent."""

    where: str     # "line:col (key.path)" or the key path
    message: str

    def __str__(self) -> str:
        return f"{self.where}: {self.message}" if self.where else self.message


def _as_reviewers(value: ReviewerEntry | list[ReviewerEntry] | None) -> list[ReviewerModel]:
    if value is None:
        return []
    items = value if isinstance(value, list) else [value]
    return [ReviewerModel(model=i) if isinstance(i, str) else i for i in items]


def reviewer_key(scope: Config | WorkerConfig) -> str | None:
    """Which reviewer key of this scope counts (the first present), if any."""
    return next((key for key in REVIEWER_KEYS if getattr(scope, key) is not None), None)


def _scope_reviewers(scope: Config | WorkerConfig) -> list[ReviewerModel]:
    key = reviewer_key(scope)
    if key is None or not scope.needs_review:
        return []
    return _as_reviewers(getattr(scope, key))


def reviewer_models(config: Config) -> list[ReviewerModel]:
    """The generic reviewers, tried in order when one fails to run."""
    return _scope_reviewers(config)


def worker_reviewers(config: Config, worker: WorkerConfig) -> list[ReviewerModel]:
    """A worker's own reviewers first, then the generic ones (each model once);
    `needs_review: false` on the worker or the config means none."""
    if not worker.needs_review or not config.needs_review:
        return []
    out: list[ReviewerModel] = []
    for reviewer in [*_scope_reviewers(worker), *reviewer_models(config)]:
        if reviewer not in out:
            out.append(reviewer)
    return out


def review_mode(config: Config) -> ReviewMode:
    """The mode written, else model review when any reviewer is configured, else none."""
    if config.review.mode is not None:
        return config.review.mode
    if not config.needs_review:
        return "none"
    return "model" if any(worker_reviewers(config, w) for w in config.workers) else "none"


def worker_iterations(worker: WorkerConfig) -> int:
    """Cycles per worker: `iterations`, or the original's `max_cycle`."""
    return worker.iterations or worker.max_cycle or DEFAULT_ITERATIONS


def infer_role(worker: WorkerConfig) -> Role:
    if worker.role:
        return worker.role
    if not worker.can_plan:
        return "executor"
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
        raise _at(text, source, ["workers"], "no workers configured",
                  'add at least one, e.g. {"model": "claude:sonnet"}')
    known = set(BUILTIN_HARNESSES) | set(config.harnesses)
    for index, worker in enumerate(config.workers):
        _check_worker(worker, index, known, text, source)
    for path, reviewer in _reviewer_places(config):
        _check_model(reviewer.model, path, known, text, source)
    if config.planner is not None:
        _check_planner(config.planner, known, text, source)
    explicit = config.review.mode
    if explicit in ("model", "model+human") and not any(worker_reviewers(config, w) for w in config.workers):
        raise ConfigError(source, "review_model", f"review.mode is {explicit!r} but no reviewer is set",
                          'set "review_model", or "review": {"mode": "human"} or {"mode": "none"}')
    for name, harness in config.harnesses.items():
        if name not in BUILTIN_HARNESSES and not harness.command:
            raise _at(text, source, ["harnesses", name], f"custom harness {name!r} has no command",
                      'give it "command": ["program", "arg", ...]')


def _reviewer_places(config: Config) -> Iterator[tuple[list[str | int], ReviewerModel]]:
    """(key path, reviewer) of every reviewer written anywhere, used or not."""
    scopes: list[tuple[list[str | int], Config | WorkerConfig]] = [([], config)]
    scopes += [(["workers", i], w) for i, w in enumerate(config.workers)]
    for prefix, scope in scopes:
        for key in REVIEWER_KEYS:
            value = getattr(scope, key)
            for index, reviewer in enumerate(_as_reviewers(value)):
                path = [*prefix, key, index] if isinstance(value, list) else [*prefix, key]
                yield [*path, "model"] if not isinstance(_entry_at(value, index), str) else path, reviewer


def _entry_at(value: ReviewerEntry | list[ReviewerEntry], index: int) -> ReviewerEntry:
    return value[index] if isinstance(value, list) else value


def _check_worker(worker: WorkerConfig, index: int, known: set[str], text: str, source: str) -> None:
    path: list[str | int] = ["workers", index]
    _check_model(worker.model, [*path, "model"], known, text, source)
    if worker.iterations is not None and worker.max_cycle is not None:
        raise _at(text, source, [*path, "max_cycle"], "both iterations and max_cycle are set; they mean the same "
                  "(cycles per worker)", "keep one of them")
    limits = (("count", worker.count, 1), ("iterations", worker.iterations, 1), ("max_cycle", worker.max_cycle, 1),
              ("max_resumes", worker.max_resumes, 1), ("max_working_resumes", worker.max_working_resumes, 0),
              ("max_wait_for_tasks", worker.max_wait_for_tasks, 0), ("wait_between", worker.wait_between, 0))
    for field, value, least in limits:
        if value is not None and value < least:
            raise _at(text, source, [*path, field], f"{field} must be at least {least}, got {value}")
    if worker.timeout_s <= 0:
        raise _at(text, source, [*path, "timeout_s"], "timeout_s must be positive")


def _check_planner(planner: PlannerConfig, known: set[str], text: str, source: str) -> None:
    _check_model(planner.model, ["planner", "model"], known, text, source)
    if planner.max_pending < 1:
        raise _at(text, source, ["planner", "max_pending"], f"max_pending must be at least 1, got {planner.max_pending}")
    if planner.timeout_s <= 0:
        raise _at(text, source, ["planner", "timeout_s"], "timeout_s must be positive")


def config_warnings(config: Config, text: str) -> list[ConfigWarning]:
    """What the config asks for that will not happen as written (before resolving it)."""
    out = [*_ignored_reviewer_keys(config, text), *_unhonoured_keys(config, text)]
    if review_mode(config) == "none" and config.review.mode is None:
        why = "needs_review is false" if not config.needs_review else "no reviewer is configured"
        out.append(ConfigWarning(_where(text, ["workers"], key_only=True),
                                 f"review is off ({why}): work merges without review; "
                                 'set "review_model" to have a model review every change'))
    elif review_mode(config) in ("model", "model+human"):
        for index, worker in enumerate(config.workers):
            if not worker_reviewers(config, worker):
                out.append(ConfigWarning(_where(text, ["workers", index], key_only=False),
                                         f"workers[{index}] ({worker.model}) has no reviewer: its work merges "
                                         "without review"))
    return out


def _ignored_reviewer_keys(config: Config, text: str) -> list[ConfigWarning]:
    out = []
    scopes: list[tuple[list[str | int], Config | WorkerConfig]] = [([], config)]
    scopes += [(["workers", i], w) for i, w in enumerate(config.workers)]
    for prefix, scope in scopes:
        present = [key for key in REVIEWER_KEYS if getattr(scope, key) is not None]
        for key in present[1:]:
            out.append(ConfigWarning(_where(text, [*prefix, key], key_only=True),
                                     f"{_dotted([*prefix, key])} is ignored: {_dotted([*prefix, present[0]])} "
                                     "comes first (the original oompa's precedence); keep one"))
    return out


def _unhonoured_keys(config: Config, text: str) -> list[ConfigWarning]:
    return [ConfigWarning(_where(text, ["workers", i, "can_claim_gpu"], key_only=True),
                          "can_claim_gpu is not honoured: oompa-lsp does not schedule GPUs, every worker runs "
                          "as if it were absent")
            for i, worker in enumerate(config.workers) if worker.can_claim_gpu is not None]


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
