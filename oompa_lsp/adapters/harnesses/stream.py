"""What every harness adapter provides, and the shared pieces for reading an agent CLI's output.

An adapter is a small set of pure functions: build the launch (argv, stdin, extra environment)
from an `AgentRequest`, fold the CLI's stdout lines into a `StreamResult`, and turn one line
into a short activity text for the live view. Nothing here starts processes; `process.py` does.

Error classification reads only error texts (stderr, error events, failed results), never the
agent's final message, so an agent that talks about "HTTP 429" is not taken for rate-limited.

Must not import: engine, lsp, cli; anything but the standard library and oompa_lsp.core.
"""

from __future__ import annotations

import json
import os
import re
import uuid
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from typing import Any

from oompa_lsp.core.agents import AgentRequest, ErrorKind, ToolCall
from oompa_lsp.core.tasks import Usage
from oompa_lsp.core.usage_limits import is_usage_limit, wait_in

ACTIVITY_WIDTH = 100


@dataclass
class StreamResult:
    """What one run's stdout said, whatever the CLI."""

    final_text: str = ""
    session_id: str | None = None
    usage: Usage = field(default_factory=Usage)
    tool_calls: list[ToolCall] = field(default_factory=list)
    error: str | None = None
    error_kind: ErrorKind | None = None
    retry_after_s: float | None = None
    finished: bool = False  # the CLI's closing event (result, turn end) was seen
    # False when the CLI kept nothing to resume (gemini saves no session whose first request
    # failed): the next turn must start a new session instead of resuming this one.
    session_saved: bool = True
    last_api_error: str | None = None  # an API failure the CLI retried: context for a timeout
    model: str = ""  # the model the CLI said it used (its default, when none was asked for)


@dataclass(frozen=True)
class Launch:
    argv: list[str]
    stdin: bytes
    env: dict[str, str] = field(default_factory=dict)
    session_id: str | None = None  # known before the run (we chose it), else read from the stream


@dataclass(frozen=True)
class Adapter:
    """One agent CLI: how to launch it and how to read what it prints."""

    name: str
    binary: str
    # (request, command: the binary or the configured command, args: the harness's extra args)
    launch: Callable[[AgentRequest, list[str], list[str]], Launch]
    parse: Callable[[list[str], str], StreamResult]
    activity: Callable[[str, str], str | None]
    # A line after which the run is hopeless (e.g. a login failure the CLI would retry for
    # minutes): (kind, message) stops the process group early.
    stop_on: Callable[[str], tuple[ErrorKind, str] | None] = lambda line: None
    # The CLI's closing event (its final result): after it, the process only has to exit.
    closes: Callable[[str], bool] = lambda line: False
    expects_closing_event: bool = True
    # The usage the CLI reports is its session's running total (see AgentOutcome).
    usage_is_session_total: bool = False


def json_events(lines: Iterable[str]) -> Iterator[dict[str, Any]]:
    """The JSON objects among the lines; banners, warnings and partial lines are skipped."""
    for line in lines:
        event = json_event(line)
        if event is not None:
            yield event


def event_type_in(*types: str) -> Callable[[str], bool]:
    """A `closes` test: the line is a JSON event of one of these types."""
    quoted = tuple(f'"{t}"' for t in types)

    def closes(line: str) -> bool:
        if not any(q in line for q in quoted):  # most lines are not: skip decoding them
            return False
        event = json_event(line)
        return event is not None and event.get("type") in types

    return closes


def json_event(line: str) -> dict[str, Any] | None:
    text = line.strip()
    if not text.startswith("{"):
        return None
    try:
        value = json.loads(text)
    except ValueError:
        return None
    return value if isinstance(value, dict) else None


def object_in(holder: dict[str, Any], key: str) -> dict[str, Any]:
    """The JSON object at `key`; an empty one when it is missing or not an object."""
    value = holder.get(key)
    return value if isinstance(value, dict) else {}


def as_count(value: object) -> int:
    """A token count from JSON: a non-negative number, else 0."""
    return int(value) if isinstance(value, (int, float)) and value >= 0 else 0


def one_line(text: str, width: int = ACTIVITY_WIDTH) -> str:
    flat = " ".join(str(text).split())
    return flat if len(flat) <= width else flat[: width - 1] + "…"


def relative_to(path: str, cwd: str) -> str:
    """A path as the user thinks of it: relative to the worktree when inside it."""
    if cwd and os.path.isabs(path):
        rel = os.path.relpath(path, cwd)
        if not rel.startswith(".."):
            return rel
    return path


_PATH_KEYS = ("file_path", "filePath", "path", "notebook_path", "absolute_path", "dir_path")
_DETAIL_KEYS = ("command", "pattern", "query", "url", "description", "prompt")


