"""Agent harnesses: the command contract, bounded runs, each CLI's argv and stream parsing.

Real subprocesses throughout: the scripted agent `tests/fake_agent.py` for the command
harness, and small stand-in executables that replay recorded CLI streams for the built-ins.
Async tests run on anyio's pytest plugin (asyncio backend).
"""

from __future__ import annotations

import json
import os
import sys
import time
import uuid
from pathlib import Path

import anyio
import psutil
import pytest

from oompa_lsp.adapters.harnesses import adapter_for, probe_harness, run_agent
from oompa_lsp.adapters.harnesses import process as process_module
from oompa_lsp.adapters.harnesses.stream import classify_failure, retry_after_in
from oompa_lsp.core.agents import AgentRequest
from oompa_lsp.core.config import HarnessConfig

pytestmark = pytest.mark.anyio

FAKE_AGENT = Path(__file__).resolve().parent / "fake_agent.py"
SAMPLES = Path(__file__).resolve().parent / "harness_samples"


@pytest.fixture
def anyio_backend():
    return "asyncio"


@pytest.fixture
def worktree(tmp_path: Path) -> Path:
    path = tmp_path / "worktree"
    path.mkdir()
    return path


@pytest.fixture(autouse=True)
def short_grace(monkeypatch):
    """Ending a group waits for stragglers; tests need not wait as long as a swarm does."""
    monkeypatch.setattr(process_module, "GRACE_S", 0.5)
    monkeypatch.setattr(process_module, "CLOSING_GRACE_S", 0.5)


class Script:
    """A fake-agent script file, and what the agent logged about its calls."""

    def __init__(self, folder: Path, roles: dict) -> None:
        self.path = folder / "script.json"
        self.path.write_text(json.dumps({"roles": roles}))

    def harness(self, *args: str, **env: str) -> HarnessConfig:
        return HarnessConfig(command=[sys.executable, str(FAKE_AGENT)], args=list(args),
                             env={"FAKE_AGENT_SCRIPT": str(self.path), **env})

    def calls(self) -> list[dict]:
        log = self.path.with_name(self.path.name + ".log.jsonl")
        return [json.loads(line) for line in log.read_text().splitlines()] if log.exists() else []


def request(worktree: Path, **fields) -> AgentRequest:
    base = dict(harness="fake", model="anything", prompt="Do the task.\n", cwd=str(worktree), role="executor",
                timeout_s=20.0, env={"OOMPA_ROLE": "executor", "OOMPA_TASK_ID": "t1"})
    base.update(fields)
    return AgentRequest(**base)


def running_in_group(pgid: int) -> list[int]:
    """Processes of the group that still run (zombies awaiting a reaper do not count)."""
    found = []
    for process in psutil.process_iter(["status"]):
        try:
            group = os.getpgid(process.pid)
        except OSError:
            continue
        if group == pgid and process.info["status"] not in (psutil.STATUS_ZOMBIE, psutil.STATUS_DEAD):
            found.append(process.pid)
    return found


# --- the command harness contract --------------------------------------------------------

async def test_command_harness_gets_argv_prompt_env_and_cwd_exactly(tmp_path, worktree, monkeypatch):
    monkeypatch.setenv("OOMPA_TASK_ID", "stale-from-outside")  # a parent swarm's variables must not leak
    monkeypatch.setenv("OOMPA_RESUME", "1")
    script = Script(tmp_path, {"executor": {"t1": [{"final": "Done.\nCOMPLETE_AND_READY_FOR_MERGE\n\n"}]}})
    prompt = "Implement t1 — naïve café ✓\nsecond line\n"
    env = {"OOMPA_ROLE": "executor", "OOMPA_WORKTREE": str(worktree), "OOMPA_TASKS_DIR": str(tmp_path / "tasks"),
           "OOMPA_TASK_ID": "t1", "OOMPA_TARGET": "main"}

    outcome = await run_agent(request(worktree, prompt=prompt, model="gpt-x", env=env),
                              script.harness("--flag", "two words", FROM_HARNESS="yes"))

    assert outcome.ok, outcome.error
    assert outcome.final_text == "Done.\nCOMPLETE_AND_READY_FOR_MERGE"
    assert outcome.exit_code == 0
    [call] = script.calls()
    assert call["argv"][1:] == ["--flag", "two words"]
    assert call["cwd"] == str(worktree)
    assert call["prompt"] == prompt
    turn = call["env"].pop("OOMPA_TURN")  # the marker its leftovers are found by, new every run
    assert call["env"] == {**env, "OOMPA_MODEL": "gpt-x", "OOMPA_SESSION_ID": outcome.session_id}
    assert uuid.UUID(outcome.session_id) and len(turn.split(",")[-1]) == 32


