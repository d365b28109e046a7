"""The snapshot: what every view shows, folded from events and nothing else.

`Snapshot.apply(event)` is the only way state changes, so a reconnecting editor, `oompa
status` and the live CLI view all agree with the event log.

Must not import: anything outside the standard library, msgspec and oompa_lsp.core.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterable
from typing import Any

import msgspec
from msgspec import Struct

from . import events as ev, review_view, train_view
from .review_view import ReviewView as ReviewView, RoundView as RoundView  # re-exported for the views
from .tasks import Usage
from .train_view import QueueEntryView as QueueEntryView  # re-exported: the views import it from here
from .usage_limits import describe_limit


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
    turns: int = 0  # agent runs started in this run (resumes and reviews of its work not included)
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
    usage: Usage = msgspec.field(default_factory=Usage)  # this run's turns on it, its reviews included


class BudgetView(Struct, omit_defaults=True):
    """The run's budget (`budget` in oompa.json) and what has been spent against it.

    `usd_spent` counts priced turns only: `unpriced` names the models whose cost is unknown
    (no price: add them to `prices`). `tokens_spent` is input plus output tokens. `share` is the
    largest fraction of a run limit spent (0.8: the editor warns)."""

    usd_limit: float | None = None
    tokens_limit: int | None = None
    usd_spent: float = 0.0
    tokens_spent: int = 0
    reached: str = ""  # which limit stopped new turns, at what figure ("" while within)
    task_usd_limit: float | None = None  # budget.per_task
    task_tokens_limit: int | None = None
    unpriced: list[str] = []

    @property
    def share(self) -> float:
        shares = [0.0]
        if self.usd_limit:
            shares.append(self.usd_spent / self.usd_limit)
        if self.tokens_limit:
            shares.append(self.tokens_spent / self.tokens_limit)
        return max(shares)

    def describe(self) -> str:
        """ "budget $0.42 of $1.00 (42%)", "budget 1,200 of 5,000 tokens (24%)"."""
        parts = []
        if self.usd_limit:
            parts.append(f"${self.usd_spent:.2f} of ${self.usd_limit:.2f}")
        if self.tokens_limit:
            parts.append(f"{self.tokens_spent:,} of {self.tokens_limit:,} tokens")
        if not parts:
            return ""
        return f"budget {' · '.join(parts)} ({self.share:.0%})" + (f": {self.reached}" if self.reached else "")


class UsageLimitView(Struct, omit_defaults=True):
    """A harness whose plan or quota limit was hit: its workers wait until `resets_at`.
    `describe(now)` is the line every view shows: "claude: usage limit, resumes 00:50 (in 2 h 13 min)"."""

    harness: str
    message: str = ""
    resets_at: float | None = None  # epoch seconds
    ends_run: bool = False  # further away than limits.max_wait, or on_usage_limit: stop
    since: float = 0.0  # when it was hit

    def describe(self, now: float | None = None) -> str:
        line = describe_limit(self.harness, self.resets_at, time.time() if now is None else now)
        return line + (": the run ends (beyond limits.max_wait, or on_usage_limit: stop)" if self.ends_run else "")


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

    def summary_line(self, now: float | None = None) -> str:
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
        if self.budget is not None and self.budget.describe():
            parts.append(self.budget.describe())
        parts += [limit.describe(now) for limit in self.usage_limits.values()]
        return " · ".join(parts)


BUDGET_WARNING_SHARE = 0.8  # the editor warns once this much of a run limit is spent


def spending_warnings(snapshot: Snapshot, now: float | None = None) -> list[str]:
    """What the editor warns about on spec.md: a budget nearly (or wholly) spent, the models
    whose cost is unknown, and the harnesses waiting for a usage limit's reset."""
    out: list[str] = []
    budget = snapshot.budget
    if budget is not None and budget.share >= BUDGET_WARNING_SHARE:
        out.append(budget.describe() if budget.reached else f"{budget.describe()}: the run stops at 100%")
    if budget is not None and budget.usd_limit and budget.unpriced:
        out.append(
            f'cost unknown for {", ".join(budget.unpriced)} (no price: add it to "prices" in oompa.json); '
            "budget.usd counts only the priced turns"
        )
    out += [limit.describe(now) for limit in snapshot.usage_limits.values()]
    return out


def fold(events: Iterable[ev.Event], into: Snapshot | None = None) -> Snapshot:
    snapshot = into or Snapshot()
    for event in events:
        snapshot.apply(event)
    return snapshot


def _swarm_started(s: Snapshot, e: ev.SwarmStarted) -> None:
    s.run_id, s.repo, s.target, s.pid = e.run_id, e.repo, e.target, e.pid
    s.state, s.started_at, s.review_mode, s.ok, s.stopped_reason = "running", e.at, e.review_mode, None, ""
    s.usage, s.budget, s.usage_limits = Usage(), None, {}  # the run's own spending
    s.workers = {w.id: WorkerView(w.id, w.model, w.role, since=e.at, iterations=w.iterations) for w in e.workers}
    s.queue = []


def _swarm_stopped(s: Snapshot, e: ev.SwarmStopped) -> None:
    s.state, s.ok, s.stopped_reason = "stopped", e.ok, e.reason
    s.queue = train_view.stopped(s.queue)
    for worker in s.workers.values():
        if worker.state != "done":
            worker.state = "stopped"


def _task(s: Snapshot, task_id: str) -> TaskView:
    return s.tasks.setdefault(task_id, TaskView(task_id, "pending"))


def _task_seen(s: Snapshot, e: ev.TaskSeen) -> None:
    task = _task(s, e.task_id)
    task.state, task.summary, task.spec = e.state, e.summary, e.spec
    if e.state != "pending":
        task.waiting = ""


