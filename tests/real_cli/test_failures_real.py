"""What a user sees when the model's service fails, with the real claude, codex, gemini and opencode.

One worker, one task, through `Swarm`; the scripted server answers the worker's turn with a
401, a 429, a 500 or nothing at all, or the CLI is launched with a flag it rejects. Each case
must end in an `AgentFinished` event with the right `error_kind` and a message that names the
problem, and the task must fail with that reason (not hang, not pass).

Rate limits: the engine retries a rate-limited turn after a backoff (OOMPA_RATE_LIMIT_BACKOFF_S
makes the first wait 1 s here) and gives up after three retries. The CLIs' own retries are
turned down (CLAUDE_CODE_MAX_RETRIES=0, codex request_max_retries=0) so that the engine's
handling is what is tested — except in the auth case of claude, where its default retries are
kept to show that the adapter stops a login that cannot succeed. gemini runs with
`general.maxAttempts: 1`. opencode has no such setting: it retries a 429 itself (honouring
`retry-after`) and a 500 silently with growing waits, so it has tests of its own for those.
"""

from __future__ import annotations

import json
import os
import time
from pathlib import Path

import anyio
import pytest

from engine.swarm_fixtures import Project, git, make_project
from model_servers.anthropic import AnthropicServer
from model_servers.base import ScriptedServer
from model_servers.gemini import GeminiServer
from model_servers.openai_responses import ResponsesServer
from model_servers.scenario import Attempts, Fail, Reply, Rule, Say, Scenario, Stall, WriteFile
from oompa_lsp.core import events as ev
from oompa_lsp.core.tasks import Task
from oompa_lsp.engine.swarm import Swarm

from .clis import harness_for, model_ref

pytestmark = [pytest.mark.anyio, pytest.mark.slow]

WORKER = "You are a worker in an oompa swarm"
ALL = ["claude", "codex", "gemini", "opencode"]
# Each API's own wording, without a retry hint (so the engine's backoff is what shows).
RATE_LIMITS = {"claude": "This request would exceed your account's rate limit. Please try again later.",
               "codex": "Rate limit reached for requests per minute.",
               "gemini": "Resource has been exhausted (e.g. check quota).",
               "opencode": "This request would exceed your account's rate limit. Please try again later."}
# gemini and opencode take seconds to start: a silent model must not be mistaken for a slow start.
QUIET_TIMEOUT_S = {"claude": 4, "codex": 4, "gemini": 15, "opencode": 15}


@pytest.fixture
def cli(request):
    """The harness name and its installed binary (tests choose the CLIs with `indirect`)."""
    return request.param, request.getfixturevalue(f"{request.param}_cli")


def on(*names: str):
    return pytest.mark.parametrize("cli", list(names), indirect=True)


def rate_limited(harness: str) -> Fail:
    return Fail(429, RATE_LIMITS[harness])


@pytest.fixture(autouse=True)
def short_backoff(monkeypatch):
    monkeypatch.setenv("OOMPA_RATE_LIMIT_BACKOFF_S", "1")


def scenario(*turn: Reply | Attempts) -> Scenario:
    return Scenario(Rule((WORKER, "Task `t`"), list(turn), name="worker"),
                    Rule("You review one change", [Say("VERDICT: APPROVED")], name="reviewer"))


def server_for(harness: str, scripted: Scenario) -> ScriptedServer:
    servers = {"claude": AnthropicServer, "codex": ResponsesServer, "gemini": GeminiServer, "opencode": AnthropicServer}
    return servers[harness](scripted)


def configure(project: Project, cli, server: ScriptedServer, timeout_s: float = 60, args: list[str] = (),
              cli_retries: int = 0) -> None:
    harness, installed = cli
    entry = harness_for(harness, installed, server.url, project.root.parent / f"{harness}-home", retries=cli_retries)
    entry["args"] = [*entry.get("args", []), *args]
    config = {"workers": [{"model": model_ref(harness, "scripted"), "count": 1, "iterations": 1,
                           "timeout_s": timeout_s}],
              "review_model": model_ref(harness, "scripted-reviewer"), "task_attempts": 1,
              "worktree": {"dir": str(project.root.parent / "worktrees")},
              "harnesses": {harness: entry}}
    (project.root / "oompa.json").write_text(json.dumps(config), encoding="utf-8")
    project.add_tasks(Task(id="t", summary="write t.txt"))


