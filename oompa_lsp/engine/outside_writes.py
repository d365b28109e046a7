"""Writes outside an agent's worktree: the user's checkout and idle workers' worktrees,
compared before and after every agent turn.

An agent told to stay in its worktree may still `cd` into the user's checkout or a sibling
worktree. Around each turn the watched folders' uncommitted files are fingerprinted (`git
status` plus each file's mtime and size); what appeared or changed during the turn is an
event and a warning naming the agent, never reverted (it could be the user's own edit).
Turns that ran at the same time share the blame: the event names all of them. A worktree
counts only while its own worker is quiet (no agent, no engine work in it), as the engine
itself commits, resets and merges in busy ones.

May import: core, adapters. Must not import: lsp, cli.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from pathlib import Path

import anyio

from ..core.errors import OompaError
from ..core.events import OutsideWriteSeen
from .context import SwarmContext

# Worker states in which nothing but an agent could change the worker's worktree.
QUIET_STATES = frozenset({"idle", "waiting", "awaiting_review", "done"})
_PATHS_NAMED = 10
Fingerprint = dict[str, tuple[str, int, int]]
_GONE = ("", 0, -2)  # the mark of a path reported deleted


@dataclass
class _Turn:
    worker: str
    own: Path
    overlapping: set[str] = field(default_factory=set)  # other workers whose turns ran meanwhile


class OutsideWrites:
    def __init__(self, ctx: SwarmContext, worktrees: Callable[[], dict[str, Path]]) -> None:
        self.ctx = ctx
        self._worktrees = worktrees           # worker id -> its worktree
        self._turns: list[_Turn] = []
        self._quiet: dict[str, bool] = {}     # worker id -> quiet since the last look
        self._spoiled: set[str] = set()       # workers that were busy at some point during a turn
        self._reported: dict[str, Fingerprint] = {}  # per folder: changes already said (by an overlapping turn)
        self._ran_since_asked: set[str] = set()

    def agents_since_last_asked(self) -> list[str]:
        """The agents that ran (or run) since the last call: who may have done what was just found."""
        running = {t.worker for t in self._turns}
        found, self._ran_since_asked = self._ran_since_asked | running, running
        return sorted(found)

    def note_state(self, worker: str, state: str) -> None:
        quiet = state in QUIET_STATES
        self._quiet[worker] = quiet
        if not quiet:
            self._spoiled.add(worker)

    @asynccontextmanager
    async def watching(self, worker: str, own: Path) -> AsyncIterator[None]:
        """Around one agent turn of `worker`, working in `own`."""
        turn = _Turn(worker, Path(own), {t.worker for t in self._turns})
        for other in self._turns:
            other.overlapping.add(worker)
        self._turns.append(turn)
        self._ran_since_asked.add(worker)
        spoiled_before = set(self._spoiled)
        before = await self._look(turn)
        try:
            yield
        finally:
            self._turns.remove(turn)
            with anyio.CancelScope(shield=True):
                await self._compare(turn, before, spoiled_before)

    def _folders(self, turn: _Turn) -> dict[str, Path]:
        folders = {"your checkout": Path(self.ctx.repo.root)}
        for worker, path in self._worktrees().items():
            if worker != turn.worker and path != turn.own and self._quiet.get(worker, True) and path.exists():
                folders[f"{worker}'s worktree"] = path
        return folders

    async def _look(self, turn: _Turn) -> dict[str, Fingerprint]:
        folders = self._folders(turn)
        return await anyio.to_thread.run_sync(lambda: {name: self._fingerprint(path) for name, path in folders.items()})

    def _fingerprint(self, path: Path) -> Fingerprint:
        try:
            return self.ctx.repo.dirty_fingerprint(path)
        except OompaError:
            return {}

    async def _compare(self, turn: _Turn, before: dict[str, Fingerprint], spoiled_before: set[str]) -> None:
        busy_meanwhile = self._spoiled - spoiled_before
        after = await self._look(turn)
        for name, fingerprint in after.items():
            owner = name.removesuffix("'s worktree")
            if name not in before or owner in busy_meanwhile:
                continue
            said = self._reported.setdefault(name, {})
            changed = sorted(path for path, mark in fingerprint.items()
                             if before[name].get(path) != mark and said.get(path) != mark)
            changed += sorted(f"{path} (deleted)" for path in before[name].keys() - fingerprint.keys()
                              if said.get(path) != _GONE)
            said.update({path: fingerprint.get(path.removesuffix(" (deleted)"), _GONE) for path in changed})
            if changed:
                self._report(turn, name, changed)

    def _report(self, turn: _Turn, where: str, changed: list[str]) -> None:
        during = sorted({turn.worker, *turn.overlapping})
        shown = changed[:_PATHS_NAMED] + ([f"... and {len(changed) - _PATHS_NAMED} more"]
                                           if len(changed) > _PATHS_NAMED else [])
        self.ctx.emit(OutsideWriteSeen(where=where, paths=shown, worker=turn.worker, during=during))
