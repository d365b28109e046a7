"""The swarm's work-done progress bar in the editor: begun when a swarm starts, reported
as tasks land, ended when it stops; cancelling it stops a hosted swarm.

Must not import: oompa_lsp.cli.
"""

from __future__ import annotations

import asyncio
import logging
import os
from concurrent.futures import Future
from typing import TYPE_CHECKING, Any

from lsprotocol import types as lsp

from .background import in_background

if TYPE_CHECKING:
    from .server import OompaServer

logger = logging.getLogger(__name__)


class SwarmProgress:
    """One progress token at a time, created only if the client supports work-done progress."""

    def __init__(self, server: OompaServer) -> None:
        self.server = server
        self._token: str | None = None
        self._begun: str | None = None  # the token whose `begin` went out: reports only after it

    def update(self, phase: str, title: str, percentage: int | None) -> None:
        ls = self.server
        if not ls.client_supports("window", "work_done_progress"):
            return
        if phase == "begin":
            if self._token is None:
                self._token = f"oompa-swarm-{os.getpid()}-{id(ls.snapshot)}-{ls.snapshot.run_id}"
                in_background(self._begin(self._token, title))
        elif phase == "report" and self._token is not None and self._token == self._begun:
            ls.work_done_progress.report(self._token, lsp.WorkDoneProgressReport(message=title, percentage=percentage))
        elif phase == "end" and self._token is not None:
            token, self._token = self._token, None
            ls.work_done_progress.end(token, lsp.WorkDoneProgressEnd(message=title))

    async def _begin(self, token: str, title: str) -> None:
        progress = self.server.work_done_progress
        try:
            await asyncio.wait_for(progress.create_async(token), 10)
        except Exception as exc:  # noqa: BLE001 -- the client refused or never answered: no progress bar, only a log line
            logger.warning("work-done progress was not created: %s", exc)
            return
        if self._token == token:
            progress.begin(
                token, lsp.WorkDoneProgressBegin(title="oompa swarm", message=title, percentage=0, cancellable=True)
            )
            # pygls knows the token from the create on, before the client answered it: a report
            # sent in that gap would reach the client before its `begin`
            self._begun = token
            progress.tokens[token].add_done_callback(self._cancelled)

    def _cancelled(self, future: Future[Any]) -> None:  # pygls's progress tokens are concurrent Futures
        session = self.server.session
        if future.cancelled() and session is not None and session.mode == "host":
            session.swarm.stop("cancelled from the editor's progress bar")
