"""What the live dashboard draws from a snapshot: every part the issue names, including the
merge train, the budget and usage limits other parts of the engine fill in."""

from __future__ import annotations

from rich.console import Console

from oompa_lsp.core.snapshot import (BudgetView, QueueEntryView, ReviewView, Snapshot, TaskView, UsageLimitView,
                                     WorkerView)
from oompa_lsp.core.tasks import Usage
from oompa_lsp.dashboard import render

NOW = 1_800_000_000.0


def drawn(snapshot: Snapshot, width: int = 120) -> str:
    console = Console(width=width, record=True, color_system=None)
    console.print(render(snapshot, NOW))
    return console.export_text()


def busy_snapshot() -> Snapshot:
    return Snapshot(
        run_id="r1", state="running", target="main", started_at=NOW - 125,
        workers={
            "w1": WorkerView("w1", "claude:sonnet", "worker", state="working", task_id="t1", since=NOW - 42,
                             turns=3, usage=Usage(1000, 200, 0.1234), detail="round 2"),
            "w2": WorkerView("w2", "codex:gpt-5", "worker", state="awaiting_review", task_id="t2", since=NOW - 3700),
        },
        tasks={"t1": TaskView("t1", "current"), "t2": TaskView("t2", "current"),
               "t3": TaskView("t3", "pending", waiting="behind t1 on src/auth/"), "t4": TaskView("t4", "complete")},
        reviews={"t2-1-1": ReviewView("t2-1-1", "t2", "w2", "b", "base", "head", "human")},
        queue=[QueueEntryView("t5", "w3", 1, "checking"), QueueEntryView("t6", "w1", 2, "queued")],
        budget=BudgetView(usd_limit=5.0, usd_spent=0.1234),
        usage_limits={"claude": UsageLimitView("claude", resets_at=NOW + 2 * 3600 + 13 * 60)},
        usage=Usage(1000, 200, 0.1234),
    )


def test_a_row_per_worker_with_state_task_time_in_phase_turns_and_cost():
    text = drawn(busy_snapshot())
    w1 = next(line for line in text.splitlines() if line.startswith("w1 "))
    assert all(part in w1 for part in ("working", "t1", "42s", " 3 ", "$0.1234", "round 2"))
    w2 = next(line for line in text.splitlines() if line.startswith("w2 "))
    assert "awaiting_review" in w2 and "1h01m" in w2
    assert "running · 2m05s" in text


def test_tasks_queue_human_reviews_limits_and_budget():
    text = drawn(busy_snapshot())
    assert "1 pending" in text and "2 current" in text and "1 complete" in text
    assert "t3 waits: behind t1 on src/auth/" in text
    assert "1. t5 checking" in text and "2. t6 queued" in text
    assert "reviews waiting for you (1)" in text and "oompa review approve t2-1-1" in text
    assert "claude: usage limit, resumes" in text and "(in 2 h 13 min)" in text
    assert "budget $0.12 of $5.00" in text


def test_a_reached_budget_and_a_paused_queue_are_said():
    snapshot = busy_snapshot()
    snapshot.budget = BudgetView(usd_limit=0.05, usd_spent=0.06, reached="usd 0.06 of 0.05")
    snapshot.paused_reason = "your checkout has changes in calc.py"
    text = drawn(snapshot)
    assert "(reached: usd 0.06 of 0.05)" in text
    assert "PAUSED: your checkout has changes in calc.py" in text


def test_a_stopped_run_keeps_its_length_and_workers_no_clock():
    snapshot = busy_snapshot()
    snapshot.state, snapshot.last_event_at = "stopped", NOW - 25
    snapshot.workers["w1"].state = "done"
    text = drawn(snapshot)
    assert "stopped · 1m40s" in text
    w1 = next(line for line in text.splitlines() if line.startswith("w1 "))
    assert "42s" not in w1
