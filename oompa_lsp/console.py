"""Terminal rendering of swarm state: one line per notable event, tables for snapshots.

A view only: reads events and snapshots, holds no swarm state. Must not import: lsp.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

from .core import events as ev
from .core.costs import describe_usage
from .core.snapshot import BudgetView, Snapshot
from .core.tasks import Usage
from .core.usage_limits import describe_limit


def describe(event: ev.Event) -> str | None:
    """A one-line account of `event` for the live view, or None for noise."""
    render = _LINES.get(type(event))
    return render(event) if render else None


def _clock(event: ev.Event) -> str:
    return time.strftime("%H:%M:%S", time.localtime(event.at or time.time()))


# Each line takes the event type it is filed under, which a dict's type cannot say: Any.
_LINES: dict[type[ev.Event], Callable[[Any], str | None]] = {
    ev.SwarmStarted: lambda e: (
        f"swarm {e.run_id} started on {e.target} with {len(e.workers)} workers "
        f"({', '.join(f'{w.id}={w.model}' for w in e.workers)})"
    ),
    ev.SwarmStopped: lambda e: f"swarm {'finished' if e.ok else 'stopped'}: {e.reason}",
    ev.TaskInvalid: lambda e: f"invalid task file {e.path}: {'; '.join(e.problems)}",
    ev.TaskClaimed: lambda e: f"{e.worker} claimed {e.task_id} (attempt {e.attempt}, branch {e.branch})",
    ev.TaskHeldBack: lambda e: f"{e.task_id} waits: {e.reason}" if e.reason else None,
    ev.TaskReturned: lambda e: f"{e.task_id} back to pending: {e.reason.splitlines()[0] if e.reason else ''}",
    ev.TaskRecovered: lambda e: f"{e.task_id} recovered from {e.previous_owner}",
    ev.TaskCompleted: lambda e: f"{e.task_id} complete ({e.commit[:10] or e.note})",
    ev.TaskFailed: lambda e: f"{e.task_id} FAILED: {e.reason.splitlines()[0] if e.reason else ''}",
    ev.AgentFinished: lambda e: f"{e.worker} agent error ({e.error_kind}): {e.error}" if e.error else None,
    ev.AgentLeftoversStopped: lambda e: e.describe(),
    ev.ChecksRan: lambda e: (
        f"{e.task_id} checks on the {e.stage} tree {'passed' if e.ok else 'FAILED'}"
        + (f" (not run again: the result of {e.reused})" if e.reused else "")
    ),
    ev.MergeTrainUpdated: lambda e: _train_line(e),
    ev.ReviewRequested: lambda e: (
        f"{e.task_id} in review (round {e.round}, {e.mode})"
        + (f" — approve with: oompa review approve {e.review_id}" if "human" in e.mode else "")
    ),
    ev.ReviewVerdictGiven: lambda e: (
        f"{e.task_id} {'approved' if e.approved else 'changes requested'} by {e.reviewer}"
        + (f": {e.feedback.splitlines()[0]}" if e.feedback and not e.approved else "")
    ),
    ev.ReviewTamperingDiscarded: lambda e: (
        f"{e.task_id}: the reviewer changed the worktree; discarded {len(e.changes)} change(s)"
    ),
    ev.MergeConflicted: lambda e: f"{e.task_id} conflicts with {', '.join(e.files)}; resolver turn {e.attempt}",
    ev.MergeLanded: lambda e: f"{e.task_id} merged into {e.target} ({e.previous[:7]}..{e.commit[:7]})",
    ev.MergePaused: lambda e: f"merge queue PAUSED: {e.reason}",
    ev.MergeResumed: lambda e: "merge queue resumed",
    ev.BranchParked: lambda e: f"{e.task_id} work parked at {e.ref} ({e.reason})",
    ev.BudgetReached: lambda e: f"BUDGET: {e.describe()}: no new agent turn starts",
    ev.UsageLimitHit: lambda e: (
        describe_limit(e.harness, e.resets_at, e.at or time.time())
        + (": the run ends (beyond limits.max_wait, or on_usage_limit: stop)" if e.ends_run else "")
    ),
    ev.UsageLimitLifted: lambda e: f"{e.harness}: usage limit reset; its workers start turns again",
    ev.CleanupDone: lambda e: f"removed {len(e.removed)} worktree(s), freed {human_bytes(e.freed_bytes)}",
    ev.LogMessage: lambda e: f"{e.level}: {e.message}",
    ev.OutsideWriteSeen: lambda e: f"WARNING: {e.describe()}",
    ev.TaskFileRestored: lambda e: f"WARNING: {e.describe()}",
    ev.TargetMovedOutsideQueue: lambda e: (
        f"WARNING: {e.describe()} ({'; '.join(e.commits[:3])}); your checkout: {e.checkout}"
    ),
}


def _train_line(e: ev.MergeTrainUpdated) -> str | None:
    """The train's checking, a failure and a wait on a conflict ahead; the rest is noise here."""
    if e.state == "checking":
        return f"{e.task_id} checking in the merge train: {e.detail}"
    if e.state == "failed" or (e.state == "queued" and e.detail):
        return f"{e.task_id} merge train: {e.state} ({e.detail})"
    return None


