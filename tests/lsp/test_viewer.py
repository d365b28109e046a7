"""One swarm per repository: when another process runs it (here: this test, holding the
swarm lock and appending to the run's event log as the engine does), the server attaches as a
viewer, shows the same live state, and sends the user's commands through the control inbox."""

from __future__ import annotations

import os

from lsp_helpers import agent_config, code_lenses, make_repo, open_document, start_client

from oompa_lsp.adapters import control
from oompa_lsp.adapters.run_log import RunLog, SwarmLock
from oompa_lsp.core import events as ev
from oompa_lsp.core.commands import Approve, StopSwarm

SPEC = "# Notes\n- [ ] Write the first note {#note-a}\n"


async def test_a_server_follows_a_swarm_another_process_runs(tmp_path, marker, clients):
    repo = make_repo(tmp_path / "repo", spec=SPEC, config=agent_config(marker, tmp_path),
                     tasks={"note-a": {"summary": "Write a note", "spec": "note-a"}})
    oompa_dir = repo / ".oompa"
    client = await start_client(repo)
    clients.append(client)
    await client.wait_for_oompa("oompa/swarmState", lambda s: s["state"] == "idle")

    # another process starts the swarm: the idle server notices and attaches
    lock, run = SwarmLock(oompa_dir), RunLog.create(oompa_dir)
    lock.acquire(run.run_id)
    try:
        run.append(ev.SwarmStarted(run_id=run.run_id, repo=str(repo), target="main", pid=os.getpid(),
                                   workers=[ev.WorkerInfo("w1", "fake:worker", "worker")], review_mode="human"))
        run.append(ev.TaskSeen(task_id="note-a", state="pending", summary="Write a note", spec="note-a"))
        state = await client.wait_for_oompa("oompa/swarmState", lambda s: s["viewer"] and s["state"] == "running")
        assert state["run_id"] == run.run_id
        status = await client.request("oompa/status", {})
        assert status["viewer"] is True and status["pid"] == os.getpid()

        run.append(ev.TaskClaimed(task_id="note-a", worker="w1", attempt=1, branch="oompa/w1/note-a"))
        run.append(ev.ReviewRequested(review_id="rv1", task_id="note-a", worker="w1", branch="oompa/w1/note-a",
                                      base="a" * 40, head="b" * 40, mode="human"))
        claimed = await client.wait_for_oompa("oompa/taskUpdated", lambda t: t["state"] == "current")
        assert claimed["worker"] == "w1" and claimed["uri"].endswith("/tasks/current/note-a.json")
        await client.wait_for_oompa("oompa/reviewRequested", lambda r: r["review_id"] == "rv1")
        uri = open_document(client, repo / "spec.md")
        lenses = await code_lenses(client, uri)
        assert lenses[0][1].startswith(f"oompa: running · following pid {os.getpid()} · 1 workers")
        assert (1, "Approve", "oompa.approve", ["rv1"]) in lenses

        approved = await client.command("oompa.approve", "rv1")
        assert approved["viewer"] is True
        stopping = await client.command("oompa.stopSwarm")
        assert stopping["message"] == f"asked pid {os.getpid()} to stop the swarm"
        (approve, stop) = control.take(oompa_dir)
        assert isinstance(approve, Approve) and approve.review_id == "rv1"
        assert approve.sender.startswith("editor pid ")
        assert isinstance(stop, StopSwarm)
    finally:
        lock.release()  # the "other process" dies without writing SwarmStopped

    gone = await client.wait_for_oompa("oompa/swarmState", lambda s: s["state"] == "stopped" and not s["viewer"])
    assert gone["stopped_reason"].startswith("the process running the swarm is gone")