async def run_swarm(root: Path, timeout: float = 120):
    swarm = Swarm.open(root)
    seen: list = []
    swarm.subscribe(seen.append)
    started = time.monotonic()
    with anyio.fail_after(timeout):
        result = await swarm.run()
    return result, seen, time.monotonic() - started


def worker_turns(events: list) -> list[ev.AgentFinished]:
    return [e for e in events if isinstance(e, ev.AgentFinished) and e.role != "reviewer"]


def failure_of(project: Project, result, events: list) -> tuple[ev.AgentFinished, str]:
    """The failed turn and the task's recorded failure; the swarm says which task failed."""
    assert not result.ok and "1 task(s) failed: t" in result.reason
    assert project.task_files("failed") == ["t"]
    failed = [e for e in events if isinstance(e, ev.TaskFailed)]
    assert failed and failed[0].reason == project.task("failed", "t").failure
    return worker_turns(events)[-1], failed[0].reason


@on(*ALL)
async def test_rejected_api_key_fails_the_task_as_an_auth_error(tmp_path, cli):
    harness, _ = cli
    project = make_project(tmp_path)
    with server_for(harness, scenario(Fail(401, "invalid x-api-key"))) as server:
        # claude keeps its default retries: the adapter must stop it after two rejected logins.
        configure(project, cli, server, cli_retries=10 if harness == "claude" else 0)
        result, events, took = await run_swarm(project.root)
    turn, reason = failure_of(project, result, events)
    assert turn.error_kind == "auth"
    assert "invalid x-api-key" in turn.error or "could not log in" in turn.error   # the API's words, or ours
    assert f"agent error (auth): {turn.error}" in reason
    assert took < 60, "a login that cannot succeed must not be retried for minutes"


@on("claude", "codex", "gemini")
async def test_rate_limit_is_retried_after_a_backoff_and_the_work_lands(tmp_path, cli):
    harness, _ = cli
    project = make_project(tmp_path)
    turn = scenario(Attempts(rate_limited(harness), rate_limited(harness), WriteFile("t.txt", "t\n")),
                    Say("Wrote t.txt.\nCOMPLETE_AND_READY_FOR_MERGE"))
    with server_for(harness, turn) as server:
        configure(project, cli, server)
        result, events, _ = await run_swarm(project.root)
    assert result.ok, result.reason
    assert git(project.root, "show", "main:t.txt") == "t"
    kinds = [e.error_kind for e in worker_turns(events)]
    assert kinds == ["rate_limit", "rate_limit", None]
    waits = [e.text for e in events if isinstance(e, ev.AgentActivity) and e.text.startswith("rate limited")]
    assert waits == ["rate limited; retrying in 1s", "rate limited; retrying in 2s"]
    # The retried turn reached the model with the task's prompt, and only once with a reply.
    answered = [r for r in server.conversations() if r.status == 200 and r.answer.startswith("worker")]
    assert "Task `t`" in answered[0].conversation.text


@on("claude", "codex")
async def test_persistent_rate_limit_fails_the_task_with_the_reason(tmp_path, cli):
    harness, _ = cli
    project = make_project(tmp_path)
    with server_for(harness, scenario(rate_limited(harness))) as server:
        configure(project, cli, server)
        result, events, _ = await run_swarm(project.root)
    turn, reason = failure_of(project, result, events)
    assert [e.error_kind for e in worker_turns(events)] == ["rate_limit"] * 4   # the first try and 3 retries
    assert "429" in turn.error or "rate limit" in turn.error.lower()
    assert "agent error (rate_limit)" in reason


