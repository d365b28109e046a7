"""Roles, resumes, checks and worktree set-up, each seen through a whole swarm run."""

from __future__ import annotations

import sys

import anyio
import pytest

from oompa_lsp.core import events as ev
from oompa_lsp.core.tasks import Task
from oompa_lsp.engine.swarm import Swarm

from .swarm_fixtures import git, make_project

pytestmark = pytest.mark.anyio
APPROVE = {"reviewer": {"*": [{"final": "VERDICT: APPROVED"}]}}
FINISH = {"write": {"{task_id}.txt": "{task_id}\n"}, "final": "COMPLETE_AND_READY_FOR_MERGE"}


async def run(root, timeout: float = 60):
    swarm = Swarm.open(root)
    seen: list = []
    swarm.subscribe(seen.append)
    with anyio.fail_after(timeout):
        return await swarm.run(), seen


async def test_planner_writes_tasks_that_executors_finish(tmp_path):
    project = make_project(tmp_path)
    project.configure({"roles": {
        **APPROVE,
        "planner": {"-": [{"tasks": [{"id": "p1", "summary": "first"}, {"id": "p2", "summary": "second",
                                                                          "depends_on": ["p1"]}],
                           "final": "planned two tasks"},
                          {"final": "__DONE__"}]},
        "executor": {"*": [FINISH]}}},
        workers=[{"model": "fake:planner", "role": "planner", "iterations": 5},
                 {"model": "fake:exec", "role": "executor", "count": 2}])

    result, events = await run(project.root)

    assert result.ok, result.reason
    assert project.task_files("complete") == ["p1", "p2"]
    planner_calls = [c for c in project.calls() if c["role"] == "planner"]
    assert len(planner_calls) == 2 and "p1" in planner_calls[1]["prompt"]  # it sees what exists
    landed = [e.task_id for e in events if isinstance(e, ev.MergeLanded)]
    assert landed == ["p1", "p2"]  # the dependency merged first


async def test_a_turn_without_a_signal_is_resumed_with_a_nudge(tmp_path):
    project = make_project(tmp_path)
    project.configure({"roles": {**APPROVE, "worker": {
        "quiet": [{"write": {"q.txt": "q\n"}, "final": "I wrote q.txt but forgot to say so."}, FINISH],
        "-": [{"final": "__DONE__"}]}}}, workers=[{"model": "fake:m", "max_working_resumes": 2}])
    project.add_tasks(Task(id="quiet", summary="a forgetful agent"))

    result, _ = await run(project.root)

    assert result.ok, result.reason
    calls = [c for c in project.calls() if c["task_id"] == "quiet" and c["role"] == "worker"]
    assert len(calls) == 2
    assert calls[1]["env"]["OOMPA_RESUME"] == "1" and "ended without a signal" in calls[1]["prompt"]


async def test_signals_count_only_alone_on_their_line(tmp_path):
    project = make_project(tmp_path)
    project.configure({"roles": {**APPROVE, "worker": {
        "quote": [{"final": "The prompt says to print COMPLETE_AND_READY_FOR_MERGE when done."}],
        "-": [{"final": "__DONE__"}]}}}, workers=[{"model": "fake:m", "max_working_resumes": 0}], task_attempts=1)
    project.add_tasks(Task(id="quote", summary="quotes its instructions"))

    result, _ = await run(project.root)

    assert not result.ok
    assert "no signal" in project.task("failed", "quote").failure


async def test_failing_checks_go_back_to_the_worker_before_review(tmp_path):
    project = make_project(tmp_path)
    check = [sys.executable, "-c", "import pathlib,sys; sys.exit('FIXME' in pathlib.Path('c.txt').read_text())"]
    project.configure({"roles": {**APPROVE, "worker": {
        "c": [{"write": {"c.txt": "FIXME\n"}, "final": "COMPLETE_AND_READY_FOR_MERGE"},
              {"write": {"c.txt": "fixed\n"}, "final": "COMPLETE_AND_READY_FOR_MERGE"}],
        "-": [{"final": "__DONE__"}]}}}, workers=[{"model": "fake:m"}], merge={"checks": [check]})
    project.add_tasks(Task(id="c", summary="passes the checks eventually"))

    result, events = await run(project.root)

    assert result.ok, result.reason
    stages = [(e.stage, e.ok) for e in events if isinstance(e, ev.ChecksRan)]
    assert stages == [("worktree", False), ("worktree", True), ("merged", True)]
    reviews = [c for c in project.calls() if c["role"] == "reviewer"]
    assert len(reviews) == 1 and "passed" in reviews[0]["prompt"]
    assert "checks failed" in [c for c in project.calls() if c["role"] == "worker"][1]["prompt"]


