"""What the run may spend, and when it may spend it: the budget, usage limits, and the clock.

Every agent turn (workers', reviewers', the planner's) passes `Spending.before_turn` first:
- a harness under a usage limit (its plan or quota, reported by the CLI) starts no turn until
  the reset, for every worker on it (they share the account); the turn that met the limit
  is run again after the reset, spending no task attempt, review round or resume. A reset
  further away than `limits.max_wait` (or `limits.on_usage_limit: stop`) ends the run;
- once the run's budget is reached, or a limit ends the run, no turn starts again: the turns
  running have `budget.grace_s` to finish, then the swarm is stopped (claims returned).
Per-task budgets are asked by the worker (`task_over_budget`) before each of its turns.

The clock is injected (`Clock`), so tests can pass hours in an instant.

May import: core, adapters. Must not import: lsp, cli.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from typing import Protocol, cast

import anyio
import msgspec

from ..core.agents import AgentOutcome
from ..core.config import Config, ModelRef
from ..core.costs import priced
from ..core.events import (
    AgentFinished,
    BudgetReached,
    BudgetSet,
    Event,
    LogMessage,
    UsageLimitHit,
    UsageLimitLifted,
    WorkerState,
    WorkerStateChanged,
)
from ..core.snapshot import Snapshot
from ..core.tasks import Task, Usage
from ..core.usage_limits import UNKNOWN_RESET_WAIT_S, describe_limit, format_duration, usage_limit_in

_MIN_WAIT_S = 60.0


class Clock(Protocol):
    def now(self) -> float: ...

    async def sleep(self, seconds: float) -> None: ...


class SystemClock:
    def now(self) -> float:
        return time.time()

    async def sleep(self, seconds: float) -> None:
        await anyio.sleep(seconds)


class Spending:
    """The run's gate before every agent turn (see the module docstring)."""

    def __init__(
        self,
        config: Config,
        emit: Callable[[Event], None],
        snapshot: Snapshot,
        clock: Clock | None = None,
        end_run: Callable[[str], None] = lambda reason: None,
    ) -> None:
        self.config, self.emit, self.snapshot, self.end_run_softly = config, emit, snapshot, end_run
        self.clock: Clock = clock or SystemClock()
        self.spent = Usage()
        self.by_task: dict[str, Usage] = {}
        self.running = 0
        self.ending = ""  # why the run ends ("" while it goes on)
        self._ended: anyio.Event | None = None
        self._idle: anyio.Event | None = None
        self._waits: dict[str, float] = {}  # harness -> when its workers may start turns again
        self._earlier: dict[str, Usage] = {}  # task -> its spending in earlier runs (its file's attempts)

    @classmethod
    def unlimited(cls) -> Spending:
        return cls(Config(workers=[]), lambda event: None, Snapshot())

    def start(self) -> None:
        """A new run: nothing spent, no limit known; its budget said."""
        self.spent, self.by_task, self.running, self.ending, self._waits = Usage(), {}, 0, "", {}
        self._earlier = {}
        self._ended = anyio.Event()
        budget = self.config.budget
        if budget is not None:
            self.emit(BudgetSet(budget.usd, budget.tokens, budget.per_task.usd, budget.per_task.tokens))

    # -- dollars -----------------------------------------------------------------------------

    def priced(self, outcome: AgentOutcome, model: ModelRef) -> AgentOutcome:
        """The outcome with its dollars: the CLI's, else the price table's (core.costs)."""
        name = model.model or outcome.model
        usage = priced(outcome.usage, model.harness, name, self.config.prices)
        return outcome if usage is outcome.usage else msgspec.structs.replace(outcome, usage=usage)

    def note(self, event: AgentFinished) -> None:
        """Count a finished turn (called for every AgentFinished the swarm emits)."""
        self.spent = self.spent.plus(event.usage)
        if event.task_id is not None:
            self.by_task[event.task_id] = self.by_task.get(event.task_id, Usage()).plus(event.usage)

    def check_budget(self) -> None:
        """After a turn: a run limit reached ends the run (no new turn; grace for the others)."""
        budget = self.config.budget
        if budget is None or self.ending:
            return
        reached = _reached(self.spent, budget.usd, budget.tokens, "budget")
        if reached is not None:
            self.emit(BudgetReached(limit=reached[0], figure=reached[1]))
            self.end_run(f"{reached[0]} reached ({reached[1]}): no new agent turn started")

    def task_over_budget(self, task: Task) -> str | None:
        """Why `task` may not have another turn (its budget.per_task spent), or None."""
        budget = self.config.budget
        if budget is None:
            return None
        if task.id not in self._earlier:  # its first turn in this run: what earlier runs spent on it
            self._earlier[task.id] = _sum(attempt.usage for attempt in task.attempts[:-1])
        spent = self._earlier[task.id].plus(self.by_task.get(task.id, Usage()))
        reached = _reached(spent, budget.per_task.usd, budget.per_task.tokens, "budget.per_task")
        if reached is None:
            return None
        self.emit(BudgetReached(limit=reached[0], figure=reached[1], task_id=task.id))
        return f"{reached[0]} reached ({reached[1]}): the task gets no more agent turns"

    # -- the gate ----------------------------------------------------------------------------

    async def before_turn(self, worker: str, harness: str, task_id: str | None) -> None:
        """Return when a turn on `harness` may start; never while the run is ending."""
        if self.ending:
            await anyio.sleep_forever()  # the grace's end stops the swarm, and this with it
        until = self._waits.get(harness)
        if until is None:
            return
        before = self.snapshot.workers.get(worker)
        previous = (before.state, before.task_id, before.detail) if before is not None else None
        while (left := until - self.clock.now()) > 0:
            if previous is not None:
                detail = describe_limit(harness, until, self.clock.now())
                self.emit(WorkerStateChanged(worker=worker, state="waiting", task_id=task_id, detail=detail))
            await self.clock.sleep(left)
            until = self._waits.get(harness, until)
        if self._waits.pop(harness, None) is not None:
            self.emit(UsageLimitLifted(harness=harness))
            self.emit(LogMessage(level="info", message=f"{harness}: usage limit reset; its workers go on"))
        if previous is not None and previous[0] != "waiting":
            state = cast(WorkerState, previous[0])
            self.emit(WorkerStateChanged(worker=worker, state=state, task_id=previous[1], detail=previous[2]))

    def limit_hit(self, harness: str, worker: str, outcome: AgentOutcome) -> None:
        """A turn met `harness`'s usage limit: its workers wait for the reset, or the run ends."""
        now = self.clock.now()
        notice = usage_limit_in(outcome.usage_limit or outcome.error or "", now)
        resets_at = notice.resets_at if notice is not None else None
        until = _wait_until(resets_at, now)
        if self._waits.get(harness, 0.0) >= until:
            return  # another worker on the same account met it first
        self._waits[harness] = until
        limits = self.config.limits
        ends = limits.on_usage_limit == "stop" or until - now > limits.max_wait_s()
        message = notice.message if notice is not None else (outcome.error or "usage limit")
        self.emit(UsageLimitHit(harness=harness, message=message, resets_at=resets_at, ends_run=ends, worker=worker))
        line = describe_limit(harness, resets_at, now)
        if not ends:
            self.emit(LogMessage(level="warning", worker=worker, message=f"{line}: every {harness} worker waits"))
            return
        why = (
            "limits.on_usage_limit is stop"
            if limits.on_usage_limit == "stop"
            else f"further away than limits.max_wait ({format_duration(limits.max_wait_s())})"
        )
        self.end_run(f"{line}: {why}; the swarm stops, claims returned, no task failed")

    # -- ending --------------------------------------------------------------------------------

    def end_run(self, reason: str) -> None:
        if self.ending:
            return
        self.ending = reason
        self.emit(LogMessage(level="error", message=reason))
        self.end_run_softly(reason)
        if self._ended is not None:
            self._ended.set()

    async def stop_after_grace(self, stop: Callable[[str], None]) -> None:
        """Once the run ends: wait for the running turns (budget.grace_s at most), then `stop`."""
        assert self._ended is not None, "start() the run first"
        await self._ended.wait()
        grace = self.config.budget.grace_s if self.config.budget is not None else 300.0
        with anyio.move_on_after(grace):
            while self.running:
                self._idle = anyio.Event()
                await self._idle.wait()
        stop(self.ending)

    @contextmanager
    def turn(self) -> Iterator[None]:
        """Around a running agent turn: the grace waits for these."""
        self.running += 1
        try:
            yield
        finally:
            self.running -= 1
            if not self.running and self._idle is not None:
                self._idle.set()


def _sum(usages: Iterable[Usage]) -> Usage:
    total = Usage()
    for usage in usages:
        total = total.plus(usage)
    return total


def _wait_until(resets_at: float | None, now: float) -> float:
    """When to look again: at the reset; a minute from now when the reset is already past (a
    CLI that still refuses), not at once; a while from now when the CLI did not say."""
    if resets_at is None:
        return now + UNKNOWN_RESET_WAIT_S
    return resets_at if resets_at > now else now + _MIN_WAIT_S


def _reached(spent: Usage, usd: float | None, tokens: int | None, key: str) -> tuple[str, str] | None:
    if usd is not None and (spent.cost_usd or 0.0) >= usd:
        return f"{key}.usd", f"${spent.cost_usd or 0.0:.4f} of ${usd:g}"
    if tokens is not None and spent.tokens >= tokens:
        return f"{key}.tokens", f"{spent.tokens:,} of {tokens:,} tokens"
    return None
