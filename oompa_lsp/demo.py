"""`oompa demo`: a throwaway repository, three workers and a reviewer, the whole lifecycle.

The agents are `oompa_lsp.demo_agent` (scripted, no API key). The run includes a merge
conflict resolved by a resolver turn and a review that requests changes which are fixed.
May import: core, adapters, engine, console, live_run. Must not import: lsp, cli.
"""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from .adapters.run_log import RunLog
from .adapters.task_store import TaskStore
from .core import events as ev
from .core.tasks import Task
from .engine.swarm import Swarm
from .live_run import run_swarm

SPEC = """# calc

A tiny calculator.

- [ ] Subtraction: `subtract(a, b)` in calc.py
- [ ] Multiplication: `multiply(a, b)` in calc.py
- [ ] Division that refuses to divide by zero
- [ ] A README that says what this is
"""

TASKS = [
    Task(
        id="add-subtract",
        summary="Add subtract(a, b) to calc.py",
        spec="Subtraction: `subtract(a, b)` in calc.py",
        acceptance=["calc.subtract(5, 3) == 2"],
        priority=2,
    ),
    Task(
        id="add-multiply",
        summary="Add multiply(a, b) to calc.py",
        spec="Multiplication: `multiply(a, b)` in calc.py",
        acceptance=["calc.multiply(2, 3) == 6"],
        priority=2,
    ),
    Task(
        id="add-divide",
        summary="Add divide(a, b) that refuses b == 0",
        spec="Division that refuses to divide by zero",
        acceptance=["divide(6, 3) == 2", "divide(1, 0) raises ZeroDivisionError"],
        priority=1,
    ),
    Task(
        id="write-readme",
        summary="Write a README",
        spec="A README that says what this is",
        acceptance=["README.md says what the project is"],
    ),
]


def make_demo_repo(where: Path) -> Path:
    repo = where / "calc"
    repo.mkdir(parents=True)
    (repo / "calc.py").write_text("def add(a, b):\n    return a + b\n", encoding="utf-8")
    (repo / "spec.md").write_text(SPEC, encoding="utf-8")
    (repo / ".gitignore").write_text("__pycache__/\n", encoding="utf-8")
    (repo / "oompa.json").write_text(json.dumps(demo_config(), indent=2) + "\n", encoding="utf-8")
    for argv in (
        ["init", "-q", "-b", "main"],
        ["add", "-A"],
        ["-c", "user.name=oompa demo", "-c", "user.email=demo@oompa.invalid", "commit", "-q", "-m", "calc: add"],
    ):
        subprocess.run(["git", *argv], cwd=repo, check=True)
    store = TaskStore(repo / "tasks")
    for task in TASKS:
        store.write_new(task)
    return repo


def demo_config() -> dict[str, Any]:
    return {
        "workers": [{"model": "demo:worker", "count": 3, "iterations": 4, "timeout_s": 60}],
        "review_model": "demo:reviewer",
        "review": {"max_attempts": 3},
        "merge": {"checks": [[sys.executable, "-m", "py_compile", "calc.py"]]},
        "worktree": {"dir": "../worktrees"},
        "harnesses": {"demo": {"command": [sys.executable, "-m", "oompa_lsp.demo_agent"]}},
    }


def what_happened(repo: Path) -> str:
    """Counts of the lifecycle steps the run went through, from its event log."""
    run_log = RunLog.open_latest(repo / ".oompa")
    events = run_log.read_all() if run_log else []

    def count(kind: type[object]) -> int:
        return sum(1 for e in events if isinstance(e, kind))

    rejected = sum(1 for e in events if isinstance(e, ev.ReviewVerdictGiven) and not e.approved)
    return (
        f"What happened: {count(ev.TaskClaimed)} claims, {count(ev.AgentFinished)} agent turns, "
        f"{count(ev.ReviewVerdictGiven)} reviews ({rejected} asked for changes), "
        f"{count(ev.MergeConflicted)} merge conflict(s) resolved by the worker, "
        f"{count(ev.MergeLanded)} merges landed, {count(ev.BranchParked)} branch(es) parked."
    )


def run_demo(where: Path | None) -> int:
    base = Path(where) if where else Path(tempfile.mkdtemp(prefix="oompa-demo-"))
    repo = make_demo_repo(base)
    print(f"demo repository: {repo}\n")
    started = time.monotonic()
    code = run_swarm(Swarm.open(repo))
    print(f"\nfinished in {time.monotonic() - started:.1f}s.")
    print(what_happened(repo))
    print("\nWhere to look:")
    print(f"  git -C {repo} log --oneline --graph   the merges the queue landed")
    oompa = shutil.which("oompa") or str(Path(sys.executable).with_name("oompa"))
    print(f"  {oompa} -C {repo} status   the final snapshot (add --json for the editor's view)")
    print(f"  {oompa} -C {repo} report --png   the run's report: its timeline and tables (HTML, PNG)")
    print(f"  {repo}/.oompa/runs/                   events.jsonl and agent transcripts")
    print(f"  {repo}/tasks/complete/                each task with its attempts, verdicts and feedback")
    return code
