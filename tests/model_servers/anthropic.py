"""A scripted model speaking the Anthropic Messages API (`POST /v1/messages`), for `claude`
(and for `opencode` through its anthropic provider).

Streaming requests get server-sent events in the API's order: `message_start`, one content
block (`text_delta`s, or a `tool_use` whose input arrives as `input_json_delta`),
`message_delta` with the stop reason and usage, `message_stop`. `WriteFile` becomes Claude
Code's `Write` tool (absolute `file_path`), `EditFile` its `Edit` tool, `RunShell` its `Bash`
tool; when the request offers opencode's tools instead, their `write`/`edit`/`bash`. Errors use the API's
error body (`{"type": "error", "error": {"type": "rate_limit_error", ...}}`) and `retry-after`.

Every reply reports `USAGE` tokens (or the `usage` the server was made with: a test of a budget
wants costly replies), so a test can add up what the CLI should have counted.

Standard library only.
"""

from __future__ import annotations

import itertools
import json
import re
from http.server import BaseHTTPRequestHandler
from typing import Any

from .base import ScriptedServer, retry_headers, send_event, send_json, start_events
from .scenario import Conversation, EditFile, Fail, Reply, RunShell, Say, UseTool, WriteFile, absolute

USAGE = {"input_tokens": 100, "output_tokens": 10}
_ERROR_TYPES = {400: "invalid_request_error", 401: "authentication_error", 403: "permission_error",
                404: "not_found_error", 429: "rate_limit_error", 500: "api_error", 529: "overloaded_error"}
_CWD = re.compile(r"(?:Primary working directory|Working directory):\s*(\S+)")


class AnthropicServer(ScriptedServer):
    api = "anthropic"

    def __init__(self, scenario, usage: dict[str, int] | None = None) -> None:
        super().__init__(scenario)
        self._ids = itertools.count(1)
        self.usage = usage or USAGE

    def conversation_of(self, path: str, body: Any) -> Conversation | None:
        if not path.startswith("/v1/messages") or "count_tokens" in path or not isinstance(body, dict):
            return None
        messages = [m for m in body.get("messages") or [] if isinstance(m, dict)]
        system = _text_of(body.get("system"))
        match = _CWD.search(system)
        return Conversation(
            api=self.api, model=str(body.get("model", "")),
            user_texts=[t for m in messages if m.get("role") == "user" for t in [_text_of(m.get("content"))] if t],
            replies_so_far=sum(1 for m in messages if self._is_our_reply(m)),
            tool_results=[_text_of(b.get("content")) for m in messages for b in _blocks(m)
                          if b.get("type") == "tool_result"],
            tool_names=[str(t.get("name")) for t in body.get("tools") or [] if isinstance(t, dict)],
            cwd=match.group(1) if match else "", system=system)

    def _is_our_reply(self, message: dict[str, Any]) -> bool:
        """An assistant message this server wrote (not a placeholder the CLI put in the history)."""
        if message.get("role") != "assistant":
            return False
        blocks = _blocks(message) or [{"type": "text", "text": message.get("content")}]
        return any(str(b.get("id", "")).startswith("toolu_scripted_") or
                   (b.get("type") == "text" and self.said(str(b.get("text")))) for b in blocks)

    def other_request(self, handler: BaseHTTPRequestHandler, method: str, path: str, body: Any) -> tuple[int, Any]:
        if "count_tokens" in path:
            return 200, {"input_tokens": self.usage["input_tokens"]}
        return super().other_request(handler, method, path, body)

    def write_reply(self, handler: BaseHTTPRequestHandler, reply: Reply, conversation: Conversation,
                    body: Any) -> None:
        block, stop = self._content_block(reply, conversation)
        message_id = f"msg_scripted_{next(self._ids)}"
        if not body.get("stream"):
            send_json(handler, 200, {"id": message_id, "type": "message", "role": "assistant",
                                     "model": conversation.model, "content": [block], "stop_reason": stop,
                                     "stop_sequence": None, "usage": self.usage})
            return
        start_events(handler)
        self._stream(handler, message_id, conversation.model, block, stop)

    def _content_block(self, reply: Reply, conversation: Conversation) -> tuple[dict[str, Any], str]:
        if isinstance(reply, Say):
            self.remember_said(reply.text)
            return {"type": "text", "text": reply.text}, "end_turn"
        tool = reply if isinstance(reply, UseTool) else _tool_for(reply, conversation)
        return {"type": "tool_use", "id": f"toolu_scripted_{next(self._ids)}", "name": tool.name,
                "input": tool.input}, "tool_use"

    def _stream(self, handler: BaseHTTPRequestHandler, message_id: str, model: str, block: dict[str, Any],
                stop: str) -> None:
        start = {"id": message_id, "type": "message", "role": "assistant", "model": model, "content": [],
                 "stop_reason": None, "stop_sequence": None,
                 "usage": {"input_tokens": self.usage["input_tokens"], "output_tokens": 1}}
        send_event(handler, {"type": "message_start", "message": start}, "message_start")
        opening = {**block, "input": {}} if block["type"] == "tool_use" else {"type": "text", "text": ""}
        send_event(handler, {"type": "content_block_start", "index": 0, "content_block": opening},
                   "content_block_start")
        for delta in _deltas(block):
            send_event(handler, {"type": "content_block_delta", "index": 0, "delta": delta}, "content_block_delta")
        send_event(handler, {"type": "content_block_stop", "index": 0}, "content_block_stop")
        send_event(handler, {"type": "message_delta", "delta": {"stop_reason": stop, "stop_sequence": None},
                             "usage": {"output_tokens": self.usage["output_tokens"]}}, "message_delta")
        send_event(handler, {"type": "message_stop"}, "message_stop")

    def write_failure(self, handler: BaseHTTPRequestHandler, failure: Fail) -> None:
        kind = _ERROR_TYPES.get(failure.status, "api_error")
        message = failure.message or f"scripted {failure.status} ({kind})"
        send_json(handler, failure.status, {"type": "error", "error": {"type": kind, "message": message}},
                  {"request-id": "req_scripted", **retry_headers(failure)})


