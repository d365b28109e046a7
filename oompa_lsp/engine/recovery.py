"""What a run does first with what a dead or stopped run left behind (the run holds the
repository's swarm lock, so whatever an earlier run left is an orphan).

`recover` ends agent processes still running under the worktree root (checks included),
completes claimed tasks whose merge already landed (train_recovery.py), returns the claims of
other runs to pending (`TaskRecovered`), and salvages the `oompa/` branches they left: unmerged
work is parked under a ref of its own, then the branch is dropped (a worktree still holding it
is detached first). Each step is logged as an event through the run's context.

May import: core, adapters. Must not import: lsp, cli.
"""

from __future__ import annotations

import anyio

from ..adapters.git import Repo
from ..adapters.processes import kill_processes_under
from ..core.events import LogMessage, TaskRecovered
from .context import SwarmContext
from .train_recovery import complete_landed


async def recover(ctx: SwarmContext) -> None:
    """Claims of dead runs go back to pending; their agents are ended, their unmerged work parked."""
    orphans = await anyio.to_thread.run_sync(kill_processes_under, ctx.worktree_root)
    if orphans:
        ctx.emit(LogMessage(level="warning", message=f"ended {len(orphans)} agent process(es) left by a stopped run"))
    await complete_landed(ctx)  # work already on the target is not done again
    recovered = await anyio.to_thread.run_sync(ctx.store.recover, lambda owner: owner.run_id == ctx.run_id)
    for task_id, owner in recovered:
        who = owner.describe() if owner else "an owner that died before recording itself"
        ctx.emit(TaskRecovered(task_id=task_id, previous_owner=who))
    salvaged = await anyio.to_thread.run_sync(salvage_branches, ctx.repo, ctx.target_ref)
    for branch, ref in salvaged:
        ctx.emit(LogMessage(level="info", message=f"parked unmerged work of a stopped run: {branch} -> {ref}"))


def salvage_branches(repo: Repo, target: str) -> list[tuple[str, str]]:
    """Branches a stopped run left: park unmerged work, then drop the branch (blocking: run in a thread)."""
    parked = []
    for branch, commit in repo.list_branches("oompa/").items():
        holder = repo.worktree_for_branch(branch)
        if holder is not None and not holder.is_main:
            repo.checkout_detached(holder.path, commit)
        into = target
        if not repo.is_merged(commit, target):
            into = repo.park(branch.removeprefix("oompa/"), commit).ref
            parked.append((branch, into))
        repo.delete_branch_if_merged(branch, into)
    return parked
