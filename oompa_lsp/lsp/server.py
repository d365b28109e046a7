"""`oompa-lsp`: the pygls language server that shows a swarm in any editor (DESIGN §7).

It translates; the engine decides. The server owns one `Session` (hosting the swarm on this
event loop, following another process's, or showing the last run) and renders its Snapshot
as code lenses, diagnostics and hovers on spec.md and the task files; engine events become
notifications through the `Forwarder`. Documents come from the editor's buffers (pygls's
workspace), so diagnostics follow the user's typing.

Lifecycle: `initialized` opens the session (viewer or last run) and, with
`initializationOptions.autoStart`, starts the swarm; `oompa.startSwarm` starts it otherwise;
`shutdown` stops it (agents killed, claims returned) before answering, and SIGTERM does the
same before the process exits. Logging goes to stderr at WARNING (stdout is JSON-RPC).

Must not import: oompa_lsp.cli. Only builtins (or lsprotocol types) are handed to pygls.
"""

from __future__ import annotations

import argparse
import asyncio
import logging
import os
import select
import signal
import sys
import threading
from pathlib import Path
from typing import Any

import anyio
import msgspec
from lsprotocol import types as lsp
from pygls.exceptions import JsonRpcException, JsonRpcInvalidParams
from pygls.lsp.server import LanguageServer
from pygls.uris import from_fs_path, to_fs_path
from pygls.workspace import TextDocument
from pygls.workspace.position_codec import ServerTextPosition, ServerTextRange

from oompa_lsp.adapters.config_file import CONFIG_NAME
from oompa_lsp.core.config import ConfigWarning
from oompa_lsp.core.errors import ConfigError, EngineRequestError, OompaError
from oompa_lsp.core.events import Event, TaskSeen
from oompa_lsp.core.snapshot import Snapshot
from oompa_lsp.core.spec import SpecDocument, SpecLinks, link_tasks, parse_spec
from oompa_lsp.core.tasks import TASK_STATES
from oompa_lsp.engine.swarm import Swarm

from . import protocol as p
from .diagnostics import config_diagnostics, config_warning_diagnostics, spec_diagnostics, task_file_diagnostics
from .forwarding import Forwarder
from .hover import item_hover
from .lenses import spec_lenses, task_file_lenses
from .session import Session

logger = logging.getLogger(__name__)

VERSION = "0.1.0"
CONTENT_REGISTRATION_ID = "oompa-git-content"
READY_WAIT_S = 15.0
DEFAULT_REJECT_FEEDBACK = "Rejected in the editor without comment: look again at the task and its acceptance criteria."


class RequestFailed(JsonRpcException):
    """LSP's RequestFailed: the request was valid but the swarm could not do it."""

    CODE = -32803


class Options(msgspec.Struct, omit_defaults=True):
    """`initializationOptions` (camelCase, as editors send them)."""

    autoStart: bool = False
    tickSpecItems: str = "ask"  # ask | always | never


