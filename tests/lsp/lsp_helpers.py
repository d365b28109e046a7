"""What the language-server tests share: a real git repository with oompa.json, spec.md and
task files; an `oompa-lsp` subprocess driven by a pytest-lsp client that records every
oompa notification; and waits that always end (a hung wait is a failure, not a hang).
The fixtures are in conftest.py."""

from __future__ import annotations

import asyncio
import json
import os
import subprocess
import sys
import time
import uuid
from collections.abc import Callable
from pathlib import Path
from typing import Any

from lsprotocol import types as lsp
import psutil
from pygls.protocol import JsonRPCNotification, JsonRPCResponseMessage
from pytest_lsp import ClientServerConfig, LanguageClient
from pytest_lsp.client import register_lsp_features
from pytest_lsp.protocol import LanguageClientProtocol

WAIT_S = float(os.environ.get("OOMPA_TEST_WAIT_S", "60"))


def git(root: Path, *args: str) -> str:
    return subprocess.run(["git", *args], cwd=root, check=True, capture_output=True, text=True, timeout=30).stdout


def make_repo(root: Path, *, spec: str, tasks: dict[str, dict], config: dict[str, Any],
              files: dict[str, str] | None = None) -> Path:
    """A repository on branch main with one commit holding everything given."""
    root.mkdir(parents=True, exist_ok=True)
    git(root, "init", "-q", "-b", "main")
    git(root, "config", "user.email", "test@example.com")
    git(root, "config", "user.name", "Test")
    (root / "oompa.json").write_text(json.dumps(config, indent=2))
    (root / "spec.md").write_text(spec)
    for name, text in (files or {}).items():
        (root / name).parent.mkdir(parents=True, exist_ok=True)
        (root / name).write_text(text)
    pending = root / "tasks" / "pending"
    pending.mkdir(parents=True)
    for task_id, fields in tasks.items():
        (pending / f"{task_id}.json").write_text(json.dumps({"id": task_id, **fields}, indent=2))
    git(root, "add", "-A")
    git(root, "commit", "-q", "-m", "start")
    return root


FAKE_AGENT = Path(__file__).resolve().parent.parent / "fake_agent.py"


def agent_config(marker: str, scratch: Path, script: dict | None = None, *, workers: int = 1, iterations: int = 3,
                 review_mode: str = "human", timeout_s: float = 60) -> dict[str, Any]:
    """Workers played by tests/fake_agent.py following `script` (written into `scratch`);
    `marker` is put in the agents' environment so a test can find every process they started,
    children included."""
    script_path = scratch / "script.json"
    script_path.write_text(json.dumps(script or {"roles": {"*": {"*": [{"final": "__DONE__"}]}}}))
    return {
        "workers": [{"model": "fake:worker", "count": workers, "iterations": iterations, "timeout_s": timeout_s}],
        "review_model": "fake:reviewer",
        "review": {"mode": review_mode},
        "harnesses": {"fake": {"command": [sys.executable, str(FAKE_AGENT)],
                               "env": {"FAKE_AGENT_SCRIPT": str(script_path), "OOMPA_TEST_MARKER": marker}}},
    }


def agent_processes(marker: str) -> list[int]:
    """Live processes started by this test's agents (their environment carries the marker)."""
    found = []
    for process in psutil.process_iter(["environ", "status"], ad_value=None):
        environ = process.info["environ"] or {}
        if (process.pid != os.getpid() and environ.get("OOMPA_TEST_MARKER") == marker
                and process.info["status"] != psutil.STATUS_ZOMBIE):
            found.append(process.pid)
    return found


RAW_ID = "raw-"


class OompaClientProtocol(LanguageClientProtocol):
    """Keeps oompa's custom notifications, and the results of requests sent with a `raw-` id,
    as plain dicts (pygls would make namedtuples of them)."""

    def structure_message(self, data: dict[str, Any]):
        method = data.get("method", "")
        if "jsonrpc" in data and "id" not in data and method.startswith("oompa/"):
            return JsonRPCNotification(method=method, jsonrpc=data["jsonrpc"], params=data.get("params"))
        if "result" in data and str(data.get("id", "")).startswith(RAW_ID):
            self._result_types.pop(data["id"], None)
            return JsonRPCResponseMessage(id=data["id"], jsonrpc=data["jsonrpc"], result=data["result"])
        return super().structure_message(data)


