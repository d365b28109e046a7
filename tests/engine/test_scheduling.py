"""Scheduling keeps tasks whose paths overlap apart, so they never meet in a merge conflict;
tasks that declare nothing, or declare paths apart, run side by side."""

from __future__ import annotations

from types import SimpleNamespace

import anyio
import pytest

from oompa_lsp.adapters.task_store import TaskStore
from oompa_lsp.core import events as ev
from oompa_lsp.core.snapshot import fold
from oompa_lsp.core.tasks import Task
from oompa_lsp.engine.board import TaskBoard
from oompa_lsp.engine.context import Wakeup

from .swarm_fixtures import make_project, run_swarm

pytestmark = [pytest.mark.anyio, pytest.mark.timeout(120)]

APPROVE = {"reviewer": {"*": [{"final": "VERDICT: APPROVED"}]}}


def worker_script(step: dict) -> dict:
    return {"roles": {**APPROVE, "worker": {"*": [{**step, "final": "COMPLETE_AND_READY_FOR_MERGE"}],
                                            "-": [{"final": "__DONE__"}]}}}


def spans(events: list) -> dict[str, tuple[int, int]]:
    """Each task's time in flight, as positions in the event list: claimed to landed."""
    start = {e.task_id: i for i, e in enumerate(events) if isinstance(e, ev.TaskClaimed)}
    end = {e.task_id: i for i, e in enumerate(events) if isinstance(e, ev.TaskCompleted)}
    return {task_id: (start[task_id], end[task_id]) for task_id in start}


def ran_together(events: list) -> bool:
    ordered = sorted(spans(events).values())
    return any(later[0] < earlier[1] for earlier, later in zip(ordered, ordered[1:]))


async def test_tasks_on_one_file_run_one_after_another_and_never_conflict(tmp_path):
    project = make_project(tmp_path)
    # Each turn rewrites the whole file: any two run side by side would conflict.
    project.configure(worker_script({"write": {"notes.txt": "written by {task_id}\n"}, "sleep": 0.2}),
                      workers=[{"model": "fake:m", "count": 4, "iterations": 10}])
    declared = [{"files": ["notes.txt"]}, {"files": ["./notes.txt"]}, {"target_files": ["notes.txt"]},
                {"files": ["*.txt"]}]
    project.add_tasks(*(Task(id=f"n{i}", summary=f"note {i}", **names) for i, names in enumerate(declared)))

    result, events, _ = await run_swarm(project.root)

    assert result.ok, result.reason
    assert project.task_files("complete") == ["n0", "n1", "n2", "n3"]
    assert not [e for e in events if isinstance(e, ev.MergeConflicted)]
    assert not ran_together(events)
    reasons = [e.reason for e in events if isinstance(e, ev.TaskHeldBack) and e.reason]
    assert reasons and all(r.startswith("behind n") and r.endswith(("notes.txt", "*.txt")) for r in reasons)
    assert {t.id: t.waiting for t in fold(events).tasks.values() if t.waiting} == {}  # nothing waits once all landed


async def test_tasks_that_declare_nothing_or_paths_apart_run_side_by_side(tmp_path):
    project = make_project(tmp_path)
    project.configure(worker_script({"write": {"{task_id}/out.txt": "done\n"}, "sleep": 1.0}),
                      workers=[{"model": "fake:m", "count": 3, "iterations": 10}])
    project.add_tasks(Task(id="free1", summary="undeclared"), Task(id="free2", summary="undeclared"),
                      Task(id="apart", summary="its own folder", files=["apart/"]))

    result, events, _ = await run_swarm(project.root)

    assert result.ok, result.reason
    claims = [i for i, e in enumerate(events) if isinstance(e, ev.TaskClaimed)]
    first_landing = next(i for i, e in enumerate(events) if isinstance(e, ev.TaskCompleted))
    assert len(claims) == 3 and max(claims) < first_landing  # all three started before any landed
    assert not [e for e in events if isinstance(e, ev.TaskHeldBack) and e.reason]


async def test_a_task_holds_the_paths_it_changed_from_its_first_commit_on(tmp_path):
    store = TaskStore(tmp_path / "tasks")
    store.write_new(Task(id="api", summary="declares api.py", files=["api.py"]))
    store.write_new(Task(id="shared", summary="declares shared/", files=["shared/"]))
    said: list = []
    board = TaskBoard(SimpleNamespace(store=store, run_id="run", emit=said.append, wakeup=Wakeup(),
                                      recent_agents=list))
    never = anyio.Event()
    assert (await board.next_task("w1", never)).id == "api"
    board.hold("api", {"api.py", "shared/helpers.py"})  # what its first commit changed
    assert await board.next_task("w2", never, max_wait_s=0.3) is None
    assert [e.reason for e in said if isinstance(e, ev.TaskHeldBack)] == ["behind api on shared/helpers.py"]
    board.release("api")  # landed
    assert said[-1] == ev.TaskHeldBack(task_id="shared", reason="", at=said[-1].at)
    assert (await board.next_task("w2", never)).id == "shared"
