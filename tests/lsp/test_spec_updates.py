"""spec.md in the editor while a swarm runs: when a task changes state only its item's lens
changes, and an edit of spec.md shows in the very next code lens answer and diagnostics (the
server keeps spec.md's rendering item by item, lsp/spec_view.py)."""

from __future__ import annotations

import pytest
from lsprotocol import types as lsp

from lsp_helpers import agent_config, code_lenses, make_repo, open_document, start_client

pytestmark = pytest.mark.slow

SPEC = """# Notes
- [ ] Write the first note {#note-a}
- [ ] Write the second note {#note-b}
- [ ] Write the third note {#note-c}
"""
TASKS = {
    "note-a": {"summary": "Write notes/note-a.md", "spec": "note-a", "priority": 3},
    "note-b": {"summary": "Write notes/note-b.md", "spec": "note-b", "priority": 1},
    "note-c": {"summary": "Write notes/note-c.md", "spec": "note-c", "priority": 1},
}
# note-a is claimed first and its agent thinks for a long while; the others wait their turn
SLOW = {"roles": {"*": {"note-a": [{"sleep": 60, "final": "COMPLETE_AND_READY_FOR_MERGE"}],
                        "*": [{"final": "__DONE__"}]}}}


def items_of(lenses: list[tuple]) -> dict[int, list[str]]:
    """The lenses below the first line (the swarm's), by line."""
    out: dict[int, list[str]] = {}
    for line, title, _, _ in lenses:
        if line > 0:
            out.setdefault(line, []).append(title)
    return out


async def test_a_task_changing_state_changes_only_its_item_and_edits_show_at_once(tmp_path, marker, clients):
    repo = make_repo(tmp_path / "repo", spec=SPEC, tasks=TASKS, config=agent_config(marker, tmp_path, SLOW))
    client = await start_client(repo)
    clients.append(client)
    uri = open_document(client, repo / "spec.md")
    before = items_of(await code_lenses(client, uri))
    assert before == {1: ["○ note-a: pending"], 2: ["○ note-b: pending"], 3: ["○ note-c: pending"]}

    await client.command("oompa.startSwarm")
    await client.wait_for_oompa("oompa/taskUpdated", lambda t: t["id"] == "note-a" and t["state"] == "current")
    running = items_of(await code_lenses(client, uri))
    assert running == {**before, 1: ["● note-a: running · w1", "Cancel"]}

    # the user inserts an item above the others and renames the third one: the next answer has
    # every lens on its new line, the new item unlinked, the renamed one no longer linked
    edited = SPEC.replace("# Notes\n", "# Notes\n- [ ] Write an index of the notes\n").replace(
        "{#note-c}", "{#note-z}")
    client.text_document_did_change(lsp.DidChangeTextDocumentParams(
        text_document=lsp.VersionedTextDocumentIdentifier(uri=uri, version=2),
        content_changes=[lsp.TextDocumentContentChangeWholeDocument(text=edited)]))
    after = items_of(await code_lenses(client, uri))
    assert after == {2: ["● note-a: running · w1", "Cancel"], 3: ["○ note-b: pending"]}
    diagnostics = await client.wait_until(
        lambda: [d for d in client.diagnostics.get(uri, []) if d.range.start.line == 1], "diagnostics of version 2")
    assert [d.message for d in diagnostics] == ["no task implements this item yet"]
    status = {d.range.start.line: d.message for d in client.diagnostics[uri]}
    assert status[2] == "note-a: running · w1" and status[4] == "no task implements this item yet"
