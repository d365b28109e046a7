"""The task board: which tasks are in flight, who may claim next, and when the swarm is drained.

Claims go through the task store (atomic across processes); the board only adds what one
scheduler knows: files in flight, agents currently able to write new tasks, and discovery
of task files agents created (each validated before anyone may claim it).

May import: core, adapters. Must not import: lsp, cli.
"""

from __future__ import annotations

import anyio

from ..adapters.task_store import owner_here
from ..core.tasks import Owner
from ..core.events import TaskInvalid, TaskSeen
from ..core.tasks import Task, blocked_forever
from .context import SwarmContext

_POLL_S = 0.5


class TaskBoard:
    def __init__(self, ctx: SwarmContext) -> None:
        self.ctx = ctx
        self.in_flight: dict[str, set[str]] = {}  # task id -> files it declared
        self.producers = 0  # agent turns running that may create tasks
        self._seen: dict[str, str] = {}  # task id -> state last announced
        self._invalid: set[str] = set()

    def owner(self, worker_id: str) -> Owner:
        return owner_here(worker_id, self.ctx.run_id)

    async def next_task(self, worker_id: str, stopping: anyio.Event) -> Task | None:
        """Claim the next task for `worker_id`; None when the swarm is drained or stopping."""
        while not stopping.is_set():
            scan = await self.refresh()
            task = await anyio.to_thread.run_sync(self._claim, worker_id, scan)
            if task is not None:
                self.in_flight[task.id] = set(task.files)
                return task
            if self.drained(scan):
                return None
            await self.ctx.wakeup.wait(_POLL_S)
        return None

    def _claim(self, worker_id: str, scan) -> Task | None:
        busy = set().union(*self.in_flight.values()) if self.in_flight else set()
        complete = {t.id for t in scan.complete}
        return self.ctx.store.claim_next(self.owner(worker_id), complete, busy)

    def release(self, task_id: str) -> None:
        self.in_flight.pop(task_id, None)
        self.ctx.wakeup.notify()

    def drained(self, scan) -> bool:
        if self.in_flight or self.producers:
            return False
        known = {t.id for state in (scan.pending, scan.current, scan.complete, scan.failed) for t in state}
        stuck = blocked_forever(scan.pending, known, {t.id for t in scan.failed})
        return len(stuck) == len(scan.pending)

    async def refresh(self):
        """Scan the store and announce tasks that are new or changed state, and invalid files."""
        scan = await anyio.to_thread.run_sync(self.ctx.store.scan)
        for state in ("pending", "current", "complete", "failed"):
            for task in getattr(scan, state):
                if self._seen.get(task.id) != state:
                    self._seen[task.id] = state
                    self.ctx.emit(TaskSeen(task_id=task.id, state=state, summary=task.summary,
                                           spec=task.spec, priority=task.priority))
        for bad in scan.invalid:
            key = f"{bad.path}:{[p.message for p in bad.problems]}"
            if key not in self._invalid:
                self._invalid.add(key)
                self.ctx.emit(TaskInvalid(path=str(bad.path), problems=[p.message for p in bad.problems]))
        return scan

    def stuck_tasks(self, scan) -> list[Task]:
        known = {t.id for state in (scan.pending, scan.current, scan.complete, scan.failed) for t in state}
        return blocked_forever(scan.pending, known, {t.id for t in scan.failed})
