"""Running a swarm in this terminal: `run_swarm` runs it until it ends or Ctrl-C / SIGTERM
stops it (agents killed, claims returned). On a terminal it keeps the live dashboard
(dashboard.py) in place, redrawn as events arrive and every second; piped, in CI or with
`plain`, it prints event lines and a summary now and then (`LiveView`). Used by `oompa swarm`
(cli.py) and `oompa demo` (demo.py).

May import: core, adapters, engine, console, dashboard. Must not import: lsp, cli, demo.
"""

from __future__ import annotations

import os
import signal
import sys
import time

import anyio

from . import console
from .core.events import Event
from .dashboard import Dashboard
from .engine.swarm import Swarm, SwarmResult

TICK_S = 1.0  # the dashboard's clock: elapsed times move even when no event arrives


def run_swarm(swarm: Swarm, quiet: bool = False, plain: bool = False) -> int:
    if quiet:
        result = anyio.run(_run_until_signal, swarm, None)
    elif plain or not wants_dashboard():
        swarm.subscribe(LiveView(swarm).on_event)
        result = anyio.run(_run_until_signal, swarm, None)
        print(f"          [{console.live_summary(swarm.snapshot)}]")
    else:
        with Dashboard(lambda: swarm.snapshot) as board:
            swarm.subscribe(board.on_event)
            result = anyio.run(_run_until_signal, swarm, board)
    print(("done: " if result.ok else "stopped: ") + result.reason)
    return 0 if result.ok else 1


def wants_dashboard() -> bool:
    """A terminal a person watches: stdout is a tty, not CI, not a dumb terminal."""
    return sys.stdout.isatty() and not os.environ.get("CI") and os.environ.get("TERM", "") != "dumb"


async def _run_until_signal(swarm: Swarm, board: Dashboard | None) -> SwarmResult:
    async with anyio.create_task_group() as group:
        group.start_soon(_stop_on_signals, swarm, group.cancel_scope)
        if board is not None:
            group.start_soon(_tick, board)
            group.start_soon(_redraw_on_resize, board)
        result = await swarm.run()
        group.cancel_scope.cancel()
    return result


async def _tick(board: Dashboard) -> None:
    while True:
        await anyio.sleep(TICK_S)
        board.refresh()


async def _redraw_on_resize(board: Dashboard) -> None:
    with anyio.open_signal_receiver(signal.SIGWINCH) as signals:
        async for _ in signals:
            board.resized()


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
