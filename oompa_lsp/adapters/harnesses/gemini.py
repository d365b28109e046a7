"""Gemini CLI (`gemini`): argv, and its `--output-format stream-json` events.

Launch: prompt on stdin with no `-p` (a non-TTY stdin runs headless), `--approval-mode yolo` so
tools run unattended, `--skip-trust` because a fresh worktree is not a trusted folder (an
untrusted folder turns approvals back on). A new session gets `--session-id <uuid we chose>`,
a resumed one `--resume <uuid>`. The live tasks folder joins the workspace with
`--include-directories`. Gemini has no reasoning-effort flag; the level is not passed.

Stream (0.61): `init` (session_id, model), `message` (role user|assistant, content, `delta`
for streamed chunks), `tool_use` (tool_name, tool_id, parameters), `tool_result` (status,
error), `error` (severity, message) and a closing `result` (status success|error, error,
stats with input_tokens/output_tokens). A session is saved only once the model has answered:
a first turn that failed before that is reported without a session id, so the retry starts
a new session instead of a `--resume` that would fail.

Errors: `result.error.type` is "unknown" even for HTTP errors; the message carries the API's
text (`[API Error: ...]`), and a 429 adds "Please wait and try again later. To increase your
limits, request a quota increase ...". With its default `general.maxAttempts` (10) gemini
retries 429 and 5xx silently, with growing waits, before it prints anything.

Must not import: engine, lsp, cli; anything but the standard library and oompa_lsp.core.
"""

from __future__ import annotations

from typing import Any

from oompa_lsp.core.agents import AgentRequest
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
    object_in,
    one_line,
    session_flags,
    tool_call,
)


def launch(request: AgentRequest, command: list[str], args: list[str]) -> Launch:
    argv = [*command, "--output-format", "stream-json", "--approval-mode", "yolo", "--skip-trust"]
    if request.model:
        argv += ["-m", request.model]
    for folder in extra_dirs(request):
        argv += ["--include-directories", folder]
    flags, session_id = session_flags(request)
    argv += flags
    return Launch(argv=[*argv, *args], stdin=request.prompt.encode("utf-8"), session_id=session_id)


def parse(lines: list[str], cwd: str = "") -> StreamResult:
    result = StreamResult(session_saved=False)
    reply: list[str] = []  # the assistant's text since its last tool call: its final message
    for event in json_events(lines):
        # Gemini writes the session once the model has answered: a first turn that failed
        # before that leaves nothing to `--resume` ("No previous sessions found").
        result.session_saved = result.session_saved or _model_spoke(event)
        kind = event.get("type")
        if kind == "init" and isinstance(event.get("session_id"), str):
            result.session_id = event["session_id"]
            result.model = str(event.get("model") or "")
        elif kind == "message" and event.get("role") == "assistant":
            reply = _extend(reply, event)
        elif kind == "tool_use":
            result.tool_calls.append(tool_call(str(event.get("tool_name", "?")), event.get("parameters"), cwd))
            reply = []
        elif kind == "error":
            result.last_api_error = str(event.get("message", "")) or result.last_api_error
        elif kind == "result":
            _read_result(event, result)
    result.final_text = "" if result.error else "".join(reply).strip()
    return result


def _model_spoke(event: dict[str, Any]) -> bool:
    kind = event.get("type")
    return (
        kind == "tool_use"
        or (kind == "message" and event.get("role") == "assistant")
        or (kind == "result" and event.get("status") == "success")
    )


def _extend(reply: list[str], event: dict[str, Any]) -> list[str]:
    content = event.get("content")
    if not isinstance(content, str):
        return reply
    return [*reply, content] if event.get("delta") else [content]


def _read_result(event: dict[str, Any], result: StreamResult) -> None:
    result.finished = True
    stats = object_in(event, "stats")
    result.usage = Usage(
        input_tokens=as_count(stats.get("input_tokens")),
        output_tokens=as_count(stats.get("output_tokens")),
        cache_read_tokens=as_count(stats.get("cached")),
    )
    if event.get("status") == "error":
        error = object_in(event, "error")
        failure_from_text(result, str(error.get("message") or result.last_api_error or "gemini failed"))


def activity(line: str, cwd: str = "") -> str | None:
    event = json_event(line)
    if event is None:
        return None
    kind = event.get("type")
    if kind == "tool_use":
        return tool_call(str(event.get("tool_name", "?")), event.get("parameters"), cwd).summary
    if kind == "tool_result" and event.get("status") == "error":
        error = object_in(event, "error")
        return one_line(f"tool failed: {error.get('message', '')}")
    if kind == "error":
        return one_line(f"gemini {event.get('severity', 'error')}: {event.get('message', '')}")
    if kind == "init":
        return one_line(f"gemini session started (model {event.get('model', '?')})")
    if kind == "result" and event.get("status") == "error":
        error = object_in(event, "error")
        return one_line(f"gemini failed: {error.get('message', '')}")
    return None


ADAPTER = Adapter(
    name="gemini", binary="gemini", launch=launch, parse=parse, activity=activity, closes=event_type_in("result")
)
