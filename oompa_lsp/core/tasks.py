"""Tasks: the schema of a task file, its validation (with exact ranges) and the claim order.

A task file is `<tasks_dir>/<state>/<id>.json`. Agents write the user-facing fields; the
engine adds the claim and attempt history. Validation returns problems with spans so the
editor can underline them; the store never claims an invalid file.

Must not import: anything outside the standard library, msgspec and oompa_lsp.core.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from typing import Literal

import msgspec
from msgspec import Struct

from .jsonpos import Position, Span, byte_offset_in, char_index, position_at, span_of_path, split_path, without_bom

TaskState = Literal["pending", "current", "complete", "failed"]
TASK_STATES: tuple[TaskState, ...] = ("pending", "current", "complete", "failed")
_SAFE_ID = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,127}$")
_AT_PATH = re.compile(r" - at `(\$[^`]*)`$")
_UNKNOWN_FIELD = re.compile(r"unknown field `([^`]+)`")


class Usage(Struct, omit_defaults=True):
    input_tokens: int = 0
    output_tokens: int = 0
    cost_usd: float | None = None

    def plus(self, other: "Usage") -> "Usage":
        cost = None if self.cost_usd is None and other.cost_usd is None else (self.cost_usd or 0) + (other.cost_usd or 0)
        return Usage(self.input_tokens + other.input_tokens, self.output_tokens + other.output_tokens, cost)


class Attempt(Struct, forbid_unknown_fields=True, omit_defaults=True):
    worker: str
    branch: str
    started_at: str
    verdicts: list[str] = []
    feedback: list[str] = []
    outcome: str = "running"  # running | merged | no change | rejected | parked | failed | returned
    parked_ref: str | None = None
    usage: Usage = msgspec.field(default_factory=Usage)


class Owner(Struct, frozen=True, forbid_unknown_fields=True):
    """Who holds a claim: enough to tell, after a crash, whether that process still lives."""

    worker: str
    run_id: str
    pid: int
    host: str

    def describe(self) -> str:
        return f"{self.worker} (pid {self.pid} on {self.host}, run {self.run_id})"


class Task(Struct, forbid_unknown_fields=True, omit_defaults=True):
    id: str
    summary: str
    description: str = ""
    acceptance: list[str] = []
    files: list[str] = []
    priority: int = 0
    depends_on: list[str] = []
    spec: str | None = None
    no_change_ok: bool = False  # an investigation, say: finishing with no change completes the task
    claimed_by: str | None = None
    claimed_at: str | None = None
    attempts: list[Attempt] = []
    merged_commit: str | None = None
    failure: str | None = None
    owner: Owner | None = None  # set with claimed_by/claimed_at by the task store's claim


class TaskProblem(Struct, frozen=True):
    message: str
    span: Span


def is_safe_id(task_id: str) -> bool:
    return bool(_SAFE_ID.match(task_id)) and ".." not in task_id


def encode_task(task: Task) -> bytes:
    return msgspec.json.format(msgspec.json.encode(task), indent=2) + b"\n"


def decode_task(data: bytes, file_stem: str | None = None) -> tuple[Task | None, list[TaskProblem]]:
    """Decode a task file's content; returns the task or the problems with their spans."""
    data = without_bom(data)
    text = data.decode("utf-8", errors="replace")
    try:
        task = msgspec.json.decode(data, type=Task)
    except msgspec.DecodeError as exc:
        return None, [_problem_from(str(exc), data, text)]
    problems = list(_semantic_problems(task, text, file_stem))
    return (None, problems) if problems else (task, [])


def _semantic_problems(task: Task, text: str, file_stem: str | None) -> Iterable[TaskProblem]:
    if not is_safe_id(task.id):
        yield TaskProblem(f"id {task.id!r} is not a safe file name (letters, digits, . _ -)", _span(text, ["id"]))
    elif file_stem is not None and task.id != file_stem:
        yield TaskProblem(f"id {task.id!r} does not match the file name {file_stem!r}.json", _span(text, ["id"]))
    if not task.summary.strip():
        yield TaskProblem("summary is empty: say in one line what the task does", _span(text, ["summary"]))
    for index, dep in enumerate(task.depends_on):
        if dep == task.id:
            yield TaskProblem("a task cannot depend on itself", _span(text, ["depends_on", index]))


def _problem_from(message: str, data: bytes, text: str) -> TaskProblem:
    offset = byte_offset_in(message)
    if offset is not None:
        pos = position_at(text, char_index(data, offset))
        return TaskProblem(re.sub(r"\s*\(byte \d+\)", "", message), Span(pos, Position(pos.line, pos.character + 1)))
    at = _AT_PATH.search(message)
    path = split_path(at.group(1)) if at else []
    problem = _AT_PATH.sub("", message)
    unknown = _UNKNOWN_FIELD.search(problem)
    if unknown:
        return TaskProblem(problem, _span(text, [*path, unknown.group(1)], key_only=True))
    return TaskProblem(problem, _span(text, path))


def _span(text: str, path: list[str | int], key_only: bool = False) -> Span:
    span = span_of_path(text, path, key_only) if path else None
    if span is None:
        end = position_at(text, len(text.rstrip()))
        return Span(Position(0, 0), end if path == [] else Position(0, 1))
    return span


def claim_order(pending: Iterable[Task], complete_ids: set[str], busy_files: set[str]) -> list[Task]:
    """Claimable tasks, best first: dependencies met, no file overlap with work in flight,
    highest priority, then id for a stable order."""
    ready = [t for t in pending if set(t.depends_on) <= complete_ids and not (set(t.files) & busy_files)]
    return sorted(ready, key=lambda t: (-t.priority, t.id))


def blocked_forever(pending: Iterable[Task], known_ids: set[str], failed_ids: set[str]) -> list[Task]:
    """Pending tasks that can never become claimable: they depend on failed or unknown tasks."""
    return [t for t in pending if any(d in failed_ids or d not in known_ids for d in t.depends_on)]
