"""Answers read from a repository's own files, where they answer plainly, instead of running git.

A git process costs milliseconds and one swarm task asks dozens of questions. The frequent,
simple ones are answered here: is this full id a loose commit (and what are its tree and
parents), where is a worktree's git dir and what does its HEAD say, which commit does a branch
name, or does the branch not exist at all, which worktrees exist and what they have checked
out. Only git's plain layout is read (loose objects, loose refs, `packed-refs` and
`worktrees/` in `<main worktree>/.git`); each function returns None (or False) for anything
else — packed objects, reftable, a separate git dir, a half-written or unreadable file — and
the caller asks git. An answer is only given when git would give the same one.

Must not import: engine, lsp, cli; anything but the standard library.
"""

from __future__ import annotations

import os
import re
import zlib
from collections import deque
from pathlib import Path

FULL_OBJECT_ID = re.compile(r"[0-9a-f]{40}(?:[0-9a-f]{24})?")  # sha1 or sha256
# Refs every worktree shares (per-worktree ones, such as refs/bisect/, live elsewhere).
_SHARED_REF = re.compile(r"refs/(?:heads|oompa)/[^\s~^:?*\[\\]+")


def objects_folder(main_root: Path) -> Path:
    """Where the plain layout keeps objects (`<main worktree>/.git/objects`)."""
    return main_root / ".git" / "objects"


def loose_object_path(main_root: Path, object_id: str) -> Path:
    """The file a loose object with this full id is stored in."""
    return objects_folder(main_root) / object_id[:2] / object_id[2:]


def is_loose_commit(main_root: Path, name: str) -> bool:
    """True when `name` is the full id of a commit stored as a loose object (fresh commits
    are; the object's header says its type)."""
    if not FULL_OBJECT_ID.fullmatch(name):
        return False
    try:
        with open(loose_object_path(main_root, name), "rb") as stored:
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
    return commit_of_head(main_root, head_line(worktree))


def commit_of_head(main_root: Path, head: str | None) -> str | None:
    """The commit a HEAD file's line (`head_line`) names: itself, or its loose branch ref's."""
    if head is None:
        return None
    if head.startswith("ref: "):
        return ref_commit(main_root, head.removeprefix("ref: "))
    return head if is_loose_commit(main_root, head) else None


def ref_commit(main_root: Path, refname: str) -> str | None:
    """The commit a loose branch (refs/heads/...) or oompa ref (refs/oompa/...) points at."""
    named = ref_target(main_root, refname)
    return named if named and is_loose_commit(main_root, named) else None


def ref_target(main_root: Path, refname: str) -> str | None:
    """The object id a branch or oompa ref names, loose or packed; "" when no such ref exists."""
    if not _SHARED_REF.fullmatch(refname) or "/." in refname or ".." in refname or refname.endswith((".lock", "/")):
        return None
    git_dir = main_root / ".git"
    if (git_dir / "reftable").exists() or not git_dir.is_dir():
        return None
    try:
        with open(git_dir / refname, "rb") as loose:
            data = loose.read(256)
    except (FileNotFoundError, NotADirectoryError):
        return _packed_ref(git_dir, refname)  # git writes packed-refs before deleting a loose ref
    except OSError:
        return None
    named = data.decode("ascii", errors="replace").split("\n", 1)[0].strip()
    return named if data.endswith(b"\n") and FULL_OBJECT_ID.fullmatch(named) else None


def _packed_ref(git_dir: Path, refname: str) -> str | None:
    try:
        with open(git_dir / "packed-refs", "rb") as packed:
            text = packed.read().decode("utf-8", errors="replace")
    except FileNotFoundError:
        return ""
    except OSError:
        return None
    suffix = " " + refname
    for line in text.splitlines():
        if line.endswith(suffix) and not line.startswith(("#", "^")):
            named = line[: -len(suffix)]
            return named if FULL_OBJECT_ID.fullmatch(named) else None
    return ""


