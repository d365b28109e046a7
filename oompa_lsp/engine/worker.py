"""One worker: its cycles, and the life of one task from claim to merge (or back to pending).

A cycle claims a task (or, for planners, writes tasks), runs the agent until it signals,
commits its changes, runs the checks, has the change reviewed, and hands approved work to
the merge queue. Conflicts come back as resolver turns. Failures become events; the claim is
always returned, and unmerged commits are parked, never deleted. The landing (merge queue,
conflicts, completion) is in landing.py, giving a task back (and parking) in giving_back.py,
the worktree's preparation before a turn (and its detaching at the end) in worker_worktree.py.

May import: core, adapters. Must not import: lsp, cli.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any, Literal

import anyio

from ..adapters.config_file import LoadedReviewer
from ..core import events
from ..core.agents import AgentRole
from ..core.config import ModelRef, Role
from ..core.errors import OompaError
from ..core.events import ChecksRan, LogMessage, TaskClaimed, WorkerStateChanged
from ..core.signals import Verdict
from ..core.tasks import Attempt, Task
from . import prompting
from .agent_turns import AgentSeat, TurnResult, run_until_signal, stop_seat_services, turn_problem
from .board import TaskBoard
from .checks import run_checks
from .context import SwarmContext
from .giving_back import TaskHandback
from .job import Disposition, Job
from .landing import Landing
from .merge_queue import MergeQueue
from .review import ReviewCase, ReviewDesk
from .target_watch import JobView
from .worker_worktree import WorkerWorktree

NO_CHANGE = "no change"  # the reason an attempt ends when the agent never changed anything


@dataclass
class WorkerSpec:
    id: str
    role: Role
    model: ModelRef
    iterations: int
    prompts: list[str]
    timeout_s: float
    max_working_resumes: int = 5  # resumes of a turn that ended without a signal
    max_runs: int = 7  # agent runs in one cycle (the original's max_resumes)
    can_plan: bool = True
    max_wait_for_tasks: float = 600.0
    wait_between: float = 0.0
    reviewers: list[LoadedReviewer] = field(default_factory=list)
    max_new_tasks: int | None = None  # a planner's limit this run (the top-level planner's max_pending)


class Worker:
    def __init__(
        self, ctx: SwarmContext, spec: WorkerSpec, board: TaskBoard, desk: ReviewDesk, queue: MergeQueue
    ) -> None:
        self.ctx, self.spec, self.board, self.desk, self.queue = ctx, spec, board, desk, queue
        self.worktree = ctx.worktree_root / spec.id
        self.job: Job | None = None
        self.handback = TaskHandback(ctx, spec.id, self.worktree)
        self.landing = Landing(self, self.handback)
        self.tree = WorkerWorktree(ctx, spec.id, self.worktree)

    # -- the loop -----------------------------------------------------------------------

    async def run(self, stopping: anyio.Event) -> None:
        # A planner may still write tasks: until it is done, nobody may call the queue drained.
        planner = self.spec.role == "planner"
        self.board.producers += planner
        try:
            for cycle in range(self.spec.iterations):
                if cycle and self.spec.wait_between and not stopping.is_set():
                    await self._wait_between(stopping)
                if stopping.is_set() or not await self._cycle(stopping):
                    break
        finally:
            self.board.producers -= planner
            self.ctx.wakeup.notify()
            with anyio.CancelScope(shield=True):
                await self.tree.detach_orphaned()
        if not stopping.is_set():
            self.report_state("done")

    async def _wait_between(self, stopping: anyio.Event) -> None:
        """The original's `wait_between`: a pause before every cycle after the first."""
        self.report_state("waiting", detail=f"wait_between {self.spec.wait_between:g}s")
        with anyio.move_on_after(self.spec.wait_between):
            await stopping.wait()

    async def _cycle(self, stopping: anyio.Event) -> bool:
        """One cycle; False when this worker has nothing more to do."""
        if self.spec.role == "planner":
            return await self._plan()
        self.report_state("idle")
        wait = None if self.spec.can_plan else self.spec.max_wait_for_tasks
        task = await self.board.next_task(self.spec.id, stopping, start=self._start_attempt, max_wait_s=wait)
        if task is None:
            return self._may_plan() and not stopping.is_set() and await self._plan()
        await self._execute(task)
        return True

    def _may_plan(self) -> bool:
        return self.spec.role == "worker" and self.spec.can_plan

    def report_state(self, state: events.WorkerState, task: Task | None = None, detail: str = "") -> None:
        self.ctx.emit(
            WorkerStateChanged(worker=self.spec.id, state=state, task_id=task.id if task else None, detail=detail)
        )

    # -- planning -------------------------------------------------------------------------

    async def _plan(self) -> bool:
        """A turn without a task; True when it created new tasks and did not say it is done."""
        before = {t.id for t in (await self.board.refresh()).pending}
        self.report_state("working", detail="planning")
        branch = f"oompa/plan/{self.spec.id}"
        await self.tree.prepare(branch)
        prompt = await self._prompt(None, scan=True)
        if self.spec.max_new_tasks is not None:
            prompt += f"\n\nWrite at most {self.spec.max_new_tasks} new task file(s) in this run."
        self.board.producers += 1
        try:
            # Planning turns are not resumed: the next cycle asks again with the tasks that now exist.
            seat = AgentSeat(self.spec.id, self.spec.model, self.spec.timeout_s, max_working_resumes=0)
            turn = await run_until_signal(self.ctx, seat, self.spec.role, prompt, self.worktree, None)
        finally:
            self.board.producers -= 1
            self.ctx.wakeup.notify()
        with anyio.CancelScope(shield=True):
            await self.handback.drop_branch(branch, into=self.ctx.target_ref)
        created = {t.id for t in (await self.board.refresh()).pending} - before
        return bool(created) and turn.signal.kind != "done" and turn.outcome.ok

    # -- one task -------------------------------------------------------------------------

    async def _execute(self, task: Task) -> None:
        branch = task.attempts[-1].branch
        self.ctx.emit(TaskClaimed(task_id=task.id, worker=self.spec.id, attempt=len(task.attempts), branch=branch))
        try:
            base = await self.tree.prepare(branch)
            with anyio.CancelScope() as scope:
                job = self.job = Job(task, branch, base, scope)
                await self._work_on(job)
            if scope.cancelled_caught and job.user_disposition:
                await self.handback.give_back(job, job.user_reason, job.user_disposition)
        except OompaError as exc:  # a task-level failure (git, store): an event, not a crash
            with anyio.CancelScope(shield=True):
                await self._recover_from(task, exc)
        except BaseException:
            with anyio.CancelScope(shield=True):
                if self.job is not None and self.job.task.id == task.id:
                    await self.handback.give_back(self.job, "the swarm stopped", "pending", park=True, count=False)
            raise
        finally:
            if self.job is not None:
                with anyio.CancelScope(shield=True):
                    await self._stop_services(self.job)  # no checks ran after the turn that left them
            self.job = None
            self.board.release(task.id)

    async def _recover_from(self, task: Task, error: OompaError) -> None:
        reason = f"internal error: {error}"
        self.ctx.emit(LogMessage(level="error", worker=self.spec.id, message=f"{task.id}: {reason}"))
        try:
            if self.job is not None and self.job.task.id == task.id:
                await self.handback.give_back(self.job, reason, "pending")
            else:
                await self.handback.move_back(task, "pending", reason)
        except OompaError as again:
            self.ctx.emit(
                LogMessage(
                    level="error",
                    worker=self.spec.id,
                    message=f"{task.id} stays claimed (the next start recovers it): {again}",
                )
            )

    def _start_attempt(self, task: Task) -> Task:
        """The attempt this worker starts, recorded in the claim's own write."""
        branch = f"oompa/{task.id}/{len(task.attempts) + 1}"
        task.attempts = [*task.attempts, Attempt(worker=self.spec.id, branch=branch, started_at=_now())]
        return task

    async def _work_on(self, job: Job) -> None:
        """Until the task lands or is given back; a merged tree that fails the queue's checks
        comes back here, and the worker fixes it with the failing output as feedback."""
        prompt = await self._prompt(job.task)
        fixes = self.ctx.config.review.max_attempts
        for _ in range(fixes + 1):
            head = await self._until_approved(job, prompt)
            if head is None:
                return
            landed = await self.landing.land(job, head)
            if landed is not None:
                if job.branch_gone:
                    self.tree.orphaned_at = landed
                self.tree.left_clean = self.landing.leaves_clean()
                return
            feedback = job.take_merge_feedback()
            if feedback is None:
                return  # given back
            self._note_feedback(job, feedback)
            prompt = feedback
        await self.handback.give_back(job, f"the merged tree still failed the checks after {fixes} fixes", "pending")

    async def _until_approved(self, job: Job, prompt: str) -> str | None:
        """Agent turns, checks and review rounds; the approved head, or None (task given back)."""
        seat = self.job_seat(job)
        max_rounds = self.ctx.config.review.max_attempts
        for round_no in range(1, max_rounds + 1):
            if seat.out_of_runs():
                await self.handback.give_back(
                    job, f"the cycle used its {seat.max_runs} agent runs (max_resumes)", "pending"
                )
                return None
            self.report_state("working", job.task, f"round {round_no}")
            head = await self._turn_with_a_change(job, seat, prompt)
            if head is None:
                return None
            feedback = await self.checks_feedback(job)
            if feedback is None:
                verdict = await self._review(job, head, round_no)
                if verdict.approved:
                    return head
                feedback = "\n".join(verdict.issues) or verdict.text
            self._note_feedback(job, feedback)
            prompt = prompting.feedback_prompt(feedback, round_no)
        await self.handback.give_back(job, f"not approved after {max_rounds} review rounds", "pending")
        return None

    async def _turn_with_a_change(self, job: Job, seat: AgentSeat, prompt: str) -> str | None:
        """Agent turns until one finishes with a change against the merge base: its committed
        head, or None when the task was given back (or, where the task allows it, completed
        with no change). Saying "done" with nothing changed is resumed, never reviewed."""
        nudges = 0
        while True:
            if over := self.ctx.spending.task_over_budget(job.task):
                await self.handback.give_back(job, over, "failed")
                return None
            turn = await run_until_signal(self.ctx, seat, self._task_role(), prompt, self.worktree, job.task)
            self.add_usage(job, turn)
            problem = turn_problem(turn, seat)
            if problem:
                await self.handback.give_back(job, problem, "pending")
                return None
            head = await self.commit(job)
            if not await anyio.to_thread.run_sync(self.ctx.repo.same_tree, head, job.base):
                await self._hold_changed_paths(job, head)
                return head
            if job.task.no_change_ok:
                await self.landing.complete_unchanged(job)
                return None
            if nudges >= seat.max_working_resumes or seat.out_of_runs():
                await self.handback.give_back(
                    job,
                    f"{NO_CHANGE}: the agent said it was done {nudges + 1} time(s) without changing anything",
                    "pending",
                )
                return None
            nudges += 1
            self.ctx.emit(
                LogMessage(
                    level="warning",
                    worker=self.spec.id,
                    message=f"{job.task.id}: done with no change in the worktree; resumed",
                )
            )
            prompt = prompting.no_change_prompt()

    async def commit(self, job: Job) -> str:
        git = self.ctx.repo
        message = f"{job.task.id}: {job.task.summary}"
        if committed := await anyio.to_thread.run_sync(git.commit_all, self.worktree, message, job.branch):
            return committed
        return await anyio.to_thread.run_sync(git.head, self.worktree)

    async def _hold_changed_paths(self, job: Job, head: str) -> None:
        """From its first commit on, a task holds the paths it changed, not only those it declared."""
        if self.board.paths_matter():
            changed = await anyio.to_thread.run_sync(self.ctx.repo.changed_files, job.base, head)
            self.board.hold(job.task.id, {p for f in changed for p in (f.path, f.old_path) if p})

    async def checks_feedback(self, job: Job) -> str | None:
        checks = self.ctx.config.merge.checks
        if not checks:
            return None
        self.report_state("checking", job.task)
        try:
            results = await run_checks(checks, self.worktree, self.ctx.config.merge.check_timeout_s)
            ok = all(r.exit_code == 0 for r in results)
            self.ctx.emit(ChecksRan(task_id=job.task.id, stage="worktree", ok=ok, results=results))
        finally:
            with anyio.CancelScope(shield=True):
                await self._stop_services(job)  # the checks that needed them are done
        job.checks = results
        return None if ok else "The checks failed:\n" + prompting.check_block(results)

    async def _stop_services(self, job: Job) -> None:
        if job.seat is not None and job.seat.services:
            await stop_seat_services(self.ctx, job.seat, self._task_role(), job.task.id)

    async def _review(self, job: Job, head: str, round_no: int) -> Verdict:
        human = self.ctx.config.review.mode in ("human", "model+human")
        self.report_state("awaiting_review" if human else "reviewing", job.task, f"round {round_no}")
        case = ReviewCase(
            review_id=f"{job.task.id}-{len(job.task.attempts)}-{round_no}",
            task=job.task,
            worker=self.spec.id,
            branch=job.branch,
            base=job.base,
            head=head,
            worktree=self.worktree,
            round=round_no,
            checks=job.checks,
            reviewers=self.spec.reviewers,
        )
        verdict = await self.desk.review(case)
        job.task.attempts[-1].verdicts.append("APPROVED" if verdict.approved else "CHANGES_REQUESTED")
        await anyio.to_thread.run_sync(self.ctx.store.update, job.task)
        return verdict

    def _note_feedback(self, job: Job, feedback: str) -> None:
        job.task.attempts[-1].feedback.append(feedback)

    # -- user requests ----------------------------------------------------------------------

    def job_view(self) -> JobView | None:
        job = self.job
        return JobView(self.spec.id, job.task.id, job.base, self.worktree) if job is not None else None

    def cancel_job(self, task_id: str, disposition: Disposition, reason: str) -> bool:
        if self.job is None or self.job.task.id != task_id:
            return False
        self.job.user_disposition, self.job.user_reason = disposition, reason
        self.job.scope.cancel()
        return True

    # -- helpers --------------------------------------------------------------------------

    def _seat(self) -> AgentSeat:
        return AgentSeat(
            self.spec.id,
            self.spec.model,
            self.spec.timeout_s,
            self.spec.max_working_resumes,
            max_runs=self.spec.max_runs,
        )

    def job_seat(self, job: Job) -> AgentSeat:
        if job.seat is None:
            job.seat = self._seat()
        return job.seat

    def _task_role(self) -> Literal["executor", "worker"]:
        return "executor" if self.spec.role == "executor" else "worker"

    async def _prompt(self, task: Task | None, scan: bool = False) -> str:
        """This worker's template for a turn on `task` (None: planning), with its framing.
        The store is scanned only when the prompt shows tasks: a scan per claim is not free."""
        template = self.ctx.loaded.template(self.spec.prompts)
        role: AgentRole = "planner" if self.spec.role == "planner" else self._task_role()
        tasks: dict[str, list[Task]] = {}
        if scan or prompting.needs_task_scan(template):
            tasks = (await self.board.refresh()).tasks
        return prompting.build_prompt(template, self.facts(role, task, tasks=tasks))

    def facts(self, role: AgentRole, task: Task | None, **more: Any) -> prompting.PromptFacts:
        return prompting.PromptFacts(
            role=role,
            tasks_dir=str(self.ctx.tasks_dir),
            worktree=str(self.worktree),
            target=self.ctx.target,
            spec_path=str(self.ctx.spec_path),
            task=task,
            **more,
        )

    def add_usage(self, job: Job, turn: TurnResult) -> None:
        attempt = job.task.attempts[-1]
        attempt.usage = attempt.usage.plus(turn.usage)


def _now() -> str:
    return datetime.now(UTC).isoformat(timespec="seconds")
