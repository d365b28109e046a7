"""What the engine asks of an agent run and what it gets back, whatever the harness.

Harness adapters (`oompa_lsp.adapters.harnesses`) turn an `AgentRequest` into a process and
its output stream into an `AgentOutcome`; the engine reads signals from `final_text` only.

Must not import: anything outside the standard library, msgspec and oompa_lsp.core.
"""

from __future__ import annotations

from typing import Literal

import msgspec
from msgspec import Struct

from .tasks import Usage

AgentRole = Literal["planner", "executor", "worker", "reviewer", "resolver"]
# rate_limit: short, retried after a backoff; usage_limit: the plan's or quota's limit, which
# pauses every worker on the harness until its reset (`usage_limit` holds the CLI's notice).
ErrorKind = Literal[
    "timeout", "exit", "auth", "rate_limit", "usage_limit", "server", "cancelled", "not_found", "protocol"
]


class AgentRequest(Struct, omit_defaults=True):
    harness: str  # name: claude | codex | gemini | opencode | a custom one
    model: str  # the part after `harness:`; "" means the CLI's default
    prompt: str
    cwd: str  # the worktree
    role: AgentRole
    timeout_s: float
    reasoning: str | None = None
    session_id: str | None = None  # continue this session (resume) when set
    resume: bool = False
    env: dict[str, str] = {}  # OOMPA_* and anything else to add to the environment
    transcript_path: str | None = None  # raw output stream is appended here when set
    keep_running: list[str] = []  # program names the run may leave running (worktree.services)


class LeftoverProcess(Struct, omit_defaults=True):
    """A process an agent run left running after it ended, which the engine then stopped."""

    pid: int
    command: str = ""  # its command line (cut), or its name


class ToolCall(Struct, omit_defaults=True):
    name: str
    summary: str = ""


class AgentOutcome(Struct, omit_defaults=True):
    final_text: str
    exit_code: int | None
    session_id: str | None = None
    usage: Usage = msgspec.field(default_factory=Usage)
    tool_calls: list[ToolCall] = []
    error: str | None = None
    error_kind: ErrorKind | None = None
    retry_after_s: float | None = None
    usage_limit: str = ""  # the CLI's usage-limit notice, verbatim (its reset is read by the engine)
    model: str = ""  # the model the CLI said it used, when it says (priced when none was asked for)
    duration_s: float = 0.0
    leftovers: list[LeftoverProcess] = []  # still running when the run ended; stopped since
    kept: list[LeftoverProcess] = []  # declared services left running (stop them with `turn_marker`)
    turn_marker: str = ""  # the run's marker, which everything it started carries
    # `usage` is the session's running total so far (codex on a resumed thread), not this
    # run's own: whoever adds turns up must keep only the difference.
    usage_is_session_total: bool = False

    @property
    def ok(self) -> bool:
        return self.error is None
