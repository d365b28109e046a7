"""Claude Code (`claude`): argv, and its `--output-format stream-json` events.

Launch: `claude -p --output-format stream-json --verbose`, prompt on stdin. A new session gets
`--session-id <uuid we chose>`, a resumed one `--resume <id>`, never both (the CLI rejects the
pair). Permissions: `--dangerously-skip-permissions` is refused as root, so edits are accepted
with `--permission-mode acceptEdits` and the tools a coder needs are pre-allowed; the live tasks
folder (outside the worktree) is added with `--add-dir`.

Stream (2.1.x): `system/init` (session_id), `assistant` messages (text and `tool_use` blocks;
an `error` field such as `authentication_failed` on API failures), `user` tool results,
`system/api_retry` (error_status, attempt, max_retries), and one closing `result` (result
text, is_error, api_error_status, usage, total_cost_usd).

Must not import: engine, lsp, cli; anything but the standard library and oompa_lsp.core.
"""

from __future__ import annotations

from typing import Any

from oompa_lsp.core.agents import AgentRequest, ErrorKind
from oompa_lsp.core.tasks import Usage

from .stream import (
    Adapter,
    Launch,
    StreamResult,
    as_count,
    classify_failure,
    event_type_in,
    extra_dirs,
    json_event,
    json_events,
    kind_of_status,
    object_in,
    one_line,
    retry_after_in,
    session_flags,
    tool_call,
)

ALLOWED_TOOLS = "Write Edit NotebookEdit Bash Read Glob Grep"
_EFFORT = {"minimal": "low", "low": "low", "medium": "medium", "high": "high", "xhigh": "xhigh"}
_MESSAGE_ERRORS: dict[str, ErrorKind] = {
    "authentication_failed": "auth",
    "billing_error": "auth",
    "rate_limit": "rate_limit",
    "server_error": "server",
}
# Claude retries a rejected login up to ten times over minutes; after this many we stop it.
_AUTH_RETRIES_BEFORE_STOP = 2


def launch(request: AgentRequest, command: list[str], args: list[str]) -> Launch:
    argv = [
        *command,
        "-p",
        "--output-format",
        "stream-json",
        "--verbose",
        "--permission-mode",
        "acceptEdits",
        "--allowedTools",
        ALLOWED_TOOLS,
    ]
    if request.model:
        argv += ["--model", request.model]
    if request.reasoning in _EFFORT:
        argv += ["--effort", _EFFORT[request.reasoning]]
    for folder in extra_dirs(request):
        argv += ["--add-dir", folder]
    flags, session_id = session_flags(request)
    argv += flags
    return Launch(argv=[*argv, *args], stdin=request.prompt.encode("utf-8"), session_id=session_id)


def parse(lines: list[str], cwd: str = "") -> StreamResult:
    result = StreamResult()
    last_text = ""
    for event in json_events(lines):
        result.session_id = event.get("session_id") or result.session_id
        kind = event.get("type")
        if kind == "system" and event.get("subtype") == "init" and isinstance(event.get("model"), str):
            result.model = event["model"]
        elif kind == "assistant":
            last_text = _read_assistant(event, result, cwd) or last_text
        elif kind == "system" and event.get("subtype") == "api_retry":
            result.last_api_error = _retry_text(event)
        elif kind == "result":
            _read_result(event, result)
    if not result.finished and not result.error:
        result.final_text = last_text
    return result


def _read_assistant(event: dict[str, Any], result: StreamResult, cwd: str) -> str:
    """Record its tool calls and error; return its text (main agent only, not sub-agents)."""
    texts = []
    for block in _blocks(event):
        if block.get("type") == "tool_use":
            result.tool_calls.append(tool_call(str(block.get("name", "?")), block.get("input"), cwd))
        elif block.get("type") == "text" and isinstance(block.get("text"), str):
            texts.append(block["text"])
    error = event.get("error")
    if isinstance(error, str) and error in _MESSAGE_ERRORS:
        result.error, result.error_kind = one_line(" ".join(texts) or error, 500), _MESSAGE_ERRORS[error]
    return "\n".join(texts) if event.get("parent_tool_use_id") is None else ""


