"""The server's handle on the engine for one repository: it hosts the swarm, follows the
swarm another process runs, or shows the last run while nothing runs.

Modes:
- `idle`: nothing runs. The snapshot is the latest run's event log folded, with the task
  folders on disk seen on top (between runs the folders are the truth). A watcher notices when
  another process starts a swarm here and switches to `viewer`.
- `host`: `Swarm.run()` runs as one background task on this server's event loop; the snapshot
  is the engine's own, live.
- `viewer`: another process holds the repository's swarm lock (a second editor window, the
  CLI). The snapshot is that run's event log folded, followed as it grows; commands go through
  the control inbox (`.oompa/control/`). When that run ends, the session returns to `idle`.

The session keeps no swarm state of its own beyond the folded Snapshot (the same fold every
view uses); listeners are called after each event was applied, on the event loop.

Must not import: pygls, lsprotocol (the session knows nothing of the editor).
"""

from __future__ import annotations

import asyncio
import logging
import os
import time
from collections.abc import Callable
from contextlib import suppress

import anyio

from oompa_lsp.adapters import control
from oompa_lsp.adapters.run_log import RunLog, SwarmLock
from oompa_lsp.core.commands import Approve, CancelTask, Command, Reject, Requeue, ResumeQueue, StopSwarm
from oompa_lsp.core.errors import EngineRequestError, OompaError, SwarmLocked
from oompa_lsp.core.events import Event, SwarmStopped, TaskSeen
from oompa_lsp.core.review_notes import LineComment
from oompa_lsp.core.snapshot import ReviewView, Snapshot
from oompa_lsp.core.tasks import TASK_STATES, Task
from oompa_lsp.engine.review_places import check_comments
from oompa_lsp.engine.swarm import ChangedFileView, ReviewDiff, Swarm, SwarmResult

logger = logging.getLogger(__name__)

WATCH_INTERVAL_S = 1.0
FOLLOW_POLL_S = 0.05
STOP_GRACE_S = 8.0
KILL_GRACE_S = 3.0


class _Started:
    """Stands in for anyio's TaskStatus: `Swarm.run` calls `started()` once it holds the lock
    and has recovered, which resolves the future `start()` waits on."""

    def __init__(self, future: asyncio.Future[object]) -> None:
        self.future = future

    def started(self, value: object = None) -> None:
        if not self.future.done():
            self.future.set_result(value)