async def test_harness_env_reaches_the_agent_and_the_request_env_wins(tmp_path, worktree):
    script = Script(tmp_path, {"*": {"*": [{"final": "value={model}"}]}})
    harness = script.harness(OOMPA_TARGET="from-harness", EXTRA="x")
    outcome = await run_agent(request(worktree, env={"OOMPA_TARGET": "from-request"}), harness)
    assert script.calls()[0]["env"]["OOMPA_TARGET"] == "from-request"
    assert outcome.final_text == "value=anything"


async def test_agent_pwd_is_its_worktree_not_the_swarms_folder(worktree, monkeypatch):
    # opencode takes its project folder from $PWD: an inherited PWD would send its edits to
    # the checkout the swarm was started from.
    monkeypatch.setenv("PWD", str(worktree.parent))
    harness = HarnessConfig(command=[sys.executable, "-c", "import os; print(os.environ['PWD'])"])
    outcome = await run_agent(request(worktree, harness="pwd"), harness)
    assert outcome.final_text == str(worktree)


async def test_resumed_turn_gets_oompa_resume_and_the_same_session(tmp_path, worktree):
    script = Script(tmp_path, {"executor": {"t1": [{"final": "first"}, {"final": "second"}]}})
    first = await run_agent(request(worktree), script.harness())
    second = await run_agent(request(worktree, session_id=first.session_id, resume=True), script.harness())

    calls = script.calls()
    assert [c["call"] for c in calls] == [1, 2]
    assert "OOMPA_RESUME" not in calls[0]["env"]
    assert calls[1]["env"]["OOMPA_RESUME"] == "1"
    assert calls[1]["env"]["OOMPA_SESSION_ID"] == first.session_id == second.session_id
    assert (first.final_text, second.final_text) == ("first", "second")


async def test_usage_line_is_read_and_left_out_of_the_final_message(tmp_path, worktree):
    script = Script(tmp_path, {"*": {"*": [{"final": "VERDICT: APPROVED",
                                            "usage": {"input_tokens": 1200, "output_tokens": 80, "cost_usd": 0.02}}]}})
    outcome = await run_agent(request(worktree, role="reviewer"), script.harness())
    assert outcome.final_text == "VERDICT: APPROVED"
    assert (outcome.usage.input_tokens, outcome.usage.output_tokens, outcome.usage.cost_usd) == (1200, 80, 0.02)


async def test_agent_writes_files_and_tasks_where_the_contract_says(tmp_path, worktree):
    tasks = tmp_path / "tasks"
    script = Script(tmp_path, {"planner": {"*": [{"write": {"notes/{role}.md": "plan\n"},
                                                  "tasks": [{"id": "t9", "summary": "Add divide"}],
                                                  "final": "__DONE__"}]}})
    outcome = await run_agent(request(worktree, role="planner", env={"OOMPA_ROLE": "planner",
                                                                    "OOMPA_TASKS_DIR": str(tasks)}), script.harness())
    assert outcome.final_text == "__DONE__"
    assert (worktree / "notes" / "planner.md").read_text() == "plan\n"
    assert json.loads((tasks / "pending" / "t9.json").read_text()) == {"id": "t9", "summary": "Add divide"}


