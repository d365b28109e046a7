"""opencode (`opencode`): argv, and its `run --format json` events.

Launch: `opencode run --format json --auto`, prompt on stdin (opencode reads a piped stdin as
the message). Without `--auto` a headless run rejects every permission request, so nothing
could be written. The model is `-m provider/model` (passed as given), reasoning `--variant`,
a resumed turn `--session <id>` (ids look like `ses_...` and come from the stream).

Stream (1.18): one JSON object per line with `type`, `timestamp`, `sessionID` and a `part`:
`step_start`, `text` (a finished text part), `reasoning`, `tool_use` (part.tool,
part.state.status completed|error, part.state.input), `step_finish` (part.tokens
input/output/reasoning/cache, part.cost, part.reason stop|tool-calls), `error`
(error.name, error.data.message, statusCode, responseHeaders) and, at the end, `done`.

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
    classify_failure,
    event_type_in,
    json_event,
    json_events,
    kind_of_status,
    object_in,
    one_line,
    resuming,
    retry_after_in,
    tool_call,
)


def launch(request: AgentRequest, command: list[str], args: list[str]) -> Launch:
    argv = [*command, "run", "--format", "json", "--auto"]
    if request.model:
        argv += ["-m", request.model]
    if request.reasoning:
        argv += ["--variant", request.reasoning]
    if resuming(request):
        argv += ["--session", str(request.session_id)]
    return Launch(
        argv=[*argv, *args],
        stdin=request.prompt.encode("utf-8"),
        session_id=request.session_id if resuming(request) else None,
    )


def parse(lines: list[str], cwd: str = "") -> StreamResult:
    result = StreamResult()
    step_text: list[str] = []
    last_text = ""
    for event in json_events(lines):
        result.session_id = event.get("sessionID") or result.session_id
        kind, part = event.get("type"), _part(event)
        if kind == "step_start":
            step_text = []
        elif kind == "text" and isinstance(part.get("text"), str):
            step_text.append(part["text"])
            last_text = "\n".join(step_text)
        elif kind == "tool_use":
            state = object_in(part, "state")
            result.tool_calls.append(tool_call(str(part.get("tool", "?")), state.get("input"), cwd))
        elif kind == "step_finish":
            _add_step_usage(part, result)
            result.finished = result.finished or part.get("reason") == "stop"
        elif kind == "error":
            _read_error(event.get("error"), result)
        elif kind == "done":
            result.finished = True
    result.final_text = "" if result.error else last_text.strip()
    return result


def _part(event: dict[str, Any]) -> dict[str, Any]:
    part = event.get("part")
    return part if isinstance(part, dict) else {}


def _add_step_usage(part: dict[str, Any], result: StreamResult) -> None:
    tokens = object_in(part, "tokens")
    cache = object_in(tokens, "cache")
    cost = part.get("cost")
    fed = as_count(tokens.get("input")) + as_count(cache.get("read")) + as_count(cache.get("write"))
    step = Usage(
        input_tokens=fed,
        output_tokens=as_count(tokens.get("output")) + as_count(tokens.get("reasoning")),
        cost_usd=float(cost) if isinstance(cost, (int, float)) else None,
        cache_read_tokens=as_count(cache.get("read")),
        cache_write_tokens=as_count(cache.get("write")),
    )
    result.usage = result.usage.plus(step)


def _read_error(raw: object, result: StreamResult) -> None:
    error = raw if isinstance(raw, dict) else {}
    data = object_in(error, "data")
    message = str(data.get("message") or error.get("name") or "opencode failed")
    status = data.get("statusCode")
    result.error = one_line(f"{error.get('name', 'Error')}: {message}", 500)
    result.error_kind = (
        ("auth" if error.get("name") == "ProviderAuthError" else None)
        or kind_of_status(status if isinstance(status, int) else None)
        or classify_failure(message)
        or "exit"
    )
    if result.error_kind == "rate_limit":
        result.retry_after_s = _retry_after(data) or retry_after_in(message)


def _retry_after(data: dict[str, Any]) -> float | None:
    headers = object_in(data, "responseHeaders")
    for key in ("retry-after-ms", "retry-after"):
        try:
            value = float(headers[key])
        except (KeyError, TypeError, ValueError):
            continue
        return value / 1000 if key.endswith("-ms") else value
    return None


def activity(line: str, cwd: str = "") -> str | None:
    event = json_event(line)
    if event is None:
        return None
    kind, part = event.get("type"), _part(event)
    if kind == "tool_use":
        state = object_in(part, "state")
        summary = tool_call(str(part.get("tool", "?")), state.get("input"), cwd).summary
        return summary + (" (failed)" if state.get("status") == "error" else "")
    if kind == "error":
        holder = StreamResult()
        _read_error(event.get("error"), holder)
        return one_line(f"opencode failed: {holder.error}")
    return None


ADAPTER = Adapter(
    name="opencode",
    binary="opencode",
    launch=launch,
    parse=parse,
    activity=activity,
    closes=event_type_in("done"),
    expects_closing_event=False,
)
