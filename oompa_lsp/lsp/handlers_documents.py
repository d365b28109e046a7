"""Handlers for the editor's documents: open, change, save and close (diagnostics follow the
buffer; saving oompa.json reloads it), code lenses and hovers on spec.md and the task files.
They only route; `Renderer` (rendering.py) and the pure functions of hover.py render.

Must not import: oompa_lsp.engine, oompa_lsp.adapters, oompa_lsp.cli.
"""

from __future__ import annotations

from typing import Any

from lsprotocol import types as lsp

from .hover import item_hover, lsp_hover
from .server import OompaServer


def register(server: OompaServer) -> None:
    @server.feature(lsp.TEXT_DOCUMENT_DID_OPEN)
    def did_open(ls: OompaServer, params: lsp.DidOpenTextDocumentParams) -> None:
        ls.rendering.publish(ls.workspace.get_text_document(params.text_document.uri))

    @server.feature(lsp.TEXT_DOCUMENT_DID_CHANGE)
    def did_change(ls: OompaServer, params: lsp.DidChangeTextDocumentParams) -> None:
        ls.rendering.publish(ls.workspace.get_text_document(params.text_document.uri))

    @server.feature(lsp.TEXT_DOCUMENT_DID_SAVE)
    async def did_save(ls: OompaServer, params: lsp.DidSaveTextDocumentParams) -> None:
        if params.text_document.uri == ls.config_uri():
            await ls.reopen_session()

    @server.feature(lsp.TEXT_DOCUMENT_DID_CLOSE)
    def did_close(ls: OompaServer, params: lsp.DidCloseTextDocumentParams) -> None:
        ls.rendering.forget(params.text_document.uri)
        ls.rendering.clear(params.text_document.uri)

    @server.feature(lsp.TEXT_DOCUMENT_CODE_LENS)
    async def code_lens(ls: OompaServer, params: lsp.CodeLensParams) -> list[Any]:
        # lsp.CodeLens objects, or for spec.md the same already in wire form (wire.Prebuilt)
        await ls.until_ready()
        if ls.classify(params.text_document.uri) is not None:
            ls.forwarder.lenses_asked(params.text_document.uri)
        return ls.rendering.lenses_for(params.text_document.uri)

    @server.feature(lsp.TEXT_DOCUMENT_HOVER)
    async def hover(ls: OompaServer, params: lsp.HoverParams) -> lsp.Hover | None:
        await ls.until_ready()
        return spec_hover(ls, params.text_document.uri, params.position.line)


def spec_hover(ls: OompaServer, uri: str, line: int) -> lsp.Hover | None:
    """The hover of the spec.md item at `line`: its tasks, their state and their files."""
    kind = ls.classify(uri)
    if kind is None or kind[0] != "spec":
        return None
    view = ls.rendering.spec_view(ls.workspace.get_text_document(uri))
    item = view.parsed.item_at_line(line)
    if item is None:
        return None
    task_ids = view.links(ls.snapshot).by_item.get(item.index, [])
    files = {}
    if ls.session is not None:
        for task_id in task_ids:
            found = ls.session.swarm.store.get(task_id)
            files[task_id] = found[1] if found else None
    return lsp_hover(item_hover(ls.snapshot, item, task_ids, files), item)