class OompaServer(LanguageServer):
    def __init__(self) -> None:
        super().__init__("oompa-lsp", VERSION, protocol_cls=p.OompaProtocol,
                         text_document_sync_kind=lsp.TextDocumentSyncKind.Incremental)
        self.session: Session | None = None
        self.problem = ""  # why there is no session (e.g. oompa.json is invalid)
        self.root: Path | None = None
        self.options = Options()
        self.forwarder = Forwarder(EditorOutlet(self), lambda: self.snapshot, lambda: self.viewer)
        self._spec_cache: dict[str, tuple[int | None, SpecDocument]] = {}
        self._invalid_published: set[str] = set()
        self._progress_token: str | None = None
        self._loop: asyncio.AbstractEventLoop | None = None
        self._loop_thread_id = 0
        self.ready = asyncio.Event()
        self.generation = 0  # counts state changes, so renderings can be cached between them
        self._lens_cache: tuple[tuple, list[lsp.CodeLens]] | None = None
        self.link_generation = 0  # counts changes that can move a task to another spec item
        self._links_cache: tuple[tuple, SpecLinks, SpecDocument] | None = None
        self._published: dict[str, tuple] = {}  # uri -> what was last published there
        self._no_swarm = Snapshot()  # what is shown while there is no session

    # -- state, as read from the session ----------------------------------------------------

    @property
    def snapshot(self) -> Snapshot:
        return self.session.snapshot if self.session else self._no_swarm

    @property
    def viewer(self) -> bool:
        return bool(self.session and self.session.viewer)

    @property
    def running(self) -> bool:
        return bool(self.session and self.session.running)

    def configured_workers(self) -> int:
        return sum(w.count for w in self.session.swarm.config.workers) if self.session else 0

    async def until_ready(self) -> None:
        """Requests that render state wait for `initialized` to have opened the session, so a
        fast client never sees an empty swarm (bounded: a stuck start still gets an answer)."""
        try:
            await asyncio.wait_for(self.ready.wait(), READY_WAIT_S)
        except asyncio.TimeoutError:
            logger.warning("answering before the session is ready")

    def paths(self) -> tuple[Path | None, Path | None]:
        """(spec.md, tasks folder) of the workspace, from oompa.json or the defaults."""
        if self.session is not None:
            return self.session.swarm.spec_path, self.session.swarm.tasks_dir
        if self.root is None:
            return None, None
        return self.root / "spec.md", self.root / "tasks"

    def classify(self, uri: str) -> tuple[str, str, str] | None:
        """("spec", "", "") or ("task", task_id, folder_state) for the documents oompa renders."""
        path_text = to_fs_path(uri)
        if not path_text:
            return None
        path = Path(path_text)
        spec_path, tasks_dir = self.paths()
        if spec_path is not None and path == spec_path:
            return "spec", "", ""
        if tasks_dir is not None and path.suffix == ".json" and path.parent.parent == tasks_dir \
                and path.parent.name in TASK_STATES:
            return "task", path.stem, path.parent.name
        return None

    def task_uri(self, task_id: str, state: str) -> str:
        _, tasks_dir = self.paths()
        return from_fs_path(str(tasks_dir / state / f"{task_id}.json")) if tasks_dir else ""

    # -- session ----------------------------------------------------------------------------

    async def open_session(self) -> None:
        if self.root is None:
            self.problem = "no workspace folder: open the repository's folder"
            return
        try:
            swarm = await anyio.to_thread.run_sync(Swarm.open, self.root)
        except OompaError as exc:
            self.problem = str(exc)
            self.show_message("error", f"oompa: {exc}")
            self._publish_config_problem(exc)
            return
        self.problem = ""
        self._publish_config_problem(None, swarm.loaded.warnings)
        self.session = Session(swarm)
        self.session.subscribe(self.on_engine_event)
        self.session.on_mode_change = self.on_mode_change
        await self.session.attach()
        self.forwarder.swarm_state(urgent=True)
        self.refresh()

    def config_uri(self) -> str:
        return from_fs_path(str(self.root / CONFIG_NAME)) if self.root else ""

    def _publish_config_problem(self, error: OompaError | None, warnings: list[ConfigWarning] = ()) -> None:
        """A bad oompa.json is underlined where the problem is; fixed, the mark goes away.
        A good one still shows its warnings (review off, a key that is ignored)."""
        if not self.root:
            return
        found: list[lsp.Diagnostic] = []
        document = self.workspace.get_text_document(self.config_uri())
        try:
            if isinstance(error, ConfigError) and Path(error.path).name == CONFIG_NAME:
                found = _in_client_units(document, config_diagnostics(error, document.source))
            elif warnings:
                found = _in_client_units(document, config_warning_diagnostics(list(warnings), document.source))
        except OSError:
            found = []
        self.text_document_publish_diagnostics(lsp.PublishDiagnosticsParams(uri=self.config_uri(), diagnostics=found))

    async def reopen_session(self) -> None:
        """oompa.json was saved: load it again unless a swarm is running or being followed."""
        if self.session is not None:
            if self.session.mode != "idle":
                return
            await self.session.close()
            self.session = None
        await self.open_session()
        self.generation += 1
        self.link_generation += 1
        self.refresh()

    def on_engine_event(self, event: Event) -> None:
        if self._loop is not None and threading.get_ident() != self._loop_thread_id:
            self._loop.call_soon_threadsafe(self.on_engine_event, event)  # notify only from the loop
            return
        self.generation += 1
        if isinstance(event, TaskSeen):  # the only event that can change a task's `spec`
            self.link_generation += 1
        self.forwarder.on_event(event)

    def on_mode_change(self) -> None:
        """Attached as a viewer, or back to idle: what the editor shows changed wholesale."""
        self.generation += 1
        self.link_generation += 1
        if self.ready.is_set():
            self.forwarder.swarm_state(urgent=True)
            self.forwarder.schedule_refresh()

    def report_server_error(self, error: Exception, source) -> None:
        if isinstance(error, JsonRpcException):
            # A refusal the client is told about (bad params, nothing to approve): not a server fault.
            logger.info("request refused: %s", error)
        else:
            logger.error("%s", error, exc_info=error)  # pygls would only show it to the user
        super().report_server_error(error, source)

    async def require_session(self) -> Session:
        await self.until_ready()
        if self.session is None:
            raise RequestFailed(f"oompa is not available here: {self.problem or 'still starting'}")
        return self.session

    # -- rendering --------------------------------------------------------------------------

    def spec_document(self, document: TextDocument) -> SpecDocument:
        cached = self._spec_cache.get(document.uri)
        if cached is not None and cached[0] == document.version and document.version is not None:
            return cached[1]
        parsed = parse_spec(document.source)
        self._spec_cache[document.uri] = (document.version, parsed)
        return parsed

    def spec_links(self, parsed: SpecDocument) -> SpecLinks:
        """Which tasks implement which items; linked again only when the spec or a task's
        `spec` may have changed (linking slugs every task: too slow for every state change)."""
        key = (id(parsed), self.link_generation, id(self.snapshot))
        if self._links_cache is not None and self._links_cache[0] == key and self._links_cache[2] is parsed:
            return self._links_cache[1]
        links = link_tasks(parsed, ((t.id, t.spec) for t in self.snapshot.tasks.values()))
        self._links_cache = (key, links, parsed)
        return links

    def lenses_for(self, uri: str) -> list[lsp.CodeLens]:
        kind = self.classify(uri)
        if kind is None:
            return []
        if kind[0] == "spec":
            return self._spec_lenses(self.workspace.get_text_document(uri))
        return task_file_lenses(self.snapshot, kind[1], kind[2], running=self.running)

    def _spec_lenses(self, document: TextDocument) -> list[lsp.CodeLens]:
        """Rendered once per (document version, state generation): editors ask again and again."""
        if self.session is None and self.problem:
            where = lsp.Range(lsp.Position(0, 0), lsp.Position(0, 0))
            return [lsp.CodeLens(range=where, command=lsp.Command(title=f"oompa: {self.problem}", command=""))]
        key = (document.uri, document.version, self.generation, self.viewer)
        if document.version is not None and self._lens_cache is not None and self._lens_cache[0] == key:
            return self._lens_cache[1]
        parsed = self.spec_document(document)
        lenses = spec_lenses(self.snapshot, parsed, self.spec_links(parsed), viewer=self.viewer,
                             configured_workers=self.configured_workers())
        self._lens_cache = (key, lenses)
        return lenses

    def diagnostics_for(self, document: TextDocument) -> list[lsp.Diagnostic] | None:
        kind = self.classify(document.uri)
        if kind is None:
            return None
        if kind[0] == "spec":
            parsed = self.spec_document(document)
            found = spec_diagnostics(self.snapshot, parsed, self.spec_links(parsed))
        else:
            found = task_file_diagnostics(document.source, kind[1], kind[2], self.snapshot, running=self.running)
        return _in_client_units(document, found)

    def publish(self, document: TextDocument, *, only_if_changed: bool = False) -> None:
        found = self.diagnostics_for(document)
        if found is None:
            return
        seen = (document.version, tuple((d.range.start.line, d.range.start.character, d.range.end.line,
                                         d.range.end.character, d.severity, d.message) for d in found))
        if only_if_changed and self._published.get(document.uri) == seen:
            return  # a state change that does not show here: spare the editor 2,000 diagnostics
        self._published[document.uri] = seen
        self.text_document_publish_diagnostics(lsp.PublishDiagnosticsParams(
            uri=document.uri, diagnostics=found, version=document.version))

    def refresh(self) -> None:
        """State changed: re-send diagnostics of open documents and ask for fresh lenses."""
        self.generation += 1
        for document in list(self.workspace.text_documents.values()):
            self.publish(document, only_if_changed=True)
        self._publish_invalid_on_disk()
        self.refresh_lenses(only_if_shown=False)

    def refresh_lenses(self, only_if_shown: bool = True) -> bool:
        """Ask the editor for fresh code lenses, if it can be asked (and, `only_if_shown`, an
        open file shows some)."""
        if not _supports(self.client_capabilities, "workspace", "code_lens", "refresh_support"):
            return False
        if only_if_shown and not any(self.classify(uri) is not None for uri in self.workspace.text_documents):
            return False
        self.workspace_code_lens_refresh(None)
        return True

    def _publish_invalid_on_disk(self) -> None:
        """Task files the engine found invalid, when they are not open (open ones follow the buffer)."""
        invalid = {from_fs_path(path) for path in self.snapshot.invalid}
        open_uris = set(self.workspace.text_documents)
        for uri in (invalid | self._invalid_published) - open_uris:
            document = self.workspace.get_text_document(uri)
            try:
                found = self.diagnostics_for(document) if uri in invalid else []
            except OSError:
                found = []
            self.text_document_publish_diagnostics(lsp.PublishDiagnosticsParams(uri=uri, diagnostics=found or []))
        self._invalid_published = invalid - open_uris

    # -- talking to the user ----------------------------------------------------------------

    def show_message(self, level: str, message: str) -> None:
        kinds = {"error": lsp.MessageType.Error, "warning": lsp.MessageType.Warning}
        self.window_show_message(lsp.ShowMessageParams(type=kinds.get(level, lsp.MessageType.Info), message=message))

    def progress(self, phase: str, title: str, percentage: int | None) -> None:
        if not _supports(self.client_capabilities, "window", "work_done_progress"):
            return
        if phase == "begin":
            if self._progress_token is None:
                self._progress_token = f"oompa-swarm-{os.getpid()}-{id(self.snapshot)}-{self.snapshot.run_id}"
                asyncio.ensure_future(self._begin_progress(self._progress_token, title))
        elif phase == "report" and self._progress_token in self.work_done_progress.tokens:
            self.work_done_progress.report(self._progress_token, lsp.WorkDoneProgressReport(
                message=title, percentage=percentage))
        elif phase == "end" and self._progress_token is not None:
            token, self._progress_token = self._progress_token, None
            self.work_done_progress.end(token, lsp.WorkDoneProgressEnd(message=title))

    async def _begin_progress(self, token: str, title: str) -> None:
        try:
            await asyncio.wait_for(self.work_done_progress.create_async(token), 10)
        except Exception as exc:  # the client refused or never answered: no progress bar
            logger.warning("work-done progress was not created: %s", exc)
            return
        if self._progress_token == token:
            self.work_done_progress.begin(token, lsp.WorkDoneProgressBegin(
                title="oompa swarm", message=title, percentage=0, cancellable=True))
            self.work_done_progress.tokens[token].add_done_callback(self._progress_cancelled)

    def _progress_cancelled(self, future) -> None:
        if future.cancelled() and self.session is not None and self.session.mode == "host":
            self.session.swarm.stop("cancelled from the editor's progress bar")

    # -- ticking spec items -----------------------------------------------------------------

    def tick_edit(self, task_id: str) -> tuple[lsp.WorkspaceEdit, str] | None:
        """The edit that ticks the spec item `task_id` implements, or None if none to tick."""
        spec_path, _ = self.paths()
        if spec_path is None:
            return None
        uri = from_fs_path(str(spec_path))
        document = self.workspace.get_text_document(uri)
        try:
            parsed = self.spec_document(document)
        except OSError:
            return None
        index = self.spec_links(parsed).item_of_task.get(task_id)
        if index is None or parsed.items[index].checked:
            return None
        item = parsed.items[index]
        start = ServerTextPosition(item.line, item.box_character)
        where = document.range_to_client_units(ServerTextRange(start, ServerTextPosition(item.line, item.box_character + 1)))
        edit = lsp.TextDocumentEdit(text_document=lsp.OptionalVersionedTextDocumentIdentifier(uri=uri, version=document.version),
                                    edits=[lsp.TextEdit(range=where, new_text="x")])
        return lsp.WorkspaceEdit(document_changes=[edit]), item.text

    async def tick(self, task_id: str) -> bool:
        found = self.tick_edit(task_id)
        if found is None:
            return False
        edit, text = found
        result = await asyncio.wait_for(self.workspace_apply_edit_async(lsp.ApplyWorkspaceEditParams(
            edit=edit, label=f"oompa: tick “{text}”")), 30)
        return bool(result and result.applied)

    async def offer_tick(self, task_id: str) -> None:
        """A task merged: offer to tick its spec item (never written behind the user's back)."""
        if self.options.tickSpecItems == "never" or self.tick_edit(task_id) is None:
            return
        if self.options.tickSpecItems == "ask":
            tick = lsp.MessageActionItem(title="Tick it")
            answer = await self.window_show_message_request_async(lsp.ShowMessageRequestParams(
                type=lsp.MessageType.Info, message=f"oompa: {task_id} merged. Tick its item in spec.md?",
                actions=[tick, lsp.MessageActionItem(title="Not now")]))
            if answer is None or answer.title != tick.title:
                return
        await self.tick(task_id)


