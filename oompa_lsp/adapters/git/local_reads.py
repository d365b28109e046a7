"""Answers read from a repository's own files, where they answer plainly, instead of running git.

A git process costs milliseconds and one swarm task asks dozens of questions. The frequent,
simple ones are answered here: is this full id a loose commit, where is a worktree's git dir,
which commit do a worktree's HEAD or a branch's loose ref name. Only git's plain layout is
read (loose objects and loose refs in `<main worktree>/.git`); each function returns None
(or False) for anything else — packed objects or refs, reftable, a separate git dir, a
symbolic or unreadable file — and the caller asks git. A yes is only given when git would
give the same answer.

Must not import: engine, lsp, cli; anything but the standard library.
"""

from __future__ import annotations

import re
import zlib
from pathlib import Path

FULL_OBJECT_ID = re.compile(r"[0-9a-f]{40}(?:[0-9a-f]{24})?")  # sha1 or sha256
# Refs every worktree shares (per-worktree ones, such as refs/bisect/, live elsewhere).
_SHARED_REF = re.compile(r"refs/(?:heads|oompa)/[^\s~^:?*\[\\]+")


def is_loose_commit(main_root: Path, name: str) -> bool:
    """True when `name` is the full id of a commit stored as a loose object (fresh commits
    are; the object's header says its type)."""
    if not FULL_OBJECT_ID.fullmatch(name):
        return False
    try:
        with open(main_root / ".git" / "objects" / name[:2] / name[2:], "rb") as stored:
            header = zlib.decompressobj().decompress(stored.read(512), 8)
    except (OSError, zlib.error):
        return False
    return header.startswith(b"commit ")


def git_dir_of(worktree: Path) -> Path | None:
    """The git dir a worktree's `.git` names: itself when a folder, `gitdir: <path>` when a file."""
    dot_git = Path(worktree) / ".git"
    try:
        if dot_git.is_dir():
            return dot_git
        text = dot_git.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError):
        return None
    if not text.startswith("gitdir: "):
        return None
    named = dot_git.parent / text.removeprefix("gitdir: ").strip()  # an absolute path replaces the base
    return named if named.is_dir() else None


def head_commit(main_root: Path, worktree: Path) -> str | None:
    """The commit checked out in `worktree`: its HEAD, detached or on a loose branch ref."""
    git_dir = git_dir_of(worktree)
    head = _first_line(git_dir / "HEAD") if git_dir is not None else None
    if head is None:
        return None
    if head.startswith("ref: "):
        return ref_commit(main_root, head.removeprefix("ref: "))
    return head if is_loose_commit(main_root, head) else None


def ref_commit(main_root: Path, refname: str) -> str | None:
    """The commit a loose branch (refs/heads/...) or oompa ref (refs/oompa/...) points at."""
    if not _SHARED_REF.fullmatch(refname) or "/." in refname or ".." in refname or refname.endswith((".lock", "/")):
        return None
    named = _first_line(main_root / ".git" / refname)
    return named if named is not None and is_loose_commit(main_root, named) else None


def _first_line(path: Path) -> str | None:
    try:
        with open(path, "rb") as file:
            data = file.read(256)
    except OSError:
        return None
    text = data.decode("ascii", errors="replace")
    return text.split("\n", 1)[0].strip() if text.endswith("\n") else None
