"""Prompts: the bundled or configured templates filled with the task, feedback and paths.

Templates use `$name` placeholders (string.Template), so JSON and code in prompts need no
escaping. Unknown placeholders are left as they are.

May import: core. Must not import: lsp, cli.
"""

from __future__ import annotations

from pathlib import Path
from string import Template

from ..core.events import CheckResult
from ..core.tasks import Task


def render(template_paths: list[str], **values: str) -> str:
    text = "\n\n".join(Path(p).read_text(encoding="utf-8") for p in template_paths)
    return Template(text).safe_substitute(values)


def task_block(task: Task | None) -> str:
    if task is None:
        return "No task is assigned to you this cycle."
    lines = [f"Task `{task.id}`: {task.summary}"]
    if task.description:
        lines += ["", task.description]
    if task.acceptance:
        lines += ["", "Acceptance criteria:"] + [f"{i}. {c}" for i, c in enumerate(task.acceptance, 1)]
    if task.files:
        lines += ["", "Files likely involved: " + ", ".join(task.files)]
    return "\n".join(lines)


def check_block(results: list[CheckResult]) -> str:
    if not results:
        return "No checks are configured."
    out = []
    for result in results:
        verdict = "passed" if result.exit_code == 0 else f"FAILED (exit {result.exit_code})"
        out.append(f"- `{' '.join(result.argv)}`: {verdict}")
        if result.exit_code != 0 and result.output_tail:
            out.append("```\n" + result.output_tail + "\n```")
    return "\n".join(out)


def feedback_prompt(feedback: str, round_no: int) -> str:
    return (f"Your change was reviewed (round {round_no}) and needs more work:\n\n{feedback}\n\n"
            "Fix every point in your worktree, then end with the line COMPLETE_AND_READY_FOR_MERGE.")


def no_change_prompt() -> str:
    return ("No change found in your worktree: nothing differs from where your task started. Make the "
            "change the task asks for (the engine commits it; do not commit or switch branches yourself), "
            "then end with the line COMPLETE_AND_READY_FOR_MERGE, or say NEEDS_FOLLOWUP: <why> if no change "
            "is needed or possible.")


def nudge_prompt(resumes_left: int) -> str:
    urgency = " This is your last turn on this task." if resumes_left <= 1 else ""
    return ("Your last message ended without a signal. Continue the task; when it is finished end "
            "your final message with the line COMPLETE_AND_READY_FOR_MERGE, or NEEDS_FOLLOWUP: "
            f"<reason> if you are blocked.{urgency}")


def existing_tasks_block(tasks: list[Task]) -> str:
    if not tasks:
        return "(none yet)"
    return "\n".join(f"- `{t.id}`: {t.summary}" for t in tasks)
