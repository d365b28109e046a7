"""The `oompa/report` request: a run's report (timeline and tables) as one HTML page, for a
client to show (the VS Code extension opens it in a webview).

The report package imports matplotlib, so it is imported here only when a report is asked
for: the server's start does not pay for it. The page is built in a worker thread (reading
the event log and drawing take a moment on a long run).
Must not import at module level: oompa_lsp.report, oompa_lsp.engine, oompa_lsp.adapters.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import anyio
from pygls.exceptions import JsonRpcInvalidParams

from oompa_lsp.core.errors import RunNotFound

from . import protocol as p
from .server import OompaServer


def register(server: OompaServer) -> None:
    @server.feature(p.REPORT)
    async def report(ls: OompaServer, params: Any) -> dict[str, Any]:
        p.raise_if_bad(params)
        await ls.until_ready()
        oompa_dir = _oompa_dir(ls)
        try:
            files, html = await anyio.to_thread.run_sync(_page, oompa_dir, params.run_id)
        except RunNotFound as exc:
            if params.run_id:
                raise JsonRpcInvalidParams(str(exc)) from None
            raise p.RequestFailed(str(exc)) from None
        return p.to_payload(p.ReportResult(files.run_id, html, files.html_path))


def _oompa_dir(ls: OompaServer) -> Path:
    if ls.session is not None:
        return ls.session.swarm.oompa_dir
    if ls.root is None:
        raise p.RequestFailed("no workspace folder is open: there is no run to report")
    return ls.root / ".oompa"


def _page(oompa_dir: Path, run_id: str | None) -> tuple[Any, str]:
    from oompa_lsp.report import report_page

    return report_page(oompa_dir, run_id)
