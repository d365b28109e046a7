"""Engine events → editor notifications, with the editor's pacing.

Task, worker and review changes go out at once (one notification per event, in event order,
so a task's updates arrive in the order the engine recorded them). `oompa/log` is throttled
(a token bucket), `oompa/swarmState` and `$/progress` reports are sent at once for start,
stop, pause and resume and otherwise at most every `STATE_INTERVAL_S`, and the refresh of code
lenses and diagnostics is debounced. Failures become `window/showMessage`.

A lens refresh is sent again, a few times, until each file that showed lenses has asked for
them again (`LensFollowUp`): VS Code drops a refresh that lands just before its editor loses
focus (it cancels the pending re-query on blur and asks again only on focus), and the lenses
would then stay stale while the swarm goes quiet, e.g. with every task awaiting review.

This module holds no swarm state: everything it sends is read from the Snapshot at the moment
of sending. It does not talk to pygls directly; the server gives it an `Outlet`.

Must not import: oompa_lsp.engine, oompa_lsp.adapters.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable
from typing import Any, Protocol

from oompa_lsp.core import events as ev
from oompa_lsp.core.snapshot import Snapshot
from oompa_lsp.core.usage_limits import describe_limit

from . import protocol as p
from .labels import swarm_title

LOG_PER_SECOND = 20
STATE_INTERVAL_S = 0.25
REFRESH_DEBOUNCE_S = 0.2
REFRESH_COST_FACTOR = 10
LENS_FOLLOW_UP_S = 1.0  # well past VS Code's own lens debounce (250 ms and up)
LENS_FOLLOW_UPS = 3
_TASK_EVENTS = (
    ev.TaskSeen,
    ev.TaskClaimed,
    ev.TaskReturned,
    ev.TaskRecovered,
    ev.TaskCompleted,
    ev.TaskFailed,
    ev.ReviewRequested,
    ev.ReviewVerdictGiven,
)
_URGENT_STATE_EVENTS = (ev.SwarmStarted, ev.SwarmStopped, ev.MergePaused, ev.MergeResumed)


class Outlet(Protocol):
    """What the forwarder needs from the server (all called on the event loop)."""

    def notify(self, method: str, params: dict[str, Any]) -> None: ...
    def show_message(self, level: str, message: str) -> None: ...
    def refresh(self) -> None: ...  # re-send code lenses and diagnostics
    def refresh_lenses(self) -> bool: ...  # ask for lenses again; False when no open file shows any
    def progress(self, phase: str, title: str, percentage: int | None) -> None: ...
    def task_uri(self, task_id: str, state: str) -> str: ...
    def task_merged(self, task_id: str) -> None: ...


class Forwarder:
    def __init__(self, outlet: Outlet, snapshot: Callable[[], Snapshot], viewer: Callable[[], bool]) -> None:
        self.outlet = outlet
        self.snapshot = snapshot
        self.viewer = viewer
        self._log = _TokenBucket(LOG_PER_SECOND)
        self._state_timer: asyncio.TimerHandle | None = None
        self._state_sent_at = 0.0
        self._refresh_timer: asyncio.TimerHandle | None = None
        self._dropped_timer: asyncio.TimerHandle | None = None
        self._lenses = LensFollowUp(outlet.refresh_lenses)
        self._refresh_cost = 0.0

    def on_event(self, event: ev.Event) -> None:
        """Called after the event was applied to the snapshot."""
        if isinstance(event, _TASK_EVENTS):
            self._task_updated(event.task_id)
        if isinstance(event, ev.ReviewRequested):
            self._review_requested(event.review_id)
        if isinstance(event, ev.ReviewVerdictGiven):
            self.outlet.notify(
                p.REVIEW_RESOLVED,
                p.to_payload(
                    p.ReviewResolvedParams(
                        event.review_id, event.task_id, event.approved, event.reviewer, event.feedback
                    )
                ),
            )
        if isinstance(event, (ev.WorkerStateChanged, ev.AgentFinished)):
            self._worker_updated(event.worker)
        self._log_line(event)
        self._alert(event)
        if isinstance(event, ev.MergeLanded):
            self.outlet.task_merged(event.task_id)
        if isinstance(event, ev.SwarmStarted):
            self.outlet.progress("begin", swarm_title(self.snapshot(), self.viewer()), 0)
        if not isinstance(event, (ev.AgentActivity, ev.LogMessage)):
            self.swarm_state(urgent=isinstance(event, _URGENT_STATE_EVENTS))
            self.schedule_refresh()
        if isinstance(event, ev.SwarmStopped):
            self.outlet.progress("end", self.snapshot().stopped_reason or "stopped", None)

    # -- notifications ----------------------------------------------------------------------

    def _task_updated(self, task_id: str) -> None:
        task = self.snapshot().tasks.get(task_id)
        if task is None:
            return
        payload = p.to_payload(task)
        payload["uri"] = self.outlet.task_uri(task_id, task.state)
        self.outlet.notify(p.TASK_UPDATED, payload)

    def _review_requested(self, review_id: str) -> None:
        review = self.snapshot().reviews.get(review_id)
        if review is not None:
            self.outlet.notify(p.REVIEW_REQUESTED, p.to_payload(review))

    def _worker_updated(self, worker_id: str) -> None:
        worker = self.snapshot().workers.get(worker_id)
        if worker is not None:
            self.outlet.notify(p.WORKER_UPDATED, p.to_payload(worker))

    def _log_line(self, event: ev.Event) -> None:
        line = _log_of(event)
        if line is None:
            return
        suppressed = self._log.take()
        if suppressed is None:
            if self._dropped_timer is None:
                self._dropped_timer = asyncio.get_running_loop().call_later(1.0, self._report_dropped)
            return
        if suppressed:
            self.outlet.notify(
                p.LOG,
                p.to_payload(p.LogParams("warning", f"{suppressed} messages suppressed", event.at or time.time())),
            )
        self.outlet.notify(p.LOG, p.to_payload(line))

    def _report_dropped(self) -> None:
        """Say how many lines were dropped even when no further line comes to carry it."""
        self._dropped_timer = None
        dropped = self._log.take()
        if dropped:
            self.outlet.notify(
                p.LOG, p.to_payload(p.LogParams("warning", f"{dropped} messages suppressed", time.time()))
            )

    def _alert(self, event: ev.Event) -> None:
        message = _failure_message(event)
        if message:
            self.outlet.show_message(*message)

    # -- pacing -----------------------------------------------------------------------------

    def swarm_state(self, urgent: bool = False) -> None:
        """Send `oompa/swarmState` now if urgent or quiet for a while, else once the interval ends."""
        if self._state_timer is not None and not urgent:
            return
        wait = STATE_INTERVAL_S - (time.monotonic() - self._state_sent_at)
        if urgent or wait <= 0:
            self._flush_state()
            return
        self._state_timer = asyncio.get_running_loop().call_later(wait, self._flush_state)

    def _flush_state(self) -> None:
        if self._state_timer is not None:
            self._state_timer.cancel()
            self._state_timer = None
        self._state_sent_at = time.monotonic()
        snapshot = self.snapshot()
        self.outlet.notify(p.SWARM_STATE, state_params(snapshot, self.viewer()))
        if snapshot.state == "running":
            self.outlet.progress("report", swarm_title(snapshot, self.viewer()), _percentage(snapshot))

    def schedule_refresh(self) -> None:
        """Refresh once things settle; a refresh that costs much (a spec of thousands of items)
        waits longer, so re-rendering never takes more than about a tenth of the loop's time."""
        if self._refresh_timer is None:
            delay = max(REFRESH_DEBOUNCE_S, REFRESH_COST_FACTOR * self._refresh_cost)
            self._refresh_timer = asyncio.get_running_loop().call_later(delay, self._refresh)

    def _refresh(self) -> None:
        self._refresh_timer = None
        began = time.perf_counter()
        self.outlet.refresh()
        self._refresh_cost = time.perf_counter() - began
        self._lenses.refreshed()

    def lenses_asked(self, uri: str) -> None:
        """The editor asked for the code lenses of `uri` (a spec or task file)."""
        self._lenses.asked(uri)

    def close(self) -> None:
        for timer in (self._state_timer, self._refresh_timer, self._dropped_timer):
            if timer is not None:
                timer.cancel()
        self._state_timer = self._refresh_timer = self._dropped_timer = None
        self._lenses.cancel()


