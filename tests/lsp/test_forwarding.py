"""Engine events become editor notifications at the editor's pace (lsp/forwarding.py)."""

from __future__ import annotations

import asyncio

from oompa_lsp.core import events as ev
from oompa_lsp.core.snapshot import Snapshot
from oompa_lsp.lsp import forwarding
from oompa_lsp.lsp.forwarding import Forwarder


class RecordingOutlet:
    """The editor side of the forwarder, writing down what it would have sent."""

    def __init__(self) -> None:
        self.sent: list[tuple[str, dict]] = []
        self.messages: list[tuple[str, str]] = []
        self.refreshes = 0
        self.progress_phases: list[str] = []
        self.merged: list[str] = []
        self.lens_follow_ups = 0
        self.lenses_shown = True

    def notify(self, method, params):
        self.sent.append((method, params))

    def show_message(self, level, message):
        self.messages.append((level, message))

    def refresh(self):
        self.refreshes += 1

    def refresh_lenses(self):
        self.lens_follow_ups += 1
        return self.lenses_shown

    def progress(self, phase, title, percentage):
        self.progress_phases.append(phase)

    def task_uri(self, task_id, state):
        return f"file:///repo/tasks/{state}/{task_id}.json"

    def task_merged(self, task_id):
        self.merged.append(task_id)

    def of(self, method):
        return [params for name, params in self.sent if name == method]


def feed(events):
    snapshot, outlet = Snapshot(), RecordingOutlet()
    forwarder = Forwarder(outlet, lambda: snapshot, lambda: False)
    for event in events:
        snapshot.apply(event)
        forwarder.on_event(event)
    return snapshot, outlet, forwarder


SPEC_URI, TASK_URI = "file:///repo/spec.md", "file:///repo/tasks/current/a.json"
STARTED = ev.SwarmStarted(run_id="r1", repo="/repo", target="main", pid=1, workers=[ev.WorkerInfo("w1", "m", "worker")])


async def test_task_updates_go_out_at_once_and_in_event_order():
    _, outlet, forwarder = feed([
        STARTED,
        ev.TaskSeen(task_id="a", state="pending", summary="A"),
        ev.TaskClaimed(task_id="a", worker="w1", attempt=1, branch="b"),
        ev.TaskCompleted(task_id="a", commit="c1"),
    ])
    updates = outlet.of("oompa/taskUpdated")
    assert [(u["state"], u["uri"]) for u in updates] == [
        ("pending", "file:///repo/tasks/pending/a.json"), ("current", "file:///repo/tasks/current/a.json"),
        ("complete", "file:///repo/tasks/complete/a.json")]
    forwarder.close()


async def test_swarm_state_is_urgent_on_start_and_paced_otherwise():
    _, outlet, forwarder = feed([STARTED] + [ev.TaskSeen(task_id=f"t{n}", state="pending", summary="s") for n in range(50)])
    assert len(outlet.of("oompa/swarmState")) == 1  # the start; the 50 tasks wait for the interval
    await asyncio.sleep(0.4)
    states = outlet.of("oompa/swarmState")
    assert len(states) == 2 and states[-1]["counts"]["pending"] == 50
    assert outlet.progress_phases[0] == "begin"
    assert outlet.refreshes == 1  # debounced: one refresh for the burst
    forwarder.close()


async def test_log_lines_are_throttled_and_the_dropped_are_counted():
    _, outlet, forwarder = feed([ev.LogMessage(level="info", message=f"line {n}") for n in range(100)])
    logs = outlet.of("oompa/log")
    assert len(logs) == 20 and logs[0]["message"] == "line 0"
    await asyncio.sleep(1.2)
    assert outlet.of("oompa/log")[-1]["message"] == "80 messages suppressed"
    forwarder.close()


async def test_failures_are_shown_and_merges_offer_a_tick():
    _, outlet, forwarder = feed([
        STARTED,
        ev.TaskFailed(task_id="a", reason="checks failed 3 times"),
        ev.MergePaused(reason="you have uncommitted changes in calc.py"),
        ev.MergeLanded(task_id="b", commit="c2", target="main", previous="c1"),
        ev.SwarmStopped(ok=False, reason="1 task(s) failed: a"),
    ])
    assert outlet.messages == [
        ("warning", "oompa: task a failed: checks failed 3 times"),
        ("warning", "oompa: the merge queue paused: you have uncommitted changes in calc.py"),
        ("error", "oompa: the swarm stopped: 1 task(s) failed: a")]
    assert outlet.merged == ["b"]
    assert outlet.of("oompa/swarmState")[-1]["state"] == "stopped"
    assert outlet.progress_phases[-1] == "end"
    forwarder.close()


async def test_a_lens_refresh_the_editor_did_not_act_on_is_sent_again_a_few_times(monkeypatch):
    monkeypatch.setattr(forwarding, "LENS_FOLLOW_UP_S", 0.05)
    _, outlet, forwarder = feed([STARTED])
    await asyncio.sleep(0.2 + 0.05 * (forwarding.LENS_FOLLOW_UPS + 3))
    assert outlet.refreshes == 1
    assert outlet.lens_follow_ups == forwarding.LENS_FOLLOW_UPS  # then it gives up: nobody is looking
    forwarder.close()


async def test_no_lens_follow_up_once_the_editor_asked(monkeypatch):
    monkeypatch.setattr(forwarding, "LENS_FOLLOW_UP_S", 0.05)
    _, outlet, forwarder = feed([STARTED])
    while outlet.refreshes == 0:  # the debounced refresh goes out; the editor asks at once
        await asyncio.sleep(0.005)
    forwarder.lenses_asked(SPEC_URI)
    await asyncio.sleep(0.05 * (forwarding.LENS_FOLLOW_UPS + 3))
    assert outlet.lens_follow_ups == 0
    forwarder.close()


async def test_no_lens_follow_ups_when_no_open_file_shows_lenses(monkeypatch):
    monkeypatch.setattr(forwarding, "LENS_FOLLOW_UP_S", 0.05)
    _, outlet, forwarder = feed([STARTED])
    outlet.lenses_shown = False
    await asyncio.sleep(0.2 + 0.05 * (forwarding.LENS_FOLLOW_UPS + 3))
    assert outlet.lens_follow_ups == 1  # the one try that found nothing open
    forwarder.close()


async def test_lens_follow_ups_go_on_until_every_file_that_showed_lenses_asked(monkeypatch):
    monkeypatch.setattr(forwarding, "LENS_FOLLOW_UP_S", 0.05)
    snapshot, outlet, forwarder = feed([STARTED])
    while outlet.refreshes == 0:
        await asyncio.sleep(0.005)
    forwarder.lenses_asked(SPEC_URI)  # spec.md and a task file side by side
    forwarder.lenses_asked(TASK_URI)
    event = ev.TaskSeen(task_id="a", state="pending", summary="A")
    snapshot.apply(event)
    forwarder.on_event(event)
    while outlet.refreshes == 1:
        await asyncio.sleep(0.005)
    forwarder.lenses_asked(TASK_URI)  # the spec's editor lost focus and dropped the refresh
    await asyncio.sleep(0.08)
    assert outlet.lens_follow_ups == 1
    forwarder.lenses_asked(SPEC_URI)
    await asyncio.sleep(0.05 * (forwarding.LENS_FOLLOW_UPS + 2))
    assert outlet.lens_follow_ups == 1
    forwarder.close()
