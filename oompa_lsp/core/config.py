"""`oompa.json`: the typed Structs and what they mean (model refs, reviewers, review mode,
iterations, roles). Decoding, the checks and the warnings are in `config_checks`.

Compatible with the original tool's keys (`review_model`, `workers[].model/iterations/count/prompt`);
everything else is optional.

Must not import: anything outside the standard library, msgspec and oompa_lsp.core.
"""

from __future__ import annotations

from typing import Annotated, Any, Literal

import msgspec
from msgspec import Struct

from .costs import Price
from .usage_limits import parse_duration

REASONING_LEVELS = ("minimal", "low", "medium", "high", "max", "xhigh")
BUILTIN_HARNESSES = ("claude", "codex", "gemini", "opencode")
Role = Literal["planner", "executor", "worker"]
ReviewMode = Literal["model", "human", "model+human", "none"]
Strategy = Literal["merge", "rebase", "squash"]


class _Strict(Struct, forbid_unknown_fields=True, omit_defaults=True):
    pass


# The same options, frozen from the base up: msgspec allows a frozen Struct on a non-frozen
# base, type checkers (dataclass semantics) do not. Subclasses still say frozen=True, since
# type checkers do not inherit it from a base's class arguments.
class _StrictFrozen(Struct, forbid_unknown_fields=True, omit_defaults=True, frozen=True):
    pass


class HarnessConfig(_StrictFrozen, frozen=True):
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
    iterations: int | None = None  # ours; the original's name is max_cycle (one of them, not both)
    max_cycle: int | None = None
    prompt: str | list[str] | None = None
    role: Role | None = None
    timeout_s: float = 1800.0
    # The original's two limits, with its meaning and defaults (docs/config.md, "Coming from oompa"):
    max_working_resumes: int = 5  # resumes of a turn that ended without a signal (the last one nudges)
    max_resumes: int = 7  # agent runs in one cycle, at most (first turn, resumes, fix turns)
    can_plan: bool = True  # False: only takes tasks, waits for them, never plans
    max_wait_for_tasks: float = 600.0  # how long a worker that cannot plan waits for a task
    wait_between: float | None = None  # seconds to sleep before every cycle after the first
    needs_review: bool = True  # False: this worker's work merges without review
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
    # Merged trees checked at once by the merge train; None: as many as the machine sensibly
    # runs, at most the number of workers (engine/merge_train.py). 1: one landing at a time.
    parallel_checks: Annotated[int, msgspec.Meta(ge=1)] | None = None


class WorktreeConfig(_Strict):
    dir: str | None = None
    # Programs an agent turn may leave running for the worker's checks (a dev server, a database):
    # stopped once those checks are done; anything else a turn leaves is stopped when it ends.
    services: list[str] = []
    setup: list[list[str]] = []
    copy: list[str] = []
    reuse: bool = True


class TaskBudgetConfig(_Strict):
    """What one task may spend over all its attempts (the agent turns on it)."""

    usd: float | None = None
    tokens: int | None = None


class BudgetConfig(_Strict):
    """What the run may spend: when a limit is reached no new agent turn starts, running turns
    have `grace_s` to finish, then the swarm stops with the claims returned."""

    usd: float | None = None
    tokens: int | None = None
    per_task: TaskBudgetConfig = msgspec.field(default_factory=TaskBudgetConfig)
    grace_s: float = 300.0


class LimitsConfig(_Strict):
    """What a plan's or quota's usage limit does: wait for its reset (at most `max_wait`:
    seconds, or a duration such as "6h" or "1 day"), or `on_usage_limit: stop` the run."""

    max_wait: float | str = "6h"
    on_usage_limit: Literal["wait", "stop"] = "wait"

    def max_wait_s(self) -> float:
        if isinstance(self.max_wait, (int, float)):
            return float(self.max_wait)
        return parse_duration(self.max_wait) or 0.0


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
    prices: dict[str, Price] = {}  # by model name (or harness:model): USD per million tokens
    budget: BudgetConfig | None = None
    limits: LimitsConfig = msgspec.field(default_factory=LimitsConfig)


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

    where: str  # "line:col (key.path)" or the key path
    message: str

    def __str__(self) -> str:
        return f"{self.where}: {self.message}" if self.where else self.message


def as_reviewers(value: ReviewerEntry | list[ReviewerEntry] | None) -> list[ReviewerModel]:
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
    return as_reviewers(getattr(scope, key))


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
