"""Tasks: the schema of a task file, its validation (with exact ranges) and the claim order.

A task file is `<tasks_dir>/<state>/<id>.json`. Agents write the user-facing fields; the
engine adds the claim and attempt history. Validation returns problems with spans so the
editor can underline them; the store never claims a file with an error.

Fields oompa does not use (the original oompa's `difficulty`, an agent's own `notes`) are
not errors: the decoder keeps them verbatim, with the file's key order, in the task's
`layout`, and `encode_task` writes them back where they were, so every rewrite the engine
makes changes only the fields it changed. The file name is the task's id: an `id` field that
says otherwise is a warning, kept as written.

Must not import: anything outside the standard library, msgspec and oompa_lsp.core.
"""

from __future__ import annotations

import difflib
import re
from collections.abc import Iterable, Mapping
from typing import Literal

import msgspec
from msgspec import Raw, Struct

from .jsonpos import Position, Span, byte_offset_in, char_index, position_at, span_of_path, split_path, without_bom
from .paths import blocking_task

TaskState = Literal["pending", "current", "complete", "failed"]
TASK_STATES: tuple[TaskState, ...] = ("pending", "current", "complete", "failed")
_SAFE_ID = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,127}$")
_AT_PATH = re.compile(r" - at `(\$[^`]*)`$")
_UNKNOWN_FIELD = re.compile(r"unknown field `([^`]+)`")
# The key Task.layout would have in JSON: encode_task never writes it, decode_task never reads it.
_LAYOUT_KEY = "__oompa_file_layout__"
Severity = Literal["error", "warning", "hint"]


class Usage(Struct, omit_defaults=True):
    """Tokens and dollars of one turn, or the sum of several.

    `input_tokens` is every prompt token the model read, cached or not; `cache_read_tokens`
    and `cache_write_tokens` are the parts of it read from and written to the prompt cache.
    `cost_usd` is the CLI's figure when it reports one, else the price table's (core.costs);
    None when nothing could be priced. `unpriced` names the models (`harness:model`) whose
    tokens have no price, so their cost is not in `cost_usd`."""

    input_tokens: int = 0
    output_tokens: int = 0
    cost_usd: float | None = None
    cache_read_tokens: int = 0
    cache_write_tokens: int = 0
    unpriced: list[str] = []

    @property
    def tokens(self) -> int:
        """What a token budget counts: every token read and written."""
        return self.input_tokens + self.output_tokens

    def plus(self, other: Usage) -> Usage:
        cost = (
            None if self.cost_usd is None and other.cost_usd is None else (self.cost_usd or 0) + (other.cost_usd or 0)
        )
        return Usage(
            self.input_tokens + other.input_tokens,
            self.output_tokens + other.output_tokens,
            cost,
            self.cache_read_tokens + other.cache_read_tokens,
            self.cache_write_tokens + other.cache_write_tokens,
            [*self.unpriced, *(m for m in other.unpriced if m not in self.unpriced)],
        )


class Attempt(Struct, forbid_unknown_fields=True, omit_defaults=True):
    worker: str
    branch: str
    started_at: str
    verdicts: list[str] = []
    feedback: list[str] = []
    # running | merged | no change | rejected | parked | failed | returned | stopped (the swarm
    # stopped under it: a user's stop, a budget, a usage limit; not held against the task)
    outcome: str = "running"
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


class TaskLayout(Struct, frozen=True):
    """How a task file was written, beyond the fields oompa uses: its top-level keys in order,
    the values of the fields oompa does not use (verbatim), and its `id` when that differs
    from the file name."""

    keys: tuple[str, ...] = ()
    extras: dict[str, Raw] = {}
    id_as_written: str | None = None


