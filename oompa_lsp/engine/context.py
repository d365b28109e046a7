"""What every part of a running swarm shares: the repository, the store, the config, the
event sink, and a wake-up signal for anything that waits on swarm state.

May import: core, adapters. Must not import: lsp, cli.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from contextlib import AbstractAsyncContextManager, asynccontextmanager
from dataclasses import dataclass, field
from pathlib import Path

import anyio

from ..adapters.config_file import LoadedConfig
from ..adapters.git import Repo
from ..adapters.run_log import RunLog
from ..adapters.task_store import TaskStore
from ..core.config import Config
from ..core.events import Event
from .spending import Spending


class Wakeup:
    """A level-free 'something changed' signal: waiters wake on the next `notify`."""

    def __init__(self) -> None:
        self._event = anyio.Event()

    def notify(self) -> None:
        self._event.set()
        self._event = anyio.Event()

    async def wait(self, timeout: float) -> None:  # noqa: ASYNC109 -- every caller bounds its wait; one place to do it
        with anyio.move_on_after(timeout):
            await self._event.wait()


@asynccontextmanager
async def _unwatched(worker: str, own: Path) -> AsyncIterator[None]:
    yield


@dataclass
class SwarmContext:
    repo: Repo
    store: TaskStore
    loaded: LoadedConfig
    run_log: RunLog
    run_id: str
    target: str
    tasks_dir: Path
    spec_path: Path
    worktree_root: Path
    emit: Callable[[Event], None]
    wakeup: Wakeup = field(default_factory=Wakeup)
    # Around every agent turn (worker, its own worktree): sees writes outside it (outside_writes.py).
    watch_turn: Callable[[str, Path], AbstractAsyncContextManager[None]] = _unwatched
    # The agents that ran since the last call (who may have removed a task file, say).
    recent_agents: Callable[[], list[str]] = list
    # The budget, usage limits and the clock every agent turn passes (spending.py).
    spending: Spending = field(default_factory=Spending.unlimited)

    @property
    def config(self) -> Config:
        return self.loaded.config

    @property
    def target_ref(self) -> str:
        """The target as a full ref: a tag or a file in .git with the branch's name cannot
        stand in for it, and git need not be asked which one "main" means."""
        return f"refs/heads/{self.target}"

    @property
    def pending_dir(self) -> Path:
        return self.tasks_dir / "pending"
