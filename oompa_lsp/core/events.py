"""Events: every state change of a swarm, as a msgspec tagged union with past-tense names.

Events are appended to `.oompa/runs/<run-id>/events.jsonl`; `fold` turns a sequence of
them into the `Snapshot` every view shows (the CLI's live view, `oompa status`, the editor).

Must not import: anything outside the standard library, msgspec and oompa_lsp.core.
"""

from __future__ import annotations

from typing import Literal, TypeAlias

import msgspec
from msgspec import Struct

from .agents import LeftoverProcess
from .review_notes import Finding, LineComment
from .tasks import TaskState, Usage

# "waiting": between cycles (`wait_between`), a quiet state (see engine.outside_writes).
WorkerState = Literal[
    "starting",
    "idle",
    "waiting",
    "working",
    "checking",
    "reviewing",
    "awaiting_review",
    "merging",
    "resolving",
    "done",
    "stopped",
]
SwarmState = Literal["idle", "running", "stopping", "stopped"]


class _Event(Struct, tag_field="type", tag=True, kw_only=True, omit_defaults=True):
    at: float = 0.0  # unix time, set by the run log when appended


class WorkerInfo(Struct, omit_defaults=True):
    id: str
    model: str
    role: str
    iterations: int = 0


class CheckResult(Struct, omit_defaults=True):
    argv: list[str]
    exit_code: int
    output_tail: str = ""
    duration_s: float = 0.0


class SwarmStarted(_Event):
    run_id: str
    repo: str
    target: str
    workers: list[WorkerInfo]
    pid: int
    review_mode: str = "model"


class SwarmStopped(_Event):
    ok: bool
    reason: str


class TaskSeen(_Event):
    task_id: str
    state: TaskState
    summary: str
    spec: str | None = None
    priority: int = 0


class TaskInvalid(_Event):
    path: str
    problems: list[str]


class TaskClaimed(_Event):
    task_id: str
    worker: str
    attempt: int
    branch: str


class TaskHeldBack(_Event):
    """Why a pending task is not started now, said when it changes: behind a task in flight
    on an overlapping path, or waiting for a dependency; "" once nothing holds it back."""

    task_id: str
    reason: str = ""


class TaskReturned(_Event):
    task_id: str
    reason: str
    worker: str | None = None


class TaskRecovered(_Event):
    task_id: str
    previous_owner: str


class TaskCompleted(_Event):
    task_id: str
    commit: str  # "" when it completed with no change (a task that allows that)
    note: str = ""


class TaskFailed(_Event):
    task_id: str
    reason: str


class WorkerStateChanged(_Event):
    worker: str
    state: WorkerState
    task_id: str | None = None
    detail: str = ""


class AgentStarted(_Event):
    worker: str
    role: str
    task_id: str | None = None
    turn: int = 1
    resumed: bool = False
    session_id: str | None = None


class AgentActivity(_Event):
    worker: str
    text: str


class AgentFinished(_Event):
    worker: str
    role: str
    task_id: str | None = None
    signal: str = "none"
    exit_code: int | None = None
    duration_s: float = 0.0
    usage: Usage = msgspec.field(default_factory=Usage)
    error: str | None = None
    error_kind: str | None = None  # timeout | exit | auth | rate_limit | usage_limit | server | cancelled


class AgentLeftoversStopped(_Event):
    """An agent run ended with processes still running outside its process group (a child
    that called `setsid`: a daemon, a dev server); the engine stopped them."""

    worker: str
    role: str
    task_id: str | None = None
    processes: list[LeftoverProcess] = []

    def describe(self) -> str:
        named = "; ".join(f"{p.pid} {p.command}" for p in self.processes)
        return f"{self.worker}'s agent left {len(self.processes)} process(es) running; stopped: {named}"


class WorktreeReady(_Event):
    worker: str
    path: str
    reused: bool


class ChecksRan(_Event):
    task_id: str
    stage: Literal["worktree", "merged"]
    ok: bool
    results: list[CheckResult] = []
    reused: str = ""  # not run again: the result of a check of the same tree (which one)


class ReviewRequested(_Event):
    review_id: str
    task_id: str
    worker: str
    branch: str
    base: str
    head: str
    mode: str
    round: int = 1
    checks: list[CheckResult] = []  # the checks run on this attempt before review


class ReviewVerdictGiven(_Event):
    review_id: str
    task_id: str
    reviewer: str
    approved: bool
    feedback: str = ""
    comments: list[LineComment] = []  # a human's line comments (notes, when approved)
    findings: list[Finding] = []  # a model reviewer's issues, placed on the diff where they say


class ReviewTamperingDiscarded(_Event):
    review_id: str
    task_id: str
    changes: list[str]


class MergeQueued(_Event):
    task_id: str
    branch: str
    head: str
    worker: str = ""


TrainState = Literal["queued", "merging", "checking", "passed", "failed", "landed"]


class MergeTrainUpdated(_Event):
    """A request's place in the merge train changed state (a merge that lands is `MergeLanded`)."""

    task_id: str
    state: TrainState
    detail: str = ""


