"""The git adapter: everything the swarm does to a repository goes through `Repo`.

    command.py   running git (environment, timeouts, commit identity fallback)
    catfile.py   the run's one long-lived `git cat-file --batch-command`: names resolved and
                 objects read by git, without a process per question
    repo.py      Repo, composed of the four below: finding the repository, commits and status,
                 diffs and file contents, local excludes
    base.py      Repo's state (root, the cat-file, the worktree-add limit), refs and ancestry,
                 the worktree list, the guards its parts share
    merging.py   merges without a checkout (merge-tree), a resolver's merge in a worktree
    branches.py  the target's advance, parking unmerged work, releasing and deleting branches
    worktrees.py making, reusing, resetting and removing worktrees
    checkout.py  fast-forwarding a branch someone has checked out, safely (its diff applied
                 by `git apply --index`, or git's two-way merge)
    refs.py      the target's move, with the branches it lands deleted in one transaction
    parsing.py   readers of git's -z / porcelain output and refusal messages
    records.py   the frozen records returned
    cleanup.py   default worktree location, disk usage

No module reads or writes git's own files (objects, refs, the index, worktree metadata):
git's commands do, under git's locks (DESIGN §2.9).
Synchronous and thread-safe per call: the engine runs it in worker threads.
May import: oompa_lsp.core. Must not import: engine, lsp, cli.
"""

from .cleanup import default_worktree_root, disk_usage
from .records import AdvanceResult, ChangedFile, CleanupReport, MergeResult, ParkedRef, StatusEntry, Worktree
from .refs import Landed
from .repo import PARKED_PREFIX, Repo

__all__ = [
    "PARKED_PREFIX",
    "AdvanceResult",
    "ChangedFile",
    "CleanupReport",
    "Landed",
    "MergeResult",
    "ParkedRef",
    "Repo",
    "StatusEntry",
    "Worktree",
    "default_worktree_root",
    "disk_usage",
]
