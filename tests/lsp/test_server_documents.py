"""oompa-lsp as a real client sees it, before any swarm runs: spec.md lenses and hovers,
task-file diagnostics from the editor's buffer as the user types, the status request, and
JSON-RPC errors that name the problem."""

from __future__ import annotations

import asyncio
import json

import pytest
from lsprotocol import types as lsp
from pygls.exceptions import JsonRpcException

from lsp_helpers import WAIT_S, agent_config, code_lenses, git, make_repo, open_document, start_client

SPEC = """# Calculator
- [ ] Subtraction {#add-subtract}
- [ ] Multiplication
- [ ] Division
"""
TASKS = {
    "add-subtract": {"summary": "Add subtract()", "spec": "add-subtract"},
    "add-multiply": {"summary": "Add multiply()", "spec": "Multiplication"},
}


@pytest.fixture
def repo(tmp_path, marker):
    return make_repo(tmp_path / "repo", spec=SPEC, tasks=TASKS, config=agent_config(marker, tmp_path))


async def test_spec_md_shows_summary_start_and_linked_items(repo, clients):
    client = await start_client(repo)
    clients.append(client)
    uri = open_document(client, repo / "spec.md")
    lenses = await code_lenses(client, uri)
    assert lenses[0] == (0, "oompa: not started · 1 workers · 2 pending · 0 running · 0 in review · 0 merged", "", None)
    assert lenses[1][1:3] == ("▶ Start swarm", "oompa.startSwarm")
    assert (1, "○ add-subtract: pending", "", None) in lenses
    assert (2, "○ add-multiply: pending", "", None) in lenses
    diagnostics = await client.wait_until(lambda: client.diagnostics.get(uri), "spec.md diagnostics")
    by_line = {d.range.start.line: (d.severity, d.message) for d in diagnostics}
    assert by_line[1] == (lsp.DiagnosticSeverity.Information, "add-subtract: pending")
    assert by_line[3] == (lsp.DiagnosticSeverity.Hint, "no task implements this item yet")
    assert (diagnostics[0].range.start.character, diagnostics[0].range.end.character) == (0, len(SPEC.splitlines()[1]))


async def test_hover_on_an_item_names_its_task(repo, clients):
    client = await start_client(repo)
    clients.append(client)
    uri = open_document(client, repo / "spec.md")
    hover = await asyncio.wait_for(client.text_document_hover_async(lsp.HoverParams(
        text_document=lsp.TextDocumentIdentifier(uri=uri), position=lsp.Position(2, 8))), WAIT_S)
    assert "### `add-multiply` — pending" in hover.contents.value
    assert "Add multiply()" in hover.contents.value


async def test_task_file_errors_follow_the_buffer_as_the_user_types(repo, clients):
    client = await start_client(repo)
    clients.append(client)
    path = repo / "tasks" / "pending" / "add-subtract.json"
    broken = '{\n  "id": "add-subtract",\n  "summary": "Add subtract()",\n  "priority": "high"\n}\n'
    uri = open_document(client, path, text=broken)  # the buffer, not the file on disk
    diagnostics = await client.wait_until(lambda: client.diagnostics.get(uri), "task-file diagnostics")
    (error,) = diagnostics
    assert error.severity == lsp.DiagnosticSeverity.Error
    assert "Expected `int`, got `str`" in error.message
    assert (error.range.start.line, error.range.start.character, error.range.end.character) == (3, 14, 20)

    client.text_document_did_change(lsp.DidChangeTextDocumentParams(
        text_document=lsp.VersionedTextDocumentIdentifier(uri=uri, version=2),
        content_changes=[lsp.TextDocumentContentChangePartial(
            range=lsp.Range(lsp.Position(3, 14), lsp.Position(3, 20)), text="3")]))
    await client.wait_until(lambda: len(client.diagnostics[uri]) == 0, "the error to clear after the fix")

    client.text_document_did_change(lsp.DidChangeTextDocumentParams(
        text_document=lsp.VersionedTextDocumentIdentifier(uri=uri, version=3),
        content_changes=[lsp.TextDocumentContentChangeWholeDocument(text='{"id": "other", "summary": "x"}')]))
    (mismatch,) = await client.wait_until(lambda: client.diagnostics.get(uri), "an id mismatch")
    assert mismatch.severity == lsp.DiagnosticSeverity.Warning
    assert mismatch.message == ("id 'other' differs from the file name add-subtract.json: "
                                "the file name wins, this task is add-subtract")
    assert (mismatch.range.start.character, mismatch.range.end.character) == (7, 14)

    lenses = await code_lenses(client, uri)
    assert lenses[0][1] == "oompa: pending"


