"""A whole swarm of scripted agents driven from a real LSP client: started with
`workspace/executeCommand`, followed through notifications, reviewed by a human in the editor
(approve → the merge lands in `git log`; reject → the same worker fixes it), a second window
that follows as a viewer, and a shutdown mid-run that leaves no agent process behind."""

from __future__ import annotations

import asyncio
import json
import signal
import time

import pytest
from lsp_helpers import (agent_config, agent_processes, code_lenses, git, make_repo, open_document, start_client,
                         stop_client)

pytestmark = pytest.mark.slow

SPEC = """# Notes
- [ ] Write the first note {#note-a}
- [ ] Write the second note {#note-b}
"""
TASKS = {
    "note-a": {"summary": "Write notes/note-a.md", "spec": "note-a", "priority": 2},
    "note-b": {"summary": "Write notes/note-b.md", "spec": "note-b", "priority": 1},
}
NOTE = "# {task_id}\n\nWritten by the fake agent.\n"
DONE = "Wrote the note.\nCOMPLETE_AND_READY_FOR_MERGE"


def writes_notes(delay: float = 0.0) -> dict:
    """Each task writes notes/<id>.md; note-b's second call (after a rejection) adds a line."""
    write = {"write": {"notes/{task_id}.md": NOTE}, "sleep": delay, "final": DONE}
    fix = {"append": {"notes/{task_id}.md": "Asked for by the review of {task_id}."}, "final": DONE}
    return {"roles": {"*": {"note-b": [write, fix], "-": [{"final": "__DONE__"}], "*": [write]}}}


HANGS = {"roles": {"*": {
    "note-a": [{"ignore_sigterm": True, "spawn_sleeper": 300, "say": "thinking", "sleep": 300, "final": DONE}],
    "*": [{"final": "__DONE__"}]}}}
# how a task may move: the scheduler claims pending work, a review or merge ends it or sends it back
ALLOWED = {("pending", "current"), ("current", "pending"), ("current", "complete"), ("current", "failed"),
           ("failed", "pending"), ("complete", "pending")}


def states_of(client, task_id: str) -> list[str]:
    states: list[str] = []
    for update in client.of("oompa/taskUpdated"):
        if update["id"] == task_id and (not states or states[-1] != update["state"]):
            states.append(update["state"])
    return states


def assert_valid_order(client, task_id: str) -> None:
    states = states_of(client, task_id)
    assert states[0] == "pending" and states[-1] == "complete", states
    assert all(step in ALLOWED for step in zip(states, states[1:])), states


async def wait_review(client, task_id: str, round_: int = 1) -> dict:
    return await client.wait_for_oompa("oompa/reviewRequested",
                                       lambda r: r["task_id"] == task_id and r["round"] == round_)


async def wait_state(client, task_id: str, state: str, timeout: float = 90) -> dict:
    return await client.wait_for_oompa("oompa/taskUpdated", lambda t: t["id"] == task_id and t["state"] == state,
                                       timeout=timeout)


