"""Reviews: a different model (and/or the human) judges each finished attempt.

The reviewer sees the task, its acceptance criteria, the check results and the full diff
from the merge base. It runs in the worker's worktree but cannot change what it reviews:
any change it leaves behind is discarded and logged. Human decisions arrive through
`ReviewDesk.decide` (from the editor, the CLI or the control inbox).

May import: core, adapters. Must not import: lsp, cli.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import anyio

from ..adapters.config_file import LoadedReviewer
from ..adapters.git import StatusEntry
from ..adapters.harnesses import run_agent
from ..core.agents import AgentOutcome, AgentRequest
from ..core.config import parse_model_ref, review_mode
from ..core.errors import EngineRequestError
from ..core.events import (
    AgentFinished,
    AgentStarted,
    CheckResult,
    LogMessage,
    ReviewRequested,
    ReviewTamperingDiscarded,
    ReviewVerdictGiven,
)
from ..core.review_notes import Finding, LineComment, located_feedback
from ..core.signals import Verdict, read_verdict
from ..core.tasks import Task
from . import prompting
from .agent_turns import report_leftovers, with_rate_limit_backoff
from .context import SwarmContext
from .review_places import place_findings


@dataclass
class ReviewCase:
    review_id: str
    task: Task
    worker: str
    branch: str
    base: str
    head: str
    worktree: Path
    round: int
    checks: list[CheckResult]
    reviewers: list[LoadedReviewer] = field(default_factory=list)  # the worker's, tried in order


@dataclass
class _Decision:
    done: anyio.Event = field(default_factory=anyio.Event)
    verdict: Verdict | None = None


class ReviewDesk:
    """Runs model reviews and holds the reviews waiting for a human."""

    def __init__(self, ctx: SwarmContext) -> None:
        self.ctx = ctx
        self._waiting: dict[str, _Decision] = {}

    async def review(self, case: ReviewCase) -> Verdict:
        mode = review_mode(self.ctx.config)  # the loaded config has it resolved already
        self.ctx.emit(
            ReviewRequested(
                review_id=case.review_id,
                task_id=case.task.id,
                worker=case.worker,
                branch=case.branch,
                base=case.base,
                head=case.head,
                mode=mode,
                round=case.round,
                checks=case.checks,
            )
        )
        if mode == "none":
            return self._record(case, Verdict(True, (), "review disabled (review.mode: none)"), "none")
        if mode == "model" and not case.reviewers:
            return self._record(
                case, Verdict(True, (), f"{case.worker} has no reviewer: merged without review"), "none"
            )
        if mode in ("model", "model+human") and case.reviewers:
            verdict = await self._model_review(case)
            if not verdict.approved or mode == "model":
                return verdict
        return await self._human_review(case)

    def decide(
        self, review_id: str, approved: bool, feedback: str = "", comments: tuple[LineComment, ...] = ()
    ) -> None:
        """A human's verdict; `comments` were checked against the review's diff (review_places)."""
        decision = self._waiting.get(review_id)
        if decision is None:
            raise EngineRequestError(f"no review {review_id!r} is waiting for a decision")
        issues: tuple[str, ...] = (feedback,) if feedback else ()
        if comments:
            issues += ("Comments on lines of the change:\n" + "\n".join(located_feedback(c) for c in comments),)
        decision.verdict = Verdict(approved, issues, feedback, comments)
        decision.done.set()

    def waiting(self) -> list[str]:
        return list(self._waiting)

    async def _human_review(self, case: ReviewCase) -> Verdict:
        decision = self._waiting.setdefault(case.review_id, _Decision())
        try:
            await decision.done.wait()
        finally:
            self._waiting.pop(case.review_id, None)
        assert decision.verdict is not None
        return self._record(case, decision.verdict, "human")

    async def _model_review(self, case: ReviewCase) -> Verdict:
        diff = await anyio.to_thread.run_sync(self.ctx.repo.diff_from_merge_base, case.base, case.head)
        last_error = "no reviewer configured"
        for index, reviewer in enumerate(case.reviewers):
            outcome = await self._run_reviewer(case, reviewer.model, self._prompt(case, reviewer, diff), index)
            if outcome.ok:
                verdict = read_verdict(outcome.final_text)
                return self._record(case, verdict, reviewer.model, place_findings(verdict.issues, diff))
            last_error = outcome.error or "reviewer failed"
        return self._record(case, Verdict(False, (f"the review could not run: {last_error}",), last_error), "engine")

    def _prompt(self, case: ReviewCase, reviewer: LoadedReviewer, diff: str) -> str:
        """Every one of the reviewer's prompt files, and always the task, checks, diff and verdict contract."""
        facts = prompting.PromptFacts(
            role="reviewer",
            tasks_dir=str(self.ctx.tasks_dir),
            worktree=str(case.worktree),
            target=self.ctx.target,
            task=case.task,
            checks=case.checks,
            diff=diff,
        )
        return prompting.build_prompt(self.ctx.loaded.template(reviewer.prompts), facts)

    async def _run_reviewer(self, case: ReviewCase, model: str, prompt: str, index: int) -> AgentOutcome:
        before = await self._status_before(case)
        worker = f"reviewer:{case.worker}"
        outcome = await with_rate_limit_backoff(
            self.ctx,
            worker,
            lambda: self._reviewer_run(case, worker, model, prompt),
            harness=parse_model_ref(model).harness,
            task_id=case.task.id,
        )
        await self._discard_tampering(case, before)
        return outcome

    async def _reviewer_run(self, case: ReviewCase, worker: str, model: str, prompt: str) -> AgentOutcome:
        ref = parse_model_ref(model)
        request = AgentRequest(
            harness=ref.harness,
            model=ref.model,
            reasoning=ref.reasoning,
            prompt=prompt,
            cwd=str(case.worktree),
            role="reviewer",
            timeout_s=self.ctx.config.review.timeout_s,
            env=self._env(case),
            transcript_path=str(self.ctx.run_log.transcript_path(worker, case.round)),
        )
        self.ctx.emit(AgentStarted(worker=worker, role="reviewer", task_id=case.task.id, turn=case.round))
        async with self.ctx.watch_turn(worker, case.worktree):
            outcome = await run_agent(request, self.ctx.config.harnesses.get(ref.harness))
        outcome = self.ctx.spending.priced(outcome, ref)
        self.ctx.emit(
            AgentFinished(
                worker=worker,
                role="reviewer",
                task_id=case.task.id,
                exit_code=outcome.exit_code,
                duration_s=outcome.duration_s,
                usage=outcome.usage,
                error=outcome.error,
                error_kind=outcome.error_kind,
            )
        )
        report_leftovers(self.ctx, worker, "reviewer", case.task.id, outcome)
        return outcome

    async def _status_before(self, case: ReviewCase) -> list[StatusEntry]:
        """What the worktree shows before the reviewer runs. The worker committed everything
        (`git add -A`) just before, so only checks, run since, can have left files behind."""
        if not case.checks:
            return []
        return await anyio.to_thread.run_sync(self.ctx.repo.status_porcelain, case.worktree)

    def _env(self, case: ReviewCase) -> dict[str, str]:
        return {
            "OOMPA_ROLE": "reviewer",
            "OOMPA_WORKTREE": str(case.worktree),
            "OOMPA_TASK_ID": case.task.id,
            "OOMPA_TASKS_DIR": str(self.ctx.tasks_dir),
            "OOMPA_TARGET": self.ctx.target,
        }

    async def _discard_tampering(self, case: ReviewCase, before: list[StatusEntry]) -> None:
        """Undo whatever the reviewer changed; untracked leftovers of the checks were there before."""
        git = self.ctx.repo
        changes, head = await anyio.to_thread.run_sync(git.status_and_head, case.worktree)
        if changes == before and head == case.head:
            return
        await anyio.to_thread.run_sync(git.discard_changes, case.worktree, case.head)
        listed = [f"{c.code} {c.path}" for c in changes] or [f"HEAD moved to {(head or '')[:10]}"]
        self.ctx.emit(ReviewTamperingDiscarded(review_id=case.review_id, task_id=case.task.id, changes=listed))

    def _record(
        self, case: ReviewCase, verdict: Verdict, reviewer: str, findings: list[Finding] | None = None
    ) -> Verdict:
        feedback = "\n".join(verdict.issues) if verdict.issues else ("" if verdict.approved else verdict.text)
        self.ctx.emit(
            ReviewVerdictGiven(
                review_id=case.review_id,
                task_id=case.task.id,
                reviewer=reviewer,
                approved=verdict.approved,
                feedback=feedback,
                comments=list(verdict.comments),
                findings=findings or [],
            )
        )
        if verdict.approved and verdict.comments:
            notes = f"{case.review_id} approved with {len(verdict.comments)} note(s):\n{feedback}"
            self.ctx.emit(LogMessage(level="info", message=notes, worker=case.worker))
        return verdict