class MergeConflicted(_Event):
    task_id: str
    files: list[str]
    attempt: int


class MergeLanded(_Event):
    task_id: str
    commit: str
    target: str
    previous: str


class MergePaused(_Event):
    reason: str


class MergeResumed(_Event):
    pass


class TargetMovedOutsideQueue(_Event):
    """The target moved and the merge queue did not move it: unreviewed, unchecked commits."""

    old: str
    new: str
    commits: list[str]  # "<short id> <subject>", oldest first
    worker: str | None = None  # whose branch or worktree the commits came from, when known
    task_id: str | None = None
    checkout: str = ""  # the user's checkout: in step | moved | blocked: why | not checked out

    def describe(self) -> str:
        source = f" from {self.worker} (task {self.task_id})" if self.worker else ""
        return (
            f"{len(self.commits)} unreviewed, unchecked commit(s) reached the target outside the merge "
            f"queue{source}: {self.old[:10]}..{self.new[:10]}"
        )


class TaskFileRestored(_Event):
    """A task file someone else removed or rewrote, put back from the engine's record."""

    task_id: str
    state: str
    why: str  # removed | rewritten
    content: str  # what was written back
    by: list[str] = []  # the agents that ran since the file was last seen as it should be

    def describe(self) -> str:
        who = f" (during the turns of {', '.join(self.by)})" if self.by else ""
        return f"task file {self.state}/{self.task_id}.json was {self.why}{who}: restored from the engine's record"


class OutsideWriteSeen(_Event):
    """Files outside an agent's worktree changed during its turn (never reverted: they may be the user's)."""

    where: str  # "your checkout" or "w2's worktree"
    paths: list[str]
    worker: str  # the agent whose turn just ended
    during: list[str] = []  # every agent that ran meanwhile (attribution is uncertain past one)

    def describe(self) -> str:
        who = f"the turn of {self.worker}" if len(self.during) <= 1 else "the turns of " + ", ".join(self.during)
        return (
            f"{len(self.paths)} file(s) in {self.where} changed during {who}: "
            f"{', '.join(self.paths[:5])} (left as they are: check whether they are yours)"
        )


class BranchParked(_Event):
    task_id: str
    ref: str
    reason: str


class BudgetSet(_Event):
    """The run's budget (`budget` in oompa.json), said once at its start."""

    usd: float | None = None
    tokens: int | None = None
    task_usd: float | None = None
    task_tokens: int | None = None


class BudgetReached(_Event):
    """A limit of the budget was reached: no new agent turn starts (for the run, or for
    `task_id` alone)."""

    limit: str  # the key: budget.usd | budget.tokens | budget.per_task.usd | budget.per_task.tokens
    figure: str  # what was spent against it: "$0.0312 of $0.03"
    task_id: str | None = None

    def describe(self) -> str:
        scope = f"task {self.task_id}: " if self.task_id else ""
        return f"{scope}{self.limit} reached ({self.figure})"


class UsageLimitHit(_Event):
    """A plan's or quota's usage limit on `harness`: its workers start no turn until `resets_at`
    (or the run ends: `ends_run`, when the reset is past limits.max_wait or on_usage_limit is stop)."""

    harness: str
    message: str
    resets_at: float | None = None  # epoch seconds; None: the CLI did not say
    ends_run: bool = False
    worker: str | None = None  # whose turn met it


class UsageLimitLifted(_Event):
    """The reset time of `harness`'s usage limit passed: its workers start turns again."""

    harness: str


class CleanupDone(_Event):
    removed: list[str]
    freed_bytes: int


class LogMessage(_Event):
    level: Literal["info", "warning", "error"]
    message: str
    worker: str | None = None


Event: TypeAlias = (
    SwarmStarted
    | SwarmStopped
    | TaskSeen
    | TaskInvalid
    | TaskClaimed
    | TaskHeldBack
    | TaskReturned
    | TaskRecovered
    | TaskCompleted
    | TaskFailed
    | WorkerStateChanged
    | AgentStarted
    | AgentActivity
    | AgentFinished
    | AgentLeftoversStopped
    | WorktreeReady
    | ChecksRan
    | ReviewRequested
    | ReviewVerdictGiven
    | ReviewTamperingDiscarded
    | MergeQueued
    | MergeTrainUpdated
    | MergeConflicted
    | MergeLanded
    | MergePaused
    | MergeResumed
    | TargetMovedOutsideQueue
    | OutsideWriteSeen
    | TaskFileRestored
    | BranchParked
    | BudgetSet
    | BudgetReached
    | UsageLimitHit
    | UsageLimitLifted
    | CleanupDone
    | LogMessage
)

_encoder = msgspec.json.Encoder()
_decoder = msgspec.json.Decoder(Event)


def encode_event(event: Event) -> bytes:
    return _encoder.encode(event)


def decode_event(line: bytes) -> Event:
    return _decoder.decode(line)
