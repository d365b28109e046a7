"""After a kill: a claimed task whose merge already landed is completed, not done again.

The merge queue moves the target first and records the task as complete after; a run killed
in between leaves the task in current/ with its work on the target (its branch deleted by the
same ref transaction, or still there). Sending it back to pending would have a worker do it a
second time and land it twice. The target's first-parent history says what the queue put
there: a commit `oompa: merge <id>: ...` made since the task's last attempt began is its
landing. Run before the dead run's claims go back to pending (recovery.py).

May import: core, adapters. Must not import: lsp, cli.
"""

from __future__ import annotations

import calendar
import time

import anyio

from ..core.events import TaskCompleted
from ..core.tasks import Task
from .context import SwarmContext
from .train_requests import merge_subject_prefix

NOTE = "its merge landed before the run that claimed it stopped"


async def complete_landed(ctx: SwarmContext) -> None:
    """Complete the dead runs' claimed tasks whose merge is on the target (an event for each)."""
    for task_id, commit in await anyio.to_thread.run_sync(_complete_landed, ctx):
        ctx.emit(TaskCompleted(task_id=task_id, commit=commit, note=NOTE))


def _complete_landed(ctx: SwarmContext) -> list[tuple[str, str]]:
    current, _ = ctx.store.read_state("current")
    orphans = [task for task in current if task.attempts and task.owner is not None and task.owner.run_id != ctx.run_id]
    if not orphans:
        return []
    since = min(_epoch(task.attempts[-1].started_at) for task in orphans)
    landings = ctx.repo.first_parent_subjects(ctx.target_ref, since)
    completed = []
    for task in orphans:
        prefix, began = merge_subject_prefix(task.id), _epoch(task.attempts[-1].started_at)
        commit = next((c for c, at, subject in landings if at >= began and subject.startswith(prefix)), None)
        if commit is not None:
            _record_complete(ctx, task, commit)
            completed.append((task.id, commit))
    return completed


def _record_complete(ctx: SwarmContext, task: Task, commit: str) -> None:
    attempt = task.attempts[-1]
    attempt.outcome = "merged"
    task.merged_commit, task.completed_by = commit, attempt.worker
    task.claimed_by, task.owner = None, None
    ctx.store.move(task.id, "current", "complete", task)


def _epoch(stamp: str) -> int:
    """Epoch seconds of an attempt's ISO start (UTC), a second early: git's dates are whole seconds."""
    try:
        parsed = time.strptime(stamp[:19], "%Y-%m-%dT%H:%M:%S")
    except ValueError:
        return 0
    return calendar.timegm(parsed) - 1