async def test_non_zero_exit_is_an_error_naming_the_last_stderr_line(tmp_path, worktree):
    script = Script(tmp_path, {"*": {"*": [{"stderr": "loading...\nfatal: disk full", "say": "partial", "exit": 3}]}})
    outcome = await run_agent(request(worktree), script.harness())
    assert not outcome.ok
    assert outcome.error_kind == "exit" and outcome.exit_code == 3
    assert "disk full" in outcome.error and "code 3" in outcome.error
    assert outcome.final_text == ""


@pytest.mark.parametrize(("stderr", "kind", "retry_after"), [
    ("Error: 429 Too Many Requests. Please try again in 30s.", "rate_limit", 30.0),
    ("request failed with status 401: invalid x-api-key", "auth", None),
    ("upstream said: 503 Service Unavailable", "server", None),
])
async def test_exit_with_a_recognisable_api_failure_is_classified(tmp_path, worktree, stderr, kind, retry_after):
    script = Script(tmp_path, {"*": {"*": [{"stderr": stderr, "exit": 1}]}})
    outcome = await run_agent(request(worktree), script.harness())
    assert (outcome.error_kind, outcome.retry_after_s) == (kind, retry_after)


async def test_activity_and_transcript_show_the_agent_output(tmp_path, worktree):
    script = Script(tmp_path, {"*": {"*": [{"say": "editing calc.py", "stderr": "warn: slow", "final": "done"}]}})
    transcript = tmp_path / "run" / "transcripts" / "w1-turn001.log"
    seen: list[str] = []
    outcome = await run_agent(request(worktree, transcript_path=str(transcript)), script.harness(), seen.append)
    assert outcome.ok
    assert seen == ["editing calc.py", "done"]
    text = transcript.read_text()
    assert text.startswith("editing calc.py\ndone\n") and "warn: slow" in text


# --- bounded runs ---------------------------------------------------------------------------

async def test_hung_agent_and_its_children_are_ended_at_the_timeout(tmp_path, worktree):
    script = Script(tmp_path, {"*": {"*": [{"say": "working", "spawn_sleeper": 60, "sleep": 60}]}})
    started = time.monotonic()
    outcome = await run_agent(request(worktree, timeout_s=1.0), script.harness())
    elapsed = time.monotonic() - started

    assert outcome.error_kind == "timeout", outcome
    assert "1s" in outcome.error
    assert elapsed < 5, elapsed
    assert running_in_group(script.calls()[0]["pid"]) == []


async def test_agent_ignoring_sigterm_is_killed(tmp_path, worktree):
    script = Script(tmp_path, {"*": {"*": [{"ignore_sigterm": True, "sleep": 60}]}})
    started = time.monotonic()
    outcome = await run_agent(request(worktree, timeout_s=0.5), script.harness())
    assert outcome.error_kind == "timeout"
    assert time.monotonic() - started < 5
    assert running_in_group(script.calls()[0]["pid"]) == []


async def test_children_left_holding_stdout_do_not_hold_up_a_finished_agent(tmp_path, worktree):
    script = Script(tmp_path, {"*": {"*": [{"spawn_sleeper": 60, "final": "COMPLETE_AND_READY_FOR_MERGE"}]}})
    started = time.monotonic()
    outcome = await run_agent(request(worktree, timeout_s=30), script.harness())
    assert outcome.ok and outcome.final_text == "COMPLETE_AND_READY_FOR_MERGE"
    assert time.monotonic() - started < 5
    assert running_in_group(script.calls()[0]["pid"]) == []


