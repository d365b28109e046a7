"""Coroutines the server starts without awaiting them (a progress bar, an offer to tick a
spec item, the stop on SIGTERM). The event loop keeps only weak references to tasks, so one
nobody holds may be collected before it is done; as asyncio's docs advise, each is held here
until it ends.

Must not import: oompa_lsp.engine, oompa_lsp.cli.
"""

from __future__ import annotations

import asyncio
from collections.abc import Coroutine
from typing import Any

_running: set[asyncio.Future[Any]] = set()


def in_background(coroutine: Coroutine[Any, Any, None]) -> asyncio.Future[None]:
    """Schedule `coroutine` on the running loop and hold it until it is done."""
    task = asyncio.ensure_future(coroutine)
    _running.add(task)
    task.add_done_callback(_running.discard)
    return task