async def test_human_review_in_the_editor_from_start_to_merge(tmp_path, marker, clients):
    repo = make_repo(tmp_path / "repo", spec=SPEC, tasks=TASKS, config=agent_config(marker, tmp_path, writes_notes()))
    client = await start_client(repo)
    clients.append(client)
    spec_uri = open_document(client, repo / "spec.md")

    started = await client.command("oompa.startSwarm")
    assert started == {"ok": True, "message": "the swarm started", "viewer": False}

    review = await wait_review(client, "note-a")
    assert review["mode"] == "human" and review["worker"] == "w1"
    lenses = await code_lenses(client, spec_uri)
    assert (1, "◐ note-a: awaiting your review · w1 · round 1", "", None) in lenses
    assert (1, "Approve", "oompa.approve", [review["review_id"]]) in lenses

    diff = await client.request("oompa/diff", {"review_id": review["review_id"]})
    (changed,) = diff["files"]
    assert (changed["path"], changed["status"]) == ("notes/note-a.md", "A")
    head = await client.request("oompa/fileContent", {"uri": changed["head_uri"]})
    assert head["content"] == "# note-a\n\nWritten by the fake agent.\n"
    assert (await client.request("oompa/fileContent", {"uri": changed["base_uri"]}))["content"] == ""

    assert (await client.command("oompa.approve", review["review_id"]))["ok"] is True
    merged = await wait_state(client, "note-a", "complete")
    assert merged["uri"].endswith("/tasks/complete/note-a.json")
    assert git(repo, "show", "main:notes/note-a.md") == "# note-a\n\nWritten by the fake agent.\n"
    assert merged["commit"] in git(repo, "log", "--format=%H", "main")

    # ticking the item is offered, and lands through workspace/applyEdit (the editor's undo stack)
    await client.wait_until(lambda: client.applied_edits, "the offered tick of spec.md")
    assert client.message_requests == ["oompa: note-a merged. Tick its item in spec.md?"]
    (edit,) = client.applied_edits[0].edit.document_changes
    assert edit.text_document.uri == spec_uri
    assert (edit.edits[0].range.start.line, edit.edits[0].range.start.character, edit.edits[0].new_text) == (1, 3, "x")
    assert (repo / "spec.md").read_text() == SPEC  # never written behind the user's back

    review_b = await wait_review(client, "note-b")
    await client.command("oompa.reject", review_b["review_id"], "1. Say which task wrote the note.")
    again = await wait_review(client, "note-b", round_=2)
    assert again["worker"] == review_b["worker"]  # back to the same worker
    feedback = [t for t in client.of("oompa/taskUpdated") if t["id"] == "note-b" and t.get("last_feedback")]
    assert feedback and feedback[-1]["last_feedback"] == "1. Say which task wrote the note."
    await client.command("oompa.approve", again["review_id"])
    await wait_state(client, "note-b", "complete")
    assert git(repo, "show", "main:notes/note-b.md").endswith("Asked for by the review of note-b.\n")

    final = await client.wait_for_oompa("oompa/swarmState", lambda s: s["state"] == "stopped", timeout=90)
    assert final["counts"]["complete"] == 2
    assert_valid_order(client, "note-a")
    assert_valid_order(client, "note-b")
    tokens = [t for t, reports in client.progress_reports.items() if reports]
    assert tokens, "no $/progress was reported for the running swarm"
    kinds = [getattr(r, "kind", None) for r in client.progress_reports[tokens[0]]]
    assert kinds[0] == "begin" and kinds[-1] == "end"
    assert client.lens_refreshes > 0  # workspace/codeLens/refresh as state changed

    await stop_client(client)
    clients.remove(client)
    assert agent_processes(marker) == []


async def test_lenses_are_asked_for_again_until_the_editor_asks(tmp_path, marker, clients):
    """VS Code drops a lens refresh that lands just before its editor loses focus; the server
    asks again (a few times) until a lens request shows the editor heard it."""
    repo = make_repo(tmp_path / "repo", spec=SPEC, tasks=TASKS, config=agent_config(marker, tmp_path, writes_notes()))
    client = await start_client(repo)
    clients.append(client)
    spec_uri = open_document(client, repo / "spec.md")
    await client.command("oompa.startSwarm")
    await wait_review(client, "note-a")  # one worker: the swarm waits for the user from here
    quiet = client.lens_refreshes
    await client.wait_until(lambda: client.lens_refreshes >= quiet + 2, "the refresh asked for again", timeout=5)
    assert "◐ note-a: awaiting your review · w1 · round 1" in [title for _, title, _, _ in await code_lenses(client, spec_uri)]
    heard = client.lens_refreshes
    await asyncio.sleep(2.5)  # nothing changes while both wait for the user: the editor has what it needs
    assert client.lens_refreshes == heard