class Task(Struct, omit_defaults=True):
    id: str  # the file name's stem, whatever the file's `id` field says (see TaskLayout)
    summary: str
    description: str = ""
    acceptance: list[str] = []
    files: list[str] = []
    target_files: list[str] = []  # the original oompa's name for `files`
    priority: int = 0
    depends_on: list[str] = []
    spec: str | None = None
    no_change_ok: bool = False  # an investigation, say: finishing with no change completes the task
    completed_by: str | None = None  # the worker whose work landed (the original oompa's field)
    claimed_by: str | None = None
    claimed_at: str | None = None
    attempts: list[Attempt] = []
    merged_commit: str | None = None
    failure: str | None = None
    owner: Owner | None = None  # set with claimed_by/claimed_at by the task store's claim
    # Not a task-file field: set by decode_task, read by encode_task.
    layout: TaskLayout | None = msgspec.field(default=None, name=_LAYOUT_KEY)

    def __eq__(self, other: object) -> bool:
        # The order of a file's keys is how it was written, not what the task is: a task read
        # back equals the one written. Fields oompa does not use are part of it.
        if not isinstance(other, Task):
            return NotImplemented
        return _content(self) == _content(other)

    __hash__ = None  # type: ignore[assignment]  # mutable, like every Struct that is not frozen

    def attempts_spent(self) -> int:
        """Attempts that count against `task_attempts`: not those a stopping swarm cut short."""
        return sum(1 for attempt in self.attempts if attempt.outcome != "stopped")

    def touched_files(self) -> set[str]:
        """The files this task says it works on, under either name: what scheduling keeps apart."""
        return {*self.files, *self.target_files}


# Fields the engine sets and clears: one at its default is dropped from the file. Any other
# field the file has stays in it, even at its default (`"completed_by": null`).
_ENGINE_FIELDS = frozenset({"claimed_by", "claimed_at", "attempts", "merged_commit", "failure", "owner"})
TASK_FIELDS: tuple[str, ...] = tuple(name for name in Task.__struct_encode_fields__ if name != _LAYOUT_KEY)
_CONTENT_FIELDS = tuple(name for name in Task.__struct_fields__ if name != "layout")


def _content(task: Task) -> tuple[tuple[object, ...], dict[str, Raw], str | None]:
    layout = task.layout or TaskLayout()
    return tuple(getattr(task, name) for name in _CONTENT_FIELDS), layout.extras, layout.id_as_written


# Decoders built once (building one per call costs more than the decoding): read-only.
_MEMBERS = msgspec.json.Decoder(dict[str, Raw])
_TASK = msgspec.json.Decoder(Task)


class TaskProblem(Struct, frozen=True):
    message: str
    span: Span
    severity: Severity = "error"  # only an error makes the file unclaimable


def is_safe_id(task_id: str) -> bool:
    return bool(_SAFE_ID.match(task_id)) and ".." not in task_id


def encode_task(task: Task) -> bytes:
    """The file for `task`: the keys its file had, in that order (fields oompa does not use
    verbatim, the `id` as written), then the fields the engine added."""
    return msgspec.json.format(msgspec.json.encode(_file_members(task)), indent=2) + b"\n"


def _file_members(task: Task) -> dict[str, Raw]:
    fields = _encoded_fields(task)
    layout = task.layout or TaskLayout()
    out: dict[str, Raw] = {}
    for key in layout.keys:
        if key in layout.extras:
            out[key] = layout.extras[key]
        elif key == "id" and layout.id_as_written is not None:
            out[key] = Raw(msgspec.json.encode(layout.id_as_written))
        elif key in fields:
            out[key] = fields[key]
        elif key in TASK_FIELDS and key not in _ENGINE_FIELDS:
            out[key] = Raw(msgspec.json.encode(getattr(task, key)))
    for key, value in fields.items():
        out.setdefault(key, value)
    return out


def _encoded_fields(task: Task) -> dict[str, Raw]:
    """The task's fields that are not at their default, in schema order."""
    bare = msgspec.structs.replace(task, layout=None)
    return _MEMBERS.decode(msgspec.json.encode(bare))


def decode_task(data: bytes, file_stem: str | None = None) -> tuple[Task | None, list[TaskProblem]]:
    """Decode a task file's content: the task (None when the file has an error) and its
    problems with their spans: errors, warnings (an id the file name overrides) and hints
    (fields oompa does not use). With `file_stem`, the task's id is the file's name."""
    data = without_bom(data)
    text = data.decode("utf-8", errors="replace")
    try:
        members = _MEMBERS.decode(data)
        task = _TASK.decode(data if _LAYOUT_KEY not in members else _without_layout_key(members))
    except msgspec.DecodeError as exc:
        return None, [_problem_from(str(exc), data, text)]
    extras = {key: value for key, value in members.items() if key not in TASK_FIELDS}
    hints = [_unused_field_hint(key, text) for key in extras]
    problems = list(_semantic_problems(task, text, file_stem))
    if any(p.severity == "error" for p in problems):
        return None, problems + hints
    named = file_stem if file_stem is not None else task.id
    task.layout = TaskLayout(tuple(members), extras, task.id if task.id != named else None)
    task.id = named
    return task, problems + hints


