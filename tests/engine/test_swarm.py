"""Whole swarms of scripted agents on real git repositories, in-process."""

from __future__ import annotations

import anyio
import psutil
import pytest

from oompa_lsp.console import describe
from oompa_lsp.core import events as ev
from oompa_lsp.core.tasks import Task
from oompa_lsp.engine.swarm import Swarm

from .swarm_fixtures import git, make_project, run_swarm, until_seen

pytestmark = pytest.mark.anyio
APPROVE = {"reviewer": {"*": [{"final": "Looks right.\nVERDICT: APPROVED"}]}}


def of_type(events, kind):
    return [e for e in events if isinstance(e, kind)]


async def test_three_workers_six_tasks_with_a_conflict(tmp_path):
    project = make_project(tmp_path)
    script = {"roles": {
        **APPROVE,
        "worker": {
            "edit-a": [{"write": {"shared.txt": "first line from A\nsecond line\n"}, "sleep": 0.3,
                        "final": "done\nCOMPLETE_AND_READY_FOR_MERGE"}],
            "edit-b": [{"write": {"shared.txt": "first line from B\nsecond line\n"}, "sleep": 0.3,
                        "final": "done\nCOMPLETE_AND_READY_FOR_MERGE"}],
            "*": [{"write": {"{task_id}.txt": "work of {task_id}\n"}, "final": "COMPLETE_AND_READY_FOR_MERGE"}],
            "-": [{"final": "__DONE__"}]},
        "resolver": {"*": [{"write": {"shared.txt": "first line from A\nfirst line from B\nsecond line\n"},
                            "final": "resolved\nCOMPLETE_AND_READY_FOR_MERGE"}]}}}
    project.configure(script)
    project.add_tasks(*(Task(id=f"t{n}", summary=f"task {n}") for n in range(1, 5)),
                      Task(id="edit-a", summary="A edits line 1", priority=5),
                      Task(id="edit-b", summary="B edits line 1", priority=5))
    (project.root / "notes.txt").write_text("the user's uncommitted work\n", encoding="utf-8")

    result, events, _ = await run_swarm(project.root)

    assert result.ok, result.reason
    assert project.task_files("complete") == sorted(["t1", "t2", "t3", "t4", "edit-a", "edit-b"])
    assert project.task_files("pending") == project.task_files("current") == []
    shared = git(project.root, "show", "main:shared.txt")
    assert "from A" in shared and "from B" in shared
    for n in range(1, 5):
        assert git(project.root, "show", f"main:t{n}.txt") == f"work of t{n}"
    assert len(of_type(events, ev.MergeConflicted)) >= 1
    assert len(of_type(events, ev.MergeLanded)) == 6
    assert [b for b in project.branches() if not b.startswith("refs/oompa/parked/")] == ["refs/heads/main"]
    assert git(project.root, "worktree", "list").count("\n") == 0  # only the main checkout
    assert (project.root / "notes.txt").read_text(encoding="utf-8") == "the user's uncommitted work\n"
    assert git(project.root, "status", "--porcelain").splitlines() == ["?? notes.txt", "?? oompa.json"]


async def test_changes_requested_then_fixed_in_the_resumed_session(tmp_path):
    project = make_project(tmp_path)
    script = {"roles": {
        "reviewer": {"*": [{"final": "VERDICT: CHANGES_REQUESTED\n1. add a newline at the end"},
                           {"final": "VERDICT: APPROVED"}]},
        "worker": {"fix": [{"write": {"fix.txt": "no newline"}, "final": "COMPLETE_AND_READY_FOR_MERGE"},
                           {"write": {"fix.txt": "with newline\n"}, "final": "COMPLETE_AND_READY_FOR_MERGE"}],
                   "-": [{"final": "__DONE__"}]}}}
    project.configure(script, workers=[{"model": "fake:m", "count": 1, "iterations": 3}])
    project.add_tasks(Task(id="fix", summary="write fix.txt", acceptance=["fix.txt ends with a newline"]))

    result, events, _ = await run_swarm(project.root)

    assert result.ok, result.reason
    worker_calls = [c for c in project.calls() if c["role"] == "worker" and c["task_id"] == "fix"]
    assert len(worker_calls) == 2
    first, second = worker_calls
    assert second["env"]["OOMPA_RESUME"] == "1"
    assert second["env"]["OOMPA_SESSION_ID"] == first["env"]["OOMPA_SESSION_ID"]
    assert "add a newline at the end" in second["prompt"]
    review = [c for c in project.calls() if c["role"] == "reviewer"][0]
    assert "fix.txt ends with a newline" in review["prompt"] and "+no newline" in review["prompt"]
    assert git(project.root, "show", "main:fix.txt") == "with newline"
    done = project.task("complete", "fix")
    assert done.attempts[0].verdicts == ["CHANGES_REQUESTED", "APPROVED"]
    assert "add a newline" in done.attempts[0].feedback[0]


