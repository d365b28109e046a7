"""The repository the swarm works on: `Repo`, composed of one class per concern.

    base.py       the state (root, the cat-file, the worktree-add limit), refs and ancestry,
                  the worktree list, the shared guards
    merging.py    merges without a checkout (merge-tree), a resolver's merge in a worktree
    branches.py   the target's advance, parking, releasing and deleting branches
    worktrees.py  making, reusing, resetting and removing worktrees
    repo.py       Repo itself: finding the repository, commits and status, diffs and file
                  contents, local excludes

`Repo` holds the main repository root and one long-lived `git cat-file --batch-command`
(catfile.py; nothing else is kept): each method asks git and returns, so the engine may call
it from worker threads. Two calls on the same worktree at once are the caller's business
(git's own locks make the loser fail loudly). A process costs milliseconds and a task needs
dozens, so the plainest questions (which commit does this name, what are its tree and
parents, what is this file at that commit?) go to that one cat-file instead of a process
each; everything else, every write included, is a git command. Nothing here reads or writes
git's own files (DESIGN §2.9). `close()` ends the cat-file at the end of a run.

What it protects (DESIGN §2): the user's main checkout is never reset, cleaned, committed in
or merged into (those methods refuse it); the only thing that moves a checked-out branch is
`advance_target`, which fast-forwards with git's own safety checks. The target branch moves by
compare-and-swap only. Unmerged work is parked under refs/oompa/parked/, never deleted.

Must not import: engine, lsp, cli.
"""

from __future__ import annotations

import logging
import os
import re
from collections.abc import Iterable
from pathlib import Path

from oompa_lsp.core.errors import GitCommandFailed, RepositoryError

from . import parsing
from .base import RepoBase, real_path
from .branches import PARKED_PREFIX, BranchesMixin
from .command import run_git, run_git_with_identity
from .merging import MergeStrategy, MergingMixin
from .records import ChangedFile, StatusEntry
from .worktrees import WorktreesMixin

__all__ = ["MIN_GIT_VERSION", "PARKED_PREFIX", "MergeStrategy", "Repo"]

log = logging.getLogger(__name__)

MIN_GIT_VERSION = (2, 38)
_DIFF_OPTIONS = (
    "--no-color",
    "--no-ext-diff",
    "--no-textconv",
    "--find-renames",
    "--no-relative",
    "--src-prefix=a/",
    "--dst-prefix=b/",
)


