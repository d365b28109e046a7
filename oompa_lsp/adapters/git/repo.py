"""The repository the swarm works on: refs, worktrees, commits, diffs, merges and parking.

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

Merges are computed without a checkout (`git merge-tree --write-tree`, git >= 2.38): the cost
follows the changed paths, not the size of the tree.

Must not import: engine, lsp, cli.
"""

from __future__ import annotations

import dataclasses
import logging
import os
import re
import threading
from collections.abc import Iterable, Sequence
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Literal

from oompa_lsp.core.errors import GitCommandFailed, RepositoryError, TargetMoved

from . import checkout, parsing, refs
from .catfile import CatFile
from .cleanup import disk_usage
from .command import identity_config, run_git, run_git_with_identity
from .records import AdvanceResult, ChangedFile, CleanupReport, MergeResult, ParkedRef, StatusEntry, Worktree
from .refs import Landed

log = logging.getLogger(__name__)

MIN_GIT_VERSION = (2, 38)
PARKED_PREFIX = "refs/oompa/parked/"
_MAX_PARK_SUFFIX = 100
_DIFF_OPTIONS = (
    "--no-color",
    "--no-ext-diff",
    "--no-textconv",
    "--find-renames",
    "--no-relative",
    "--src-prefix=a/",
    "--dst-prefix=b/",
)
_CONFLICT_MARKER = re.compile(rb"^(<<<<<<<|>>>>>>>) ", re.MULTILINE)
# Resolvers (agents) get the common ancestor in conflict hunks: it says what each side changed.
_RESOLVER_CONFIG = {"merge.conflictStyle": "zdiff3"}

_WORKTREE_ADDS_AT_ONCE = 2
_WORKTREE_REMOVALS_AT_ONCE = 2

MergeStrategy = Literal["merge", "squash"]


