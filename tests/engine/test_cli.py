"""The `oompa` command as a user runs it: real processes, signals, a second terminal."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from oompa_lsp.adapters.processes import processes_under
from oompa_lsp.core.tasks import Task

from .swarm_fixtures import Project, git, make_project

_SLOW = [{"write": {"{task_id}.txt": "partial\n"}, "sleep": 60},
         {"write": {"{task_id}.txt": "done\n"}, "final": "COMPLETE_AND_READY_FOR_MERGE"}]
SLOW_FIRST = {"roles": {  # t1..t3 hang on their first call; everything else is quick
    "reviewer": {"*": [{"final": "VERDICT: APPROVED"}]},
    "worker": {"t1": _SLOW, "t2": _SLOW, "t3": _SLOW,
               "*": [{"write": {"{task_id}.txt": "done\n"}, "final": "COMPLETE_AND_READY_FOR_MERGE"}],
               "-": [{"final": "__DONE__"}]}}}


def oompa(project: Project, *args: str, timeout: float = 60) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "oompa_lsp.cli", "-C", str(project.root), *args],
                          capture_output=True, text=True, timeout=timeout)


def start_swarm(project: Project) -> subprocess.Popen:
    return subprocess.Popen([sys.executable, "-m", "oompa_lsp.cli", "-C", str(project.root), "swarm"],
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)


def wait_for(predicate, timeout: float = 30, what: str = "condition") -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return
        time.sleep(0.05)
    raise AssertionError(f"timed out waiting for {what}")


def agents_alive(project: Project) -> list[int]:
    return processes_under(project.root.parent / "worktrees")


@pytest.fixture
def busy_project(tmp_path):
    project = make_project(tmp_path)
    project.configure(SLOW_FIRST)
    project.add_tasks(*(Task(id=f"t{n}", summary=f"task {n}") for n in range(1, 5)))
    yield project
    for pid in agents_alive(project):
        os.kill(pid, signal.SIGKILL)


def test_kill_9_then_a_new_run_recovers_every_claim(busy_project):
    project = busy_project
    swarm = start_swarm(project)
    wait_for(lambda: len(agents_alive(project)) == 3, what="three agents at work")
    swarm.kill()  # SIGKILL: no cleanup runs
    swarm.wait(timeout=10)
    assert len(project.task_files("current")) == 3
    status = json.loads(oompa(project, "status", "--json").stdout)
    assert status["state"] == "stopped"

    rerun = oompa(project, "swarm", timeout=120)

    assert rerun.returncode == 0, rerun.stdout + rerun.stderr
    assert rerun.stdout.count("recovered from") == 3
    assert "ended" in rerun.stdout and "agent process(es) left by a stopped run" in rerun.stdout
    assert project.task_files("complete") == ["t1", "t2", "t3", "t4"]
    for n in range(1, 5):
        assert git(project.root, "show", f"main:t{n}.txt") == "done"
    assert agents_alive(project) == []


def test_ctrl_c_kills_agents_returns_claims_and_keeps_worktrees(busy_project):
    project = busy_project
    swarm = start_swarm(project)
    wait_for(lambda: len(project.task_files("current")) == 3, what="three claims")
    wait_for(lambda: len(agents_alive(project)) >= 3, what="three agents")
    started = time.monotonic()
    swarm.send_signal(signal.SIGINT)
    output, _ = swarm.communicate(timeout=30)

    assert time.monotonic() - started < 10
    assert swarm.returncode == 1 and "stopped: interrupted" in output
    assert project.task_files("current") == []
    assert project.task_files("pending") == ["t1", "t2", "t3", "t4"]
    assert agents_alive(project) == []
    assert len(list((project.root.parent / "worktrees").iterdir())) == 3


def test_oompa_stop_from_another_terminal(busy_project):
    project = busy_project
    swarm = start_swarm(project)
    wait_for(lambda: len(project.task_files("current")) == 3, what="three claims")
    stop = oompa(project, "stop")
    output, _ = swarm.communicate(timeout=30)

    assert stop.returncode == 0 and "asked the swarm" in stop.stdout
    assert swarm.returncode == 1 and "stopped with `oompa stop`" in output
    assert project.task_files("current") == []
    assert agents_alive(project) == []
    assert oompa(project, "stop").returncode == 1


def test_review_from_the_cli_in_human_mode(tmp_path):
    project = make_project(tmp_path)
    project.configure({"roles": {"worker": {"*": [{"write": {"r.txt": "r\n"}, "final": "COMPLETE_AND_READY_FOR_MERGE"},
                                                  {"write": {"r.txt": "r2\n"}, "final": "COMPLETE_AND_READY_FOR_MERGE"}],
                                            "-": [{"final": "__DONE__"}]}}},
                      workers=[{"model": "fake:m", "count": 1}], review={"mode": "human"})
    project.add_tasks(Task(id="r", summary="reviewed by a human"))
    swarm = start_swarm(project)

    def pending_review() -> str | None:
        listed = oompa(project, "review").stdout
        return listed.split()[0] if listed.startswith("r-") else None

    wait_for(lambda: pending_review() is not None, what="a pending review")
    first = pending_review()
    assert oompa(project, "review", "reject", first).returncode == 2  # feedback is required
    assert oompa(project, "review", "reject", first, "-m", "say r2").returncode == 0
    wait_for(lambda: (pending_review() or first) != first, what="the second round")
    assert oompa(project, "review", "approve", pending_review()).returncode == 0
    output, _ = swarm.communicate(timeout=60)

    assert swarm.returncode == 0, output
    assert git(project.root, "show", "main:r.txt") == "r2"
    fix_prompt = [c for c in project.calls() if c["task_id"] == "r"][1]["prompt"]
    assert "say r2" in fix_prompt


def test_status_json_while_running_and_tasks_table(busy_project):
    project = busy_project
    swarm = start_swarm(project)
    try:
        wait_for(lambda: len(project.task_files("current")) == 3, what="three claims")
        status = json.loads(oompa(project, "status", "--json").stdout)
        assert status["state"] == "running"
        assert sorted(status["workers"]) == ["w1", "w2", "w3"]
        assert sum(1 for t in status["tasks"].values() if t["state"] == "current") == 3
        tasks = oompa(project, "tasks").stdout
        assert "CURRENT (3)" in tasks and "PENDING (1)" in tasks
        refused = oompa(project, "cleanup")
        assert refused.returncode == 1 and "running" in refused.stdout
    finally:
        swarm.send_signal(signal.SIGINT)
        swarm.communicate(timeout=30)


def test_requeue_a_failed_task(tmp_path):
    project = make_project(tmp_path)
    project.configure({"roles": {}}, review={"mode": "none"})
    project.add_tasks(Task(id="f", summary="failed once"))
    os.makedirs(project.root / "tasks" / "failed")
    os.rename(project.root / "tasks" / "pending" / "f.json", project.root / "tasks" / "failed" / "f.json")
    result = oompa(project, "requeue", "f")
    assert result.returncode == 0 and project.task_files("pending") == ["f"]
    missing = oompa(project, "requeue", "nope")
    assert missing.returncode == 2 and "nope" in missing.stderr and "Traceback" not in missing.stderr


def test_a_target_branch_that_does_not_exist_stops_the_swarm_before_it_starts(tmp_path):
    project = make_project(tmp_path)
    project.configure({"roles": {}}, target_branch="release", review={"mode": "none"})
    project.add_tasks(Task(id="t", summary="never claimed"))
    result = oompa(project, "swarm")
    assert result.returncode == 2 and "Traceback" not in result.stderr
    assert 'target branch "release" does not exist' in result.stderr and "git branch release" in result.stderr
    assert project.task_files("pending") == ["t"] and project.calls() == []


def test_check_reports_a_missing_agent_binary(tmp_path):
    project = make_project(tmp_path)
    project.configure({"roles": {}}, workers=[{"model": "ghost:m"}],
                      harnesses={"ghost": {"command": ["no-such-agent-binary"]}}, review={"mode": "none"})
    result = oompa(project, "check")
    assert result.returncode == 1
    assert "ghost" in result.stdout and "FAIL" in result.stdout


def test_check_names_a_prompt_token_it_cannot_fill_and_prints_config_warnings(tmp_path):
    project = make_project(tmp_path)
    (project.root / "mine.md").write_text("Work in {{TASKS_ROOT}}.\nSee {{FOO}}.\n$HOME\n", encoding="utf-8")
    project.configure({"roles": {}}, workers=[{"model": "fake:m", "prompt": "mine.md"}])
    result = oompa(project, "check")
    assert result.returncode == 1
    assert f"  FAIL  {project.root / 'mine.md'}:2: `{{{{FOO}}}}` is not a token the engine can fill" in result.stdout
    assert f"  warn  {project.root / 'mine.md'}:3: `$HOME` is not a placeholder" in result.stdout
    assert "TASKS_ROOT" not in result.stdout  # a token it fills is not a problem
    refused = oompa(project, "swarm")
    assert refused.returncode == 2 and "mine.md:2:" in refused.stderr and project.calls() == []


def test_check_show_prompt_prints_what_a_reviewer_would_get_without_running_an_agent(tmp_path):
    project = make_project(tmp_path)
    (project.root / "style.md").write_text("Be terse.\n", encoding="utf-8")
    project.configure({"roles": {}}, review_model={"model": "fake:reviewer", "prompt": ["style.md"]},
                      merge={"checks": [["make", "test"]]})
    project.add_tasks(Task(id="first", summary="the first pending task", acceptance=["it works"]))
    result = oompa(project, "check", "--show-prompt", "reviewer")
    assert result.returncode == 0, result.stderr
    out = result.stdout
    assert out.startswith("Be terse.\n")
    for section in ("## The task", "## Checks the engine ran", "## The change (full diff from the merge base)",
                    "## Your answer"):
        assert section in out
    assert "`first`: the first pending task" in out and "it works" in out and "`make test`" in out
    assert "VERDICT: APPROVED" in out and "```diff\ndiff --git" in out
    worker = oompa(project, "check", "--show-prompt", "worker")
    assert "`first`: the first pending task" in worker.stdout and str(project.root / "tasks") in worker.stdout
    assert project.calls() == []


def test_cleanup_removes_merged_worktrees_and_reports_disk(tmp_path):
    project = make_project(tmp_path)
    project.configure({"roles": {}}, review={"mode": "none"})
    worktree = project.root.parent / "worktrees" / "old"
    git(project.root, "worktree", "add", "-q", "--detach", str(worktree), "main")
    (worktree / "big.bin").write_bytes(b"x" * 200_000)
    git(project.root, "-C", str(worktree), "add", "big.bin")  # staged, uncommitted: must be kept
    kept = oompa(project, "cleanup")
    assert "kept" in kept.stdout and worktree.exists()
    git(project.root, "-C", str(worktree), "reset", "-q", "--hard")
    result = oompa(project, "cleanup")
    assert result.returncode == 0 and "removed worktree" in result.stdout
    assert not worktree.exists() and "freed" in result.stdout


def test_cleanup_removes_a_left_check_worktree_of_the_merge_train_but_not_unmerged_work(tmp_path):
    project = make_project(tmp_path)
    project.configure({"roles": {}}, review={"mode": "none"})
    root, worktrees = project.root, project.root.parent / "worktrees"
    git(root, "branch", "oompa/a/1", "main")
    (root / "a.txt").write_text("a\n", encoding="utf-8")  # the worker's commit, on its branch
    git(root, "checkout", "-q", "oompa/a/1")
    git(root, "add", "a.txt")
    git(root, "commit", "-q", "-m", "a")
    git(root, "checkout", "-q", "main")
    # a run killed mid-train left its check worktree at the queue's merge of that branch
    merge = git(root, "commit-tree", git(root, "rev-parse", "oompa/a/1^{tree}"), "-p", "main", "-p", "oompa/a/1",
                "-m", "oompa: merge a")
    git(root, "worktree", "add", "-q", "--detach", str(worktrees / "check-1"), merge)
    # and an agent's own commit in a detached worktree, on no branch: work, kept
    git(root, "worktree", "add", "-q", "--detach", str(worktrees / "check-2"), "main")
    (worktrees / "check-2" / "b.txt").write_text("b\n", encoding="utf-8")
    git(root, "-C", str(worktrees / "check-2"), "add", "b.txt")
    git(root, "-C", str(worktrees / "check-2"), "commit", "-q", "-m", "b only here")

    result = oompa(project, "cleanup")

    assert result.returncode == 0, result.stderr
    assert f"removed worktree {worktrees / 'check-1'}" in result.stdout and not (worktrees / "check-1").exists()
    assert "check-2: holds work not merged into main" in result.stdout and (worktrees / "check-2").exists()


def _fake_cli(folder: Path, name: str, version_line: str) -> None:
    program = folder / name
    program.write_text(f"#!/bin/sh\necho '{version_line}'\n", encoding="utf-8")
    program.chmod(0o755)


def test_init_writes_a_config_for_the_clis_found_and_overwrites_nothing(tmp_path):
    project = make_project(tmp_path)
    spec_before = (project.root / "spec.md").read_text(encoding="utf-8")
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    _fake_cli(bin_dir, "codex", "codex-cli 0.169.0")
    _fake_cli(bin_dir, "gemini", "0.1.0")
    env = {**os.environ, "PATH": f"{bin_dir}{os.pathsep}{Path(sys.executable).parent}{os.pathsep}/usr/bin:/bin"}

    first = subprocess.run([sys.executable, "-m", "oompa_lsp.cli", "-C", str(project.root), "init"],
                           capture_output=True, text=True, timeout=60, env=env)

    assert first.returncode == 0, first.stderr
    config = json.loads((project.root / "oompa.json").read_text(encoding="utf-8"))
    assert config["workers"][0]["model"].startswith("codex:") and config["review_model"].startswith("gemini:")
    assert "codex-cli 0.169.0 (the verified release)" in first.stdout
    assert "gemini" in first.stdout and "verified with 0.61.0" in first.stdout
    assert "claude: not installed" in first.stdout
    assert (project.root / "spec.md").read_text(encoding="utf-8") == spec_before  # kept, not overwritten
    assert sorted(p.name for p in (project.root / "tasks").iterdir()) == ["complete", "current", "failed", "pending"]
    assert "oompa check" in first.stdout.splitlines()[-1]
    check = subprocess.run([sys.executable, "-m", "oompa_lsp.cli", "-C", str(project.root), "check"],
                           capture_output=True, text=True, timeout=60, env=env)
    assert check.returncode == 0 and "ready to run" in check.stdout, check.stdout

    written = (project.root / "oompa.json").read_text(encoding="utf-8")
    again = subprocess.run([sys.executable, "-m", "oompa_lsp.cli", "-C", str(project.root), "init"],
                           capture_output=True, text=True, timeout=60, env=env)
    assert again.returncode == 1 and "writes nothing over it" in again.stdout
    assert (project.root / "oompa.json").read_text(encoding="utf-8") == written


# The shapes of the three configs the original oompa ships (written here from its documented
# format): a planner, executors that cannot plan, no reviewer; four spark workers with a
# reviewer object whose prompt is the user's own; one worker with `iterations`.
ORIGINAL_SHAPES = {
    "example": {"workers": [
        {"model": "claude:opus", "prompt": ["config/prompts/planner.md"], "max_cycle": 5, "count": 1, "wait_between": 60},
        {"model": "codex:gpt-5.3-codex:medium", "prompt": ["config/prompts/executor.md"], "max_cycle": 10, "count": 2,
         "can_plan": False},
        {"model": "opencode:opencode/kimi-k2.5-free", "prompt": ["config/prompts/executor.md"], "max_cycle": 10,
         "count": 1, "can_plan": False},
        {"model": "gemini:gemini-3-pro-preview", "prompt": ["config/prompts/executor.md"], "max_cycle": 10,
         "count": 1, "can_plan": False}]},
    "team": {"workers": [{"model": "codex:gpt-5.3-codex-spark", "prompt": ["config/prompts/team-executor.md",
                                                                          "config/prompts/executor.md"],
                          "max_cycle": 180, "count": 4, "can_plan": False}],
             "reviewer": {"model": "gemini:gemini-3.1", "prompt": ["config/prompts/team-reviewer.md"]}},
    "single": {"workers": [{"model": "codex:gpt-5.3-codex-spark", "iterations": 1, "count": 1}]},
}


@pytest.mark.parametrize("shape", sorted(ORIGINAL_SHAPES))
def test_the_original_oompa_s_example_config_shapes_pass_oompa_check(tmp_path, shape):
    project = make_project(tmp_path)
    (project.root / "oompa.json").write_text(json.dumps(ORIGINAL_SHAPES[shape], indent=2), encoding="utf-8")
    prompts = project.root / "config" / "prompts"
    prompts.mkdir(parents=True)
    (prompts / "team-executor.md").write_text("Work in small steps; tasks are in {{TASKS_ROOT}}.\n", encoding="utf-8")
    (prompts / "team-reviewer.md").write_text("Be strict. Answer APPROVED or NEEDS_CHANGES.\n", encoding="utf-8")
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    for name, version in (("claude", "2.1.197 (Claude Code)"), ("codex", "codex-cli 0.169.0"),
                          ("gemini", "0.61.0"), ("opencode", "1.18.33")):
        _fake_cli(bin_dir, name, version)
    env = {**os.environ, "PATH": f"{bin_dir}{os.pathsep}{Path(sys.executable).parent}{os.pathsep}/usr/bin:/bin"}

    check = subprocess.run([sys.executable, "-m", "oompa_lsp.cli", "-C", str(project.root), "check"],
                           capture_output=True, text=True, timeout=60, env=env)

    assert check.returncode == 0, check.stdout + check.stderr
    assert "ready to run" in check.stdout and "FAIL" not in check.stdout
    if shape != "team":  # no reviewer at all: review is off, and said so
        assert "review is off" in check.stdout
    if shape == "example":  # the original's install paths stand for our bundled prompts, said so
        assert "config/prompts/executor.md" in check.stdout and "bundled" in check.stdout
