"""The server's lifecycle handlers: `initialize` reads the options and the workspace root,
`initialized` opens the session (viewer or last run) and, with
`initializationOptions.autoStart`, starts the swarm; `shutdown` stops it (agents killed,
claims returned) before answering, and SIGTERM does the same before the process exits.

Must not import: oompa_lsp.engine, oompa_lsp.adapters, oompa_lsp.cli (the session does the work).
"""

from __future__ import annotations

import asyncio
import logging
import os
import signal
import threading
from pathlib import Path
from typing import Any

import msgspec
from lsprotocol import types as lsp
from pygls.uris import to_fs_path

from . import protocol as p
from .background import in_background
from .handlers_commands import start_swarm
from .server import OompaServer

logger = logging.getLogger(__name__)

CONTENT_REGISTRATION_ID = "oompa-git-content"


def read_options(raw: Any) -> p.Options:
    """The options oompa knows, from whatever the editor sent (bad ones are ignored, logged)."""
    if not isinstance(raw, dict):
        return p.Options()
    try:
        return msgspec.convert({k: v for k, v in raw.items() if k in p.Options.__struct_fields__}, p.Options)
    except msgspec.ValidationError as exc:
        logger.warning("ignoring initializationOptions: %s", exc)
        return p.Options()


def workspace_root(ls: OompaServer, params: lsp.InitializeParams) -> Path | None:
    root = ls.workspace.root_path or (to_fs_path(params.workspace_folders[0].uri) if params.workspace_folders else None)
    return Path(root).resolve() if root else None


def register(server: OompaServer) -> None:
    @server.feature(lsp.INITIALIZE)
    def initialize(ls: OompaServer, params: lsp.InitializeParams) -> None:
        ls.options = read_options(params.initialization_options)
        ls.root = workspace_root(ls, params)

    @server.feature(lsp.INITIALIZED)
    async def initialized(ls: OompaServer, params: lsp.InitializedParams) -> None:
        ls.bind_loop(asyncio.get_running_loop(), threading.get_ident())
        _stop_on_sigterm(ls)
        _register_content_provider(ls)
        try:
            await ls.open_session()
        finally:
            ls.ready.set()
        if ls.options.autoStart and ls.session is not None:
            await start_swarm(ls)

    @server.feature(lsp.SHUTDOWN)
    async def shutdown(ls: OompaServer, params: None) -> None:
        ls.forwarder.close()
        if ls.session is not None:
            await ls.session.close()


def _stop_on_sigterm(ls: OompaServer) -> None:
    """An editor that kills the server still gets agents stopped and claims returned."""

    def terminate() -> None:
        async def stop_then_exit() -> None:
            if ls.session is not None:
                await ls.session.close()
            logging.shutdown()
            os._exit(0)  # the stdin reader thread would block a normal exit

        in_background(stop_then_exit())

    try:
        asyncio.get_running_loop().add_signal_handler(signal.SIGTERM, terminate)
    except (NotImplementedError, RuntimeError) as exc:  # not the main thread (tests, TCP helpers)
        logger.info("SIGTERM not handled here (%s): a killed server leaves claims to the next start", exc)


def _register_content_provider(ls: OompaServer) -> None:
    """`workspace/textDocumentContent` for oompa-git: URIs, registered dynamically (pygls does
    not advertise it statically)."""
    if not ls.client_supports("workspace", "text_document_content", "dynamic_registration"):
        return
    ls.client_register_capability(
        lsp.RegistrationParams(
            registrations=[
                lsp.Registration(
                    id=CONTENT_REGISTRATION_ID,
                    method=lsp.WORKSPACE_TEXT_DOCUMENT_CONTENT,
                    register_options=lsp.TextDocumentContentRegistrationOptions(schemes=[p.GIT_SCHEME]),
                )
            ]
        )
    )
