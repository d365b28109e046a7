"""An agent writes a new task into the live tasks folder, outside its worktree, with the real CLI.

DESIGN §5: agents create tasks by writing files into the pending folder whose absolute path
their prompt gives them. That folder is not in the worktree, so each CLI must be allowed to
write there (claude and codex `--add-dir`, gemini `--include-directories`, opencode `--auto`)
while it still works in the worktree. codex's sandbox also keeps it from writing anywhere else.
"""

from __future__ import annotations

import json
import uuid

import pytest

from model_servers.anthropic import AnthropicServer
from model_servers.gemini import GeminiServer
from model_servers.openai_responses import ResponsesServer
from model_servers.scenario import Rule, RunShell, Say, Scenario, WriteFile
from oompa_lsp.adapters.harnesses import run_agent
from oompa_lsp.core.agents import AgentRequest

from .clis import harness_config, harness_for, model_ref
from .install_clis import cache_root

pytestmark = pytest.mark.anyio
SERVERS = {"claude": AnthropicServer, "codex": ResponsesServer, "gemini": GeminiServer, "opencode": AnthropicServer}


@pytest.mark.parametrize("name", ["claude", "codex", "gemini", "opencode"])
async def test_agent_writes_a_new_task_into_the_pending_folder_outside_its_worktree(request, tmp_path, name):
    cli = request.getfixturevalue(f"{name}_cli")
    worktree, tasks = tmp_path / "worktrees" / "w1", tmp_path / "repo" / "tasks"
    worktree.mkdir(parents=True)
    (tasks / "pending").mkdir(parents=True)
    task = {"id": "follow-up", "summary": "found while working"}
    scenario = Scenario(Rule("Write the follow-up task", [
        WriteFile(str(tasks / "pending" / "follow-up.json"), json.dumps(task) + "\n"),
        WriteFile("note.txt", "in the worktree\n"),
        Say("Wrote the task.\nCOMPLETE_AND_READY_FOR_MERGE")]))
    with SERVERS[name](scenario) as server:
        harness = harness_config(harness_for(name, cli, server.url, tmp_path / "home"))
        outcome = await run_agent(AgentRequest(
            harness=name, model=model_ref(name, "scripted").split(":", 1)[1], prompt="Write the follow-up task.\n",
            cwd=str(worktree), role="worker", timeout_s=90,
            env={"OOMPA_TASKS_DIR": str(tasks), "OOMPA_WORKTREE": str(worktree)}), harness)

    assert outcome.ok, outcome.error
    assert json.loads((tasks / "pending" / "follow-up.json").read_text()) == task
    assert (worktree / "note.txt").read_text() == "in the worktree\n"
    assert outcome.final_text.endswith("COMPLETE_AND_READY_FOR_MERGE")


async def test_codex_sandbox_lets_the_agent_write_only_its_worktree_and_the_tasks_folder(tmp_path, codex_cli):
    # The probe lies outside /tmp, which codex's workspace-write sandbox leaves writable.
    outside = cache_root() / f"sandbox-probe-{uuid.uuid4().hex}.txt"
    worktree, tasks = tmp_path / "worktrees" / "w1", tmp_path / "repo" / "tasks"
    worktree.mkdir(parents=True)
    (tasks / "pending").mkdir(parents=True)
    scenario = Scenario(Rule("Touch three files", [
        RunShell(f"touch {outside}"), RunShell(f"touch {tasks / 'pending' / 'new.json'}"), RunShell("touch inside.txt"),
        Say("Touched what I could.\nCOMPLETE_AND_READY_FOR_MERGE")]))
    try:
        with ResponsesServer(scenario) as server:
            harness = harness_config(harness_for("codex", codex_cli, server.url, tmp_path / "home"))
            outcome = await run_agent(AgentRequest(
                harness="codex", model="scripted", prompt="Touch three files.\n", cwd=str(worktree), role="worker",
                timeout_s=90, env={"OOMPA_TASKS_DIR": str(tasks)}), harness)
        assert outcome.ok, outcome.error
        assert not outside.exists(), "codex wrote outside its worktree"
        assert "Read-only file system" in server.conversations()[1].conversation.tool_results[-1]
        assert (tasks / "pending" / "new.json").exists() and (worktree / "inside.txt").exists()
    finally:
        outside.unlink(missing_ok=True)