class LensFollowUp:
    """After a lens refresh, asks again (`LENS_FOLLOW_UPS` times at most) until every document
    that showed lenses after the refresh before has asked for them since; before anything
    showed lenses, until any document asks."""

    def __init__(self, ask_again: Callable[[], bool]) -> None:
        self._ask_again = ask_again  # False when no open file shows lenses: nobody to ask
        self._timer: asyncio.TimerHandle | None = None
        self._tries_left = 0
        self._showing: set[str] = set()
        self._asked: set[str] = set()

    def refreshed(self) -> None:
        if self._asked:  # what asked last time is what the editor shows (closed files drop out)
            self._showing = self._asked
        self._asked = set()
        self._tries_left = LENS_FOLLOW_UPS
        self._arm()

    def asked(self, uri: str) -> None:
        self._asked.add(uri)
        if not self._missing():
            self.cancel()

    def cancel(self) -> None:
        self._tries_left = 0
        if self._timer is not None:
            self._timer.cancel()
            self._timer = None

    def _missing(self) -> bool:
        return bool(self._showing - self._asked) if self._showing else not self._asked

    def _arm(self) -> None:
        if self._timer is not None:
            self._timer.cancel()
        self._timer = asyncio.get_running_loop().call_later(LENS_FOLLOW_UP_S, self._follow_up)

    def _follow_up(self) -> None:
        self._timer = None
        if self._tries_left <= 0 or not self._missing():
            return
        self._tries_left -= 1
        if self._ask_again() and self._tries_left > 0:
            self._arm()