def _tool_for(reply: Reply, conversation: Conversation) -> UseTool:
    """The CLI's own tool: claude offers `Write`/`Edit`/`Bash` (snake_case arguments), opencode
    `write`/`edit`/`bash` (camelCase)."""
    path = absolute(getattr(reply, "path", ""), conversation.cwd)
    opencode = "write" in conversation.tool_names and "Write" not in conversation.tool_names
    if isinstance(reply, WriteFile):
        return UseTool("write", {"filePath": path, "content": reply.content}) if opencode else \
            UseTool("Write", {"file_path": path, "content": reply.content})
    if isinstance(reply, EditFile):
        return UseTool("edit", {"filePath": path, "oldString": reply.old_line, "newString": reply.new_line}) \
            if opencode else UseTool("Edit", {"file_path": path, "old_string": reply.old_line,
                                              "new_string": reply.new_line})
    if isinstance(reply, RunShell):
        return UseTool("bash" if opencode else "Bash", {"command": reply.command, "description": "scripted command"})
    raise AssertionError(f"not a tool reply: {reply!r}")


def _deltas(block: dict[str, Any]) -> list[dict[str, Any]]:
    """The block's content in two pieces, as a real stream splits it."""
    if block["type"] == "text":
        text = block["text"]
        half = len(text) // 2
        return [{"type": "text_delta", "text": part} for part in (text[:half], text[half:]) if part]
    raw = json.dumps(block["input"])
    half = len(raw) // 2
    return [{"type": "input_json_delta", "partial_json": part} for part in (raw[:half], raw[half:])]


def _blocks(message: dict[str, Any]) -> list[dict[str, Any]]:
    content = message.get("content")
    return [b for b in content if isinstance(b, dict)] if isinstance(content, list) else []


def _text_of(content: Any) -> str:
    """The plain text of a message's content (a string or a list of blocks)."""
    if isinstance(content, str):
        return content
    if isinstance(content, list):
        return "\n".join(b["text"] for b in content if isinstance(b, dict) and isinstance(b.get("text"), str))
    return ""
