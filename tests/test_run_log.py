"""The run log is what every view trusts, and the swarm lock keeps one swarm per repository."""

from __future__ import annotations

import json
import subprocess
import sys
import time
from pathlib import Path

import pytest

from oompa_lsp.adapters.run_log import RunLog, SwarmLock, list_runs
from oompa_lsp.core import events as ev
from oompa_lsp.core.errors import SwarmLocked
from oompa_lsp.core.tasks import Usage

FOLLOWED_EVENTS = 300

# A viewer in another process: prints the number carried by each event it sees, in order.
FOLLOWER = r"""
import sys
from pathlib import Path
from oompa_lsp.adapters.run_log import RunLog
from oompa_lsp.core.events import SwarmStopped
log = RunLog.open_latest(Path(sys.argv[1]))
print("ready", flush=True)
for event in log.follow(poll_s=0.001):
    if isinstance(event, SwarmStopped):
        break
    print(event.message.split(":")[0], flush=True)
print("end", flush=True)
"""

# Holds the swarm lock until killed.
HOLDER = r"""
import sys, time
from pathlib import Path
from oompa_lsp.adapters.run_log import SwarmLock
SwarmLock(Path(sys.argv[1])).acquire("run-held-elsewhere")
print("locked", flush=True)
time.sleep(120)
"""


def _a_run(oompa_dir: Path) -> list[ev.Event]:
    return [
        ev.SwarmStarted(run_id="r1", repo="/repo", target="main", pid=42,
                        workers=[ev.WorkerInfo("w1", "claude:sonnet", "executor", iterations=3)]),
        ev.TaskClaimed(task_id="t1", worker="w1", attempt=1, branch="oompa/t1-1"),
        ev.WorkerStateChanged(worker="w1", state="working", task_id="t1"),
        ev.AgentFinished(worker="w1", role="executor", task_id="t1", signal="COMPLETE_AND_READY_FOR_MERGE",
                         usage=Usage(1000, 200, 0.25)),
        ev.ChecksRan(task_id="t1", stage="worktree", ok=True, results=[ev.CheckResult(["pytest"], 0, "1 passed")]),
        ev.ReviewRequested(review_id="rv1", task_id="t1", worker="w1", branch="oompa/t1-1", base="a", head="b",
                           mode="human"),
        ev.LogMessage(level="info", message="héllo ✓"),
    ]


def test_events_round_trip_and_fold_into_the_snapshot(tmp_path: Path) -> None:
    log = RunLog.create(tmp_path)
    written = [log.append(event) for event in _a_run(tmp_path)]

    read = RunLog.open_latest(tmp_path).read_all()

    assert read == written
    assert all(e.at > 0 for e in read) and [e.at for e in read] == sorted(e.at for e in read)
    assert len(log.events_path.read_bytes().splitlines()) == len(written)
    snapshot = log.snapshot()
    assert snapshot.state == "running" and snapshot.tasks["t1"].worker == "w1"
    assert list(snapshot.reviews) == ["rv1"] and snapshot.usage.cost_usd == 0.25
    log.close()


def test_runs_sort_by_start_and_the_latest_is_opened(tmp_path: Path) -> None:
    assert RunLog.open_latest(tmp_path) is None
    first, second = RunLog.create(tmp_path), RunLog.create(tmp_path)
    assert list_runs(tmp_path) == [first.run_id, second.run_id]
    assert RunLog.open_latest(tmp_path).run_id == second.run_id
    assert first.transcript_path("w1", 2).name == "w1-turn002.log"
    assert first.transcript_path("../w", 1).parent == first.run_dir / "transcripts"


def test_a_follower_in_another_process_sees_every_event_once_in_order(tmp_path: Path) -> None:
    log = RunLog.create(tmp_path)
    follower = subprocess.Popen([sys.executable, "-c", FOLLOWER, str(tmp_path)], stdout=subprocess.PIPE, text=True)
    try:
        assert follower.stdout.readline().strip() == "ready"
        for n in range(FOLLOWED_EVENTS):
            # some long lines, so the reader is likely to catch a write in progress
            log.append(ev.LogMessage(level="info", message=f"{n}:" + "x" * (50_000 if n % 25 == 0 else n)))
            if n % 10 == 0:
                time.sleep(0.002)  # let the follower poll mid-stream
        log.append(ev.SwarmStopped(ok=True, reason="done"))
        out, _ = follower.communicate(timeout=30)
    finally:
        follower.kill()
    assert out.split() == [str(n) for n in range(FOLLOWED_EVENTS)] + ["end"]


