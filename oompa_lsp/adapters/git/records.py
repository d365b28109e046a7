"""Plain records the git adapter returns: worktrees, file changes, merge and advance outcomes.

Frozen dataclasses (immutable, safe to hand between threads); the engine turns what it needs
into events. Must not import: engine, lsp, cli.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal

MergeStatus = Literal["merged", "fast_forward", "up_to_date", "conflict"]
AdvanceStatus = Literal["advanced", "blocked"]


@dataclass(frozen=True, slots=True)
class Worktree:
    """One entry of `git worktree list`; `branch` is the short name, None when detached."""

    path: Path
    head: str | None
    branch: str | None
    is_main: bool = False
    bare: bool = False
    locked: bool = False
    prunable: bool = False


@dataclass(frozen=True, slots=True)
class StatusEntry:
    """One line of `git status --porcelain`: `code` is the two-letter XY, `??` for untracked."""

    code: str
    path: str
    old_path: str | None = None


@dataclass(frozen=True, slots=True)
class RawChange:
    """One record of `git diff --raw`: a path's modes and objects before and after; `status`
    is A (added), D (deleted), M (modified) or T (its type changed)."""

    old_mode: str
    new_mode: str
    old_id: str
    new_id: str
    status: str
    path: str


@dataclass(frozen=True, slots=True)
class ChangedFile:
    """A file changed between two commits; `status` is one of A, M, D, R, C, T."""

    path: str
    status: str
    old_path: str | None = None


@dataclass(frozen=True, slots=True)
class MergeResult:
    """The outcome of merging without a checkout.

    merged        `commit` is a new commit (two parents, or one for a squash) on top of target
    fast_forward  `commit` is the branch itself (only when asked for)
    up_to_date    the target already has everything; `commit` is the target
    conflict      nothing was created; `conflicts` names the files, `messages` says why
    """

    status: MergeStatus
    commit: str | None = None
    tree: str | None = None
    conflicts: tuple[str, ...] = ()
    messages: tuple[str, ...] = ()

    @property
    def clean(self) -> bool:
        return self.status != "conflict"


@dataclass(frozen=True, slots=True)
class AdvanceResult:
    """The outcome of moving the target branch.

    `how` is "update-ref" (the branch is checked out nowhere) or "fast-forward" (the worktree
    that has it checked out followed by git's two-way merge, then the ref moved by
    compare-and-swap). When blocked, nothing changed and `reason` is one line for the user,
    naming `files` when there are any. `dropped` names the landed branches deleted in the
    same ref transaction as the move.
    """

    status: AdvanceStatus
    commit: str
    how: str = ""
    reason: str = ""
    files: tuple[str, ...] = ()
    worktree: Path | None = None
    dropped: tuple[str, ...] = ()

    @property
    def advanced(self) -> bool:
        return self.status == "advanced"


@dataclass(frozen=True, slots=True)
class ParkedRef:
    """Work kept under refs/oompa/parked/<name> instead of being deleted."""

    name: str
    ref: str
    commit: str
    subject: str = ""
    committed_at: int = 0


@dataclass(frozen=True, slots=True)
class CleanupReport:
    """What a cleanup removed, the disk it freed, and what it left alone (path, reason)."""

    removed: tuple[Path, ...] = ()
    bytes_freed: int = 0
    skipped: tuple[tuple[Path, str], ...] = field(default=())