async def test_cancelling_the_caller_ends_the_agent_group(tmp_path, worktree):
    script = Script(tmp_path, {"*": {"*": [{"spawn_sleeper": 60, "sleep": 60}]}})
    finished = []

    async def run() -> None:
        await run_agent(request(worktree, timeout_s=60), script.harness())
        finished.append(True)

    async with anyio.create_task_group() as tg:
        tg.start_soon(run)
        with anyio.fail_after(10):
            while not script.calls():
                await anyio.sleep(0.05)
        await anyio.sleep(0.3)  # let it spawn its child
        tg.cancel_scope.cancel()

    assert finished == []
    assert running_in_group(script.calls()[0]["pid"]) == []


async def test_unknown_harness_and_missing_binary_are_not_found(tmp_path, worktree):
    unknown = await run_agent(request(worktree, harness="mystery"), None)
    assert unknown.error_kind == "not_found" and "mystery" in unknown.error
    missing = await run_agent(request(worktree), HarnessConfig(command=[str(tmp_path / "no-such-agent")]))
    assert missing.error_kind == "not_found" and "no-such-agent" in missing.error
    not_installed = await run_agent(request(worktree, harness="claude"),
                                    HarnessConfig(command=["oompa-surely-not-installed-claude"]))
    assert not_installed.error_kind == "not_found"


# --- built-in CLIs: argv ------------------------------------------------------------------

def argv_of(harness: str, worktree: Path, **fields) -> list[str]:
    req = request(worktree, harness=harness, **fields)
    return adapter_for(harness, None).launch(req, [harness], []).argv


def test_claude_new_session_gets_session_id_and_never_resume(worktree):
    argv = argv_of("claude", worktree, model="opus", reasoning="minimal")
    assert argv[:5] == ["claude", "-p", "--output-format", "stream-json", "--verbose"]
    assert "--resume" not in argv
    assert uuid.UUID(argv[argv.index("--session-id") + 1])
    assert argv[argv.index("--model") + 1] == "opus"
    assert argv[argv.index("--effort") + 1] == "low"
    assert argv[argv.index("--permission-mode") + 1] == "acceptEdits"
    assert "--dangerously-skip-permissions" not in argv  # refused when running as root


def test_claude_resume_gets_resume_and_never_session_id(worktree):
    argv = argv_of("claude", worktree, session_id="5f0c2a4e-1111-4222-8333-944445555666", resume=True)
    assert argv[argv.index("--resume") + 1] == "5f0c2a4e-1111-4222-8333-944445555666"
    assert "--session-id" not in argv


@pytest.mark.parametrize("session_id", [None, "5f0c2a4e-1111-4222-8333-944445555666", "not-a-uuid"])
@pytest.mark.parametrize("resume", [False, True])
def test_claude_never_gets_session_id_and_resume_together(worktree, session_id, resume):
    argv = argv_of("claude", worktree, session_id=session_id, resume=resume)
    assert ("--session-id" in argv) != ("--resume" in argv)
    if "--session-id" in argv:
        assert uuid.UUID(argv[argv.index("--session-id") + 1])  # the CLI insists on a UUID


def test_claude_may_write_the_tasks_folder_outside_the_worktree(tmp_path, worktree):
    outside = argv_of("claude", worktree, env={"OOMPA_TASKS_DIR": str(tmp_path / "tasks")})
    inside = argv_of("claude", worktree, env={"OOMPA_TASKS_DIR": str(worktree / "tasks")})
    assert outside[outside.index("--add-dir") + 1] == str(tmp_path / "tasks")
    assert "--add-dir" not in inside


def test_codex_new_and_resumed_argv(worktree):
    new = argv_of("codex", worktree, model="gpt-5", reasoning="high")
    assert new[:3] == ["codex", "exec", "--json"] and new[-1] == "-" and "resume" not in new
    assert new[new.index("-m") + 1] == "gpt-5"
    assert 'model_reasoning_effort="high"' in new
    assert 'sandbox_mode="workspace-write"' in new and 'approval_policy="never"' in new
    resumed = argv_of("codex", worktree, session_id="0199a213-81c0-7800", resume=True)
    assert resumed[-3:] == ["resume", "0199a213-81c0-7800", "-"]


