"""Agents that misbehave, in real swarms: they cannot fake a completion or lose work."""

from __future__ import annotations

import anyio
import pytest

from oompa_lsp.core import events as ev
from oompa_lsp.core.tasks import Task
from oompa_lsp.engine.swarm import Swarm

from .swarm_fixtures import git, make_project

pytestmark = pytest.mark.anyio
APPROVE = {"reviewer": {"*": [{"final": "VERDICT: APPROVED"}]}}
DONE_WITHOUT_WORK = {"final": "All done.\nCOMPLETE_AND_READY_FOR_MERGE"}


async def run_swarm(root, timeout: float = 60):
    swarm = Swarm.open(root)
    seen: list = []
    swarm.subscribe(seen.append)
    with anyio.fail_after(timeout):
        result = await swarm.run()
    return result, seen


def calls_for(project, role: str, task_id: str) -> list[dict]:
    return [c for c in project.calls() if c["role"] == role and c["task_id"] == task_id]


async def test_done_with_no_change_is_resumed_then_counted_as_no_change(tmp_path):
    project = make_project(tmp_path)
    project.configure({"roles": {**APPROVE, "worker": {"lazy": [DONE_WITHOUT_WORK], "-": [{"final": "__DONE__"}]}}},
                      workers=[{"model": "fake:m", "count": 1, "max_working_resumes": 1}], task_attempts=2)
    project.add_tasks(Task(id="lazy", summary="write lazy.txt"))

    result, events = await run_swarm(project.root)

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

    result, events = await run_swarm(project.root)

    assert result.ok, result.reason
    (review,) = calls_for(project, "reviewer", "late")
    assert "+done now" in review["prompt"]
    assert git(project.root, "show", "main:late.txt") == "done now"


async def test_a_task_that_allows_no_change_completes_and_says_so(tmp_path):
    project = make_project(tmp_path)
    project.configure({"roles": {**APPROVE, "worker": {"look": [DONE_WITHOUT_WORK], "-": [{"final": "__DONE__"}]}}},
                      workers=[{"model": "fake:m", "count": 1}])
    project.add_tasks(Task(id="look", summary="find out why the build is slow", no_change_ok=True))

    result, events = await run_swarm(project.root)

    assert result.ok, result.reason
    assert len(calls_for(project, "worker", "look")) == 1
    assert not [c for c in project.calls() if c["role"] == "reviewer"]
    (completed,) = [e for e in events if isinstance(e, ev.TaskCompleted)]
    assert completed.commit == "" and "no change" in completed.note
    done = project.task("complete", "look")
    assert done.merged_commit is None and done.attempts[-1].outcome == "no change"
