"""Running a swarm in this terminal: `run_swarm` runs it until it ends or Ctrl-C / SIGTERM
stops it (agents killed, claims returned), printing event lines and a live summary
(`LiveView`) as it goes. Used by `oompa swarm` (cli.py) and `oompa demo` (demo.py).

May import: core, adapters, engine, console. Must not import: lsp, cli, demo.
"""

from __future__ import annotations

import signal
import sys
import time

import anyio

from . import console
from .core.events import Event
from .engine.swarm import Swarm, SwarmResult


def run_swarm(swarm: Swarm, quiet: bool = False) -> int:
    if not quiet:
        swarm.subscribe(LiveView(swarm).on_event)
    result = anyio.run(_run_until_signal, swarm)
    if not quiet:
        print(f"          [{console.live_summary(swarm.snapshot)}]")
    print(("done: " if result.ok else "stopped: ") + result.reason)
    return 0 if result.ok else 1


async def _run_until_signal(swarm: Swarm) -> SwarmResult:
    async with anyio.create_task_group() as group:
        group.start_soon(_stop_on_signals, swarm, group.cancel_scope)
        result = await swarm.run()
        group.cancel_scope.cancel()
    return result


async def _stop_on_signals(swarm: Swarm, scope: anyio.CancelScope) -> None:
    with anyio.open_signal_receiver(signal.SIGINT, signal.SIGTERM) as signals:
        async for signum in signals:
            print("\nstopping: killing agents, returning claims (worktrees are kept)...", file=sys.stderr)
            swarm.stop("interrupted (Ctrl-C)" if signum == signal.SIGINT else "terminated")


class LiveView:
    """Event lines as they happen, and the swarm's summary whenever it changes (at most every
    few seconds): workers, tasks by state, reviews, merges and cost."""

    SUMMARY_EVERY_S = 3.0

    def __init__(self, swarm: Swarm) -> None:
        self.swarm = swarm
        self.last_summary = ""
        self.last_at = 0.0

    def on_event(self, event: Event) -> None:
        line = console.line_for(event)
        if line:
            print(line, flush=True)
        summary = console.live_summary(self.swarm.snapshot)
        now = time.monotonic()
        if summary != self.last_summary and now - self.last_at >= self.SUMMARY_EVERY_S:
            self.last_summary, self.last_at = summary, now
            print(f"          [{summary}]", flush=True)