@on("claude", "codex", "gemini")
async def test_server_error_fails_the_task_as_a_server_error(tmp_path, cli):
    harness, _ = cli
    project = make_project(tmp_path)
    with server_for(harness, scenario(Fail(500, "the model crashed"))) as server:
        configure(project, cli, server)
        result, events, _ = await run_swarm(project.root)
    turn, reason = failure_of(project, result, events)
    assert turn.error_kind == "server"
    assert turn.error
    assert f"agent error (server): {turn.error}" in reason


@on(*ALL)
async def test_cli_that_exits_non_zero_fails_the_task_with_its_exit_code_and_complaint(tmp_path, cli):
    harness, _ = cli
    project = make_project(tmp_path)
    with server_for(harness, scenario(Say("never asked"))) as server:
        configure(project, cli, server, args=["--no-such-flag"])
        result, events, _ = await run_swarm(project.root)
    turn, reason = failure_of(project, result, events)
    assert turn.error_kind == "exit" and turn.exit_code not in (0, None)
    assert turn.error.startswith(f"{harness} exited with code {turn.exit_code}: ")
    if harness == "opencode":   # it prints its usage text and nothing else
        assert "printed its usage text" in turn.error
    else:                       # the CLI's own complaint, from its stderr
        assert "such-flag" in turn.error
    assert not server.conversations()


@on(*ALL)
async def test_cli_waiting_on_a_silent_model_is_stopped_at_its_timeout(tmp_path, cli):
    harness, _ = cli
    project = make_project(tmp_path)
    timeout = QUIET_TIMEOUT_S[harness]
    with server_for(harness, scenario(Stall())) as server:
        configure(project, cli, server, timeout_s=timeout)
        result, events, took = await run_swarm(project.root)
        turn, reason = failure_of(project, result, events)
        assert server.conversations(), "the CLI did reach the model"
    assert turn.error_kind == "timeout"
    assert turn.error.startswith(f"{harness} gave no result within {timeout}s and was stopped")
    assert took < timeout + 25
    assert not processes_inside(tmp_path), "the CLI's process group was ended"


@on("opencode")
async def test_opencode_retries_a_rate_limit_itself_and_the_work_lands(tmp_path, cli):
    project = make_project(tmp_path)
    limited = Fail(429, RATE_LIMITS["opencode"], retry_after_s=1)
    turn = scenario(Attempts(limited, WriteFile("t.txt", "t\n")), Say("Wrote t.txt.\nCOMPLETE_AND_READY_FOR_MERGE"))
    with server_for("opencode", turn) as server:
        configure(project, cli, server)
        result, events, _ = await run_swarm(project.root)
    assert result.ok, result.reason
    assert git(project.root, "show", "main:t.txt") == "t"
    assert [e.error_kind for e in worker_turns(events)] == [None], "opencode retried within its own turn"
    assert [r.status for r in server.conversations() if r.answer.startswith("worker step 0")] == [429, 200]


@on("opencode")
async def test_opencode_retrying_a_server_error_silently_is_stopped_at_the_timeout(tmp_path, cli):
    project = make_project(tmp_path)
    with server_for("opencode", scenario(Fail(500, "the model crashed"))) as server:
        configure(project, cli, server, timeout_s=QUIET_TIMEOUT_S["opencode"])
        result, events, _ = await run_swarm(project.root)
    turn, reason = failure_of(project, result, events)
    # opencode prints nothing while it retries: all the user can be told is that it gave up waiting.
    assert turn.error_kind == "timeout"
    assert [r.status for r in server.conversations() if r.answer.startswith("worker")][:2] == [500, 500]
    assert "agent error (timeout): opencode gave no result within" in reason


def processes_inside(folder: Path) -> list[int]:
    """Processes whose working directory is inside the folder (a leftover agent would be)."""
    found = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            cwd = os.readlink(entry / "cwd")
        except OSError:
            continue
        if cwd == str(folder) or cwd.startswith(f"{folder}/"):
            found.append(int(entry.name))
    return found
