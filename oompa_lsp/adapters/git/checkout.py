"""Moving a branch that someone has checked out, without ever losing their uncommitted work.

The target branch is usually checked out in the user's main worktree. Moving its ref with
`update-ref` alone would leave the user's index and files describing the old commit (their
next commit would silently revert the merge). So the checkout moves first, then the ref by
compare-and-swap. Never `--autostash`, never reset. Only git's own commands touch the index
and the files, each under git's index lock: nothing here reads or writes git's files.

The checkout moves by applying the diff from OLD to NEW with `git apply --index`, when git
says every file the diff touches is as OLD has it (`git status` on those paths: nothing staged,
nothing changed) and every file it adds is absent: apply checks again that those files match
the index, and changes nothing unless all of it applies. Its cost follows the change; git's
two-way merge (`git read-tree -m -u OLD NEW`, what `git merge --ff-only` does inside) walks
every tree and rewrites every index entry: 80 ms against 25 for `git apply --index` on 50,000
files. When a touched file differs from OLD (local changes, a file mode git does not see, a
submodule) or apply refuses (a filter or line-ending conversion, a held lock), the two-way
merge decides: git checks every file it would touch and refuses, changing nothing, when local
changes or untracked files are in the way. When read-tree refuses, `git merge --ff-only` gets
the last word: it also accepts a file whose timestamp changed but whose content did not, and
its refusal names the files. Git does overwrite *ignored* files silently (a local `.env`, say),
so before moving we refuse when a path the move adds already exists there.

Must not import: engine, lsp, cli.
"""

from __future__ import annotations

import os
import stat
from collections.abc import Sequence
from pathlib import Path

from oompa_lsp.core.errors import TargetMoved

from . import parsing, refs
from .command import run_git
from .records import AdvanceResult, RawChange
from .refs import Landed

# Where git keeps the marks of an operation half done, asked of git as `--git-path <mark>`
# (git's own prompt script looks for the same ones): only their existence is looked at.
_OPERATION_MARKERS = (
    ("MERGE_HEAD", "merge"),
    ("rebase-merge", "rebase"),
    ("rebase-apply", "rebase"),
    ("CHERRY_PICK_HEAD", "cherry-pick"),
    ("REVERT_HEAD", "revert"),
    ("BISECT_LOG", "bisect"),
)
_MARKER_PATHS = (
    "--path-format=absolute",
    *(part for marker, _ in _OPERATION_MARKERS for part in ("--git-path", marker)),
)
# The diff that moves a checkout, as `git apply` reads it whatever the user configured.
_PATCH_OPTIONS = (
    "--raw",
    "-p",
    "--binary",
    "--full-index",
    "--no-abbrev",
    "-z",
    "--no-renames",
    "--no-color",
    "--no-ext-diff",
    "--no-textconv",
    "--no-relative",
    "--src-prefix=a/",
    "--dst-prefix=b/",
)
_APPLY_OPTIONS = ("--whitespace=nowarn", "--no-ignore-whitespace")
# Beyond these, the files are left to read-tree (whose cost does not grow with the change).
_MOST_FILES_PATCHED = 2000
_FILE_MODES = {"100644": False, "100755": True}  # a regular file's mode -> executable
_LINK = "120000"
_SUBMODULE = "160000"


def operation_in_progress(worktree: Path) -> str | None:
    """The git operation a worktree is in the middle of (merge, rebase, ...), if any."""
    return operation_at(marker_paths(worktree))


def marker_paths(worktree: Path) -> list[str]:
    """Where git keeps the worktree's operation markers (its own `--git-path` answers)."""
    return run_git(["rev-parse", *_MARKER_PATHS], worktree).text.splitlines()


def operation_at(marker_paths: list[str]) -> str | None:
    """The operation whose marker exists (as git's own prompt script tells them)."""
    return _operation(marker_paths)


def _operation(marker_paths: list[str]) -> str | None:
    # not strict: a path git did not print is a marker that cannot be there
    pairs = zip(marker_paths, _OPERATION_MARKERS, strict=False)
    return next((name for path, (_, name) in pairs if os.path.lexists(path)), None)


def fast_forward_checkout(
    worktree: Path, branch: str, new: str, old: str, drop: Sequence[Landed] = ()
) -> AdvanceResult:
    """Fast-forward `branch`, checked out in `worktree` at `old`, to `new`, or say why not.
    The landed branches of `drop` go with the ref's move (see refs.py) when it is ours.

    Raises TargetMoved when the checkout is no longer `branch` at `old` (the user committed
    or switched branches); returns a blocked result, having changed nothing, when git refuses.
    """
    symbolic, head, busy = _state(worktree)
    if busy is not None:
        reason = f"{worktree} is in the middle of a {busy}; finish or abort it and the merge resumes"
        return AdvanceResult("blocked", new, reason=reason, worktree=worktree)
    _require(worktree, branch, old, symbolic, head)
    diff = _diff(worktree, old, new)
    in_the_way = files_in_the_way(worktree, _added_paths(worktree, old, new, diff))
    if in_the_way:
        names = parsing.file_names(in_the_way)
        reason = f"{worktree}: untracked {names} would be overwritten; move them away and the merge resumes"
        return AdvanceResult("blocked", new, reason=reason, files=tuple(in_the_way), worktree=worktree)
    if _move_checkout(worktree, old, new, diff):
        dropped = _move_checked_out_ref(worktree, branch, new, old, drop)
        return AdvanceResult("advanced", new, how="fast-forward", worktree=worktree, dropped=dropped)
    out = run_git(["merge", "--ff-only", "--no-autostash", "--no-stat", "--quiet", new], worktree, check=False)
    if out.code == 0:
        return AdvanceResult("advanced", new, how="fast-forward", worktree=worktree)
    require_head(worktree, branch, old)
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
    # read-tree trusts the index's stat data; a file changed back (the user's revert) needs a refresh
    # to count as unchanged, as git's porcelain commands refresh before they merge.
    run_git(["update-index", "-q", "--refresh"], worktree, check=False)
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