def _task_invalid(s: Snapshot, e: ev.TaskInvalid) -> None:
    s.invalid[e.path] = e.problems


def _task_claimed(s: Snapshot, e: ev.TaskClaimed) -> None:
    task = _task(s, e.task_id)
    task.state, task.worker, task.attempt, task.review_round, task.reason = "current", e.worker, e.attempt, 0, ""
    task.waiting = ""


def _task_held_back(s: Snapshot, e: ev.TaskHeldBack) -> None:
    task = _task(s, e.task_id)
    if task.state == "pending":  # a claimed or finished task waits for nothing
        task.waiting = e.reason


def _task_returned(s: Snapshot, e: ev.TaskReturned | ev.TaskRecovered) -> None:
    s.queue = train_view.left(s.queue, e.task_id)
    task = _task(s, e.task_id)
    task.state, task.worker = "pending", None
    task.reason = getattr(e, "reason", "recovered from a stopped run")
    _drop_reviews_of(s, e.task_id)


def _task_completed(s: Snapshot, e: ev.TaskCompleted) -> None:
    task = _task(s, e.task_id)
    task.state, task.commit, task.worker = "complete", e.commit, None


def _task_failed(s: Snapshot, e: ev.TaskFailed) -> None:
    s.queue = train_view.left(s.queue, e.task_id)
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


def _agent_started(s: Snapshot, e: ev.AgentStarted) -> None:
    worker = s.workers.get(e.worker)
    if worker is not None:
        worker.turns += 1


def _agent_finished(s: Snapshot, e: ev.AgentFinished) -> None:
    s.usage = s.usage.plus(e.usage)
    worker = s.workers.get(e.worker)
    if worker is not None:
        worker.usage = worker.usage.plus(e.usage)
    if e.task_id is not None:
        task = _task(s, e.task_id)
        task.usage = task.usage.plus(e.usage)
    if s.budget is not None:
        s.budget.usd_spent = s.usage.cost_usd or 0.0
        s.budget.tokens_spent = s.usage.tokens
        s.budget.unpriced = list(s.usage.unpriced)


def _budget_set(s: Snapshot, e: ev.BudgetSet) -> None:
    s.budget = BudgetView(e.usd, e.tokens, task_usd_limit=e.task_usd, task_tokens_limit=e.task_tokens)
    s.budget.usd_spent, s.budget.tokens_spent = s.usage.cost_usd or 0.0, s.usage.tokens


def _budget_reached(s: Snapshot, e: ev.BudgetReached) -> None:
    if s.budget is not None and e.task_id is None:
        s.budget.reached = e.describe()


def _usage_limit_hit(s: Snapshot, e: ev.UsageLimitHit) -> None:
    s.usage_limits[e.harness] = UsageLimitView(e.harness, e.message, e.resets_at, e.ends_run, since=e.at)


def _usage_limit_lifted(s: Snapshot, e: ev.UsageLimitLifted) -> None:
    s.usage_limits.pop(e.harness, None)


def _review_requested(s: Snapshot, e: ev.ReviewRequested) -> None:
    s.reviews[e.review_id] = review_view.requested(e)
    _task(s, e.task_id).review_round = e.round


def _review_verdict(s: Snapshot, e: ev.ReviewVerdictGiven) -> None:
    review_view.verdict_given(s.reviews, s.rounds, e)
    if not e.approved:
        _task(s, e.task_id).last_feedback = e.feedback


def _drop_reviews_of(s: Snapshot, task_id: str) -> None:
    for review_id in [r for r, v in s.reviews.items() if v.task_id == task_id]:
        del s.reviews[review_id]


def _merge_landed(s: Snapshot, e: ev.MergeLanded) -> None:
    s.merges = [*s.merges[-49:], MergeView(e.task_id, e.commit, e.at)]
    s.queue = train_view.changed(s.queue, e.task_id, "landed", f"{e.commit[:10]} on {e.target}")


def _merge_queued(s: Snapshot, e: ev.MergeQueued) -> None:
    s.queue = train_view.queued(s.queue, e.task_id, e.worker)


def _merge_train_updated(s: Snapshot, e: ev.MergeTrainUpdated) -> None:
    s.queue = train_view.changed(s.queue, e.task_id, e.state, e.detail)


def _merge_conflicted(s: Snapshot, e: ev.MergeConflicted) -> None:
    s.queue = train_view.conflicted(s.queue, e.task_id, e.files)


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
    ev.TaskHeldBack: _task_held_back,
    ev.TaskReturned: _task_returned,
    ev.TaskRecovered: _task_returned,
    ev.TaskCompleted: _task_completed,
    ev.TaskFailed: _task_failed,
    ev.WorkerStateChanged: _worker_state,
    ev.AgentStarted: _agent_started,
    ev.AgentFinished: _agent_finished,
    ev.BudgetSet: _budget_set,
    ev.BudgetReached: _budget_reached,
    ev.UsageLimitHit: _usage_limit_hit,
    ev.UsageLimitLifted: _usage_limit_lifted,
    ev.ReviewRequested: _review_requested,
    ev.ReviewVerdictGiven: _review_verdict,
    ev.MergeLanded: _merge_landed,
    ev.MergeQueued: _merge_queued,
    ev.MergeTrainUpdated: _merge_train_updated,
    ev.MergeConflicted: _merge_conflicted,
    ev.MergePaused: _merge_paused,
    ev.MergeResumed: _merge_resumed,
    ev.BranchParked: _branch_parked,
    ev.TargetMovedOutsideQueue: _target_moved_outside,
}
