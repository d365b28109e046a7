"""The report's fold over events, on hand-made runs: phases from worker states, the review
split at the reviewer's turn, phases left open by a stop, budget and usage limits in totals."""

from __future__ import annotations

from oompa_lsp.core import events as ev
from oompa_lsp.core.run_tables import build_report
from oompa_lsp.core.tasks import Usage
from oompa_lsp.core.timeline import build_timeline

T0 = 1_800_000_000.0


def at(seconds: float, event: ev.Event) -> ev.Event:
    event.at = T0 + seconds
    return event


def started(*workers: str) -> ev.Event:
    infos = [ev.WorkerInfo(w, "fake:model", "worker") for w in workers]
    return at(0, ev.SwarmStarted(run_id="r1", repo="/repo", target="main", workers=infos, pid=1))


def state(seconds: float, worker: str, name: str, task: str | None = "t1") -> ev.Event:
    return at(seconds, ev.WorkerStateChanged(worker=worker, state=name, task_id=task))  # type: ignore[arg-type]


def test_a_model_review_waits_for_its_reviewer_then_runs():
    timeline = build_timeline([
        started("w1"),
        state(1, "w1", "working"), state(5, "w1", "checking"), state(6, "w1", "reviewing"),
        at(8, ev.AgentStarted(worker="reviewer:w1", role="reviewer", task_id="t1")),
        state(11, "w1", "merging"),
        at(12, ev.MergeQueued(task_id="t1", branch="b", head="h")),
        at(13.5, ev.ChecksRan(task_id="t1", stage="merged", ok=True,
                              results=[ev.CheckResult(argv=["make"], exit_code=0, duration_s=1.0)])),
        at(14, ev.MergeLanded(task_id="t1", commit="c" * 40, target="main", previous="p" * 40)),
        state(14, "w1", "idle", None),
        at(15, ev.SwarmStopped(ok=True, reason="done")),
    ])
    [lane] = timeline.lanes
    assert [(p.kind, p.start - T0, p.end - T0) for p in lane.phases] == [
        ("turn", 1, 5), ("checks", 5, 6), ("review_wait", 6, 8), ("review", 8, 11), ("queue_wait", 11, 14)]
    assert [(p.kind, p.start - T0, p.end - T0) for p in timeline.queue] == [("merge_checks", 12.5, 13.5),
                                                                             ("landing", 13.5, 14)]
    assert [landing.task_id for landing in timeline.landings] == ["t1"] and timeline.wall_s == 15


def test_a_human_review_is_waiting_throughout_and_a_stop_closes_open_phases():
    timeline = build_timeline([
        started("w1", "w2"),
        state(1, "w1", "awaiting_review"), state(2, "w2", "resolving", "t2"),
        at(9, ev.SwarmStopped(ok=False, reason="interrupted (Ctrl-C)")),
    ])
    w1, w2 = timeline.lanes
    assert [(p.kind, p.end - T0) for p in w1.phases] == [("review_wait", 9)]
    assert [(p.kind, p.end - T0) for p in w2.phases] == [("resolving", 9)]
    assert timeline.ok is False and timeline.reason == "interrupted (Ctrl-C)"


def test_totals_carry_cost_the_budget_reached_and_usage_limits():
    report = build_report([
        started("w1"),
        at(0, ev.BudgetSet(usd=0.05)),
        at(1, ev.TaskClaimed(task_id="t1", worker="w1", attempt=1, branch="b")),
        at(3, ev.AgentFinished(worker="w1", role="worker", task_id="t1", usage=Usage(100, 50, 0.06))),
        at(3, ev.BudgetReached(limit="budget.usd", figure="$0.0600 of $0.05")),
        at(4, ev.UsageLimitHit(harness="claude", message="You've hit your session limit", resets_at=T0 + 3600)),
        at(5, ev.TaskReturned(task_id="t1", reason="the budget was reached")),
        at(6, ev.SwarmStopped(ok=False, reason="budget.usd reached")),
    ])
    totals = report.totals
    assert totals.usage.cost_usd == 0.06 and totals.turns == 1
    assert totals.budget == "$0.05; reached: budget.usd reached ($0.0600 of $0.05)"
    assert len(totals.usage_limits) == 1 and totals.usage_limits[0].startswith("claude: usage limit, resumes")
    [task] = report.tasks
    assert task.state == "pending" and task.usage.cost_usd == 0.06 and task.wall_s == 5
    assert report.workers[0].usage.cost_usd == 0.06


def test_the_queues_lane_follows_the_merge_train():
    def train(seconds: float, task: str, name: str, detail: str = "") -> ev.Event:
        return at(seconds, ev.MergeTrainUpdated(task_id=task, state=name, detail=detail))  # type: ignore[arg-type]

    timeline = build_timeline([
        started("w1", "w2"),
        train(1, "t1", "queued"), train(1.5, "t1", "merging"), train(2, "t1", "checking"),
        train(2.5, "t2", "merging"), train(2.6, "t2", "failed", "merge conflict with main in a.py"),
        # a check result reused from the worktree: its duration says nothing of the train
        at(4, ev.ChecksRan(task_id="t1", stage="merged", ok=True,
                           results=[ev.CheckResult(argv=["make"], exit_code=0, duration_s=30.0)])),
        train(4, "t1", "passed"),
        at(4.5, ev.MergeLanded(task_id="t1", commit="c" * 40, target="main", previous="p" * 40)),
        at(5, ev.SwarmStopped(ok=True, reason="done")),
    ])
    assert [(p.kind, p.task_id, round(p.start - T0, 3), round(p.end - T0, 3)) for p in timeline.queue] == [
        ("merging", "t1", 1.5, 2), ("merge_checks", "t1", 2, 4), ("merging", "t2", 2.5, 2.6), ("landing", "t1", 4, 4.5)]