def test_gemini_new_and_resumed_argv(worktree):
    new = argv_of("gemini", worktree, model="gemini-2.5-pro")
    assert new[:3] == ["gemini", "--output-format", "stream-json"]
    assert new[new.index("--approval-mode") + 1] == "yolo" and "-p" not in new
    assert uuid.UUID(new[new.index("--session-id") + 1]) and "--resume" not in new
    resumed = argv_of("gemini", worktree, session_id="5a1d0c4e-1111-4222-8333-944445555666", resume=True)
    assert resumed[resumed.index("--resume") + 1] == "5a1d0c4e-1111-4222-8333-944445555666"
    assert "--session-id" not in resumed


def test_opencode_new_and_resumed_argv(worktree):
    new = argv_of("opencode", worktree, model="anthropic/claude-sonnet-4-5", reasoning="high")
    assert new[:4] == ["opencode", "run", "--format", "json"] and "--auto" in new
    assert new[new.index("-m") + 1] == "anthropic/claude-sonnet-4-5"
    assert new[new.index("--variant") + 1] == "high" and "--session" not in new
    resumed = argv_of("opencode", worktree, session_id="ses_e0341048dffeKFXehvfxObwCou", resume=True)
    assert resumed[resumed.index("--session") + 1] == "ses_e0341048dffeKFXehvfxObwCou"


# --- built-in CLIs: recorded streams ------------------------------------------------------

def parse_sample(harness: str, name: str):
    lines = (SAMPLES / harness / f"{name}.jsonl").read_text().splitlines()
    return adapter_for(harness, None).parse(lines, "/home/dev/project")


@pytest.mark.parametrize(("harness", "name", "text", "session", "tokens", "tools"), [
    ("claude", "write_file", "Wrote the file.\nCOMPLETE_AND_READY_FOR_MERGE", "8b0b1e1f-03c7-4ed7-9ac0-e8e28ffa21ea",
     (100, 18), ["Write /home/dev/project-tasks/pending/t1.json"]),
    ("codex", "success", "All done.\nCOMPLETE_AND_READY_FOR_MERGE", "01a1fcba-acb7-7b81-b0c4-a9db63a16680",
     (120, 30), []),
    ("codex", "tools", "Added subtract() with a test.\n\nCOMPLETE_AND_READY_FOR_MERGE",
     "0199a213-81c0-7800-8aa1-bbab2a035a53", (24763, 122),
     ["Bash bash -lc 'python -m pytest -q'", "Edit calc.py", "Write tests/test_calc.py", "docs.search divide by zero"]),
    ("gemini", "success", "All done.\nCOMPLETE_AND_READY_FOR_MERGE", "5a1d0c4e-1111-4222-8333-944445555666",
     (40, 8), []),
    ("gemini", "tools", "Wrote divide.py.\nCOMPLETE_AND_READY_FOR_MERGE", "5a1d0c4e-1111-4222-8333-944445555666",
     (5100, 130), ["write_file divide.py", "run_shell_command python -m pytest -q"]),
    ("opencode", "write_file", "Wrote the file.\nCOMPLETE_AND_READY_FOR_MERGE", "ses_e0341048dffeKFXehvfxObwCou",
     (100, 18), ["write hello.txt"]),
    ("codex", "shell_and_patch", "Edited notes.txt.\nCOMPLETE_AND_READY_FOR_MERGE",
     "01a1fce9-95d7-7de0-aeda-dac0e4a8a7a2", (400, 40),
     ["Write notes.txt", "Edit notes.txt", "Bash /bin/bash -lc 'echo checked'"]),
    ("gemini", "write_edit_shell", "Edited notes.txt.\nCOMPLETE_AND_READY_FOR_MERGE",
     "e5473248-3f8b-424c-bd64-2f16b9eae93c", (400, 40),
     ["write_file notes.txt", "replace notes.txt", "run_shell_command echo checked"]),
])
def test_successful_streams_give_final_text_session_usage_and_tools(harness, name, text, session, tokens, tools):
    parsed = parse_sample(harness, name)
    assert parsed.error is None
    assert parsed.final_text == text
    assert parsed.session_id == session
    assert (parsed.usage.input_tokens, parsed.usage.output_tokens) == tokens
    assert [call.summary for call in parsed.tool_calls] == tools


