"""Repo's worktrees: made or reused on a branch, reset, checked out detached, removed.

`ensure_check_worktree` keeps one of the merge queue's check worktrees (detached, on a
merged commit). `ensure_worktree` makes a worktree with `git worktree add` (a few at a time from this
process) or reuses one: half-done operations abandoned, branch reset, untracked files
removed, ignored ones kept; work the branch holds that the start point does not is parked
first (branches.py). None of these methods touches the user's main checkout: they refuse it.
Listing the worktrees git knows is base.py's (the branch moves ask it too).

Must not import: repo (it builds on this), engine, lsp, cli.
"""

from __future__ import annotations

from collections.abc import Iterable
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

from oompa_lsp.core.errors import RepositoryError

from .base import check_branch_name, real_path
from .branches import BranchesMixin
from .cleanup import disk_usage
from .command import run_git
from .records import CleanupReport

_WORKTREE_REMOVALS_AT_ONCE = 2


class WorktreesMixin(BranchesMixin):
    """The worktrees' lifecycle for Repo."""

    __slots__ = ()

    def ensure_worktree(self, path: Path, branch: str, start_point: str, *, remove_untracked: bool = True) -> bool:
        """Make `path` a worktree on `branch` at `start_point`; True when an existing one was reused.

        New: `git worktree add`. Existing: any half-done operation is abandoned, the branch
        reset to `start_point` and untracked files removed, but ignored files (build outputs,
        installed dependencies, copied .env) are kept. If `branch` holds work that
        `start_point` does not contain, that work is parked first, never dropped. A caller
        that knows the worktree has no untracked files (all committed since) may pass
        `remove_untracked=False` to spare the `git clean`.
        """
        path = real_path(path)
        self._refuse_main_checkout(path, "reset")
        check_branch_name(branch)
        start = self.rev_parse(start_point)
        self._park_unmerged_branch(branch, start)
        known = self._registered_worktree(path)
        if known is not None and not known.prunable and path.is_dir():
            self._reset_worktree(path, branch, start, remove_untracked)
            return True
        if known is not None:
            self.prune_worktrees()
        self._add_worktree(path, branch, start)
        return False

    def ensure_check_worktree(self, path: Path, commit: str) -> bool:
        """Make `path` a detached worktree at `commit`, clean (ignored files kept), for the merge
        queue's checks; True when an existing one was reused. No branch is involved: a merged
        tree that has not landed belongs to no branch. Never the main checkout."""
        path = real_path(path)
        self._refuse_main_checkout(path, "check out a commit in")
        known = self._registered_worktree(path)
        if known is not None and not known.prunable and path.is_dir():
            self.checkout_detached(path, commit)
            return True
        if known is not None:
            self.prune_worktrees()
        if path.exists() and any(path.iterdir()):
            raise RepositoryError(f"{path} exists and is not a worktree of {self.root}: move it away")
        path.parent.mkdir(parents=True, exist_ok=True)
        self.forget_markers(path)
        with self._adding:
            run_git(["worktree", "add", "-q", "--detach", str(path), self.rev_parse(commit)], self.root)
        return False

    def remove_worktree(self, path: Path, *, force: bool = False) -> None:
        """Remove a worktree of this repository (its branch stays). Without `force`, git
        refuses a worktree with modified or untracked files. Never the main checkout."""
        path = real_path(path)
        self._refuse_main_checkout(path, "remove")
        self.forget_markers(path)
        known = self._registered_worktree(path)
        if known is None:
            if path.exists():
                raise RepositoryError(f"{path} is not a worktree of {self.root}; leaving it alone")
            return
        if known.prunable or not path.exists():
            self.prune_worktrees()
            return
        run_git(["worktree", "remove", *(["--force"] if force else []), str(path)], self.root)

    def prune_worktrees(self) -> None:
        """Forget worktrees whose folders are gone."""
        run_git(["worktree", "prune"], self.root)

    def remove_worktrees(self, paths: Iterable[Path], *, force: bool = False) -> CleanupReport:
        """Remove each worktree in `paths`; report what was removed, skipped and the disk freed.

        Two at a time: removing is deleting files, and a swarm ends by removing one per worker.
        """
        with ThreadPoolExecutor(max_workers=_WORKTREE_REMOVALS_AT_ONCE) as pool:
            unique = dict.fromkeys(map(real_path, paths))  # one removal per folder, however often named
            outcomes = list(pool.map(lambda path: self._remove_measured(path, force), unique))
        removed = tuple(path for path, _, problem in outcomes if problem is None)
        skipped = tuple((path, problem) for path, _, problem in outcomes if problem is not None)
        return CleanupReport(removed, sum(freed for _, freed, _ in outcomes), skipped)

    def _remove_measured(self, path: Path, force: bool) -> tuple[Path, int, str | None]:
        """(path, bytes freed, why it was left alone or None)."""
        before = disk_usage(path)
        try:
            self.remove_worktree(path, force=force)
        except RepositoryError as exc:
            return path, 0, str(exc)
        return path, before - disk_usage(path), None

    def checkout_detached(self, worktree: Path, commit: str) -> None:
        """Put `worktree` on `commit`, detached and clean (ignored files kept), e.g. to run
        the checks on a merge result. Never the main checkout."""
        worktree = real_path(worktree)
        self._refuse_main_checkout(worktree, "check out a commit in")
        sha = self.rev_parse(commit)
        self._quit_operations(worktree)
        run_git(["checkout", "-q", "--force", "--detach", sha], worktree)
        run_git(["clean", "-fdq"], worktree)

    def discard_changes(self, worktree: Path, commit: str | None = None) -> None:
        """Throw away everything in `worktree` not committed (ignored files kept), moving its
        branch back to `commit` when given: how changes made during a review are undone."""
        worktree = real_path(worktree)
        self._refuse_main_checkout(worktree, "discard changes in")
        self._quit_operations(worktree)
        run_git(["reset", "-q", "--hard", *([self.rev_parse(commit)] if commit else [])], worktree)
        run_git(["clean", "-fdq"], worktree)

    def _reset_worktree(self, path: Path, branch: str, start: str, remove_untracked: bool) -> None:
        self._quit_operations(path)
        run_git(["checkout", "-q", "--force", "--no-track", "-B", branch, start], path)
        if remove_untracked:
            run_git(["clean", "-fdq"], path)

    def _quit_operations(self, worktree: Path) -> None:
        """Leave any half-done rebase, cherry-pick, revert or bisect. Every caller then resets
        the index and files (`checkout --force` or `reset --hard`), which also ends a merge
        (MERGE_HEAD and conflicted entries go): a reset here as well would walk the tree twice."""
        operation = self.operation_in(worktree)
        if operation in ("rebase", "cherry-pick", "revert"):
            run_git([operation, "--quit"], worktree)
        elif operation == "bisect":
            run_git(["bisect", "reset", "HEAD"], worktree)

    def _add_worktree(self, path: Path, branch: str, start: str) -> None:
        if path.exists() and any(path.iterdir()):
            raise RepositoryError(
                f"{path} exists and is not a worktree of {self.root}: move it away or choose another worktree folder"
            )
        path.parent.mkdir(parents=True, exist_ok=True)
        self.forget_markers(path)
        with self._adding:
            run_git(["worktree", "add", "-q", "--no-track", "-B", branch, str(path), start], self.root)
