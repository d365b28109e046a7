"""Cost, the budget and usage limits, seen through whole swarm runs of the scripted agent.

The clock the engine waits on is faked (`JumpingClock`): a reset hours away passes at once.
"""

from __future__ import annotations

from datetime import datetime
from zoneinfo import ZoneInfo

import anyio
import pytest

from oompa_lsp.core import events as ev
from oompa_lsp.core.tasks import Attempt, Task, Usage
from oompa_lsp.engine.swarm import Swarm

from .swarm_fixtures import make_project

pytestmark = pytest.mark.anyio
APPROVE = {"reviewer": {"*": [{"final": "VERDICT: APPROVED"}]}}
FINISH = {"write": {"{task_id}.txt": "{task_id}\n"}, "final": "COMPLETE_AND_READY_FOR_MERGE"}
DONE = {"-": [{"final": "__DONE__"}]}
LA = ZoneInfo("America/Los_Angeles")
# 22:37 in Los Angeles: claude's "resets 12:50am (America/Los_Angeles)" is 2 h 13 min away
START = datetime(2026, 7, 4, 22, 37, tzinfo=LA).timestamp()
SESSION_LIMIT = "You've hit your session limit · resets 12:50am (America/Los_Angeles)"
WEEKLY_LIMIT = ("You've hit your usage limit. Upgrade to Pro (https://openai.com/chatgpt/pricing) or try again in "
                "5 days 22 hours 11 minutes.")


class JumpingClock:
    """The engine's clock, faked: a wait moves the time forward and returns at once."""

    def __init__(self, start: float) -> None:
        self.time = start
        self.waits: list[float] = []

    def now(self) -> float:
        return self.time

    async def sleep(self, seconds: float) -> None:
        self.waits.append(seconds)
        self.time += max(seconds, 0.0)
        await anyio.sleep(0)


async def run(root, clock=None, timeout: float = 60):
    swarm = Swarm.open(root, clock=clock)
    seen: list = []
    swarm.subscribe(seen.append)
    with anyio.fail_after(timeout):
        return await swarm.run(), seen, swarm


def of(events, kind):
    return [e for e in events if isinstance(e, kind)]


# --- cost ---------------------------------------------------------------------------------

async def test_a_harness_that_reports_only_tokens_is_priced_from_the_table(tmp_path):
    project = make_project(tmp_path)
    tokens = {"usage": {"input_tokens": 200_000, "output_tokens": 10_000, "cache_read_tokens": 100_000}}
    project.configure({"roles": {"reviewer": {"*": [{**tokens, "final": "VERDICT: APPROVED"}]},
                                 "worker": {"*": [{**FINISH, **tokens}], **DONE}}},
                      workers=[{"model": "fake:gpt-5"}], review_model="fake:mystery-model",
                      prices={"house-model": {"input": 1, "output": 1}})
    project.add_tasks(Task(id="p", summary="priced"))

    result, events, swarm = await run(project.root)

    assert result.ok, result.reason
    worker_turn = next(e for e in of(events, ev.AgentFinished) if e.role == "worker" and e.task_id == "p")
    # gpt-5: 100k uncached input at $1.25/M, 100k cached at $0.125/M, 10k output at $10/M
    assert worker_turn.usage.cost_usd == pytest.approx(0.125 + 0.0125 + 0.1)
    assert worker_turn.usage.cache_read_tokens == 100_000
    snapshot = swarm.snapshot
    assert snapshot.workers["w1"].usage.cost_usd == pytest.approx(0.2375)
    assert snapshot.tasks["p"].usage.cost_usd == pytest.approx(0.2375)
    # the reviewer's model has no price: its tokens are said, its cost named as unknown
    assert snapshot.usage.unpriced == ["fake:mystery-model"]
    assert snapshot.usage.tokens >= 2 * 210_000


