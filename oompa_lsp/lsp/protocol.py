"""The editor protocol of oompa-lsp: every custom method, notification and command, typed.

This module is the single source of truth for names and payloads (DESIGN §7): the method and
command names, and the tables (`REQUESTS`, `NOTIFICATIONS`, `COMMANDS`) that give each its
params, result and doc. The payload Structs are defined in payloads.py and re-exported here,
so callers name them as `protocol.X`. `docs/protocol.md` is generated from the tables by
protocol_doc.py (`python -m oompa_lsp.lsp.protocol_doc > docs/protocol.md`, and a test fails
when the two differ), and the VS Code extension mirrors it in one file.

It also holds `OompaProtocol`, the pygls protocol subclass that gives custom requests typed
params: a request's params are decoded into the Struct named here, or into a `BadParams`
naming the problem, which the server turns into a JSON-RPC "Invalid Params" error (pygls
would otherwise drop a message whose params fail to decode, and the client would hang).
Only builtins cross into pygls: payloads are sent as `msgspec.to_builtins(...)`.

Must not import: oompa_lsp.engine, oompa_lsp.adapters (it is a view's vocabulary only).
"""

from __future__ import annotations

from typing import Any, overload
from urllib.parse import parse_qs, quote, unquote, urlsplit

import msgspec
from msgspec import Struct
from pygls.exceptions import JsonRpcException, JsonRpcInvalidParams
from pygls.protocol import JsonRPCRequestMessage, LanguageServerProtocol

from oompa_lsp.core.snapshot import ReviewView, WorkerView

from .payloads import (
    CommandResult as CommandResult,
    Counts as Counts,
    DiffFile as DiffFile,
    DiffFinding as DiffFinding,
    DiffParams as DiffParams,
    DiffResult as DiffResult,
    DiffStatus as DiffStatus,
    FileContentParams as FileContentParams,
    FileContentResult as FileContentResult,
    LocatedComment as LocatedComment,
    LogParams as LogParams,
    Options as Options,
    ReportParams as ReportParams,
    ReportResult as ReportResult,
    ReviewResolvedParams as ReviewResolvedParams,
    ReviewSummaryParams as ReviewSummaryParams,
    ReviewSummaryResult as ReviewSummaryResult,
    StatusParams as StatusParams,
    StatusResult as StatusResult,
    SwarmStateParams as SwarmStateParams,
    TaskUpdatedParams as TaskUpdatedParams,
)

GIT_SCHEME = "oompa-git"

# --- requests -------------------------------------------------------------------------------

STATUS = "oompa/status"
DIFF = "oompa/diff"
FILE_CONTENT = "oompa/fileContent"
REPORT = "oompa/report"
REVIEW_SUMMARY = "oompa/reviewSummary"

# --- notifications (server → client) --------------------------------------------------------

SWARM_STATE = "oompa/swarmState"
WORKER_UPDATED = "oompa/workerUpdated"
TASK_UPDATED = "oompa/taskUpdated"
REVIEW_REQUESTED = "oompa/reviewRequested"
REVIEW_RESOLVED = "oompa/reviewResolved"
LOG = "oompa/log"

# --- commands (workspace/executeCommand, positional arguments) ------------------------------

START_SWARM = "oompa.startSwarm"
STOP_SWARM = "oompa.stopSwarm"
APPROVE = "oompa.approve"
REJECT = "oompa.reject"
REQUEUE = "oompa.requeue"
CANCEL_TASK = "oompa.cancelTask"
OPEN_DIFF = "oompa.openDiff"
TICK_ITEM = "oompa.tickItem"
RESUME_QUEUE = "oompa.resumeQueue"


class Argument(Struct, frozen=True):
    name: str
    type: Any
    doc: str
    required: bool = True
    may_be_empty: bool = False


class CommandSpec(Struct, frozen=True):
    name: str
    doc: str
    arguments: tuple[Argument, ...] = ()
    result: Any = CommandResult


class RequestSpec(Struct, frozen=True):
    method: str
    doc: str
    params: Any
    result: Any


class NotificationSpec(Struct, frozen=True):
    method: str
    doc: str
    params: Any


