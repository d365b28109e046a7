"""The original oompa's config keys drive a real swarm as they did there (scripted agents, real git)."""

from __future__ import annotations

import json
import sys

import pytest

from oompa_lsp.core import events as ev
from oompa_lsp.core.tasks import Task

from .swarm_fixtures import FAKE_AGENT, git, make_project, run_swarm

pytestmark = pytest.mark.anyio
WRITE_AND_FINISH = [{"write": {"{task_id}.txt": "work of {task_id}\n"}, "final": "COMPLETE_AND_READY_FOR_MERGE"}]


def write_config(project, script: dict, config: dict) -> None:
    """`config` as a user coming from the original writes it, plus the fake agent's harness."""
    project.script.write_text(json.dumps(script), encoding="utf-8")
    config = {**config, "worktree": {"dir": str(project.root.parent / "worktrees")},
              "harnesses": {"fake": {"command": [sys.executable, str(FAKE_AGENT)],
                                     "env": {"FAKE_AGENT_SCRIPT": str(project.script)}}}}
    (project.root / "oompa.json").write_text(json.dumps(config, indent=2), encoding="utf-8")


async def run(root):
    result, events, _ = await run_swarm(root)
    return result, events


async def test_a_planner_runs_once_first_and_workers_that_cannot_plan_only_take_tasks(tmp_path):
    project = make_project(tmp_path)
    script = {"roles": {
        "planner": {"*": [{"tasks": [{"id": f"p{n}", "summary": f"planned {n}"} for n in range(1, 4)],
                           "final": "__DONE__"}]},
        "executor": {"*": WRITE_AND_FINISH},
        "reviewer": {"*": [{"final": "APPROVED"}]}}}
    write_config(project, script, {
        "planner": {"model": "fake:planner", "max_pending": 5},
        "workers": [{"model": "fake:exec", "max_cycle": 5, "count": 2, "can_plan": False,
                     "max_wait_for_tasks": 5, "max_working_resumes": 1}],
        "reviewer": {"model": "fake:reviewer"}})

    result, events = await run(project.root)

    assert result.ok, result.reason
    calls = project.calls()
    roles = [c["role"] for c in calls]
    assert roles.count("planner") == 1 and roles[0] == "planner"  # one planning run, before any worker
    assert "at most 5 new task" in calls[0]["prompt"]
    assert {c["task_id"] for c in calls if c["role"] == "executor"} == {"p1", "p2", "p3"}
    assert not any(c["role"] in ("planner", "worker") and c["env"].get("OOMPA_WORKTREE", "").endswith(("w1", "w2"))
                   for c in calls)  # the workers never planned
    assert project.task_files("complete") == ["p1", "p2", "p3"]
    for n in range(1, 4):
        assert git(project.root, "show", f"main:p{n}.txt") == f"work of p{n}"


async def test_the_planner_is_not_run_when_max_pending_tasks_wait(tmp_path):
    project = make_project(tmp_path)
    script = {"roles": {"planner": {"*": [{"tasks": [{"id": "extra", "summary": "x"}], "final": "__DONE__"}]},
                        "executor": {"*": WRITE_AND_FINISH}}}
    write_config(project, script, {"planner": {"model": "fake:planner", "max_pending": 2},
                                   "workers": [{"model": "fake:exec", "max_cycle": 3, "can_plan": False}]})
    project.add_tasks(Task(id="a", summary="a"), Task(id="b", summary="b"))

    result, events = await run(project.root)

    assert result.ok, result.reason
    assert not [c for c in project.calls() if c["role"] == "planner"]
    assert any("planner not run: 2 task(s) pending" in e.message for e in events if isinstance(e, ev.LogMessage))


async def test_no_reviewer_at_all_merges_without_review_and_says_so(tmp_path):
    project = make_project(tmp_path)
    write_config(project, {"roles": {"executor": {"*": WRITE_AND_FINISH}}},
                 {"workers": [{"model": "fake:exec", "max_cycle": 2, "can_plan": False}]})
    project.add_tasks(Task(id="solo", summary="no one reviews this"))

    result, events = await run(project.root)

    assert result.ok, result.reason
    assert not [c for c in project.calls() if c["role"] == "reviewer"]
    assert git(project.root, "show", "main:solo.txt") == "work of solo"
    warnings = [e.message for e in events if isinstance(e, ev.LogMessage) and e.level == "warning"]
    assert any("review is off" in w for w in warnings)


async def test_a_worker_s_own_reviewer_is_tried_before_the_generic_one(tmp_path):
    project = make_project(tmp_path)
    script = {"roles": {"executor": {"*": WRITE_AND_FINISH},
                        "reviewer": {"*": [{"final": "reviewed by {model}\nVERDICT: APPROVED"}]}}}
    write_config(project, script, {"workers": [{"model": "fake:exec", "max_cycle": 2, "can_plan": False,
                                                "reviewer": {"model": "fake:own-reviewer"}}],
                                   "review_models": ["fake:generic-reviewer"]})
    project.add_tasks(Task(id="r", summary="reviewed by the worker's own"))

    result, events = await run(project.root)

    assert result.ok, result.reason
    models = [c["env"]["OOMPA_MODEL"] for c in project.calls() if c["role"] == "reviewer"]
    assert models == ["own-reviewer"]


