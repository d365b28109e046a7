"""Issue 17, point 5 (the merge train): a swarm whose queue runs real checks.

N instant tasks on W workers with a check that takes C seconds (`sleep`), the engine in a
process of its own. The check runs twice per task, as the swarm runs it: in the worker's
worktree before review, and on the merged tree before landing (unless the merged tree is the
one already checked). Sides, in the same run, order rotated run by run:

- train: `merge.parallel_checks` left at its default (several merged trees checked at once);
- one at a time: `merge.parallel_checks: 1` (the queue as it was before the train);
- the serial floor: N x the check's own duration, measured here (what checking N landings
  one after another costs however fast everything else is).

Judged: train wall / serial floor (target <= 0.40; the queue one at a time took 1.12x).
"""

from __future__ import annotations

import shutil
import subprocess
import time
from pathlib import Path

from . import engine_proc
from .gitrepo import add_tasks, make_repo, write_config
from .stats import Figure, at_most, ratios

REPO_FILES = 100


def measure(workdir: Path, *, tasks: int, workers: int, check_s: float, runs: int, log,
            parallel: int | None = None) -> list[Figure]:
    train, serial, floor, reused = [], [], [], []
    sides = ["train", "serial"]
    for run in range(runs):
        check = _check_duration(check_s)
        floor.append(tasks * check)
        walls: dict[str, float] = {}
        for side in sides[run % 2:] + sides[:run % 2]:
            limit = parallel if side == "train" else 1
            walls[side], hits = _swarm(workdir / f"train-{run}-{side}", tasks, workers, check_s, limit)
            if side == "train":
                reused.append(hits)
        train.append(walls["train"])
        serial.append(walls["serial"])
        log(f"train run {run + 1}/{runs}: train {train[-1]:.1f} s, one at a time {serial[-1]:.1f} s, "
            f"serial floor {floor[-1]:.1f} s, merged checks reused {reused[-1]}")
    setting = f"{tasks} tasks, {workers} workers, {check_s:g} s check"
    return [
        Figure("17", f"train wall ({setting})", "s", train),
        Figure("17", "one at a time (parallel_checks: 1) wall", "s", serial),
        Figure("17", f"serial floor ({tasks} x the check)", "s", floor,
               note="checking every landing one after another, nothing else"),
        Figure("17", "merged-tree checks reused (train)", "n", reused,
               note="merged trees already checked in the worktree: their result reused"),
        at_most(Figure("17", "train / serial floor", "x", ratios(train, floor)), 0.40),
        Figure("17", "one at a time / serial floor", "x", ratios(serial, floor),
               note="the queue before the train: 1.12x in the issue's measurement"),
        Figure("17", "train / one at a time", "x", ratios(train, serial)),
    ]


def _check_duration(check_s: float) -> float:
    started = time.perf_counter()
    subprocess.run(["sleep", f"{check_s:g}"], check=True)
    return time.perf_counter() - started


def _swarm(root: Path, tasks: int, workers: int, check_s: float, parallel: int | None) -> tuple[float, int]:
    repo = make_repo(root / "repo", REPO_FILES)
    add_tasks(repo, tasks)
    merge: dict = {"checks": [["sleep", f"{check_s:g}"]]}
    if parallel is not None:
        merge["parallel_checks"] = parallel
    write_config(repo, workers=workers, worktrees=root / "worktrees", merge=merge)
    report = engine_proc.run(repo)
    landed = report["events"].get("MergeLanded", 0)
    if not report["ok"] or landed != tasks:
        raise RuntimeError(f"the swarm did not land every task ({landed}/{tasks}): {report['reason']}")
    shutil.rmtree(root)
    return report["wall_s"], report.get("checks_reused", 0)
