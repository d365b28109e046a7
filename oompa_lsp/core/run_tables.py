"""The run report's tables, folded from events: per task (attempts, review rounds with their
feedback, conflicts, checks, wall time, cost), per worker (busy share, turns, cost) and the
run's totals; with the timeline (core/timeline.py) they make a `RunReport`.

Must not import: anything outside the standard library, msgspec and oompa_lsp.core.
"""

from __future__ import annotations

from collections.abc import Sequence

import msgspec
from msgspec import Struct

from . import events as ev
from .tasks import Usage
from .timeline import REVIEWER_PREFIX, Timeline, build_timeline
from .usage_limits import describe_limit


class ReviewRound(Struct, omit_defaults=True):
    round: int
    reviewer: str
    approved: bool
    feedback: str = ""


class CheckRun(Struct, omit_defaults=True):
    stage: str  # worktree | merged
    ok: bool
    duration_s: float = 0.0


class TaskRow(Struct, omit_defaults=True):
    id: str
    summary: str = ""
    state: str = "pending"
    attempts: int = 0
    workers: list[str] = []
    reviews: list[ReviewRound] = []
    conflicts: int = 0
    checks: list[CheckRun] = []
    first_claimed_at: float = 0.0
    ended_at: float = 0.0
    turns: int = 0
    usage: Usage = msgspec.field(default_factory=Usage)
    reason: str = ""

    @property
    def wall_s(self) -> float:
        return max(0.0, self.ended_at - self.first_claimed_at) if self.first_claimed_at else 0.0


class WorkerRow(Struct, omit_defaults=True):
    id: str
    model: str = ""
    busy_s: float = 0.0
    busy_share: float = 0.0  # of the run's wall time
    turns: int = 0
    usage: Usage = msgspec.field(default_factory=Usage)


class Totals(Struct, omit_defaults=True):
    wall_s: float = 0.0
    turns: int = 0
    reviews: int = 0
    changes_requested: int = 0
    conflicts: int = 0
    landings: int = 0
    tasks_by_state: dict[str, int] = {}
    usage: Usage = msgspec.field(default_factory=Usage)
    budget: str = ""  # the run's limits, and the one reached ("" without a budget)
    usage_limits: list[str] = []  # each plan limit met: "claude: usage limit, resumes 00:50 (in 2 h 13 min)"


class RunReport(Struct, omit_defaults=True):
    timeline: Timeline
    tasks: list[TaskRow] = []
    workers: list[WorkerRow] = []
    reviewers: WorkerRow | None = None  # every reviewer turn, which no worker lane carries
    totals: Totals = msgspec.field(default_factory=Totals)


def build_report(events: Sequence[ev.Event]) -> RunReport:
    timeline = build_timeline(events)
    tasks = _task_rows(events, timeline.ended_at)
    workers, reviewers = _worker_rows(events, timeline)
    return RunReport(timeline, tasks, workers, reviewers, _totals(events, timeline, tasks))


def _task_rows(events: Sequence[ev.Event], end: float) -> list[TaskRow]:
    rows: dict[str, TaskRow] = {}
    rounds: dict[str, int] = {}  # review id -> its round

    def row(task_id: str) -> TaskRow:
        return rows.setdefault(task_id, TaskRow(task_id))

    for e in events:
        if isinstance(e, ev.TaskSeen):
            row(e.task_id).summary, row(e.task_id).state = e.summary, e.state
        elif isinstance(e, ev.TaskClaimed):
            _claimed(row(e.task_id), e)
        elif isinstance(e, ev.ReviewRequested):
            rounds[e.review_id] = e.round
        elif isinstance(e, ev.ReviewVerdictGiven):
            verdict = ReviewRound(rounds.get(e.review_id, 0), e.reviewer, e.approved, e.feedback)
            row(e.task_id).reviews.append(verdict)
        elif isinstance(e, ev.MergeConflicted):
            row(e.task_id).conflicts += 1
        elif isinstance(e, ev.ChecksRan):
            took = sum(r.duration_s for r in e.results)
            row(e.task_id).checks.append(CheckRun(e.stage, e.ok, round(took, 3)))
        elif isinstance(e, ev.AgentFinished) and e.task_id:
            task = row(e.task_id)
            task.turns, task.usage = task.turns + 1, task.usage.plus(e.usage)
        else:
            _ended(rows, e)
    for task in rows.values():
        if task.first_claimed_at and not task.ended_at:
            task.ended_at = end
    return sorted(rows.values(), key=lambda t: (t.first_claimed_at or float("inf"), t.id))