def _without_layout_key(members: dict[str, Raw]) -> bytes:
    # a file that happens to use our internal name: that key is one of its own fields
    return msgspec.json.encode({key: value for key, value in members.items() if key != _LAYOUT_KEY})


def file_name_notice(task: Task) -> str | None:
    """What to tell the user about a task whose `id` field and file name disagree."""
    written = task.layout.id_as_written if task.layout else None
    return None if written is None else _id_differs(written, task.id)


def _id_differs(written: str, file_stem: str) -> str:
    return f"id {written!r} differs from the file name {file_stem}.json: the file name wins, this task is {file_stem}"


def _unused_field_hint(key: str, text: str) -> TaskProblem:
    message = f"`{key}`: not a field oompa uses; kept as is"
    close = difflib.get_close_matches(key, TASK_FIELDS, n=1, cutoff=0.75)
    if close:
        message += f" (did you mean `{close[0]}`?)"
    return TaskProblem(message, _span(text, [key], key_only=True), "hint")


def _semantic_problems(task: Task, text: str, file_stem: str | None) -> Iterable[TaskProblem]:
    if file_stem is not None and not is_safe_id(file_stem):
        yield TaskProblem(
            f"the file name {file_stem!r}.json is not a safe task id (letters, digits, . _ -)", _span(text, ["id"])
        )
    elif not is_safe_id(task.id):
        yield TaskProblem(f"id {task.id!r} is not a safe file name (letters, digits, . _ -)", _span(text, ["id"]))
    elif file_stem is not None and task.id != file_stem:
        yield TaskProblem(_id_differs(task.id, file_stem), _span(text, ["id"]), "warning")
    if not task.summary.strip():
        yield TaskProblem("summary is empty: say in one line what the task does", _span(text, ["summary"]))
    for index, dep in enumerate(task.depends_on):
        if dep == (file_stem or task.id):
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


def claim_order(pending: Iterable[Task], complete_ids: set[str], in_flight: Mapping[str, Iterable[str]]) -> list[Task]:
    """Claimable tasks, best first: dependencies met, no path overlapping a task in flight
    (see `core.paths`), highest priority, then id for a stable order."""
    ready = [
        t for t in pending if set(t.depends_on) <= complete_ids and blocking_task(t.touched_files(), in_flight) is None
    ]
    return sorted(ready, key=lambda t: (-t.priority, t.id))


def waiting_reason(task: Task, complete_ids: set[str], in_flight: Mapping[str, Iterable[str]]) -> str:
    """Why a pending task is not started now, in the words the views show ("" when nothing
    holds it back): a dependency not merged yet, or a task in flight on an overlapping path."""
    missing = sorted(set(task.depends_on) - complete_ids)
    if missing:
        return "waits for " + ", ".join(missing[:3]) + (f" and {len(missing) - 3} more" if len(missing) > 3 else "")
    blocker = blocking_task(task.touched_files(), in_flight)
    return "" if blocker is None else f"behind {blocker[0]} on {blocker[1]}"


def blocked_forever(pending: Iterable[Task], known_ids: set[str], failed_ids: set[str]) -> list[Task]:
    """Pending tasks that can never become claimable: they depend on failed or unknown tasks,
    on tasks that are themselves blocked, or on each other in a cycle."""
    waiting = list(pending)
    can_finish = known_ids - failed_ids - {t.id for t in waiting}  # complete, or claimed and running
    while True:
        ready = {t.id for t in waiting if set(t.depends_on) <= can_finish}
        if not ready:
            return waiting
        can_finish |= ready
        waiting = [t for t in waiting if t.id not in ready]


def why_blocked(
    task: Task, blocked_ids: set[str], known_ids: set[str], failed_ids: set[str], unreadable_ids: set[str]
) -> str:
    """`task waits for dep (why), ...`: the dependencies that keep a blocked task from running."""
    reasons = []
    for dep in task.depends_on:
        if dep in failed_ids:
            reasons.append(f"{dep} (failed)")
        elif dep in unreadable_ids:
            reasons.append(f"{dep} (its file cannot be read)")
        elif dep not in known_ids:
            reasons.append(f"{dep} (no such task)")
        elif dep in blocked_ids:
            reasons.append(f"{dep} (blocked too)")
    return f"{task.id} waits for " + ", ".join(reasons)