# What the dashboard prints above itself: what went wrong, what landed, what needs the user.
_IMPORTANT: tuple[type[ev.Event], ...] = (
    ev.SwarmStarted,
    ev.SwarmStopped,
    ev.TaskInvalid,
    ev.TaskFailed,
    ev.TaskRecovered,
    ev.MergeConflicted,
    ev.MergeLanded,
    ev.MergePaused,
    ev.MergeResumed,
    ev.BranchParked,
    ev.CleanupDone,
    ev.OutsideWriteSeen,
    ev.TaskFileRestored,
    ev.TargetMovedOutsideQueue,
    ev.AgentLeftoversStopped,
    ev.BudgetReached,
    ev.UsageLimitHit,
    ev.UsageLimitLifted,
)


def is_important(event: ev.Event) -> bool:
    if isinstance(event, _IMPORTANT):
        return True
    if isinstance(event, ev.AgentFinished):
        return event.error is not None
    if isinstance(event, ev.ReviewRequested):
        return "human" in event.mode  # the user has something to do
    if isinstance(event, ev.ReviewVerdictGiven):
        return not event.approved
    if isinstance(event, ev.MergeTrainUpdated):
        return event.state == "failed"  # checks of a merged tree failed: that work will not land
    return isinstance(event, ev.LogMessage) and event.level != "info"


def line_for(event: ev.Event) -> str | None:
    text = describe(event)
    return f"{_clock(event)}  {text}" if text else None


def human_bytes(count: int) -> str:
    size = float(count)
    for unit in ("B", "KiB", "MiB", "GiB"):
        if size < 1024 or unit == "GiB":
            return f"{size:.0f} {unit}" if unit == "B" else f"{size:.1f} {unit}"
        size /= 1024
    return f"{count} B"


def cost_text(usage: Usage) -> str:
    """Tokens and dollars, naming the models whose cost is unknown; "cost unknown" before any turn."""
    return describe_usage(usage) if usage.tokens or usage.cost_usd is not None or usage.unpriced else "cost unknown"


def duration_text(seconds: float) -> str:
    """`42s`, `3m05s`, `2h13m`: short enough for a table cell."""
    seconds = max(0, int(seconds))
    if seconds < 60:
        return f"{seconds}s"
    if seconds < 3600:
        return f"{seconds // 60}m{seconds % 60:02d}s"
    return f"{seconds // 3600}h{seconds % 3600 // 60:02d}m"


def budget_text(budget: BudgetView) -> str:
    parts = []
    if budget.usd_limit is not None:
        parts.append(f"${budget.usd_spent:.2f} of ${budget.usd_limit:.2f}")
    if budget.tokens_limit is not None:
        parts.append(f"{budget.tokens_spent:,} of {budget.tokens_limit:,} tokens")
    text = ", ".join(parts) or "none"
    return f"{text} (reached: {budget.reached})" if budget.reached else text


def live_summary(snapshot: Snapshot) -> str:
    busy = [f"{w.id}:{w.state}" + (f"({w.task_id})" if w.task_id else "") for w in snapshot.workers.values()]
    return f"{snapshot.summary_line()}{_review_off(snapshot)} · {cost_text(snapshot.usage)} · " + " ".join(busy)


def _review_off(snapshot: Snapshot) -> str:
    # Nobody reviews what lands: the user must not have to dig for that.
    return " · review off (no reviewer)" if snapshot.review_mode == "none" else ""


def status_table(snapshot: Snapshot) -> str:
    if not snapshot.run_id:
        return "no swarm has run in this repository yet"
    state = "finished" if snapshot.ok else snapshot.state
    lines = [
        f"run {snapshot.run_id} on {snapshot.target}: {state}"
        + (f" ({snapshot.stopped_reason})" if snapshot.stopped_reason else ""),
        snapshot.summary_line() + _review_off(snapshot) + f" · {cost_text(snapshot.usage)}",
    ]
    if snapshot.paused_reason:
        lines.append(f"merge queue paused: {snapshot.paused_reason}")
    for move in snapshot.outside_queue:
        lines.append(f"WARNING: {move}")
    lines.append("")
    lines.append(f"{'WORKER':<8} {'ROLE':<9} {'STATE':<16} {'TASK':<24} {'MODEL':<24} COST")
    for w in snapshot.workers.values():
        lines.append(f"{w.id:<8} {w.role:<9} {w.state:<16} {(w.task_id or '-'):<24} {w.model:<24} {cost_text(w.usage)}")
    waiting = [t for t in snapshot.tasks.values() if t.state == "pending" and t.waiting]
    if waiting:
        lines += ["", "WAITING"] + [f"  {t.id}: {t.waiting}" for t in waiting]
    if snapshot.queue:
        lines += ["", "MERGE TRAIN"] + [
            f"  {q.position or '-':>2} {q.task_id:<24} {q.state:<9} {q.detail}".rstrip() for q in snapshot.queue
        ]
    if snapshot.reviews:
        lines.append("")
        lines.append("PENDING REVIEWS")
        for r in snapshot.reviews.values():
            lines.append(f"  {r.review_id}  task {r.task_id} by {r.worker} ({r.mode}, round {r.round})")
    return "\n".join(lines)