def commit_header(main_root: Path, commit: str) -> tuple[str, tuple[str, ...]] | None:
    """The tree and parents of a commit stored as a loose object."""
    body = _loose_object(main_root, commit, b"commit")
    if body is None:
        return None
    tree, parents = "", []
    for line in body.split(b"\n"):
        key, _, value = line.partition(b" ")
        if key == b"tree":
            tree = value.decode("ascii")
        elif key == b"parent":
            parents.append(value.decode("ascii"))
        else:
            break
    return (tree, tuple(parents)) if FULL_OBJECT_ID.fullmatch(tree) else None


def _loose_object(main_root: Path, object_id: str, kind: bytes) -> bytes | None:
    """The body of a loose object of the given kind."""
    if not FULL_OBJECT_ID.fullmatch(object_id):
        return None
    try:
        with open(loose_object_path(main_root, object_id), "rb") as stored:
            data = zlib.decompress(stored.read())
    except (OSError, zlib.error):
        return None
    header, _, body = data.partition(b"\0")
    return body if header.startswith(kind + b" ") else None


def is_near_ancestor(main_root: Path, ancestor: str, descendant: str, reach: int = 64) -> bool:
    """True when `ancestor` is `descendant` or is found by walking back from it through at
    most `reach` loose commits (reach 1: the commit itself or one of its parents).

    False means "not found nearby", not "not an ancestor": ask git then.
    """
    seen: set[str] = set()
    frontier = deque([descendant])
    while frontier:
        commit = frontier.popleft()
        if commit == ancestor:
            return True
        if commit in seen or len(seen) >= reach:
            continue
        seen.add(commit)
        header = commit_header(main_root, commit)
        if header is None:
            return False
        frontier.extend(header[1])
    return False


def head_line(worktree: Path) -> str | None:
    """What a worktree's HEAD says: "ref: refs/heads/<branch>" or a commit id."""
    git_dir = git_dir_of(worktree)
    return _first_line(git_dir / "HEAD") if git_dir is not None else None


def worktrees_on(main_root: Path, head: str) -> list[tuple[Path, bool]] | None:
    """The worktrees whose HEAD says `head` (e.g. "ref: refs/heads/main"), main first, as
    (path, prunable). Prunable as git means it: the folder is gone and the worktree is not locked.
    """
    git_dir = main_root / ".git"
    main_head = _first_line(git_dir / "HEAD") if git_dir.is_dir() else None
    if main_head is None:
        return None
    found = [(main_root, False)] if main_head == head else []
    try:
        entries = sorted(os.scandir(git_dir / "worktrees"), key=lambda entry: entry.name)
    except FileNotFoundError:
        return found
    except OSError:
        return None
    for entry in entries:
        linked_head = _first_line(Path(entry.path) / "HEAD")
        if linked_head is None:
            return None  # being written by a `git worktree add`, or not plain: git knows
        if linked_head == head:
            linked = _linked_worktree(Path(entry.path))
            if linked is None:
                return None
            found.append(linked)
    return found


def is_registered_worktree(main_root: Path, path: Path) -> bool:
    """True when `path` is a linked worktree of this repository that is on disk: its `.git`
    file names an entry of `.git/worktrees/` that names it back. False: ask git."""
    admin = git_dir_of(path)
    if admin is None or admin.parent != main_root / ".git" / "worktrees":
        return False
    named = _first_line(admin / "gitdir")
    return named is not None and os.path.isabs(named) and os.path.realpath(named) == os.path.realpath(path / ".git")


def _linked_worktree(admin: Path) -> tuple[Path, bool] | None:
    dot_git = _first_line(admin / "gitdir")
    if dot_git is None or not os.path.isabs(dot_git):
        return None
    prunable = not os.path.exists(dot_git) and not (admin / "locked").exists()
    return Path(dot_git).parent, prunable


def _first_line(path: Path) -> str | None:
    try:
        with open(path, "rb") as file:
            data = file.read(256)
    except OSError:
        return None
    text = data.decode("ascii", errors="replace")
    return text.split("\n", 1)[0].strip() if text.endswith("\n") else None