class EditorOutlet:
    """The Forwarder's way out to the editor (see forwarding.Outlet)."""

    def __init__(self, server: OompaServer) -> None:
        self.server = server

    def notify(self, method: str, params: dict[str, Any]) -> None:
        self.server.protocol.notify(method, params)

    def show_message(self, level: str, message: str) -> None:
        self.server.show_message(level, message)

    def refresh(self) -> None:
        self.server.refresh()

    def refresh_lenses(self) -> bool:
        return self.server.refresh_lenses()

    def progress(self, phase: str, title: str, percentage: int | None) -> None:
        self.server.progress(phase, title, percentage)

    def task_uri(self, task_id: str, state: str) -> str:
        return self.server.task_uri(task_id, state)

    def task_merged(self, task_id: str) -> None:
        asyncio.ensure_future(_logged(self.server.offer_tick(task_id), "offering to tick a spec item"))


async def _logged(coroutine, doing: str) -> None:
    try:
        await coroutine
    except Exception as exc:  # the editor declined or went away: nothing to undo
        logger.warning("%s failed: %s", doing, exc)


def _supports(capabilities: Any, *path: str) -> bool:
    node = capabilities
    for name in path:
        node = getattr(node, name, None)
        if node is None:
            return False
    return bool(node)


def _in_client_units(document: TextDocument, found: list[lsp.Diagnostic]) -> list[lsp.Diagnostic]:
    """Diagnostics are computed in code points; convert when the text is not plain ASCII."""
    if document.source.isascii():
        return found
    for diagnostic in found:
        server_range = ServerTextRange(ServerTextPosition(diagnostic.range.start.line, diagnostic.range.start.character),
                                       ServerTextPosition(diagnostic.range.end.line, diagnostic.range.end.character))
        diagnostic.range = document.range_to_client_units(server_range)
    return found