async def test_command_harness_contract(tmp_path):
    project = make_project(tmp_path)
    project.configure({"roles": {**APPROVE, "worker": {"*": [{"write": {"x.txt": "x\n"},
                                                              "final": "COMPLETE_AND_READY_FOR_MERGE"}],
                                                       "-": [{"final": "__DONE__"}]}}},
                      workers=[{"model": "fake:some-model", "count": 1}])
    project.add_tasks(Task(id="one", summary="the one task"))

    result, _, _ = await run_swarm(project.root)

    assert result.ok, result.reason
    call = next(c for c in project.calls() if c["task_id"] == "one" and c["role"] == "worker")
    env = call["env"]
    assert env["OOMPA_MODEL"] == "some-model" and env["OOMPA_ROLE"] == "worker"
    assert env["OOMPA_TASK_ID"] == "one" and env["OOMPA_TARGET"] == "main"
    assert env["OOMPA_TASKS_DIR"] == str(project.root / "tasks")
    assert env["OOMPA_WORKTREE"] == call["cwd"] and str(project.root) not in call["cwd"]
    assert "the one task" in call["prompt"] and str(project.root / "tasks" / "pending") in call["prompt"]


async def test_hung_agent_is_timed_out_and_the_task_fails_with_the_reason(tmp_path):
    project = make_project(tmp_path)
    project.configure({"roles": {"worker": {"*": [{"spawn_sleeper": 60, "sleep": 60}], "-": [{"final": "__DONE__"}]}}},
                      workers=[{"model": "fake:m", "count": 1, "timeout_s": 1}], task_attempts=1)
    project.add_tasks(Task(id="hang", summary="never finishes"))

    with anyio.fail_after(30):
        result, events, _ = await run_swarm(project.root)

    assert not result.ok and "hang" in result.reason
    finished = [e for e in of_type(events, ev.AgentFinished) if e.task_id == "hang"]
    assert finished and finished[0].error_kind == "timeout"
    assert project.task_files("failed") == ["hang"]
    assert "timeout" in project.task("failed", "hang").failure


async def test_a_setsid_daemon_started_by_an_agent_is_gone_when_its_turn_ends(tmp_path):
    project = make_project(tmp_path)
    project.configure({"roles": {
        "worker": {"dev": [{"write": {"dev.txt": "served\n"}, "daemon": 60, "final": "COMPLETE_AND_READY_FOR_MERGE"}],
                   "-": [{"final": "__DONE__"}]},
        "reviewer": {"*": [{"daemon": 60, "final": "VERDICT: APPROVED"}]}}},
        workers=[{"model": "fake:m", "count": 1}])
    project.add_tasks(Task(id="dev", summary="starts a dev server and leaves it running"))

    result, events, _ = await run_swarm(project.root)

    assert result.ok, result.reason
    worker_daemon, reviewer_daemon = map(int, project.script.with_name("script.json.daemons").read_text().split())
    for pid in (worker_daemon, reviewer_daemon):
        assert not psutil.pid_exists(pid) or psutil.Process(pid).status() == psutil.STATUS_ZOMBIE
    stopped = of_type(events, ev.AgentLeftoversStopped)
    assert [(e.worker, e.role, e.task_id, [p.pid for p in e.processes]) for e in stopped] == [
        ("w1", "worker", "dev", [worker_daemon]), ("reviewer:w1", "reviewer", "dev", [reviewer_daemon])]
    # named as the turn ended, before the work went on to review
    assert events.index(stopped[0]) < events.index(of_type(events, ev.ReviewRequested)[0])
    assert "time.sleep(60" in describe(stopped[0])


