"""Repo's branch moves: the target's compare-and-swap advance, parking, release and deletion.

The target branch moves by compare-and-swap only (`advance_ref`, refs.py); when someone has
it checked out, `advance_target` fast-forwards that checkout with git's own safety checks
(checkout.py). Unmerged work is parked under refs/oompa/parked/, never deleted: a branch is
deleted only when the branch it was merged into has all its changes and no worktree has it
checked out.

Must not import: repo, worktrees (they build on this), engine, lsp, cli.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from pathlib import Path

from oompa_lsp.core.errors import GitCommandFailed, RepositoryError, TargetMoved

from . import checkout, refs
from .base import check_branch_name, real_path
from .command import run_git
from .merging import MergingMixin
from .records import AdvanceResult, ParkedRef
from .refs import Landed

log = logging.getLogger(__name__)

PARKED_PREFIX = "refs/oompa/parked/"
_MAX_PARK_SUFFIX = 100


class BranchesMixin(MergingMixin):
    """Moving, parking and deleting branches for Repo."""

    __slots__ = ()

    def advance_ref(
        self, branch: str, new: str, old: str, reason: str = "oompa: merge queue", drop: Sequence[Landed] = ()
    ) -> tuple[str, ...]:
        """Compare-and-swap `refs/heads/<branch>` from `old` to `new`; TargetMoved if it moved.
        The branches of `drop` (name, tip) are deleted in the same transaction when they
        still point at their tips; returns the names of those deleted.

        Only for branches no worktree has checked out: use `advance_target` for the target.
        """
        check_branch_name(branch)
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

    def follow_moved_branch(self, branch: str, old: str, new: str) -> str:
        """After someone else moved `branch` from `old` to `new`: bring the worktree that has
        it checked out in step when git can do so safely (checkout.follow_moved_ref)."""
        holder = self.worktree_for_branch(branch)
        if holder is None:
            return "not checked out"
        return checkout.follow_moved_ref(holder.path, old, new)

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
        worktree = real_path(worktree)
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

    def _create_ref(self, ref: str, sha: str) -> bool:
        """Create `ref` at `sha` unless it exists (an empty old value means "must not exist")."""
        return run_git(["update-ref", "-m", "oompa: park", ref, sha, ""], self.root, check=False).code == 0

    def _park_unmerged_branch(self, branch: str, start: str) -> None:
        tip = self._commit_of(f"refs/heads/{branch}")
        if tip is not None and not self.is_merged(tip, start):
            parked = self.park(branch, tip)
            log.warning("branch %s had work %s does not contain; parked it as %s", branch, start[:12], parked.ref)


def _parked_ref(fields: list[str]) -> ParkedRef:
    ref, commit, when, subject = [*fields, "", "", "", ""][:4]
    return ParkedRef(ref.removeprefix(PARKED_PREFIX), ref, commit, subject, int(when or 0))
