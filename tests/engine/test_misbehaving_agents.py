"""Agents that misbehave, in real swarms: they cannot fake a completion or lose work."""

from __future__ import annotations

import anyio
import psutil
import pytest

from oompa_lsp.core import events as ev
from oompa_lsp.core.tasks import Task

from .swarm_fixtures import git, make_project, run_swarm, until_seen

pytestmark = pytest.mark.anyio
APPROVE = {"reviewer": {"*": [{"final": "VERDICT: APPROVED"}]}}
DONE_WITHOUT_WORK = {"final": "All done.\nCOMPLETE_AND_READY_FOR_MERGE"}


def calls_for(project, role: str, task_id: str) -> list[dict]:
    return [c for c in project.calls() if c["role"] == role and c["task_id"] == task_id]


async def test_done_with_no_change_is_resumed_then_counted_as_no_change(tmp_path):
    project = make_project(tmp_path)
    project.configure({"roles": {**APPROVE, "worker": {"lazy": [DONE_WITHOUT_WORK], "-": [{"final": "__DONE__"}]}}},
                      workers=[{"model": "fake:m", "count": 1, "max_working_resumes": 1}], task_attempts=2)
    project.add_tasks(Task(id="lazy", summary="write lazy.txt"))

    result, events, _ = await run_swarm(project.root)

    assert not result.ok and "lazy" in result.reason
    calls = calls_for(project, "worker", "lazy")
    assert len(calls) == 4  # two attempts, each a turn and one resume
    assert "No change found in your worktree" in calls[1]["prompt"]
    assert calls[1]["env"]["OOMPA_RESUME"] == "1"
    assert not [c for c in project.calls() if c["role"] == "reviewer"]  # an empty diff is never reviewed
    failed = project.task("failed", "lazy")
    assert failed.merged_commit is None and "no change" in failed.failure
    assert [a.feedback[-1].split(":")[0] for a in failed.attempts] == ["no change", "no change"]
    assert git(project.root, "log", "--oneline", "main").count("\n") == 0  # main never moved


async def test_an_agent_that_first_claims_done_and_then_does_the_work_lands_it(tmp_path):
    project = make_project(tmp_path)
    project.configure({"roles": {**APPROVE, "worker": {
        "late": [DONE_WITHOUT_WORK, {"write": {"late.txt": "done now\n"}, "final": "COMPLETE_AND_READY_FOR_MERGE"}],
        "-": [{"final": "__DONE__"}]}}}, workers=[{"model": "fake:m", "count": 1}])
    project.add_tasks(Task(id="late", summary="write late.txt"))

    result, events, _ = await run_swarm(project.root)

    assert result.ok, result.reason
    (review,) = calls_for(project, "reviewer", "late")
    assert "+done now" in review["prompt"]
    assert git(project.root, "show", "main:late.txt") == "done now"


async def test_a_task_that_allows_no_change_completes_and_says_so(tmp_path):
    project = make_project(tmp_path)
    project.configure({"roles": {**APPROVE, "worker": {"look": [DONE_WITHOUT_WORK], "-": [{"final": "__DONE__"}]}}},
                      workers=[{"model": "fake:m", "count": 1}])
    project.add_tasks(Task(id="look", summary="find out why the build is slow", no_change_ok=True))

    result, events, _ = await run_swarm(project.root)

    assert result.ok, result.reason
    assert len(calls_for(project, "worker", "look")) == 1
    assert not [c for c in project.calls() if c["role"] == "reviewer"]
    (completed,) = [e for e in events if isinstance(e, ev.TaskCompleted)]
    assert completed.commit == "" and "no change" in completed.note
    done = project.task("complete", "look")
    assert done.merged_commit is None and done.attempts[-1].outcome == "no change"


MOVE_MAIN_ITSELF = [["git", "add", "-A"], ["git", "commit", "-q", "-m", "agent: merged it myself"],
                    ["git", "update-ref", "refs/heads/main", "HEAD"]]


