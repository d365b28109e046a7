"""The merge queue: exactly one consumer lands approved work on the target branch.

Each request is merged without a checkout (`git merge-tree`), checked on the merged tree
when checks are configured, and landed by compare-and-swap. When the user's checkout of the
target cannot be advanced safely the queue pauses, says why, and retries until it can.

Without checks, the requests already waiting when the queue turns to the next one land as a
group: each is merged onto the merge before it, in the order they came, and the target (and
the user's checkout of it) moves once, to the last merge. The target's history is the same
as one at a time; the update of a checked-out target, which costs in proportion to its files,
is paid once per group. With checks, every commit the queue puts on the target must pass them,
so requests land one at a time.

May import: core, adapters. Must not import: lsp, cli.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal

import anyio
from anyio.abc import TaskStatus

from ..adapters.git import AdvanceResult, Landed, MergeResult
from ..core.errors import OompaError, TargetMoved
from ..core.events import CheckResult, ChecksRan, LogMessage, MergeLanded, MergePaused, MergeQueued, MergeResumed
from .checks import run_checks
from .context import SwarmContext
from .target_watch import TargetWatch

_BLOCKED_RETRY_S = 2.0
# Commits skip git's own auto maintenance; the queue runs it after this many landings (and
# the swarm once at the end), so a long run still packs its loose objects.
MAINTENANCE_EVERY = 100
# The most requests landed by one move of the target.
MAX_GROUP = 16


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
    kind: Literal["landed", "conflict", "checks_failed", "failed", "stopped", "outside_queue"]
    commit: str = ""
    reason: str = ""  # why it failed
    files: list[str] = field(default_factory=list)
    results: list[CheckResult] = field(default_factory=list)
    branch_dropped: bool = False  # landed, and its branch deleted in the same ref transaction


@dataclass
class _Pending:
    request: MergeRequest
    done: anyio.Event = field(default_factory=anyio.Event)
    outcome: MergeOutcome = field(default_factory=lambda: MergeOutcome("stopped"))


@dataclass
class _GroupAttempt:
    """A group merged onto the tip `old`, each onto the merge before it; `tip` is the last."""

    old: str
    tip: str
    merged: list[tuple[_Pending, MergeResult]]
    failed: list[tuple[_Pending, str]] = field(default_factory=list)  # git could not merge these
    advance: AdvanceResult | None = None  # the first try to move the target to `tip`
    moved: bool = False  # the target moved meanwhile: merge again


class MergeQueue:
    def __init__(self, ctx: SwarmContext, watch: TargetWatch | None = None) -> None:
        self.ctx = ctx
        # Without a swarm's watch (a queue on its own), foreign moves are still seen and said.
        self.watch = watch or TargetWatch(ctx, list, lambda move: None)
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
            async for first in self._receive:
                group = [first, *self._waiting_behind()]
                try:
                    await self._serve(first, group)
                finally:
                    for pending in group:
                        pending.done.set()

    async def _serve(self, first: _Pending, group: list[_Pending]) -> None:
        """Land the group; a git failure fails the requests it leaves unsettled, not the queue."""
        try:
            if self.ctx.config.merge.checks:
                first.outcome = await self._merge(first.request)
            else:
                await self._land_group(group)
        except OompaError as exc:
            unsettled = [pending for pending in group if pending.outcome.kind == "stopped"]
            for pending in unsettled:
                pending.outcome = MergeOutcome("failed", reason=str(exc))
            names = ", ".join(pending.request.task_id for pending in unsettled)
            self.ctx.emit(LogMessage(level="error", message=f"merging {names} failed: {exc}"))

    def _waiting_behind(self) -> list[_Pending]:
        """The requests already queued, up to a group's size; none when checks must run on
        every commit the target gets."""
        waiting: list[_Pending] = []
        while not self.ctx.config.merge.checks and len(waiting) < MAX_GROUP - 1:
            try:
                waiting.append(self._receive.receive_nowait())
            except (anyio.WouldBlock, anyio.EndOfStream):
                break
        return waiting

    # -- without checks: a group, one move of the target -----------------------------------

    async def _land_group(self, group: list[_Pending]) -> None:
        waiting = group
        while waiting:
            await self._wait_for_watch()
            attempt = await anyio.to_thread.run_sync(self._merge_group, waiting)
            for pending, merged in attempt.merged:
                if merged.status == "conflict":  # told at once: the resolver need not wait for the rest
                    pending.outcome = MergeOutcome("conflict", files=list(merged.conflicts))
                    pending.done.set()
            for pending, reason in attempt.failed:
                pending.outcome = MergeOutcome("failed", reason=reason)
                pending.done.set()
            waiting = [pending for pending, merged in attempt.merged if merged.status != "conflict"]
            if attempt.moved:
                continue
            if len(waiting) > 1 and attempt.advance is not None and not attempt.advance.advanced:
                # The user's checkout is in the way of some of them: the others need not wait.
                for pending in waiting:
                    await self._land_group([pending])
                    pending.done.set()
                return
            if attempt.tip == attempt.old:
                self._settle_landed(attempt, ())
                return
            advanced = await self._advance(attempt.tip, attempt.old, _landing(attempt.merged), attempt.advance)
            if advanced is not None:
                await self.watch.landed(attempt.old, attempt.tip)
                self._settle_landed(attempt, advanced.dropped)
                await self._count_landings(len(waiting))
                return

    def _merge_group(self, group: list[_Pending]) -> _GroupAttempt:
        """Read the tip, merge each request onto the merge before it and try to move the target
        to the last: in one trip to a worker thread, as the whole swarm waits on this queue."""
        git = self.ctx.repo
        old = tip = git.rev_parse(self.ctx.target_ref)
        merged: list[tuple[_Pending, MergeResult]] = []
        failed: list[tuple[_Pending, str]] = []
        for pending in group:
            try:
                result = git.merge_trees(
                    tip, pending.request.head, _message(pending.request), strategy=self._strategy()
                )
            except OompaError as exc:  # this request's branch, not the queue: it alone fails
                failed.append((pending, str(exc)))
                continue
            merged.append((pending, result))
            tip = result.commit if result.status == "merged" and result.commit else tip
        attempt = _GroupAttempt(old, tip, merged, failed)
        if tip != old:
            self.watch.intend(tip)
            try:
                attempt.advance = git.advance_target(self.ctx.target, tip, old, drop=_landing(merged))
            except TargetMoved:
                attempt.moved = True
        return attempt

    def _settle_landed(self, attempt: _GroupAttempt, dropped: tuple[str, ...]) -> None:
        previous = attempt.old
        for pending, merged in attempt.merged:
            gone = pending.request.branch in dropped
            if merged.status == "up_to_date" and pending.request.head in self.watch.foreign:
                pending.outcome = _outside_queue(previous)
            elif merged.status == "up_to_date":
                pending.outcome = MergeOutcome("landed", commit=previous, branch_dropped=gone)
            elif merged.status == "merged" and merged.commit:
                self.ctx.emit(
                    MergeLanded(
                        task_id=pending.request.task_id, commit=merged.commit, target=self.ctx.target, previous=previous
                    )
                )
                pending.outcome = MergeOutcome("landed", commit=merged.commit, branch_dropped=gone)
                previous = merged.commit
        self.ctx.wakeup.notify()

    # -- with checks: one request at a time --------------------------------------------------

    async def _merge(self, request: MergeRequest) -> MergeOutcome:
        while True:
            await self._wait_for_watch()
            old, merged = await anyio.to_thread.run_sync(self._merge_one, request)
            if merged.status == "conflict":
                return MergeOutcome("conflict", files=list(merged.conflicts))
            if merged.status == "up_to_date" or not merged.commit:
                return _outside_queue(old) if request.head in self.watch.foreign else MergeOutcome("landed", commit=old)
            results = await self._check_merged(request, merged.commit)
            if results is not None and any(r.exit_code != 0 for r in results):
                return MergeOutcome("checks_failed", results=results)
            self.watch.intend(merged.commit)
            advanced = await self._advance(merged.commit, old, [(request.branch, request.head)])
            if advanced is not None:
                await self.watch.landed(old, merged.commit)
                self.ctx.emit(
                    MergeLanded(task_id=request.task_id, commit=merged.commit, target=self.ctx.target, previous=old)
                )
                self.ctx.wakeup.notify()
                await self._count_landings(1)
                return MergeOutcome("landed", commit=merged.commit, branch_dropped=request.branch in advanced.dropped)

    def _merge_one(self, request: MergeRequest) -> tuple[str, MergeResult]:
        old = self.ctx.repo.rev_parse(self.ctx.target_ref)
        return old, self.ctx.repo.merge_trees(old, request.head, _message(request), strategy=self._strategy())

    def _strategy(self) -> Literal["merge", "squash"]:
        # git 2.39's merge-tree cannot replay commits, so "rebase" lands as one linear commit.
        return "merge" if self.ctx.config.merge.strategy == "merge" else "squash"

    async def _count_landings(self, count: int) -> None:
        before, self._landed = self._landed, self._landed + count
        if before // MAINTENANCE_EVERY != self._landed // MAINTENANCE_EVERY:
            await anyio.to_thread.run_sync(self.ctx.repo.run_auto_maintenance)

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

    async def _advance(
        self, new: str, old: str, drop: list[Landed], tried: AdvanceResult | None = None
    ) -> AdvanceResult | None:
        """How the target came to point at `new` (the landed branches of `drop` deleted with
        it); None when it moved (merge again). `tried` is a first attempt already made."""
        while True:
            try:
                result = (
                    tried
                    if tried is not None
                    else await anyio.to_thread.run_sync(
                        lambda: self.ctx.repo.advance_target(self.ctx.target, new, old, drop=drop)
                    )
                )
            except TargetMoved:
                return None
            tried = None
            if result.advanced:
                self._set_paused("")
                return result
            self._set_paused(result.reason)
            await anyio.sleep(_BLOCKED_RETRY_S)
            current = await anyio.to_thread.run_sync(self.ctx.repo.rev_parse, self.ctx.target_ref)
            if current != old:
                return None

    async def _wait_for_watch(self) -> None:
        """Land only on a target the watch has looked at, while nothing holds the queue (the
        user's checkout behind a foreign move, or the user asked to look at one first)."""
        while True:
            await self.watch.check()
            if not self.watch.hold:
                if self._paused:
                    self._set_paused("")
                return
            self._set_paused(self.watch.hold)
            await anyio.sleep(_BLOCKED_RETRY_S)

    def _set_paused(self, reason: str) -> None:
        if reason and not self._paused:
            self._paused = True
            self.ctx.emit(MergePaused(reason=reason))
        elif not reason and self._paused:
            self._paused = False
            self.ctx.emit(MergeResumed())

    def close(self) -> None:
        self._send.close()


def _landing(merged: list[tuple[_Pending, MergeResult]]) -> list[Landed]:
    """The branches a move of the target lands: each goes with the move (refs.py)."""
    return [
        (pending.request.branch, pending.request.head)
        for pending, result in merged
        if result.status in ("merged", "up_to_date")
    ]


def _outside_queue(tip: str) -> MergeOutcome:
    return MergeOutcome("outside_queue", commit=tip)


def _message(request: MergeRequest) -> str:
    return f"oompa: merge {request.task_id}: {request.summary}"