async def test_an_original_oompa_ticket_gets_hints_for_the_fields_oompa_keeps_as_they_are(repo, clients):
    client = await start_client(repo)
    clients.append(client)
    path = repo / "tasks" / "pending" / "add-subtract.json"
    ticket = ('{\n  "id": "add-subtract",\n  "summary": "Add subtract()",\n  "difficulty": "medium",\n'
              '  "acceptence": ["it subtracts"],\n  "target_files": ["calc.py"],\n  "completed_by": null\n}\n')
    uri = open_document(client, path, text=ticket)

    found = await client.wait_until(lambda: client.diagnostics.get(uri), "hints on the ticket's own fields")
    assert [(d.severity, d.range.start.line, d.message) for d in found] == [
        (lsp.DiagnosticSeverity.Hint, 3, "`difficulty`: not a field oompa uses; kept as is"),
        (lsp.DiagnosticSeverity.Hint, 4, "`acceptence`: not a field oompa uses; kept as is (did you mean `acceptance`?)")]
    assert (found[0].range.start.character, found[0].range.end.character) == (2, 14)  # the key "difficulty"


async def test_status_request_gives_the_snapshot(repo, clients):
    client = await start_client(repo)
    clients.append(client)
    status = await client.request("oompa/status", {})
    assert status["viewer"] is False
    assert status["state"] == "idle"
    assert {t["id"]: t["state"] for t in status["tasks"].values()} == {"add-subtract": "pending", "add-multiply": "pending"}


async def test_bad_params_get_an_error_naming_the_problem(repo, clients):
    client = await start_client(repo)
    clients.append(client)
    with pytest.raises(JsonRpcException, match="review_id"):
        await client.request("oompa/diff", {"review": "rv1"})
    with pytest.raises(JsonRpcException, match="no pending review 'nope'"):
        await client.request("oompa/diff", {"review_id": "nope"})
    with pytest.raises(JsonRpcException, match=r"oompa.approve takes \[review_id, notes\], got 0"):
        await client.command("oompa.approve")
    with pytest.raises(JsonRpcException, match="ref must be a commit sha"):
        await client.request("oompa/fileContent", {"uri": "oompa-git:/a.py?ref=HEAD"})


async def test_content_provider_is_registered_dynamically_and_serves_files_at_a_commit(repo, clients):
    client = await start_client(repo)
    clients.append(client)
    registration = await client.wait_until(lambda: client.registrations, "a dynamic registration")
    assert registration[0].method == "workspace/textDocumentContent"
    head = git(repo, "rev-parse", "HEAD").strip()
    found = await client.request("oompa/fileContent", {"uri": f"oompa-git:/spec.md?ref={head}"})
    assert found == {"content": SPEC}
    missing = await client.request("oompa/fileContent", {"uri": f"oompa-git:/nope.txt?ref={head}"})
    assert missing == {"content": ""}
    result = await asyncio.wait_for(client.protocol.send_request_async(
        "workspace/textDocumentContent", lsp.TextDocumentContentParams(uri=f"oompa-git:/spec.md?ref={head}")), WAIT_S)
    assert result.text == SPEC


async def test_a_bad_oompa_json_is_underlined_and_fixing_it_brings_the_swarm_back(repo, clients):
    config_path = repo / "oompa.json"
    good = config_path.read_text()
    config_path.write_text(good.replace('"fake:worker"', '"nosuch:worker"'))
    client = await start_client(repo)
    clients.append(client)
    config_uri = config_path.as_uri()
    (problem,) = await client.wait_until(lambda: client.diagnostics.get(config_uri), "the oompa.json diagnostic")
    assert "unknown harness 'nosuch'" in problem.message
    line = config_path.read_text().splitlines()[problem.range.start.line]
    assert line[problem.range.start.character:problem.range.end.character] == '"nosuch:worker"'
    spec_uri = open_document(client, repo / "spec.md")
    (lens,) = await code_lenses(client, spec_uri)
    assert lens[1].startswith("oompa: ") and "unknown harness 'nosuch'" in lens[1]
    assert any("unknown harness" in m.message for m in client.messages)  # window/showMessage

    config_path.write_text(good)
    client.text_document_did_save(lsp.DidSaveTextDocumentParams(text_document=lsp.TextDocumentIdentifier(uri=config_uri)))
    await client.wait_until(lambda: len(client.diagnostics[config_uri]) == 0, "the oompa.json diagnostic to clear")
    lenses = await code_lenses(client, spec_uri)
    assert lenses[1][1] == "▶ Start swarm"


async def test_an_oompa_json_with_no_reviewer_gets_a_warning_that_review_is_off(repo, clients):
    config_path = repo / "oompa.json"
    config = json.loads(config_path.read_text())
    del config["review_model"], config["review"]
    config_path.write_text(json.dumps(config, indent=2))
    client = await start_client(repo)
    clients.append(client)
    config_uri = config_path.as_uri()
    (warning,) = await client.wait_until(lambda: client.diagnostics.get(config_uri), "the review-off warning")
    assert warning.severity == lsp.DiagnosticSeverity.Warning
    assert "review is off" in warning.message and "merges without review" in warning.message
    line = config_path.read_text().splitlines()[warning.range.start.line]
    assert '"workers"' in line