# -- handlers -------------------------------------------------------------------------------

def build_server() -> OompaServer:
    server = OompaServer()
    _register_lifecycle(server)
    _register_documents(server)
    _register_requests(server)
    _register_commands(server)
    return server


def _register_lifecycle(server: OompaServer) -> None:
    @server.feature(lsp.INITIALIZE)
    def initialize(ls: OompaServer, params: lsp.InitializeParams) -> None:
        ls.options = _options(params.initialization_options)
        root = ls.workspace.root_path or (to_fs_path(params.workspace_folders[0].uri) if params.workspace_folders else None)
        ls.root = Path(root).resolve() if root else None

    @server.feature(lsp.INITIALIZED)
    async def initialized(ls: OompaServer, params: lsp.InitializedParams) -> None:
        ls._loop, ls._loop_thread_id = asyncio.get_running_loop(), threading.get_ident()
        _handle_sigterm(ls)
        _register_content_provider(ls)
        try:
            await ls.open_session()
        finally:
            ls.ready.set()
        if ls.options.autoStart and ls.session is not None:
            await _start(ls)

    @server.feature(lsp.SHUTDOWN)
    async def shutdown(ls: OompaServer, params: None) -> None:
        ls.forwarder.close()
        if ls.session is not None:
            await ls.session.close()


