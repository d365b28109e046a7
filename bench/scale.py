"""Point 5: many workers on many tasks on a small machine.

Completion run: W executors on N instant tasks, the engine in a process of its own. It must
end with every task complete and 0 double claims, checked three independent ways: in the
event log (a task claimed again before its previous claim ended), in the task files (more
than one attempt), and in git (a task merged twice, or not at all). Reported: wall time per
task, the engine's peak RSS and its CPU.

Idle runs: the same swarm, but every agent sleeps. Once the agents are running, the
engine's CPU time (user + system of its own process, from /proc/<pid>/stat; agents and git
are other processes) is sampled over several windows in which no agent finishes: what the
orchestrator costs while the agents think. Two shapes: every worker busy (W agents asleep,
N tasks pending), and the tail of a run (N - 8 tasks already complete, 8 agents asleep,
W - 8 workers waiting for work). The baseline, side by side, is a Python process that does
nothing but sleep, sampled over the same windows: the floor of the measurement.
"""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import sys
import time
from collections import Counter
from pathlib import Path

from oompa_lsp.adapters.run_log import RunLog
from oompa_lsp.adapters.task_store import TaskStore
from oompa_lsp.core import events as ev

from . import engine_proc
from .gitrepo import add_tasks, git, make_repo, write_config
from .stats import Figure, at_most, equals

REPO_FILES = 100
TAIL_AGENTS = 8
_TICKS = os.sysconf("SC_CLK_TCK")


def measure(workdir: Path, *, workers: int, tasks: int, runs: int, windows: int, window_s: float,
            log) -> list[Figure]:
    per_task, rss, cpu, doubles = [], [], [], []
    for run in range(runs):
        result = _completion_run(workdir / f"scale-{run}", workers, tasks)
        per_task.append(result["wall_s"] / tasks * 1000)
        rss.append(result["peak_rss_kb"] / 1024)
        cpu.append(result["cpu_s"] / tasks * 1000)
        doubles.append(result["double_claims"])
        log(f"scale run {run + 1}/{runs}: {result['wall_s']:.1f} s for {tasks} tasks, "
            f"peak RSS {rss[-1]:.0f} MiB, double claims {doubles[-1]}")
    idle, floor, idle_rss = _idle_run(workdir / "scale-idle", workers, tasks, workers, windows, window_s)
    log(f"scale idle, {workers} agents asleep: engine CPU {', '.join(f'{v:.1%}' for v in idle)} of one core; "
        f"sleeping process {', '.join(f'{v:.1%}' for v in floor)}")
    busy = min(TAIL_AGENTS, workers)
    tail, tail_floor, _ = _idle_run(workdir / "scale-tail", workers, tasks, busy, windows, window_s)
    log(f"scale tail, {busy} agents asleep, {workers - busy} workers waiting: engine CPU "
        f"{', '.join(f'{v:.1%}' for v in tail)}; sleeping process {', '.join(f'{v:.1%}' for v in tail_floor)}")
    setting = f"{workers} workers, {tasks} tasks"
    return [
        Figure("5", f"wall per task ({setting})", "ms", per_task),
        equals(Figure("5", "double claims", "", doubles), 0),
        Figure("5", "engine peak RSS", "MiB", rss),
        Figure("5", "engine CPU per task", "ms", cpu),
        at_most(Figure("5", f"engine CPU while {workers} agents sleep", "% core", [v * 100 for v in idle],
                       extra={"peak_rss_mib": idle_rss}), 10.0),
        at_most(Figure("5", f"engine CPU, {busy} agents asleep, {workers - busy} workers waiting", "% core",
                       [v * 100 for v in tail], note=f"{tasks - busy} of the tasks already complete"), 10.0),
        Figure("5", "idle floor: a sleeping python process", "% core", [v * 100 for v in floor + tail_floor]),
    ]


def _completion_run(root: Path, workers: int, tasks: int) -> dict:
    repo = make_repo(root / "repo", REPO_FILES)
    ids = add_tasks(repo, tasks)
    write_config(repo, workers=workers, worktrees=root / "worktrees", timeout_s=600)
    report = engine_proc.run(repo, timeout_s=3600)
    if not report["ok"]:
        raise RuntimeError(f"the scale run did not complete: {report['reason']}")
    report["double_claims"] = _double_claims(repo, ids)
    shutil.rmtree(root)
    return report