async def test_an_agent_that_moves_the_target_itself_is_caught_and_its_task_not_completed(tmp_path):
    project = make_project(tmp_path)
    project.configure({"roles": {**APPROVE, "worker": {
        "rogue": [{"write": {"rogue.txt": "unreviewed\n"}, "run": MOVE_MAIN_ITSELF, "sleep": 1.5,
                   "final": "COMPLETE_AND_READY_FOR_MERGE"}],
        "*": [{"sleep": 3, "write": {"{task_id}.txt": "reviewed\n"}, "final": "COMPLETE_AND_READY_FOR_MERGE"}],
        "-": [{"final": "__DONE__"}]}}}, workers=[{"model": "fake:m", "count": 2}])
    project.add_tasks(Task(id="rogue", summary="write rogue.txt", priority=1), Task(id="honest", summary="h"))

    result, events, _ = await run_swarm(project.root)

    (move,) = [e for e in events if isinstance(e, ev.TargetMovedOutsideQueue)]
    (claim,) = [e for e in events if isinstance(e, ev.TaskClaimed) and e.task_id == "rogue"]
    assert move.worker == claim.worker and move.task_id == "rogue"
    assert any("agent: merged it myself" in c for c in move.commits)
    assert move.checkout == "moved"  # the user's checkout followed, by git's own two-way merge
    assert not result.ok and "rogue" in result.reason
    failed = project.task("failed", "rogue")
    assert "outside the merge queue, unreviewed and unchecked" in failed.failure
    assert failed.merged_commit is None
    assert project.task_files("complete") == ["honest"]
    # The user's checkout is in step with main: nothing staged would undo the agent's commit.
    assert git(project.root, "status", "--porcelain").splitlines() == ["?? oompa.json"]
    assert (project.root / "rogue.txt").read_text(encoding="utf-8") == "unreviewed\n"


async def test_a_foreign_move_over_the_user_s_local_change_pauses_the_queue_until_it_is_safe(tmp_path):
    project = make_project(tmp_path)
    project.configure({"roles": {**APPROVE, "worker": {
        "rogue": [{"write": {"shared.txt": "agent's line\n"}, "run": MOVE_MAIN_ITSELF,
                   "final": "COMPLETE_AND_READY_FOR_MERGE"}],
        "later": [{"sleep": 2, "write": {"later.txt": "later\n"}, "final": "COMPLETE_AND_READY_FOR_MERGE"}],
        "-": [{"final": "__DONE__"}]}}}, workers=[{"model": "fake:m", "count": 2}])
    project.add_tasks(Task(id="rogue", summary="edit shared.txt", priority=1), Task(id="later", summary="l"))
    original = (project.root / "shared.txt").read_text(encoding="utf-8")
    (project.root / "shared.txt").write_text(original + "the user's unsaved idea\n", encoding="utf-8")

    async def user_reverts_when_paused(swarm, events):
        await until_seen(events, ev.MergePaused)
        (project.root / "shared.txt").write_text(original, encoding="utf-8")

    result, seen, _ = await run_swarm(project.root, alongside=user_reverts_when_paused)

    (move,) = [e for e in seen if isinstance(e, ev.TargetMovedOutsideQueue)]
    assert move.checkout.startswith("blocked") and "shared.txt" in move.checkout
    (paused,) = [e for e in seen if isinstance(e, ev.MergePaused)]
    assert "shared.txt" in paused.reason
    assert any(isinstance(e, ev.MergeResumed) for e in seen)
    assert project.task_files("complete") == ["later"]
    assert git(project.root, "status", "--porcelain").splitlines() == ["?? oompa.json"]
    assert (project.root / "shared.txt").read_text(encoding="utf-8") == "agent's line\n"


