"""A loopback HTTP server that answers from a scenario and records every request it got.

Each API (Anthropic Messages, OpenAI Responses, Gemini) subclasses `ScriptedServer` with how
to read a request into a `Conversation` and how to write a reply (server-sent events or JSON).
The server binds 127.0.0.1 on a free port, serves each request on its own thread (a swarm's
agents talk at once) and is stopped by leaving its `with` block; a `Stall` reply is released
then, so no thread outlives the test. A bug in a scenario or a server answers 500 and fails
the test when the `with` block ends (a CLI would otherwise retry it silently).

Standard library only.
"""

from __future__ import annotations

import json
import threading
import time
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

from .scenario import Conversation, Fail, Reply, Scenario, Stall


@dataclass
class Recorded:
    """One request the server got, and what it answered."""

    method: str
    path: str
    headers: dict[str, str]
    body: Any                                  # decoded JSON, or the raw text
    conversation: Conversation | None = None
    answer: str = ""                           # the scenario's rule and step, or the route
    status: int = 200
    at: float = field(default_factory=time.time)


class ScriptedServer:
    """Subclasses implement `conversation_of`, `write_reply`, `write_failure` and may add routes."""

    api = "base"

    def __init__(self, scenario: Scenario) -> None:
        self.scenario = scenario
        self.requests: list[Recorded] = []
        self.errors: list[str] = []               # our own failures while answering
        self._said: set[str] = set()              # every text reply given, to know our own in a history
        self.closing = threading.Event()
        self._lock = threading.Lock()
        self._httpd = ThreadingHTTPServer(("127.0.0.1", 0), _handler_for(self))
        self._httpd.daemon_threads = True
        self._thread = threading.Thread(target=self._httpd.serve_forever, name=f"{self.api}-server", daemon=True)

    @property
    def url(self) -> str:
        host, port = self._httpd.server_address[:2]
        return f"http://{host}:{port}"

    def __enter__(self) -> "ScriptedServer":
        self._thread.start()
        return self

    def __exit__(self, exc_type: object, *rest: object) -> None:
        self.closing.set()
        self._httpd.shutdown()
        self._httpd.server_close()
        self._thread.join(timeout=5)
        if self.errors and exc_type is None:
            raise AssertionError("the scripted server failed: " + " | ".join(self.errors))

    # -- what tests read ------------------------------------------------------------------

    def conversations(self) -> list[Recorded]:
        """The requests that were turns of a conversation (not model lists or token counts)."""
        with self._lock:
            return [r for r in self.requests if r.conversation is not None]

    def record(self, entry: Recorded) -> None:
        with self._lock:
            self.requests.append(entry)

    def remember_said(self, text: str) -> None:
        with self._lock:
            self._said.add(text)

    def said(self, text: str) -> bool:
        """Did this server give that text reply? A CLI may put its own placeholders in a history
        (claude resumes a failed turn with an assistant message "No response requested.")."""
        with self._lock:
            return text in self._said

    # -- what subclasses provide ------------------------------------------------------------

    def conversation_of(self, path: str, body: Any) -> Conversation | None:
        """The conversation a POST carries; None for a request that is not a model turn."""
        raise NotImplementedError

    def write_reply(self, handler: BaseHTTPRequestHandler, reply: Reply, conversation: Conversation,
                    body: Any) -> None:
        raise NotImplementedError

    def write_failure(self, handler: BaseHTTPRequestHandler, failure: Fail) -> None:
        raise NotImplementedError

    def other_request(self, handler: BaseHTTPRequestHandler, method: str, path: str, body: Any) -> tuple[int, Any]:
        """Status and JSON for a request that is not a turn (GET /models and the like)."""
        return 404, {"error": {"message": f"the scripted server has no {method} {path}"}}

    # -- serving ------------------------------------------------------------------------------

    def serve(self, handler: BaseHTTPRequestHandler, method: str) -> None:
        try:
            self._serve(handler, method)
        except (BrokenPipeError, ConnectionResetError):
            pass   # the CLI went away (a timeout test ends it mid-answer)
        except Exception as exc:  # a scenario bug: tell the test, not only the CLI
            with self._lock:
                self.errors.append(f"{method} {handler.path}: {exc!r}")
            send_json(handler, 500, {"error": {"message": f"scripted server bug: {exc!r}"}})

    def _serve(self, handler: BaseHTTPRequestHandler, method: str) -> None:
        body = _read_body(handler)
        entry = Recorded(method, handler.path, dict(handler.headers.items()), body)
        self.record(entry)
        conversation = self.conversation_of(handler.path, body) if method == "POST" else None
        if conversation is None:
            entry.status, payload = self.other_request(handler, method, handler.path, body)
            entry.answer = "route"
            send_json(handler, entry.status, payload)
            return
        entry.conversation = conversation
        reply, entry.answer = self.scenario.reply_to(conversation)
        self._answer(handler, entry, reply, conversation, body)

    def _answer(self, handler: BaseHTTPRequestHandler, entry: Recorded, reply: Reply,
                conversation: Conversation, body: Any) -> None:
        if isinstance(reply, Stall):
            entry.status = 0
            self.closing.wait(reply.seconds)
            return
        if isinstance(reply, Fail):
            entry.status = reply.status
            self.write_failure(handler, reply)
            return
        self.write_reply(handler, reply, conversation, body)


def _handler_for(server: ScriptedServer) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            server.serve(self, "POST")

        def do_GET(self) -> None:
            server.serve(self, "GET")

        def do_HEAD(self) -> None:
            self.send_response(200)
            self.end_headers()

        def log_message(self, format: str, *args: object) -> None:  # quiet: the record says it all
            pass

    return Handler


def _read_body(handler: BaseHTTPRequestHandler) -> Any:
    length = int(handler.headers.get("content-length") or 0)
    raw = handler.rfile.read(length) if length else b""
    if not raw:
        return None
    try:
        return json.loads(raw)
    except ValueError:
        return raw.decode("utf-8", "replace")


def send_json(handler: BaseHTTPRequestHandler, status: int, payload: Any,
              headers: dict[str, str] | None = None) -> None:
    data = json.dumps(payload).encode("utf-8")
    handler.send_response(status)
    handler.send_header("content-type", "application/json")
    handler.send_header("content-length", str(len(data)))
    for key, value in (headers or {}).items():
        handler.send_header(key, value)
    handler.end_headers()
    handler.wfile.write(data)


def start_events(handler: BaseHTTPRequestHandler) -> None:
    handler.send_response(200)
    handler.send_header("content-type", "text/event-stream")
    handler.send_header("cache-control", "no-cache")
    handler.end_headers()


def send_event(handler: BaseHTTPRequestHandler, data: dict[str, Any], name: str | None = None) -> None:
    head = f"event: {name}\n" if name else ""
    handler.wfile.write(f"{head}data: {json.dumps(data)}\n\n".encode("utf-8"))
    handler.wfile.flush()


def retry_headers(failure: Fail) -> dict[str, str]:
    return {"retry-after": f"{failure.retry_after_s:g}"} if failure.retry_after_s is not None else {}
