"""`EditorOutlet`: the Forwarder's way out to the editor (see forwarding.Outlet).

It turns what the Forwarder wants sent into calls on the `OompaServer`: notifications through
its protocol, messages, the refresh of lenses and diagnostics, the swarm's progress bar, task
URIs, and the offer to tick a merged task's spec.md item (in the background, a failure only
logged). It holds no state of its own beyond the server.

Must not import: oompa_lsp.engine, oompa_lsp.adapters, oompa_lsp.cli (the server only for
type checkers).
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable
from typing import TYPE_CHECKING, Any

from .background import in_background
from .ticking import offer_tick

if TYPE_CHECKING:
    from .server import OompaServer

logger = logging.getLogger(__name__)


class EditorOutlet:
    """The Forwarder's way out to the editor (see forwarding.Outlet)."""

    def __init__(self, server: OompaServer) -> None:
        self.server = server

    def notify(self, method: str, params: dict[str, Any]) -> None:
        self.server.protocol.notify(method, params)

    def show_message(self, level: str, message: str) -> None:
        self.server.show_message(level, message)

    def refresh(self) -> None:
        self.server.rendering.refresh()
        self.server.finding_marks.sync()

    def refresh_lenses(self) -> bool:
        return self.server.rendering.refresh_lenses()

    def progress(self, phase: str, title: str, percentage: int | None) -> None:
        self.server.swarm_progress.update(phase, title, percentage)

    def task_uri(self, task_id: str, state: str) -> str:
        return self.server.task_uri(task_id, state)

    def task_merged(self, task_id: str) -> None:
        in_background(_logged(offer_tick(self.server, task_id), "offering to tick a spec item"))


async def _logged(coroutine: Awaitable[object], doing: str) -> None:
    try:
        await coroutine
    except Exception as exc:  # noqa: BLE001 -- the editor declined or went away: nothing to undo, only a log line
        logger.warning("%s failed: %s", doing, exc)