def _options(raw: Any) -> Options:
    if not isinstance(raw, dict):
        return Options()
    try:
        return msgspec.convert({k: v for k, v in raw.items() if k in Options.__struct_fields__}, Options)
    except msgspec.ValidationError as exc:
        logger.warning("ignoring initializationOptions: %s", exc)
        return Options()


def _handle_sigterm(ls: OompaServer) -> None:
    """An editor that kills the server still gets agents stopped and claims returned."""
    def terminate() -> None:
        async def stop_then_exit() -> None:
            if ls.session is not None:
                await ls.session.close()
            logging.shutdown()
            os._exit(0)  # the stdin reader thread would block a normal exit
        asyncio.ensure_future(stop_then_exit())

    try:
        asyncio.get_running_loop().add_signal_handler(signal.SIGTERM, terminate)
    except (NotImplementedError, RuntimeError):  # not the main thread (tests, TCP helpers)
        pass


def _register_content_provider(ls: OompaServer) -> None:
    if not _supports(ls.client_capabilities, "workspace", "text_document_content", "dynamic_registration"):
        return
    ls.client_register_capability(lsp.RegistrationParams(registrations=[lsp.Registration(
        id=CONTENT_REGISTRATION_ID, method=lsp.WORKSPACE_TEXT_DOCUMENT_CONTENT,
        register_options=lsp.TextDocumentContentRegistrationOptions(schemes=[p.GIT_SCHEME]))]))