async def test_prices_in_the_config_override_the_table(tmp_path):
    project = make_project(tmp_path)
    tokens = {"usage": {"input_tokens": 1_000_000, "output_tokens": 1_000_000}}
    project.configure({"roles": {**APPROVE, "worker": {"*": [{**FINISH, **tokens}], **DONE}}},
                      workers=[{"model": "fake:gpt-5"}], prices={"gpt-5": {"input": 2, "output": 3}})
    project.add_tasks(Task(id="p", summary="priced by the config"))

    result, events, _ = await run(project.root)

    assert result.ok, result.reason
    turn = next(e for e in of(events, ev.AgentFinished) if e.task_id == "p" and e.role == "worker")
    assert turn.usage.cost_usd == pytest.approx(5.0)


# --- the budget ---------------------------------------------------------------------------

async def test_a_run_budget_stops_the_swarm_at_the_limit_with_the_claims_returned(tmp_path):
    project = make_project(tmp_path)
    cents = {"usage": {"input_tokens": 1000, "output_tokens": 100, "cost_usd": 0.02}}
    project.configure({"roles": {**APPROVE, "worker": {"*": [{**FINISH, **cents}], **DONE}}},
                      workers=[{"model": "fake:m", "count": 1}], budget={"usd": 0.03, "grace_s": 5})
    project.add_tasks(*(Task(id=f"t{i}", summary=f"task {i}") for i in range(1, 5)))

    result, events, swarm = await run(project.root)

    assert not result.ok
    assert "budget.usd reached ($0.0400 of $0.03)" in result.reason
    worker_turns = [e for e in of(events, ev.AgentStarted) if e.role == "worker" and e.task_id]
    assert len(worker_turns) == 2  # the second crossed the limit; no third started
    assert project.task_files("current") == []  # every claim returned
    assert project.task_files("failed") == []
    assert len(project.task_files("complete")) == 1
    assert of(events, ev.BudgetReached)[0].limit == "budget.usd"
    budget = swarm.snapshot.budget
    assert budget is not None and budget.usd_limit == 0.03 and budget.usd_spent == pytest.approx(0.04)
    assert budget.reached and budget.share >= 1


async def test_a_token_budget_holds_like_a_dollar_one(tmp_path):
    project = make_project(tmp_path)
    tokens = {"usage": {"input_tokens": 900, "output_tokens": 100}}
    project.configure({"roles": {**APPROVE, "worker": {"*": [{**FINISH, **tokens}], **DONE}}},
                      workers=[{"model": "fake:m", "count": 1}], budget={"tokens": 1500})
    project.add_tasks(*(Task(id=f"t{i}", summary=f"task {i}") for i in range(1, 4)))

    result, events, _ = await run(project.root)

    assert not result.ok and "budget.tokens reached (2,000 of 1,500 tokens)" in result.reason
    assert project.task_files("current") == []


@pytest.mark.parametrize(("grace_s", "slow_s", "finished"), [(30, 1, True), (1, 60, False)])
async def test_running_turns_finish_within_the_grace_and_are_stopped_past_it(tmp_path, grace_s, slow_s, finished):
    project = make_project(tmp_path)
    costly = {"usage": {"input_tokens": 10, "output_tokens": 10, "cost_usd": 0.05}}
    slow = {"write": {"slow.txt": "slow\n"}, "sleep": slow_s, "final": "COMPLETE_AND_READY_FOR_MERGE"}
    project.configure({"roles": {**APPROVE, "worker": {"quick": [{**FINISH, **costly}], "slow": [slow], **DONE}}},
                      workers=[{"model": "fake:m", "count": 2}], budget={"usd": 0.03, "grace_s": grace_s})
    project.add_tasks(Task(id="slow", summary="a long turn", priority=1), Task(id="quick", summary="costly"))

    result, events, _ = await run(project.root, timeout=40)

    assert not result.ok and "budget.usd reached" in result.reason
    slow_turns = [e for e in of(events, ev.AgentFinished) if e.task_id == "slow" and e.role == "worker"]
    if finished:  # it ended by itself within the grace: its result is the agent's
        assert [t.error for t in slow_turns] == [None]
    else:  # stopped at the grace's end
        assert not slow_turns or slow_turns[0].error_kind == "cancelled" or slow_turns[0].error
    assert project.task_files("current") == [] and project.task_files("failed") == []


