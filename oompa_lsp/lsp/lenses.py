"""Code lenses on spec.md and on task files, as pure functions of the Snapshot.

spec.md: a swarm summary with Start/Stop on the first line; on each checklist item one lens
per linked task (state, worker, review round) and its actions. Task files: state and actions
on the first line. Actions are server commands of `protocol.COMMANDS`.

Must not import: oompa_lsp.engine, oompa_lsp.adapters.
"""

from __future__ import annotations

import msgspec
from lsprotocol import types as lsp

from oompa_lsp.core.snapshot import ReviewView, Snapshot, TaskView
from oompa_lsp.core.spec import SpecDocument, SpecItem, SpecLinks

from . import protocol as p
from .labels import HUMAN_REVIEW_MODES, phase, reviews_by_task, status_words, swarm_title, task_label, train_of, urgency

MAX_TASKS_PER_ITEM = 3
_INFO = ""  # a lens that only shows text: an empty command id does nothing when clicked


def spec_lenses(
    snapshot: Snapshot, document: SpecDocument, links: SpecLinks, *, viewer: bool, configured_workers: int = 0
) -> list[lsp.CodeLens]:
    lenses = swarm_lenses(snapshot, viewer, configured_workers)
    reviews = reviews_by_task(snapshot)
    running = snapshot.state == "running"
    for index in sorted(links.by_item):  # in the order of the document
        lenses += item_lenses(snapshot, document.items[index], links.by_item[index], reviews, running=running)
    return lenses


def item_lenses(
    snapshot: Snapshot, item: SpecItem, task_ids: list[str], reviews: dict[str, ReviewView], *, running: bool
) -> list[lsp.CodeLens]:
    """The lenses of one spec.md item: each linked task's state and actions, most urgent first."""
    tasks = [snapshot.tasks[t] for t in task_ids if t in snapshot.tasks]
    tasks.sort(key=lambda t: urgency(t, reviews.get(t.id)))
    where = _line_range(item.line)
    lenses: list[lsp.CodeLens] = []
    for task in tasks[:MAX_TASKS_PER_ITEM]:
        review = reviews.get(task.id)
        lenses += [
            _command_lens(where, task_label(task, review, train_of(snapshot, task.id)), _INFO, None),
            *_actions(where, task, review, item, running),
        ]
    if len(tasks) > MAX_TASKS_PER_ITEM:
        lenses.append(_lens(item.line, f"+{len(tasks) - MAX_TASKS_PER_ITEM} more tasks", _INFO))
    return lenses


def shows_running(task: TaskView) -> bool:
    """Whether a task's lenses change when the swarm starts or stops running: a claimed task
    offers Cancel while it runs, Requeue when the claim is stale."""
    return task.state == "current"


def task_file_lenses(snapshot: Snapshot, task_id: str, folder_state: str, *, running: bool) -> list[lsp.CodeLens]:
    """Lenses on the first line of `tasks/<state>/<id>.json`."""
    task = snapshot.tasks.get(task_id) or TaskView(task_id, folder_state)
    if not running and task.state != folder_state:
        # between runs the folder is the truth; the last run's snapshot may be older
        task = msgspec.structs.replace(task, state=folder_state)
    review = reviews_by_task(snapshot).get(task_id)
    words = status_words(task, review, train_of(snapshot, task_id))
    lenses = [_lens(0, f"oompa: {words}{_attempt_words(task)}", _INFO)]
    return lenses + _actions(_line_range(0), task, review, None, running)


def swarm_lenses(snapshot: Snapshot, viewer: bool, configured_workers: int = 0) -> list[lsp.CodeLens]:
    """The first line of spec.md: the swarm's state and counts, with Start or Stop."""
    lenses = [_lens(0, swarm_title(snapshot, viewer, configured_workers), _INFO)]
    if snapshot.state in ("running", "stopping"):
        lenses.append(_lens(0, "■ Stop swarm", p.STOP_SWARM))
    else:
        lenses.append(_lens(0, "▶ Start swarm", p.START_SWARM))
    return lenses


def _actions(
    where: lsp.Range, task: TaskView, review: ReviewView | None, item: SpecItem | None, running: bool
) -> list[lsp.CodeLens]:
    current = phase(task, review)
    out: list[lsp.CodeLens] = []
    if review is not None:
        out.append(_command_lens(where, "Open Diff", p.OPEN_DIFF, [review.review_id]))
        if review.mode in HUMAN_REVIEW_MODES:
            out.append(_command_lens(where, "Approve", p.APPROVE, [review.review_id]))
            out.append(_command_lens(where, "Reject", p.REJECT, [review.review_id]))
    if current == "current" and running:
        out.append(_command_lens(where, "Cancel", p.CANCEL_TASK, [task.id]))
    if current == "failed" or (current == "current" and not running):  # a stale claim, too
        out.append(_command_lens(where, "Requeue", p.REQUEUE, [task.id]))
    if current == "complete" and item is not None and not item.checked:
        out.append(_command_lens(where, "Tick item", p.TICK_ITEM, [task.id]))
    return out


def _attempt_words(task: TaskView) -> str:
    words = f" · attempt {task.attempt}" if task.attempt else ""
    if task.last_feedback:
        words += " · has review feedback"
    return words


def _line_range(line: int) -> lsp.Range:
    return lsp.Range(lsp.Position(line, 0), lsp.Position(line, 0))


def _lens(line: int, title: str, command: str) -> lsp.CodeLens:
    return _command_lens(_line_range(line), title, command, None)


def _command_lens(where: lsp.Range, title: str, command: str, arguments: list[str] | None) -> lsp.CodeLens:
    return lsp.CodeLens(range=where, command=lsp.Command(title=title, command=command, arguments=arguments))