def _double_claims(repo: Path, ids: list[str]) -> int:
    """Claims that overlapped another claim of the same task; raises if a task was lost."""
    run = RunLog.open_latest(repo / ".oompa")
    assert run is not None
    held: set[str] = set()
    overlaps = 0
    landed: Counter[str] = Counter()
    for event in run.read_all():
        if isinstance(event, ev.TaskClaimed):
            overlaps += event.task_id in held
            held.add(event.task_id)
        elif isinstance(event, (ev.TaskCompleted, ev.TaskReturned, ev.TaskFailed, ev.TaskRecovered)):
            held.discard(event.task_id)
        elif isinstance(event, ev.MergeLanded):
            landed[event.task_id] += 1
    complete, _ = TaskStore(repo / "tasks").read_state("complete")
    overlaps += sum(len(task.attempts) - 1 for task in complete)
    overlaps += sum(count - 1 for count in landed.values())
    files = set(git(repo, "ls-tree", "--name-only", "main").splitlines())
    missing = [i for i in ids if f"bench-{i}.txt" not in files or landed[i] == 0]
    if len(complete) != len(ids) or missing:
        raise RuntimeError(f"{len(ids) - len(complete)} task(s) not complete, {len(missing)} not on main")
    return overlaps


def _idle_run(root: Path, workers: int, tasks: int, busy: int, windows: int,
              window_s: float) -> tuple[list[float], list[float], float]:
    """Engine and floor CPU over windows while `busy` agents sleep; the other tasks are complete."""
    sleep_s = 60 + windows * window_s * 2
    repo = make_repo(root / "repo", REPO_FILES)
    store = TaskStore(repo / "tasks")
    for task_id in add_tasks(repo, tasks)[busy:]:
        store.move(task_id, "pending", "complete")
    write_config(repo, workers=workers, worktrees=root / "worktrees", timeout_s=sleep_s * 2,
                 agent_env={"BENCH_AGENT_SLEEP": str(sleep_s)})
    engine = engine_proc.start(repo)
    sleeper = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(3600)"])
    try:
        cursor = _wait_for_agents(repo, busy, engine, timeout_s=sleep_s)
        time.sleep(1.0)  # the last agent's start settles
        idle, floor = _sample_windows(engine.pid, sleeper.pid, cursor, windows, window_s)
    finally:
        sleeper.kill()
        sleeper.wait()
        engine.send_signal(signal.SIGTERM)
    report = engine_proc.finish(engine, timeout_s=600)
    shutil.rmtree(root)
    if not idle:
        raise RuntimeError("an agent finished before any idle window was complete; raise the agents' sleep")
    return idle, floor, report["peak_rss_kb"] / 1024


def _wait_for_agents(repo: Path, workers: int, engine: subprocess.Popen, timeout_s: float):
    deadline = time.monotonic() + timeout_s
    started = 0
    cursor = None
    while started < workers:
        if time.monotonic() > deadline or engine.poll() is not None:
            raise RuntimeError(f"only {started} of {workers} agents started")
        time.sleep(0.2)
        if cursor is None:
            run = RunLog.open_latest(repo / ".oompa")
            cursor = run.cursor() if run is not None else None
            continue
        started += sum(isinstance(e, ev.AgentStarted) and e.role == "executor" for e in cursor.poll())
    return cursor


def _sample_windows(engine_pid: int, floor_pid: int, cursor, windows: int, window_s: float):
    idle, floor = [], []
    for _ in range(windows):
        before, floor_before, t0 = _cpu_s(engine_pid), _cpu_s(floor_pid), time.monotonic()
        time.sleep(window_s)
        after, floor_after, t1 = _cpu_s(engine_pid), _cpu_s(floor_pid), time.monotonic()
        if any(isinstance(e, ev.AgentFinished) for e in cursor.poll()):
            break
        idle.append((after - before) / (t1 - t0))
        floor.append((floor_after - floor_before) / (t1 - t0))
    return idle, floor


def _cpu_s(pid: int) -> float:
    """User + system CPU seconds of one process (all its threads, not its children)."""
    stat = Path(f"/proc/{pid}/stat").read_text()
    fields = stat[stat.rfind(")") + 2:].split()
    return (int(fields[11]) + int(fields[12])) / _TICKS
