"""Agents leave nothing running: what a run left outside its process group is found and stopped.

Real processes throughout: a child that calls `setsid` (as a daemon, or a dev server started with
`nohup`, does) is out of reach of the group kill; the marker in its environment finds it. And
the recovery side: a stopped run's agents are found by their working directory.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import anyio
import psutil
import pytest

from oompa_lsp.adapters import processes
from oompa_lsp.adapters.harnesses import process as process_module
from oompa_lsp.adapters.harnesses import run_agent
from oompa_lsp.adapters.harnesses.process import run_process_group
from oompa_lsp.core.agents import AgentRequest
from oompa_lsp.core.config import HarnessConfig

pytestmark = pytest.mark.anyio

FAKE_AGENT = Path(__file__).resolve().parent / "fake_agent.py"
SLEEPER = [sys.executable, "-c", "import time; time.sleep(60)"]


@pytest.fixture
def anyio_backend():
    return "asyncio"


@pytest.fixture(autouse=True)
def short_grace(monkeypatch):
    monkeypatch.setattr(process_module, "GRACE_S", 0.5)


@pytest.fixture
def started():
    """Processes a test starts itself (not through a run): ended afterwards whatever happens."""
    children: list[subprocess.Popen] = []
    yield children
    for child in children:
        child.kill()
        child.wait()


def alive(pid: int) -> bool:
    try:
        return processes.is_running(psutil.Process(pid))
    except psutil.NoSuchProcess:
        return False


def daemonizing(keep_stdout: bool) -> list[str]:
    """argv of a command that starts a sleeper in a session of its own, prints its pid, exits."""
    out = "None" if keep_stdout else "subprocess.DEVNULL"
    code = ("import subprocess, sys; "
            f"d = subprocess.Popen({SLEEPER!r}, start_new_session=True, stdin=subprocess.DEVNULL, stdout={out}); "
            "print(d.pid, flush=True)")
    return [sys.executable, "-c", code]


async def run(argv: list[str], cwd: Path, timeout_s: float = 20) -> process_module.ProcessResult:
    return await run_process_group(argv, cwd=str(cwd), env=dict(os.environ), stdin=b"", timeout_s=timeout_s)


@pytest.mark.parametrize("keep_stdout", [False, True], ids=["stdio-closed", "holding-stdout"])
async def test_a_setsid_daemon_is_stopped_when_its_run_ends_and_named(tmp_path, keep_stdout):
    started = time.monotonic()
    ran = await run(daemonizing(keep_stdout), tmp_path)

    daemon = int(ran.stdout_lines[0])
    assert ran.exit_code == 0
    assert not alive(daemon)
    assert [p.pid for p in ran.leftovers] == [daemon]
    assert "time.sleep(60)" in ran.leftovers[0].command
    assert time.monotonic() - started < 10  # a daemon holding our stdout does not hold the run


async def test_a_run_that_leaves_nothing_names_nothing(tmp_path):
    ran = await run([sys.executable, "-c", "print('hi')"], tmp_path)
    assert ran.stdout_lines == ["hi"] and ran.leftovers == []


async def test_a_leftover_that_ignores_sigterm_is_killed(tmp_path):
    stubborn = ("import signal, time; signal.signal(signal.SIGTERM, signal.SIG_IGN); time.sleep(60)")
    code = ("import subprocess, sys; "
            f"d = subprocess.Popen([sys.executable, '-c', {stubborn!r}], start_new_session=True, "
            "stdout=subprocess.DEVNULL); print(d.pid, flush=True)")
    ran = await run([sys.executable, "-c", code], tmp_path)
    assert not alive(int(ran.stdout_lines[0]))
    assert len(ran.leftovers) == 1


async def test_a_timed_out_run_loses_its_daemons_too(tmp_path):
    code = daemonizing(keep_stdout=False)[2] + "; import time; time.sleep(60)"
    ran = await run([sys.executable, "-c", code], tmp_path, timeout_s=1)
    assert ran.timed_out
    assert not alive(int(ran.stdout_lines[0]))


async def test_a_cancelled_run_loses_its_daemons_too(tmp_path):
    pid_file = tmp_path / "daemon.pid"
    code = ("import subprocess, sys, time; "
            f"d = subprocess.Popen({SLEEPER!r}, start_new_session=True, stdout=subprocess.DEVNULL); "
            f"open({str(pid_file)!r}, 'w').write(str(d.pid)); time.sleep(60)")
    with anyio.move_on_after(1.5):
        await run([sys.executable, "-c", code], tmp_path)
    assert pid_file.exists()
    assert not alive(int(pid_file.read_text()))


async def test_processes_of_other_runs_and_of_the_user_are_left_alone(tmp_path, started):
    users = subprocess.Popen(SLEEPER, start_new_session=True)  # no marker: the user's own dev server
    other_run = subprocess.Popen(SLEEPER, start_new_session=True,
                                 env={**os.environ, processes.TURN_VARIABLE: processes.new_turn_marker()})
    started += [users, other_run]

    ran = await run(daemonizing(keep_stdout=False), tmp_path)

    assert len(ran.leftovers) == 1
    assert alive(users.pid) and alive(other_run.pid)


def test_a_nested_run_keeps_the_outer_marker(started):
    """A swarm started by an agent: its agents carry the outer turn's marker after their own."""
    outer, inner = processes.new_turn_marker(), processes.new_turn_marker()
    value = processes.turn_value(inner, processes.turn_value(outer, None))
    child = subprocess.Popen(SLEEPER, env={**os.environ, processes.TURN_VARIABLE: value})
    started.append(child)

    assert [p.pid for p in processes.marked_processes(outer)] == [child.pid]
    assert [p.pid for p in processes.stop_marked(inner, grace_s=0.5)] == [child.pid]
    assert child.wait(timeout=5) == -signal.SIGTERM