def _blocks(event: dict[str, Any]) -> list[dict[str, Any]]:
    message = event.get("message")
    content = message.get("content") if isinstance(message, dict) else None
    return [b for b in content if isinstance(b, dict)] if isinstance(content, list) else []


def _read_result(event: dict[str, Any], result: StreamResult) -> None:
    result.finished = True
    value = event.get("result")
    text = value if isinstance(value, str) else ""
    result.usage = _usage(event)
    failed = bool(event.get("is_error")) or event.get("subtype", "success") != "success"
    if not failed:
        result.final_text, result.error, result.error_kind = text, None, None
        return
    message = _result_message(event)
    status = event.get("api_error_status")
    result.final_text = ""
    result.error = one_line(message, 500)
    result.error_kind = (
        kind_of_status(status if isinstance(status, int) else None) or classify_failure(message) or "exit"
    )
    if result.error_kind == "rate_limit":
        result.retry_after_s = retry_after_in(message)


def _result_message(event: dict[str, Any]) -> str:
    text = event.get("result") if isinstance(event.get("result"), str) else ""
    errors = [str(e) for e in event.get("errors") or []]
    return text or "; ".join(errors) or f"claude ended with {event.get('subtype')}"


def _usage(event: dict[str, Any]) -> Usage:
    usage = object_in(event, "usage")
    kinds = ("input_tokens", "cache_creation_input_tokens", "cache_read_input_tokens")
    fed = sum(as_count(usage.get(k)) for k in kinds)  # all the prompt the model read, cached or not
    cost = event.get("total_cost_usd")
    return Usage(
        input_tokens=fed,
        output_tokens=as_count(usage.get("output_tokens")),
        cost_usd=float(cost) if isinstance(cost, (int, float)) else None,
        cache_read_tokens=as_count(usage.get("cache_read_input_tokens")),
        cache_write_tokens=as_count(usage.get("cache_creation_input_tokens")),
    )


def _retry_text(event: dict[str, Any]) -> str:
    return (
        f"API error {event.get('error_status', '?')} ({event.get('error', 'unknown')}), "
        f"retry {event.get('attempt', '?')}/{event.get('max_retries', '?')}"
    )


def activity(line: str, cwd: str = "") -> str | None:
    event = json_event(line)
    if event is None:
        return None
    kind, subtype = event.get("type"), event.get("subtype")
    if kind == "assistant":
        calls = [
            tool_call(str(b.get("name", "?")), b.get("input"), cwd).summary
            for b in _blocks(event)
            if b.get("type") == "tool_use"
        ]
        return "; ".join(calls) or None
    if kind == "system" and subtype == "api_retry":
        return _retry_text(event)
    if kind == "system" and subtype == "init":
        return one_line(f"claude session started (model {event.get('model', '?')})")
    if kind == "result" and event.get("is_error"):
        return one_line(f"claude failed: {_result_message(event)}")
    return None


def stop_on(line: str) -> tuple[ErrorKind, str] | None:
    event = json_event(line) if "api_retry" in line else None
    if not event or event.get("type") != "system" or event.get("subtype") != "api_retry":
        return None
    rejected = event.get("error") == "authentication_failed" or event.get("error_status") in (401, 403)
    if rejected and as_count(event.get("attempt")) >= _AUTH_RETRIES_BEFORE_STOP:
        return "auth", f"claude could not log in ({_retry_text(event)}): check its API key or run `claude` to log in"
    return None


ADAPTER = Adapter(
    name="claude",
    binary="claude",
    launch=launch,
    parse=parse,
    activity=activity,
    closes=event_type_in("result"),
    stop_on=stop_on,
)
