"""Prompts: the user's (or the bundled) templates, filled, plus the framing each turn needs.

A role's prompt is its template with every placeholder filled (ours, `$name`, and the original
oompa's tokens, `{{TASKS_ROOT}}` and the rest; see core.prompt_text) **plus** a section for
every piece of the turn's framing the template did not place itself: a worker always learns
its task, the tasks folder and the signals to end with; a reviewer the task, the check
results, the full diff and the verdict contract. A user's prompt adds to the framing and
never removes it; a piece it places is not repeated. Pure functions of the facts they get.

May import: core. Must not import: adapters, lsp, cli.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from types import MappingProxyType

from ..core.events import CheckResult
from ..core.prompt_text import PLACEHOLDER_ROLES, fill, placed_names
from ..core.signals import COMPLETE, DONE, NEEDS_FOLLOWUP
from ..core.tasks import Task


@dataclass(frozen=True)
class Piece:
    """One part of a turn's framing: the placeholder that holds it, the heading of the
    section the engine adds when the template does not place it, and the names that place it."""

    name: str
    heading: str
    placed_by: frozenset[str]


def _piece(name: str, heading: str, *others: str) -> Piece:
    return Piece(name, heading, frozenset((name, *others)))


TASK = _piece("task_block", "Your task", "next_work_md")
TASKS_FOLDER = _piece("tasks_dir", "The tasks folder", "pending_dir", "TASKS_ROOT", "TASK_ROOT")
SIGNALS = _piece("signals", "How to finish")
SPEC = _piece("spec_path", "The specification")
EXISTING_TASKS = _piece("existing_tasks", "Tasks that already exist (any state): do not repeat them")
PENDING_FOLDER = _piece("pending_dir", "Where new tasks go", "tasks_dir", "TASKS_ROOT", "TASK_ROOT")
REVIEWED_TASK = _piece("task_block", "The task")
CHECKS = _piece("check_block", "Checks the engine ran")
DIFF = _piece("diff", "The change (full diff from the merge base)")
VERDICT = _piece("verdict_contract", "Your answer")
CONFLICTS = _piece("conflict_files", "Files with conflict markers")

FRAMING: Mapping[str, tuple[Piece, ...]] = MappingProxyType(
    {
        "worker": (TASK, TASKS_FOLDER, SIGNALS),
        "executor": (TASK, TASKS_FOLDER, SIGNALS),
        "planner": (SPEC, EXISTING_TASKS, PENDING_FOLDER, SIGNALS),
        "reviewer": (REVIEWED_TASK, CHECKS, DIFF, VERDICT),
        "resolver": (CONFLICTS, SIGNALS),
    }
)
# A worker's turn without a task is a planning turn: it also needs what a planner sees.
PLANNING_EXTRA = (SPEC, EXISTING_TASKS)

VERDICT_CONTRACT = (
    "If anything must change, list each problem as a numbered line naming the place, "
    "`1. path/to/file.py:42: what is wrong`. Do not ask for changes outside the task's scope.\n"
    "End with one verdict line, alone on its line: `VERDICT: APPROVED` or `VERDICT: CHANGES_REQUESTED`."
)


@dataclass(frozen=True)
class PromptFacts:
    """What the engine knows when it builds one turn's prompt."""

    role: str  # worker | executor | planner | reviewer | resolver
    tasks_dir: str  # absolute
    worktree: str = ""
    target: str = ""
    spec_path: str = ""
    task: Task | None = None
    tasks: Mapping[str, list[Task]] = field(default_factory=dict)  # the store's scan, by state
    checks: list[CheckResult] | None = None  # a reviewer's: the checks that ran on the change
    diff: str = ""  # a reviewer's: the full diff from the merge base
    conflict_files: tuple[str, ...] = ()  # a resolver's

    @property
    def planning(self) -> bool:
        return self.role == "planner" or (self.role == "worker" and self.task is None)


# -- building a prompt ------------------------------------------------------------------------


def build_prompt(template: str, facts: PromptFacts) -> str:
    """The template filled, then a section for every framing piece it did not place."""
    values = prompt_values(facts)
    placed = placed_names(template)
    bodies = {**values, **_section_bodies(facts)}
    sections = [f"## {p.heading}\n{bodies[p.name]}" for p in framing(facts) if not p.placed_by & placed]
    return "\n\n".join(part for part in [fill(template, values).strip(), *sections] if part) + "\n"


