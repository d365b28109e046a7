"""Repo's shared state, and the questions every other part of it asks of git.

`RepoBase` holds all the state a `Repo` keeps: the main worktree's root, the run's one
long-lived `git cat-file --batch-command` (catfile.py) and the limit on concurrent
`git worktree add`s. On top of it, the reads the writers share: which commit a name means,
its tree and parents, ancestry, the worktrees git knows; and the guards they share (the
user's main checkout refused, branch and ref names checked). Nothing here changes the
repository: merging.py, branches.py, worktrees.py and repo.py do, each through git.

Must not import: repo, merging, branches, worktrees (they build on this), engine, lsp, cli.
"""

from __future__ import annotations

import dataclasses
import os
import threading
from collections.abc import Sequence
from pathlib import Path

from oompa_lsp.core.errors import GitCommandFailed, RepositoryError

from . import checkout, parsing
from .catfile import CatFile
from .command import run_git
from .records import Worktree

_WORKTREE_ADDS_AT_ONCE = 2


class RepoBase:
    """The state of a Repo (see repo.py) and the read-only questions its parts share."""

    __slots__ = ("_adding", "_markers", "_markers_lock", "_objects", "root")

    def __init__(self, root: Path) -> None:
        self.root = root
        # Few `git worktree add`s at a time from this process: a git that reads the worktree list
        # while another add is half done dies on its entry, and sixty-four workers starting at
        # once outlasted every retry (command.py). Two at a time keep two cores busy at the
        # start of a run, where one at a time left workers waiting for their turn.
        self._adding = threading.BoundedSemaphore(_WORKTREE_ADDS_AT_ONCE)
        # The run's one cat-file, started on the first question (catfile.py).
        self._objects = CatFile(root)
        # Where each worktree's operation markers (MERGE_HEAD, rebase-merge, ...) would be, as
        # `git rev-parse --git-path` names them: fixed while the worktree exists, so asked once.
        self._markers: dict[Path, list[str]] = {}
        self._markers_lock = threading.Lock()

    def operation_in(self, worktree: Path) -> str | None:
        """The git operation `worktree` is in the middle of (merge, rebase, ...), if any."""
        with self._markers_lock:
            paths = self._markers.get(worktree)
        if paths is None:
            paths = checkout.marker_paths(worktree)
            with self._markers_lock:
                self._markers[worktree] = paths
        return checkout.operation_at(paths)

    def forget_markers(self, worktree: Path) -> None:
        """The worktree was removed or added again: its git dir may be another."""
        with self._markers_lock:
            self._markers.pop(worktree, None)

    def __repr__(self) -> str:
        return f"Repo({str(self.root)!r})"

    def close(self) -> None:
        """End the long-lived git process of this run (a later call starts another)."""
        self._objects.close()

    def current_branch(self) -> str | None:
        """The branch checked out in the main worktree; None when HEAD is detached."""
        out = run_git(["symbolic-ref", "-q", "HEAD"], self.root, check=False)
        return out.line.removeprefix("refs/heads/") if out.code == 0 else None

    def rev_parse(self, ref: str) -> str:
        """The full commit id `ref` names; RepositoryError when it names no commit."""
        commit = self._commit_of(ref)
        if commit is None:
            raise RepositoryError(f"{ref!r} does not name a commit in {self.root}")
        return commit

    def branch_exists(self, name: str) -> bool:
        return self._commit_of(f"refs/heads/{name}") is not None

    def list_branches(self, prefix: str) -> dict[str, str]:
        """Local branches whose short name starts with `prefix`, mapped to their commits."""
        out = run_git(["for-each-ref", "--format=%(refname:short)%00%(objectname)", f"refs/heads/{prefix}"], self.root)
        return dict(line.split("\0", 1) for line in out.text.splitlines() if line)

    def head(self, worktree: Path) -> str:
        """The commit checked out in `worktree`."""
        # HEAD is the worktree's own: the repository's cat-file would answer for the main one.
        return run_git(["rev-parse", "--verify", "HEAD"], Path(worktree)).line

    def is_ancestor(self, ancestor: str, descendant: str) -> bool:
        if self._is_self_or_parent(ancestor, descendant):  # the queue's usual question, without a process
            return True
        out = run_git(["merge-base", "--is-ancestor", ancestor, descendant], self.root, check=False)
        if out.code not in (0, 1):
            raise GitCommandFailed(["merge-base", "--is-ancestor", ancestor, descendant], out.code, out.stderr)
        return out.code == 0

    def merge_base(self, a: str, b: str) -> str | None:
        """The best common ancestor of `a` and `b`; None when their histories are unrelated."""
        out = run_git(["merge-base", a, b], self.root, check=False)
        if out.code not in (0, 1):
            raise GitCommandFailed(["merge-base", a, b], out.code, out.stderr)
        return out.line if out.code == 0 else None

    def commits_between(self, old: str, new: str) -> list[str]:
        """The commits `new` has and `old` has not, oldest first."""
        return run_git(["rev-list", "--reverse", f"{old}..{new}", "--"], self.root).stdout.decode().split()

    def subjects(self, commits: Sequence[str]) -> list[str]:
        """Each commit as "<short id> <subject>"."""
        if not commits:
            return []
        out = run_git(["log", "--no-walk=unsorted", "--format=%h %s", *commits, "--"], self.root)
        return out.stdout.decode("utf-8", "replace").splitlines()

    def first_parent_subjects(self, ref: str, since: int) -> list[tuple[str, int, str]]:
        """(commit, commit time, subject) of `ref`'s first-parent history committed at or after
        `since` (epoch seconds), newest first: what the merge queue put there lately."""
        out = run_git(["log", "--first-parent", f"--since={since}", "--format=%H%x00%ct%x00%s", ref, "--"], self.root)
        rows = [line.split("\0", 2) for line in out.text.splitlines()]
        return [(row[0], int(row[1]), row[2]) for row in rows if len(row) == 3]

    def tree_of(self, commit: str) -> str:
        """The id of the tree `commit` holds."""
        return self._tree_of(commit)

    def same_tree(self, a: str, b: str) -> bool:
        """Whether two commits hold the same files (a commit that changed nothing, say)."""
        return self._tree_of(a) == self._tree_of(b)

    def list_worktrees(self) -> list[Worktree]:
        """Every worktree git knows, the main one first."""
        found = parsing.worktree_list(run_git(["worktree", "list", "--porcelain", "-z"], self.root).fields())
        if found and not found[0].bare:
            # With its git dir kept apart (a submodule, `--separate-git-dir`) git names that
            # dir as the main worktree's path; the checkout is our root.
            found[0] = dataclasses.replace(found[0], path=self.root)
        return found

    def worktree_for_branch(self, branch: str) -> Worktree | None:
        """The worktree (still on disk) that has `branch` checked out, if any."""
        return next((wt for wt in self.list_worktrees() if wt.branch == branch and not wt.prunable), None)

    def _commit_of(self, ref: str) -> str | None:
        """The commit `ref` names (git resolves it, peeling tags); None when it names none."""
        found = self._objects.info(f"{ref}^{{commit}}")
        return found.oid if found is not None and found.kind == "commit" else None

    def _is_self_or_parent(self, ancestor: str, descendant: str) -> bool:
        """`ancestor` is `descendant` or one of its parents (a merge's own parents, most often):
        one question to the cat-file, where `merge-base --is-ancestor` is a process. False
        means "not that near", not "not an ancestor"."""
        a, d = self._commit_of(ancestor), self._commit_of(descendant)
        return a is not None and d is not None and (a == d or a in self._parents(d))

    def _parents(self, commit: str) -> tuple[str, ...]:
        found = self._objects.contents(commit)
        if found is None or found[0].kind != "commit":
            return ()
        return parsing.commit_parents(found[1])

    def _tree_of(self, commit: str) -> str:
        found = self._objects.info(f"{commit}^{{tree}}")
        if found is None or found.kind != "tree":
            raise RepositoryError(f"{commit!r} does not name a commit in {self.root}")
        return found.oid

    def _check_ref_name(self, ref: str) -> None:
        if run_git(["check-ref-format", ref], self.root, check=False).code != 0:
            raise RepositoryError(f"{ref!r} is not a valid git ref name")

    def _registered_worktree(self, path: Path) -> Worktree | None:
        return next((wt for wt in self.list_worktrees() if real_path(wt.path) == path), None)

    def _refuse_main_checkout(self, path: Path, action: str) -> None:
        if path == self.root:
            raise RepositoryError(f"refusing to {action} {path}: it is the user's checkout")


def check_branch_name(branch: str) -> None:
    # A leading dash would read as an option in `worktree add -B <branch>`.
    if not branch or branch.startswith("-") or any(part.startswith(".") or part == "" for part in branch.split("/")):
        raise RepositoryError(f"{branch!r} is not a usable branch name")


def real_path(path: Path | str) -> Path:
    return Path(os.path.realpath(Path(path).expanduser()))
