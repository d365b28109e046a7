"""Moving a branch that someone has checked out, without ever losing their uncommitted work.

The target branch is usually checked out in the user's main worktree. Moving its ref with
`update-ref` alone would leave the user's index and files describing the old commit (their
next commit would silently revert the merge). So the checkout moves first, then the ref by
compare-and-swap. Never `--autostash`, never reset.

The checkout moves by applying the diff from OLD to NEW to the index and the files, when
every file the diff touches is on disk exactly as OLD has it (its blob id is computed here)
and every file it adds is absent: `git apply` patches the files and index_file.py edits the
changed entries of the index in place; where it declines, `git apply --index` does both
(it checks that those files match the index and changes nothing unless all of it applies).
Its cost follows the change; git's two-way merge (`git read-tree -m -u OLD NEW`, what
`git merge --ff-only` does inside) walks every tree and rewrites every index entry: 80 ms
against 25 for `git apply --index` and 5 for the edit in place, on 50,000 files. When a touched
file differs from OLD (local changes, a filter or line-ending conversion, a file mode git
does not see) or apply refuses, the two-way merge decides: git checks every file it would
touch and refuses, changing nothing, when local changes or untracked files are in the way.
When read-tree refuses, `git merge --ff-only` gets the last word: it also accepts a file
whose timestamp changed but whose content did not, and its refusal names the files. Git does
overwrite *ignored* files silently (a local `.env`, say), so before moving we refuse when a
path the move adds already exists there.

Must not import: engine, lsp, cli.
"""

from __future__ import annotations

import hashlib
import os
import stat
from collections.abc import Sequence
from pathlib import Path

from oompa_lsp.core.errors import TargetMoved

from . import index_file, local_reads, parsing, refs
from .command import run_git
from .records import AdvanceResult, RawChange
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
# The diff that moves a checkout, as `git apply` reads it whatever the user configured.
_PATCH_OPTIONS = ("--raw", "-p", "--binary", "--full-index", "--no-abbrev", "-z", "--no-renames", "--no-color",
                  "--no-ext-diff", "--no-textconv", "--no-relative", "--src-prefix=a/", "--dst-prefix=b/")
_APPLY_OPTIONS = ("--whitespace=nowarn", "--no-ignore-whitespace")
# Beyond these, the files are left to read-tree (whose cost does not grow with the change).
_MOST_FILES_PATCHED = 2000
_LARGEST_FILE_HASHED = 64 * 1024 * 1024
_FILE_MODES = {"100644": False, "100755": True}  # a regular file's mode -> executable
_SUBMODULE = "160000"


def worktree_git_dir(worktree: Path) -> Path:
    named = local_reads.git_dir_of(worktree)
    return named if named is not None else Path(run_git(["rev-parse", "--absolute-git-dir"], worktree).line)


def operation_in_progress(worktree: Path) -> str | None:
    """The git operation a worktree is in the middle of (merge, rebase, ...), if any."""
    git_dir = worktree_git_dir(worktree)
    return next((name for marker, name in _OPERATION_MARKERS if (git_dir / marker).exists()), None)


def fast_forward_checkout(main_root: Path, worktree: Path, branch: str, new: str, old: str,
                          drop: Sequence[Landed] = (), *, index_in_place: bool = False) -> AdvanceResult:
    """Fast-forward `branch`, checked out in `worktree` at `old`, to `new`, or say why not.
    The landed branches of `drop` go with the ref's move (see refs.py) when it is ours.
    `index_in_place`: the repository's settings let index_file.py write its index.

    Raises TargetMoved when the checkout is no longer `branch` at `old` (the user committed
    or switched branches); returns a blocked result, having changed nothing, when git refuses.
    """
    busy = operation_in_progress(worktree)
    if busy is not None:
        reason = f"{worktree} is in the middle of a {busy}; finish or abort it and the merge resumes"
        return AdvanceResult("blocked", new, reason=reason, worktree=worktree)
    require_head(main_root, worktree, branch, old)
    diff = _diff(worktree, old, new)
    in_the_way = files_in_the_way(worktree, _added_paths(worktree, old, new, diff))
    if in_the_way:
        names = parsing.file_names(in_the_way)
        reason = f"{worktree}: untracked {names} would be overwritten; move them away and the merge resumes"
        return AdvanceResult("blocked", new, reason=reason, files=tuple(in_the_way), worktree=worktree)
    if _move_checkout(worktree, old, new, diff, index_in_place):
        dropped = _move_checked_out_ref(worktree, branch, new, old, drop)
        return AdvanceResult("advanced", new, how="fast-forward", worktree=worktree, dropped=dropped)
    out = run_git(["merge", "--ff-only", "--no-autostash", "--no-stat", "--quiet", new], worktree, check=False)
    if out.code == 0:
        return AdvanceResult("advanced", new, how="fast-forward", worktree=worktree)
    require_head(main_root, worktree, branch, old)
    reason, files = parsing.refused_merge(out.stderr)
    return AdvanceResult("blocked", new, reason=f"{worktree}: {reason}", files=tuple(files), worktree=worktree)


