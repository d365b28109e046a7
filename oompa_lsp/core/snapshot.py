"""The snapshot: what every view shows, folded from events and nothing else.

`Snapshot.apply(event)` is the only way state changes, so a reconnecting editor, `oompa
status` and the live CLI view all agree with the event log.

Must not import: anything outside the standard library, msgspec and oompa_lsp.core.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import Any

import msgspec
from msgspec import Struct

from . import events as ev
from .review_notes import Finding
from .tasks import Usage


class WorkerView(Struct, omit_defaults=True):
    id: str
    model: str
    role: str
    state: str = "starting"
    task_id: str | None = None
    detail: str = ""
    since: float = 0.0
    cycles: int = 0
    iterations: int = 0
    usage: Usage = msgspec.field(default_factory=Usage)


class TaskView(Struct, omit_defaults=True):
    id: str
    state: str
    summary: str = ""
    spec: str | None = None
    worker: str | None = None
    attempt: int = 0
    review_round: int = 0
    last_feedback: str = ""
    commit: str | None = None
    reason: str = ""
    waiting: str = ""  # why a pending task is not started ("behind other-task on src/auth/")


class ReviewView(Struct, omit_defaults=True):
    review_id: str
    task_id: str
    worker: str
    branch: str
    base: str
    head: str
    mode: str
    round: int = 1
    requested_at: float = 0.0
    checks: list[ev.CheckResult] = []
    findings: list[Finding] = []  # a model reviewer's, when the review waits for a human after it


class RoundView(Struct, omit_defaults=True):
    """One review round of a task: who judged it, the verdict and what the worker was told."""

    review_id: str
    round: int
    reviewer: str
    approved: bool
    feedback: str = ""
    findings: list[Finding] = []


class QueueEntryView(Struct, omit_defaults=True):
    """One request in the merge queue (the train): its place and its check state."""

    task_id: str
    worker: str = ""
    position: int = 0  # 1 = next to land
    state: str = "queued"  # queued | merging | checking | passed | failed | landed
    detail: str = ""


class BudgetView(Struct, omit_defaults=True):
    """The run's budget (`budget` in oompa.json) and what has been spent against it."""

    usd_limit: float | None = None
    tokens_limit: int | None = None
    usd_spent: float = 0.0
    tokens_spent: int = 0
    reached: str = ""  # which limit stopped new turns, at what figure ("" while within)


class UsageLimitView(Struct, omit_defaults=True):
    """A harness whose plan or quota limit was hit: its workers wait until `resets_at`."""

    harness: str
    message: str = ""
    resets_at: float | None = None  # epoch seconds
    ends_run: bool = False  # further away than limits.max_wait, or on_usage_limit: stop


class MergeView(Struct, omit_defaults=True):
    task_id: str
    commit: str
    at: float


class Snapshot(Struct, omit_defaults=True):
    run_id: str = ""
    state: str = "idle"
    repo: str = ""
    target: str = ""
    pid: int = 0
    review_mode: str = ""
    started_at: float = 0.0
    stopped_reason: str = ""
    ok: bool | None = None
    paused_reason: str = ""
    outside_queue: list[str] = []  # moves of the target the queue did not make, one line each
    workers: dict[str, WorkerView] = {}
    tasks: dict[str, TaskView] = {}
    reviews: dict[str, ReviewView] = {}
    merges: list[MergeView] = []
    queue: list[QueueEntryView] = []  # the merge train, in landing order
    budget: BudgetView | None = None
    usage_limits: dict[str, UsageLimitView] = {}  # by harness
    parked: list[str] = []
    invalid: dict[str, list[str]] = {}
    usage: Usage = msgspec.field(default_factory=Usage)
    rounds: dict[str, list[RoundView]] = {}  # review rounds by task id, oldest first
    task_usage: dict[str, Usage] = {}  # what agents spent on each task, by task id
    last_event_at: float = 0.0

    def apply(self, event: ev.Event) -> None:
        self.last_event_at = event.at
        handler = _HANDLERS.get(type(event))
        if handler is not None:
            handler(self, event)

    def counts(self) -> dict[str, int]:
        out = {"pending": 0, "current": 0, "complete": 0, "failed": 0}
        for task in self.tasks.values():
            out[task.state] = out.get(task.state, 0) + 1
        return out

    def summary_line(self) -> str:
        counts = self.counts()
        running = sum(1 for w in self.workers.values() if w.state not in ("idle", "done", "stopped", "starting"))
        parts = [
            f"{len(self.workers)} workers",
            f"{counts['pending']} pending",
            f"{running} running",
            f"{len(self.reviews)} in review",
            f"{counts['complete']} merged",
        ]
        if counts["failed"]:
            parts.append(f"{counts['failed']} failed")
        return " · ".join(parts)


def fold(events: Iterable[ev.Event], into: Snapshot | None = None) -> Snapshot:
    snapshot = into or Snapshot()
    for event in events:
        snapshot.apply(event)
    return snapshot


def _swarm_started(s: Snapshot, e: ev.SwarmStarted) -> None:
    s.run_id, s.repo, s.target, s.pid = e.run_id, e.repo, e.target, e.pid
    s.state, s.started_at, s.review_mode, s.ok, s.stopped_reason = "running", e.at, e.review_mode, None, ""
    s.workers = {w.id: WorkerView(w.id, w.model, w.role, since=e.at, iterations=w.iterations) for w in e.workers}