def _register_documents(server: OompaServer) -> None:
    @server.feature(lsp.TEXT_DOCUMENT_DID_OPEN)
    def did_open(ls: OompaServer, params: lsp.DidOpenTextDocumentParams) -> None:
        ls.publish(ls.workspace.get_text_document(params.text_document.uri))

    @server.feature(lsp.TEXT_DOCUMENT_DID_CHANGE)
    def did_change(ls: OompaServer, params: lsp.DidChangeTextDocumentParams) -> None:
        ls.publish(ls.workspace.get_text_document(params.text_document.uri))

    @server.feature(lsp.TEXT_DOCUMENT_DID_SAVE)
    async def did_save(ls: OompaServer, params: lsp.DidSaveTextDocumentParams) -> None:
        if params.text_document.uri == ls.config_uri():
            await ls.reopen_session()

    @server.feature(lsp.TEXT_DOCUMENT_DID_CLOSE)
    def did_close(ls: OompaServer, params: lsp.DidCloseTextDocumentParams) -> None:
        uri = params.text_document.uri
        ls._spec_cache.pop(uri, None)
        ls._published.pop(uri, None)
        if ls.classify(uri) is not None:
            ls.text_document_publish_diagnostics(lsp.PublishDiagnosticsParams(uri=uri, diagnostics=[]))

    @server.feature(lsp.TEXT_DOCUMENT_CODE_LENS)
    async def code_lens(ls: OompaServer, params: lsp.CodeLensParams) -> list[lsp.CodeLens]:
        await ls.until_ready()
        if ls.classify(params.text_document.uri) is not None:
            ls.forwarder.lenses_asked(params.text_document.uri)
        return ls.lenses_for(params.text_document.uri)

    @server.feature(lsp.TEXT_DOCUMENT_HOVER)
    async def hover(ls: OompaServer, params: lsp.HoverParams) -> lsp.Hover | None:
        await ls.until_ready()
        return _spec_hover(ls, params.text_document.uri, params.position.line)


