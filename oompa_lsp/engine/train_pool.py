"""The merge train's check worktrees: a small pool, reused from landing to landing.

A merged tree is checked in a worktree of the pool (`<worktree root>/check-<n>`, detached at
the merged commit), never in the worker's worktree: the worker's branch and files stay as
they are while its request waits in the train. A slot is made on first use (with the
`worktree.copy` files and `worktree.setup` commands, like a worker's) and reused after:
put on the next commit with its ignored files (installed dependencies, build caches) kept.

May import: core, adapters. Must not import: lsp, cli.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path

import anyio

from .context import SwarmContext
from .worker_worktree import set_up_new

_SLOT_PREFIX = "check-"


class CheckPool:
    def __init__(self, ctx: SwarmContext, size: int) -> None:
        self.ctx = ctx
        self._free = [ctx.worktree_root / f"{_SLOT_PREFIX}{n}" for n in range(size, 0, -1)]
        self._slots = anyio.Semaphore(size)

    @asynccontextmanager
    async def slot(self, commit: str) -> AsyncIterator[Path]:
        """A check worktree at `commit`, clean, for as long as the block runs."""
        async with self._slots:
            path = self._free.pop()
            try:
                reused = await anyio.to_thread.run_sync(self.ctx.repo.ensure_check_worktree, path, commit)
                if not reused:
                    await set_up_new(self.ctx, path, "merge queue")
                yield path
            finally:
                self._free.append(path)

    def worktrees(self) -> list[Path]:
        """The pool's worktrees that exist (removed with the workers' at the end of a run)."""
        root = self.ctx.worktree_root
        return sorted(root.glob(f"{_SLOT_PREFIX}*")) if root.is_dir() else []
