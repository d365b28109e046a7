"""Running an agent until it signals: resumes with a nudge, backoff on rate limits, events.

Rate limits: the turn is retried up to 3 times, after the wait the CLI asked for, else after
20 s, doubling (at most 300 s). OOMPA_RATE_LIMIT_BACKOFF_S sets that first wait (the real-CLI
tests use 1 s). Usage limits (the plan's or quota's) are not retried here: the turn waits at
the run's gate (spending.py) for the reset and runs again, counting no run, resume or round.
Every turn is priced (the CLI's dollars, else the price table's) before it is reported.

May import: core, adapters. Must not import: lsp, cli.
"""

from __future__ import annotations

import os
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from pathlib import Path

import anyio
import msgspec

from ..adapters.harnesses import run_agent, stop_services
from ..core.agents import AgentOutcome, AgentRequest, AgentRole
from ..core.config import ModelRef
from ..core.events import AgentActivity, AgentFinished, AgentLeftoversStopped, AgentStarted, LogMessage
from ..core.signals import Signal, read_signal
from ..core.tasks import Task, Usage
from . import prompting
from .context import SwarmContext

_RATE_LIMIT_RETRIES = 3
_BACKOFF_S = 20.0
_BACKOFF_MAX_S = 300.0


@dataclass
class TurnResult:
    signal: Signal
    outcome: AgentOutcome
    session_id: str | None
    usage: Usage
    out_of_runs: bool = False  # stopped by the cycle's cap on agent runs, not by the agent


@dataclass
class AgentSeat:
    """One worker's agent: its model, limits and conversation."""

    worker: str
    model: ModelRef
    timeout_s: float
    max_working_resumes: int  # resumes of a turn that ended without a signal
    max_runs: int | None = None  # agent runs of this seat at most (one cycle's), None: no cap
    session_id: str | None = None
    turns: int = 0
    session_usage: Usage = field(default_factory=Usage)  # the session's running total, when the CLI reports one
    services: list[str] = field(default_factory=list)  # turn markers of declared services left running

    def out_of_runs(self) -> bool:
        return self.max_runs is not None and self.turns >= self.max_runs


async def run_until_signal(
    ctx: SwarmContext, seat: AgentSeat, role: AgentRole, prompt: str, worktree: Path, task: Task | None
) -> TurnResult:
    """One logical turn: run the agent, resume it while it ends without a signal."""
    usage = Usage()
    resumes = 0
    while True:
        outcome = await _run_with_backoff(ctx, seat, role, prompt, worktree, task)
        usage = usage.plus(outcome.usage)
        signal = read_signal(outcome.final_text) if outcome.ok else Signal("none")
        if not outcome.ok or signal.kind != "none" or resumes >= seat.max_working_resumes:
            return TurnResult(signal, outcome, seat.session_id, usage)
        if seat.out_of_runs():
            return TurnResult(signal, outcome, seat.session_id, usage, out_of_runs=True)
        resumes += 1
        prompt = prompting.nudge_prompt(seat.max_working_resumes - resumes + 1)


async def _run_with_backoff(
    ctx: SwarmContext, seat: AgentSeat, role: AgentRole, prompt: str, worktree: Path, task: Task | None
) -> AgentOutcome:
    async def once() -> AgentOutcome:
        turns, session = seat.turns, seat.session_id
        outcome = await _run_once(ctx, seat, role, prompt, worktree, task)
        if outcome.error_kind == "usage_limit":  # it never ran: no run of the cycle, no session to resume
            seat.turns, seat.session_id = turns, session
        return outcome

    harness, task_id = seat.model.harness, task.id if task else None
    return await with_rate_limit_backoff(ctx, seat.worker, once, harness=harness, task_id=task_id)


async def with_rate_limit_backoff(
    ctx: SwarmContext,
    worker: str,
    run: Callable[[], Awaitable[AgentOutcome]],
    harness: str = "",
    task_id: str | None = None,
) -> AgentOutcome:
    """Run `run` past the run's gate; again after a growing wait while it ends rate-limited,
    and again after the reset while it meets a usage limit (workers and reviewers)."""
    delay = _first_backoff_s()
    retries = 0
    gate = ctx.spending
    while True:
        await gate.before_turn(worker, harness, task_id)
        with gate.turn():
            outcome = await run()
        gate.check_budget()
        if outcome.error_kind == "usage_limit":
            gate.limit_hit(harness, worker, outcome)
            continue
        if outcome.error_kind != "rate_limit" or retries == _RATE_LIMIT_RETRIES:
            return outcome
        retries += 1
        wait = min(outcome.retry_after_s or delay, _BACKOFF_MAX_S)
        ctx.emit(AgentActivity(worker=worker, text=f"rate limited; retrying in {wait:.0f}s"))
        await anyio.sleep(wait)
        delay = min(delay * 2, _BACKOFF_MAX_S)


def _first_backoff_s() -> float:
    try:
        value = float(os.environ.get("OOMPA_RATE_LIMIT_BACKOFF_S", _BACKOFF_S))
    except ValueError:
        return _BACKOFF_S
    return value if value >= 0 else _BACKOFF_S