async def test_an_agent_daemon_is_named_in_its_outcome(tmp_path):
    """Through the command harness, as the engine runs every agent."""
    script = tmp_path / "script.json"
    script.write_text(json.dumps({"roles": {"*": {"*": [{"daemon": 60, "final": "done"}]}}}))
    harness = HarnessConfig(command=[sys.executable, str(FAKE_AGENT)], env={"FAKE_AGENT_SCRIPT": str(script)})
    request = AgentRequest(harness="fake", model="x", prompt="go\n", cwd=str(tmp_path), role="worker", timeout_s=20)

    outcome = await run_agent(request, harness)

    [daemon] = [int(line) for line in script.with_name("script.json.daemons").read_text().split()]
    assert outcome.ok and outcome.final_text == "done"
    assert [p.pid for p in outcome.leftovers] == [daemon]
    assert not alive(daemon)


# --- a stopped run's agents, found by their working directory ------------------------------

def test_processes_under_a_worktree_are_the_engines_only(tmp_path, started):
    worktree = tmp_path / "worktrees" / "w1"
    (worktree / "src").mkdir(parents=True)
    agent = subprocess.Popen(SLEEPER, cwd=worktree / "src", start_new_session=True,
                             env={**os.environ, "OOMPA_WORKTREE": str(worktree)})
    users_shell = subprocess.Popen(SLEEPER, cwd=worktree, start_new_session=True,
                                   env={k: v for k, v in os.environ.items() if not k.startswith("OOMPA_")})
    moved_away = subprocess.Popen(SLEEPER, cwd="/", start_new_session=True,  # a daemon's chdir("/")
                                  env={**os.environ, "OOMPA_WORKTREE": str(worktree)})
    elsewhere = subprocess.Popen(SLEEPER, cwd=tmp_path, env={**os.environ, "OOMPA_WORKTREE": str(tmp_path / "other")})
    started += [agent, users_shell, moved_away, elsewhere]

    assert sorted(processes.processes_under(tmp_path / "worktrees")) == sorted([agent.pid, moved_away.pid])
    assert sorted(processes.kill_processes_under(tmp_path / "worktrees")) == sorted([agent.pid, moved_away.pid])
    assert agent.wait(timeout=5) == moved_away.wait(timeout=5) == -signal.SIGKILL
    assert alive(users_shell.pid) and alive(elsewhere.pid)
