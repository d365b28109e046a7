"""Cost and the budget with the real CLIs against a scripted model server.

- claude prices its own turns (`total_cost_usd`, from the tokens the server reports): a budget
  of a few cents stops the swarm at the limit, with the claims returned;
- codex reports only tokens: the engine prices them from its table (gpt-5).
"""

from __future__ import annotations

import json
import sys

import anyio
import pytest

from engine.swarm_fixtures import FAKE_AGENT, make_project
from model_servers.anthropic import AnthropicServer
from model_servers.openai_responses import USAGE as RESPONSES_USAGE
from model_servers.openai_responses import ResponsesServer
from model_servers.scenario import Rule, Say, Scenario, WriteFile
from oompa_lsp.core import events as ev
from oompa_lsp.core.costs import DEFAULT_PRICES, cost_of
from oompa_lsp.core.tasks import Task, Usage
from oompa_lsp.engine.swarm import Swarm

from .clis import claude_harness, codex_harness

pytestmark = [pytest.mark.anyio, pytest.mark.slow]
WORKER = "You are a worker in an oompa swarm"
# Each reply costs claude-sonnet-4-5 about $0.0225 at its list price: a turn (write, then say
# done) about $0.045.
COSTLY = {"input_tokens": 5000, "output_tokens": 500}


def worker_scenario() -> Scenario:
    return Scenario(Rule(WORKER, [WriteFile("out.txt", "written\n"), Say("Done.\nCOMPLETE_AND_READY_FOR_MERGE")],
                         name="worker"))


def configure(project, harness: str, entry: dict, model: str, **more) -> None:
    """The real CLI works; the scripted fake agent reviews (free: the budget is the worker's)."""
    project.script.write_text(json.dumps({"roles": {"reviewer": {"*": [{"final": "VERDICT: APPROVED"}]}}}))
    config = {"workers": [{"model": f"{harness}:{model}", "count": 1, "timeout_s": 60}],
              "review_model": "fake:reviewer", "task_attempts": 1,
              "worktree": {"dir": str(project.root.parent / "worktrees")},
              "harnesses": {harness: entry, "fake": {"command": [sys.executable, str(FAKE_AGENT)],
                                                      "env": {"FAKE_AGENT_SCRIPT": str(project.script)}}},
              **more}
    (project.root / "oompa.json").write_text(json.dumps(config), encoding="utf-8")


async def run(root):
    swarm = Swarm.open(root)
    seen: list = []
    swarm.subscribe(seen.append)
    with anyio.fail_after(180):
        return await swarm.run(), seen, swarm


async def test_a_budget_of_a_few_cents_stops_claude_at_the_limit(tmp_path, claude_cli):
    project = make_project(tmp_path)
    with AnthropicServer(worker_scenario(), usage=COSTLY) as server:
        entry = claude_harness(claude_cli, server.url, tmp_path / "claude-home")
        configure(project, "claude", entry, "claude-sonnet-4-5", budget={"usd": 0.06, "grace_s": 30})
        project.add_tasks(*(Task(id=f"t{i}", summary=f"write out.txt for task {i}") for i in range(1, 4)))
        result, events, swarm = await run(project.root)

    turns = [e for e in events if isinstance(e, ev.AgentFinished) and e.role != "reviewer"]
    assert all(t.usage.cost_usd and t.usage.cost_usd > 0.01 for t in turns), [t.usage for t in turns]
    spent = sum(t.usage.cost_usd or 0 for t in turns)
    assert not result.ok and "budget.usd reached" in result.reason and "of $0.06" in result.reason
    assert spent >= 0.06 and spent - (turns[-1].usage.cost_usd or 0) < 0.06  # the last turn crossed it
    assert project.task_files("current") == [] and project.task_files("failed") == []
    assert len(project.task_files("pending")) >= 1
    assert swarm.snapshot.budget is not None and swarm.snapshot.budget.reached


async def test_codex_reports_only_tokens_and_the_engine_prices_them(tmp_path, codex_cli):
    project = make_project(tmp_path)
    with ResponsesServer(worker_scenario()) as server:
        entry = codex_harness(codex_cli, server.url, tmp_path / "codex-home")
        configure(project, "codex", entry, "gpt-5")
        project.add_tasks(Task(id="t1", summary="write out.txt"))
        result, events, _ = await run(project.root)

    assert result.ok, result.reason
    (turn,) = [e for e in events if isinstance(e, ev.AgentFinished) and e.role != "reviewer" and e.task_id == "t1"]
    per_request = Usage(RESPONSES_USAGE["input_tokens"], RESPONSES_USAGE["output_tokens"])
    requests = turn.usage.input_tokens // RESPONSES_USAGE["input_tokens"]
    assert requests >= 1 and not turn.usage.unpriced
    assert turn.usage.cost_usd == pytest.approx(requests * cost_of(per_request, DEFAULT_PRICES["gpt-5"]))