class OompaClient(LanguageClient):
    """A pytest-lsp client that records oompa notifications and answers what the server asks."""

    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, protocol_cls=OompaClientProtocol, **kwargs)
        self.received: list[tuple[str, dict]] = []
        self.applied_edits: list[lsp.ApplyWorkspaceEditParams] = []
        self.registrations: list[lsp.Registration] = []
        self.lens_refreshes = 0
        self.message_requests: list[str] = []
        self.answer_message_request = "Tick it"

    def of(self, method: str) -> list[dict]:
        return [params for name, params in self.received if name == method]

    async def wait_until(self, predicate: Callable[[], Any], what: str, timeout: float = WAIT_S) -> Any:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            value = predicate()
            if value:
                return value
            await asyncio.sleep(0.02)
        raise AssertionError(f"timed out after {timeout:.0f} s waiting for {what}; received: "
                             f"{[m for m, _ in self.received][-30:]}")

    async def wait_for_oompa(self, method: str, match: Callable[[dict], bool] = lambda _: True,
                             timeout: float = WAIT_S) -> dict:
        return await self.wait_until(lambda: next((p for p in self.of(method) if match(p)), None),
                                     f"{method} matching the test's condition", timeout)

    async def command(self, name: str, *arguments: Any, timeout: float = WAIT_S) -> Any:
        return await self.request(lsp.WORKSPACE_EXECUTE_COMMAND,
                                  lsp.ExecuteCommandParams(command=name, arguments=list(arguments)), timeout)

    async def request(self, method: str, params: Any, timeout: float = WAIT_S) -> Any:
        """A custom request; its result arrives as plain JSON values."""
        msg_id = f"{RAW_ID}{uuid.uuid4().hex}"
        return await asyncio.wait_for(self.protocol.send_request_async(method, params, msg_id=msg_id), timeout)


def _client_factory() -> OompaClient:
    client = OompaClient()
    register_lsp_features(client)
    for method in ("oompa/swarmState", "oompa/workerUpdated", "oompa/taskUpdated", "oompa/reviewRequested",
                   "oompa/reviewResolved", "oompa/log"):
        client.feature(method)(_recorder(method))

    @client.feature(lsp.CLIENT_REGISTER_CAPABILITY)
    def register(ls: OompaClient, params: lsp.RegistrationParams) -> None:
        ls.registrations.extend(params.registrations)

    @client.feature(lsp.WORKSPACE_CODE_LENS_REFRESH)
    def refresh(ls: OompaClient, params: None) -> None:
        ls.lens_refreshes += 1

    @client.feature(lsp.WORKSPACE_APPLY_EDIT)
    def apply_edit(ls: OompaClient, params: lsp.ApplyWorkspaceEditParams) -> lsp.ApplyWorkspaceEditResult:
        ls.applied_edits.append(params)
        return lsp.ApplyWorkspaceEditResult(applied=True)

    @client.feature(lsp.WINDOW_SHOW_MESSAGE_REQUEST)
    def message_request(ls: OompaClient, params: lsp.ShowMessageRequestParams) -> lsp.MessageActionItem | None:
        ls.message_requests.append(params.message)
        return lsp.MessageActionItem(title=ls.answer_message_request)

    return client


def _recorder(method: str):
    def record(ls: OompaClient, params: Any) -> None:
        ls.received.append((method, params))
    return record


CAPABILITIES = lsp.ClientCapabilities(
    workspace=lsp.WorkspaceClientCapabilities(
        apply_edit=True,
        workspace_edit=lsp.WorkspaceEditClientCapabilities(document_changes=True),
        code_lens=lsp.CodeLensWorkspaceClientCapabilities(refresh_support=True),
        execute_command=lsp.ExecuteCommandClientCapabilities(),
        text_document_content=lsp.TextDocumentContentClientCapabilities(dynamic_registration=True),
    ),
    window=lsp.WindowClientCapabilities(work_done_progress=True,
                                        show_message=lsp.ShowMessageRequestClientCapabilities()),
    text_document=lsp.TextDocumentClientCapabilities(
        code_lens=lsp.CodeLensClientCapabilities(),
        hover=lsp.HoverClientCapabilities(content_format=[lsp.MarkupKind.Markdown]),
        publish_diagnostics=lsp.PublishDiagnosticsClientCapabilities(version_support=True),
    ),
)


async def start_client(root: Path, *, options: dict | None = None, env: dict[str, str] | None = None) -> OompaClient:
    config = ClientServerConfig(server_command=[sys.executable, "-m", "oompa_lsp"], client_factory=_client_factory,
                                server_env={**os.environ, **(env or {})})
    client = await asyncio.wait_for(config.start(), WAIT_S)
    await asyncio.wait_for(client.initialize_session(lsp.InitializeParams(
        capabilities=CAPABILITIES, root_uri=root.as_uri(),
        workspace_folders=[lsp.WorkspaceFolder(uri=root.as_uri(), name=root.name)],
        initialization_options=options or {})), WAIT_S)
    return client


async def stop_client(client: OompaClient) -> None:
    try:
        await asyncio.wait_for(client.shutdown_session(), WAIT_S)
    finally:
        await asyncio.wait_for(client.stop(), WAIT_S)


def open_document(client: OompaClient, path: Path, text: str | None = None, version: int = 1) -> str:
    uri = path.as_uri()
    client.text_document_did_open(lsp.DidOpenTextDocumentParams(text_document=lsp.TextDocumentItem(
        uri=uri, language_id="markdown" if path.suffix == ".md" else "json", version=version,
        text=path.read_text() if text is None else text)))
    return uri


async def code_lenses(client: OompaClient, uri: str) -> list[tuple[int, str, str, list | None]]:
    found = await asyncio.wait_for(client.text_document_code_lens_async(
        lsp.CodeLensParams(text_document=lsp.TextDocumentIdentifier(uri=uri))), WAIT_S)
    return [(lens.range.start.line, lens.command.title, lens.command.command,
             None if lens.command.arguments is None else list(lens.command.arguments)) for lens in found or []]