class Repo(WorktreesMixin, BranchesMixin, MergingMixin, RepoBase):
    """A non-bare git repository with at least one commit; `root` is its main worktree."""

    __slots__ = ()

    @classmethod
    def discover(cls, path: str | os.PathLike[str]) -> Repo:
        """The repository containing `path`, or RepositoryError saying what to do."""
        start = Path(os.path.realpath(Path(path).expanduser()))
        cwd = start if start.is_dir() else start.parent
        if not cwd.is_dir():
            raise RepositoryError(f"{start} does not exist: open a folder inside a git repository")
        _require_git_version(cwd)
        repo = cls(_main_work_tree_of(_work_tree_of(cwd)))
        if run_git(["rev-parse", "--verify", "-q", "HEAD^{commit}"], repo.root, check=False).code != 0:
            raise RepositoryError(
                f"{repo.root} has no commits yet: make a first commit "
                "(for example `git commit --allow-empty -m 'Initial commit'`) and start again"
            )
        return repo

    def exclude_local(self, patterns: Iterable[str]) -> list[str]:
        """Add the missing `patterns` to .git/info/exclude (never .gitignore); return those added."""
        path = Path(run_git(["rev-parse", "--path-format=absolute", "--git-path", "info/exclude"], self.root).line)
        text = path.read_text(encoding="utf-8", errors="replace") if path.exists() else ""
        present = {line.strip() for line in text.splitlines()}
        missing = [pattern for pattern in dict.fromkeys(patterns) if pattern.strip() not in present]
        if missing:
            path.parent.mkdir(parents=True, exist_ok=True)
            separator = "\n" if text and not text.endswith("\n") else ""
            with path.open("a", encoding="utf-8") as exclude:
                exclude.write(separator + "".join(f"{pattern}\n" for pattern in missing))
        return missing

    def commit_all(self, worktree: Path, message: str, branch: str | None = None) -> str | None:
        """Stage everything (new files included, ignored ones not) and commit; the new HEAD,
        or None when there was nothing to commit. Concludes a merge in progress. `branch`:
        the one checked out there, whose tip the shared cat-file reads without a process."""
        worktree = real_path(worktree)
        self._refuse_main_checkout(worktree, "commit in")
        run_git(["add", "-A"], worktree)
        # Hooks are the user's interactive tooling; the swarm runs its configured checks instead.
        # Git's auto maintenance would start one more process per commit: the engine runs it
        # itself now and then (`run_auto_maintenance`).
        argv = ["-c", "maintenance.auto=false", "commit", "-q", "--no-verify", "-m", message]
        if run_git(argv, worktree, check=False).code == 0:
            return self._tip_after_commit(worktree, branch)
        # Asked only now: "was anything staged?" costs a process and the answer is nearly always yes.
        staged = run_git(["diff", "--cached", "--quiet"], worktree, check=False)
        if staged.code not in (0, 1):
            raise GitCommandFailed(["diff", "--cached", "--quiet"], staged.code, staged.stderr)
        if staged.code == 0 and self.operation_in(worktree) != "merge":
            return None
        run_git_with_identity(argv, worktree)
        return self._tip_after_commit(worktree, branch)

    def _tip_after_commit(self, worktree: Path, branch: str | None) -> str:
        return self.rev_parse(f"refs/heads/{branch}") if branch else self.head(worktree)

    def run_auto_maintenance(self) -> None:
        """What `git commit` does after each commit (gc when loose objects pile up; git decides
        and runs it in the background), for the swarm's commits, which skip it."""
        out = run_git(["maintenance", "run", "--auto", "--quiet"], self.root, check=False)
        if out.code != 0:
            log.warning("git maintenance run --auto failed (exit %d): %s", out.code, out.stderr.strip())

    def status_porcelain(self, worktree: Path) -> list[StatusEntry]:
        """Modified, staged and untracked (not ignored) files of `worktree`."""
        return self.status_and_head(worktree)[0]

    def status_and_head(self, worktree: Path) -> tuple[list[StatusEntry], str | None]:
        """`status_porcelain` and the commit the worktree's HEAD is at, from one git process."""
        out = run_git(["status", "--porcelain=v2", "-z", "--branch", "--untracked-files=all"], Path(worktree))
        return parsing.status_v2(out.fields())

    def dirty_fingerprint(self, worktree: Path) -> dict[str, tuple[str, int, int]]:
        """Each uncommitted path of `worktree` with its status code, mtime and size: two
        fingerprints differ where a file was changed, added or deleted in between."""
        found: dict[str, tuple[str, int, int]] = {}
        for entry in self.status_porcelain(worktree):
            try:
                info = os.lstat(Path(worktree) / entry.path)
                found[entry.path] = (entry.code, info.st_mtime_ns, info.st_size)
            except OSError:
                found[entry.path] = (entry.code, 0, -1)
        return found

    def has_changes(self, worktree: Path) -> bool:
        return bool(self.status_porcelain(worktree))

    def diff_from_merge_base(self, target: str, head: str) -> str:
        """Unified diff of `head` against merge-base(target, head): only the branch's own
        changes, however far the target moved since. Binary files appear by name."""
        head = self.rev_parse(head)
        target = self.rev_parse(target)
        # `A...B` is the diff from their merge base, found by the same git process.
        out = run_git(["diff", *_DIFF_OPTIONS, f"{target}...{head}", "--"], self.root, check=False)
        if out.code == 0:
            return out.text
        base = self.merge_base(target, head) or self._empty_tree()
        return run_git(["diff", *_DIFF_OPTIONS, base, head, "--"], self.root).text

    def changed_files(self, base: str, head: str) -> list[ChangedFile]:
        """Files that differ between two commits, renames detected."""
        base, head = self.rev_parse(base), self.rev_parse(head)
        out = run_git(["diff", "--name-status", "-z", "--find-renames", "--no-relative", base, head, "--"], self.root)
        return parsing.name_status(out.fields())

    def file_at(self, commit: str, path: str) -> bytes | None:
        """The content of `path` at `commit`; None when it is not a file there."""
        found = self._objects.contents(f"{commit}:{path}")
        return found[1] if found is not None and found[0].kind == "blob" else None

    def _empty_tree(self) -> str:
        return run_git(["hash-object", "-t", "tree", "--stdin"], self.root, stdin=b"").line


def _require_git_version(cwd: Path) -> None:
    text = run_git(["version"], cwd).line
    found = re.search(r"(\d+)\.(\d+)", text)
    version = (int(found.group(1)), int(found.group(2))) if found else (0, 0)
    if version < MIN_GIT_VERSION:
        raise RepositoryError(f"{text} is too old: oompa needs git 2.38 or newer (for merge-tree --write-tree)")


def _work_tree_of(cwd: Path) -> Path:
    """The top of the working tree containing `cwd`, or RepositoryError saying what to do."""
    probe = run_git(["rev-parse", "--is-bare-repository", "--is-inside-work-tree"], cwd, check=False)
    if probe.code != 0:
        raise RepositoryError(
            f"{cwd} is not inside a git repository: run `git init` and commit, or open the repository's folder"
        )
    bare, inside = probe.text.split()
    if bare == "true":
        raise RepositoryError(f"{cwd} is a bare repository: open a worktree of it (`git worktree add <dir>`) instead")
    if inside != "true":
        raise RepositoryError(f"{cwd} is inside a .git folder: open the repository's working tree instead")
    return Path(os.path.realpath(run_git(["rev-parse", "--show-toplevel"], cwd).line))


def _main_work_tree_of(toplevel: Path) -> Path:
    """The repository's main checkout, seen from the working tree `toplevel`: itself when its
    git dir is the common one (also when that lives elsewhere: `--separate-git-dir`, a
    submodule); for a linked worktree, the main one `git worktree list` names (or `toplevel`
    when the repository is bare)."""
    dirs = run_git(["rev-parse", "--path-format=absolute", "--git-dir", "--git-common-dir"], toplevel).text.split("\n")
    if os.path.realpath(dirs[0]) == os.path.realpath(dirs[1]):
        return toplevel
    main = parsing.worktree_list(run_git(["worktree", "list", "--porcelain", "-z"], toplevel).fields())[0]
    if main.bare:
        return toplevel
    path = Path(os.path.realpath(main.path))
    if not (path / ".git").exists():  # git names a separate git dir as the main worktree's path
        raise RepositoryError(
            f"{toplevel} is a linked worktree of a repository whose git dir is kept apart ({path}): "
            "open its main checkout instead"
        )
    return path
