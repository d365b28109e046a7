"""How the swarm is put into words in the editor: one-line labels for tasks and the swarm.

Lenses, diagnostics and hovers all describe a task the same way, so the words live here.
Pure functions of the Snapshot.

Must not import: oompa_lsp.engine, oompa_lsp.adapters, pygls.
"""

from __future__ import annotations

from oompa_lsp.core.snapshot import QueueEntryView, ReviewView, Snapshot, TaskView

HUMAN_REVIEW_MODES = ("human", "model+human")
_ICONS = {"pending": "○", "current": "●", "review": "◐", "complete": "✓", "failed": "✗"}
# the order a spec item lists its tasks in: what needs the user first
_URGENCY = {"review": 0, "failed": 1, "current": 2, "pending": 3, "complete": 4}


def reviews_by_task(snapshot: Snapshot) -> dict[str, ReviewView]:
    """The pending review of each task (the latest round when there are several)."""
    out: dict[str, ReviewView] = {}
    for review in snapshot.reviews.values():
        known = out.get(review.task_id)
        if known is None or review.round >= known.round:
            out[review.task_id] = review
    return out


def train_of(snapshot: Snapshot, task_id: str) -> QueueEntryView | None:
    """The task's request in the merge train while it waits to land (None: not in it)."""
    return next((q for q in snapshot.queue if q.task_id == task_id and q.position), None)


def phase(task: TaskView, review: ReviewView | None) -> str:
    """pending | current | review | complete | failed."""
    return "review" if review is not None and task.state == "current" else task.state


def task_label(task: TaskView, review: ReviewView | None, train: QueueEntryView | None = None) -> str:
    """E.g. `● add-login: running · w2 · round 2`, `○ add-logout: pending · behind add-login on
    src/auth/` or `✗ add-login: failed: checks failed`."""
    current = phase(task, review)
    return f"{_ICONS.get(current, '?')} {task.id}: {status_words(task, review, train)}"


def status_words(task: TaskView, review: ReviewView | None, train: QueueEntryView | None = None) -> str:
    current = phase(task, review)
    if current == "current" and train is not None:
        return f"merge train #{train.position} · {train.state} · {task.worker or 'unassigned'}"
    if current == "review" and review is not None:
        who = "awaiting your review" if review.mode in HUMAN_REVIEW_MODES else "in review"
        return f"{who} · {review.worker} · round {review.round}"
    if current == "current":
        parts = ["running", task.worker or "unassigned"]
        if task.review_round:
            parts.append(f"round {task.review_round + 1}")
        return " · ".join(parts)
    if current == "complete":
        return f"merged {task.commit[:8]}" if task.commit else "complete"
    if current == "failed":
        return f"failed: {_short(task.reason or 'no reason recorded')}"
    words = "pending" + (f" ({_short(task.reason)})" if task.reason else "")
    return f"{words} · {task.waiting}" if task.waiting else words


def urgency(task: TaskView, review: ReviewView | None) -> tuple[int, str]:
    return _URGENCY.get(phase(task, review), 9), task.id


def swarm_title(snapshot: Snapshot, viewer: bool, configured_workers: int = 0) -> str:
    """The first line of spec.md: state and counts, e.g. `oompa: running · 3 workers · ...`.
    Before any run the snapshot knows no workers; the configured count stands in."""
    state = snapshot.state if snapshot.run_id or snapshot.state != "idle" else "not started"
    parts = [f"oompa: {state}"]
    if viewer:
        parts.append(f"following pid {snapshot.pid}" if snapshot.pid else "following another process")
    summary = snapshot.summary_line()
    if not snapshot.workers and configured_workers:
        summary = summary.replace("0 workers", f"{configured_workers} workers", 1)
    parts.append(summary)
    if snapshot.paused_reason:
        parts.append(f"merge paused: {_short(snapshot.paused_reason)}")
    if snapshot.state == "stopped" and snapshot.stopped_reason:
        parts.append(_short(snapshot.stopped_reason))
    return " · ".join(parts)


def _short(text: str, limit: int = 80) -> str:
    line = text.strip().splitlines()[0] if text.strip() else ""
    return line if len(line) <= limit else line[: limit - 1] + "…"