def _spec_hover(ls: OompaServer, uri: str, line: int) -> lsp.Hover | None:
    kind = ls.classify(uri)
    if kind is None or kind[0] != "spec":
        return None
    parsed = ls.spec_document(ls.workspace.get_text_document(uri))
    item = parsed.item_at_line(line)
    if item is None:
        return None
    task_ids = ls.spec_links(parsed).by_item.get(item.index, [])
    files = {}
    if ls.session is not None:
        for task_id in task_ids:
            found = ls.session.swarm.store.get(task_id)
            files[task_id] = found[1] if found else None
    text = item_hover(ls.snapshot, item, task_ids, files)
    return lsp.Hover(contents=lsp.MarkupContent(kind=lsp.MarkupKind.Markdown, value=text),
                     range=lsp.Range(lsp.Position(item.line, 0), lsp.Position(item.line, item.line_length)))


def _register_requests(server: OompaServer) -> None:
    @server.feature(p.STATUS)
    async def status(ls: OompaServer, params: Any) -> dict[str, Any]:
        p.raise_if_bad(params)
        await ls.until_ready()
        snapshot = ls.snapshot
        fields = {name: getattr(snapshot, name) for name in snapshot.__struct_fields__}
        return p.to_payload(p.StatusResult(**fields, viewer=ls.viewer))

    @server.feature(p.DIFF)
    async def diff(ls: OompaServer, params: Any) -> dict[str, Any]:
        p.raise_if_bad(params)
        return await _diff(ls, params.review_id)

    @server.feature(p.FILE_CONTENT)
    async def file_content(ls: OompaServer, params: Any) -> dict[str, Any]:
        p.raise_if_bad(params)
        return {"content": await _content(ls, params.uri)}

    @server.feature(lsp.WORKSPACE_TEXT_DOCUMENT_CONTENT)
    async def text_document_content(ls: OompaServer, params: lsp.TextDocumentContentParams) -> lsp.TextDocumentContentResult:
        return lsp.TextDocumentContentResult(text=await _content(ls, params.uri))


async def _diff(ls: OompaServer, review_id: str) -> dict[str, Any]:
    session = await ls.require_session()
    try:
        found = await session.review_diff(review_id)
    except EngineRequestError as exc:
        raise JsonRpcInvalidParams(str(exc)) from None
    files = [p.DiffFile(path=f.path, status=_status_letter(f.status), base_uri=p.git_uri(getattr(f, "old_path", None) or f.path, found.base),
                        head_uri=p.git_uri(f.path, found.head), old_path=getattr(f, "old_path", None))
             for f in found.files]
    return p.to_payload(p.DiffResult(found.review_id, found.task_id, found.base, found.head, files))


def _status_letter(status: str) -> str:
    letter = status[:1].upper()
    return letter if letter in "AMDR" else "M"  # copies and type changes read as modifications


async def _content(ls: OompaServer, uri: str) -> str:
    path, ref = p.parse_git_uri(uri)
    session = await ls.require_session()
    data = await anyio.to_thread.run_sync(session.swarm.repo.file_at, ref, path)
    return (data or b"").decode("utf-8", errors="replace")