def _swarm_stopped(s: Snapshot, e: ev.SwarmStopped) -> None:
    s.state, s.ok, s.stopped_reason = "stopped", e.ok, e.reason
    for worker in s.workers.values():
        if worker.state != "done":
            worker.state = "stopped"


def _task(s: Snapshot, task_id: str) -> TaskView:
    return s.tasks.setdefault(task_id, TaskView(task_id, "pending"))


def _task_seen(s: Snapshot, e: ev.TaskSeen) -> None:
    task = _task(s, e.task_id)
    task.state, task.summary, task.spec = e.state, e.summary, e.spec


def _task_invalid(s: Snapshot, e: ev.TaskInvalid) -> None:
    s.invalid[e.path] = e.problems


def _task_claimed(s: Snapshot, e: ev.TaskClaimed) -> None:
    task = _task(s, e.task_id)
    task.state, task.worker, task.attempt, task.review_round, task.reason = "current", e.worker, e.attempt, 0, ""


def _task_returned(s: Snapshot, e: ev.TaskReturned | ev.TaskRecovered) -> None:
    task = _task(s, e.task_id)
    task.state, task.worker = "pending", None
    task.reason = getattr(e, "reason", "recovered from a stopped run")
    _drop_reviews_of(s, e.task_id)


def _task_completed(s: Snapshot, e: ev.TaskCompleted) -> None:
    task = _task(s, e.task_id)
    task.state, task.commit, task.worker = "complete", e.commit, None


def _task_failed(s: Snapshot, e: ev.TaskFailed) -> None:
    task = _task(s, e.task_id)
    task.state, task.reason, task.worker = "failed", e.reason, None
    _drop_reviews_of(s, e.task_id)


def _worker_state(s: Snapshot, e: ev.WorkerStateChanged) -> None:
    worker = s.workers.get(e.worker)
    if worker is None:
        return
    if worker.state != e.state or worker.task_id != e.task_id:
        worker.since = e.at
    if e.state == "working" and worker.task_id != e.task_id:
        worker.cycles += 1
    worker.state, worker.task_id, worker.detail = e.state, e.task_id, e.detail


def _agent_finished(s: Snapshot, e: ev.AgentFinished) -> None:
    s.usage = s.usage.plus(e.usage)
    worker = s.workers.get(e.worker)
    if worker is not None:
        worker.usage = worker.usage.plus(e.usage)
    if e.task_id is not None:
        s.task_usage[e.task_id] = s.task_usage.get(e.task_id, Usage()).plus(e.usage)


def _review_requested(s: Snapshot, e: ev.ReviewRequested) -> None:
    s.reviews[e.review_id] = ReviewView(
        e.review_id, e.task_id, e.worker, e.branch, e.base, e.head, e.mode, e.round, e.at, e.checks
    )
    _task(s, e.task_id).review_round = e.round


def _review_verdict(s: Snapshot, e: ev.ReviewVerdictGiven) -> None:
    review = s.reviews.get(e.review_id)
    # a model+human review stays pending for the human after the model approved it
    if review is not None and not (review.mode == "model+human" and e.reviewer != "human" and e.approved):
        del s.reviews[e.review_id]
    elif review is not None:
        review.findings = e.findings
    round_no = review.round if review is not None else len(s.rounds.get(e.task_id, [])) + 1
    rounds = s.rounds.setdefault(e.task_id, [])
    rounds.append(RoundView(e.review_id, round_no, e.reviewer, e.approved, e.feedback, e.findings))
    if not e.approved:
        _task(s, e.task_id).last_feedback = e.feedback


def _drop_reviews_of(s: Snapshot, task_id: str) -> None:
    for review_id in [r for r, v in s.reviews.items() if v.task_id == task_id]:
        del s.reviews[review_id]


def _merge_landed(s: Snapshot, e: ev.MergeLanded) -> None:
    s.merges = [*s.merges[-49:], MergeView(e.task_id, e.commit, e.at)]


def _merge_paused(s: Snapshot, e: ev.MergePaused) -> None:
    s.paused_reason = e.reason


def _merge_resumed(s: Snapshot, e: ev.MergeResumed) -> None:
    s.paused_reason = ""


def _target_moved_outside(s: Snapshot, e: ev.TargetMovedOutsideQueue) -> None:
    s.outside_queue = [*s.outside_queue[-19:], e.describe()]


def _branch_parked(s: Snapshot, e: ev.BranchParked) -> None:
    s.parked = [*s.parked, e.ref]


# Each handler takes the event type it is filed under, which a dict's type cannot say: Any.
_HANDLERS: dict[type[ev.Event], Callable[[Snapshot, Any], None]] = {
    ev.SwarmStarted: _swarm_started,
    ev.SwarmStopped: _swarm_stopped,
    ev.TaskSeen: _task_seen,
    ev.TaskInvalid: _task_invalid,
    ev.TaskClaimed: _task_claimed,
    ev.TaskReturned: _task_returned,
    ev.TaskRecovered: _task_returned,
    ev.TaskCompleted: _task_completed,
    ev.TaskFailed: _task_failed,
    ev.WorkerStateChanged: _worker_state,
    ev.AgentFinished: _agent_finished,
    ev.ReviewRequested: _review_requested,
    ev.ReviewVerdictGiven: _review_verdict,
    ev.MergeLanded: _merge_landed,
    ev.MergePaused: _merge_paused,
    ev.MergeResumed: _merge_resumed,
    ev.BranchParked: _branch_parked,
    ev.TargetMovedOutsideQueue: _target_moved_outside,
}
