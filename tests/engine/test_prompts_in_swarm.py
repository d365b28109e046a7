"""The user's prompt files in real swarms: they add to the engine's framing, never remove it.

Every assertion reads the prompts the scripted agent actually received (DESIGN §4.1).
"""

from __future__ import annotations

import re
import sys

import anyio
import pytest

from oompa_lsp.core.errors import ConfigError
from oompa_lsp.core.prompt_text import ORIGINAL_TOKENS, PLACEHOLDER_ROLES
from oompa_lsp.core.tasks import Task
from oompa_lsp.engine.swarm import Swarm

from .swarm_fixtures import Project, make_project

pytestmark = pytest.mark.anyio
WORK = {"worker": {"*": [{"write": {"{task_id}.txt": "work of {task_id}\n"}, "final": "COMPLETE_AND_READY_FOR_MERGE"}],
                   "-": [{"final": "__DONE__"}]},
        "reviewer": {"*": [{"final": "VERDICT: APPROVED"}]}}
CHECK = [sys.executable, "-c", "print('checked')"]


async def run_swarm(project: Project) -> None:
    with anyio.fail_after(60):
        result = await Swarm.open(project.root).run()
    assert result.ok, result.reason


def prompts_of(project: Project, role: str, task_id: str | None = None) -> list[str]:
    return [c["prompt"] for c in project.calls() if c["role"] == role and (task_id is None or c["task_id"] == task_id)]


def assert_nothing_raw(project: Project) -> None:
    """No agent of the run received a directive, a `{{token}}` or a placeholder we know."""
    raw = re.compile(r"\{\{|#oompa_directive|\$(?:%s)\b|\{(?:%s)\}" % ("|".join(PLACEHOLDER_ROLES), "|".join(ORIGINAL_TOKENS)))
    for call in project.calls():
        found = raw.search(call["prompt"])
        assert found is None, f"{call['role']} got {found.group(0)!r} raw:\n{call['prompt']}"


def write(project: Project, name: str, text: str) -> str:
    path = project.root / name
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text, encoding="utf-8")
    return name


async def test_prompts_without_placeholders_still_get_the_whole_framing(tmp_path):
    project = make_project(tmp_path)
    write(project, "my/worker.md", "You are a meticulous engineer. Keep it small.\n")
    write(project, "my/review-style.md", "Be terse.\n")
    write(project, "my/review-focus.md", "Focus on error handling.\n")
    project.configure({"roles": WORK}, workers=[{"model": "fake:m", "count": 1, "prompt": "my/worker.md"}],
                      review_model={"model": "fake:reviewer", "prompt": ["my/review-style.md", "my/review-focus.md"]},
                      merge={"checks": [CHECK]})
    project.add_tasks(Task(id="t1", summary="write the t1 file", description="It holds the t1 work.",
                           acceptance=["t1.txt exists"], files=["t1.txt"]))

    await run_swarm(project)

    worker = prompts_of(project, "worker", "t1")[0]
    assert worker.startswith("You are a meticulous engineer.")
    assert "`t1`: write the t1 file" in worker and "It holds the t1 work." in worker and "t1.txt exists" in worker
    assert str(project.root / "tasks") in worker
    assert "COMPLETE_AND_READY_FOR_MERGE" in worker and "NEEDS_FOLLOWUP" in worker
    review = prompts_of(project, "reviewer")[0]
    assert review.index("Be terse.") < review.index("Focus on error handling.")  # both files, in order
    assert "write the t1 file" in review and "t1.txt exists" in review
    assert "print('checked')`: passed" in review
    assert "+work of t1" in review and "diff --git a/t1.txt b/t1.txt" in review
    assert "VERDICT: APPROVED" in review and "VERDICT: CHANGES_REQUESTED" in review
    assert_nothing_raw(project)


async def test_a_template_that_places_the_diff_gets_it_once_and_includes_are_expanded(tmp_path):
    project = make_project(tmp_path)
    write(project, "prompts/rules.md", "Rules first.\n#oompa_directive:include_file \"prompts/deeper.md\"\n")
    write(project, "prompts/deeper.md", "Tasks live in {{TASKS_ROOT}}; {current_count} in progress.\n")
    write(project, "prompts/executor.md", "Executor.\n  #oompa_directive:include_file \"prompts/rules.md\"  \n$task_block\n")
    write(project, "prompts/review.md", "Here is the change:\n$diff\nJudge it.\n")
    project.configure({"roles": {**WORK, "executor": WORK["worker"]}},
                      workers=[{"model": "fake:m", "count": 1, "prompt": "prompts/executor.md"}],
                      review_model={"model": "fake:reviewer", "prompt": "prompts/review.md"})
    project.add_tasks(Task(id="t1", summary="write the t1 file"))

    await run_swarm(project)

    executor = prompts_of(project, "executor", "t1")[0]
    assert executor.startswith(f"Executor.\nRules first.\nTasks live in {project.root / 'tasks'}; 1 in progress.\n")
    assert executor.count("write the t1 file") == 1  # placed by $task_block, not repeated
    review = prompts_of(project, "reviewer")[0]
    assert review.startswith("Here is the change:\ndiff --git")
    assert review.count("+work of t1") == 1 and "The change (full diff" not in review
    assert "VERDICT: CHANGES_REQUESTED" in review  # the pieces it did not place are still added
    assert_nothing_raw(project)


async def test_the_bundled_prompts_place_every_piece_once(tmp_path):
    project = make_project(tmp_path)
    project.configure({"roles": WORK}, workers=[{"model": "fake:m", "count": 1}], merge={"checks": [CHECK]})
    project.add_tasks(Task(id="t1", summary="write the t1 file"))

    await run_swarm(project)

    worker = prompts_of(project, "worker", "t1")[0]
    review = prompts_of(project, "reviewer")[0]
    assert worker.count("COMPLETE_AND_READY_FOR_MERGE") == 1 and worker.count("write the t1 file") == 1
    assert review.count("+work of t1") == 1 and review.count("VERDICT: APPROVED") == 1
    assert "\n## Your answer\n" in review and review.count("## ") == 4  # nothing appended after it
    assert_nothing_raw(project)


async def test_an_unfillable_token_stops_the_swarm_before_any_agent_runs(tmp_path):
    project = make_project(tmp_path)
    write(project, "mine.md", "Hello.\nUse {{WORKSPACE}} please.\n")
    project.configure({"roles": WORK}, workers=[{"model": "fake:m", "count": 1, "prompt": "mine.md"}])
    project.add_tasks(Task(id="t1", summary="write the t1 file"))

    with pytest.raises(ConfigError) as raised:
        Swarm.open(project.root)

    assert f"{project.root / 'mine.md'}:2:" in str(raised.value) and "{{WORKSPACE}}" in str(raised.value)
    assert project.calls() == []
