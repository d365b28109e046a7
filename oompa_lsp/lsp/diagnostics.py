"""Diagnostics for task files and spec.md, as pure functions of text and the Snapshot.

Task files: schema and JSON errors (Error) with the exact ranges `core.tasks.decode_task`
finds in the editor's buffer; an `id` the file name overrides, stale claims and failed tasks
(Warning); fields oompa does not use, which are kept as they are (Hint). spec.md: live status
of linked items (Information), unchecked items no task implements (Hint), and on the first
line (Warning) a paused merge queue with its reason, a budget 80% spent, usage limits.

Columns are counted in Unicode code points here; `in_client_units` converts them to the
client's position encoding.

Must not import: oompa_lsp.engine, oompa_lsp.adapters.
"""

from __future__ import annotations

import re

from lsprotocol import types as lsp
from pygls.workspace import TextDocument
from pygls.workspace.position_codec import ServerTextPosition, ServerTextRange

from oompa_lsp.core.config import ConfigWarning
from oompa_lsp.core.errors import ConfigError
from oompa_lsp.core.jsonpos import Span, span_of_path, split_path
from oompa_lsp.core.snapshot import ReviewView, Snapshot, TaskView, spending_warnings
from oompa_lsp.core.spec import SpecDocument, SpecItem, SpecLinks
from oompa_lsp.core.tasks import Task, TaskProblem, decode_task

from .labels import reviews_by_task, status_words, train_of

SOURCE = "oompa"
_LINE_COLUMN = re.compile(r"^(\d+):(\d+)")


def task_file_diagnostics(
    text: str, task_id: str, folder_state: str, snapshot: Snapshot, *, running: bool
) -> list[lsp.Diagnostic]:
    """Everything wrong with one task file, from its current text (the editor's buffer)."""
    task, problems = decode_task(text.encode("utf-8"), task_id)
    found = [_problem_diagnostic(problem) for problem in problems]
    if task is None:
        return found
    return found + _task_warnings(task, text, folder_state, snapshot.tasks.get(task_id), running)


_PROBLEM_SEVERITY = {
    "error": lsp.DiagnosticSeverity.Error,
    "warning": lsp.DiagnosticSeverity.Warning,
    "hint": lsp.DiagnosticSeverity.Hint,
}
_PROBLEM_CODE = {"error": "task-schema", "warning": "task-id-differs", "hint": "task-field-kept"}


def _problem_diagnostic(problem: TaskProblem) -> lsp.Diagnostic:
    return _diagnostic(
        _range(problem.span), problem.message, _PROBLEM_SEVERITY[problem.severity], _PROBLEM_CODE[problem.severity]
    )


def _task_warnings(
    task: Task, text: str, folder_state: str, view: TaskView | None, running: bool
) -> list[lsp.Diagnostic]:
    first_line = _whole_line(text, 0)
    out: list[lsp.Diagnostic] = []
    if folder_state == "failed" or (view is not None and view.state == "failed"):
        reason = task.failure or (view.reason if view else "") or "its attempts ran out"
        out.append(
            _diagnostic(
                first_line,
                f"task failed: {reason} (Requeue to try again)",
                lsp.DiagnosticSeverity.Warning,
                "task-failed",
            )
        )
    stale = _stale_claim(task, folder_state, view, running)
    if stale:
        out.append(_diagnostic(first_line, stale, lsp.DiagnosticSeverity.Warning, "stale-claim"))
    return out


def _stale_claim(task: Task, folder_state: str, view: TaskView | None, running: bool) -> str:
    if folder_state != "current":
        return ""
    owner = task.claimed_by or "nobody"
    if not running:
        return f"claimed by {owner} but no swarm is running: the next start returns it to pending"
    if view is not None and view.state == "current" and view.worker and view.worker != task.claimed_by:
        return f"claimed by {owner} but the swarm says {view.worker} works on it"
    if view is not None and view.state != "current":
        return f"claimed by {owner} but the swarm has it as {view.state}"
    return ""


def spec_diagnostics(snapshot: Snapshot, document: SpecDocument, links: SpecLinks) -> list[lsp.Diagnostic]:
    reviews = reviews_by_task(snapshot)
    out = spec_header_diagnostics(snapshot)
    for item in document.items:
        found = item_diagnostic(snapshot, item, links.by_item.get(item.index, []), reviews)
        if found is not None:
            out.append(found)
    return out