def tool_call(name: str, arguments: Any, cwd: str = "") -> ToolCall:
    """A tool call named as a person would say it: `Write src/x.py`, `Bash pytest -q`."""
    return ToolCall(name=name, summary=one_line(f"{name} {argument_summary(arguments, cwd)}".strip()))


def argument_summary(arguments: Any, cwd: str) -> str:
    if not isinstance(arguments, dict):
        return ""
    for key in _PATH_KEYS:
        if isinstance(arguments.get(key), str):
            return relative_to(arguments[key], cwd)
    for key in _DETAIL_KEYS:
        value = arguments.get(key)
        if isinstance(value, str):
            return value
        if isinstance(value, list) and all(isinstance(v, str) for v in value):
            return " ".join(value)
    return ""


# --- errors ---------------------------------------------------------------------------

_STATUS_PATTERNS = (
    re.compile(r"(?i)\b(?:status(?:[ _]?code)?|code|http(?:/[\d.]+)?|api error)\W{0,3}([1-5]\d\d)\b"),
    re.compile(r"\(([45]\d\d)\)"),
    re.compile(
        r"\b([45]\d\d) (?:Unauthorized|Forbidden|Too Many Requests|Internal Server Error|"
        r"Bad Gateway|Service Unavailable|Gateway Timeout)"
    ),
)
_KEYWORDS: tuple[tuple[ErrorKind, re.Pattern[str]], ...] = (
    (
        "auth",
        re.compile(
            r"(?i)authentication[_ ](?:error|failed)|failed to authenticate|invalid[ _-]"
            r"(?:x-)?api[ _-]?key|unauthenticated|unauthorized|not logged in|please run /login|"
            r"login required|credentials? (?:expired|missing|not found)"
        ),
    ),
    (
        "rate_limit",
        re.compile(
            r"(?i)rate[ _-]?limit|too many requests|resource_exhausted|quota exceeded|"
            r"exceeded your current quota|usage limit|request a quota increase"
        ),
    ),
    (
        "server",
        re.compile(
            r"(?i)internal server error|service unavailable|bad gateway|gateway timeout|"
            r"overloaded|high demand|server[_ ]error"
        ),
    ),
)


def kind_of_status(status: int | None) -> ErrorKind | None:
    if status in (401, 403):
        return "auth"
    if status == 429:
        return "rate_limit"
    if status is not None and status >= 500:
        return "server"
    return None


def classify_failure(text: str) -> ErrorKind | None:
    """auth / usage_limit / rate_limit / server from an error text: a plan's or quota's limit
    first (it outlasts any backoff), else the last recognisable mention wins."""
    if is_usage_limit(text):
        return "usage_limit"
    found: list[tuple[int, ErrorKind]] = []
    for pattern in _STATUS_PATTERNS:
        for match in pattern.finditer(text):
            kind = kind_of_status(int(match.group(1)))
            if kind:
                found.append((match.start(), kind))
    for kind, pattern in _KEYWORDS:
        found += [(m.start(), kind) for m in pattern.finditer(text)]
    return max(found)[1] if found else None


def retry_after_in(text: str) -> float | None:
    """Seconds to wait, when the text says so ("try again in 20s", "retry-after: 3", "in 1h 5m",
    "in 5 days 22 hours"): units up to weeks (core.usage_limits)."""
    return wait_in(text)


def failure_from_text(result: StreamResult, text: str, default: ErrorKind = "exit") -> None:
    """Record `text` as the run's error, classified when it can be."""
    result.error = one_line(text, 500) or result.error
    result.error_kind = classify_failure(text) or default
    if result.error_kind == "rate_limit":
        result.retry_after_s = retry_after_in(text)


# --- launching ------------------------------------------------------------------------


def resuming(request: AgentRequest) -> bool:
    """A resumed turn needs both the wish and the session to continue."""
    return bool(request.resume and request.session_id)


def session_flags(request: AgentRequest) -> tuple[list[str], str]:
    """`--resume <id>` for a resumed turn, else `--session-id <new id>` (never both: the CLIs
    that take these flags reject the pair); with the session id the turn will use."""
    if resuming(request):
        return ["--resume", str(request.session_id)], str(request.session_id)
    session_id = new_session_id(request)
    return ["--session-id", session_id], session_id


def new_session_id(request: AgentRequest) -> str:
    """The id for a new session: the caller's when it is a UUID (the CLIs insist), else a fresh one."""
    try:
        return str(uuid.UUID(request.session_id or ""))
    except ValueError:
        return str(uuid.uuid4())


def extra_dirs(request: AgentRequest) -> list[str]:
    """Folders outside the worktree the agent must be able to write: the live tasks folder."""
    tasks = request.env.get("OOMPA_TASKS_DIR")
    if not tasks:
        return []
    rel = os.path.relpath(os.path.abspath(tasks), os.path.abspath(request.cwd))
    return [] if rel == "." or not rel.startswith("..") else [tasks]