def _claimed(task: TaskRow, e: ev.TaskClaimed) -> None:
    task.state, task.attempts = "current", max(task.attempts, e.attempt)
    task.first_claimed_at = task.first_claimed_at or e.at
    task.ended_at = 0.0
    if e.worker not in task.workers:
        task.workers.append(e.worker)


def _ended(rows: dict[str, TaskRow], e: ev.Event) -> None:
    if isinstance(e, ev.TaskCompleted | ev.TaskFailed) and e.task_id in rows:
        task = rows[e.task_id]
        task.state, task.ended_at = ("complete", e.at) if isinstance(e, ev.TaskCompleted) else ("failed", e.at)
        task.reason = e.reason if isinstance(e, ev.TaskFailed) else ""
    elif isinstance(e, ev.TaskReturned) and e.task_id in rows:
        rows[e.task_id].state, rows[e.task_id].reason = "pending", e.reason


def _worker_rows(events: Sequence[ev.Event], timeline: Timeline) -> tuple[list[WorkerRow], WorkerRow | None]:
    wall = timeline.wall_s
    rows = {
        lane.worker: WorkerRow(lane.worker, lane.model, lane.busy_s(), lane.busy_s() / wall if wall else 0.0)
        for lane in timeline.lanes
    }
    reviewers = WorkerRow("reviewers")
    for e in events:
        if not isinstance(e, ev.AgentFinished):
            continue
        target = reviewers if e.worker.startswith(REVIEWER_PREFIX) else rows.setdefault(e.worker, WorkerRow(e.worker))
        target.turns, target.usage = target.turns + 1, target.usage.plus(e.usage)
        if target is reviewers:
            reviewers.busy_s += e.duration_s
    return list(rows.values()), (reviewers if reviewers.turns else None)


def _totals(events: Sequence[ev.Event], timeline: Timeline, tasks: list[TaskRow]) -> Totals:
    totals = Totals(wall_s=timeline.wall_s, landings=len(timeline.landings))
    for e in events:
        if isinstance(e, ev.AgentFinished):
            totals.turns, totals.usage = totals.turns + 1, totals.usage.plus(e.usage)
        elif isinstance(e, ev.ReviewVerdictGiven):
            totals.reviews += 1
            totals.changes_requested += 0 if e.approved else 1
        elif isinstance(e, ev.MergeConflicted):
            totals.conflicts += 1
        else:
            _spending(totals, e)
    by_state: dict[str, int] = {}
    for task in tasks:
        by_state[task.state] = by_state.get(task.state, 0) + 1
    totals.tasks_by_state = by_state
    return totals


def _spending(totals: Totals, e: ev.Event) -> None:
    if isinstance(e, ev.BudgetSet):
        limits = [f"${e.usd:.2f}" if e.usd is not None else "", f"{e.tokens:,} tokens" if e.tokens else ""]
        totals.budget = " and ".join(limit for limit in limits if limit) or "per task only"
    elif isinstance(e, ev.BudgetReached) and e.task_id is None:
        totals.budget += f"; reached: {e.describe()}"
    elif isinstance(e, ev.UsageLimitHit):
        line = describe_limit(e.harness, e.resets_at, e.at)
        totals.usage_limits.append(line + (" (the run ended)" if e.ends_run else ""))
