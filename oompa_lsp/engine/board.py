"""The task board: which tasks are in flight, who may claim next, and when the swarm is drained.

Claims go through the task store (atomic across processes); the board only adds what one
scheduler knows: files in flight, agents currently able to write new tasks, and discovery
of task files agents created (each validated before anyone may claim it). A task in flight
holds the paths it declared and, from its first commit on, those it changed; a pending task
on an overlapping path (`core.paths`) waits, and the views are told why. A task file whose
`id` field disagrees with its name is announced once, as a warning saying the name wins.

May import: core, adapters. Must not import: lsp, cli.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from pathlib import Path

import anyio

from ..adapters.task_record import RestoredFile
from ..adapters.task_scan import StoreScan
from ..adapters.task_store import owner_here
from ..core.events import LogMessage, TaskFileRestored, TaskHeldBack, TaskInvalid, TaskSeen
from ..core.tasks import Owner, Task, blocked_forever, claim_order, file_name_notice, waiting_reason
from .context import SwarmContext

_POLL_S = 0.5
# How old a scan may be and still offer tasks to claim. A claim re-reads its task file and
# fails for a task someone took meanwhile, so an older listing costs nothing but order: a
# task written since is seen within this long (and at once when the listing has nothing).
_CLAIM_FROM_SCAN_S = 1.0


class TaskBoard:
    def __init__(self, ctx: SwarmContext) -> None:
        self.ctx = ctx
        self.in_flight: dict[str, set[str]] = {}  # task id -> paths it declared or changed
        self._held_back: dict[str, str] = {}  # pending task id -> why it waits, as last said
        self.producers = 0  # agent turns running that may create tasks
        self._seen: dict[str, str] = {}  # task id -> state last announced
        self._invalid: set[str] = set()
        self._renamed: set[str] = set()  # ids whose file-name warning was given
        self.restored = 0  # task files put back after someone else removed or rewrote them
        self._scanning = anyio.Lock()
        self._claiming = anyio.Lock()
        self._scans_started = 0
        self._last_scan: tuple[int, StoreScan] | None = None  # (its number, the scan)
        self._last_scan_at = 0.0
        self._claimed_since_scan: set[str] = set()

    def owner(self, worker_id: str) -> Owner:
        return owner_here(worker_id, self.ctx.run_id)

    async def next_task(
        self,
        worker_id: str,
        stopping: anyio.Event,
        start: Callable[[Task], Task] | None = None,
        max_wait_s: float | None = None,
    ) -> Task | None:
        """Claim the next task for `worker_id`, recording `start(task)` with the claim (its
        attempt); None when the swarm is drained or stopping, or after `max_wait_s` without
        a claimable task (the original's `max_wait_for_tasks`)."""
        give_up_at = None if max_wait_s is None else anyio.current_time() + max_wait_s
        recent = self._recent_scan()
        if recent is not None:
            task = await self._claim_from(worker_id, recent, start)
            if task is not None:
                return task
        while not stopping.is_set():
            scan = await self.refresh()
            task = await self._claim_from(worker_id, scan, start)
            if task is not None:
                return task
            if self.drained(scan) or (give_up_at is not None and anyio.current_time() >= give_up_at):
                return None
            await self.ctx.wakeup.wait(_until_next_poll())
        return None

    def _recent_scan(self) -> StoreScan | None:
        if self._last_scan is None or anyio.current_time() - self._last_scan_at > _CLAIM_FROM_SCAN_S:
            return None
        return self._last_scan[1]

    async def _claim_from(self, worker_id: str, scan: StoreScan, start: Callable[[Task], Task] | None) -> Task | None:
        # What this board claimed since the scan is known to be gone: not even tried.
        pending = [t for t in scan.pending if t.id not in self._claimed_since_scan]
        if not pending:
            return None  # the usual answer of a drained store: no trip to a thread for it
        # One claim at a time: a claim running beside another would not see the files the
        # other is about to put in flight, and two tasks touching one file would run at once.
        async with self._claiming:
            pending = [t for t in pending if t.id not in self._claimed_since_scan]  # taken while we waited
            in_flight = {task_id: set(paths) for task_id, paths in self.in_flight.items()}
            task = await anyio.to_thread.run_sync(self._claim, worker_id, scan.complete, pending, in_flight, start)
            if task is not None:
                self._claimed_since_scan.add(task.id)
                self.in_flight[task.id] = task.touched_files()
                self._held_back.pop(task.id, None)  # the claim clears it in the views
            self._say_why_waiting()
        return task

    def _claim(
        self,
        worker_id: str,
        complete: list[Task],
        pending: list[Task],
        in_flight: dict[str, set[str]],
        start: Callable[[Task], Task] | None,
    ) -> Task | None:
        complete_ids = {t.id for t in complete}
        if not claim_order(pending, complete_ids, in_flight):
            return None  # nothing claimable in this listing: skip reading pending again
        return self.ctx.store.claim_next(self.owner(worker_id), complete_ids, in_flight, pending=pending, start=start)

    def hold(self, task_id: str, changed: Iterable[str]) -> None:
        """Add the paths a task in flight has actually changed to those it holds: a task
        that declared `src/a.py` and also edited `src/b.py` keeps both apart from now on."""
        if task_id in self.in_flight:
            self.in_flight[task_id] |= set(changed)

    def paths_matter(self) -> bool:
        """Whether any pending task declares paths: only then is what a task in flight has
        changed worth a git process (tasks that declare nothing are never held back)."""
        scan = self._last_scan[1] if self._last_scan is not None else None
        return scan is not None and any(t.touched_files() for t in scan.pending)

    def release(self, task_id: str) -> None:
        self.in_flight.pop(task_id, None)
        self._say_why_waiting()
        self.ctx.wakeup.notify()

    def _say_why_waiting(self) -> None:
        """Tell the views why each pending task waits, when that changed since it was said.
        From the newest listing only: an older one may still show a task that has landed since."""
        if self._last_scan is None:
            return
        scan = self._last_scan[1]
        complete_ids = {t.id for t in scan.complete}
        for task in scan.pending:
            if task.id in self._claimed_since_scan or task.id in self.in_flight:
                continue
            reason = (
                waiting_reason(task, complete_ids, self.in_flight) if (task.depends_on or task.touched_files()) else ""
            )
            if self._held_back.get(task.id, "") != reason:
                self._held_back[task.id] = reason
                self.ctx.emit(TaskHeldBack(task_id=task.id, reason=reason))

    def drained(self, scan: StoreScan) -> bool:
        if self.in_flight or self.producers:
            return False
        known = {t.id for state in (scan.pending, scan.current, scan.complete, scan.failed) for t in state}
        stuck = blocked_forever(scan.pending, known, {t.id for t in scan.failed})
        return len(stuck) == len(scan.pending)

    async def refresh(self) -> StoreScan:
        """Scan the store and announce tasks that are new or changed state, and invalid files.

        The scan returned always started after the call: callers arriving while a scan runs
        wait for it, and then share the one that starts next (64 idle workers polling cost
        one scan per round, not 64)."""
        fresh_from = self._scans_started + 1
        async with self._scanning:
            if self._last_scan is not None and self._last_scan[0] >= fresh_from:
                return self._last_scan[1]
            self._scans_started += 1
            number, started = self._scans_started, anyio.current_time()
            claimed_before = set(self._claimed_since_scan)
            scan = await self._scan_and_announce()
            self._last_scan, self._last_scan_at = (number, scan), started
            # claims made during the scan may or may not show in it: keep them out
            self._claimed_since_scan -= claimed_before
            return scan

    async def _scan_and_announce(self) -> StoreScan:
        scan, restored = await anyio.to_thread.run_sync(self._scan_and_restore)
        if restored:
            by = self.ctx.recent_agents()
            for found in restored:
                self.restored += 1
                self.ctx.emit(
                    TaskFileRestored(
                        task_id=found.task_id, state=found.state, why=found.why, content=found.content, by=by
                    )
                )
        for state in ("pending", "current", "complete", "failed"):
            for task in getattr(scan, state):
                if self._seen.get(task.id) != state:
                    self._seen[task.id] = state
                    self.ctx.emit(
                        TaskSeen(
                            task_id=task.id, state=state, summary=task.summary, spec=task.spec, priority=task.priority
                        )
                    )
                self._warn_if_renamed(task)
        for bad in scan.invalid:
            key = f"{bad.path}:{[p.message for p in bad.problems]}"
            if key not in self._invalid:
                self._invalid.add(key)
                self.ctx.emit(TaskInvalid(path=str(bad.path), problems=[p.message for p in bad.problems]))
        return scan

    def _scan_and_restore(self) -> tuple[StoreScan, list[RestoredFile]]:
        """A scan, after putting back what others removed or rewrote (task_record.py): a
        worker never sees an emptied folder and calls the swarm drained."""
        store = self.ctx.store
        scan = store.scan()
        restored = store.record.restore(_listed_ids(scan))
        return (store.scan() if restored else scan), restored

    def _warn_if_renamed(self, task: Task) -> None:
        notice = file_name_notice(task)
        if notice is not None and task.id not in self._renamed:
            self._renamed.add(task.id)
            self.ctx.emit(LogMessage(level="warning", message=f"task {task.id}: {notice}"))


def _listed_ids(scan: StoreScan) -> set[str]:
    """Every task id the scan found a file for, readable or not."""
    ids = {task.id for tasks in scan.tasks.values() for task in tasks} | set(scan.duplicates)
    return ids | {Path(bad.path).name.removesuffix(".json") for bad in scan.invalid}


def _until_next_poll() -> float:
    """Idle workers poll on one shared beat, so their scans coincide and are shared (waiting
    workers still wake at once on a notify)."""
    return _POLL_S - anyio.current_time() % _POLL_S
