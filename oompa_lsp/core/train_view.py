"""The merge train as the views show it: `Snapshot.queue`, one entry per queued request in
landing order, with its position and check state, kept from the queue's events.

A landed or failed entry stays (position 0) until the next request is queued, so a view
shows what just happened; a request given back while queued leaves the train.

Must not import: anything outside the standard library, msgspec and oompa_lsp.core.
"""

from __future__ import annotations

from msgspec import Struct

SETTLED = ("landed", "failed")


class QueueEntryView(Struct, omit_defaults=True):
    """One request in the merge queue (the train): its place and its check state."""

    task_id: str
    worker: str = ""
    position: int = 0  # 1 = next to land
    state: str = "queued"  # queued | merging | checking | passed | failed | landed
    detail: str = ""


def queued(queue: list[QueueEntryView], task_id: str, worker: str) -> list[QueueEntryView]:
    """A request joined the queue: the settled entries (and its own earlier one) go."""
    kept = [q for q in queue if q.state not in SETTLED and q.task_id != task_id]
    return _numbered([*kept, QueueEntryView(task_id, worker)])


def changed(queue: list[QueueEntryView], task_id: str, state: str, detail: str) -> list[QueueEntryView]:
    entry = next((q for q in queue if q.task_id == task_id), None)
    if entry is None:
        entry = QueueEntryView(task_id)
        queue = [*queue, entry]
    entry.state, entry.detail = state, detail
    return _numbered(queue)


def conflicted(queue: list[QueueEntryView], task_id: str, files: list[str]) -> list[QueueEntryView]:
    if not any(q.task_id == task_id for q in queue):
        return queue
    return changed(queue, task_id, "failed", f"merge conflict in {', '.join(files)}: its worker resolves it")


def left(queue: list[QueueEntryView], task_id: str) -> list[QueueEntryView]:
    """A task given back while queued (the queue stopped, say): no longer in the train."""
    return _numbered([q for q in queue if q.task_id != task_id or q.state in SETTLED])


def stopped(queue: list[QueueEntryView]) -> list[QueueEntryView]:
    """The run ended: what was still to land is not in a train any more."""
    return [q for q in queue if q.state in SETTLED]


def _numbered(queue: list[QueueEntryView]) -> list[QueueEntryView]:
    """Positions count the requests still to land, in landing order (1 = next)."""
    position = 0
    for entry in queue:
        position += entry.state not in SETTLED
        entry.position = 0 if entry.state in SETTLED else position
    return queue