async def test_with_foreign_moves_pause_the_queue_waits_for_the_user(tmp_path):
    project = make_project(tmp_path)
    project.configure({"roles": {**APPROVE, "worker": {
        "rogue": [{"write": {"rogue.txt": "x\n"}, "run": MOVE_MAIN_ITSELF, "final": "COMPLETE_AND_READY_FOR_MERGE"}],
        "later": [{"sleep": 2, "write": {"later.txt": "later\n"}, "final": "COMPLETE_AND_READY_FOR_MERGE"}],
        "-": [{"final": "__DONE__"}]}}}, workers=[{"model": "fake:m", "count": 2}],
        merge={"foreign_moves": "pause"})
    project.add_tasks(Task(id="rogue", summary="r", priority=1), Task(id="later", summary="l"))

    async def user_resumes_when_paused(swarm, events):
        await until_seen(events, ev.MergePaused)
        await anyio.sleep(1)
        assert "later" not in git(project.root, "log", "--format=%s", "main")  # nothing landed meanwhile
        swarm.resume_queue()

    _, seen, _ = await run_swarm(project.root, alongside=user_resumes_when_paused)

    (paused,) = [e for e in seen if isinstance(e, ev.MergePaused)]
    assert "outside the queue" in paused.reason and "oompa resume" in paused.reason
    assert project.task_files("complete") == ["later"]
    assert "later" in git(project.root, "log", "--format=%s", "main")


async def test_a_write_into_the_user_s_checkout_is_reported_with_the_agent_s_id_and_left_alone(tmp_path):
    project = make_project(tmp_path)
    stray = project.root / "stray.txt"
    project.configure({"roles": {**APPROVE, "worker": {
        "wander": [{"write": {"wander.txt": "mine\n", str(stray): "written outside my worktree\n"},
                    "final": "COMPLETE_AND_READY_FOR_MERGE"}],
        "-": [{"final": "__DONE__"}]}}}, workers=[{"model": "fake:m", "count": 1}])
    project.add_tasks(Task(id="wander", summary="w"))

    result, events, _ = await run_swarm(project.root)

    assert result.ok, result.reason
    (seen,) = [e for e in events if isinstance(e, ev.OutsideWriteSeen)]
    assert seen.where == "your checkout" and seen.paths == ["stray.txt"]
    # w1's agent, and the reviewer of its change if it ran before the next look
    assert "w1" in seen.during and set(seen.during) <= {"w1", "reviewer:w1"} and "w1" in seen.describe()
    assert stray.read_text(encoding="utf-8") == "written outside my worktree\n"  # never reverted


async def test_concurrent_turns_share_the_blame_for_a_write_outside(tmp_path):
    project = make_project(tmp_path)
    stray = project.root / "stray.txt"
    project.configure({"roles": {**APPROVE, "worker": {
        "a": [{"sleep": 1.0, "write": {"a.txt": "a\n", str(stray): "who wrote this?\n"},
               "final": "COMPLETE_AND_READY_FOR_MERGE"}],
        "b": [{"sleep": 1.5, "write": {"b.txt": "b\n"}, "final": "COMPLETE_AND_READY_FOR_MERGE"}],
        "-": [{"final": "__DONE__"}]}}}, workers=[{"model": "fake:m", "count": 2}])
    project.add_tasks(Task(id="a", summary="a"), Task(id="b", summary="b"))

    result, events, _ = await run_swarm(project.root)

    assert result.ok, result.reason
    (seen,) = [e for e in events if isinstance(e, ev.OutsideWriteSeen)]  # said once, not once per turn
    assert {"w1", "w2"} <= set(seen.during) and seen.paths == ["stray.txt"]
    assert "during the turns of " in seen.describe() and "w1" in seen.describe() and "w2" in seen.describe()


