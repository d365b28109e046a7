"""One swarm run in a process of its own, so its memory and CPU are the engine's alone.

`python -m bench.engine_proc REPO` opens the swarm on REPO, runs it until it drains or is
stopped (SIGTERM stops it as `oompa stop` would), and prints one JSON line: the result, the
wall time of `Swarm.open` + `run`, and this process's own peak RSS and CPU time (agents and
git are child processes and are not counted).
"""

from __future__ import annotations

import json
import os
import resource
import signal
import subprocess
import sys
import time
from collections import Counter
from pathlib import Path

import anyio

from oompa_lsp.engine.swarm import Swarm


async def _run(repo: Path) -> dict:
    started = time.perf_counter()
    swarm = Swarm.open(repo)
    kinds: Counter[str] = Counter()
    reused: list[str] = []

    def count(event) -> None:
        kinds.update([type(event).__name__])
        if getattr(event, "reused", ""):  # a check result taken from a check of the same tree
            reused.append(event.task_id)

    swarm.subscribe(count)
    with anyio.open_signal_receiver(signal.SIGTERM) as signals:
        async with anyio.create_task_group() as tg:
            async def stop_on_signal() -> None:
                async for _ in signals:
                    swarm.stop("stopped by the benchmark")
            tg.start_soon(stop_on_signal)
            result = await swarm.run()
            tg.cancel_scope.cancel()
    wall = time.perf_counter() - started
    usage = resource.getrusage(resource.RUSAGE_SELF)
    children = resource.getrusage(resource.RUSAGE_CHILDREN)
    return {"ok": result.ok, "reason": result.reason, "wall_s": wall, "peak_rss_kb": usage.ru_maxrss,
            "cpu_s": usage.ru_utime + usage.ru_stime, "children_cpu_s": children.ru_utime + children.ru_stime,
            "events": dict(kinds), "checks_reused": len(reused)}


def start(repo: Path) -> subprocess.Popen:
    """Start a swarm on `repo` in a child process (its report comes with `finish`)."""
    root = Path(__file__).resolve().parent.parent
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(filter(None, [str(root), os.environ.get("PYTHONPATH")]))}
    return subprocess.Popen([sys.executable, "-m", "bench.engine_proc", str(repo)], cwd=root, env=env,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)


def finish(process: subprocess.Popen, timeout_s: float) -> dict:
    """Wait for the swarm's report; a swarm that failed to report is an error of the benchmark."""
    out, err = process.communicate(timeout=timeout_s)
    lines = out.strip().splitlines()
    if process.returncode != 0 or not lines:
        raise RuntimeError(f"the swarm process failed (exit {process.returncode}):\n{err[-3000:]}")
    return json.loads(lines[-1])


def run(repo: Path, timeout_s: float = 1800.0) -> dict:
    return finish(start(repo), timeout_s)


def run_landing_all(repo: Path, tasks: int) -> dict:
    """`run`, and an error of the benchmark unless the swarm landed every one of `tasks`."""
    report = run(repo)
    landed = report["events"].get("MergeLanded", 0)
    if not report["ok"] or landed != tasks:
        raise RuntimeError(f"the swarm did not land every task ({landed}/{tasks}): {report['reason']}")
    return report


def main() -> int:
    report = anyio.run(_run, Path(sys.argv[1]))
    print(json.dumps(report), flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