async def test_a_task_budget_ends_that_task_only(tmp_path):
    project = make_project(tmp_path)
    costly = {"usage": {"input_tokens": 10, "output_tokens": 10, "cost_usd": 0.5}}
    reject = {"final": "VERDICT: CHANGES_REQUESTED\n1. again"}
    project.configure({"roles": {"reviewer": {"dear": [reject], "*": [{"final": "VERDICT: APPROVED"}]},
                                 "worker": {"*": [{**FINISH, **costly}], **DONE}}},
                      workers=[{"model": "fake:m", "count": 1}], budget={"per_task": {"usd": 1.0}})
    project.add_tasks(Task(id="dear", summary="rejected until its budget is spent", priority=1),
                      Task(id="cheap", summary="fine"))

    result, events, _ = await run(project.root)

    assert project.task_files("failed") == ["dear"] and project.task_files("complete") == ["cheap"]
    failed = of(events, ev.TaskFailed)[0]
    assert "budget.per_task.usd reached ($1.0000 of $1)" in failed.reason
    assert not result.ok and "dear" in result.reason


async def test_a_task_budget_counts_what_earlier_runs_spent_on_it(tmp_path):
    project = make_project(tmp_path)
    costly = {"usage": {"input_tokens": 10, "output_tokens": 10, "cost_usd": 0.5}}
    reviews = [{"final": "VERDICT: CHANGES_REQUESTED\n1. again"}, {"final": "VERDICT: APPROVED"}]
    project.configure({"roles": {"reviewer": {"*": reviews}, "worker": {"*": [{**FINISH, **costly}], **DONE}}},
                      workers=[{"model": "fake:m", "count": 1}], budget={"per_task": {"usd": 1.0}})
    earlier = Attempt(worker="w1", branch="oompa/old/1", started_at="2026-07-01T00:00:00+00:00",
                      outcome="returned", usage=Usage(100, 100, 0.75))
    project.add_tasks(Task(id="old", summary="tried before", attempts=[earlier]))

    result, events, _ = await run(project.root)

    # $0.75 before this run, $0.50 for its first turn here: the fix turn is not started
    assert project.task_files("failed") == ["old"]
    assert "budget.per_task.usd reached ($1.2500 of $1)" in of(events, ev.TaskFailed)[0].reason
    assert len([e for e in of(events, ev.AgentStarted) if e.task_id == "old" and e.role == "worker"]) == 1


# --- usage limits -------------------------------------------------------------------------

async def test_a_session_limit_pauses_the_harness_until_its_reset_and_spends_no_attempt(tmp_path):
    project = make_project(tmp_path)
    limited = {"stderr": SESSION_LIMIT, "exit": 1}
    project.configure({"roles": {**APPROVE, "worker": {"a": [limited, FINISH], "*": [FINISH], **DONE}}},
                      workers=[{"model": "fake:m", "count": 2, "max_working_resumes": 0, "max_resumes": 1}],
                      review={"max_attempts": 1})
    project.add_tasks(Task(id="a", summary="meets the limit", priority=1), Task(id="b", summary="other"))
    clock = JumpingClock(START)

    result, events, swarm = await run(project.root, clock)

    assert result.ok, result.reason
    assert project.task_files("complete") == ["a", "b"]
    assert len(project.task("complete", "a").attempts) == 1  # no attempt spent on the limit
    hit = of(events, ev.UsageLimitHit)[0]
    assert hit.harness == "fake" and not hit.ends_run
    assert hit.resets_at == datetime(2026, 7, 5, 0, 50, tzinfo=LA).timestamp()
    assert clock.time >= hit.resets_at  # it waited for the reset, and went on by itself
    lines = [e.message for e in of(events, ev.LogMessage)]
    assert any("fake: usage limit, resumes" in line and "(in 2 h 13 min)" in line for line in lines)
    # no turn on that harness started between the limit and its reset
    hit_at, lifted_at = events.index(hit), events.index(of(events, ev.UsageLimitLifted)[0])
    assert not of(events[hit_at:lifted_at], ev.AgentStarted)
    assert any(e.state == "waiting" and "usage limit" in e.detail for e in of(events, ev.WorkerStateChanged))
    assert swarm.snapshot.usage_limits == {}


