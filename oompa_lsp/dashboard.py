"""The live dashboard of `oompa swarm` on a terminal, drawn with rich: one row per worker
(state, task, time in this phase, turns, cost), tasks by state, the merge queue, reviews
waiting for a human, usage limits, the run's cost and budget. Important lines (failures,
conflicts, landings...) scroll above it; the rest of the event stream stays in the log.

A view only: every figure comes from the snapshot; it keeps nothing of the swarm's own.
May import: core, console, rich. Must not import: lsp, engine, cli.
"""

from __future__ import annotations

import time
from collections.abc import Callable

from rich.console import Console, Group, RenderableType
from rich.live import Live
from rich.table import Table
from rich.text import Text

from . import console
from .core import events as ev
from .core.snapshot import Snapshot, WorkerView

# Worker states drawn in colour; the quiet ones stay dim.
_STATE_STYLE = {
    "working": "bold cyan",
    "checking": "yellow",
    "reviewing": "green",
    "awaiting_review": "bold magenta",
    "merging": "blue",
    "resolving": "bold red",
    "stopped": "red",
}
_QUEUE_STYLE = {"checking": "yellow", "merging": "blue", "passed": "green", "failed": "red", "landed": "green"}


def render(snapshot: Snapshot, now: float) -> RenderableType:
    """The dashboard for `snapshot` at time `now`: what the terminal shows in place."""
    parts: list[RenderableType] = [_header(snapshot, now), _workers(snapshot, now), _tasks(snapshot)]
    parts += [section for section in (_queue(snapshot), _human_reviews(snapshot), _limits(snapshot, now)) if section]
    return Group(*parts)


def _header(snapshot: Snapshot, now: float) -> Text:
    until = now if snapshot.state == "running" else snapshot.last_event_at
    elapsed = console.duration_text(until - snapshot.started_at) if snapshot.started_at else "-"
    text = Text.assemble(
        ("oompa ", "bold"),
        f"run {snapshot.run_id or '-'} on {snapshot.target or '-'} · {snapshot.state} · {elapsed} · ",
        console.cost_text(snapshot.usage),
    )
    if snapshot.budget is not None:
        text.append(" · budget ", style="dim")
        text.append(console.budget_text(snapshot.budget), style="bold red" if snapshot.budget.reached else "")
    if snapshot.review_mode == "none":
        text.append(" · review off (no reviewer)", style="bold yellow")
    return text


def _workers(snapshot: Snapshot, now: float) -> Table:
    table = Table(box=None, pad_edge=False, header_style="bold", expand=False)
    for column in ("worker", "state", "task"):
        table.add_column(column, no_wrap=True)
    table.add_column("in phase", justify="right", no_wrap=True)
    table.add_column("turns", justify="right")
    table.add_column("cost", no_wrap=True)
    table.add_column("", overflow="ellipsis", no_wrap=True)  # the worker's detail: round, files...
    for worker in snapshot.workers.values():
        table.add_row(*_worker_cells(worker, now))
    return table


def _worker_cells(worker: WorkerView, now: float) -> list[str | Text]:
    ended = worker.state in ("done", "stopped")
    in_phase = console.duration_text(now - worker.since) if worker.since and not ended else "-"
    return [
        worker.id,
        Text(worker.state, style=_STATE_STYLE.get(worker.state, "dim")),
        worker.task_id or "-",
        in_phase,
        str(worker.turns),
        console.cost_text(worker.usage),
        Text(worker.detail, style="dim"),
    ]


def _tasks(snapshot: Snapshot) -> Text:
    counts = snapshot.counts()
    text = Text("tasks ", style="bold")
    for state, style in (("pending", ""), ("current", "cyan"), ("complete", "green"), ("failed", "red")):
        text.append(f"{counts.get(state, 0)} {state}", style=style if counts.get(state) else "dim")
        text.append("  ")
    text.append(f"{len(snapshot.reviews)} in review", style="dim" if not snapshot.reviews else "")
    waiting = [t for t in snapshot.tasks.values() if t.state == "pending" and t.waiting]
    for task in waiting[:3]:
        text.append(f"\n  {task.id} waits: {task.waiting}", style="dim")
    return text


def _queue(snapshot: Snapshot) -> Text | None:
    if not snapshot.queue and not snapshot.paused_reason and not snapshot.merges:
        return None
    text = Text("merge queue ", style="bold")
    if snapshot.paused_reason:
        text.append(f"PAUSED: {snapshot.paused_reason}  ", style="bold red")
    waiting = [e for e in snapshot.queue if e.state != "landed"]
    if not waiting:
        text.append("empty", style="dim")
    for entry in waiting:
        place = f"{entry.position}. " if entry.position > 0 else ""  # a failed entry has left the line
        text.append(f"{place}{entry.task_id} ", style="")
        text.append(entry.state, style=_QUEUE_STYLE.get(entry.state, "dim"))
        text.append("  ")
    if snapshot.merges:
        latest = ", ".join(m.task_id for m in snapshot.merges[-3:])
        text.append(f"  landed lately: {latest}", style="green")
    return text


def _human_reviews(snapshot: Snapshot) -> Text | None:
    waiting = [r for r in snapshot.reviews.values() if "human" in r.mode]
    if not waiting:
        return None
    text = Text(f"reviews waiting for you ({len(waiting)})", style="bold magenta")
    for review in waiting:
        text.append(f"\n  {review.task_id} by {review.worker}, round {review.round}: ", style="")
        text.append(f"oompa review approve {review.review_id}", style="bold")
    return text


def _limits(snapshot: Snapshot, now: float) -> Text | None:
    if not snapshot.usage_limits:
        return None
    lines = [limit.describe(now) for limit in snapshot.usage_limits.values()]
    return Text("\n".join(lines), style="bold yellow")


class Dashboard:
    """The dashboard kept in place at the bottom of the terminal while the swarm runs.

    Everything happens on the event loop's thread (events and the clock's tick call in), so
    the snapshot is never read while the engine changes it."""

    REDRAW_EVERY_S = 0.1

    def __init__(self, snapshot_of: Callable[[], Snapshot], out: Console | None = None) -> None:
        self.snapshot_of = snapshot_of
        self.console = out or Console()
        self.live = Live(console=self.console, auto_refresh=False, transient=False, redirect_stderr=True)
        self.drawn_at = 0.0

    def __enter__(self) -> Dashboard:
        self.live.start()
        self.refresh()
        return self

    def __exit__(self, *exc: object) -> None:
        self.refresh()
        self.live.stop()

    def on_event(self, event: ev.Event) -> None:
        important = console.is_important(event)
        if important:
            line = console.line_for(event)
            if line:
                self.console.print(Text(line, style=_line_style(event)), soft_wrap=True)
        # a burst of agent output must not redraw the screen per line; the tick catches up
        if important or time.monotonic() - self.drawn_at >= self.REDRAW_EVERY_S:
            self.refresh()

    def resized(self) -> None:
        # The terminal rewraps what was drawn at the old width, so the view can no longer
        # count the lines to erase: start it on a clean screen (what scrolled above stays in
        # the scrollback).
        self.console.clear()
        self.refresh()

    def refresh(self) -> None:
        self.drawn_at = time.monotonic()
        self.live.update(render(self.snapshot_of(), time.time()), refresh=True)


def _line_style(event: ev.Event) -> str:
    if isinstance(event, ev.TaskFailed | ev.MergePaused | ev.TargetMovedOutsideQueue):
        return "bold red"
    if isinstance(event, ev.MergeLanded | ev.TaskCompleted):
        return "green"
    if isinstance(event, ev.MergeConflicted):
        return "yellow"
    return ""
