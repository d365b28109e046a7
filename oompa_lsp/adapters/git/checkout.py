"""Moving a branch that someone has checked out, without ever losing their uncommitted work.

The target branch is usually checked out in the user's main worktree. Moving its ref with
`update-ref` alone would leave the user's index and files describing the old commit (their
next commit would silently revert the merge). So the checkout moves first, by git's two-way
merge (`git read-tree -m -u OLD NEW`, what `git merge --ff-only` does inside): git checks
every file it would touch and refuses, changing nothing, when local changes or untracked
files are in the way. Then the ref moves by compare-and-swap. When read-tree refuses,
`git merge --ff-only` gets the last word: it also accepts a file whose timestamp changed but
whose content did not, and its refusal names the files. Never `--autostash`, never reset.
Git does overwrite *ignored* files silently (a local `.env`, say), so before moving we refuse
when a path the move adds already exists there.

Unlike `git merge`, read-tree does not refresh the whole index first: on a tree of 50,000
files that refresh was most of the cost of landing a merge.

Must not import: engine, lsp, cli.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from pathlib import Path

from oompa_lsp.core.errors import TargetMoved

from . import local_reads, parsing, refs
from .command import run_git
from .records import AdvanceResult
from .refs import Landed

# Files in a worktree's git dir that mean an operation is half done.
_OPERATION_MARKERS = (
    ("MERGE_HEAD", "merge"),
    ("rebase-merge", "rebase"),
    ("rebase-apply", "rebase"),
    ("CHERRY_PICK_HEAD", "cherry-pick"),
    ("REVERT_HEAD", "revert"),
    ("BISECT_LOG", "bisect"),
)


def worktree_git_dir(worktree: Path) -> Path:
    named = local_reads.git_dir_of(worktree)
    return named if named is not None else Path(run_git(["rev-parse", "--absolute-git-dir"], worktree).line)


def operation_in_progress(worktree: Path) -> str | None:
    """The git operation a worktree is in the middle of (merge, rebase, ...), if any."""
    git_dir = worktree_git_dir(worktree)
    return next((name for marker, name in _OPERATION_MARKERS if (git_dir / marker).exists()), None)


def fast_forward_checkout(main_root: Path, worktree: Path, branch: str, new: str, old: str,
                          drop: Sequence[Landed] = ()) -> AdvanceResult:
    """Fast-forward `branch`, checked out in `worktree` at `old`, to `new`, or say why not.
    The landed branches of `drop` go with the ref's move (see refs.py) when it is ours.

    Raises TargetMoved when the checkout is no longer `branch` at `old` (the user committed
    or switched branches); returns a blocked result, having changed nothing, when git refuses.
    """
    busy = operation_in_progress(worktree)
    if busy is not None:
        reason = f"{worktree} is in the middle of a {busy}; finish or abort it and the merge resumes"
        return AdvanceResult("blocked", new, reason=reason, worktree=worktree)
    require_head(main_root, worktree, branch, old)
    in_the_way = ignored_files_in_the_way(main_root, worktree, old, new)
    if in_the_way:
        names = parsing.file_names(in_the_way)
        reason = f"{worktree}: untracked {names} would be overwritten; move them away and the merge resumes"
        return AdvanceResult("blocked", new, reason=reason, files=tuple(in_the_way), worktree=worktree)
    if run_git(["read-tree", "-m", "-u", old, new], worktree, check=False).code == 0:
        dropped = _move_checked_out_ref(worktree, branch, new, old, drop)
        return AdvanceResult("advanced", new, how="fast-forward", worktree=worktree, dropped=dropped)
    out = run_git(["merge", "--ff-only", "--no-autostash", "--no-stat", "--quiet", new], worktree, check=False)
    if out.code == 0:
        return AdvanceResult("advanced", new, how="fast-forward", worktree=worktree)
    require_head(main_root, worktree, branch, old)
    reason, files = parsing.refused_merge(out.stderr)
    return AdvanceResult("blocked", new, reason=f"{worktree}: {reason}", files=tuple(files), worktree=worktree)


def _move_checked_out_ref(worktree: Path, branch: str, new: str, old: str, drop: Sequence[Landed]) -> tuple[str, ...]:
    """The checkout already shows `new`; now its branch. Run in `worktree`, so its HEAD's reflog
    records the move too. Failing means the user committed in the instant between: their
    commit stands and the merge is done again on top of it."""
    ref = f"refs/heads/{branch}"
    out, dropped = refs.move_ref(worktree, ref, new, old, "oompa: merge queue (fast-forward)", drop)
    if out.code != 0:
        raise TargetMoved(f"{branch} moved while its checkout was being updated ({out.stderr.strip()}); merge again on top of it")
    return dropped


def require_head(main_root: Path, worktree: Path, branch: str, expected: str) -> None:
    """Raise TargetMoved unless `worktree` has `branch` checked out at `expected`."""
    symbolic, head = _head_of(main_root, worktree)
    if symbolic != f"refs/heads/{branch}":
        raise TargetMoved(f"{worktree} no longer has {branch} checked out; read the target again and retry")
    if head != expected:
        raise TargetMoved(f"{branch} moved to {head[:12]} (expected {expected[:12]}); merge again on top of it")


def _head_of(main_root: Path, worktree: Path) -> tuple[str, str]:
    """The branch ref `worktree` has checked out ("" when detached) and its commit."""
    line = local_reads.head_line(worktree)  # read once: both answers come from the same moment
    head = local_reads.commit_of_head(main_root, line)
    if line is None or head is None:
        symbolic = run_git(["symbolic-ref", "-q", "HEAD"], worktree, check=False).line
        return symbolic, run_git(["rev-parse", "--verify", "-q", "HEAD"], worktree, check=False).line
    return (line.removeprefix("ref: ") if line.startswith("ref: ") else ""), head


def ignored_files_in_the_way(main_root: Path, worktree: Path, old: str, new: str) -> list[str]:
    """Paths the move from `old` to `new` adds that already exist on disk in `worktree`.

    Untracked files that are not ignored git protects itself; ignored ones it would replace.
    A path is also in the way when one of its parent folders exists as a file.
    """
    added = local_reads.added_paths(main_root, old, new)
    if added is None:
        out = run_git(["diff", "--name-only", "-z", "--no-renames", "--diff-filter=A", old, new, "--"], worktree)
        added = out.fields()
    return [path for path in added if _occupied(worktree, path)]


def _occupied(worktree: Path, path: str) -> bool:
    target = worktree / path
    if os.path.lexists(target):
        return True
    folders = [parent for parent in target.parents if worktree in parent.parents]
    return any(os.path.lexists(folder) and not folder.is_dir() for folder in folders)
