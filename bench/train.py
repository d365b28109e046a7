"""Issue 17, point 5 (the merge train): a swarm whose queue runs real checks.

N instant tasks on W workers with a check that takes C seconds (`sleep`), the engine in a
process of its own. The check runs twice per task, as the swarm runs it: in the worker's
worktree before review, and on the merged tree before landing (unless the merged tree is the
one already checked). Sides, in the same run, order rotated run by run:

- train: `merge.parallel_checks: W` (every worker's request can ride the train at once);
- default: `merge.parallel_checks` unset (the machine's cores, at least 4, at most W), context;
- one at a time: `merge.parallel_checks: 1` (the queue as it was before the train);
- the serial floor: N x the check's own duration, measured here (what checking N landings
  one after another costs however fast everything else is).

Judged: train wall (W wide) / serial floor (target <= 0.40; the queue one at a time took
1.12x in the issue's measurement).
"""

from __future__ import annotations

import shutil
import subprocess
import time
from pathlib import Path

from . import engine_proc
from oompa_lsp.engine.merge_queue import default_parallel_checks

from .gitrepo import add_tasks, make_repo, write_config
from .stats import Figure, at_most, ratios

REPO_FILES = 100


def measure(workdir: Path, *, tasks: int, workers: int, check_s: float, runs: int, log) -> list[Figure]:
    default = default_parallel_checks(workers)
    walls: dict[str, list[float]] = {"wide": [], "default": [], "serial": []}
    sides = {"wide": workers, "default": None, "serial": 1}
    names, floor, reused = list(sides), [], []
    for run in range(runs):
        floor.append(tasks * _check_duration(check_s))
        for side in names[run % 3:] + names[:run % 3]:
            wall, hits = _swarm(workdir / f"train-{run}-{side}", tasks, workers, check_s, sides[side])
            walls[side].append(wall)
            if side == "wide":
                reused.append(hits)
        log(f"train run {run + 1}/{runs}: {workers} wide {walls['wide'][-1]:.1f} s, default ({default} wide) "
            f"{walls['default'][-1]:.1f} s, one at a time {walls['serial'][-1]:.1f} s, serial floor {floor[-1]:.1f} s, "
            f"merged checks reused {reused[-1]}")
    setting = f"{tasks} tasks, {workers} workers, {check_s:g} s check"
    wide, serial = walls["wide"], walls["serial"]
    return [
        Figure("17", f"train wall, parallel_checks {workers} ({setting})", "s", wide),
        Figure("17", f"train wall, default parallel_checks ({default} here)", "s", walls["default"]),
        Figure("17", "one at a time (parallel_checks: 1) wall", "s", serial),
        Figure("17", f"serial floor ({tasks} x the check)", "s", floor,
               note="checking every landing one after another, nothing else"),
        Figure("17", "merged-tree checks reused", "n", reused,
               note="merged trees already checked in the worktree (target unmoved since the base): not run again"),
        at_most(Figure("17", "train / serial floor", "x", ratios(wide, floor)), 0.40),
        Figure("17", f"train, default {default} wide / serial floor", "x", ratios(walls["default"], floor),
               note="the default width: the machine's cores, at least 4, at most the workers"),
        Figure("17", "one at a time / serial floor", "x", ratios(serial, floor),
               note="the queue before the train: 1.12x in the issue's measurement"),
        Figure("17", "train / one at a time", "x", ratios(wide, serial)),
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
    report = engine_proc.run_landing_all(repo, tasks)
    shutil.rmtree(root)
    return report["wall_s"], report.get("checks_reused", 0)
