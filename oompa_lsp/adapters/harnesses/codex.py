"""Codex CLI (`codex`): argv, and its `exec --json` events.

Launch: `codex exec --json ... -` with the prompt on stdin; a resumed turn is
`codex exec --json ... resume <thread id> -` (options go before `resume`, where both forms
accept them; the harness's `args` go there too). Non-interactive writing in the worktree:
`sandbox_mode="workspace-write"` and `approval_policy="never"` as `-c` overrides, so a user's
own `-c` in `args` (which come later) can replace them; the live tasks folder is made writable
with `--add-dir`. The model is `-m`, reasoning `-c model_reasoning_effort=...`.

Stream (0.169): `thread.started` (thread_id, the session to resume), `turn.started`,
`item.started/updated/completed` (items: agent_message, reasoning, command_execution,
file_change, mcp_tool_call, web_search, todo_list, error), `turn.completed` (usage) or
`turn.failed` (error.message), and top-level `error` events, which are often only
"Reconnecting..." notices and so not failures by themselves.

Usage: `turn.completed` carries the thread's running total, not the turn's (seen with 0.169:
a resumed thread reports the earlier turns' tokens plus its own). The adapter passes it on
marked `usage_is_session_total`; the engine keeps the difference per session.

Must not import: engine, lsp, cli; anything but the standard library and oompa_lsp.core.
"""

from __future__ import annotations

from typing import Any

from oompa_lsp.core.agents import AgentRequest, ToolCall
from oompa_lsp.core.tasks import Usage

from .stream import (
    Adapter,
    Launch,
    StreamResult,
    as_count,
    event_type_in,
    extra_dirs,
    failure_from_text,
    json_event,
    json_events,
    one_line,
    relative_to,
    resuming,
    tool_call,
)


def launch(request: AgentRequest, command: list[str], args: list[str]) -> Launch:
    argv = [
        *command,
        "exec",
        "--json",
        "--skip-git-repo-check",
        "-c",
        'sandbox_mode="workspace-write"',
        "-c",
        'approval_policy="never"',
    ]
    if request.model:
        argv += ["-m", request.model]
    if request.reasoning:
        argv += ["-c", f'model_reasoning_effort="{request.reasoning}"']
    for folder in extra_dirs(request):
        argv += ["--add-dir", folder]
    argv += args
    if resuming(request):
        argv += ["resume", str(request.session_id)]
    argv.append("-")
    return Launch(
        argv=argv, stdin=request.prompt.encode("utf-8"), session_id=request.session_id if resuming(request) else None
    )


def parse(lines: list[str], cwd: str = "") -> StreamResult:
    result = StreamResult()
    for event in json_events(lines):
        kind = event.get("type")
        if kind in ("thread.started", "thread.resumed") and isinstance(event.get("thread_id"), str):
            result.session_id = event["thread_id"]
        elif kind == "item.completed":
            _read_item(_item(event), result, cwd)
        elif kind == "turn.completed":
            result.finished = True
            result.usage = _usage(event.get("usage"))
        elif kind == "turn.failed":
            result.finished = True
            failure_from_text(result, _message(event.get("error")) or "codex turn failed")
        elif kind == "error":
            result.last_api_error = _message(event) or result.last_api_error
    if result.error:
        result.final_text = ""
    return result


def _item(event: dict[str, Any]) -> dict[str, Any]:
    item = event.get("item")
    return item if isinstance(item, dict) else {}


def _read_item(item: dict[str, Any], result: StreamResult, cwd: str) -> None:
    if item.get("type") == "agent_message" and isinstance(item.get("text"), str):
        # Codex may speak several times in a turn; the last message is the final one.
        result.final_text = item["text"]
        return
    result.tool_calls += tool_calls_of(item, cwd)


def tool_calls_of(item: dict[str, Any], cwd: str) -> list[ToolCall]:
    kind = item.get("type")
    if kind == "command_execution":
        return [tool_call("Bash", {"command": item.get("command", "")}, cwd)]
    if kind == "file_change":
        changes = [c for c in item.get("changes") or [] if isinstance(c, dict)]
        return [_file_change(change, cwd) for change in changes]
    if kind == "mcp_tool_call":
        return [tool_call(f"{item.get('server', '?')}.{item.get('tool', '?')}", item.get("arguments"), cwd)]
    if kind == "web_search":
        return [tool_call("WebSearch", {"query": item.get("query", "")}, cwd)]
    return []


def _file_change(change: dict[str, Any], cwd: str) -> ToolCall:
    verb = {"add": "Write", "delete": "Delete", "update": "Edit"}.get(str(change.get("kind")), "Edit")
    return ToolCall(name="Edit", summary=one_line(f"{verb} {relative_to(str(change.get('path', '?')), cwd)}"))


def _usage(raw: object) -> Usage:
    usage = raw if isinstance(raw, dict) else {}
    # input_tokens counts the cached part too (cached_input_tokens), as the Responses API does
    return Usage(
        input_tokens=as_count(usage.get("input_tokens")),
        output_tokens=as_count(usage.get("output_tokens")),
        cache_read_tokens=as_count(usage.get("cached_input_tokens")),
        cache_write_tokens=as_count(usage.get("cache_write_input_tokens")),
    )


def _message(raw: object) -> str:
    return str(raw.get("message", "")) if isinstance(raw, dict) else ""


def activity(line: str, cwd: str = "") -> str | None:
    event = json_event(line)
    if event is None:
        return None
    kind = event.get("type")
    if kind == "item.started" and _item(event).get("type") == "command_execution":
        return tool_call("Bash", {"command": _item(event).get("command", "")}, cwd).summary
    if kind == "item.completed":
        calls = [c.summary for c in tool_calls_of(_item(event), cwd) if c.name != "Bash"]
        return "; ".join(calls) or None
    if kind == "error":
        return one_line(f"codex: {_message(event)}")
    if kind == "turn.failed":
        return one_line(f"codex failed: {_message(event.get('error'))}")
    return None


ADAPTER = Adapter(
    name="codex",
    binary="codex",
    launch=launch,
    parse=parse,
    activity=activity,
    closes=event_type_in("turn.completed", "turn.failed"),
    usage_is_session_total=True,
)
