"""Point 2: what the swarm adds per task, against the git commands the task needs.

Swarm side: N pending tasks, W executors and a reviewer, all the instant agent; the whole
life of each task is timed (claim, worktree reset, agent, commit, review, merge queue,
completion), from `Swarm.open` to the end of `run`, in a process of its own.

Baseline side, on an identical repository in the same run: W threads take task ids from a
shared list and do only what git needs for each: reset (or, first time, add) a worktree on a
branch at the target tip, write the file, `git add -A`, `git commit`; then, one at a time,
`git merge-tree --write-tree`, `git commit-tree` and `git merge --ff-only` in the user's
checkout (the target is checked out there, so this is how its ref safely moves forward).
At the end each worktree is removed, as the swarm does.

A third side, the floor, is the baseline plus what the task itself asks for beyond git, done
the plainest way: the worker agent runs (`instant_agent.sh`, which writes the file), the
reviewer gets its diff (`git diff main...branch`), the reviewer agent runs, and `git status`
checks that it changed nothing (DESIGN §2, invariant 7). The swarm over the floor is what the
engine itself adds. The sides rotate order run by run, so a slow stretch of the shared
machine does not always hit the same side.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import threading
import time
from collections import deque
from pathlib import Path

from . import engine_proc
from .gitrepo import INSTANT_AGENT, add_tasks, git, make_repo, write_config
from .stats import Figure, at_most, ratios

REPO_FILES = 100


def measure(workdir: Path, *, tasks: int, workers: int, runs: int, log) -> list[Figure]:
    swarm_s, base_s, floor_s, engine_cpu = [], [], [], []
    sides = [_baseline, _floor, _swarm]
    for run in range(runs):
        order = sides[run % 3:] + sides[:run % 3]
        timings = {side: side(workdir / f"overhead-{run}-{side.__name__.strip('_')}", tasks, workers)
                   for side in order}
        swarm_s.append(timings[_swarm][0] / tasks)
        base_s.append(timings[_baseline][0] / tasks)
        floor_s.append(timings[_floor][0] / tasks)
        engine_cpu.append(timings[_swarm][1] / tasks)
        log(f"overhead run {run + 1}/{runs}: swarm {swarm_s[-1] * 1000:.1f} ms/task, "
            f"baseline {base_s[-1] * 1000:.1f} ms/task, floor {floor_s[-1] * 1000:.1f} ms/task")
    setting = f"{tasks} tasks, {workers} workers"
    return [
        Figure("2", f"swarm wall per task ({setting})", "ms", [s * 1000 for s in swarm_s]),
        Figure("2", "baseline (git only) wall per task", "ms", [s * 1000 for s in base_s]),
        Figure("2", "floor (baseline + agents, review diff, status)", "ms", [s * 1000 for s in floor_s],
               note="the git baseline plus the two agent runs and the review's diff and status check"),
        Figure("2", "engine process CPU per task", "ms", [s * 1000 for s in engine_cpu],
               note="the engine's own Python time; git and agents are child processes"),
        # A guard against regressions, not a goal: the engine's share beside a real agent turn is noise.
        at_most(Figure("2", "overhead: swarm / baseline", "x", ratios(swarm_s, base_s)), 2.0),
        Figure("2", "floor / baseline", "x", ratios(floor_s, base_s),
               note="what the agents and the review cost by themselves, done the plainest way"),
        Figure("2", "swarm / floor", "x", ratios(swarm_s, floor_s),
               note="what the engine adds beyond the work the task itself asks for"),
    ]


def _swarm(root: Path, tasks: int, workers: int) -> tuple[float, float]:
    repo = make_repo(root / "repo", REPO_FILES)
    add_tasks(repo, tasks)
    write_config(repo, workers=workers, worktrees=root / "worktrees")
    report = engine_proc.run_landing_all(repo, tasks)
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
    return _git_only(root, tasks, workers, with_agents=False)


def _floor(root: Path, tasks: int, workers: int) -> tuple[float, float]:
    return _git_only(root, tasks, workers, with_agents=True)


def _run_agent(cwd: Path, role: str, task_id: str) -> None:
    env = {**os.environ, "OOMPA_ROLE": role, "OOMPA_TASK_ID": task_id}
    subprocess.run(["sh", str(INSTANT_AGENT)], cwd=cwd, env=env, input=b"", capture_output=True, check=True)


def _git_only(root: Path, tasks: int, workers: int, *, with_agents: bool) -> tuple[float, float]:
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
            if with_agents:
                _run_agent(path, "executor", task_id)
            else:
                (path / f"bench-{task_id}.txt").write_text(f"done by {task_id}\n", encoding="utf-8")
            git(path, "add", "-A")
            git(path, "commit", "-q", "-m", f"{task_id}: write bench-{task_id}.txt")
            if with_agents:
                git(repo, "diff", f"main...{branch}")
                _run_agent(path, "reviewer", task_id)
                git(path, "status", "--porcelain", "--untracked-files=all")
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
