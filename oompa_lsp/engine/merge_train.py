"""The merge train: with checks configured, several queued requests checked at once.

Up to `width` requests (`merge.parallel_checks`) ride the train in approval order, each
merged onto the merge before it (tip+A, tip+A+B, ...) and checked in a check worktree of its
own (train_pool.py). The target advances by compare-and-swap through the longest prefix of
cars whose checks passed, in order, so every commit the queue puts there passed the checks on
its own tree (DESIGN invariant 4). The train is kept by reconciling: each car must sit on the
car before it that can still land (or on the target's tip); a car whose place changed is
stopped (its checks' process groups killed) and merged and checked again. So:

- a car whose checks fail leaves the chain at once: the cars behind it are merged again
  without it. Its failure counts, and it goes back to its worker with the failing output,
  once it reaches the front (its tree was then the target plus itself); when a car ahead of
  it fails first, it is merged again without that one and checked again instead;
- a car that conflicts with the cars ahead (not with the target) waits the same way;
- a target moved by someone else is a new tip: every car is merged again on it;
- a merged tree already checked (the worktree's tree before review, when the target has not
  moved since the branch's base) is not checked again (`CheckMemo`; the event says so).

This is the merge queue's consumer at work: it alone merges and lands; the checks run beside
it, in its task group. May import: core, adapters. Must not import: lsp, cli.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING

import anyio
from anyio.abc import TaskGroup

from ..adapters.git import MergeResult
from ..core.errors import OompaError
from ..core.events import CheckResult, ChecksRan, LogMessage, MergeLanded, MergeTrainUpdated, TrainState
from .checks import CheckMemo, run_checks
from .train_pool import CheckPool
from .train_requests import MergeOutcome, Pending, merge_message, outside_queue

if TYPE_CHECKING:
    from .merge_queue import MergeQueue

# How often the consumer looks at the target's tip while checks run (a move stops them).
LOOK_AGAIN_S = 1.0


@dataclass
class _Car:
    pending: Pending
    state: str = "queued"  # queued | merging | checking | passed | failed | waiting (on a conflict ahead)
    parent: str = ""  # the commit it is merged onto
    commit: str = ""  # its merge (the parent itself when it brings nothing new)
    tree: str = ""
    up_to_date: bool = False
    results: list[CheckResult] = field(default_factory=list)
    error: str = ""  # git could not give it a check worktree
    conflicts: list[str] = field(default_factory=list)
    scope: anyio.CancelScope | None = None
    generation: int = 0
    said: tuple[str, str] = ("", "")

    @property
    def task_id(self) -> str:
        return self.pending.request.task_id


class MergeTrain:
    def __init__(self, queue: MergeQueue, width: int, pool: CheckPool, memo: CheckMemo) -> None:
        self.queue, self.ctx = queue, queue.ctx
        self.width, self.pool, self.memo = width, pool, memo
        self.base = ""  # the target's tip the train is built on
        self.cars: list[_Car] = []
        self._group: TaskGroup | None = None

    async def run(self, first: Pending) -> None:
        """Serve `first` and every request that joins while the train has cars."""
        self.cars, self.base = [_Car(first)], ""
        try:
            async with anyio.create_task_group() as self._group:
                while self.cars:
                    try:
                        await self._step()
                    except OompaError as exc:  # git refused the train's base: these fail, not the queue
                        self._fail_all(str(exc))
                self._group.cancel_scope.cancel()
        finally:
            for car in self.cars:
                car.pending.done.set()  # the queue stopped: their outcome says so

    async def _step(self) -> None:
        self._join()
        await self.queue.wait_for_watch()
        self.base = await anyio.to_thread.run_sync(self.ctx.repo.rev_parse, self.ctx.target_ref)
        await self._reconcile()
        if not await self._settle_front():
            await self.queue.arrivals.wait(LOOK_AGAIN_S)

    def _join(self) -> None:
        while len(self.cars) < self.width and (pending := self.queue.take_waiting()) is not None:
            self.cars.append(_Car(pending))

    # -- keeping each car on the one before it ------------------------------------------------

    async def _reconcile(self) -> None:
        parent, ahead = self.base, list[str]()
        for car in list(self.cars):
            if car not in self.cars:
                continue
            if car.state == "queued" or car.parent != parent:
                await self._merge(car, parent, ahead)
            if car in self.cars and car.state in ("checking", "passed"):
                parent = car.commit
                ahead = [*ahead, car.task_id] if not car.up_to_date else ahead

    async def _merge(self, car: _Car, parent: str, ahead: list[str]) -> None:
        again = car.generation > 0
        self._stop(car)
        car.parent, car.generation, car.error, car.up_to_date = parent, car.generation + 1, "", False
        on = " + ".join([self.ctx.target, *ahead, car.task_id])
        self._say(car, "merging", ("again, " if again else "") + on)
        request, git = car.pending.request, self.ctx.repo

        def merge() -> tuple[MergeResult, str]:
            head_tree = git.tree_of(request.head) if request.checks else ""
            return git.merge_trees(
                parent, request.head, merge_message(request), strategy=self.queue.strategy()
            ), head_tree

        try:
            merged, head_tree = await anyio.to_thread.run_sync(merge)
        except OompaError as exc:  # this request's branch, not the train: it alone fails
            self._settle(car, MergeOutcome("failed", reason=str(exc)), f"could not merge: {exc}")
            return
        if head_tree:
            self.memo.put(head_tree, self.ctx.config.merge.checks, request.checks, "its worktree's check before review")
        if merged.status == "conflict":
            self._conflicted(car, list(merged.conflicts), ahead)
        elif merged.status == "up_to_date" or not merged.commit:
            car.commit, car.up_to_date, car.state = parent, True, "passed"
            self._say(car, "passed", f"already on {on.rsplit(' + ', 1)[0]}: nothing to check")
        else:
            car.commit, car.tree = merged.commit, merged.tree or ""
            self._check_or_reuse(car, on)

    def _conflicted(self, car: _Car, files: list[str], ahead: list[str]) -> None:
        car.conflicts = files
        if not ahead:  # with the target itself: the worker's resolver takes it
            names = ", ".join(files)
            self._settle(
                car, MergeOutcome("conflict", files=files), f"merge conflict with {self.ctx.target} in {names}"
            )
            return
        car.state = "waiting"
        self._say(
            car, "queued", f"conflicts with {', '.join(ahead)} ahead ({', '.join(files)}): merged again once they land"
        )

    def _check_or_reuse(self, car: _Car, on: str) -> None:
        checks = self.ctx.config.merge.checks
        kept = self.memo.get(car.tree, checks) if car.tree else None
        if kept is not None:
            self._checked(car, kept[0], reused=kept[1])
            return
        car.state = "checking"
        self._say(car, "checking", f"{car.commit[:10]}: {on}")
        assert self._group is not None
        self._group.start_soon(self._check, car, car.generation)

    async def _check(self, car: _Car, generation: int) -> None:
        checks = self.ctx.config.merge.checks
        with anyio.CancelScope() as scope:
            car.scope = scope
            try:
                async with self.pool.slot(car.commit) as path:
                    results = await run_checks(checks, path, self.ctx.config.merge.check_timeout_s)
            except (OompaError, OSError) as exc:  # git or the disk, not the checks: this car alone fails
                if car.generation == generation:
                    car.state, car.error = "failed", f"no check worktree: {exc}"
            else:
                if car.generation == generation:  # still where it was merged: the result counts
                    self.memo.put(car.tree, checks, results, f"the merged tree of {car.task_id}")
                    self._checked(car, results, reused="")
        if car.scope is scope:
            car.scope = None
        self.queue.arrivals.set()

    def _checked(self, car: _Car, results: list[CheckResult], reused: str) -> None:
        ok = all(r.exit_code == 0 for r in results)
        car.results, car.state = results, "passed" if ok else "failed"
        self.ctx.emit(ChecksRan(task_id=car.task_id, stage="merged", ok=ok, results=results, reused=reused))
        how = f" (the result of {reused}: not run again)" if reused else ""
        failing = next((r for r in results if r.exit_code != 0), None)
        what = f"failed: `{' '.join(failing.argv)}` exit {failing.exit_code}" if failing else "checks passed"
        self._say(car, "passed" if ok else "failed", f"{car.commit[:10]} {what}{how}")

    def _stop(self, car: _Car) -> None:
        """Its merge can no longer land: its checks end (run_check kills their process group)."""
        if car.scope is not None:
            car.scope.cancel()
            car.scope = None

    # -- landing the passed prefix; failures count at the front -------------------------------

    async def _settle_front(self) -> bool:
        """Land what can land and settle what failed at the front; True when anything did."""
        group = []
        for car in self.cars:
            if car.state != "passed":
                break
            group.append(car)
        if group:
            await self._land(group)
            return True
        front = self.cars[0] if self.cars else None
        if front is None or front.parent != self.base or front.state not in ("failed", "waiting"):
            return False
        if front.state == "waiting":
            names = ", ".join(front.conflicts)
            self._settle(front, MergeOutcome("conflict", files=front.conflicts), f"merge conflict in {names}")
        elif front.error:
            self._settle(front, MergeOutcome("failed", reason=front.error), front.error)
        else:
            self._settle(front, MergeOutcome("checks_failed", results=front.results), front.said[1])
        return True

    async def _land(self, group: list[_Car]) -> None:
        """Move the target through `group` in one compare-and-swap; a target moved meanwhile
        is left to the next step, which merges everything again on its new tip."""
        old, new = self.base, group[-1].commit
        dropped: tuple[str, ...] = ()
        if new != old:
            drop = [(car.pending.request.branch, car.pending.request.head) for car in group]
            self.queue.watch.intend(new)
            advanced = await self.queue.advance(new, old, drop)
            if advanced is None:
                return
            await self.queue.watch.landed(old, new)
            dropped = advanced.dropped
        previous = old
        for car in group:
            request = car.pending.request
            gone = request.branch in dropped
            if car.up_to_date and request.head in self.queue.watch.foreign:
                self._settle(car, outside_queue(previous), "reached the target outside the queue")
                continue
            if not car.up_to_date:
                self.ctx.emit(
                    MergeLanded(task_id=car.task_id, commit=car.commit, target=self.ctx.target, previous=previous)
                )
                previous = car.commit
            else:
                self._say(car, "landed", "already on the target")
            self._settle(car, MergeOutcome("landed", commit=previous, branch_dropped=gone), "")
        self.base = new
        self.ctx.wakeup.notify()
        await self.queue.count_landings(len(group))

    def _settle(self, car: _Car, outcome: MergeOutcome, detail: str) -> None:
        self._stop(car)
        if car in self.cars:
            self.cars.remove(car)
        if outcome.kind in ("conflict", "checks_failed", "failed", "outside_queue"):
            self._say(car, "failed", detail)
        car.pending.settle(outcome)

    def _fail_all(self, reason: str) -> None:
        names = ", ".join(car.task_id for car in self.cars)
        self.ctx.emit(LogMessage(level="error", message=f"merging {names} failed: {reason}"))
        for car in list(self.cars):
            self._settle(car, MergeOutcome("failed", reason=reason), reason)

    def _say(self, car: _Car, state: TrainState, detail: str) -> None:
        if car.said != (state, detail):
            car.said = (state, detail)
            self.ctx.emit(MergeTrainUpdated(task_id=car.task_id, state=state, detail=detail))
