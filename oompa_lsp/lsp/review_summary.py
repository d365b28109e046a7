"""A review's summary as markdown (`oompa/reviewSummary`): what a reviewer reads beside the
diff — the task and its acceptance criteria, the checks and their results, each review round's
verdict and feedback (the model's findings that name no place in the code among them), and
what the task has cost so far.

Rendering only: it reads the snapshot and the task as given. Must not import:
oompa_lsp.engine, oompa_lsp.adapters, pygls.
"""

from __future__ import annotations

from oompa_lsp.core.events import CheckResult
from oompa_lsp.core.review_notes import Finding
from oompa_lsp.core.snapshot import ReviewView, RoundView, Snapshot
from oompa_lsp.core.tasks import Task, Usage

_OUTPUT_LINES = 12


def review_summary(snapshot: Snapshot, review: ReviewView, task: Task | None) -> str:
    parts = [
        f"# Review {review.review_id}: {task.summary if task else review.task_id}",
        f"Task `{review.task_id}` · worker `{review.worker}` · branch `{review.branch}` · "
        f"round {review.round} · {review.base[:10]} → {review.head[:10]}",
        _task_section(task),
        _checks_section(review.checks),
        _rounds_section(snapshot.rounds.get(review.task_id, [])),
        _unplaced_section(review.findings),
        _cost_section(_usage_of(snapshot, review.task_id)),
    ]
    return "\n\n".join(part for part in parts if part) + "\n"


def _task_section(task: Task | None) -> str:
    if task is None:
        return "## Task\n\n_The task file could not be read._"
    lines = ["## Task", "", task.description.strip() or "_No description._", "", "## Acceptance criteria", ""]
    lines += [f"- {item}" for item in task.acceptance] or ["_None written._"]
    return "\n".join(lines)


def _checks_section(checks: list[CheckResult]) -> str:
    if not checks:
        return "## Checks\n\n_No checks are configured (`merge.checks`)._"
    lines = ["## Checks", ""]
    for check in checks:
        mark = "passed" if check.exit_code == 0 else f"**failed** (exit {check.exit_code})"
        lines.append(f"- `{' '.join(check.argv)}`: {mark} in {check.duration_s:.1f} s")
        if check.exit_code != 0 and check.output_tail.strip():
            tail = check.output_tail.strip().splitlines()[-_OUTPUT_LINES:]
            lines += ["", "  ```", *(f"  {line}" for line in tail), "  ```"]
    return "\n".join(lines)


def _rounds_section(rounds: list[RoundView]) -> str:
    if not rounds:
        return "## Review rounds\n\n_This is the first review of the task._"
    lines = ["## Review rounds"]
    for entry in rounds:
        verdict = "approved" if entry.approved else "changes requested"
        lines += ["", f"### Round {entry.round} — {verdict} by {entry.reviewer}"]
        if entry.feedback.strip():
            lines += ["", _quoted(entry.feedback)]
    return "\n".join(lines)


def _unplaced_section(findings: list[Finding]) -> str:
    unplaced = [f for f in findings if f.path is None]
    if not unplaced:
        return ""
    lines = ["## The model reviewer's findings with no place in the code", ""]
    lines += [f"{f.number}. {f.text}" for f in unplaced]
    return "\n".join(lines)


def _cost_section(usage: Usage | None) -> str:
    if usage is None:
        return "## Cost so far\n\n_Nothing recorded yet._"
    cost = f"${usage.cost_usd:.2f}" if usage.cost_usd is not None else "cost not reported"
    return f"## Cost so far\n\n{cost} · {usage.input_tokens:,} input / {usage.output_tokens:,} output tokens"


def _usage_of(snapshot: Snapshot, task_id: str) -> Usage | None:
    task = snapshot.tasks.get(task_id)
    return task.usage if task is not None else None


def _quoted(text: str) -> str:
    return "\n".join(f"> {line}" if line.strip() else ">" for line in text.strip().splitlines())
