"""Ticking the spec.md item a merged task implements: the edit (a pure function of the
document and the item), applying it through the editor, and offering it when a task merges
(`initializationOptions.tickSpecItems`: ask, always or never). The spec is never written
behind the user's back: the editor applies the edit to its buffer.

Must not import: oompa_lsp.engine, oompa_lsp.adapters, oompa_lsp.cli.
"""

from __future__ import annotations

import asyncio
from typing import TYPE_CHECKING

from lsprotocol import types as lsp
from pygls.uris import from_fs_path
from pygls.workspace import TextDocument
from pygls.workspace.position_codec import ServerTextPosition, ServerTextRange

from oompa_lsp.core.spec import SpecItem

if TYPE_CHECKING:
    from .server import OompaServer

TICK_ACTION = "Tick it"


def box_edit(document: TextDocument, item: SpecItem) -> lsp.WorkspaceEdit:
    """The edit that puts an `x` in the item's check box, in the client's position units."""
    start = ServerTextPosition(item.line, item.box_character)
    where = document.range_to_client_units(
        ServerTextRange(start, ServerTextPosition(item.line, item.box_character + 1))
    )
    edit = lsp.TextDocumentEdit(
        text_document=lsp.OptionalVersionedTextDocumentIdentifier(uri=document.uri, version=document.version),
        edits=[lsp.TextEdit(range=where, new_text="x")],
    )
    return lsp.WorkspaceEdit(document_changes=[edit])


def tick_edit(ls: OompaServer, task_id: str) -> tuple[lsp.WorkspaceEdit, str] | None:
    """The edit that ticks the spec item `task_id` implements, or None if none to tick."""
    spec_path, _ = ls.paths()
    if spec_path is None:
        return None
    document = ls.workspace.get_text_document(from_fs_path(str(spec_path)))
    try:
        view = ls.rendering.spec_view(document)
    except OSError:
        return None
    parsed = view.parsed
    index = view.links(ls.snapshot).item_of_task.get(task_id)
    if index is None or parsed.items[index].checked:
        return None
    item = parsed.items[index]
    return box_edit(document, item), item.text


async def tick(ls: OompaServer, task_id: str) -> bool:
    found = tick_edit(ls, task_id)
    if found is None:
        return False
    edit, text = found
    result = await asyncio.wait_for(
        ls.workspace_apply_edit_async(lsp.ApplyWorkspaceEditParams(edit=edit, label=f"oompa: tick “{text}”")), 30
    )
    return bool(result and result.applied)


async def offer_tick(ls: OompaServer, task_id: str) -> None:
    """A task merged: offer to tick its spec item (never written behind the user's back)."""
    if ls.options.tickSpecItems == "never" or tick_edit(ls, task_id) is None:
        return
    if ls.options.tickSpecItems == "ask":
        answer = await ls.window_show_message_request_async(
            lsp.ShowMessageRequestParams(
                type=lsp.MessageType.Info,
                message=f"oompa: {task_id} merged. Tick its item in spec.md?",
                actions=[lsp.MessageActionItem(title=TICK_ACTION), lsp.MessageActionItem(title="Not now")],
            )
        )
        if answer is None or answer.title != TICK_ACTION:
            return
    await tick(ls, task_id)