async def test_an_agent_that_deletes_the_pending_tasks_loses_none_of_them(tmp_path):
    project = make_project(tmp_path)
    pending = project.root / "tasks" / "pending"
    wipe = [["python3", "-c", f"import glob, os; [os.remove(p) for p in glob.glob({str(pending)!r} + '/*.json')]"]]
    project.configure({"roles": {**APPROVE, "worker": {
        "cleaner": [{"run": wipe, "write": {"cleaner.txt": "tidied\n"}, "final": "COMPLETE_AND_READY_FOR_MERGE"}],
        "*": [{"write": {"{task_id}.txt": "done\n"}, "final": "COMPLETE_AND_READY_FOR_MERGE"}],
        "-": [{"final": "__DONE__"}]}}}, workers=[{"model": "fake:m", "count": 1}])
    project.add_tasks(Task(id="cleaner", summary="clean up", priority=9),
                      *(Task(id=f"t{n}", summary=f"task {n}") for n in range(1, 7)))

    result, events, _ = await run_swarm(project.root)

    assert result.ok, result.reason
    restored = [e for e in events if isinstance(e, ev.TaskFileRestored)]
    assert sorted(e.task_id for e in restored) == [f"t{n}" for n in range(1, 7)]
    assert all(e.why == "removed" and "w1" in e.by for e in restored)  # w1 (and its reviewer) ran meanwhile
    assert "6 task file(s) restored" in result.reason
    assert project.task_files("complete") == ["cleaner", *(f"t{n}" for n in range(1, 7))]
    for n in range(1, 7):
        assert git(project.root, "show", f"main:t{n}.txt") == "done"


async def test_a_claimed_task_file_rewritten_by_its_agent_gets_the_engine_s_content_back(tmp_path):
    project = make_project(tmp_path)
    current = project.root / "tasks" / "current" / "own.json"
    project.configure({"roles": {**APPROVE, "worker": {
        "own": [{"write": {str(current): '{"id": "own", "summary": "marked done by the agent", "status": "done"}\n',
                           "own.txt": "x\n"}, "sleep": 1.2, "final": "COMPLETE_AND_READY_FOR_MERGE"}],
        "*": [{"sleep": 0.3, "write": {"{task_id}.txt": "y\n"}, "final": "COMPLETE_AND_READY_FOR_MERGE"}],
        "-": [{"final": "__DONE__"}]}}}, workers=[{"model": "fake:m", "count": 2}])
    project.add_tasks(Task(id="own", summary="the real summary", priority=1),
                      *(Task(id=f"o{n}", summary=f"other {n}") for n in range(1, 4)))

    result, events, _ = await run_swarm(project.root)

    assert result.ok, result.reason
    assert any(isinstance(e, ev.TaskFileRestored) and e.task_id == "own" and e.why == "rewritten" for e in events)
    done = project.task("complete", "own")
    assert done.summary == "the real summary" and done.merged_commit


async def test_a_declared_service_outlives_the_turn_for_the_checks_and_is_stopped_after_them(tmp_path):
    import os
    import sys
    project = make_project(tmp_path)
    daemons = tmp_path / "script.json.daemons"
    alive = ("import os, sys\npid = int(open(sys.argv[1]).read().split()[-1])\n"
             "try:\n    os.kill(pid, 0)\nexcept OSError:\n    sys.exit('the service is gone')\n")
    project.configure({"roles": {**APPROVE, "worker": {
        "serve": [{"daemon": 60, "write": {"serve.txt": "x\n"}, "final": "COMPLETE_AND_READY_FOR_MERGE"}],
        "-": [{"final": "__DONE__"}]}}}, workers=[{"model": "fake:m", "count": 1}],
        worktree={"dir": str(tmp_path / "worktrees"), "services": [os.path.basename(sys.executable)]},
        merge={"checks": [[sys.executable, "-c", alive, str(daemons)]]})
    project.add_tasks(Task(id="serve", summary="needs its dev server for the checks"))

    result, events, _ = await run_swarm(project.root)

    assert result.ok, result.reason
    (worktree_checks,) = [e for e in events if isinstance(e, ev.ChecksRan) and e.stage == "worktree"]
    assert worktree_checks.ok  # the service was still running for them
    pid = int(daemons.read_text().split()[-1])
    stopped = [e for e in events if isinstance(e, ev.AgentLeftoversStopped)]
    assert [p.pid for e in stopped for p in e.processes] == [pid]
    assert events.index(stopped[0]) > events.index(worktree_checks)
    assert not psutil.pid_exists(pid) or psutil.Process(pid).status() == psutil.STATUS_ZOMBIE