async def test_a_second_window_follows_as_viewer_and_its_approval_reaches_the_engine(tmp_path, marker, clients):
    repo = make_repo(tmp_path / "repo", spec=SPEC, tasks={"note-a": TASKS["note-a"]},
                     config=agent_config(marker, tmp_path, writes_notes(delay=1.0)))  # the viewer attaches mid-run
    owner = await start_client(repo)
    clients.append(owner)
    await owner.command("oompa.startSwarm")

    viewer = await start_client(repo)
    clients.append(viewer)
    status = await viewer.request("oompa/status", {})
    assert status["viewer"] is True and status["state"] == "running"
    second_start = await viewer.command("oompa.startSwarm")
    assert second_start["viewer"] is True and "this window follows it" in second_start["message"]

    # what a client connecting mid-run does: the snapshot first, then live notifications
    pending = [r for r in status["reviews"].values() if r["task_id"] == "note-a"]
    review = pending[0] if pending else await wait_review(viewer, "note-a")
    assert (await viewer.command("oompa.approve", review["review_id"]))["viewer"] is True
    await wait_state(owner, "note-a", "complete")
    await wait_state(viewer, "note-a", "complete")
    assert git(repo, "show", "main:notes/note-a.md").startswith("# note-a")
    # the run ended: the window is no longer following anyone
    await viewer.wait_for_oompa("oompa/swarmState", lambda s: s["state"] == "stopped" and not s["viewer"], timeout=90)


async def test_shutdown_mid_run_kills_agents_and_returns_claims(tmp_path, marker, clients):
    repo = make_repo(tmp_path / "repo", spec=SPEC, tasks={"note-a": TASKS["note-a"]},
                     config=agent_config(marker, tmp_path, HANGS))  # the agent hangs, ignores SIGTERM, has a child
    client = await start_client(repo, options={"autoStart": True})  # started from `initialized`
    clients.append(client)
    await wait_state(client, "note-a", "current")
    await client.wait_until(lambda: len(agent_processes(marker)) >= 2, "the agent and its child to start")

    began = time.monotonic()
    await stop_client(client)
    clients.remove(client)
    assert time.monotonic() - began < 15
    await asyncio.sleep(0.2)
    assert agent_processes(marker) == []
    assert (repo / "tasks" / "pending" / "note-a.json").is_file()
    assert not (repo / "tasks" / "current" / "note-a.json").exists()


async def test_sigterm_to_the_server_still_stops_the_swarm_cleanly(tmp_path, marker, clients):
    """Editors kill their servers; the swarm must not leave agents or claims behind."""
    repo = make_repo(tmp_path / "repo", spec=SPEC, tasks={"note-a": TASKS["note-a"]},
                     config=agent_config(marker, tmp_path, HANGS))
    client = await start_client(repo, options={"autoStart": True})
    clients.append(client)
    await wait_state(client, "note-a", "current")
    await client.wait_until(lambda: len(agent_processes(marker)) >= 2, "the agent and its child to start")

    client._server.send_signal(signal.SIGTERM)
    await asyncio.wait_for(client._server.wait(), 15)
    clients.remove(client)
    await client.stop()
    await asyncio.sleep(0.2)
    assert agent_processes(marker) == []
    assert (repo / "tasks" / "pending" / "note-a.json").is_file()


async def test_a_second_run_in_the_same_window_picks_up_new_tasks(tmp_path, marker, clients):
    repo = make_repo(tmp_path / "repo", spec=SPEC, tasks={"note-a": TASKS["note-a"]},
                     config=agent_config(marker, tmp_path, writes_notes(), review_mode="none"))
    client = await start_client(repo)
    clients.append(client)
    await client.command("oompa.startSwarm")
    first = await client.wait_for_oompa("oompa/swarmState", lambda s: s["state"] == "stopped")
    assert first["counts"]["complete"] == 1

    (repo / "tasks" / "pending" / "note-b.json").write_text(json.dumps({"id": "note-b", **TASKS["note-b"]}))
    assert (await client.command("oompa.startSwarm"))["message"] == "the swarm started"
    second = await client.wait_for_oompa("oompa/swarmState",
                                         lambda s: s["state"] == "stopped" and s["run_id"] != first["run_id"])
    assert second["counts"]["complete"] == 2 and second["stopped_reason"] == "all 2 task(s) complete"
    assert git(repo, "show", "main:notes/note-b.md").startswith("# note-b")
