"""The merge queue: exactly one consumer lands approved work on the target branch.

Each request is merged without a checkout (`git merge-tree`), checked on the merged tree
when checks are configured, and landed by compare-and-swap. When the user's checkout of the
target cannot be advanced safely the queue pauses, says why, and retries until it can.

Without checks, the requests already waiting when the queue turns to the next one land as a
group: each is merged onto the merge before it, in the order they came, and the target (and
the user's checkout of it) moves once, to the last merge. The target's history is the same
as one at a time; the update of a checked-out target, which costs in proportion to its files,
is paid once per group. With checks, every commit the queue puts on the target must pass them
on its own tree: the merge train (merge_train.py) checks several merges at once, each on top
of the ones ahead of it, and lands them in order (`merge.parallel_checks: 1`: one at a time).

May import: core, adapters. Must not import: lsp, cli.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from typing import Literal

import anyio
from anyio.abc import TaskStatus

from ..adapters.git import AdvanceResult, Landed, MergeResult
from ..core.errors import OompaError, TargetMoved
from ..core.events import LogMessage, MergeLanded, MergePaused, MergeQueued, MergeResumed
from .checks import CheckMemo
from .context import SwarmContext
from .merge_train import MergeTrain
from .target_watch import TargetWatch
from .train_pool import CheckPool
from .train_requests import MergeOutcome, MergeRequest, Nudge, Pending, merge_message, outside_queue

__all__ = ["MergeOutcome", "MergeQueue", "MergeRequest"]

_BLOCKED_RETRY_S = 2.0
# Commits skip git's own auto maintenance; the queue runs it after this many landings (and
# the swarm once at the end), so a long run still packs its loose objects.
MAINTENANCE_EVERY = 100
# The most requests landed by one move of the target.
MAX_GROUP = 16


@dataclass
class _GroupAttempt:
    """A group merged onto the tip `old`, each onto the merge before it; `tip` is the last."""

    old: str
    tip: str
    merged: list[tuple[Pending, MergeResult]]
    failed: list[tuple[Pending, str]] = field(default_factory=list)  # git could not merge these
    advance: AdvanceResult | None = None  # the first try to move the target to `tip`
    moved: bool = False  # the target moved meanwhile: merge again


class MergeQueue:
    def __init__(self, ctx: SwarmContext, watch: TargetWatch | None = None) -> None:
        self.ctx = ctx
        # Without a swarm's watch (a queue on its own), foreign moves are still seen and said.
        self.watch = watch or TargetWatch(ctx, list, lambda move: None)
        self._send, self._receive = anyio.create_memory_object_stream[Pending](max_buffer_size=1000)
        self._paused = False
        self._landed = 0
        self.arrivals = Nudge()  # a request came, or a check of the train finished
        width = parallel_checks(ctx)
        self.pool = CheckPool(ctx, width)
        self.memo = CheckMemo()  # check results by tree, for the whole run
        self._train = MergeTrain(self, width, self.pool, self.memo)

    async def submit(self, request: MergeRequest) -> MergeOutcome:
        """Queue `request` and wait for its outcome."""
        pending = Pending(request)
        self.ctx.emit(
            MergeQueued(task_id=request.task_id, branch=request.branch, head=request.head, worker=request.worker)
        )
        await self._send.send(pending)
        self.arrivals.set()
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

    async def _serve(self, first: Pending, group: list[Pending]) -> None:
        """Land the group; a git failure fails the requests it leaves unsettled, not the queue."""
        try:
            if self.ctx.config.merge.checks:
                await self._train.run(first)
            else:
                await self._land_group(group)
        except OompaError as exc:
            unsettled = [pending for pending in group if pending.outcome.kind == "stopped"]
            for pending in unsettled:
                pending.outcome = MergeOutcome("failed", reason=str(exc))
            names = ", ".join(pending.request.task_id for pending in unsettled)
            self.ctx.emit(LogMessage(level="error", message=f"merging {names} failed: {exc}"))

    def take_waiting(self) -> Pending | None:
        """The next request already queued, if any (the train takes them as it has room)."""
        try:
            return self._receive.receive_nowait()
        except (anyio.WouldBlock, anyio.EndOfStream):
            return None

    def _waiting_behind(self) -> list[Pending]:
        """The requests already queued, up to a group's size; none when checks must run on
        every commit the target gets."""
        waiting: list[Pending] = []
        while not self.ctx.config.merge.checks and len(waiting) < MAX_GROUP - 1:
            try:
                waiting.append(self._receive.receive_nowait())
            except (anyio.WouldBlock, anyio.EndOfStream):
                break
        return waiting

    # -- without checks: a group, one move of the target -----------------------------------

    async def _land_group(self, group: list[Pending]) -> None:
        waiting = group
        while waiting:
            await self.wait_for_watch()
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
            advanced = await self.advance(attempt.tip, attempt.old, _landing(attempt.merged), attempt.advance)
            if advanced is not None:
                await self.watch.landed(attempt.old, attempt.tip)
                self._settle_landed(attempt, advanced.dropped)
                await self.count_landings(len(waiting))
                return

    def _merge_group(self, group: list[Pending]) -> _GroupAttempt:
        """Read the tip, merge each request onto the merge before it and try to move the target
        to the last: in one trip to a worker thread, as the whole swarm waits on this queue."""
        git = self.ctx.repo
        old = tip = git.rev_parse(self.ctx.target_ref)
        merged: list[tuple[Pending, MergeResult]] = []
        failed: list[tuple[Pending, str]] = []
        for pending in group:
            try:
                result = git.merge_trees(
                    tip, pending.request.head, merge_message(pending.request), strategy=self.strategy()
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
                pending.outcome = outside_queue(previous)
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

    def strategy(self) -> Literal["merge", "squash"]:
        # git 2.39's merge-tree cannot replay commits, so "rebase" lands as one linear commit.
        return "merge" if self.ctx.config.merge.strategy == "merge" else "squash"

    async def count_landings(self, count: int) -> None:
        before, self._landed = self._landed, self._landed + count
        if before // MAINTENANCE_EVERY != self._landed // MAINTENANCE_EVERY:
            await anyio.to_thread.run_sync(self.ctx.repo.run_auto_maintenance)

    async def advance(
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

    async def wait_for_watch(self) -> None:
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


def _landing(merged: list[tuple[Pending, MergeResult]]) -> list[Landed]:
    """The branches a move of the target lands: each goes with the move (refs.py)."""
    return [
        (pending.request.branch, pending.request.head)
        for pending, result in merged
        if result.status in ("merged", "up_to_date")
    ]


def parallel_checks(ctx: SwarmContext) -> int:
    """How many merged trees the train checks at once: `merge.parallel_checks`, else the default."""
    configured = ctx.config.merge.parallel_checks
    if configured is not None:
        return configured
    return default_parallel_checks(sum(worker.count for worker in ctx.config.workers))


def default_parallel_checks(workers: int) -> int:
    """As many as the machine sensibly runs: its cores, and at least 4 (checks often wait on
    disk or services, and CPU-bound ones lose no throughput beside each other); never more
    than the swarm has workers, who cannot have more requests in flight."""
    return max(1, min(workers, max(4, os.cpu_count() or 1)))