def _section_bodies(facts: PromptFacts) -> dict[str, str]:
    """Where a section the engine adds says more than the bare placeholder value would."""
    return {
        "tasks_dir": tasks_folder_text(facts.tasks_dir, facts.role),
        "diff": diff_block(facts.diff),
        "pending_dir": f"Write each new task as `<id>.json` into `{facts.tasks_dir}/pending/`.",
        "spec_path": f"The specification is `{facts.spec_path}`.",
    }


def framing(facts: PromptFacts) -> tuple[Piece, ...]:
    pieces = FRAMING[facts.role]
    return pieces + PLANNING_EXTRA if facts.role == "worker" and facts.task is None else pieces


def needs_task_scan(template: str) -> bool:
    """Whether the template shows task counts or lists (worth a store scan before the turn)."""
    return bool(placed_names(template) & _SCAN_TOKENS)


_SCAN_TOKENS = frozenset(
    {
        "pending_count",
        "current_count",
        "complete_count",
        "pending_tasks",
        "task_status",
        "context_header",
        "queue_md",
        "existing_tasks",
    }
)


# -- what each placeholder holds ----------------------------------------------------------------


def prompt_values(facts: PromptFacts) -> dict[str, str]:
    """A value for every placeholder and token, in every role (a note where it means nothing)."""
    values = {name: _not_here(name, facts.role) for name in PLACEHOLDER_ROLES}
    values.update(_our_values(facts))
    values.update(_original_tokens(facts))
    return values


def _not_here(name: str, role: str) -> str:
    return f"(no {name.replace('_', ' ')} in a {role}'s turn)"


def _our_values(facts: PromptFacts) -> dict[str, str]:
    pending_dir = f"{facts.tasks_dir}/pending"
    values = {
        "task_block": task_block(facts.task, facts.planning),
        "worktree": facts.worktree,
        "target": facts.target,
        "tasks_dir": facts.tasks_dir,
        "pending_dir": pending_dir,
        "spec_path": facts.spec_path,
        "signals": signals_text(facts),
    }
    if facts.task is not None:
        values["task_id"] = facts.task.id
    if facts.role in ("worker", "planner"):
        values["existing_tasks"] = existing_tasks_block([t for ts in facts.tasks.values() for t in ts])
    if facts.role == "reviewer":
        values.update(check_block=check_block(facts.checks or []), diff=facts.diff, verdict_contract=VERDICT_CONTRACT)
    if facts.role == "resolver":
        values["conflict_files"] = "\n".join(f"- {f}" for f in facts.conflict_files) or "(none listed)"
    return values


def tasks_folder_text(tasks_dir: str, role: str) -> str:
    where = f"The tasks folder is `{tasks_dir}` (`pending/`, `current/`, `complete/`)."
    if role == "executor":
        return where + " Leave its files to the engine: an executor does not create tasks."
    return (
        where + f" Work you find out of scope goes into `{tasks_dir}/pending/` as a new task file "
        "`<id>.json` with `id`, `summary`, `description` and `acceptance`."
    )


def _original_tokens(facts: PromptFacts) -> dict[str, str]:
    """The original oompa's tokens, filled from what this engine knows; honest notes for the rest."""
    count = {state: len(facts.tasks.get(state, [])) for state in ("pending", "current", "complete", "failed")}
    status = (
        f"{count['pending']} pending, {count['current']} in progress, {count['complete']} complete, "
        f"{count['failed']} failed"
    )
    queue = existing_tasks_block(facts.tasks.get("pending", []))
    named = _files_of(facts.task) if facts.task else []
    task_files = ", ".join(named) if named else "(the task names no files)"
    return {
        "TASKS_ROOT": facts.tasks_dir,
        "TASK_ROOT": facts.tasks_dir,
        "pending_count": str(count["pending"]),
        "current_count": str(count["current"]),
        "complete_count": str(count["complete"]),
        "pending_tasks": queue,
        "task_status": status,
        "mode_hint": _MODE_HINTS.get(facts.role, facts.role),
        "targets": task_files,
        "recent_sec": "(not tracked)",
        "context_header": f"oompa swarm, {facts.role} turn; tasks: {status}",
        "queue_md": queue,
        "recent_files_md": "(oompa-lsp does not track recently changed files)",
        "next_work_md": task_block(facts.task, facts.planning),
        "diffstat_md": diffstat(facts.diff),
    }