class Repo:
    """A non-bare git repository with at least one commit; `root` is its main worktree."""

    __slots__ = ("_adding", "_objects", "root")

    def __init__(self, root: Path) -> None:
        self.root = root
        # Few `git worktree add`s at a time from this process: a git that reads the worktree list
        # while another add is half done dies on its entry, and sixty-four workers starting at
        # once outlasted every retry (command.py). Two at a time keep two cores busy at the
        # start of a run, where one at a time left workers waiting for their turn.
        self._adding = threading.BoundedSemaphore(_WORKTREE_ADDS_AT_ONCE)
        # The run's one cat-file, started on the first question (catfile.py).
        self._objects = CatFile(root)

    def __repr__(self) -> str:
        return f"Repo({str(self.root)!r})"

    def close(self) -> None:
        """End the long-lived git process of this run (a later call starts another)."""
        self._objects.close()

    # -- finding the repository -------------------------------------------------------------

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

    # -- refs ---------------------------------------------------------------------------------

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

    def advance_ref(
        self, branch: str, new: str, old: str, reason: str = "oompa: merge queue", drop: Sequence[Landed] = ()
    ) -> tuple[str, ...]:
        """Compare-and-swap `refs/heads/<branch>` from `old` to `new`; TargetMoved if it moved.
        The branches of `drop` (name, tip) are deleted in the same transaction when they
        still point at their tips; returns the names of those deleted.

        Only for branches no worktree has checked out: use `advance_target` for the target.
        """
        _check_branch_name(branch)
        ref, new, old = f"refs/heads/{branch}", self.rev_parse(new), self.rev_parse(old)
        out, dropped = refs.move_ref(self.root, ref, new, old, reason, drop)
        if out.code == 0:
            return dropped
        current = self._commit_of(ref)
        if current != old:
            moved_to = (current or "nothing")[:12]
            raise TargetMoved(f"{branch} moved to {moved_to} (expected {old[:12]}); merge again on top of it")
        raise GitCommandFailed(["update-ref", ref, new, old], out.code, out.stderr)

    def advance_target(self, branch: str, new: str, old: str, drop: Sequence[Landed] = ()) -> AdvanceResult:
        """Move the target `branch` from `old` forward to `new`, safely for whoever has it out.

        Not checked out anywhere: compare-and-swap of the ref. Checked out in a worktree (the
        user's main checkout, usually): that checkout moved by git (`apply --index` of the
        diff, or git's two-way merge), then the ref by compare-and-swap (checkout.py), after
        checking its HEAD is still `old`; when git refuses (local changes or untracked files in
        the way, a held index lock) or an operation is half done, the result is "blocked" with a
        one-line reason and nothing changed. Raises TargetMoved when the branch is no longer at
        `old`. The landed branches of `drop` (name, tip) are deleted in the same ref transaction
        as the move (`dropped` says which).
        """
        new, old = self.rev_parse(new), self.rev_parse(old)
        if not self.is_ancestor(old, new):
            raise RepositoryError(f"{new[:12]} does not contain {branch} at {old[:12]}: the target only moves forward")
        holder = self.worktree_for_branch(branch)
        if holder is None:
            dropped = self.advance_ref(branch, new, old, drop=drop)
            return AdvanceResult("advanced", new, how="update-ref", dropped=dropped)
        return checkout.fast_forward_checkout(holder.path, branch, new, old, drop)

    # -- local excludes -------------------------------------------------------------------------

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

    # -- worktrees ------------------------------------------------------------------------------

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

    def ensure_worktree(self, path: Path, branch: str, start_point: str, *, remove_untracked: bool = True) -> bool:
        """Make `path` a worktree on `branch` at `start_point`; True when an existing one was reused.

        New: `git worktree add`. Existing: any half-done operation is abandoned, the branch
        reset to `start_point` and untracked files removed, but ignored files (build outputs,
        installed dependencies, copied .env) are kept. If `branch` holds work that
        `start_point` does not contain, that work is parked first, never dropped. A caller
        that knows the worktree has no untracked files (all committed since) may pass
        `remove_untracked=False` to spare the `git clean`.
        """
        path = _real(path)
        self._refuse_main_checkout(path, "reset")
        _check_branch_name(branch)
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

    def remove_worktree(self, path: Path, *, force: bool = False) -> None:
        """Remove a worktree of this repository (its branch stays). Without `force`, git
        refuses a worktree with modified or untracked files. Never the main checkout."""
        path = _real(path)
        self._refuse_main_checkout(path, "remove")
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
            unique = dict.fromkeys(map(_real, paths))  # one removal per folder, however often named
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
        worktree = _real(worktree)
        self._refuse_main_checkout(worktree, "check out a commit in")
        sha = self.rev_parse(commit)
        self._quit_operations(worktree)
        run_git(["checkout", "-q", "--force", "--detach", sha], worktree)
        run_git(["clean", "-fdq"], worktree)

    def discard_changes(self, worktree: Path, commit: str | None = None) -> None:
        """Throw away everything in `worktree` not committed (ignored files kept), moving its
        branch back to `commit` when given: how changes made during a review are undone."""
        worktree = _real(worktree)
        self._refuse_main_checkout(worktree, "discard changes in")
        self._quit_operations(worktree)
        run_git(["reset", "-q", "--hard", *([self.rev_parse(commit)] if commit else [])], worktree)
        run_git(["clean", "-fdq"], worktree)

    # -- commits and status -------------------------------------------------------------------

    def commit_all(self, worktree: Path, message: str, branch: str | None = None) -> str | None:
        """Stage everything (new files included, ignored ones not) and commit; the new HEAD,
        or None when there was nothing to commit. Concludes a merge in progress. `branch`:
        the one checked out there, whose tip the shared cat-file reads without a process."""
        worktree = _real(worktree)
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
        if staged.code == 0 and checkout.operation_in_progress(worktree) != "merge":
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
        out = run_git(["status", "--porcelain=v1", "-z", "--untracked-files=all"], Path(worktree))
        return parsing.status_entries(out.fields())

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

    # -- diffs and file contents ----------------------------------------------------------------

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

    # -- merging without a checkout ------------------------------------------------------------

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

    def is_merged(self, commit: str, into: str) -> bool:
        """True when `into` already has the changes of `commit`: it is an ancestor, or (after a
        squash) merging it into `into` would change nothing."""
        commit, into = self.rev_parse(commit), self.rev_parse(into)
        if self.is_ancestor(commit, into):
            return True
        out = run_git(["merge-tree", "--write-tree", "--name-only", "-z", into, commit], self.root, check=False)
        return out.code == 0 and out.fields()[0] == self._tree_of(into)

    # -- resolver turns: a real merge inside a worker's worktree -------------------------------

    def merge_into_worktree(self, worktree: Path, target: str, message: str | None = None) -> list[str]:
        """Merge `target` into the branch checked out in `worktree`. Clean: committed, returns [].
        Conflicts: returns the conflicted files, markers left in them for a resolver; finish
        with `commit_all` or undo with `abort_merge`. Never the main checkout."""
        worktree = _real(worktree)
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
        worktree = _real(worktree)
        self._refuse_main_checkout(worktree, "abort a merge in")
        if checkout.operation_in_progress(worktree) != "merge":
            return False
        run_git(["merge", "--abort"], worktree)
        return True

    # -- parking and branch deletion -----------------------------------------------------------

    def park(self, name: str, commit: str) -> ParkedRef:
        """Keep `commit` under refs/oompa/parked/<name> (suffixed -2, -3... when the name holds
        other work). Parking the same commit under the same name again is a no-op."""
        sha = self.rev_parse(commit)
        self._check_ref_name(PARKED_PREFIX + name)
        for candidate in [name, *(f"{name}-{n}" for n in range(2, _MAX_PARK_SUFFIX))]:
            ref = PARKED_PREFIX + candidate
            current = self._commit_of(ref)
            if current == sha or (current is None and self._create_ref(ref, sha)):
                log.info("parked %s at %s", ref, sha[:12])
                return ParkedRef(candidate, ref, sha)
        raise RepositoryError(
            f"too many parked refs named {name}; drop some (`git update-ref -d {PARKED_PREFIX}{name}-N`)"
        )

    def list_parked(self) -> list[ParkedRef]:
        fmt = "%(refname)%00%(objectname)%00%(committerdate:unix)%00%(subject)"
        out = run_git(["for-each-ref", f"--format={fmt}", PARKED_PREFIX], self.root)
        return [_parked_ref(line.split("\0")) for line in out.text.splitlines() if line]

    def drop_parked(self, name: str) -> None:
        """Explicitly discard parked work (the user asked for it)."""
        run_git(["update-ref", "-m", "oompa: drop parked", "-d", PARKED_PREFIX + name], self.root)

    def release_branch(self, worktree: Path, branch: str, into: str) -> bool:
        """Take `worktree` off `branch` (detached where it stands, files untouched: the next
        `ensure_worktree` resets them) and delete `branch` if `into` has all its changes.
        True when deleted. Never the main checkout."""
        self.detach(worktree, self.head(worktree))
        return self.delete_branch_if_merged(branch, into)

    def detach(self, worktree: Path, commit: str) -> None:
        """Point `worktree`'s HEAD at `commit` itself, files untouched (e.g. at the commit of
        a branch the landing deleted). Never the main checkout."""
        worktree = _real(worktree)
        self._refuse_main_checkout(worktree, "detach")
        run_git(["update-ref", "--no-deref", "-m", "oompa: release branch", "HEAD", commit], worktree)

    def delete_branch_if_merged(self, branch: str, into: str) -> bool:
        """Delete `branch` only when `into` has all its changes and no worktree has it checked
        out; False (nothing done) otherwise. Unmerged work is never deleted: park it."""
        tip = self._commit_of(f"refs/heads/{branch}")
        if tip is None or self.worktree_for_branch(branch) is not None:
            return False
        if not self.is_merged(tip, into):
            log.info("kept branch %s: %s does not contain its changes", branch, into)
            return False
        out = run_git(["update-ref", "-m", "oompa: merged", "-d", f"refs/heads/{branch}", tip], self.root, check=False)
        return out.code == 0

    # -- helpers ----------------------------------------------------------------------------------

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

    def _create_ref(self, ref: str, sha: str) -> bool:
        """Create `ref` at `sha` unless it exists (an empty old value means "must not exist")."""
        return run_git(["update-ref", "-m", "oompa: park", ref, sha, ""], self.root, check=False).code == 0

    def commits_between(self, old: str, new: str) -> list[str]:
        """The commits `new` has and `old` has not, oldest first."""
        return run_git(["rev-list", "--reverse", f"{old}..{new}", "--"], self.root).stdout.decode().split()

    def subjects(self, commits: Sequence[str]) -> list[str]:
        """Each commit as "<short id> <subject>"."""
        if not commits:
            return []
        out = run_git(["log", "--no-walk=unsorted", "--format=%h %s", *commits, "--"], self.root)
        return out.stdout.decode("utf-8", "replace").splitlines()

    def follow_moved_branch(self, branch: str, old: str, new: str) -> str:
        """After someone else moved `branch` from `old` to `new`: bring the worktree that has
        it checked out in step when git can do so safely (checkout.follow_moved_ref)."""
        holder = self.worktree_for_branch(branch)
        if holder is None:
            return "not checked out"
        return checkout.follow_moved_ref(holder.path, old, new)

    def same_tree(self, a: str, b: str) -> bool:
        """Whether two commits hold the same files (a commit that changed nothing, say)."""
        return self._tree_of(a) == self._tree_of(b)

    def _tree_of(self, commit: str) -> str:
        found = self._objects.info(f"{commit}^{{tree}}")
        if found is None or found.kind != "tree":
            raise RepositoryError(f"{commit!r} does not name a commit in {self.root}")
        return found.oid

    def _empty_tree(self) -> str:
        return run_git(["hash-object", "-t", "tree", "--stdin"], self.root, stdin=b"").line

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

    def _check_ref_name(self, ref: str) -> None:
        if run_git(["check-ref-format", ref], self.root, check=False).code != 0:
            raise RepositoryError(f"{ref!r} is not a valid git ref name")

    def _registered_worktree(self, path: Path) -> Worktree | None:
        return next((wt for wt in self.list_worktrees() if _real(wt.path) == path), None)

    def _refuse_main_checkout(self, path: Path, action: str) -> None:
        if path == self.root:
            raise RepositoryError(f"refusing to {action} {path}: it is the user's checkout")

    def _park_unmerged_branch(self, branch: str, start: str) -> None:
        tip = self._commit_of(f"refs/heads/{branch}")
        if tip is not None and not self.is_merged(tip, start):
            parked = self.park(branch, tip)
            log.warning("branch %s had work %s does not contain; parked it as %s", branch, start[:12], parked.ref)

    def _reset_worktree(self, path: Path, branch: str, start: str, remove_untracked: bool) -> None:
        self._quit_operations(path)
        run_git(["checkout", "-q", "--force", "--no-track", "-B", branch, start], path)
        if remove_untracked:
            run_git(["clean", "-fdq"], path)

    def _quit_operations(self, worktree: Path) -> None:
        """Leave any half-done rebase, cherry-pick, revert or bisect. Every caller then resets
        the index and files (`checkout --force` or `reset --hard`), which also ends a merge
        (MERGE_HEAD and conflicted entries go): a reset here as well would walk the tree twice."""
        operation = checkout.operation_in_progress(worktree)
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
        with self._adding:
            run_git(["worktree", "add", "-q", "--no-track", "-B", branch, str(path), start], self.root)


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


def _check_branch_name(branch: str) -> None:
    # A leading dash would read as an option in `worktree add -B <branch>`.
    if not branch or branch.startswith("-") or any(part.startswith(".") or part == "" for part in branch.split("/")):
        raise RepositoryError(f"{branch!r} is not a usable branch name")


def _real(path: Path | str) -> Path:
    return Path(os.path.realpath(Path(path).expanduser()))


def _has_conflict_markers(path: Path) -> bool:
    try:
        return _CONFLICT_MARKER.search(path.read_bytes()) is not None
    except OSError:
        return False


def _parked_ref(fields: list[str]) -> ParkedRef:
    ref, commit, when, subject = [*fields, "", "", "", ""][:4]
    return ParkedRef(ref.removeprefix(PARKED_PREFIX), ref, commit, subject, int(when or 0))