def spec_header_diagnostics(snapshot: Snapshot) -> list[lsp.Diagnostic]:
    """What concerns the whole swarm, on spec.md's first line."""
    first_line = lsp.Range(lsp.Position(0, 0), lsp.Position(1, 0))
    out: list[lsp.Diagnostic] = []
    if snapshot.paused_reason:
        # Invariant 3: the user must see why approved work is not landing, and what to do.
        out.append(
            _diagnostic(
                first_line,
                f"the merge queue is paused: {snapshot.paused_reason}",
                lsp.DiagnosticSeverity.Warning,
                "merge-paused",
            )
        )
    for move in snapshot.outside_queue:
        # Invariant 4 broken by someone else: the user must know what was never reviewed.
        out.append(_diagnostic(first_line, move, lsp.DiagnosticSeverity.Warning, "outside-queue"))
    for warning in spending_warnings(snapshot):  # budget at 80%, usage limits (core.snapshot)
        out.append(_diagnostic(first_line, warning, lsp.DiagnosticSeverity.Warning, "spending"))
    return out


def item_diagnostic(
    snapshot: Snapshot, item: SpecItem, linked: list[str], reviews: dict[str, ReviewView]
) -> lsp.Diagnostic | None:
    """One spec.md item: the live status of its tasks, or a hint that none implements it."""
    task_ids = [t for t in linked if t in snapshot.tasks]
    if task_ids:
        words = "; ".join(
            f"{t}: {status_words(snapshot.tasks[t], reviews.get(t), train_of(snapshot, t))}" for t in task_ids[:5]
        )
        more = f" (+{len(task_ids) - 5} more)" if len(task_ids) > 5 else ""
        return _diagnostic(_item_range(item), words + more, lsp.DiagnosticSeverity.Information, "item-status")
    if not item.checked:
        return _diagnostic(
            _item_range(item), "no task implements this item yet", lsp.DiagnosticSeverity.Hint, "item-unplanned"
        )
    return None


def _diagnostic(where: lsp.Range, message: str, severity: lsp.DiagnosticSeverity, code: str) -> lsp.Diagnostic:
    return lsp.Diagnostic(range=where, message=message, severity=severity, source=SOURCE, code=code)


def _range(span: Span) -> lsp.Range:
    return lsp.Range(
        lsp.Position(span.start.line, span.start.character), lsp.Position(span.end.line, span.end.character)
    )


def _item_range(item: SpecItem) -> lsp.Range:
    return lsp.Range(lsp.Position(item.line, 0), lsp.Position(item.line, item.line_length))


def _whole_line(text: str, line: int) -> lsp.Range:
    lines = text.split("\n", line + 1)
    length = len(lines[line].rstrip("\r")) if line < len(lines) else 0
    return lsp.Range(lsp.Position(line, 0), lsp.Position(line, length))


def config_diagnostics(error: ConfigError, text: str) -> list[lsp.Diagnostic]:
    """oompa.json's one problem, where the ConfigError says it is (line:col, or a key path)."""
    message = f"{error.problem} ({error.hint})" if error.hint else error.problem
    return [_diagnostic(_config_range(error.where, text), message, lsp.DiagnosticSeverity.Error, "config")]


def config_warning_diagnostics(warnings: list[ConfigWarning], text: str) -> list[lsp.Diagnostic]:
    """What oompa.json asks for that will not happen as written (review off, an ignored key)."""
    return [
        _diagnostic(_config_range(w.where, text), w.message, lsp.DiagnosticSeverity.Warning, "config-warning")
        for w in warnings
    ]


def _config_range(where: str, text: str) -> lsp.Range:
    found = _LINE_COLUMN.match(where)
    if found:
        line, column = int(found.group(1)) - 1, int(found.group(2)) - 1
        span = (
            span_of_path(text, split_path("$." + where.split("(", 1)[1].rstrip(")")), False) if "(" in where else None
        )
        if span is not None and span.start.line == line:
            return _range(span)
        return lsp.Range(lsp.Position(line, column), lsp.Position(line, column + 1))
    span = span_of_path(text, split_path("$." + where), False) if where else None
    return _range(span) if span is not None else _whole_line(text, 0)


def in_client_units(document: TextDocument, found: list[lsp.Diagnostic]) -> list[lsp.Diagnostic]:
    """Diagnostics are computed in code points; convert when the text is not plain ASCII."""
    if document.source.isascii():
        return found
    for diagnostic in found:
        server_range = ServerTextRange(
            ServerTextPosition(diagnostic.range.start.line, diagnostic.range.start.character),
            ServerTextPosition(diagnostic.range.end.line, diagnostic.range.end.character),
        )
        diagnostic.range = document.range_to_client_units(server_range)
    return found
