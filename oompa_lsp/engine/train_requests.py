"""What the merge queue and its train hand each other: a request, its outcome, the wait for it,
and the signal that something changed for the queue's consumer.

May import: core. Must not import: lsp, cli.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal

import anyio

from ..core.events import CheckResult


@dataclass
class MergeRequest:
    task_id: str
    worker: str
    branch: str
    head: str
    worktree: Path
    summary: str
    # The checks' results on `head`'s tree in the worker's worktree (before review): a merged
    # tree that is the same tree needs no second run.
    checks: list[CheckResult] = field(default_factory=list)


@dataclass
class MergeOutcome:
    kind: Literal["landed", "conflict", "checks_failed", "failed", "stopped", "outside_queue"]
    commit: str = ""
    reason: str = ""  # why it failed
    files: list[str] = field(default_factory=list)
    results: list[CheckResult] = field(default_factory=list)
    branch_dropped: bool = False  # landed, and its branch deleted in the same ref transaction


@dataclass
class Pending:
    request: MergeRequest
    done: anyio.Event = field(default_factory=anyio.Event)
    outcome: MergeOutcome = field(default_factory=lambda: MergeOutcome("stopped"))

    def settle(self, outcome: MergeOutcome) -> None:
        self.outcome = outcome
        self.done.set()


class Nudge:
    """A level-triggered 'look again': a `set` before the `wait` is not lost."""

    def __init__(self) -> None:
        self._event = anyio.Event()

    def set(self) -> None:
        self._event.set()

    async def wait(self, timeout: float) -> None:  # noqa: ASYNC109 -- the consumer looks at the tip at least this often
        with anyio.move_on_after(timeout):
            await self._event.wait()
        self._event = anyio.Event()


def outside_queue(tip: str) -> MergeOutcome:
    return MergeOutcome("outside_queue", commit=tip)


def merge_message(request: MergeRequest) -> str:
    return merge_subject_prefix(request.task_id) + request.summary


def merge_subject_prefix(task_id: str) -> str:
    """How the subject of every commit that lands `task_id` begins (recovery looks for it)."""
    return f"oompa: merge {task_id}: "
