"""A scripted model speaking the Gemini API (`POST /v1beta/models/<model>:<method>`), for `gemini`.

`streamGenerateContent?alt=sse` (the agent's turns) gets one server-sent event with the whole
candidate: a text part, or a `functionCall` part. `WriteFile` becomes the CLI's `write_file`
tool, `EditFile` its `replace`, `RunShell` its `run_shell_command`. `generateContent` without
tools is the CLI's own side question (model routing, "who speaks next"): it asks for JSON of a
given schema, and gets the first allowed value of each field (for "who speaks next": the user,
which ends the turn). `countTokens` answers a count. Errors use the API's body
(`{"error": {"code": 429, "status": "RESOURCE_EXHAUSTED", ...}}`).

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

USAGE = {"promptTokenCount": 100, "candidatesTokenCount": 10, "totalTokenCount": 110}
_STATUS = {400: "INVALID_ARGUMENT", 401: "UNAUTHENTICATED", 403: "PERMISSION_DENIED", 429: "RESOURCE_EXHAUSTED",
           500: "INTERNAL", 503: "UNAVAILABLE"}
_CWD = re.compile(r"Workspace Directories:\**\s*\n\s*-\s*(\S+)")
_METHOD = re.compile(r"/models/([^:/?]+):(\w+)")


class GeminiServer(ScriptedServer):
    api = "gemini"

    def __init__(self, scenario) -> None:
        super().__init__(scenario)
        self._ids = itertools.count(1)

    def conversation_of(self, path: str, body: Any) -> Conversation | None:
        match = _METHOD.search(path)
        if not match or not isinstance(body, dict) or not _is_turn(match.group(2), body):
            return None
        contents = [c for c in body.get("contents") or [] if isinstance(c, dict)]
        user = [_text_of(c) for c in contents if c.get("role", "user") == "user"]
        cwd = next((m.group(1) for m in map(_CWD.search, user) if m), "")
        return Conversation(
            api=self.api, model=match.group(1), user_texts=[t for t in user if t],
            replies_so_far=sum(1 for c in contents if self._is_our_reply(c)),
            tool_results=[json.dumps(p["functionResponse"].get("response")) for c in contents for p in _parts(c)
                          if isinstance(p.get("functionResponse"), dict)],
            tool_names=[str(f.get("name")) for t in body.get("tools") or [] if isinstance(t, dict)
                        for f in t.get("functionDeclarations") or [] if isinstance(f, dict)],
            cwd=cwd, system=_text_of(body.get("systemInstruction") or {}))

    def _is_our_reply(self, content: dict[str, Any]) -> bool:
        if content.get("role") != "model":
            return False
        return any(isinstance(p.get("functionCall"), dict) or (not p.get("thought") and self.said(str(p.get("text"))))
                   for p in _parts(content))

    def other_request(self, handler: BaseHTTPRequestHandler, method: str, path: str, body: Any) -> tuple[int, Any]:
        match = _METHOD.search(path)
        if match and match.group(2) == "countTokens":
            return 200, {"totalTokens": USAGE["promptTokenCount"]}
        if match and match.group(2) == "generateContent" and isinstance(body, dict):
            schema = (body.get("generationConfig") or {}).get("responseJsonSchema") or \
                (body.get("generationConfig") or {}).get("responseSchema") or {}
            return 200, _candidate({"text": json.dumps(filled(schema))}, match.group(1))
        return super().other_request(handler, method, path, body)

    def write_reply(self, handler: BaseHTTPRequestHandler, reply: Reply, conversation: Conversation,
                    body: Any) -> None:
        part = self._part(reply, conversation)
        chunk = _candidate(part, conversation.model)
        if ":streamGenerateContent" not in handler.path:
            send_json(handler, 200, chunk)
            return
        start_events(handler)
        send_event(handler, chunk)

    def _part(self, reply: Reply, conversation: Conversation) -> dict[str, Any]:
        if isinstance(reply, Say):
            self.remember_said(reply.text)
            return {"text": reply.text}
        if isinstance(reply, WriteFile):
            tool = UseTool("write_file", {"file_path": absolute(reply.path, conversation.cwd), "content": reply.content})
        elif isinstance(reply, EditFile):
            tool = UseTool("replace", {"file_path": absolute(reply.path, conversation.cwd), "old_string": reply.old_line,
                                       "new_string": reply.new_line, "instruction": "scripted edit"})
        elif isinstance(reply, RunShell):
            tool = UseTool("run_shell_command", {"command": reply.command, "description": "scripted command"})
        else:
            tool = reply
        assert isinstance(tool, UseTool), reply
        return {"functionCall": {"id": f"call_scripted_{next(self._ids)}", "name": tool.name, "args": tool.input}}

    def write_failure(self, handler: BaseHTTPRequestHandler, failure: Fail) -> None:
        status = _STATUS.get(failure.status, "UNKNOWN")
        message = failure.message or f"scripted {failure.status} ({status})"
        send_json(handler, failure.status, {"error": {"code": failure.status, "message": message, "status": status}},
                  retry_headers(failure))


def _is_turn(method: str, body: dict[str, Any]) -> bool:
    """The agent's own turns stream and offer tools; side questions do neither."""
    return method == "streamGenerateContent" or (method == "generateContent" and bool(body.get("tools")))


def filled(schema: dict[str, Any]) -> Any:
    """A value of the schema: the first allowed value of each field ("user" speaks next)."""
    kind = str(schema.get("type", "object")).lower()
    if schema.get("enum"):
        values = list(schema["enum"])
        return "user" if "user" in values else values[0]
    if kind == "object":
        return {name: filled(sub) for name, sub in (schema.get("properties") or {}).items()}
    if kind == "array":
        return []
    if kind in ("number", "integer"):
        return 1
    if kind == "boolean":
        return False
    return "scripted"


def _candidate(part: dict[str, Any], model: str) -> dict[str, Any]:
    return {"candidates": [{"content": {"role": "model", "parts": [part]}, "finishReason": "STOP", "index": 0}],
            "usageMetadata": USAGE, "modelVersion": model}


def _parts(content: dict[str, Any]) -> list[dict[str, Any]]:
    return [p for p in content.get("parts") or [] if isinstance(p, dict)]


def _text_of(content: dict[str, Any]) -> str:
    return "\n".join(str(p["text"]) for p in _parts(content) if isinstance(p.get("text"), str) and not p.get("thought"))
