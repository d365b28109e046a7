"""The merge queue: exactly one consumer lands approved work on the target branch.

Each request is merged without a checkout (`git merge-tree`), checked on the merged tree
when checks are configured, and landed by compare-and-swap. When the user's checkout of the
target cannot be advanced safely the queue pauses, says why, and retries until it can.

May import: core, adapters. Must not import: lsp, cli.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal

import anyio
from anyio.abc import TaskStatus

from ..adapters.git import AdvanceResult, MergeResult
from ..core.errors import TargetMoved
from ..core.events import ChecksRan, CheckResult, MergeLanded, MergePaused, MergeQueued, MergeResumed
from .checks import run_checks
from .context import SwarmContext

_BLOCKED_RETRY_S = 2.0
# Commits skip git's own auto maintenance; the queue runs it after this many landings (and
# the swarm once at the end), so a long run still packs its loose objects.
MAINTENANCE_EVERY = 100


@dataclass
class MergeRequest:
    task_id: str
    worker: str
    branch: str
    head: str
    worktree: Path
    summary: str


@dataclass
class MergeOutcome:
    kind: Literal["landed", "conflict", "checks_failed", "stopped"]
    commit: str = ""
    files: list[str] = field(default_factory=list)
    results: list[CheckResult] = field(default_factory=list)


@dataclass
class _Attempt:
    old: str
    merged: MergeResult
    advance: AdvanceResult | None = None  # tried at once when no checks are configured
    moved: bool = False                    # the target moved meanwhile: merge again


@dataclass
class _Pending:
    request: MergeRequest
    done: anyio.Event = field(default_factory=anyio.Event)
    outcome: MergeOutcome = field(default_factory=lambda: MergeOutcome("stopped"))


class MergeQueue:
    def __init__(self, ctx: SwarmContext) -> None:
        self.ctx = ctx
        self._send, self._receive = anyio.create_memory_object_stream[_Pending](max_buffer_size=1000)
        self._paused = False
        self._landed = 0

    async def submit(self, request: MergeRequest) -> MergeOutcome:
        """Queue `request` and wait for its outcome."""
        pending = _Pending(request)
        self.ctx.emit(MergeQueued(task_id=request.task_id, branch=request.branch, head=request.head))
        await self._send.send(pending)
        await pending.done.wait()
        return pending.outcome

    async def run(self, *, task_status: TaskStatus = anyio.TASK_STATUS_IGNORED) -> None:
        task_status.started()
        async with self._receive:
            async for pending in self._receive:
                try:
                    pending.outcome = await self._merge(pending.request)
                finally:
                    pending.done.set()

    async def _merge(self, request: MergeRequest) -> MergeOutcome:
        while True:
            attempt = await anyio.to_thread.run_sync(self._attempt, request)
            old, merged = attempt.old, attempt.merged
            if merged.status == "conflict":
                return MergeOutcome("conflict", files=list(merged.conflicts))
            if merged.status == "up_to_date":
                return MergeOutcome("landed", commit=old)
            if attempt.moved:
                continue
            results = await self._check_merged(request, merged.commit)
            if results is not None and any(r.exit_code != 0 for r in results):
                return MergeOutcome("checks_failed", results=results)
            landed = await self._advance(merged.commit, old, attempt.advance)
            if landed:
                self.ctx.emit(MergeLanded(task_id=request.task_id, commit=merged.commit,
                                          target=self.ctx.target, previous=old))
                self.ctx.wakeup.notify()
                await self._count_landing()
                return MergeOutcome("landed", commit=merged.commit)

    async def _count_landing(self) -> None:
        self._landed += 1
        if self._landed % MAINTENANCE_EVERY == 0:
            await anyio.to_thread.run_sync(self.ctx.repo.run_auto_maintenance)

    def _attempt(self, request: MergeRequest) -> _Attempt:
        """Read the tip, merge onto it and, when no checks must pass first, land: in one trip
        to a worker thread, as the whole swarm waits on this queue."""
        git = self.ctx.repo
        old = git.rev_parse(self.ctx.target_ref)
        # git 2.39's merge-tree cannot replay commits, so "rebase" lands as one linear commit.
        strategy = "merge" if self.ctx.config.merge.strategy == "merge" else "squash"
        message = f"oompa: merge {request.task_id}: {request.summary}"
        attempt = _Attempt(old, git.merge_trees(old, request.head, message, strategy=strategy))
        if attempt.merged.status == "merged" and not self.ctx.config.merge.checks:
            try:
                attempt.advance = git.advance_target(self.ctx.target, attempt.merged.commit, old)
            except TargetMoved:
                attempt.moved = True
        return attempt

    async def _check_merged(self, request: MergeRequest, commit: str) -> list[CheckResult] | None:
        checks = self.ctx.config.merge.checks
        if not checks:
            return None
        git = self.ctx.repo
        await anyio.to_thread.run_sync(git.checkout_detached, request.worktree, commit)
        try:
            results = await run_checks(checks, request.worktree, self.ctx.config.merge.check_timeout_s)
        finally:
            with anyio.CancelScope(shield=True):
                await anyio.to_thread.run_sync(git.ensure_worktree, request.worktree, request.branch, request.branch)
        ok = all(r.exit_code == 0 for r in results)
        self.ctx.emit(ChecksRan(task_id=request.task_id, stage="merged", ok=ok, results=results))
        return results

    async def _advance(self, new: str, old: str, tried: AdvanceResult | None = None) -> bool:
        """True when the target now points at `new`; False when it moved (merge again).
        `tried` is the result of a first attempt already made."""
        while True:
            try:
                result = tried or await anyio.to_thread.run_sync(self.ctx.repo.advance_target, self.ctx.target, new, old)
            except TargetMoved:
                return False
            tried = None
            if result.advanced:
                self._set_paused("")
                return True
            self._set_paused(result.reason)
            await anyio.sleep(_BLOCKED_RETRY_S)
            current = await anyio.to_thread.run_sync(self.ctx.repo.rev_parse, self.ctx.target_ref)
            if current != old:
                return False

    def _set_paused(self, reason: str) -> None:
        if reason and not self._paused:
            self._paused = True
            self.ctx.emit(MergePaused(reason=reason))
        elif not reason and self._paused:
            self._paused = False
            self.ctx.emit(MergeResumed())

    def close(self) -> None:
        self._send.close()
