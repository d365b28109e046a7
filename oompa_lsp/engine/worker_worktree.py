"""One worker's worktree between tasks: put on a task's (or planning) branch at the target's
tip before each turn, set up when it is new, and detached when the worker stops on a branch
the landing deleted.

A worktree is reused from task to task (reset with its untracked files removed, unless the
last landing left it clean). A new one gets the `worktree.copy` files (ignored files such as `.env`) copied
from the main checkout and the `worktree.setup` commands run in it; a failing setup command is
a warning, not a failure.

May import: core, adapters. Must not import: lsp, cli.
"""

from __future__ import annotations

import shutil
from pathlib import Path

import anyio

from ..core.errors import OompaError
from ..core.events import LogMessage, WorktreeReady
from .checks import run_checks
from .context import SwarmContext


class WorkerWorktree:
    def __init__(self, ctx: SwarmContext, worker_id: str, path: Path) -> None:
        self.ctx, self.worker_id, self.path = ctx, worker_id, path
        # True right after a landing that left nothing uncommitted in the worktree.
        self.left_clean = False
        # Where the worktree stands when the landing deleted the branch it is on: the next
        # task's reset moves it onto a new branch; a worker that stops first detaches it here.
        self.orphaned_at: str | None = None

    async def prepare(self, branch: str) -> str:
        """The worktree on `branch` at the target's tip; that tip (the merge base)."""
        git = self.ctx.repo
        clean, self.left_clean = self.left_clean, False

        def at_the_tip() -> tuple[str, bool]:
            base = git.rev_parse(self.ctx.target_ref)
            return base, git.ensure_worktree(self.path, branch, base, remove_untracked=not clean)

        base, reused = await anyio.to_thread.run_sync(at_the_tip)
        self.orphaned_at = None
        if not reused:
            await self._set_up_new()
        self.ctx.emit(WorktreeReady(worker=self.worker_id, path=str(self.path), reused=reused))
        return base

    async def _set_up_new(self) -> None:
        await set_up_new(self.ctx, self.path, self.worker_id)

    async def detach_orphaned(self) -> None:
        """A worktree left on a deleted branch would look empty to `git status` ("No commits
        yet"): point its HEAD at the commit its files are."""
        if self.orphaned_at is None:
            return
        try:
            await anyio.to_thread.run_sync(self.ctx.repo.detach, self.path, self.orphaned_at)
        except OompaError as exc:
            self.ctx.emit(
                LogMessage(level="warning", worker=self.worker_id, message=f"could not detach {self.path}: {exc}")
            )
        self.orphaned_at = None


async def set_up_new(ctx: SwarmContext, path: Path, who: str) -> None:
    """A new worktree gets the `worktree.copy` files and the `worktree.setup` commands (a
    worker's, or one of the merge queue's check worktrees)."""
    settings = ctx.config.worktree
    for name in settings.copy:
        await anyio.to_thread.run_sync(_copy_ignored, ctx.repo.root / name, path / name)
    for argv in settings.setup:
        result = (await run_checks([argv], path, ctx.config.merge.check_timeout_s))[0]
        if result.exit_code != 0:
            ctx.emit(
                LogMessage(
                    level="warning",
                    worker=who,
                    message=f"worktree setup `{' '.join(argv)}` failed (exit {result.exit_code})",
                )
            )


def _copy_ignored(source: Path, dest: Path) -> None:
    if source.is_dir():
        shutil.copytree(source, dest, dirs_exist_ok=True)
    elif source.exists():
        dest.parent.mkdir(parents=True, exist_ok=True)
        shutil.copy2(source, dest)
