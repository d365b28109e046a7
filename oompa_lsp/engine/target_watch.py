"""The target's watch: every move of the target branch the merge queue did not make is seen.

Agents follow prompts that tell them to "merge when done"; one that runs `git update-ref` or
`git merge` on the target puts unreviewed, unchecked commits there. The watch knows the tip
the queue last left (and the tips it is about to set), and compares on a short beat and
before every landing. A move it did not expect is an event naming the commits and, when they
came from a worker's branch or worktree, the worker and its task (whose job then ends: its
work never counts as a reviewed merge). The user's checkout of the target is brought in
step with git's own two-way merge when that is safe; else the queue waits, naming the files.

May import: core, adapters. Must not import: lsp, cli.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import anyio
from anyio.abc import TaskStatus

from ..adapters.git import Repo
from ..core.errors import OompaError
from ..core.events import TargetMovedOutsideQueue
from .context import SwarmContext

log = logging.getLogger(__name__)
BEAT_S = 1.0
_COMMITS_NAMED = 20


def outside_queue_reason(target: str, commits: str) -> str:
    """What a task's record says when its work reached the target without the queue."""
    return (
        f"its work reached {target} outside the merge queue, unreviewed and unchecked ({commits}); "
        "review it yourself, then requeue the task or move it to complete/"
    )


@dataclass(frozen=True)
class JobView:
    """What the watch needs of a worker's job to tell whether a commit is its work."""

    worker: str
    task_id: str
    base: str
    worktree: Path


@dataclass
class ForeignMove:
    old: str
    new: str
    commits: list[str]  # "<short id> <subject>", oldest first
    worker: str | None
    task_id: str | None


class TargetWatch:
    def __init__(
        self, ctx: SwarmContext, jobs: Callable[[], list[JobView]], on_attributed: Callable[[ForeignMove], None]
    ) -> None:
        self.ctx = ctx
        self._jobs = jobs
        self._on_attributed = on_attributed
        self.known = ""  # the tip as the queue last left it (or found it)
        self._intended: set[str] = set()  # tips the queue is about to set
        self.out_of_step = ""  # why the user's checkout is not at the target, if it is not
        self._step_from = ""  # the commit the user's checkout still shows, while out of step
        self.foreign: set[str] = set()  # commits that reached the target outside the queue
        self.awaiting_user = ""  # merge.foreign_moves "pause": why the queue waits
        self._checking = anyio.Lock()

    @property
    def hold(self) -> str:
        """Why the queue must not land now ("" when it may)."""
        return self.out_of_step or self.awaiting_user

    def release(self) -> None:
        """The user looked at the foreign move and lets the queue go on."""
        self.awaiting_user = ""

    def intend(self, tip: str) -> None:
        """The queue is about to move the target to `tip`: not a foreign move when seen."""
        self._intended.add(tip)

    async def landed(self, old: str, new: str) -> None:
        """The queue moved the target from `old` to `new`. A base other than the tip we
        knew means someone moved it in between: that move is reported first."""
        async with self._checking:
            if old != self.known and old not in self._intended:
                await self._report(self.known, old)
            self.known = new
            self._intended.clear()

    async def check(self) -> None:
        """Compare the target with what the queue left; report and settle a foreign move."""
        async with self._checking:
            current = await anyio.to_thread.run_sync(self.ctx.repo.rev_parse, self.ctx.target_ref)
            if not self.known:
                self.known = current  # not started: the first look is the reference
            elif current != self.known and current not in self._intended:
                await self._report(self.known, current)
                self.known = current
            elif self.out_of_step:
                await self._bring_checkout_in_step(self._step_from, self.known)

    async def beat(self, *, task_status: TaskStatus[None] = anyio.TASK_STATUS_IGNORED) -> None:
        await self.check()  # the first look is the reference
        task_status.started()
        while True:
            await anyio.sleep(BEAT_S)
            try:
                await self.check()
            except OompaError as exc:  # a git hiccup: the next beat looks again
                log.warning("target watch: %s", exc)

    async def _report(self, old: str, new: str) -> None:
        move, ids = await anyio.to_thread.run_sync(self._describe, old, new)
        self.foreign |= ids
        checkout = await self._bring_checkout_in_step(self._step_from or old, new)
        self.ctx.emit(
            TargetMovedOutsideQueue(
                old=old, new=new, commits=move.commits, worker=move.worker, task_id=move.task_id, checkout=checkout
            )
        )
        if self.ctx.config.merge.foreign_moves == "pause":
            self.awaiting_user = (
                f"the target moved outside the queue ({old[:10]}..{new[:10]}, unreviewed); "
                "look at it, then `oompa resume` lets the queue go on"
            )
        if move.worker is not None:
            self._on_attributed(move)

    def _describe(self, old: str, new: str) -> tuple[ForeignMove, set[str]]:
        repo = self.ctx.repo
        ids = repo.commits_between(old, new)
        named = repo.subjects(ids[:_COMMITS_NAMED])
        if len(ids) > _COMMITS_NAMED:
            named.append(f"... and {len(ids) - _COMMITS_NAMED} more")
        worker, task_id = _author_of(repo, set(ids), self._jobs())
        return ForeignMove(old, new, named, worker, task_id), set(ids)

    async def _bring_checkout_in_step(self, old: str, new: str) -> str:
        """Where the user's checkout of the target stands after the move (said in the event)."""
        result = await anyio.to_thread.run_sync(self.ctx.repo.follow_moved_branch, self.ctx.target, old, new)
        blocked = result.startswith("blocked")
        self.out_of_step = (
            f"your checkout of {self.ctx.target} is behind it: {result.removeprefix('blocked: ')}" if blocked else ""
        )
        self._step_from = old if blocked else ""
        return result


def _author_of(repo: Repo, commits: set[str], jobs: list[JobView]) -> tuple[str | None, str | None]:
    """The worker whose branch or worktree holds one of `commits`, if any."""
    for job in jobs:
        try:
            head = repo.head(job.worktree)
        except OompaError:
            continue
        if commits & set(repo.commits_between(job.base, head)):
            return job.worker, job.task_id
    return None, None
