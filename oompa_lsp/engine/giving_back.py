"""Giving a task back: its claim returned to pending/ (or failed/ when it has used its
attempts), the attempt's outcome and reason recorded, and unmerged commits parked under
`refs/oompa/parked/`, never deleted; a branch with nothing of its own is dropped.

May import: core, adapters. Must not import: lsp, cli.
"""

from __future__ import annotations

from pathlib import Path

import anyio

from ..core.events import BranchParked, TaskFailed, TaskReturned
from ..core.tasks import Task
from .context import SwarmContext
from .job import Disposition, Job


class TaskHandback:
    """One worker's way of returning the tasks it held (and of dropping its branches)."""

    def __init__(self, ctx: SwarmContext, worker_id: str, worktree: Path) -> None:
        self.ctx, self.worker_id, self.worktree = ctx, worker_id, worktree

    async def give_back(
        self, job: Job, reason: str, disposition: Disposition, park: bool = True, count: bool = True
    ) -> None:
        task = job.task
        parked = await self.park(job, reason) if park else None
        task.attempts[-1].outcome = "stopped" if not count else "parked" if parked else "returned"
        task.attempts[-1].parked_ref = parked
        if reason not in task.attempts[-1].feedback:
            task.attempts[-1].feedback.append(reason)
        if disposition == "pending" and count and task.attempts_spent() >= self.ctx.config.task_attempts:
            disposition, reason = "failed", f"{reason} (gave up after {task.attempts_spent()} attempts)"
        await self.move_back(task, disposition, reason)

    async def move_back(self, task: Task, disposition: Disposition, reason: str) -> None:
        task.claimed_by, task.claimed_at, task.owner = None, None, None
        task.failure = reason if disposition == "failed" else None
        await anyio.to_thread.run_sync(self.ctx.store.move, task.id, "current", disposition, task)
        if disposition == "failed":
            self.ctx.emit(TaskFailed(task_id=task.id, reason=reason))
        else:
            self.ctx.emit(TaskReturned(task_id=task.id, reason=reason, worker=self.worker_id))

    async def park(self, job: Job, reason: str) -> str | None:
        """Keep the attempt's commits under a parked ref (None: nothing of its own to keep)."""
        if job.branch_gone:  # it landed: nothing to keep
            return None
        git = self.ctx.repo
        head = await anyio.to_thread.run_sync(git.head, self.worktree)
        if head == job.base or await anyio.to_thread.run_sync(git.is_ancestor, head, self.ctx.target_ref):
            await self.drop_branch(job.branch, into=self.ctx.target_ref)
            return None
        name = f"{job.task.id}/{len(job.task.attempts)}"
        parked = await anyio.to_thread.run_sync(git.park, name, head)
        self.ctx.emit(BranchParked(task_id=job.task.id, ref=parked.ref, reason=reason.splitlines()[0]))
        await self.drop_branch(job.branch, into=parked.ref)
        return parked.ref

    async def drop_branch(self, branch: str, into: str) -> None:
        await anyio.to_thread.run_sync(self.ctx.repo.release_branch, self.worktree, branch, into)