async def test_max_resumes_caps_the_agent_runs_of_one_cycle(tmp_path):
    project = make_project(tmp_path)
    script = {"roles": {"executor": {"*": [{"say": "still thinking"}]}}}
    write_config(project, script, {"workers": [{"model": "fake:exec", "max_cycle": 1, "can_plan": False,
                                                "max_working_resumes": 10, "max_resumes": 3}],
                                   "task_attempts": 1})
    project.add_tasks(Task(id="slow", summary="never signals"))

    result, events = await run(project.root)

    assert not result.ok
    assert len([c for c in project.calls() if c["role"] == "executor"]) == 3
    assert "max_resumes" in project.task("failed", "slow").failure


async def test_wait_between_pauses_before_every_cycle_after_the_first(tmp_path):
    project = make_project(tmp_path)
    write_config(project, {"roles": {"executor": {"*": WRITE_AND_FINISH}}},
                 {"workers": [{"model": "fake:exec", "max_cycle": 2, "can_plan": False, "wait_between": 1.5}]})
    project.add_tasks(Task(id="one", summary="1"), Task(id="two", summary="2"))

    result, events = await run(project.root)

    assert result.ok, result.reason
    waits = [e for e in events if isinstance(e, ev.WorkerStateChanged) and e.state == "waiting"]
    assert len(waits) == 1 and "wait_between" in waits[0].detail
    started = [e.at for e in events if isinstance(e, ev.AgentStarted)]
    assert len(started) == 2 and started[1] - started[0] >= 1.5


def _original_ticket(task_id: str, target: str) -> str:
    return json.dumps({"id": task_id, "summary": f"write {target}", "description": f"Create {target}.",
                       "acceptance": [f"{target} exists"], "completed_by": None, "difficulty": "medium",
                       "target_files": [target]}, indent=2) + "\n"


async def test_a_swarm_in_the_original_s_format_runs_to_the_end(tmp_path):
    """max_cycle, can_plan: false, a reviewer object whose own prompt includes a file and uses
    {{TASKS_ROOT}}, the original's tickets, and a reviewer answering in the original's words."""
    project = make_project(tmp_path)
    prompts = project.root / "config" / "prompts"
    prompts.mkdir(parents=True)
    (prompts / "team-reviewer.md").write_text(
        "You review for our team.\n#oompa_directive:include_file \"config/prompts/_rules.md\"\n"
        "The tickets are in {{TASKS_ROOT}}.\nAnswer APPROVED or NEEDS_CHANGES, then - Issue N: lines.\n",
        encoding="utf-8")
    (prompts / "_rules.md").write_text("- Every new file ends with a newline.\n", encoding="utf-8")
    pending = project.root / "tasks" / "pending"
    pending.mkdir(parents=True)
    for n in range(1, 4):
        (pending / f"t{n}.json").write_text(_original_ticket(f"t{n}", f"src/t{n}.txt"), encoding="utf-8")
    script = {"roles": {
        "executor": {"*": [{"write": {"src/{task_id}.txt": "made by {task_id}\n"},
                            "final": "COMPLETE_AND_READY_FOR_MERGE"}]},
        "reviewer": {"t2": [{"final": "NEEDS_CHANGES\n- Issue 1: src/t2.txt needs a second line"},
                            {"final": "APPROVED"}],
                     "*": [{"final": "Looked at it.\nAPPROVED"}]}}}
    write_config(project, script, {
        "workers": [{"model": "fake:codex", "prompt": ["config/prompts/executor.md"], "max_cycle": 5, "count": 2,
                     "can_plan": False}],
        "reviewer": {"model": "fake:gemini", "prompt": ["config/prompts/team-reviewer.md"]}})

    result, events = await run(project.root)

    assert result.ok, result.reason
    assert project.task_files("complete") == ["t1", "t2", "t3"]
    for n in range(1, 4):
        assert git(project.root, "show", f"main:src/t{n}.txt") == f"made by t{n}"
        done = json.loads((project.root / "tasks" / "complete" / f"t{n}.json").read_text(encoding="utf-8"))
        assert done["difficulty"] == "medium" and done["target_files"] == [f"src/t{n}.txt"]
        assert done["completed_by"] in ("w1", "w2")
    calls = project.calls()
    for call in calls:
        assert "{{" not in call["prompt"] and "#oompa_directive" not in call["prompt"]
    for call in (c for c in calls if c["role"] == "executor"):
        assert call["task_id"] in call["prompt"] and f"src/{call['task_id']}.txt" in call["prompt"]  # its target_files
    reviews = [c for c in calls if c["role"] == "reviewer"]
    assert len(reviews) == 4  # t2 twice
    for review in reviews:
        assert "You review for our team." in review["prompt"] and "ends with a newline" in review["prompt"]
        assert str(project.root / "tasks") in review["prompt"]
        assert f"+made by {review['task_id']}" in review["prompt"]  # the diff it judges
    fix = [c for c in calls if c["role"] == "executor" and c["task_id"] == "t2"][1]
    assert "src/t2.txt needs a second line" in fix["prompt"]
