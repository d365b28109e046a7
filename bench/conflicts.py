"""Issue 17, point 5 (scheduling): conflicts prevented before they happen, at no cost to
tasks that keep apart.

One file: tasks that all declare one file, each rewriting it whole, on fewer workers than
tasks. Scheduling must run them one after another, each from a tip holding the one before,
so the count of merge conflicts is zero. The same tasks with nothing declared are measured
beside them, as context: that is what the swarm meets when it is not told.

Apart: tasks that each declare a file of their own, against the very same tasks with nothing
declared, in the same run: declaring must not hold anything back (wall time ratio).

Agents are `instant_agent.sh` with BENCH_AGENT_SLEEP, so a turn takes a moment, as a real
one does, and running side by side matters.
"""

from __future__ import annotations

import shutil
from pathlib import Path

from . import engine_proc
from .gitrepo import add_tasks, make_repo, write_config
from .stats import Figure, at_most, equals, ratios

REPO_FILES = 100


def measure(workdir: Path, *, tasks: int, workers: int, runs: int, sleep_s: float, log) -> list[Figure]:
    declared_conflicts, undeclared_conflicts, apart_s, undeclared_s = [], [], [], []
    for run in range(runs):
        base = workdir / f"conflicts-{run}"
        declared_conflicts.append(_one_file(base / "declared", tasks, workers // 2, sleep_s, declare=True)[1])
        undeclared_conflicts.append(_one_file(base / "undeclared", tasks, workers // 2, sleep_s, declare=False)[1])
        sides = [("apart", True), ("undeclared-apart", False)]
        for name, declare in sides if run % 2 == 0 else sides[::-1]:
            wall = _apart(base / name, tasks, workers, sleep_s, declare=declare)
            (apart_s if declare else undeclared_s).append(wall)
        log(f"conflicts run {run + 1}/{runs}: one file {declared_conflicts[-1]} conflicts declared, "
            f"{undeclared_conflicts[-1]} undeclared; apart {apart_s[-1]:.2f} s, undeclared {undeclared_s[-1]:.2f} s")
    one = f"{tasks} tasks on one declared file, {workers // 2} workers"
    apart = f"{tasks} tasks on {tasks} declared files, {workers} workers"
    return [
        equals(Figure("17", f"merge conflicts ({one})", "count", declared_conflicts), 0),
        Figure("17", "merge conflicts, the same tasks undeclared", "count", undeclared_conflicts,
               note="what the swarm meets when the tasks do not say what they touch"),
        Figure("17", f"wall ({apart})", "s", apart_s),
        at_most(Figure("17", "declared apart / undeclared", "x", ratios(apart_s, undeclared_s)), 1.2),
    ]


def _one_file(root: Path, tasks: int, workers: int, sleep_s: float, *, declare: bool) -> tuple[float, int]:
    files = (lambda _task_id: ["notes.txt"]) if declare else None
    report = _swarm(root, tasks, workers, {"BENCH_AGENT_SLEEP": str(sleep_s), "BENCH_AGENT_FILE": "notes.txt"},
                    files)
    return report["wall_s"], report["events"].get("MergeConflicted", 0)


def _apart(root: Path, tasks: int, workers: int, sleep_s: float, *, declare: bool) -> float:
    files = (lambda task_id: [f"bench-{task_id}.txt"]) if declare else None
    return _swarm(root, tasks, workers, {"BENCH_AGENT_SLEEP": str(sleep_s)}, files)["wall_s"]


def _swarm(root: Path, tasks: int, workers: int, env: dict[str, str], files) -> dict:
    repo = make_repo(root / "repo", REPO_FILES)
    add_tasks(repo, tasks, files=files)
    write_config(repo, workers=workers, worktrees=root / "worktrees", agent_env=env)
    report = engine_proc.run_landing_all(repo, tasks)
    shutil.rmtree(root)
    return report