def _register_commands(server: OompaServer) -> None:
    @server.command(p.START_SWARM)
    async def start_swarm(ls: OompaServer, *args: Any) -> dict[str, Any]:
        p.command_arguments(p.START_SWARM, args)
        return await _start(ls)

    @server.command(p.STOP_SWARM)
    async def stop_swarm(ls: OompaServer, *args: Any) -> dict[str, Any]:
        p.command_arguments(p.STOP_SWARM, args)
        return _done(ls, await (await ls.require_session()).stop())

    @server.command(p.APPROVE)
    async def approve(ls: OompaServer, *args: Any) -> dict[str, Any]:
        (review_id,) = p.command_arguments(p.APPROVE, args)
        return _done(ls, await _engine((await ls.require_session()).approve(review_id)))

    @server.command(p.REJECT)
    async def reject(ls: OompaServer, *args: Any) -> dict[str, Any]:
        values = p.command_arguments(p.REJECT, args)
        feedback = values[1] if len(values) > 1 else DEFAULT_REJECT_FEEDBACK
        return _done(ls, await _engine((await ls.require_session()).reject(values[0], feedback)))

    @server.command(p.REQUEUE)
    async def requeue(ls: OompaServer, *args: Any) -> dict[str, Any]:
        (task_id,) = p.command_arguments(p.REQUEUE, args)
        return _done(ls, await _engine((await ls.require_session()).requeue(task_id)))

    @server.command(p.CANCEL_TASK)
    async def cancel_task(ls: OompaServer, *args: Any) -> dict[str, Any]:
        (task_id,) = p.command_arguments(p.CANCEL_TASK, args)
        return _done(ls, await _engine((await ls.require_session()).cancel_task(task_id)))

    @server.command(p.RESUME_QUEUE)
    async def resume_queue(ls: OompaServer, *args: Any) -> dict[str, Any]:
        p.command_arguments(p.RESUME_QUEUE, args)
        return _done(ls, await _engine((await ls.require_session()).resume_queue()))

    @server.command(p.OPEN_DIFF)
    async def open_diff(ls: OompaServer, *args: Any) -> dict[str, Any]:
        (review_id,) = p.command_arguments(p.OPEN_DIFF, args)
        return await _diff(ls, review_id)

    @server.command(p.TICK_ITEM)
    async def tick_item(ls: OompaServer, *args: Any) -> dict[str, Any]:
        (task_id,) = p.command_arguments(p.TICK_ITEM, args)
        if ls.tick_edit(task_id) is None:
            raise JsonRpcInvalidParams(f"task {task_id!r} links to no unticked item of the spec")
        applied = await ls.tick(task_id)
        return _done(ls, "ticked" if applied else "the editor did not apply the edit", ok=applied)


async def _start(ls: OompaServer) -> dict[str, Any]:
    session = await ls.require_session()
    try:
        message = await session.start()
    except OompaError as exc:
        ls.show_message("error", f"oompa: the swarm could not start: {exc}")
        raise RequestFailed(str(exc)) from None
    ls.forwarder.swarm_state(urgent=True)
    ls.forwarder.schedule_refresh()
    return _done(ls, message)


async def _engine(request) -> str:
    """Await a session request, turning the engine's refusals into Invalid Params."""
    try:
        return await request
    except EngineRequestError as exc:
        raise JsonRpcInvalidParams(str(exc)) from None
    except OompaError as exc:
        raise RequestFailed(str(exc)) from None


def _done(ls: OompaServer, message: str, ok: bool = True) -> dict[str, Any]:
    return p.to_payload(p.CommandResult(ok=ok, message=message, viewer=ls.viewer))


# -- entry point ----------------------------------------------------------------------------

def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="oompa-lsp", description="The oompa swarm as a language server (stdio by default).")
    parser.add_argument("--tcp", action="store_true", help="listen on TCP instead of stdio")
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=2087)
    parser.add_argument("--log-level", default=os.environ.get("OOMPA_LSP_LOG", "WARNING"),
                        help="stderr log level (default WARNING; stdout is the JSON-RPC stream)")
    args = parser.parse_args(argv)
    logging.basicConfig(stream=sys.stderr, level=args.log_level.upper(),
                        format="oompa-lsp %(levelname)s %(name)s: %(message)s")
    server = build_server()
    if args.tcp or "--port" in (argv if argv is not None else sys.argv[1:]):
        server.start_tcp(args.host, args.port)
    else:
        server.start_io(stdout=WholeWrites(sys.stdout.fileno()))
    return 0


class WholeWrites:
    """stdout for the JSON-RPC stream, writing every message whole.

    A message of hundreds of kilobytes (2,000 diagnostics) was once seen cut at a pipe-buffer
    boundary with the rest dropped, which desynchronises the client for good. Writing with
    os.write until every byte is out, waiting when the pipe is full (even if the descriptor
    was made non-blocking), rules that out."""

    def __init__(self, fd: int) -> None:
        self.fd = fd
        self._lock = threading.Lock()

    def write(self, data: bytes) -> int:
        view = memoryview(data)
        with self._lock:
            while view:
                try:
                    view = view[os.write(self.fd, view):]
                except BlockingIOError:
                    select.select([], [self.fd], [], 1.0)
        return len(data)

    def flush(self) -> None:
        pass

    def close(self) -> None:
        os.close(self.fd)


if __name__ == "__main__":
    sys.exit(main())