REQUESTS: dict[str, RequestSpec] = {
    spec.method: spec
    for spec in (
        RequestSpec(
            STATUS,
            "The full snapshot: what a client connecting mid-run shows before live notifications arrive.",
            StatusParams,
            StatusResult,
        ),
        RequestSpec(
            DIFF,
            "The files a review changes, each with `oompa-git:` URIs of its content at the "
            "merge base and at the reviewed commit, and the model reviewer's findings placed "
            "on its lines (when the review waits for a human after a model approved it).",
            DiffParams,
            DiffResult,
        ),
        RequestSpec(
            FILE_CONTENT,
            "The content of an `oompa-git:/<path>?ref=<sha>` URI (empty when the "
            "file does not exist at that commit). The same content is served through LSP 3.18 "
            "`workspace/textDocumentContent` when the client supports dynamic registration of it.",
            FileContentParams,
            FileContentResult,
        ),
        RequestSpec(
            REPORT,
            "The report of a run (default: the one running, else the last): its timeline (a lane "
            "per worker with its phases, the merge queue's lane with every landing) and its "
            "per-task and per-worker tables, as one self-contained HTML page (what `oompa report` "
            "writes), also written to `.oompa/runs/<run-id>/report.html`. Colours follow VS Code's "
            "webview theme variables when present. An unknown run is Invalid Params; no run yet "
            "is RequestFailed.",
            ReportParams,
            ReportResult,
        ),
        RequestSpec(
            REVIEW_SUMMARY,
            "A review's summary as markdown: the task, its acceptance criteria, the checks and "
            "their results, each review round's verdict and feedback (findings with no place in "
            "the code among them), and the cost so far.",
            ReviewSummaryParams,
            ReviewSummaryResult,
        ),
    )
}

NOTIFICATIONS: dict[str, NotificationSpec] = {
    spec.method: spec
    for spec in (
        NotificationSpec(
            SWARM_STATE,
            "The swarm as a whole changed (started, stopped, counts, merge queue "
            "paused or resumed, usage). Sent at once for start/stop/pause, otherwise at most "
            "every 250 ms.",
            SwarmStateParams,
        ),
        NotificationSpec(WORKER_UPDATED, "A worker changed state or task, or its usage grew.", WorkerView),
        NotificationSpec(
            TASK_UPDATED,
            "A task changed state, worker, review round or feedback. For one task "
            "these arrive in the order the engine recorded the changes.",
            TaskUpdatedParams,
        ),
        NotificationSpec(
            REVIEW_REQUESTED,
            "A finished attempt awaits review. With `review.mode` human or "
            "model+human the editor approves or rejects it (`oompa.approve`, `oompa.reject`).",
            ReviewView,
        ),
        NotificationSpec(
            REVIEW_RESOLVED,
            "A verdict was given on a review (by a model or a human); the "
            "review is no longer pending unless a model approved a model+human review.",
            ReviewResolvedParams,
        ),
        NotificationSpec(
            LOG,
            "A line of the swarm's log (engine messages and agents' activity). Throttled "
            "to 20 per second; a line `N messages suppressed` says when some were dropped.",
            LogParams,
        ),
    )
}

COMMANDS: dict[str, CommandSpec] = {
    spec.name: spec
    for spec in (
        CommandSpec(
            START_SWARM,
            "Start the swarm in this server. When another process already runs it, "
            "this window attaches as a viewer and `viewer` is true.",
        ),
        CommandSpec(
            STOP_SWARM,
            "Stop the swarm: agents are killed, claims returned, worktrees kept for "
            "the next start. A viewer asks the owning process through `.oompa/control/`.",
        ),
        CommandSpec(
            APPROVE,
            "Approve a pending review: the change goes to the merge queue. Notes (line "
            "comments) go to the log and the review's record; they do not block it.",
            (
                Argument("review_id", str, "the review's id"),
                Argument("notes", list[LocatedComment], "line comments, as for `oompa.reject`", required=False),
            ),
        ),
        CommandSpec(
            REJECT,
            "Reject a pending review: the feedback and the line comments go back to the same "
            "worker, whose next turn reads each comment with its path, lines and the lines' "
            "text. A comment whose place the change has not (a file it does not change, a line "
            "past the end of that side, a base side of an added file) is refused with "
            "Invalid Params naming it, and nothing is sent.",
            (
                Argument("review_id", str, "the review's id"),
                Argument(
                    "feedback",
                    str,
                    "what to change overall (may be empty when comments are given); when "
                    "omitted (e.g. from a code lens) the worker is told the change was rejected "
                    "without comment",
                    required=False,
                    may_be_empty=True,
                ),
                Argument(
                    "comments",
                    list[LocatedComment],
                    "line comments `[{path, side, startLine, endLine, body}]`",
                    required=False,
                ),
            ),
        ),
        CommandSpec(
            REQUEUE,
            "Return a task to pending (from current or failed; a complete task has merged and stays).",
            (Argument("task_id", str, "the task's id"),),
        ),
        CommandSpec(
            CANCEL_TASK,
            "Stop work on a task: its agent is killed and the task returned.",
            (Argument("task_id", str, "the task's id"),),
        ),
        CommandSpec(
            OPEN_DIFF,
            "The files of a review, as `oompa/diff` returns them.",
            (Argument("review_id", str, "the review's id"),),
            DiffResult,
        ),
        CommandSpec(
            TICK_ITEM,
            "Tick the spec.md item a merged task implements, through "
            "`workspace/applyEdit` (so it lands in the editor's undo stack).",
            (Argument("task_id", str, "the task's id"),),
        ),
        CommandSpec(
            RESUME_QUEUE,
            "Let the merge queue land again after it paused for a move of the target "
            'it did not make (`merge.foreign_moves: "pause"`): the user has looked at those commits.',
        ),
    )
}