def test_costs_are_read_where_the_cli_reports_them():
    assert parse_sample("claude", "write_file").usage.cost_usd == pytest.approx(0.00095)
    assert parse_sample("opencode", "write_file").usage.cost_usd == pytest.approx(0.00057)


@pytest.mark.parametrize("harness", ["claude", "codex", "gemini", "opencode"])
@pytest.mark.parametrize(("name", "kind"), [("auth_401", "auth"), ("rate_limit_429", "rate_limit"),
                                            ("server_500", "server")])
def test_api_failures_are_classified(harness, name, kind):
    if not (SAMPLES / harness / f"{name}.jsonl").exists():
        pytest.skip(f"no {name} sample for {harness}")
    parsed = parse_sample(harness, name)
    assert parsed.error_kind == kind, parsed.error
    assert parsed.error and parsed.final_text == ""


def test_rate_limit_wait_is_read_from_the_message():
    assert parse_sample("gemini", "rate_limit_429").retry_after_s == 42.0


def test_gemini_first_turn_that_failed_leaves_no_session_to_resume():
    # gemini 0.61 answers `--resume` of such a session with "No previous sessions found".
    assert not parse_sample("gemini", "rate_limit_429").session_saved
    assert parse_sample("gemini", "write_edit_shell").session_saved


def test_claude_resume_of_an_unknown_session_is_an_agent_error():
    parsed = parse_sample("claude", "resume_unknown_session")
    assert parsed.error_kind == "exit" and "No conversation found" in parsed.error


def test_codex_reconnect_notices_are_not_failures():
    lines = ['{"type":"thread.started","thread_id":"t-1"}',
             '{"type":"error","message":"Reconnecting... 1/5 (stream disconnected before completion)"}',
             '{"type":"item.completed","item":{"id":"i","type":"agent_message","text":"fine"}}',
             '{"type":"turn.completed","usage":{"input_tokens":5,"output_tokens":2}}']
    parsed = adapter_for("codex", None).parse(lines, "")
    assert parsed.error is None and parsed.final_text == "fine"


@pytest.mark.parametrize(("text", "kind"), [
    ('File "agent.py", line 429, in main', None),
    ("API Error: 500 upstream", "server"),
    ("Attempt 2 failed with status 429. Retrying with backoff...", "rate_limit"),
    ("Invalid API key · Please run /login", "auth"),
    ("everything is fine", None),
])
def test_failure_classification_reads_statuses_not_stray_numbers(text, kind):
    assert classify_failure(text) == kind


@pytest.mark.parametrize(("text", "seconds"), [
    ("Please try again in 20s.", 20.0), ("retry-after: 3", 3.0), ("try again in 1h 5m", 3900.0),
    ("Please retry in 250ms", 0.25), ("no hint here", None),
])
def test_retry_after_is_read_in_its_units(text, seconds):
    assert retry_after_in(text) == seconds


# --- built-in CLIs end to end (stand-in executables replaying recorded streams) ----------

def stand_in_cli(folder: Path, stream: Path | None, *, sleep_s: float = 0, exit_code: int = 0,
                 version: str = "9.9.9 (Stand-in)") -> Path:
    """An executable that logs its argv and stdin, prints a recorded stream, then lingers."""
    path = folder / "stand-in-cli"
    log = folder / "stand-in.json"
    path.write_text(f"""#!{sys.executable}
import json, sys, time
if sys.argv[1:] == ["--version"]:
    print({version!r}); sys.exit(0)
json.dump({{"argv": sys.argv[1:], "stdin": sys.stdin.read()}}, open({str(log)!r}, "w"))
if {str(stream) if stream else ''!r}:
    sys.stdout.write(open({str(stream)!r}).read()); sys.stdout.flush()
time.sleep({sleep_s})
sys.exit({exit_code})
""")
    path.chmod(0o755)
    return path