async def test_a_reset_beyond_max_wait_ends_the_run_cleanly(tmp_path):
    project = make_project(tmp_path)
    project.configure({"roles": {**APPROVE, "worker": {"*": [{"stderr": WEEKLY_LIMIT, "exit": 1}], **DONE}}},
                      workers=[{"model": "fake:m", "count": 2}])
    project.add_tasks(Task(id="a", summary="a"), Task(id="b", summary="b"))
    clock = JumpingClock(START)

    result, events, swarm = await run(project.root, clock)

    assert not result.ok
    assert "fake: usage limit, resumes" in result.reason and "(in 5 d 22 h)" in result.reason
    assert "limits.max_wait (6 h)" in result.reason and "no task failed" in result.reason
    assert project.task_files("pending") == ["a", "b"]
    assert not of(events, ev.TaskFailed)
    assert clock.waits == []  # it did not wait at all
    assert swarm.snapshot.usage_limits["fake"].ends_run


async def test_on_usage_limit_stop_never_waits(tmp_path):
    project = make_project(tmp_path)
    project.configure({"roles": {**APPROVE, "worker": {"*": [{"stderr": SESSION_LIMIT, "exit": 1}], **DONE}}},
                      workers=[{"model": "fake:m", "count": 1}], limits={"on_usage_limit": "stop"})
    project.add_tasks(Task(id="a", summary="a"))
    clock = JumpingClock(START)

    result, events, _ = await run(project.root, clock)

    assert not result.ok and "limits.on_usage_limit is stop" in result.reason
    assert project.task_files("pending") == ["a"] and clock.waits == []


@pytest.mark.parametrize("notice", [
    "Claude usage limit reached. Your limit will reset at 9am (America/Chicago).",
    'Error: 429 {"error":{"type":"usage_limit_reached","message":"The usage limit has been reached",'
    '"plan_type":"plus","resets_at":1783236000,"resets_in_seconds":7200}}',
    "[API Error: You have exhausted your daily quota on this model.]",
    "Usage limit reached for 5 hour. Your limit will reset at 2026-07-05 09:30:24",
])
async def test_each_usage_limit_message_pauses_the_run(tmp_path, notice):
    project = make_project(tmp_path)
    project.configure({"roles": {**APPROVE, "worker": {"a": [{"stderr": notice, "exit": 1}, FINISH], **DONE}}},
                      workers=[{"model": "fake:m", "count": 1}], limits={"max_wait": "1 day"})
    project.add_tasks(Task(id="a", summary="a"))
    clock = JumpingClock(START)

    result, events, _ = await run(project.root, clock)

    assert result.ok, result.reason
    hit = of(events, ev.UsageLimitHit)[0]
    assert hit.resets_at is not None and START < hit.resets_at <= START + 86400
    assert clock.time >= hit.resets_at
    assert len(project.task("complete", "a").attempts) == 1


async def test_a_short_rate_limit_keeps_its_backoff(tmp_path, monkeypatch):
    monkeypatch.setenv("OOMPA_RATE_LIMIT_BACKOFF_S", "0.1")
    project = make_project(tmp_path)
    rate = {"stderr": "Error: 429 Too Many Requests. Please try again in 0.1s", "exit": 1}
    project.configure({"roles": {**APPROVE, "worker": {"a": [rate, FINISH], **DONE}}},
                      workers=[{"model": "fake:m", "count": 1}])
    project.add_tasks(Task(id="a", summary="a"))

    result, events, _ = await run(project.root, JumpingClock(START))

    assert result.ok, result.reason
    assert not of(events, ev.UsageLimitHit)
    kinds = [e.error_kind for e in of(events, ev.AgentFinished) if e.task_id == "a" and e.role == "worker"]
    assert kinds == ["rate_limit", None]