def state_params(snapshot: Snapshot, viewer: bool) -> dict[str, Any]:
    counts = snapshot.counts()
    return p.to_payload(
        p.SwarmStateParams(
            state=snapshot.state,
            run_id=snapshot.run_id,
            summary=snapshot.summary_line(),
            counts=p.Counts(**{k: counts.get(k, 0) for k in ("pending", "current", "complete", "failed")}),
            paused_reason=snapshot.paused_reason,
            viewer=viewer,
            usage=snapshot.usage,
            stopped_reason=snapshot.stopped_reason,
            queue=snapshot.queue,
        )
    )


def _percentage(snapshot: Snapshot) -> int | None:
    counts = snapshot.counts()
    total = sum(counts.values())
    return int(100 * (counts["complete"] + counts["failed"]) / total) if total else None


def _log_of(event: ev.Event) -> p.LogParams | None:
    at = event.at or time.time()
    if isinstance(event, ev.LogMessage):
        return p.LogParams(event.level, event.message, at, event.worker)
    if isinstance(event, ev.AgentActivity):
        return p.LogParams("info", event.text, at, event.worker)
    if isinstance(event, ev.AgentFinished) and event.error:
        return p.LogParams(
            "warning", f"agent {event.role} failed ({event.error_kind or 'error'}): {event.error}", at, event.worker
        )
    if isinstance(event, ev.AgentLeftoversStopped):
        return p.LogParams("warning", event.describe(), at, event.worker)
    if isinstance(event, ev.ChecksRan) and not event.ok:
        return p.LogParams("warning", f"checks failed for {event.task_id} ({event.stage})", at)
    if isinstance(event, ev.MergeLanded):
        return p.LogParams("info", f"merged {event.task_id} into {event.target} ({event.commit[:8]})", at)
    return None


def _failure_message(event: ev.Event) -> tuple[str, str] | None:
    if isinstance(event, ev.SwarmStopped) and not event.ok:
        return "error", f"oompa: the swarm stopped: {event.reason}"
    if isinstance(event, ev.TaskFailed):
        return "warning", f"oompa: task {event.task_id} failed: {event.reason}"
    if isinstance(event, ev.MergePaused):
        return "warning", f"oompa: the merge queue paused: {event.reason}"
    if isinstance(event, ev.OutsideWriteSeen):
        return "warning", f"oompa: {event.describe()}"
    if isinstance(event, ev.TargetMovedOutsideQueue):
        return "warning", f"oompa: {event.describe()}; your checkout: {event.checkout}"
    if isinstance(event, ev.UsageLimitHit):
        return "warning", f"oompa: {describe_limit(event.harness, event.resets_at, time.time())}"
    if isinstance(event, ev.AgentFinished) and event.error_kind in ("auth", "rate_limit"):
        return "error", f"oompa: {event.worker}'s agent failed ({event.error_kind}): {event.error}"
    return None


class _TokenBucket:
    """Allows `rate` messages per second; `take()` returns None when over the limit, else how
    many were dropped since the last one allowed."""

    def __init__(self, rate: int) -> None:
        self.rate = rate
        self.tokens = float(rate)
        self.last = time.monotonic()
        self.dropped = 0

    def take(self) -> int | None:
        now = time.monotonic()
        self.tokens = min(self.rate, self.tokens + (now - self.last) * self.rate)
        self.last = now
        if self.tokens < 1:
            self.dropped += 1
            return None
        self.tokens -= 1
        dropped, self.dropped = self.dropped, 0
        return dropped
