"""`oompa-lsp`: the pygls language server that shows a swarm in any editor (DESIGN §7).

It translates; the engine decides. `OompaServer` holds the state: one `Session` (hosting the
swarm on this event loop, following another process's, or showing the last run), the
workspace root and options, the `Renderer` that turns the session's Snapshot into code
lenses, diagnostics and hovers on spec.md and the task files, the `Forwarder` that turns
engine events into notifications (through outlet.py's `EditorOutlet`), and the swarm's
progress bar. Documents come from the editor's buffers (pygls's workspace), so diagnostics
follow the user's typing.

The handlers are registered by `build_server` from modules of their own, by concern:
lifecycle.py (initialize, initialized, shutdown, SIGTERM), handlers_documents.py (document
sync, lenses, hovers), handlers_requests.py (custom requests) and handlers_commands.py
(commands). They import this module; it imports them only when the server is built.
Logging goes to stderr at WARNING (stdout is JSON-RPC).

Must not import: oompa_lsp.cli. Only builtins (or lsprotocol types) are handed to pygls.
"""

from __future__ import annotations

import argparse
import asyncio
import logging
import os
import sys
import threading
from pathlib import Path
from typing import TYPE_CHECKING

import anyio
from lsprotocol import types as lsp
from pygls.exceptions import JsonRpcException
from pygls.lsp.server import LanguageServer
from pygls.uris import from_fs_path, to_fs_path

from oompa_lsp.adapters.config_file import CONFIG_NAME
from oompa_lsp.core.errors import OompaError
from oompa_lsp.core.events import Event
from oompa_lsp.core.snapshot import Snapshot
from oompa_lsp.core.tasks import TASK_STATES
from oompa_lsp.engine.swarm import Swarm

from . import protocol as p, wire
from .finding_marks import FindingMarks
from .forwarding import Forwarder
from .outlet import EditorOutlet
from .progress import SwarmProgress
from .rendering import Renderer
from .session import Session
from .whole_writes import WholeWrites

if TYPE_CHECKING:
    from pygls.server import ServerErrors  # defined for type checkers only

logger = logging.getLogger(__name__)

VERSION = "0.1.0"
READY_WAIT_S = 15.0


