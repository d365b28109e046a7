"""`oompa swarm` in a real terminal (tmux): the live dashboard stays in place with a row per
worker, redraws when a task lands, survives a resize, and Ctrl-C stops the swarm cleanly.
Piped, the same run prints plain lines."""

from __future__ import annotations

import os
import re
import shlex
import subprocess
import sys
import time
import uuid

import pytest
from system_tools import tmux

from oompa_lsp.core.tasks import Task

from .swarm_fixtures import make_project

SCRIPT = {"roles": {
    "reviewer": {"*": [{"final": "VERDICT: APPROVED"}]},
    "worker": {"slow": [{"write": {"slow.txt": "partial\n"}, "sleep": 120}],  # holds until Ctrl-C
               "*": [{"write": {"{task_id}.txt": "done\n"}, "final": "COMPLETE_AND_READY_FOR_MERGE"}],
               "-": [{"final": "__DONE__"}]}}}


class Terminal:
    """A tmux session on a private server: type into it, read its screen."""

    def __init__(self, command: list[str], width: int = 120, height: int = 40) -> None:
        self.binary, self.socket = tmux(), f"oompa-test-{uuid.uuid4().hex[:8]}"
        env = {k: v for k, v in os.environ.items() if k != "CI"}  # a person's terminal, not CI
        shell = f"{shlex.join(command)}; echo EXIT=$?; sleep 600"
        self.run("new-session", "-d", "-s", "t", "-x", str(width), "-y", str(height), shell, env=env)

    def run(self, *args: str, env: dict[str, str] | None = None) -> str:
        argv = [self.binary, "-L", self.socket, *args]
        return subprocess.run(argv, capture_output=True, text=True, check=True, timeout=30, env=env).stdout

    def screen(self) -> str:
        return self.run("capture-pane", "-p", "-t", "t")

    def wait_for(self, predicate, what: str, timeout: float = 60) -> str:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            screen = self.screen()
            if predicate(screen):
                return screen
            time.sleep(0.1)
        raise AssertionError(f"timed out waiting for {what}; the screen:\n{self.screen()}")

    def close(self) -> None:
        subprocess.run([self.binary, "-L", self.socket, "kill-server"], capture_output=True, timeout=30)


def worker_row(screen: str, worker: str) -> str | None:
    """The worker's row when it is drawn exactly once (twice: the view was not redrawn in place)."""
    rows = [line for line in screen.splitlines() if re.match(rf"^{worker}\s", line)]
    return rows[0] if len(rows) == 1 else None


def dashboards(screen: str) -> int:
    return sum(1 for line in screen.splitlines() if line.startswith("oompa run "))


@pytest.fixture
def project(tmp_path):
    project = make_project(tmp_path)
    project.configure(SCRIPT, workers=[{"model": "fake:model", "count": 2, "iterations": 10, "timeout_s": 300}])
    project.add_tasks(Task(id="quick", summary="lands soon", priority=2), Task(id="slow", summary="never ends", priority=1))
    return project


@pytest.mark.timeout(600)  # on a fresh machine, tmux() may first install it with apt
def test_the_dashboard_redraws_in_place_when_a_task_lands_and_ctrl_c_stops(project):
    term = Terminal([sys.executable, "-m", "oompa_lsp.cli", "-C", str(project.root), "swarm"])
    try:
        first = term.wait_for(lambda s: worker_row(s, "w1") and worker_row(s, "w2"), "one row per worker")
        assert dashboards(first) == 1 and "worker" in first and "in phase" in first
        landed = term.wait_for(lambda s: "quick merged into main" in s and "1 complete" in s and worker_row(s, "w1")
                               and worker_row(s, "w2") and dashboards(s) == 1, "the landing, redrawn in place")
        assert dashboards(landed) == 1  # the same dashboard, redrawn, with the landing above it
        assert landed.index("quick merged into main") < landed.index("oompa run ")
        slow_row = next(row for w in ("w1", "w2") if "slow" in (row := worker_row(landed, w) or ""))
        assert "working" in slow_row and re.search(r"\d+s", slow_row)

        term.run("resize-window", "-t", "t", "-x", "60", "-y", "30")
        narrow = term.wait_for(lambda s: worker_row(s, "w1") and worker_row(s, "w2") and dashboards(s) == 1,
                               "the dashboard redrawn at 60 columns", timeout=20)
        assert all(len(line) <= 60 for line in narrow.splitlines())

        term.run("send-keys", "-t", "t", "C-c")
        ended = term.wait_for(lambda s: "EXIT=" in s, "the swarm to stop")
        assert "EXIT=1" in ended and "stopped: interrupted (Ctrl-C)" in ended
    finally:
        term.close()
    assert project.task_files("pending") == ["slow"] and project.task_files("complete") == ["quick"]


def test_piped_it_prints_plain_lines(project):
    script = {"roles": {**SCRIPT["roles"], "worker": {**SCRIPT["roles"]["worker"], "slow": SCRIPT["roles"]["worker"]["*"]}}}
    project.configure(script, workers=[{"model": "fake:model", "count": 2, "iterations": 10, "timeout_s": 60}])
    done = subprocess.run([sys.executable, "-m", "oompa_lsp.cli", "-C", str(project.root), "swarm"],
                          capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stdout + done.stderr
    assert "\x1b[" not in done.stdout  # no cursor movement, no colour
    assert "quick merged into main" in done.stdout and "slow merged into main" in done.stdout
    assert done.stdout.rstrip().endswith("done: all 2 task(s) complete")
