"""Tickets as the original oompa and agents write them, and a swarm that skips nothing silently:
real git repositories, the scripted fake agent, whole swarms in-process and through the CLI."""

from __future__ import annotations

import json

import anyio
import pytest

from oompa_lsp.core import events as ev
from oompa_lsp.core.tasks import Task

from .swarm_fixtures import git, make_project
from .test_cli import oompa
from .test_swarm import APPROVE, of_type, run_swarm

pytestmark = pytest.mark.anyio
QUICK_WORK = {"write": {"{task_id}.txt": "work of {task_id}\n"}, "final": "COMPLETE_AND_READY_FOR_MERGE"}
ONE_WORKER = [{"model": "fake:m", "count": 1, "iterations": 5}]


def write_ticket(root, state: str, name: str, ticket: dict | str) -> None:
    folder = root / "tasks" / state
    folder.mkdir(parents=True, exist_ok=True)
    (folder / name).write_text(ticket if isinstance(ticket, str) else json.dumps(ticket, indent=2), encoding="utf-8")


def read_ticket(root, state: str, name: str) -> dict:
    return json.loads((root / "tasks" / state / name).read_text(encoding="utf-8"))


async def test_an_original_oompa_ticket_is_claimed_merged_and_completed_with_its_own_fields_kept(tmp_path):
    project = make_project(tmp_path)
    project.configure({"roles": {**APPROVE, "worker": {"*": [QUICK_WORK], "-": [{"final": "__DONE__"}]}}},
                      workers=ONE_WORKER)
    ticket = {"id": "login", "summary": "Add a login form", "description": "A form with two fields.",
              "acceptance": ["the form submits"], "completed_by": None, "difficulty": "medium",
              "target_files": ["login.txt"], "notes": {"written_by": "a planner agent", "tries": [1]}}
    write_ticket(project.root, "pending", "login.json", ticket)

    result, _, _ = await run_swarm(project.root)

    assert result.ok, result.reason
    assert git(project.root, "show", "main:login.txt") == "work of login"
    done = read_ticket(project.root, "complete", "login.json")
    assert list(done)[:len(ticket)] == list(ticket)  # the ticket's own order; the engine's keys come after
    assert {k: done[k] for k in ("difficulty", "notes", "target_files", "description")} == \
        {k: ticket[k] for k in ("difficulty", "notes", "target_files", "description")}
    assert done["completed_by"] == "w1"
    assert done["merged_commit"] == git(project.root, "rev-parse", "main")
    worker_prompt = next(c for c in project.calls() if c["role"] == "worker" and c["task_id"] == "login")["prompt"]
    assert "the form submits" in worker_prompt


async def test_tickets_whose_target_files_overlap_never_run_at_once(tmp_path):
    project = make_project(tmp_path)
    slow_edit = {"append": {"shared.txt": "a line from {task_id}"}, "sleep": 0.5, "final": "COMPLETE_AND_READY_FOR_MERGE"}
    project.configure({"roles": {**APPROVE, "worker": {"*": [slow_edit], "-": [{"final": "__DONE__"}]}}},
                      workers=[{"model": "fake:m", "count": 2, "iterations": 5}])
    write_ticket(project.root, "pending", "first.json", {"id": "first", "summary": "edit shared", "target_files": ["shared.txt"]})
    write_ticket(project.root, "pending", "second.json", {"id": "second", "summary": "edit shared too",
                                                          "files": [], "target_files": ["shared.txt"]})

    result, events, _ = await run_swarm(project.root)

    assert result.ok, result.reason
    order = [(type(e).__name__, e.task_id) for e in events if isinstance(e, (ev.TaskClaimed, ev.TaskCompleted))]
    assert order == [("TaskClaimed", "first"), ("TaskCompleted", "first"),
                     ("TaskClaimed", "second"), ("TaskCompleted", "second")]
    assert of_type(events, ev.MergeConflicted) == []
    shared = git(project.root, "show", "main:shared.txt")
    assert "a line from first" in shared and "a line from second" in shared


