"""The run's timeline, folded from its events: one lane per worker with its phases, and the
merge queue's lane with every landing. `run_tables` adds the per-task and per-worker tables;
together they are what `oompa report` draws (report/), with nothing read but events.

A worker's phase follows its `WorkerStateChanged` states; `reviewing` is split in two at the
reviewer's turn (`AgentStarted` of `reviewer:<worker>`): before it the work waits for a
reviewer, from it the review runs until the verdict moves the worker on. The queue's lane
follows the train's `MergeTrainUpdated` states (merging, checking, then landing until
`MergeLanded`); a run from before the train has only `ChecksRan` of the merged tree, whose
durations place its checks. A human review (`awaiting_review`) is waiting throughout.

Must not import: anything outside the standard library, msgspec and oompa_lsp.core.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Literal

from msgspec import Struct

from . import events as ev

PhaseKind = Literal[
    "turn", "checks", "review_wait", "review", "queue_wait", "resolving", "merging", "merge_checks", "landing"
]

PHASE_LABELS: dict[str, str] = {
    "turn": "agent turn",
    "checks": "checks",
    "review_wait": "waiting for review",
    "review": "review",
    "queue_wait": "waiting for the merge queue",
    "resolving": "resolving a conflict",
    "merging": "merging onto the target",
    "merge_checks": "checks on the merged tree",
    "landing": "landing",
}

# The worker states that are a phase of work; the others (idle, waiting, done...) draw nothing.
_STATE_PHASE: dict[str, PhaseKind] = {
    "working": "turn",
    "checking": "checks",
    "reviewing": "review_wait",
    "awaiting_review": "review_wait",
    "merging": "queue_wait",
    "resolving": "resolving",
}

# The train's states that are a phase of the queue's lane (a request queued or failed draws nothing).
_TRAIN_PHASE: dict[str, PhaseKind] = {"merging": "merging", "checking": "merge_checks", "passed": "landing"}

REVIEWER_PREFIX = "reviewer:"


class Phase(Struct, omit_defaults=True):
    kind: PhaseKind
    start: float
    end: float
    task_id: str | None = None
    detail: str = ""

    @property
    def duration(self) -> float:
        return max(0.0, self.end - self.start)


class Lane(Struct, omit_defaults=True):
    worker: str
    model: str = ""
    phases: list[Phase] = []

    def busy_s(self) -> float:
        return sum(p.duration for p in self.phases)


class Landing(Struct, omit_defaults=True):
    task_id: str
    at: float
    commit: str
    previous: str = ""


class Timeline(Struct, omit_defaults=True):
    run_id: str = ""
    target: str = ""
    started_at: float = 0.0
    ended_at: float = 0.0
    ok: bool | None = None
    reason: str = ""
    lanes: list[Lane] = []
    queue: list[Phase] = []  # the merge queue's lane: checks on merged trees, then each landing
    landings: list[Landing] = []

    @property
    def wall_s(self) -> float:
        return max(0.0, self.ended_at - self.started_at)


def build_timeline(events: Iterable[ev.Event]) -> Timeline:
    builder = _TimelineBuilder()
    for event in events:
        builder.take(event)
    return builder.finish()


class _TimelineBuilder:
    def __init__(self) -> None:
        self.timeline = Timeline()
        self.lanes: dict[str, Lane] = {}
        self.open: dict[str, Phase | None] = {}  # each worker's phase still running
        self.queued_at: dict[str, float] = {}
        self.checked_at: dict[str, float] = {}
        self.train: dict[str, Phase | None] = {}  # each task's phase in the merge train, by task
        self.last_at = 0.0

    def take(self, event: ev.Event) -> None:
        self.last_at = max(self.last_at, event.at)
        handler = getattr(self, "_on_" + type(event).__name__, None)
        if handler is not None:
            handler(event)

    def finish(self) -> Timeline:
        end = self.timeline.ended_at or self.last_at
        for worker in list(self.open):
            self._close(worker, end)
        for task_id in list(self.train):
            self._close_train(task_id, end)
        self.timeline.queue.sort(key=lambda p: p.start)
        self.timeline.ended_at = end
        self.timeline.lanes = list(self.lanes.values())
        return self.timeline

    def _on_SwarmStarted(self, e: ev.SwarmStarted) -> None:
        t = self.timeline
        t.run_id, t.target, t.started_at = e.run_id, e.target, e.at
        for info in e.workers:
            self.lanes[info.id] = Lane(info.id, info.model)
            self.open[info.id] = None

    def _on_SwarmStopped(self, e: ev.SwarmStopped) -> None:
        self.timeline.ended_at, self.timeline.ok, self.timeline.reason = e.at, e.ok, e.reason

    def _on_WorkerStateChanged(self, e: ev.WorkerStateChanged) -> None:
        if e.worker not in self.lanes:
            self.lanes[e.worker] = Lane(e.worker)
        self._close(e.worker, e.at)
        kind = _STATE_PHASE.get(e.state)
        if kind is not None:
            self.open[e.worker] = Phase(kind, e.at, e.at, e.task_id, e.detail)

    def _on_AgentStarted(self, e: ev.AgentStarted) -> None:
        self._switch_review(e.worker, e.at, from_kind="review_wait", to_kind="review")

    def _switch_review(self, agent: str, at: float, from_kind: PhaseKind, to_kind: PhaseKind) -> None:
        if not agent.startswith(REVIEWER_PREFIX):
            return
        worker = agent[len(REVIEWER_PREFIX) :]
        current = self.open.get(worker)
        if current is None or current.kind != from_kind:
            return
        self._close(worker, at)
        self.open[worker] = Phase(to_kind, at, at, current.task_id, current.detail)

    def _close(self, worker: str, at: float) -> None:
        current = self.open.get(worker)
        if current is not None:
            current.end = max(current.start, at)
            self.lanes[worker].phases.append(current)
        self.open[worker] = None

    def _on_MergeQueued(self, e: ev.MergeQueued) -> None:
        self.queued_at[e.task_id] = e.at

    def _on_MergeTrainUpdated(self, e: ev.MergeTrainUpdated) -> None:
        self._close_train(e.task_id, e.at)
        kind = _TRAIN_PHASE.get(e.state)
        self.train[e.task_id] = Phase(kind, e.at, e.at, e.task_id, e.detail) if kind else None

    def _close_train(self, task_id: str, at: float) -> bool:
        current = self.train.get(task_id)
        if current is not None:
            current.end = max(current.start, at)
            self.timeline.queue.append(current)
            self.train[task_id] = None
        return current is not None

    def _on_ChecksRan(self, e: ev.ChecksRan) -> None:
        if e.stage != "merged" or e.task_id in self.train:
            return
        took = sum(r.duration_s for r in e.results)
        start = max(self.queued_at.get(e.task_id, e.at - took), e.at - took)
        self.timeline.queue.append(Phase("merge_checks", start, e.at, e.task_id, "passed" if e.ok else "failed"))
        self.checked_at[e.task_id] = e.at

    def _on_MergeLanded(self, e: ev.MergeLanded) -> None:
        if e.task_id in self.train:
            self._close_train(e.task_id, e.at)
            del self.train[e.task_id]
        else:
            start = self.checked_at.pop(e.task_id, self.queued_at.get(e.task_id, e.at))
            self.timeline.queue.append(Phase("landing", start, e.at, e.task_id, e.commit[:10]))
        self.timeline.landings.append(Landing(e.task_id, e.at, e.commit, e.previous))
        self.queued_at.pop(e.task_id, None)