class Session:
    def __init__(self, swarm: Swarm) -> None:
        self.swarm = swarm
        self.mode = "idle"
        self.viewing_pid: int | None = None
        self._snapshot = Snapshot()
        self._listeners: list[Callable[[Event], None]] = []
        self._run_task: asyncio.Task[None] | None = None
        self._follow_task: asyncio.Task[None] | None = None
        self._watch_task: asyncio.Task[None] | None = None
        self._lock = SwarmLock(swarm.oompa_dir)
        self.last_result: SwarmResult | None = None
        self.on_mode_change: Callable[[], None] = lambda: None  # the view re-renders everything
        swarm.subscribe(self._from_engine)

    # -- what views read --------------------------------------------------------------------

    @property
    def snapshot(self) -> Snapshot:
        return self.swarm.snapshot if self.mode == "host" else self._snapshot

    @property
    def viewer(self) -> bool:
        return self.mode == "viewer"

    @property
    def running(self) -> bool:
        return self.snapshot.state in ("running", "stopping")

    def subscribe(self, listener: Callable[[Event], None]) -> None:
        self._listeners.append(listener)

    # -- lifecycle --------------------------------------------------------------------------

    async def attach(self) -> None:
        """On `initialized`: follow a running swarm, or load the last run and watch for one."""
        if not await self._try_follow():
            await self._load_idle()
            self._watch_task = asyncio.create_task(self._watch_for_other_runs())

    async def start(self) -> str:
        """Start the swarm here; returns what happened, in words. If another process already
        runs it, this session becomes its viewer (and says so)."""
        if self.mode == "host":
            return "the swarm is already running in this window"
        if self.mode == "viewer" or await self._try_follow():
            return f"the swarm already runs in pid {self.viewing_pid}; this window follows it"
        self._cancel_watch()
        if self._run_task is not None:
            await self._fresh_swarm()
        started: asyncio.Future[object] = asyncio.get_running_loop().create_future()
        self.mode = "host"
        self._run_task = asyncio.create_task(self._host(started))
        try:
            await started
        except SwarmLocked:
            self.mode = "idle"
            await self._try_follow()
            return f"the swarm already runs in pid {self.viewing_pid}; this window follows it"
        return "the swarm started"

    async def _fresh_swarm(self) -> None:
        """A second run in this window gets a new engine object (and today's oompa.json):
        an engine carries what it learned in a run, such as why that run stopped."""
        fresh = await anyio.to_thread.run_sync(Swarm.open, self.swarm.repo_root)
        fresh.subscribe(self._from_engine)
        self.swarm, self._run_task = fresh, None

    async def stop(self, reason: str = "stopped from the editor") -> str:
        if self.mode == "host":
            self.swarm.stop(reason)
            return "stopping the swarm"
        if self.mode == "viewer":
            await self._post(StopSwarm(reason=reason))
            return f"asked pid {self.viewing_pid} to stop the swarm"
        return "no swarm is running"

    async def close(self) -> None:
        """On `shutdown`: stop a hosted swarm (agents killed, claims returned) and wait for it,
        forcing cancellation if it overstays; stop following or watching."""
        self._cancel_watch()
        if self._follow_task is not None:
            self._follow_task.cancel()
        if self._run_task is not None and not self._run_task.done():
            self.swarm.stop("the editor closed")
            await self._wait_run(STOP_GRACE_S)
            if not self._run_task.done():
                logger.warning("the swarm did not stop within %.0f s; cancelling it", STOP_GRACE_S)
                self._run_task.cancel()
                await self._wait_run(KILL_GRACE_S)
        self._cancel_watch()  # the run's end started one

    async def _wait_run(self, timeout: float) -> None:  # noqa: ASYNC109 -- asyncio.wait_for on a shielded task, not a scope
        assert self._run_task is not None
        with suppress(asyncio.TimeoutError, asyncio.CancelledError, Exception):
            await asyncio.wait_for(asyncio.shield(self._run_task), timeout)

    async def _host(self, started: asyncio.Future[object]) -> None:
        try:
            self.last_result = await self.swarm.run(task_status=_Started(started))
        except SwarmLocked as exc:
            _fail(started, exc)
        except Exception as exc:  # noqa: BLE001 -- whatever ends the run (a config or repository problem, a bug) is told to start() and logged, not left to hang it
            _fail(started, exc)
            logger.warning("the swarm ended with an error: %s", exc)
            self.last_result = SwarmResult(False, str(exc))
        except BaseException:
            _fail(started, OompaError("the swarm was interrupted before it started"))
            raise
        finally:
            self._after_host()

    def _after_host(self) -> None:
        # the engine's final snapshot is the truth now; share it rather than copy it, so an
        # event the engine emits between runs (a requeue) is applied exactly once
        self._snapshot = self.swarm.snapshot
        if self.mode == "host":
            self.mode = "idle"
            self.on_mode_change()
            if not _closing_loop():
                self._watch_task = asyncio.get_running_loop().create_task(self._watch_for_other_runs())

    # -- commands ---------------------------------------------------------------------------

    async def approve(self, review_id: str, notes: list[LineComment] | None = None) -> str:
        checked = await self._checked_comments(self._require_review(review_id), notes or [])
        if self.mode == "viewer":
            return await self._post(Approve(review_id=review_id, comments=list(checked)))
        self.swarm.approve(review_id, checked)
        return f"approved {review_id}" + (f" with {len(checked)} note(s)" if checked else "")

    async def reject(self, review_id: str, feedback: str, comments: list[LineComment] | None = None) -> str:
        checked = await self._checked_comments(self._require_review(review_id), comments or [])
        if self.mode == "viewer":
            return await self._post(Reject(review_id=review_id, feedback=feedback, comments=list(checked)))
        self.swarm.reject(review_id, feedback, checked)
        return f"rejected {review_id}" + (f" with {len(checked)} line comment(s)" if checked else "")

    async def _checked_comments(self, review: ReviewView, comments: list[LineComment]) -> tuple[LineComment, ...]:
        """Each comment with its lines' text; EngineRequestError naming a place the change has not."""
        if not comments:
            return ()
        repo = self.swarm.repo
        return await anyio.to_thread.run_sync(check_comments, repo, review.base, review.head, comments)

    async def requeue(self, task_id: str) -> str:
        if self.mode == "viewer":
            return await self._post(Requeue(task_id=task_id))
        self.swarm.requeue(task_id)  # on the loop: its event reaches the snapshot from this thread
        return f"requeued {task_id}"

    async def resume_queue(self) -> str:
        if self.mode == "viewer":
            return await self._post(ResumeQueue())
        if self.mode != "host":
            raise EngineRequestError("no swarm is running: no merge queue to resume")
        self.swarm.resume_queue()
        return "the merge queue goes on"

    async def cancel_task(self, task_id: str) -> str:
        if self.mode == "viewer":
            return await self._post(CancelTask(task_id=task_id))
        if self.mode != "host":
            raise EngineRequestError("no swarm is running: nothing to cancel")
        self.swarm.cancel_task(task_id)
        return f"cancelled {task_id}"

    async def review_diff(self, review_id: str) -> ReviewDiff:
        if self.mode == "host":
            return await anyio.to_thread.run_sync(self.swarm.review_diff, review_id)
        review = self._require_review(review_id)
        files = await anyio.to_thread.run_sync(self.swarm.repo.changed_files, review.base, review.head)
        files_view = [ChangedFileView(f.path, f.status, f.old_path) for f in files]
        return ReviewDiff(review_id, review.task_id, review.base, review.head, files_view, review.findings)

    async def task_of(self, task_id: str) -> Task | None:
        """The task as its file says now (None when no state folder holds a readable one)."""
        found = await anyio.to_thread.run_sync(self.swarm.store.get, task_id)
        return found[1] if found is not None else None

    def _require_review(self, review_id: str) -> ReviewView:
        review = self.snapshot.reviews.get(review_id)
        if review is None:
            raise EngineRequestError(f"no pending review {review_id!r}")
        return review

    async def _post(self, command: Command) -> str:
        await anyio.to_thread.run_sync(control.post, self.swarm.oompa_dir, command, f"editor pid {os.getpid()}")
        return f"sent {type(command).__name__} to pid {self.viewing_pid}"

    # -- events -----------------------------------------------------------------------------

    def _from_engine(self, event: Event) -> None:
        if self.mode != "host" and self._snapshot is not self.swarm.snapshot:
            self._snapshot.apply(event)  # e.g. a requeue between runs
        self._dispatch(event)

    def _dispatch(self, event: Event) -> None:
        for listener in list(self._listeners):
            try:
                listener(event)
            except Exception:  # a broken view must not stop the feed
                logger.exception("event listener failed")

    # -- following another process ----------------------------------------------------------

    async def _try_follow(self) -> bool:
        holder = await anyio.to_thread.run_sync(self._lock.holder)
        if holder is None:
            return False
        run_log = (
            RunLog.open(self.swarm.oompa_dir, holder.run_id)
            if holder.run_id
            else RunLog.open_latest(self.swarm.oompa_dir)
        )
        if run_log is None:
            return False
        snapshot, offset = await anyio.to_thread.run_sync(run_log.snapshot_and_offset)
        self._cancel_watch()
        self._snapshot, self.mode, self.viewing_pid = snapshot, "viewer", holder.pid
        self._follow_task = asyncio.create_task(self._follow(run_log, offset))
        self.on_mode_change()
        return True

    async def _follow(self, run_log: RunLog, offset: int) -> None:
        """Apply the other process's events as they are appended; end when its run ends
        (a SwarmStopped, or its lock released without one: it was killed)."""
        cursor = run_log.cursor(offset)
        loop = asyncio.get_running_loop()
        checked_at = loop.time()
        try:
            while True:
                if self._apply_followed(cursor.poll()):
                    return
                if loop.time() - checked_at >= WATCH_INTERVAL_S:
                    checked_at = loop.time()
                    if not await self._holder_still(run_log.run_id):
                        if not self._apply_followed(cursor.poll()):
                            self._apply_followed(
                                [
                                    SwarmStopped(
                                        ok=False,
                                        reason="the process running the swarm is gone "
                                        "(the next start recovers its claims)",
                                        at=time.time(),
                                    )
                                ]
                            )
                        return
                await asyncio.sleep(FOLLOW_POLL_S)
        finally:
            self._stop_following()

    def _apply_followed(self, events: list[Event]) -> bool:
        """Apply and forward followed events; True once the run has stopped."""
        for event in events:
            self._snapshot.apply(event)
            self._dispatch(event)
            if isinstance(event, SwarmStopped):
                return True
        return False

    async def _holder_still(self, run_id: str) -> bool:
        holder = await anyio.to_thread.run_sync(self._lock.holder)
        return holder is not None and holder.run_id in (run_id, None)

    def _stop_following(self) -> None:
        if self.mode == "viewer":
            self.mode, self.viewing_pid = "idle", None
            self.on_mode_change()
            if not _closing_loop():
                self._watch_task = asyncio.get_running_loop().create_task(self._watch_for_other_runs())

    async def _watch_for_other_runs(self) -> None:
        """While idle, notice a swarm started by another process (the CLI, another window)."""
        while self.mode == "idle":
            await asyncio.sleep(WATCH_INTERVAL_S)
            if self.mode == "idle" and await self._try_follow():
                return

    def _cancel_watch(self) -> None:
        current = asyncio.current_task()
        if self._watch_task is not None and self._watch_task is not current:
            self._watch_task.cancel()
        self._watch_task = None

    async def _load_idle(self) -> None:
        self._snapshot = await anyio.to_thread.run_sync(self._idle_snapshot)

    def _idle_snapshot(self) -> Snapshot:
        run_log = RunLog.open_latest(self.swarm.oompa_dir)
        snapshot = run_log.snapshot() if run_log else Snapshot()
        if snapshot.state in ("running", "stopping"):
            snapshot.state = "stopped"
            snapshot.stopped_reason = "the process running it is gone (the next start recovers its claims)"
        scan = self.swarm.store.scan()
        for state in TASK_STATES:
            for task in scan.tasks.get(state, []):
                snapshot.apply(
                    TaskSeen(task_id=task.id, state=state, summary=task.summary, spec=task.spec, priority=task.priority)
                )
        return snapshot


def _fail(started: asyncio.Future[object], exc: BaseException) -> None:
    if not started.done():
        started.set_exception(exc)


def _closing_loop() -> bool:
    try:
        return asyncio.get_running_loop().is_closed()
    except RuntimeError:
        return True