async def test_a_ticket_whose_id_differs_from_its_file_name_runs_under_the_file_name_with_one_warning(tmp_path):
    project = make_project(tmp_path)
    project.configure({"roles": {**APPROVE, "worker": {"by-name": [QUICK_WORK], "-": [{"final": "__DONE__"}]}}},
                      workers=ONE_WORKER)
    write_ticket(project.root, "pending", "by-name.json", {"id": "by-field", "summary": "named twice", "extra": 1})

    result, events, _ = await run_swarm(project.root)

    assert result.ok, result.reason
    assert project.task_files("complete") == ["by-name"]
    assert git(project.root, "show", "main:by-name.txt") == "work of by-name"
    assert [c["env"]["OOMPA_TASK_ID"] for c in project.calls() if c["role"] == "worker" and c["task_id"] != "-"] == ["by-name"]
    warnings = [e.message for e in of_type(events, ev.LogMessage) if "file name" in e.message]
    assert warnings == ["task by-name: id 'by-field' differs from the file name by-name.json: "
                        "the file name wins, this task is by-name"]
    done = read_ticket(project.root, "complete", "by-name.json")
    assert done["id"] == "by-field" and done["extra"] == 1  # the file's own id is kept as written


def test_a_swarm_beside_files_it_cannot_read_exits_non_zero_naming_them(tmp_path):
    project = make_project(tmp_path)
    project.configure({"roles": {**APPROVE, "worker": {"*": [QUICK_WORK], "-": [{"final": "__DONE__"}]}}},
                      workers=ONE_WORKER)
    project.add_tasks(Task(id="fine", summary="a task that works"))
    write_ticket(project.root, "pending", "broken.json", '{"id": "broken", "summary": ')
    write_ticket(project.root, ".", "loose.json", {"id": "loose", "summary": "in the wrong folder"})

    finished = oompa(project, "swarm", "--quiet")

    assert finished.returncode == 1, finished.stdout + finished.stderr
    last = finished.stdout.strip().splitlines()[-1]
    assert last.startswith("stopped: 2 task file(s) not read: ")
    assert "tasks/pending/broken.json (Input data was truncated)" in last
    assert "tasks/loose.json (not in a state folder: move it to tasks/pending/)" in last
    assert project.task_files("complete") == ["fine"]  # the readable task still ran
    listing = oompa(project, "tasks").stdout
    assert "INVALID" in listing and "broken.json" in listing
    assert f"NOT READ {project.root / 'tasks' / 'loose.json'}: not in a state folder" in listing


def test_a_tasks_folder_holding_only_misplaced_files_is_not_a_success(tmp_path):
    project = make_project(tmp_path)
    project.configure({"roles": {"worker": {"-": [{"final": "__DONE__"}]}}}, workers=ONE_WORKER)
    for n in range(7):
        write_ticket(project.root, "todo", f"t{n}.json", {"id": f"t{n}", "summary": "in a folder oompa does not read"})

    finished = oompa(project, "swarm", "--quiet")

    assert finished.returncode == 1
    last = finished.stdout.strip().splitlines()[-1]
    assert "all 0 task(s) complete" not in last
    assert last == ("stopped: 7 task file(s) not read: "
                    + ", ".join(f"tasks/todo/t{n}.json (not in a state folder: move it to tasks/pending/)" for n in range(5))
                    + " and 2 more")


async def test_tasks_that_can_never_be_claimed_end_the_swarm_naming_each_and_why(tmp_path):
    project = make_project(tmp_path)
    project.configure({"roles": {**APPROVE, "worker": {"*": [QUICK_WORK], "-": [{"final": "__DONE__"}]}}},
                      workers=ONE_WORKER)
    project.add_tasks(Task(id="needs-ghost", summary="s", depends_on=["ghost"]),
                      Task(id="after-that", summary="s", depends_on=["needs-ghost"]),
                      Task(id="chicken", summary="s", depends_on=["egg"]),
                      Task(id="egg", summary="s", depends_on=["chicken"]),
                      Task(id="free", summary="s"))

    with anyio.fail_after(60):  # a chain or a cycle of blocked tasks must not keep the swarm waiting
        result, _, _ = await run_swarm(project.root)

    assert not result.ok
    assert result.reason == ("4 task(s) can never be claimed: after-that waits for needs-ghost (blocked too), "
                             "chicken waits for egg (blocked too), egg waits for chicken (blocked too), "
                             "needs-ghost waits for ghost (no such task)")
    assert project.task_files("complete") == ["free"]
