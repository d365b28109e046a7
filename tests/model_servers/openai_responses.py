"""A scripted model speaking the OpenAI Responses API (`POST /v1/responses`), for `codex`.

Streaming replies are server-sent events: `response.created`, `response.output_item.added`,
text as `response.output_text.delta`, `response.output_item.done` with the whole item (an
assistant `message`, or a `function_call`), and `response.completed` with the usage.
`RunShell` becomes codex's `exec_command` tool; `WriteFile` and `EditFile` are `apply_patch`
commands run through that tool (codex applies such patches itself and reports a `file_change`). Errors use
the API's body (`{"error": {"type": ..., "code": ..., "message": ...}}`) and `retry-after`.

Every reply reports `USAGE` tokens, so a test can add up what the CLI should have counted.

Standard library only.
"""

from __future__ import annotations

import itertools
import json
import re
from http.server import BaseHTTPRequestHandler
from typing import Any

from .base import ScriptedServer, retry_headers, send_event, send_json, start_events
from .scenario import Conversation, EditFile, Fail, Reply, RunShell, Say, UseTool, WriteFile

USAGE = {"input_tokens": 100, "input_tokens_details": {"cached_tokens": 0}, "output_tokens": 10,
         "output_tokens_details": {"reasoning_tokens": 0}, "total_tokens": 110}
_ERRORS = {401: ("invalid_request_error", "invalid_api_key"), 403: ("invalid_request_error", "forbidden"),
           429: ("rate_limit_exceeded", "rate_limit_exceeded"), 500: ("server_error", "server_error")}
_CWD = re.compile(r"<cwd>([^<]+)</cwd>")
_REPLY_ITEMS = ("function_call", "custom_tool_call", "local_shell_call")


class ResponsesServer(ScriptedServer):
    api = "openai-responses"

    def __init__(self, scenario) -> None:
        super().__init__(scenario)
        self._ids = itertools.count(1)

    def conversation_of(self, path: str, body: Any) -> Conversation | None:
        if not path.rstrip("/").endswith("/responses") or not isinstance(body, dict):
            return None
        items = [i for i in body.get("input") or [] if isinstance(i, dict)]
        user = [_text_of(i) for i in items if i.get("type", "message") == "message" and i.get("role") == "user"]
        match = next((m for m in map(_CWD.search, user) if m), None)
        return Conversation(
            api=self.api, model=str(body.get("model", "")), user_texts=[t for t in user if t],
            replies_so_far=sum(1 for i in items if self._is_our_reply(i)),
            tool_results=[str(i.get("output", "")) for i in items if str(i.get("type", "")).endswith("_output")],
            tool_names=[str(t.get("name") or t.get("type")) for t in body.get("tools") or [] if isinstance(t, dict)],
            cwd=match.group(1).strip() if match else "", system=str(body.get("instructions") or ""))

    def _is_our_reply(self, item: dict[str, Any]) -> bool:
        """A model output this server wrote (not something the CLI put in the history itself)."""
        kind = item.get("type", "message")
        if kind in _REPLY_ITEMS:
            return str(item.get("call_id", "")).startswith("call_scripted_")
        return kind == "message" and item.get("role") == "assistant" and self.said(_text_of(item))

    def other_request(self, handler: BaseHTTPRequestHandler, method: str, path: str, body: Any) -> tuple[int, Any]:
        if method == "GET" and "/models" in path:
            return 200, {"object": "list", "data": [], "models": []}
        return super().other_request(handler, method, path, body)

    def write_reply(self, handler: BaseHTTPRequestHandler, reply: Reply, conversation: Conversation,
                    body: Any) -> None:
        response_id = f"resp_scripted_{next(self._ids)}"
        item = self._item(reply)
        start_events(handler)
        send_event(handler, {"type": "response.created", "response": {"id": response_id, "status": "in_progress"}},
                   "response.created")
        send_event(handler, {"type": "response.output_item.added", "output_index": 0,
                             "item": {**item, **({"content": []} if item["type"] == "message" else {})}},
                   "response.output_item.added")
        if item["type"] == "message":
            send_event(handler, {"type": "response.output_text.delta", "item_id": item["id"], "output_index": 0,
                                 "content_index": 0, "delta": item["content"][0]["text"]}, "response.output_text.delta")
        send_event(handler, {"type": "response.output_item.done", "output_index": 0, "item": item},
                   "response.output_item.done")
        send_event(handler, {"type": "response.completed",
                             "response": {"id": response_id, "status": "completed", "usage": USAGE}},
                   "response.completed")

    def _item(self, reply: Reply) -> dict[str, Any]:
        number = next(self._ids)
        if isinstance(reply, Say):
            self.remember_said(reply.text)
            return {"type": "message", "role": "assistant", "id": f"msg_scripted_{number}", "status": "completed",
                    "content": [{"type": "output_text", "text": reply.text, "annotations": []}]}
        if isinstance(reply, WriteFile):
            tool = UseTool("exec_command", {"cmd": apply_patch_command(reply.path, reply.content)})
        elif isinstance(reply, EditFile):
            tool = UseTool("exec_command", {"cmd": patch_command(
                f"*** Update File: {reply.path}\n@@\n-{reply.old_line}\n+{reply.new_line}\n")})
        elif isinstance(reply, RunShell):
            tool = UseTool("exec_command", {"cmd": reply.command})
        else:
            tool = reply
        assert isinstance(tool, UseTool), reply
        return {"type": "function_call", "id": f"fc_scripted_{number}", "call_id": f"call_scripted_{number}",
                "name": tool.name, "arguments": json.dumps(tool.input), "status": "completed"}

    def write_failure(self, handler: BaseHTTPRequestHandler, failure: Fail) -> None:
        kind, code = _ERRORS.get(failure.status, ("server_error", None))
        message = failure.message or f"scripted {failure.status} ({kind})"
        send_json(handler, failure.status, {"error": {"type": kind, "code": code, "message": message, "param": None}},
                  retry_headers(failure))


def apply_patch_command(path: str, content: str) -> str:
    """A shell command adding (or replacing) a file with codex's own patch format."""
    lines = "".join(f"+{line}\n" for line in content.splitlines())
    return patch_command(f"*** Add File: {path}\n{lines}")


def patch_command(body: str) -> str:
    return f"apply_patch <<'PATCH'\n*** Begin Patch\n{body}*** End Patch\nPATCH"




def _text_of(item: dict[str, Any]) -> str:
    content = item.get("content")
    if isinstance(content, str):
        return content
    if isinstance(content, list):
        return "\n".join(str(p.get("text", "")) for p in content if isinstance(p, dict) and p.get("text"))
    return ""
