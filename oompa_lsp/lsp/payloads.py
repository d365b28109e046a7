"""The payloads of oompa-lsp's editor protocol: the params and results of its custom requests,
the params of its notifications, a command's result, and `initializationOptions`.

They are msgspec Structs (StatusResult and TaskUpdatedParams extend core Snapshot views). protocol.py names them in
its tables of requests, notifications and commands and re-exports them, so callers (and
protocol_doc.py, which renders docs/protocol.md from those tables) use them through it.

Must not import: oompa_lsp.engine, oompa_lsp.adapters, pygls, anything of oompa_lsp.lsp (it is a
view's vocabulary only).
"""

from __future__ import annotations

from typing import Literal

from msgspec import Struct

from oompa_lsp.core.snapshot import QueueEntryView, Snapshot, TaskView
from oompa_lsp.core.tasks import Usage

# --- requests: params and results -----------------------------------------------------------


class StatusParams(Struct, omit_defaults=True):
    """No parameters (an empty object or null)."""


class DiffParams(Struct, omit_defaults=True):
    review_id: str


class FileContentParams(Struct, omit_defaults=True):
    uri: str  # oompa-git:/<path>?ref=<commit sha>


class ReviewSummaryParams(Struct, omit_defaults=True):
    review_id: str


class StatusResult(Snapshot, omit_defaults=False):
    """The whole snapshot (as `oompa status --json` prints it) plus whether this window only
    follows a swarm run by another process."""

    viewer: bool = False


DiffStatus = Literal["A", "M", "D", "R"]  # added, modified, deleted, renamed


class DiffFile(Struct):
    path: str
    status: DiffStatus
    base_uri: str  # the file before the change (empty content when added)
    head_uri: str  # the file after the change (empty content when deleted)
    old_path: str | None = None  # for renames: the path at base


class LocatedComment(Struct, rename="camel", forbid_unknown_fields=True):
    """A line comment on a review's diff (an argument of `oompa.reject` and `oompa.approve`)."""

    path: str  # a file the review changes, by its path in the reviewed version
    side: Literal["head", "base"]  # head: the worker's version; base: the merge base (removed lines)
    start_line: int  # 1-based, on that side's version of the file
    end_line: int  # inclusive; the same as startLine for one line
    body: str


class DiffFinding(Struct, rename="camel"):
    """One of the model reviewer's numbered issues; placed when it names a changed file."""

    number: int
    text: str
    path: str | None  # null: it names no file of the change (shown in the review's summary)
    side: Literal["head", "base"]
    start_line: int | None  # null: the file as a whole
    end_line: int | None


class DiffResult(Struct):
    review_id: str
    task_id: str
    base: str  # the merge base the change is reviewed against
    head: str  # the commit under review
    files: list[DiffFile]
    findings: list[DiffFinding] = []  # the model reviewer's, when the review waits for a human after it


class ReviewSummaryResult(Struct):
    review_id: str
    markdown: str  # task, acceptance criteria, checks, every review round, cost so far


class FileContentResult(Struct):
    content: str


class ReportParams(Struct, omit_defaults=True):
    run_id: str | None = None  # a run id or a prefix only one run has; none: the current or last run


class ReportResult(Struct):
    run_id: str
    html: str  # one self-contained page: inline SVG and styles, no script, nothing fetched
    path: str  # where it was also written (.oompa/runs/<run-id>/report.html)


# --- notifications: params -----------------------------------------------------------------


class Counts(Struct):
    pending: int = 0
    current: int = 0
    complete: int = 0
    failed: int = 0


class SwarmStateParams(Struct):
    state: str  # idle | running | stopping | stopped
    run_id: str
    summary: str  # e.g. "3 workers · 4 pending · 2 running · 1 in review · 5 merged"
    counts: Counts
    paused_reason: str  # why the merge queue waits ("" when it does not)
    viewer: bool  # true when another process runs the swarm and this window follows it
    usage: Usage
    stopped_reason: str = ""
    queue: list[QueueEntryView] = []  # the merge train, in landing order (each request's place and state)


class TaskUpdatedParams(TaskView, omit_defaults=True):
    """A task's view plus the `uri` of its task file (in the state folder it is in now)."""

    uri: str = ""


class ReviewResolvedParams(Struct):
    review_id: str
    task_id: str
    approved: bool
    reviewer: str
    feedback: str = ""


class LogParams(Struct, omit_defaults=True):
    level: Literal["info", "warning", "error"]
    message: str
    at: float
    worker: str | None = None


# --- commands: the result, and the options of `initialize` ------------------------------------


class CommandResult(Struct, omit_defaults=True):
    ok: bool
    message: str
    viewer: bool = False


class Options(Struct, omit_defaults=True):
    """`initializationOptions` (camelCase, as editors send them)."""

    autoStart: bool = False
    tickSpecItems: str = "ask"  # ask | always | never
    findingDiagnostics: bool = True  # the model's findings as diagnostics on oompa-git: URIs