async def test_new_worktrees_get_setup_and_copied_files(tmp_path):
    project = make_project(tmp_path)
    (project.root / ".gitignore").write_text(".env\nbuild/\n", encoding="utf-8")
    git(project.root, "add", ".gitignore")
    git(project.root, "commit", "-q", "-m", "ignore")
    (project.root / ".env").write_text("SECRET=1\n", encoding="utf-8")
    project.configure({"roles": {**APPROVE, "worker": {
        "*": [{"run": [[sys.executable, "-c", "import shutil; shutil.copy('.env', 'env-seen.txt')"]], **FINISH}],
        "-": [{"final": "__DONE__"}]}}},
        workers=[{"model": "fake:m", "iterations": 3}],
        worktree={"dir": str(tmp_path / "worktrees"), "copy": [".env"],
                  "setup": [[sys.executable, "-c", "import os; os.makedirs('build', exist_ok=True); "
                                                   "open('build/setup-ran', 'a').write('x')"]]})
    project.add_tasks(Task(id="s1", summary="one"), Task(id="s2", summary="two"))

    result, events = await run(project.root)

    assert result.ok, result.reason
    assert git(project.root, "show", "main:env-seen.txt") == "SECRET=1"
    ready = [e.reused for e in events if isinstance(e, ev.WorktreeReady)]
    assert ready[0] is False and all(ready[1:])  # one worktree, reused for the next cycles
    assert "build/" not in git(project.root, "show", "--stat", "main")


async def test_a_git_failure_is_an_event_and_the_claim_is_returned(tmp_path):
    project = make_project(tmp_path)
    project.configure({"roles": {**APPROVE, "worker": {"*": [FINISH], "-": [{"final": "__DONE__"}]}}},
                      workers=[{"model": "fake:m", "iterations": 2}],
                      worktree={"dir": str(tmp_path / "worktrees")})
    squatter = tmp_path / "worktrees" / "w1"
    squatter.mkdir(parents=True)
    (squatter / "not-a-worktree.txt").write_text("someone else's folder\n", encoding="utf-8")
    project.add_tasks(Task(id="g", summary="cannot get a worktree"))

    result, events = await run(project.root)

    assert not result.ok and "pending" in result.reason
    errors = [e.message for e in events if isinstance(e, ev.LogMessage) and e.level == "error"]
    assert errors and "internal error" in errors[0] and "g:" in errors[0]
    assert project.task_files("pending") == ["g"] and project.task_files("current") == []
    assert (squatter / "not-a-worktree.txt").exists()


async def test_a_rate_limited_reviewer_is_retried_after_a_backoff(tmp_path, monkeypatch):
    monkeypatch.setenv("OOMPA_RATE_LIMIT_BACKOFF_S", "0.2")
    project = make_project(tmp_path)
    project.configure({"roles": {
        "reviewer": {"*": [{"stderr": "error: 429 Too Many Requests (rate limit)", "exit": 1},
                           {"final": "VERDICT: APPROVED"}]},
        "worker": {"*": [FINISH], "-": [{"final": "__DONE__"}]}}}, workers=[{"model": "fake:m"}])
    project.add_tasks(Task(id="rl", summary="reviewed after a rate limit"))

    result, events = await run(project.root)

    assert result.ok, result.reason
    reviewer_runs = [e for e in events if isinstance(e, ev.AgentFinished) and e.role == "reviewer"]
    assert [e.error_kind for e in reviewer_runs] == ["rate_limit", None]
    assert any(isinstance(e, ev.AgentActivity) and "rate limited" in e.text for e in events)
    verdicts = [e for e in events if isinstance(e, ev.ReviewVerdictGiven)]
    assert [v.approved for v in verdicts] == [True]


async def test_a_merged_tree_that_fails_the_checks_goes_back_to_its_worker_with_the_output(tmp_path):
    project = make_project(tmp_path)
    # Each change passes alone; together they fail until one of them is "fixed" (what a
    # rename on one side and a use of the old name on the other does to a real suite).
    check = [sys.executable, "-c", (
        "import pathlib,sys; a, b = pathlib.Path('a.txt'), pathlib.Path('b.txt')\n"
        "both = a.exists() and b.exists() and 'fixed' not in a.read_text() + b.read_text()\n"
        "print('a.txt and b.txt disagree' if both else 'ok'); sys.exit(1 if both else 0)")]
    turns = [{"write": {"{task_id}.txt": "first\n"}, "sleep": 0.3, "final": "COMPLETE_AND_READY_FOR_MERGE"},
             {"write": {"{task_id}.txt": "fixed\n"}, "final": "COMPLETE_AND_READY_FOR_MERGE"}]
    project.configure({"roles": {**APPROVE, "worker": {"a": turns, "b": turns, "-": [{"final": "__DONE__"}]}}},
                      workers=[{"model": "fake:m", "count": 2}], merge={"checks": [check]})
    project.add_tasks(Task(id="a", summary="writes a.txt"), Task(id="b", summary="writes b.txt"))

    result, events = await run(project.root)

    assert result.ok, result.reason
    assert project.task_files("complete") == ["a", "b"]
    fixes = [c for c in project.calls() if c["role"] == "worker" and "fails the checks" in c["prompt"]]
    assert len(fixes) == 1 and "a.txt and b.txt disagree" in fixes[0]["prompt"]
    assert "now merged into your worktree" in fixes[0]["prompt"]
    fixed = project.task("complete", fixes[0]["task_id"])
    assert len(fixed.attempts) == 1 and fixed.attempts[0].outcome == "merged"  # fixed by its worker, not requeued
    assert any("fails the checks" in f for f in fixed.attempts[0].feedback)
    assert "fixed" in git(project.root, "show", f"main:{fixed.id}.txt")