def follow_moved_ref(worktree: Path, old: str, new: str) -> str:
    """Bring a checkout whose branch someone else moved from `old` to `new` in step, by git's
    two-way merge (`read-tree -m -u`, under git's index lock): it refuses, changing nothing,
    when local changes or untracked files are in the way. Says where the checkout stands:
    "in step", "moved" or "blocked: <why>"."""
    touched = run_git(["diff", "--name-only", "-z", old, new, "--"], worktree).stdout.split(b"\0")
    paths = [p.decode("utf-8", "surrogateescape") for p in touched if p]
    if not paths:
        return "in step"
    behind = run_git(["diff-index", "--cached", "--name-only", new, "--", *paths], worktree, check=False)
    if behind.code == 0 and not behind.stdout.strip():
        return "in step"  # moved by git in this very checkout (a `git merge` here)
    busy = operation_in_progress(worktree)
    if busy is not None:
        return f"blocked: {worktree} is in the middle of a {busy}; finish or abort it"
    out = run_git(["read-tree", "-m", "-u", old, new], worktree, check=False)
    if out.code == 0:
        return "moved"
    reason, _ = parsing.refused_read_tree(out.stderr)
    return f"blocked: {worktree}: {reason}"


# The diff from the old commit to the new, as raw records and as the patch `git apply` reads.
_Diff = tuple[list[RawChange], bytes]


def _diff(worktree: Path, old: str, new: str) -> _Diff | None:
    out = run_git(["diff", *_PATCH_OPTIONS, old, new, "--"], worktree, check=False)
    return parsing.raw_changes_and_patch(out.stdout) if out.code == 0 else None


def _added_paths(worktree: Path, old: str, new: str, diff: _Diff | None) -> list[str]:
    """What the move adds: from its diff (one process for both questions), else git's list."""
    if diff is not None:
        return [change.path for change in diff[0] if change.status == "A"]
    out = run_git(["diff", "--name-only", "-z", "--no-renames", "--diff-filter=A", old, new, "--"], worktree)
    return out.fields()


def _move_checkout(worktree: Path, old: str, new: str, diff: _Diff | None, index_in_place: bool) -> bool:
    """The checkout's index and files from `old` to `new`: by their diff where it applies as is,
    else by git's two-way merge; False when git refused (nothing changed)."""
    if diff is not None and _patch_checkout(worktree, diff, index_in_place):
        return True
    return run_git(["read-tree", "-m", "-u", old, new], worktree, check=False).code == 0


def _patch_checkout(worktree: Path, diff: _Diff, index_in_place: bool) -> bool:
    """Bring `worktree`'s index and files across `diff`; False, having changed nothing, unless
    every file it touches is as the old commit has it and apply agrees. The files are patched
    by git; the index is edited in place where index_file.py can (its cost then follows the
    change, not the tree), else `git apply --index` writes both."""
    changes, patch = diff
    if not changes:
        return True
    if len(changes) > _MOST_FILES_PATCHED or not all(_as_old_has_it(worktree, change) for change in changes):
        return False
    if index_in_place and _patch_with_index_in_place(worktree, changes, patch):
        return True
    return run_git(["apply", "--index", *_APPLY_OPTIONS], worktree, stdin=patch, check=False).code == 0


def _patch_with_index_in_place(worktree: Path, changes: list[RawChange], patch: bytes) -> bool:
    def apply(*reverse: str) -> bool:
        return run_git(["apply", *reverse, *_APPLY_OPTIONS], worktree, stdin=patch, check=False).code == 0

    return index_file.move_in_place(worktree_git_dir(worktree) / "index", worktree, changes,
                                    write_files=apply, undo_files=lambda: apply("--reverse"))


def _as_old_has_it(worktree: Path, change: RawChange) -> bool:
    """The file is on disk as the old commit has it: absent for an added path, else the same
    kind of file with the same content."""
    path = worktree / change.path
    if _SUBMODULE in (change.old_mode, change.new_mode):  # apply would touch only the index there
        return False
    if change.status == "A":
        return not os.path.lexists(path)
    if change.status not in ("M", "D", "T"):
        return False
    return _object_id_on_disk(path, change.old_mode, len(change.old_id)) == change.old_id


def _object_id_on_disk(path: Path, mode: str, id_length: int) -> str | None:
    """The blob id git would give the file at `path` as an entry of `mode`; None when it is
    not such an entry (another kind of file, a submodule, too large to read here)."""
    try:
        info = os.lstat(path)
        if mode == "120000" and stat.S_ISLNK(info.st_mode):
            content = os.fsencode(os.readlink(path))
        elif (mode in _FILE_MODES and stat.S_ISREG(info.st_mode) and info.st_size <= _LARGEST_FILE_HASHED
              and bool(info.st_mode & stat.S_IXUSR) == _FILE_MODES[mode]):
            content = path.read_bytes()
        else:
            return None
    except OSError:
        return None
    digest = hashlib.sha1 if id_length == 40 else hashlib.sha256
    return digest(b"blob %d\0" % len(content) + content).hexdigest()


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


def files_in_the_way(worktree: Path, added: list[str]) -> list[str]:
    """The `added` paths that already exist on disk in `worktree`.

    Untracked files that are not ignored git protects itself; ignored ones it would replace.
    A path is also in the way when one of its parent folders exists as a file.
    """
    return [path for path in added if _occupied(worktree, path)]


def _occupied(worktree: Path, path: str) -> bool:
    target = worktree / path
    if os.path.lexists(target):
        return True
    folders = [parent for parent in target.parents if worktree in parent.parents]
    return any(os.path.lexists(folder) and not folder.is_dir() for folder in folders)
