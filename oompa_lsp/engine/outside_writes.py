"""Writes outside an agent's worktree: the user's checkout and quiet workers' worktrees,
compared before and after agent turns.

An agent told to stay in its worktree may still `cd` into the user's checkout or a sibling
worktree. The watched folders' uncommitted files are fingerprinted (`git status` plus each
file's mtime and size) when a turn starts (unless a look is recent) and soon after turns end;
what appeared or changed between two looks is an event and a warning naming every agent that
ran in between, never reverted (it could be the user's own edit). A change while no agent
ran is nobody's to report. Looks after turns end are taken by one observer, at most every
`MIN_GAP_S`: a worker never waits for one at the end of its turn, and the cost follows
time, not the number of turns (a swarm of quick agents shares each look between many turns,
and names them all). A worktree counts only while its own worker is quiet (no agent, no
engine work in it), as the engine itself commits, resets and merges in busy ones.

May import: core, adapters. Must not import: lsp, cli.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from pathlib import Path

import anyio

from ..core.errors import OompaError
from ..core.events import OutsideWriteSeen
from .context import SwarmContext

# Worker states in which nothing but an agent could change the worker's worktree.
QUIET_STATES = frozenset({"idle", "waiting", "awaiting_review", "done"})
FRESH_S = 2.0  # a look this recent serves as the "before" of a turn that starts now
MIN_GAP_S = 1.0  # looks after turns end are at least this far apart
_PATHS_NAMED = 10
Fingerprint = dict[str, tuple[str, int, int]]
_GONE = ("", 0, -2)  # the mark of a path reported deleted


class OutsideWrites:
    def __init__(self, ctx: SwarmContext, worktrees: Callable[[], dict[str, Path]]) -> None:
        self.ctx = ctx
        self._worktrees = worktrees  # worker id -> its worktree
        self._running: dict[str, Path] = {}  # agent -> its own worktree, while its turn runs
        self._ran: set[str] = set()  # agents that ran since the last look
        self._quiet: dict[str, bool] = {}  # worker id -> in a quiet state now
        self._spoiled: set[str] = set()  # workers busy at some point since the last look
        self._last: dict[str, Fingerprint] = {}  # folder name -> its fingerprint at the last look
        self._last_at = float("-inf")
        self._reported: dict[str, Fingerprint] = {}  # per folder: changes already said
        self._looking = anyio.Lock()
        self._ended = anyio.Event()  # a turn ended since the last look
        self._ran_since_asked: set[str] = set()

    def note_state(self, worker: str, state: str) -> None:
        quiet = state in QUIET_STATES
        self._quiet[worker] = quiet
        if not quiet:
            self._spoiled.add(worker)

    def agents_since_last_asked(self) -> list[str]:
        """The agents that ran (or run) since the last call: who may have done what was just found."""
        found, self._ran_since_asked = self._ran_since_asked | set(self._running), set(self._running)
        return sorted(found)

    @asynccontextmanager
    async def watching(self, agent: str, own: Path) -> AsyncIterator[None]:
        """Around one agent turn of `agent`, working in `own`."""
        if anyio.current_time() - self._last_at > FRESH_S:
            # The "before": what the user changed long before is not this turn's doing.
            await self.look()
        self._running[agent] = Path(own)
        self._ran.add(agent)
        self._ran_since_asked.add(agent)
        try:
            yield
        finally:
            del self._running[agent]
            self._ended.set()

    async def observe(self) -> None:
        """Looks soon after turns end (the observer task of a running swarm)."""
        while True:
            await self._ended.wait()
            await anyio.sleep(max(0.0, self._last_at + MIN_GAP_S - anyio.current_time()))
            await self.look()

    async def look(self) -> None:
        """Fingerprint the watched folders and report what changed since the last look."""
        async with self._looking:
            self._ended = anyio.Event()
            culprits, spoiled = sorted(self._ran | set(self._running)), self._spoiled | set(self._running)
            # Who runs or is busy now is part of the next interval too.
            self._ran = set(self._running)
            self._spoiled = {worker for worker, quiet in self._quiet.items() if not quiet}
            folders = self._folders()
            found = await anyio.to_thread.run_sync(lambda: {n: self._fingerprint(p) for n, p in folders.items()})
            self._last_at = anyio.current_time()
            for name, fingerprint in found.items():
                if culprits and name in self._last and name.removesuffix("'s worktree") not in spoiled:
                    self._compare(name, self._last[name], fingerprint, culprits)
            self._last = found

    def _folders(self) -> dict[str, Path]:
        folders = {"your checkout": Path(self.ctx.repo.root)}
        owned = set(self._running.values())
        for worker, path in self._worktrees().items():
            if self._quiet.get(worker, True) and path not in owned and path.exists():
                folders[f"{worker}'s worktree"] = path
        return folders

    def _fingerprint(self, path: Path) -> Fingerprint:
        try:
            return self.ctx.repo.dirty_fingerprint(path)
        except OompaError:
            return {}

    def _compare(self, name: str, before: Fingerprint, after: Fingerprint, culprits: list[str]) -> None:
        said = self._reported.setdefault(name, {})
        written = sorted(path for path, mark in after.items() if before.get(path) != mark and said.get(path) != mark)
        deleted = sorted(path for path in before.keys() - after.keys() if said.get(path) != _GONE)
        said.update({path: after[path] for path in written} | dict.fromkeys(deleted, _GONE))
        changed = written + [f"{path} (deleted)" for path in deleted]
        if changed:
            shown = changed[:_PATHS_NAMED] + (
                [f"... and {len(changed) - _PATHS_NAMED} more"] if len(changed) > _PATHS_NAMED else []
            )
            worker = culprits[0] if len(culprits) == 1 else ""
            self.ctx.emit(OutsideWriteSeen(where=name, paths=shown, worker=worker, during=culprits))
