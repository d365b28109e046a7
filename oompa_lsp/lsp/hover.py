"""The hover on a spec.md item: its tasks, their attempts and the last review feedback.

Pure: the Snapshot gives live state, the task files (read by the caller) give the attempt
history the engine recorded in them.

Must not import: oompa_lsp.engine, oompa_lsp.adapters.
"""

from __future__ import annotations

from lsprotocol import types as lsp

from oompa_lsp.core.snapshot import ReviewView, Snapshot, TaskView
from oompa_lsp.core.spec import SpecItem
from oompa_lsp.core.tasks import Attempt, Task

from .labels import reviews_by_task, status_words

MAX_FEEDBACK_CHARS = 1200


def lsp_hover(text: str, item: SpecItem) -> lsp.Hover:
    """The hover text as Markdown over the item's first line."""
    return lsp.Hover(
        contents=lsp.MarkupContent(kind=lsp.MarkupKind.Markdown, value=text),
        range=lsp.Range(lsp.Position(item.line, 0), lsp.Position(item.line, item.line_length)),
    )


def item_hover(snapshot: Snapshot, item: SpecItem, task_ids: list[str], files: dict[str, Task | None]) -> str:
    if not task_ids:
        return f'**{item.text}**\n\nNo task implements this item yet. A task links to it with `"spec": "{item.anchor or item.text}"`.'
    reviews = reviews_by_task(snapshot)
    parts = [f"**{item.text}**"]
    for task_id in task_ids:
        view = snapshot.tasks.get(task_id) or TaskView(task_id, "pending")
        parts.append(_task_section(view, reviews.get(task_id), files.get(task_id)))
    return "\n\n---\n\n".join(parts)


def _task_section(view: TaskView, review: ReviewView | None, task: Task | None) -> str:
    lines = [f"### `{view.id}` — {status_words(view, review)}"]
    summary = view.summary or (task.summary if task else "")
    if summary:
        lines.append(summary)
    if task is not None and task.acceptance:
        lines.append("Acceptance:\n" + "\n".join(f"- {criterion}" for criterion in task.acceptance))
    if task is not None and task.attempts:
        lines.append("Attempts:\n" + "\n".join(_attempt_line(n, a) for n, a in enumerate(task.attempts, 1)))
    feedback = view.last_feedback or _last_feedback(task)
    if feedback:
        lines.append("Last review feedback:\n\n" + _quote(feedback))
    return "\n\n".join(lines)


def _attempt_line(number: int, attempt: Attempt) -> str:
    verdicts = f", verdicts: {', '.join(attempt.verdicts)}" if attempt.verdicts else ""
    cost = f", ${attempt.usage.cost_usd:.2f}" if attempt.usage.cost_usd else ""
    return f"{number}. {attempt.worker} on `{attempt.branch}` — {attempt.outcome}{verdicts}{cost}"


def _last_feedback(task: Task | None) -> str:
    if task is None:
        return ""
    for attempt in reversed(task.attempts):
        if attempt.feedback:
            return attempt.feedback[-1]
    return ""


def _quote(text: str) -> str:
    if len(text) > MAX_FEEDBACK_CHARS:
        text = text[:MAX_FEEDBACK_CHARS] + "…"
    return "\n".join(f"> {line}" for line in text.splitlines())
