"""Ref transactions: the target's compare-and-swap, with the branches it lands deleted in the
same step.

A landed branch is deleted by the move that lands it: one `git update-ref --stdin`
transaction, where releasing it afterwards took two more processes per branch (detach the
worker's checkout, delete). Git applies a transaction whole or not at all, and a branch that
moved meanwhile must not sink the target's move with it: the move is then tried alone and
the branches are left to their workers.

Must not import: engine, lsp, cli.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

from .command import GitOutput, run_git

# A branch to delete, and the commit it must still point at.
Landed = tuple[str, str]


def move_ref(
    cwd: Path, ref: str, new: str, old: str, reason: str, drop: Sequence[Landed] = ()
) -> tuple[GitOutput, tuple[str, ...]]:
    """Compare-and-swap `ref` from `old` to `new`, deleting the branches of `drop` with it when
    they still point where expected; git's answer, and the names of the branches deleted."""
    if drop:
        lines = [f"update {ref} {new} {old}", *(f"delete refs/heads/{name} {tip}" for name, tip in drop)]
        out = run_git(["update-ref", "-m", reason, "--stdin"], cwd, check=False, stdin=_text(lines))
        if out.code == 0:
            return out, tuple(name for name, _ in drop)
    return run_git(["update-ref", "-m", reason, ref, new, old], cwd, check=False), ()


def _text(lines: list[str]) -> bytes:
    return ("\n".join(lines) + "\n").encode("utf-8")