async def _run_once(
    ctx: SwarmContext, seat: AgentSeat, role: AgentRole, prompt: str, worktree: Path, task: Task | None
) -> AgentOutcome:
    seat.turns += 1
    resumed = seat.session_id is not None
    request = AgentRequest(
        harness=seat.model.harness,
        model=seat.model.model,
        reasoning=seat.model.reasoning,
        prompt=prompt,
        cwd=str(worktree),
        role=role,
        timeout_s=seat.timeout_s,
        session_id=seat.session_id,
        resume=resumed,
        env=agent_env(ctx, role, worktree, task),
        transcript_path=str(ctx.run_log.transcript_path(seat.worker, seat.turns)),
        keep_running=list(ctx.config.worktree.services) if role != "reviewer" else [],
    )
    task_id = task.id if task else None
    ctx.emit(
        AgentStarted(
            worker=seat.worker, role=role, task_id=task_id, turn=seat.turns, resumed=resumed, session_id=seat.session_id
        )
    )
    async with ctx.watch_turn(seat.worker, worktree):
        outcome = await run_agent(
            request,
            ctx.config.harnesses.get(seat.model.harness),
            lambda text: ctx.emit(AgentActivity(worker=seat.worker, text=text)),
        )
    outcome = ctx.spending.priced(_this_turn_only(seat, outcome), seat.model)
    seat.session_id = outcome.session_id or seat.session_id
    ctx.emit(
        AgentFinished(
            worker=seat.worker,
            role=role,
            task_id=task_id,
            signal=_signal_name(outcome),
            exit_code=outcome.exit_code,
            duration_s=outcome.duration_s,
            usage=outcome.usage,
            error=outcome.error,
            error_kind=outcome.error_kind,
        )
    )
    report_leftovers(ctx, seat.worker, role, task_id, outcome)
    if outcome.kept:
        seat.services.append(outcome.turn_marker)
        named = "; ".join(f"{p.pid} {p.command}" for p in outcome.kept)
        ctx.emit(
            LogMessage(
                level="info", worker=seat.worker, message=f"left running for the checks (worktree.services): {named}"
            )
        )
    return outcome


async def stop_seat_services(ctx: SwarmContext, seat: AgentSeat, role: str, task_id: str | None) -> None:
    """The checks that needed them are done: stop the services the seat's turns left running."""
    markers, seat.services = seat.services, []
    for marker in markers:
        stopped = await stop_services(marker)
        if stopped:
            ctx.emit(AgentLeftoversStopped(worker=seat.worker, role=role, task_id=task_id, processes=stopped))


def report_leftovers(ctx: SwarmContext, worker: str, role: str, task_id: str | None, outcome: AgentOutcome) -> None:
    """Name what the run left running (and the harness stopped): the user's agent misbehaved."""
    if outcome.leftovers:
        ctx.emit(AgentLeftoversStopped(worker=worker, role=role, task_id=task_id, processes=outcome.leftovers))


def _this_turn_only(seat: AgentSeat, outcome: AgentOutcome) -> AgentOutcome:
    """A CLI that reports its session's running total (codex): count what this turn added."""
    if not outcome.usage_is_session_total or outcome.usage == Usage():
        return outcome  # a failed turn reports nothing; the session's total stands
    same_session = outcome.session_id is not None and outcome.session_id == seat.session_id
    before = seat.session_usage if same_session else Usage()
    seat.session_usage = outcome.usage
    return msgspec.structs.replace(outcome, usage=_difference(outcome.usage, before))


def _difference(total: Usage, before: Usage) -> Usage:
    cost = None if total.cost_usd is None else max(total.cost_usd - (before.cost_usd or 0.0), 0.0)
    return Usage(
        max(total.input_tokens - before.input_tokens, 0),
        max(total.output_tokens - before.output_tokens, 0),
        cost,
        max(total.cache_read_tokens - before.cache_read_tokens, 0),
        max(total.cache_write_tokens - before.cache_write_tokens, 0),
    )


def _signal_name(outcome: AgentOutcome) -> str:
    return read_signal(outcome.final_text).kind if outcome.ok else "none"


def agent_env(ctx: SwarmContext, role: str, worktree: Path, task: Task | None) -> dict[str, str]:
    env = {
        "OOMPA_ROLE": role,
        "OOMPA_WORKTREE": str(worktree),
        "OOMPA_TASKS_DIR": str(ctx.tasks_dir),
        "OOMPA_TARGET": ctx.target,
    }
    if task is not None:
        env["OOMPA_TASK_ID"] = task.id
    return env


def turn_problem(turn: TurnResult, seat: AgentSeat) -> str | None:
    """Why a finished turn cannot go on to checks and review, or None when it can."""
    if not turn.outcome.ok:
        return f"agent error ({turn.outcome.error_kind}): {turn.outcome.error}"
    kind = turn.signal.kind
    if kind == "followup":
        return f"the agent needs follow-up: {turn.signal.reason or 'no reason given'}"
    if turn.out_of_runs:
        return f"no finished turn within the cycle's {seat.max_runs} agent runs (max_resumes)"
    if kind == "none":
        return f"no signal after {seat.max_working_resumes} resumes (max_working_resumes)"
    if kind in ("done", "claim"):
        return f"the agent answered {kind} instead of finishing the task"
    return None
