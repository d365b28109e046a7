"""The swarm: one owner task group for every worker, the review desk and the merge queue.

`Swarm` is the engine's whole public face. Views (CLI, language server) call `run`, `stop`,
`approve`, `reject`, `requeue`, `cancel_task`, read `snapshot` and `subscribe` to events;
they hold no swarm state of their own. One swarm per repository: `run` takes the
repository's swarm lock, recovers what a dead run left behind (recovery.py), and releases it
on exit. The workers it starts are those staffing.py reads from the config.

May import: core, adapters. Must not import: lsp, cli.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Callable
from pathlib import Path

import anyio
from anyio.abc import TaskStatus
from msgspec import Struct

from ..adapters import control
from ..adapters.config_file import LoadedConfig, load_config
from ..adapters.git import Repo, default_worktree_root
from ..adapters.run_log import RunLog, SwarmLock
from ..adapters.task_store import TaskStore
from ..core.commands import Approve, CancelTask, Command, Reject, Requeue, ResumeQueue, StopSwarm
from ..core.config import review_mode
from ..core.errors import EngineRequestError, RepositoryError
from ..core.events import (
    AgentFinished,
    CleanupDone,
    Event,
    LogMessage,
    SwarmStarted,
    SwarmStopped,
    TaskFailed,
    TaskReturned,
    WorkerInfo,
    WorkerStateChanged,
)
from ..core.review_notes import Finding, LineComment
from ..core.snapshot import Snapshot
from .board import TaskBoard
from .context import SwarmContext
from .leftovers import leftovers
from .merge_queue import MergeQueue
from .outside_writes import OutsideWrites
from .recovery import recover
from .review import ReviewDesk
from .spending import Clock, Spending
from .staffing import PLANNER_ID, worker_specs
from .target_watch import ForeignMove, JobView, TargetWatch, outside_queue_reason
from .worker import Worker

log = logging.getLogger(__name__)
_CONTROL_POLL_S = 0.3


class SwarmResult(Struct):
    ok: bool
    reason: str


class ChangedFileView(Struct):
    path: str
    status: str
    old_path: str | None = None  # where a renamed file was at the base


class ReviewDiff(Struct):
    review_id: str
    task_id: str
    base: str
    head: str
    files: list[ChangedFileView]
    findings: list[Finding] = []  # the model reviewer's, when the review waits for a human after it


class Swarm:
    def __init__(self, repo: Repo, loaded: LoadedConfig, clock: Clock | None = None) -> None:
        self.repo = repo
        self.loaded = loaded
        self.config = loaded.config
        self.repo_root = Path(repo.root)
        self.oompa_dir = self.repo_root / ".oompa"
        self.tasks_dir = self.repo_root / self.config.tasks_dir
        self.spec_path = self.repo_root / self.config.spec
        self.store = TaskStore(self.tasks_dir)
        self.snapshot = Snapshot()
        self._subscribers: list[Callable[[Event], None]] = []
        self._run_log: RunLog | None = None
        self._scope: anyio.CancelScope | None = None
        self._stopping: anyio.Event | None = None
        self._stop_reason = ""
        self._workers: list[Worker] = []
        self._desk: ReviewDesk | None = None
        self._watch: TargetWatch | None = None
        self._queue: MergeQueue | None = None
        self._outside: OutsideWrites | None = None
        self._spending = Spending(self.config, self._emit, self.snapshot, clock, self._end_softly)

    @classmethod
    def open(cls, repo_root: Path, clock: Clock | None = None) -> Swarm:
        repo = Repo.discover(Path(repo_root))
        return cls(repo, load_config(Path(repo.root)), clock)

    # -- events ---------------------------------------------------------------------------

    def subscribe(self, callback: Callable[[Event], None]) -> Callable[[], None]:
        self._subscribers.append(callback)
        return lambda: self._subscribers.remove(callback) if callback in self._subscribers else None

    def _emit(self, event: Event) -> None:
        if self._run_log is not None:
            self._run_log.append(event)
        self.snapshot.apply(event)
        if isinstance(event, AgentFinished):
            self._spending.note(event)
        if self._outside is not None and isinstance(event, WorkerStateChanged):
            self._outside.note_state(event.worker, event.state)
        for callback in list(self._subscribers):
            try:
                callback(event)
            except Exception:  # a broken view must not stop the swarm
                log.exception("event subscriber failed")

    # -- running ----------------------------------------------------------------------------

    async def run(self, *, task_status: TaskStatus = anyio.TASK_STATUS_IGNORED) -> SwarmResult:
        self._stop_reason = ""
        lock = SwarmLock(self.oompa_dir)
        self._run_log = RunLog.create(self.oompa_dir)
        lock.acquire(self._run_log.run_id)
        try:
            return await self._run_locked(task_status)
        finally:
            self.repo.close()  # the run's long-lived git process (a later call starts another)
            lock.release()

    async def _run_locked(self, task_status: TaskStatus) -> SwarmResult:
        ctx = await self._context()
        self._stopping = anyio.Event()
        board, queue = self._assemble(ctx)
        self._emit(
            SwarmStarted(
                run_id=ctx.run_id,
                repo=str(self.repo_root),
                target=ctx.target,
                pid=os.getpid(),
                workers=[
                    WorkerInfo(w.spec.id, str(w.spec.model), w.spec.role, w.spec.iterations) for w in self._workers
                ],
                review_mode=review_mode(self.config),
            )
        )
        for warning in self.loaded.warnings:
            self._emit(LogMessage(level="warning", message=f"oompa.json:{warning}"))
        self._spending.start()
        try:
            await recover(ctx)
            with anyio.CancelScope() as self._scope:
                await self._run_workers(queue, task_status)
            result = await self._finish(board) if not self._stop_reason else SwarmResult(False, self._stop_reason)
            await anyio.to_thread.run_sync(self.repo.run_auto_maintenance)
        except BaseException:
            self._emit(SwarmStopped(ok=False, reason=self._stop_reason or "the swarm was interrupted"))
            raise
        self._emit(SwarmStopped(ok=result.ok, reason=result.reason))
        return result

    def _assemble(self, ctx: SwarmContext) -> tuple[TaskBoard, MergeQueue]:
        """The run's parts: the target's watch, the outside-writes watch, board, queue, desk, workers."""
        self._watch = TargetWatch(ctx, self._job_views, self._end_job_outside_queue)
        self._outside = OutsideWrites(ctx, lambda: {w.spec.id: w.worktree for w in self._workers})
        ctx.watch_turn = self._outside.watching
        ctx.recent_agents = self._outside.agents_since_last_asked
        board, queue = TaskBoard(ctx), MergeQueue(ctx, self._watch)
        self._queue = queue
        self._desk = ReviewDesk(ctx)
        self._workers = [Worker(ctx, spec, board, self._desk, queue) for spec in worker_specs(self.loaded)]
        return board, queue

    async def _run_workers(self, queue: MergeQueue, task_status: TaskStatus) -> None:
        assert self._stopping is not None and self._watch is not None and self._outside is not None
        async with anyio.create_task_group() as services:
            await services.start(self._watch.beat)
            await services.start(queue.run)
            services.start_soon(self._watch_control)
            services.start_soon(self._outside.observe)
            services.start_soon(self._spending.stop_after_grace, self.stop)
            task_status.started()
            await self._run_planner_then_workers()
            queue.close()
            await self._outside.look()  # the last turns' writes outside, before the watch ends
            services.cancel_scope.cancel()

    async def _run_planner_then_workers(self) -> None:
        assert self._stopping is not None
        planner = next((w for w in self._workers if w.spec.id == PLANNER_ID), None)
        if planner is not None:
            await self._plan_first(planner)
        async with anyio.create_task_group() as workers:
            for worker in self._workers:
                if worker is not planner:
                    workers.start_soon(worker.run, self._stopping)

    def _worktree_root(self) -> Path:
        """Where the run's worktrees go, kept out of the checkout's `git status` (blocking: run in a thread)."""
        root = (
            Path(self.config.worktree.dir).expanduser()
            if self.config.worktree.dir
            else default_worktree_root(self.repo_root)
        )
        if not root.is_absolute():
            root = self.repo_root / root
        local = ["/.oompa/", f"/{self.config.tasks_dir.strip('/')}/"]
        if root.resolve().is_relative_to(self.repo_root.resolve()) and root.resolve() != self.repo_root.resolve():
            # worktrees kept inside the checkout must not show up in its `git status`
            local.append(f"/{root.resolve().relative_to(self.repo_root.resolve()).as_posix()}/")
        self.repo.exclude_local(local)
        return root

    async def _context(self) -> SwarmContext:
        assert self._run_log is not None
        target = self.config.target_branch or await anyio.to_thread.run_sync(self.repo.current_branch)
        if not target:
            raise RepositoryError(
                "no target branch: the main worktree has a detached HEAD; "
                'check out a branch or set "target_branch" in oompa.json'
            )
        if not await anyio.to_thread.run_sync(self.repo.branch_exists, target):
            raise RepositoryError(
                f'the target branch "{target}" does not exist in {self.repo_root}: create it '
                f'(`git branch {target}`) or set "target_branch" in oompa.json to one that does'
            )
        root = await anyio.to_thread.run_sync(self._worktree_root)
        return SwarmContext(
            repo=self.repo,
            store=self.store,
            loaded=self.loaded,
            run_log=self._run_log,
            run_id=self._run_log.run_id,
            target=target,
            tasks_dir=self.tasks_dir,
            spec_path=self.spec_path,
            worktree_root=root,
            emit=self._emit,
            spending=self._spending,
        )

    async def _plan_first(self, planner: Worker) -> None:
        """The original's top-level planner: one planning run before the workers start,
        while fewer than `max_pending` tasks are pending."""
        assert self._stopping is not None and self.config.planner is not None
        pending = len((await planner.board.refresh()).pending)
        limit = self.config.planner.max_pending
        if pending >= limit:
            self._emit(
                LogMessage(
                    level="info",
                    worker=PLANNER_ID,
                    message=f"planner not run: {pending} task(s) pending (max_pending {limit})",
                )
            )
            return
        planner.spec.max_new_tasks = limit - pending
        await planner.run(self._stopping)

    async def _finish(self, board: TaskBoard) -> SwarmResult:
        scan = await board.refresh()
        strays = await anyio.to_thread.run_sync(self.store.stray_files, self.repo_root)
        undone = leftovers(scan, strays, self.repo_root)
        restored = (
            f"; {board.restored} task file(s) restored after an agent removed or rewrote them" if board.restored else ""
        )
        if undone:
            return SwarmResult(False, "; ".join(undone) + restored)
        await self._remove_worktrees()
        done = len(scan.complete)
        return SwarmResult(True, f"all {done} task(s) complete{restored}")

    async def _remove_worktrees(self) -> None:
        paths = [w.worktree for w in self._workers if w.worktree.exists()]
        if self._queue is not None:
            paths += self._queue.pool.worktrees()
        report = await anyio.to_thread.run_sync(self.repo.remove_worktrees, paths)
        self._emit(CleanupDone(removed=[str(p) for p in report.removed], freed_bytes=report.bytes_freed))

    def _job_views(self) -> list[JobView]:
        return [view for view in (w.job_view() for w in self._workers) if view is not None]

    def _end_job_outside_queue(self, move: ForeignMove) -> None:
        """A worker's agent moved the target itself: its task is not done by that, and not
        done by a review either. The job ends; the task waits in failed/ for the user."""
        assert self._watch is not None
        reason = outside_queue_reason(self._watch.ctx.target, f"{move.old[:10]}..{move.new[:10]}")
        for worker in self._workers:
            if move.task_id is not None and worker.cancel_job(move.task_id, "failed", reason):
                return

    def resume_queue(self) -> None:
        """After a move of the target outside the queue (merge.foreign_moves: pause)."""
        if self._watch is None or not self._watch.awaiting_user:
            raise EngineRequestError("the merge queue is not waiting for you")
        self._watch.release()
        self._emit(LogMessage(level="info", message="the merge queue goes on (resumed by the user)"))

    # -- control ----------------------------------------------------------------------------

    async def _watch_control(self) -> None:
        while True:
            for command in await anyio.to_thread.run_sync(control.take, self.oompa_dir):
                self._apply_command(command)
            await anyio.sleep(_CONTROL_POLL_S)

    def _apply_command(self, command: Command) -> None:
        try:
            if isinstance(command, Approve):
                self.approve(command.review_id, tuple(command.comments))
            elif isinstance(command, Reject):
                self.reject(command.review_id, command.feedback, tuple(command.comments))
            elif isinstance(command, Requeue):
                self.requeue(command.task_id)
            elif isinstance(command, CancelTask):
                self.cancel_task(command.task_id)
            elif isinstance(command, StopSwarm):
                self.stop(command.reason)
            elif isinstance(command, ResumeQueue):
                self.resume_queue()
        except EngineRequestError as exc:
            self._emit(LogMessage(level="warning", message=str(exc)))

    def _end_softly(self, reason: str) -> None:
        """A limit ends the run: no new claim or turn; the turns running get their grace (spending.py)."""
        self._stop_reason = self._stop_reason or reason
        if self._stopping is not None:
            self._stopping.set()

    def stop(self, reason: str = "stopped by user") -> None:
        self._stop_reason = self._stop_reason or reason
        if self._stopping is not None:
            self._stopping.set()
        if self._scope is not None:
            self._scope.cancel()

    def approve(self, review_id: str, notes: tuple[LineComment, ...] = ()) -> None:
        self._require_desk().decide(review_id, True, comments=notes)

    def reject(self, review_id: str, feedback: str, comments: tuple[LineComment, ...] = ()) -> None:
        """`comments` were checked against the review's diff (review_places.check_comments)."""
        if not feedback.strip() and not comments:
            raise EngineRequestError("a rejection needs feedback for the worker")
        self._require_desk().decide(review_id, False, feedback.strip(), comments)

    def requeue(self, task_id: str) -> None:
        if any(w.cancel_job(task_id, "pending", "requeued by the user") for w in self._workers):
            return
        self.store.requeue(task_id)
        self._emit(TaskReturned(task_id=task_id, reason="requeued by the user"))

    def cancel_task(self, task_id: str) -> None:
        if any(w.cancel_job(task_id, "failed", "cancelled by the user") for w in self._workers):
            return
        if self.snapshot.tasks.get(task_id) is None or self.snapshot.tasks[task_id].state != "pending":
            raise EngineRequestError(f"task {task_id!r} is not pending or running")
        found = self.store.get(task_id)
        if found is None:
            raise EngineRequestError(f"no task {task_id!r}")
        task = found[1]
        task.failure = "cancelled by the user"
        self.store.move(task_id, "pending", "failed", task)
        self._emit(TaskFailed(task_id=task_id, reason="cancelled by the user"))

    def review_diff(self, review_id: str) -> ReviewDiff:
        review = self.snapshot.reviews.get(review_id)
        if review is None:
            raise EngineRequestError(f"no pending review {review_id!r}")
        files = self.repo.changed_files(review.base, review.head)
        return ReviewDiff(
            review_id,
            review.task_id,
            review.base,
            review.head,
            [ChangedFileView(f.path, f.status, f.old_path) for f in files],
            review.findings,
        )

    def _require_desk(self) -> ReviewDesk:
        if self._desk is None:
            raise EngineRequestError("the swarm is not running")
        return self._desk