_MODE_HINTS: Mapping[str, str] = MappingProxyType(
    {
        "worker": "implement the task assigned to you",
        "executor": "implement the task assigned to you",
        "planner": "plan: write tasks, no code",
        "reviewer": "review",
        "resolver": "resolve the merge conflict",
    }
)


# -- the blocks ---------------------------------------------------------------------------------


def task_block(task: Task | None, planning: bool = False) -> str:
    if task is None:
        return (
            "No task is assigned to you this cycle. If the specification holds work no task covers, "
            "write new tasks; otherwise end with __DONE__."
            if planning
            else "No task is assigned to you."
        )
    lines = [f"Task `{task.id}`: {task.summary}"]
    if task.description:
        lines += ["", task.description]
    if task.acceptance:
        lines += ["", "Acceptance criteria:"] + [f"{i}. {c}" for i, c in enumerate(task.acceptance, 1)]
    if _files_of(task):
        lines += ["", "Files likely involved: " + ", ".join(_files_of(task))]
    return "\n".join(lines)


def signals_text(facts: PromptFacts) -> str:
    """The signal lines this turn may end with (core.signals reads them alone on a line)."""
    finish = "End your final message with exactly one of these lines, alone on its line:\n"
    if facts.role == "planner":
        return (
            f"When every item of the specification is covered by a task, end your final message with the line `{DONE}`."
        )
    lines = [
        f"- `{COMPLETE}` when the work is done and ready for review;",
        f"- `{NEEDS_FOLLOWUP}: <reason>` when you are blocked and a human or another task must act;",
    ]
    if facts.role == "worker":
        lines.append(f"- `{DONE}` when there is no task for you and nothing left to do.")
    return finish + "\n".join(lines)


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


def diff_block(diff: str) -> str:
    """The diff fenced, with a fence longer than any backtick run inside it."""
    fence = "`" * max(3, _longest_backtick_run(diff) + 1)
    return f"{fence}diff\n{diff.rstrip()}\n{fence}" if diff.strip() else "(the change is empty)"


def no_change_prompt() -> str:
    return (
        "No change found in your worktree: nothing differs from where your task started. Make the "
        "change the task asks for (the engine commits it; do not commit or switch branches yourself), "
        "then end with the line COMPLETE_AND_READY_FOR_MERGE, or say NEEDS_FOLLOWUP: <why> if no change "
        "is needed or possible."
    )


def _longest_backtick_run(text: str) -> int:
    longest = run = 0
    for char in text:
        run = run + 1 if char == "`" else 0
        longest = max(longest, run)
    return longest


def diffstat(diff: str) -> str:
    """Lines added and removed per file, read from a unified diff (the original's `{diffstat_md}`)."""
    stats: dict[str, list[int]] = {}
    current = None
    for line in diff.splitlines():
        if line.startswith("diff --git "):
            current = line.rsplit(" b/", 1)[-1]
            stats[current] = [0, 0]
        elif current and line.startswith(("+", "-")) and not line.startswith(("+++", "---")):
            stats[current][line.startswith("-")] += 1
    if not stats:
        return "(no change to show)"
    return "\n".join(f"- `{path}`: +{added} -{removed}" for path, (added, removed) in stats.items())


def _files_of(task: Task) -> list[str]:
    """`files` and the original's `target_files`, each once, in the order written."""
    return list(dict.fromkeys([*task.files, *task.target_files]))


def existing_tasks_block(tasks: list[Task]) -> str:
    if not tasks:
        return "(none yet)"
    return "\n".join(f"- `{t.id}`: {t.summary}" for t in tasks)


# -- turns that are not a role's template -------------------------------------------------------


def feedback_prompt(feedback: str, round_no: int) -> str:
    return (
        f"Your change was reviewed (round {round_no}) and needs more work:\n\n{feedback}\n\n"
        f"Fix every point in your worktree, then end with the line {COMPLETE}."
    )


def nudge_prompt(resumes_left: int) -> str:
    urgency = " This is your last turn on this task." if resumes_left <= 1 else ""
    return (
        "Your last message ended without a signal. Continue the task; when it is finished end "
        f"your final message with the line {COMPLETE}, or {NEEDS_FOLLOWUP}: "
        f"<reason> if you are blocked.{urgency}"
    )