def test_a_viewer_attaching_late_gets_the_snapshot_then_only_new_events(tmp_path: Path) -> None:
    log = RunLog.create(tmp_path)
    for event in _a_run(tmp_path)[:3]:
        log.append(event)
    snapshot, offset = log.snapshot_and_offset()
    assert snapshot.tasks["t1"].state == "current"
    cursor = log.cursor(offset)
    assert cursor.poll() == []
    log.append(ev.TaskCompleted(task_id="t1", commit="abc"))
    assert [type(e).__name__ for e in cursor.poll()] == ["TaskCompleted"]
    assert cursor.poll() == []


async def test_an_async_follower_receives_events_appended_after_it_started(tmp_path: Path) -> None:
    log = RunLog.create(tmp_path)
    log.append(ev.LogMessage(level="info", message="before"))
    _, offset = log.snapshot_and_offset()
    follower = log.follow_async(offset, poll_s=0.001)
    log.append(ev.LogMessage(level="info", message="after"))
    first = await anext(follower)
    await follower.aclose()
    assert first.message == "after"


def test_a_line_still_being_written_is_read_only_once_complete(tmp_path: Path) -> None:
    log = RunLog.create(tmp_path)
    cursor = log.cursor()
    line = b'{"type":"TaskCompleted","task_id":"t1","commit":"abc","at":1.0}\n'
    with open(log.events_path, "ab", buffering=0) as raw:
        raw.write(line[:20])
        assert cursor.poll() == [] and cursor.offset == 0
        raw.write(line[20:])
    assert cursor.poll() == [ev.TaskCompleted(task_id="t1", commit="abc", at=1.0)]
    assert cursor.offset == len(line)


def test_a_torn_last_line_is_ignored_and_the_next_append_starts_clean(tmp_path: Path) -> None:
    log = RunLog.create(tmp_path)
    for event in _a_run(tmp_path)[:3]:
        log.append(event)
    log.close()
    with open(log.events_path, "ab") as raw:
        raw.write(b'{"type":"TaskClaimed","task_id":"t2","wor')  # the writer was killed here

    assert len(RunLog.open_latest(tmp_path).read_all()) == 3

    reopened = RunLog.open_latest(tmp_path)
    reopened.append(ev.TaskCompleted(task_id="t1", commit="abc"))
    events = reopened.read_all()
    assert len(events) == 4 and isinstance(events[-1], ev.TaskCompleted)
    reopened.close()


def test_the_swarm_lock_names_its_holder_and_frees_when_the_holder_is_killed(tmp_path: Path) -> None:
    oompa = tmp_path / ".oompa"
    holder = subprocess.Popen([sys.executable, "-c", HOLDER, str(oompa)], stdout=subprocess.PIPE, text=True)
    try:
        assert holder.stdout.readline().strip() == "locked"
        lock = SwarmLock(oompa)
        with pytest.raises(SwarmLocked, match=f"pid {holder.pid}.*run-held-elsewhere") as refused:
            lock.acquire("run-mine")
        assert refused.value.pid == holder.pid and refused.value.run_id == "run-held-elsewhere"
        assert lock.holder().pid == holder.pid
    finally:
        holder.kill()  # SIGKILL: no chance to clean up
        holder.wait()

    assert (oompa / "swarm.json").exists()  # stale, and must not matter
    assert lock.holder() is None
    me = lock.acquire("run-mine")
    assert lock.holder() == me and SwarmLock(oompa).holder().run_id == "run-mine"
    with pytest.raises(SwarmLocked):
        SwarmLock(oompa).acquire("run-third")  # also refused within one process
    lock.release()
    assert lock.holder() is None and not (oompa / "swarm.json").exists()