async def test_claude_run_parses_the_stream_and_passes_the_prompt_on_stdin(tmp_path, worktree):
    cli = stand_in_cli(tmp_path, SAMPLES / "claude" / "write_file.jsonl")
    seen: list[str] = []
    outcome = await run_agent(request(worktree, harness="claude", prompt="write it"),
                              HarnessConfig(command=[str(cli)], args=["--debug"]), seen.append)
    assert outcome.ok, outcome.error
    assert outcome.final_text == "Wrote the file.\nCOMPLETE_AND_READY_FOR_MERGE"
    assert outcome.session_id == "8b0b1e1f-03c7-4ed7-9ac0-e8e28ffa21ea"
    assert "Write /home/dev/project-tasks/pending/t1.json" in seen
    logged = json.loads((tmp_path / "stand-in.json").read_text())
    assert logged["stdin"] == "write it" and logged["argv"][-1] == "--debug"


async def test_cli_hanging_after_its_result_keeps_its_result(tmp_path, worktree):
    cli = stand_in_cli(tmp_path, SAMPLES / "gemini" / "success.jsonl", sleep_s=60)
    started = time.monotonic()
    outcome = await run_agent(request(worktree, harness="gemini", timeout_s=30), HarnessConfig(command=[str(cli)]))
    assert outcome.ok, outcome.error
    assert outcome.final_text == "All done.\nCOMPLETE_AND_READY_FOR_MERGE"
    assert time.monotonic() - started < 5


async def test_claude_retrying_a_rejected_login_is_stopped_early(tmp_path, worktree):
    retries = tmp_path / "retries.jsonl"
    retries.write_text("".join(json.dumps({"type": "system", "subtype": "api_retry", "attempt": n, "max_retries": 10,
                                           "retry_delay_ms": 500, "error_status": 401,
                                           "error": "authentication_failed", "session_id": "s"}) + "\n"
                               for n in (1, 2)))
    cli = stand_in_cli(tmp_path, retries, sleep_s=60)
    started = time.monotonic()
    outcome = await run_agent(request(worktree, harness="claude", timeout_s=30), HarnessConfig(command=[str(cli)]))
    assert outcome.error_kind == "auth" and "log in" in outcome.error
    assert time.monotonic() - started < 5


async def test_cli_exiting_without_its_result_is_a_protocol_error(tmp_path, worktree):
    cli = stand_in_cli(tmp_path, None)
    outcome = await run_agent(request(worktree, harness="codex"), HarnessConfig(command=[str(cli)]))
    assert outcome.error_kind == "protocol"


async def test_probe_reports_path_and_version(tmp_path):
    cli = stand_in_cli(tmp_path, None)
    probe = await probe_harness("claude", HarnessConfig(command=[str(cli)]))
    assert (probe.found, probe.path, probe.version) == (True, str(cli), "9.9.9 (Stand-in)")
    assert probe.warning and "version 9.9.9, but the claude adapter was verified with" in probe.warning
    missing = await probe_harness("codex", HarnessConfig(command=["oompa-surely-not-installed-codex"]))
    assert not missing.found and "not found" in missing.error
    unknown = await probe_harness("mystery", None)
    assert not unknown.found


async def test_probe_of_a_command_harness_does_not_start_the_agent(tmp_path):
    script = Script(tmp_path, {"*": {"*": [{"final": "should not run"}]}})
    probe = await probe_harness("fake", script.harness())
    assert probe.found and probe.path == sys.executable
    assert script.calls() == []