async def test_human_review_waits_for_approval(tmp_path):
    project = make_project(tmp_path)
    project.configure({"roles": {"worker": {"*": [{"write": {"h.txt": "h\n"}, "final": "COMPLETE_AND_READY_FOR_MERGE"}],
                                            "-": [{"final": "__DONE__"}]}}},
                      workers=[{"model": "fake:m", "count": 1}], review={"mode": "human"})
    project.add_tasks(Task(id="h", summary="needs a human"))
    swarm = Swarm.open(project.root)

    async def approve_when_asked():
        while not swarm.snapshot.reviews:
            await anyio.sleep(0.05)
        review_id = next(iter(swarm.snapshot.reviews))
        assert [f.path for f in swarm.review_diff(review_id).files] == ["h.txt"]
        assert "h" not in project.log()
        swarm.approve(review_id)

    with anyio.fail_after(60):
        async with anyio.create_task_group() as group:
            group.start_soon(approve_when_asked)
            result = await swarm.run()
    assert result.ok, result.reason
    assert git(project.root, "show", "main:h.txt") == "h"


async def test_merge_pauses_on_the_users_local_change_and_resumes(tmp_path):
    project = make_project(tmp_path)
    project.configure({"roles": {**APPROVE, "worker": {"*": [{"write": {"shared.txt": "agent's version\n"},
                                                              "final": "COMPLETE_AND_READY_FOR_MERGE"}],
                                                       "-": [{"final": "__DONE__"}]}}},
                      workers=[{"model": "fake:m", "count": 1}])
    project.add_tasks(Task(id="touch-shared", summary="rewrite shared.txt"))
    (project.root / "shared.txt").write_text("the user's edit\n", encoding="utf-8")
    swarm = Swarm.open(project.root)

    async def user_commits_when_paused():
        while not swarm.snapshot.paused_reason:
            await anyio.sleep(0.05)
        assert "shared.txt" in swarm.snapshot.paused_reason
        assert (project.root / "shared.txt").read_text() == "the user's edit\n"
        git(project.root, "checkout", "--", "shared.txt")  # the user gives up their edit

    with anyio.fail_after(60):
        async with anyio.create_task_group() as group:
            group.start_soon(user_commits_when_paused)
            result = await swarm.run()
    assert result.ok, result.reason
    assert (project.root / "shared.txt").read_text() == "agent's version\n"
    assert swarm.snapshot.paused_reason == ""


async def test_rejected_work_is_parked_not_deleted(tmp_path):
    project = make_project(tmp_path)
    project.configure({"roles": {"reviewer": {"*": [{"final": "VERDICT: CHANGES_REQUESTED\n1. no"}]},
                                 "worker": {"*": [{"append": {"p.txt": "try {call}"}, "final": "COMPLETE_AND_READY_FOR_MERGE"}],
                                            "-": [{"final": "__DONE__"}]}}},
                      workers=[{"model": "fake:m", "count": 1, "iterations": 5}], review={"max_attempts": 2},
                      task_attempts=2)
    project.add_tasks(Task(id="p", summary="never approved"))

    result, events, _ = await run_swarm(project.root)

    assert not result.ok and "failed" in result.reason
    parked = [b for b in project.branches() if b.startswith("refs/oompa/parked/p/")]
    assert len(parked) == 2
    task = project.task("failed", "p")
    assert [a.outcome for a in task.attempts] == ["parked", "parked"]
    assert "p.txt" in git(project.root, "show", "--stat", parked[0])


async def test_the_swarm_still_runs_gits_housekeeping_for_its_commits(tmp_path):
    """Worker commits skip git's per-commit auto maintenance; the engine runs it itself, so a
    repository that asks for its loose objects to be packed gets them packed."""
    project = make_project(tmp_path)
    git(project.root, "config", "maintenance.gc.enabled", "false")
    git(project.root, "config", "maintenance.loose-objects.enabled", "true")
    git(project.root, "config", "maintenance.loose-objects.auto", "1")
    project.configure({"roles": {**APPROVE, "worker": {
        "*": [{"write": {"{task_id}.txt": "work of {task_id}\n"}, "final": "COMPLETE_AND_READY_FOR_MERGE"}],
        "-": [{"final": "__DONE__"}]}}})
    project.add_tasks(*(Task(id=f"t{n}", summary=f"task {n}") for n in range(1, 4)))
    assert "packs: 0" in git(project.root, "count-objects", "-v")

    result, _, _ = await run_swarm(project.root)

    assert result.ok, result.reason
    packs = int(git(project.root, "count-objects", "-v").split("packs: ")[1].split()[0])
    assert packs >= 1
    assert git(project.root, "fsck", "--no-progress", "--connectivity-only") == ""