@overload
def to_payload(value: Struct) -> dict[str, Any]: ...
@overload
def to_payload(value: object) -> Any: ...
def to_payload(value: object) -> Any:
    """Builtins for pygls, with every field present: the core views omit defaults when they
    are stored, but an editor should not have to know a field's default to read it."""
    if isinstance(value, Struct):
        names = zip(value.__struct_fields__, value.__struct_encode_fields__, strict=True)
        return {encoded: to_payload(getattr(value, field)) for field, encoded in names}
    if isinstance(value, dict):
        return {key: to_payload(item) for key, item in value.items()}
    if isinstance(value, (list, tuple)):
        return [to_payload(item) for item in value]
    return msgspec.to_builtins(value)


class RequestFailed(JsonRpcException):
    """LSP's RequestFailed: the request was valid but the swarm could not do it."""

    CODE = -32803


class BadParams(Struct, frozen=True):
    """What was wrong with a request's params; the server answers Invalid Params with it."""

    method: str
    problem: str


def decode_params(method: str, raw: Any) -> Any:
    """The typed params of a custom request, or a `BadParams` naming the problem."""
    spec = REQUESTS[method]
    if raw is None or raw == []:
        raw = {}
    try:
        return msgspec.convert(raw, type=spec.params)
    except msgspec.ValidationError as exc:
        return BadParams(method, f"{method}: {_readable(exc)}")


def command_arguments(name: str, arguments: tuple[Any, ...]) -> list[Any]:
    """Check a command's positional arguments; raises Invalid Params naming the problem."""
    spec = COMMANDS[name]
    required = sum(1 for a in spec.arguments if a.required)
    if not required <= len(arguments) <= len(spec.arguments):
        names = ", ".join(a.name for a in spec.arguments) or "no arguments"
        raise JsonRpcInvalidParams(f"{name} takes [{names}], got {len(arguments)} argument(s)")
    return [_argument(name, argument, value) for argument, value in zip(spec.arguments, arguments, strict=False)]


def _argument(name: str, argument: Argument, value: Any) -> Any:
    if argument.type is not str:
        try:
            return msgspec.convert(value, type=argument.type)
        except msgspec.ValidationError as exc:
            raise JsonRpcInvalidParams(f"{name}: {argument.name}: {_readable(exc)}") from None
    if not isinstance(value, str) or not (value.strip() or argument.may_be_empty):
        raise JsonRpcInvalidParams(f"{name}: {argument.name} must be a non-empty string, got {value!r}")
    return value


def _readable(exc: msgspec.ValidationError) -> str:
    text = str(exc)
    return text.replace("Object missing required field", "missing required field").replace(" - at `$`", "")


def raise_if_bad(params: Any) -> None:
    if isinstance(params, BadParams):
        raise JsonRpcInvalidParams(params.problem)


class OompaProtocol(LanguageServerProtocol):
    """Decodes the params of oompa's custom requests into their Structs (see module docstring)."""

    def structure_message(self, data: dict[str, Any]) -> object:  # a message, or the data as it came
        method = data.get("method")
        if "jsonrpc" in data and "id" in data and method in REQUESTS:
            return JsonRPCRequestMessage(
                id=data["id"], method=method, jsonrpc=data["jsonrpc"], params=decode_params(method, data.get("params"))
            )
        return super().structure_message(data)


def git_uri(path: str, ref: str) -> str:
    return f"{GIT_SCHEME}:/{quote(path)}?ref={ref}"


def parse_git_uri(uri: str) -> tuple[str, str]:
    """`oompa-git:/<path>?ref=<sha>` → (path, sha); raises Invalid Params naming the problem."""
    parts = urlsplit(uri)
    refs = parse_qs(parts.query).get("ref", [])
    path = unquote(parts.path).lstrip("/")
    if parts.scheme != GIT_SCHEME or not path or len(refs) != 1:
        raise JsonRpcInvalidParams(f"expected {GIT_SCHEME}:/<path>?ref=<commit>, got {uri!r}")
    ref = refs[0]
    if not all(c in "0123456789abcdefABCDEF" for c in ref) or not 4 <= len(ref) <= 64:
        raise JsonRpcInvalidParams(f"ref must be a commit sha, got {ref!r}")
    return path, ref
