"""Repo's merges: computed without a checkout, or done for real inside a worker's worktree.

`merge_trees` merges two commits in the object store only (`git merge-tree --write-tree`,
git >= 2.38: the cost follows the changed paths, not the size of the tree) and makes the
merge commit with `git commit-tree`; no ref moves here. `is_merged` says whether a branch's
changes are already in another. The resolver's turn is a real `git merge` in a worktree
(never the main checkout), with its conflicted files, their markers, and `abort_merge`.

Must not import: repo, branches, worktrees (they build on this), engine, lsp, cli.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from pathlib import Path
from typing import Literal

from oompa_lsp.core.errors import GitCommandFailed, RepositoryError

from . import parsing
from .base import RepoBase, real_path
from .command import identity_config, run_git, run_git_with_identity
from .records import MergeResult

_CONFLICT_MARKER = re.compile(rb"^(<<<<<<<|>>>>>>>) ", re.MULTILINE)
# Resolvers (agents) get the common ancestor in conflict hunks: it says what each side changed.
_RESOLVER_CONFIG = {"merge.conflictStyle": "zdiff3"}

MergeStrategy = Literal["merge", "squash"]


class MergingMixin(RepoBase):
    """Merging for Repo: in the object store, or in a worktree for a resolver."""

    __slots__ = ()

    def merge_trees(
        self,
        target_commit: str,
        branch_commit: str,
        message: str,
        *,
        strategy: MergeStrategy = "merge",
        fast_forward: bool = False,
    ) -> MergeResult:
        """Merge `branch_commit` onto `target_commit` in the object store only.

        "merge" makes a commit with parents (target, branch), even when a fast-forward would
        do, so the target's first-parent history holds only commits that passed the checks;
        pass `fast_forward=True` to allow one. "squash" makes a one-parent commit. When the
        target already contains the branch (or, for squash, its changes) the result is
        "up_to_date". Conflicts create nothing and list the files. No ref moves here.
        """
        if strategy not in ("merge", "squash"):
            raise RepositoryError(
                f"merge strategy {strategy!r} is not supported without a checkout (use merge or squash)"
            )
        target, branch = self.rev_parse(target_commit), self.rev_parse(branch_commit)
        if self._is_self_or_parent(branch, target):
            return MergeResult("up_to_date", commit=target, tree=self._tree_of(target))
        if fast_forward and strategy == "merge" and self.is_ancestor(target, branch):
            return MergeResult("fast_forward", commit=branch, tree=self._tree_of(branch))
        tree, conflicts, messages = self._merge_tree(target, branch)
        if tree is None:
            return MergeResult("conflict", conflicts=tuple(conflicts), messages=tuple(messages))
        # Only a branch the target contains (or, squashed, whose changes it has) merges to the
        # target's own tree, so git is asked about ancestry only then.
        if tree == self._tree_of(target) and (strategy == "squash" or self.is_ancestor(branch, target)):
            return MergeResult("up_to_date", commit=target, tree=tree)
        parents = [target] if strategy == "squash" else [target, branch]
        return MergeResult("merged", commit=self._commit_tree(tree, parents, message), tree=tree)

    def only_merges_beyond(self, commit: str, into: str) -> bool:
        """True when every commit `commit` has beyond `into` that is not a merge is also on a
        branch or a parked ref: what only `commit` holds is merges, which the queue can make
        again (a merge train's check worktree, left by a run that was killed)."""
        argv = ["rev-list", "--no-merges", "--count", self.rev_parse(commit), "--not", self.rev_parse(into)]
        out = run_git([*argv, "--branches", "--glob=refs/oompa/parked/*"], self.root)
        return out.line == "0"

    def is_merged(self, commit: str, into: str) -> bool:
        """True when `into` already has the changes of `commit`: it is an ancestor, or (after a
        squash) merging it into `into` would change nothing."""
        commit, into = self.rev_parse(commit), self.rev_parse(into)
        if self.is_ancestor(commit, into):
            return True
        out = run_git(["merge-tree", "--write-tree", "--name-only", "-z", into, commit], self.root, check=False)
        return out.code == 0 and out.fields()[0] == self._tree_of(into)

    def merge_into_worktree(self, worktree: Path, target: str, message: str | None = None) -> list[str]:
        """Merge `target` into the branch checked out in `worktree`. Clean: committed, returns [].
        Conflicts: returns the conflicted files, markers left in them for a resolver; finish
        with `commit_all` or undo with `abort_merge`. Never the main checkout."""
        worktree = real_path(worktree)
        self._refuse_main_checkout(worktree, "merge into")
        sha = self.rev_parse(target)
        message = message or f"Merge {target}"
        argv = ["merge", "--no-ff", "--no-edit", "--no-autostash", "--no-verify", "-m", message, sha]
        config = {**identity_config(worktree), **_RESOLVER_CONFIG}
        out = run_git(argv, worktree, config=config, check=False)
        if out.code == 0:
            return []
        conflicted = self.unmerged_files(worktree)
        if not conflicted:
            raise GitCommandFailed(argv, out.code, out.stderr)
        return conflicted

    def unmerged_files(self, worktree: Path) -> list[str]:
        """Files git still records as conflicted in `worktree`."""
        out = run_git(["diff", "--name-only", "--diff-filter=U", "-z"], Path(worktree))
        return list(dict.fromkeys(out.fields()))

    def files_with_conflict_markers(self, worktree: Path, paths: Iterable[str]) -> list[str]:
        """Those of `paths` (relative to `worktree`) that still contain conflict markers."""
        return [path for path in paths if _has_conflict_markers(Path(worktree) / path)]

    def abort_merge(self, worktree: Path) -> bool:
        """Undo a merge in progress in `worktree`; False when there was none."""
        worktree = real_path(worktree)
        self._refuse_main_checkout(worktree, "abort a merge in")
        if self.operation_in(worktree) != "merge":
            return False
        run_git(["merge", "--abort"], worktree)
        return True

    def _merge_tree(self, target: str, branch: str) -> tuple[str | None, list[str], list[str]]:
        """The merged tree, or None with the conflicted files and git's messages."""
        argv = ["merge-tree", "--write-tree", "--name-only", "-z", target, branch]
        out = run_git(argv, self.root, check=False)
        if out.code not in (0, 1):
            raise GitCommandFailed(argv, out.code, out.stderr)
        tree, conflicts, messages = parsing.merge_tree(out.fields())
        return (tree, [], []) if out.code == 0 else (None, conflicts, messages)

    def _commit_tree(self, tree: str, parents: list[str], message: str) -> str:
        argv = ["commit-tree", tree, *(part for parent in parents for part in ("-p", parent)), "-m", message]
        return run_git_with_identity(argv, self.root).line


def _has_conflict_markers(path: Path) -> bool:
    try:
        return _CONFLICT_MARKER.search(path.read_bytes()) is not None
    except OSError:
        return False
