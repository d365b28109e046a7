"""The task a worker holds right now (`Job`), and where a task goes when it is given back
(`Disposition`). Shared by the worker, its landing and its giving back.

May import: core, adapters. Must not import: lsp, cli.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal

import anyio

from ..core.events import CheckResult
from ..core.tasks import Task
from .agent_turns import AgentSeat

Disposition = Literal["pending", "failed"]


@dataclass
class Job:
    """The task a worker holds right now, and how a user's cancel should end it."""

    task: Task
    branch: str
    base: str
    scope: anyio.CancelScope
    user_disposition: Disposition | None = None
    user_reason: str = ""
    checks: list[CheckResult] = field(default_factory=list)
    seat: AgentSeat | None = None
    branch_gone: bool = False  # landed, and the landing deleted the branch
    # The merged tree failed the checks in the queue: what the worker's next turn is told.
    merge_feedback: str | None = None

    def take_merge_feedback(self) -> str | None:
        """The queue's feedback for the worker, once (None: nothing came back)."""
        feedback, self.merge_feedback = self.merge_feedback, None
        return feedback