async def test_worktrees_kept_inside_the_checkout_stay_out_of_its_git_status(tmp_path):
    project = make_project(tmp_path)
    project.configure({"roles": {**APPROVE, "worker": {
        "*": [{"write": {"{task_id}.txt": "work\n"}, "final": "COMPLETE_AND_READY_FOR_MERGE"}],
        "-": [{"final": "__DONE__"}]}}}, worktree={"dir": ".worktrees"},
        workers=[{"model": "fake:m", "count": 2, "iterations": 3}])
    project.add_tasks(Task(id="a", summary="a"), Task(id="b", summary="b"))
    seen_during_run: list[str] = []

    def on_event(event) -> None:
        if isinstance(event, ev.ReviewRequested):  # the worktrees exist now
            seen_during_run.append(git(project.root, "status", "--porcelain"))

    swarm = Swarm.open(project.root)
    swarm.subscribe(on_event)
    with anyio.fail_after(60):
        result = await swarm.run()

    assert result.ok, result.reason
    assert seen_during_run and all(".worktrees" not in status for status in seen_during_run)
    assert "/.worktrees/" in (project.root / ".git" / "info" / "exclude").read_text(encoding="utf-8")
    assert ".gitignore" not in git(project.root, "status", "--porcelain")


async def test_a_worker_that_stops_after_a_landing_leaves_its_worktree_detached_not_empty(tmp_path):
    """The landing deletes the task's branch with the target's move; a worktree kept at the end
    (the run did not finish) points at the commit its files are, not at the deleted branch."""
    project = make_project(tmp_path)
    project.configure({"roles": {**APPROVE, "executor": {
        "good": [{"write": {"good.txt": "good\n"}, "final": "COMPLETE_AND_READY_FOR_MERGE"}],
        "bad": [{"stderr": "cannot do it", "exit": 3}]}}},
        workers=[{"model": "fake:m", "role": "executor", "count": 2, "iterations": 5, "timeout_s": 30}],
        task_attempts=1)
    project.add_tasks(Task(id="good", summary="lands"), Task(id="bad", summary="fails"))

    result, events, _ = await run_swarm(project.root)

    assert not result.ok and project.task_files("complete") == ["good"] and project.task_files("failed") == ["bad"]
    assert [b for b in project.branches() if b.startswith("refs/heads/")] == ["refs/heads/main"]
    landed = of_type(events, ev.MergeLanded)[0]
    kept = [line.split()[1] for line in git(project.root, "worktree", "list", "--porcelain").splitlines()
            if line.startswith("worktree ")][1:]
    assert len(kept) == 2
    heads = {git(project.root / ".." / path, "rev-parse", "HEAD") for path in kept}
    assert git(project.root, "rev-parse", f"{landed.commit}^2") in heads  # the landed work, detached
    for path in kept:
        assert git(project.root / ".." / path, "status", "--porcelain") == ""


async def test_an_attempt_the_swarm_stopped_under_is_not_held_against_the_task(tmp_path):
    project = make_project(tmp_path)
    reject = {"reviewer": {"*": [{"final": "VERDICT: CHANGES_REQUESTED\n1. no"}]}}
    slow = {"worker": {"*": [{"sleep": 30, "final": "COMPLETE_AND_READY_FOR_MERGE"}], "-": [{"final": "__DONE__"}]}}
    project.configure({"roles": {**reject, **slow}}, workers=[{"model": "fake:m", "count": 1}],
                      review={"max_attempts": 1}, task_attempts=2)
    project.add_tasks(Task(id="s", summary="stopped once, then rejected twice"))

    async def stop_once_working(swarm, seen):
        await until_seen(seen, ev.AgentStarted)
        swarm.stop("stopped by the user")

    await run_swarm(project.root, alongside=stop_once_working)
    assert [a.outcome for a in project.task("pending", "s").attempts] == ["stopped"]

    quick = {"worker": {"*": [{"append": {"s.txt": "try"}, "final": "COMPLETE_AND_READY_FOR_MERGE"}],
                        "-": [{"final": "__DONE__"}]}}
    project.configure({"roles": {**reject, **quick}}, workers=[{"model": "fake:m", "count": 1}],
                      review={"max_attempts": 1}, task_attempts=2)
    result, _, _ = await run_swarm(project.root)

    assert not result.ok
    # two attempts of its own were spent before it failed: the stopped one did not count
    assert [a.outcome for a in project.task("failed", "s").attempts] == ["stopped", "parked", "parked"]
