"""The git adapter: everything the swarm does to a repository goes through `Repo`.

    command.py   running git (environment, timeouts, commit identity fallback)
    repo.py      Repo: refs, worktrees, commits, diffs, merge-tree merges, parking
    checkout.py  fast-forwarding a branch someone has checked out, safely (its diff applied,
                 or git's two-way merge)
    commit_writer.py  merge commits written into the object store, as commit-tree would
    index_file.py  the user's index moved to the next commit in place (the changed entries only)
    local_reads.py  answers read from the repository's files (loose commits, refs, HEAD)
    refs.py      the target's move, with the branches it lands deleted in one transaction
    parsing.py   readers of git's -z / porcelain output and refusal messages
    records.py   the frozen records returned
    cleanup.py   default worktree location, disk usage

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