class OompaServer(LanguageServer):
    def __init__(self) -> None:
        super().__init__(
            "oompa-lsp",
            VERSION,
            protocol_cls=p.OompaProtocol,
            text_document_sync_kind=lsp.TextDocumentSyncKind.Incremental,
            converter_factory=wire.converter,  # answers built once pass through as they are
        )
        self.session: Session | None = None
        self.problem = ""  # why there is no session (e.g. oompa.json is invalid)
        self.root: Path | None = None
        self.options = p.Options()
        self.rendering = Renderer(self)
        self.finding_marks = FindingMarks(self)
        self.swarm_progress = SwarmProgress(self)
        self.forwarder = Forwarder(EditorOutlet(self), lambda: self.snapshot, lambda: self.viewer)
        self.ready = asyncio.Event()
        self._loop: asyncio.AbstractEventLoop | None = None
        self._loop_thread_id = 0
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

    def client_supports(self, *path: str) -> bool:
        """Whether the client's capabilities have `path` (e.g. "workspace", "code_lens", ...) set."""
        node: object = self.client_capabilities
        for name in path:
            node = getattr(node, name, None)
            if node is None:
                return False
        return bool(node)

    async def until_ready(self) -> None:
        """Requests that render state wait for `initialized` to have opened the session, so a
        fast client never sees an empty swarm (bounded: a stuck start still gets an answer)."""
        try:
            await asyncio.wait_for(self.ready.wait(), READY_WAIT_S)
        except TimeoutError:
            logger.warning("answering before the session is ready")

    async def require_session(self) -> Session:
        await self.until_ready()
        if self.session is None:
            raise p.RequestFailed(f"oompa is not available here: {self.problem or 'still starting'}")
        return self.session

    # -- the workspace's files --------------------------------------------------------------

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
        if (
            tasks_dir is not None
            and path.suffix == ".json"
            and path.parent.parent == tasks_dir
            and path.parent.name in TASK_STATES
        ):
            return "task", path.stem, path.parent.name
        return None

    def task_uri(self, task_id: str, state: str) -> str:
        _, tasks_dir = self.paths()
        return from_fs_path(str(tasks_dir / state / f"{task_id}.json")) if tasks_dir else ""

    def config_uri(self) -> str:
        return from_fs_path(str(self.root / CONFIG_NAME)) if self.root else ""

    # -- session ----------------------------------------------------------------------------

    def bind_loop(self, loop: asyncio.AbstractEventLoop, thread_id: int) -> None:
        """The loop (and its thread) notifications must be sent from."""
        self._loop, self._loop_thread_id = loop, thread_id

    async def open_session(self) -> None:
        if self.root is None:
            self.problem = "no workspace folder: open the repository's folder"
            return
        try:
            swarm = await anyio.to_thread.run_sync(Swarm.open, self.root)
        except OompaError as exc:
            self.problem = str(exc)
            self.show_message("error", f"oompa: {exc}")
            self.rendering.publish_config_problem(exc)
            return
        self.problem = ""
        self.rendering.publish_config_problem(None, swarm.loaded.warnings)
        self.session = Session(swarm)
        self.session.subscribe(self.on_engine_event)
        self.session.on_mode_change = self.on_mode_change
        await self.session.attach()
        self.forwarder.swarm_state(urgent=True)
        self.rendering.refresh()

    async def reopen_session(self) -> None:
        """oompa.json was saved: load it again unless a swarm is running or being followed."""
        if self.session is not None:
            if self.session.mode != "idle":
                return
            await self.session.close()
            self.session = None
        await self.open_session()
        self.rendering.state_changed()
        self.rendering.refresh()

    def on_engine_event(self, event: Event) -> None:
        if self._loop is not None and threading.get_ident() != self._loop_thread_id:
            self._loop.call_soon_threadsafe(self.on_engine_event, event)  # notify only from the loop
            return
        self.rendering.event_applied(event)
        self.forwarder.on_event(event)

    def on_mode_change(self) -> None:
        """Attached as a viewer, or back to idle: what the editor shows changed wholesale."""
        self.rendering.state_changed()
        if self.ready.is_set():
            self.forwarder.swarm_state(urgent=True)
            self.forwarder.schedule_refresh()

    # -- talking to the user ----------------------------------------------------------------

    def show_message(self, level: str, message: str) -> None:
        kinds = {"error": lsp.MessageType.Error, "warning": lsp.MessageType.Warning}
        self.window_show_message(lsp.ShowMessageParams(type=kinds.get(level, lsp.MessageType.Info), message=message))

    def report_server_error(self, error: Exception, source: ServerErrors) -> None:
        if isinstance(error, JsonRpcException):
            # A refusal the client is told about (bad params, nothing to approve): not a server fault.
            logger.info("request refused: %s", error)
        else:
            logger.error("%s", error, exc_info=error)  # pygls would only show it to the user
        super().report_server_error(error, source)


def build_server() -> OompaServer:
    """The server with every handler registered (the handler modules import OompaServer)."""
    from . import handlers_commands, handlers_documents, handlers_report, handlers_requests, lifecycle

    server = OompaServer()
    lifecycle.register(server)
    handlers_documents.register(server)
    handlers_requests.register(server)
    handlers_report.register(server)
    handlers_commands.register(server)
    return server


# -- entry point ----------------------------------------------------------------------------


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="oompa-lsp", description="The oompa swarm as a language server (stdio by default)."
    )
    parser.add_argument("--tcp", action="store_true", help="listen on TCP instead of stdio")
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=2087)
    parser.add_argument(
        "--log-level",
        default=os.environ.get("OOMPA_LSP_LOG", "WARNING"),
        help="stderr log level (default WARNING; stdout is the JSON-RPC stream)",
    )
    args = parser.parse_args(argv)
    logging.basicConfig(
        stream=sys.stderr, level=args.log_level.upper(), format="oompa-lsp %(levelname)s %(name)s: %(message)s"
    )
    server = build_server()
    if args.tcp or "--port" in (argv if argv is not None else sys.argv[1:]):
        server.start_tcp(args.host, args.port)
    else:
        # WholeWrites has the two methods pygls calls (write, flush), not all of BinaryIO, which
        # pygls's annotation asks for: the type is too wide, not our wrapper wrong.
        server.start_io(stdout=WholeWrites(sys.stdout.fileno()))  # type: ignore[arg-type]
    return 0


if __name__ == "__main__":
    sys.exit(main())
