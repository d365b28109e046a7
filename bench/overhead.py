"""Point 2: what the swarm adds per task, against the git commands the task needs.

Swarm side: N pending tasks, W executors and a reviewer, all the instant agent; the whole
life of each task is timed (claim, worktree reset, agent, commit, review, merge queue,
completion), from `Swarm.open` to the end of `run`, in a process of its own.

Baseline side, on an identical repository in the same run: W threads take task ids from a
shared list and do only what git needs for each: reset (or, first time, add) a worktree on a
branch at the target tip, write the file, `git add -A`, `git commit`; then, one at a time,
`git merge-tree --write-tree`, `git commit-tree` and `git merge --ff-only` in the user's
checkout (the target is checked out there, so this is how its ref safely moves forward).
At the end each worktree is removed, as the swarm does. The two sides alternate order run by
run, so a slow stretch of the shared machine does not always hit the same side.
"""

from __future__ import annotations

import shutil
import subprocess
import threading
import time
from collections import deque
from pathlib import Path

from . import engine_proc
from .gitrepo import add_tasks, git, make_repo, write_config
from .stats import Figure, at_most, ratios

REPO_FILES = 100


def measure(workdir: Path, *, tasks: int, workers: int, runs: int, log) -> list[Figure]:
    swarm_s, base_s, engine_cpu = [], [], []
    for run in range(runs):
        sides = [_baseline, _swarm] if run % 2 == 0 else [_swarm, _baseline]
        timings = {}
        for side in sides:
            wall, cpu = side(workdir / f"overhead-{run}-{side.__name__.strip('_')}", tasks, workers)
            timings[side] = (wall, cpu)
        swarm_s.append(timings[_swarm][0] / tasks)
        base_s.append(timings[_baseline][0] / tasks)
        engine_cpu.append(timings[_swarm][1] / tasks)
        log(f"overhead run {run + 1}/{runs}: swarm {swarm_s[-1] * 1000:.1f} ms/task, "
            f"baseline {base_s[-1] * 1000:.1f} ms/task")
    setting = f"{tasks} tasks, {workers} workers"
    return [
        Figure("2", f"swarm wall per task ({setting})", "ms", [s * 1000 for s in swarm_s]),
        Figure("2", "baseline (git only) wall per task", "ms", [s * 1000 for s in base_s]),
        Figure("2", "engine process CPU per task", "ms", [s * 1000 for s in engine_cpu],
               note="the engine's own Python time; git and agents are child processes"),
        at_most(Figure("2", "overhead: swarm / baseline", "x", ratios(swarm_s, base_s)), 1.3),
    ]


def _swarm(root: Path, tasks: int, workers: int) -> tuple[float, float]:
    repo = make_repo(root / "repo", REPO_FILES)
    add_tasks(repo, tasks)
    write_config(repo, workers=workers, worktrees=root / "worktrees")
    report = engine_proc.run(repo)
    landed = report["events"].get("MergeLanded", 0)
    if not report["ok"] or landed != tasks:
        raise RuntimeError(f"the swarm did not land every task ({landed}/{tasks}): {report['reason']}")
    shutil.rmtree(root)
    return report["wall_s"], report["cpu_s"]


def _add_worktree(repo: Path, path: Path, branch: str) -> None:
    """`git worktree add`, run again when it lost a race with another add (git dies reading the
    other's half-written entry, as the engine's git adapter also knows)."""
    for attempt in range(6):
        try:
            git(repo, "worktree", "add", "-q", "-B", branch, str(path), "main")
            return
        except subprocess.CalledProcessError as exc:
            if b"worktrees/" not in (exc.stderr or b"") or attempt == 5:
                raise
            time.sleep(0.02 * 2**attempt)


def _baseline(root: Path, tasks: int, workers: int) -> tuple[float, float]:
    repo = make_repo(root / "repo", REPO_FILES)
    ids = deque(f"t{n:04d}" for n in range(tasks))
    take, merge = threading.Lock(), threading.Lock()

    def worker(number: int) -> None:
        path, branch, added = root / "worktrees" / f"w{number}", f"base/w{number}", False
        while True:
            with take:
                if not ids:
                    break
                task_id = ids.popleft()
            if added:
                git(path, "checkout", "-q", "--force", "-B", branch, "main")
            else:
                _add_worktree(repo, path, branch)
                added = True
            (path / f"bench-{task_id}.txt").write_text(f"done by {task_id}\n", encoding="utf-8")
            git(path, "add", "-A")
            git(path, "commit", "-q", "-m", f"{task_id}: write bench-{task_id}.txt")
            with merge:
                tree = git(repo, "merge-tree", "--write-tree", "main", branch)
                commit = git(repo, "commit-tree", tree, "-p", "main", "-p", branch, "-m", f"merge {task_id}")
                git(repo, "merge", "--ff-only", "-q", commit)
        if added:
            git(repo, "worktree", "remove", "--force", str(path))

    errors: list[BaseException] = []

    def guarded(number: int) -> None:
        try:
            worker(number)
        except BaseException as exc:  # reported below, with the count of landed tasks
            errors.append(exc)

    started = time.perf_counter()
    threads = [threading.Thread(target=guarded, args=(n,)) for n in range(workers)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    wall = time.perf_counter() - started
    if errors:
        raise RuntimeError(f"the baseline failed: {errors[0]!r}")
    commits = int(git(repo, "rev-list", "--count", "main"))
    if commits != 1 + 2 * tasks:
        raise RuntimeError(f"the baseline landed {(commits - 1) // 2} of {tasks} tasks")
    shutil.rmtree(root)
    return wall, 0.0
