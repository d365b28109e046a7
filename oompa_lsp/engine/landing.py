"""A task's landing: its approved head queued for the merge queue until it lands,
conflicts sent back as resolver turns (checked again), the task completed and its branch
dropped; every other outcome gives the task back.

May import: core, adapters. Must not import: lsp, cli.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import anyio

from ..core.events import CheckResult, MergeConflicted, TaskCompleted
from ..core.signals import COMPLETE
from . import prompting
from .agent_turns import run_until_signal
from .context import SwarmContext
from .giving_back import TaskHandback
from .job import Job
from .merge_queue import MergeRequest
from .target_watch import outside_queue_reason


def merged_checks_prompt(results: list[CheckResult], target_merged: bool) -> str:
    """The turn a worker gets when its approved change, merged in the queue, fails the checks."""
    where = (
        "The target is now merged into your worktree: it holds the tree that failed."
        if target_merged
        else "The target has moved on since; merge it into your worktree if the failure comes from there."
    )
    return (
        "Your approved change, merged onto the target together with the changes queued ahead of it, "
        f"fails the checks:\n\n{prompting.check_block(results)}\n\n{where} Make the checks pass, "
        f"then end with the line {COMPLETE}."
    )


if TYPE_CHECKING:
    from .worker import Worker


class Landing:
    """One worker's landings; the worker lends its state reports, commits, checks and seat."""

    def __init__(self, worker: Worker, handback: TaskHandback) -> None:
        self.worker, self.handback = worker, handback
        self.ctx: SwarmContext = worker.ctx

    async def land(self, job: Job, head: str) -> str | None:
        """Queue the approved head until it lands, resolving conflicts as they come back: the
        head that landed (the task is complete), or None when the task was given back or, with
        `job.merge_feedback` set, goes back to its worker because the merged tree failed the checks."""
        limit = self.ctx.config.merge.max_conflict_attempts
        for conflict_round in range(limit + 1):
            self.worker.report_state("merging", job.task)
            request = MergeRequest(
                job.task.id, self.worker.spec.id, job.branch, head, self.worker.worktree, job.task.summary, job.checks
            )
            outcome = await self.worker.queue.submit(request)
            if outcome.kind == "landed":
                job.branch_gone = outcome.branch_dropped
                await self._complete(job, outcome.commit, head)
                return head
            if outcome.kind == "outside_queue":
                reason = outside_queue_reason(self.ctx.target, outcome.commit[:10])
                await self.handback.give_back(job, reason, "failed")
                return None
            if outcome.kind == "checks_failed":
                # Back to the worker, as a review asking for changes is: it fixes and asks again.
                job.merge_feedback = merged_checks_prompt(outcome.results, await self._bring_target_in(job))
                return None
            if outcome.kind in ("failed", "stopped"):
                await self.handback.give_back(
                    job, f"the merge failed: {outcome.reason or 'the queue stopped'}", "pending"
                )
                return None
            if conflict_round == limit:
                break
            resolved = await self._resolve(job, outcome.files, conflict_round + 1)
            if resolved is None:
                return None
            head = resolved
        await self.handback.give_back(job, f"merge conflicts not resolved after {limit} attempts", "pending")
        return None

    async def _bring_target_in(self, job: Job) -> bool:
        """Merge the target into the worker's branch, so its fix turn sees the tree that failed
        (the target now holds what was ahead of it), and review from there on shows only the
        worker's own change; False when that would conflict (undone)."""
        git, worktree = self.ctx.repo, self.worker.worktree
        tip = await anyio.to_thread.run_sync(git.rev_parse, self.ctx.target_ref)
        conflicted = await anyio.to_thread.run_sync(git.merge_into_worktree, worktree, tip, f"Merge {self.ctx.target}")
        if conflicted:
            await anyio.to_thread.run_sync(git.abort_merge, worktree)
            return False
        job.base = tip
        return True

    async def _resolve(self, job: Job, files: list[str], attempt: int) -> str | None:
        git = self.ctx.repo
        self.ctx.emit(MergeConflicted(task_id=job.task.id, files=files, attempt=attempt))
        self.worker.report_state("resolving", job.task, ", ".join(files))
        conflicted = await anyio.to_thread.run_sync(git.merge_into_worktree, self.worker.worktree, self.ctx.target)
        facts = self.worker.facts("resolver", job.task, conflict_files=tuple(conflicted or files))
        prompt = prompting.build_prompt(self.ctx.loaded.template(self.ctx.loaded.resolver_prompts), facts)
        turn = await run_until_signal(
            self.ctx, self.worker.job_seat(job), "resolver", prompt, self.worker.worktree, job.task
        )
        self.worker.add_usage(job, turn)
        left = await anyio.to_thread.run_sync(
            git.files_with_conflict_markers, self.worker.worktree, conflicted or files
        )
        if turn.signal.kind != "complete" or not turn.outcome.ok or left:
            await anyio.to_thread.run_sync(git.abort_merge, self.worker.worktree)
            await self.handback.give_back(job, "the resolver could not resolve the conflict", "pending")
            return None
        head = await self.worker.commit(job)
        feedback = await self.worker.checks_feedback(job)
        if feedback is not None:
            await self.handback.give_back(job, "checks fail after resolving the conflict:\n" + feedback, "pending")
            return None
        return head

    async def _complete(self, job: Job, commit: str, head: str) -> None:
        job.task.merged_commit = commit
        await self._record_complete(job, "merged", TaskCompleted(task_id=job.task.id, commit=commit))
        if not job.branch_gone:
            # The commit that landed it is on the target and has the branch as a parent: proving
            # "merged" is one look, where the target's tip may be many merges further already.
            await self.handback.drop_branch(job.branch, into=commit)

    async def complete_unchanged(self, job: Job) -> None:
        """A task that allows no change (`no_change_ok`) finished with none: complete, unmerged."""
        note = "completed with no change (the task says no_change_ok)"
        await self._record_complete(job, "no change", TaskCompleted(task_id=job.task.id, commit="", note=note))
        await self.handback.drop_branch(job.branch, into=self.ctx.target_ref)

    async def _record_complete(self, job: Job, outcome: str, event: TaskCompleted) -> None:
        task = job.task
        task.attempts[-1].outcome = outcome
        task.completed_by = self.worker.spec.id
        task.claimed_by, task.owner = None, None  # claimed_at stays: when the work began
        await anyio.to_thread.run_sync(self.ctx.store.move, task.id, "current", "complete", task)
        self.ctx.emit(event)

    def leaves_clean(self) -> bool:
        """Everything was committed (`git add -A`) and a model reviewer's leftovers were
        discarded; no checks ran since, and no human had the review open to edit in."""
        return not self.ctx.config.merge.checks and self.ctx.config.review.mode in ("model", "none")