def _move_checkout(worktree: Path, old: str, new: str, diff: _Diff | None) -> bool:
    """The checkout's index and files from `old` to `new`: by their diff where it applies as is,
    else by git's two-way merge; False when git refused (nothing changed)."""
    if diff is not None and _patch_checkout(worktree, diff):
        return True
    return run_git(["read-tree", "-m", "-u", old, new], worktree, check=False).code == 0


def _patch_checkout(worktree: Path, diff: _Diff) -> bool:
    """Bring `worktree`'s index and files across `diff` with `git apply --index`; False, having
    changed nothing, unless every file it touches is as the old commit has it and apply agrees."""
    changes, patch = diff
    if not changes:
        return True
    if len(changes) > _MOST_FILES_PATCHED or not all(_patchable(worktree, change) for change in changes):
        return False
    if not _as_head_has_them(worktree, [change.path for change in changes if change.status != "A"]):
        return False
    return run_git(["apply", "--index", *_APPLY_OPTIONS], worktree, stdin=patch, check=False).code == 0


def _patchable(worktree: Path, change: RawChange) -> bool:
    """A change apply can make to the files as well as the index: an added path that is
    absent, or a file, link or executable on disk of the kind the old commit has (a mode git
    does not see, core.fileMode off, is left to read-tree)."""
    path = worktree / change.path
    if _SUBMODULE in (change.old_mode, change.new_mode):  # apply would touch only the index there
        return False
    if change.status == "A":
        return not os.path.lexists(path)
    if change.status not in ("M", "D", "T"):
        return False
    try:
        info = os.lstat(path)
    except OSError:
        return False
    if change.old_mode == _LINK:
        return stat.S_ISLNK(info.st_mode)
    executable = _FILE_MODES.get(change.old_mode)
    return executable is not None and stat.S_ISREG(info.st_mode) and bool(info.st_mode & stat.S_IXUSR) == executable


def _as_head_has_them(worktree: Path, paths: list[str]) -> bool:
    """Git finds nothing staged and nothing changed in `paths` (HEAD is the old commit): a staged
    edit in lines the patch does not touch would apply, but the user's work must wait."""
    if not paths:
        return True
    argv = [
        "status",
        "--porcelain=v1",
        "-z",
        "--untracked-files=no",
        "--ignore-submodules=none",
        "--no-renames",
        "--",
        *(f":(literal){path}" for path in paths),
    ]
    out = run_git(argv, worktree, check=False)
    return out.code == 0 and not out.stdout


def _move_checked_out_ref(worktree: Path, branch: str, new: str, old: str, drop: Sequence[Landed]) -> tuple[str, ...]:
    """The checkout already shows `new`; now its branch. Run in `worktree`, so its HEAD's reflog
    records the move too. Failing means the user committed in the instant between: their
    commit stands and the merge is done again on top of it."""
    ref = f"refs/heads/{branch}"
    out, dropped = refs.move_ref(worktree, ref, new, old, "oompa: merge queue (fast-forward)", drop)
    if out.code != 0:
        raise TargetMoved(
            f"{branch} moved while its checkout was being updated ({out.stderr.strip()}); merge again on top of it"
        )
    return dropped


def require_head(worktree: Path, branch: str, expected: str) -> None:
    """Raise TargetMoved unless `worktree` has `branch` checked out at `expected`."""
    symbolic, head, _ = _state(worktree)
    _require(worktree, branch, expected, symbolic, head)


def _require(worktree: Path, branch: str, expected: str, symbolic: str, head: str) -> None:
    if symbolic != f"refs/heads/{branch}":
        raise TargetMoved(f"{worktree} no longer has {branch} checked out; read the target again and retry")
    if head != expected:
        raise TargetMoved(f"{branch} moved to {head[:12]} (expected {expected[:12]}); merge again on top of it")


def _state(worktree: Path) -> tuple[str, str, str | None]:
    """The branch ref `worktree` has checked out ("HEAD" when detached), its commit and the
    operation half done there, from one `git rev-parse` (the worktree's HEAD is its own, so the
    repository's cat-file cannot answer it)."""
    out = run_git(["rev-parse", "HEAD", "--symbolic-full-name", "HEAD", *_MARKER_PATHS], worktree, check=False)
    lines = out.text.splitlines()
    if out.code != 0 or len(lines) != 2 + len(_OPERATION_MARKERS):
        return "", "", None  # no HEAD git can read: not the branch we expect
    return lines[1], lines[0], _operation(lines[2:])


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
