"""Readers for git's machine output (`-z`, porcelain) and for the few messages we must parse.

Pure functions over strings: no git runs here. Must not import: engine, lsp, cli.
"""

from __future__ import annotations

import os
import re
from pathlib import Path

from .records import ChangedFile, RawChange, StatusEntry, Worktree

# `git merge` lists the files it refuses to overwrite after one of these lines, tab-indented.
_LOCAL_CHANGES = "Your local changes to the following files would be overwritten"
_UNTRACKED = "untracked working tree files would be"
_SHOWN_FILES = 5


def worktree_list(fields: list[str]) -> list[Worktree]:
    """`git worktree list --porcelain -z`: attribute fields, records ended by an empty field."""
    records: list[dict[str, str]] = []
    current: dict[str, str] = {}
    for item in fields:
        if item == "":
            if current:
                records.append(current)
            current = {}
            continue
        key, _, value = item.partition(" ")
        current[key] = value
    if current:
        records.append(current)
    return [_worktree(record, index == 0) for index, record in enumerate(records)]


def _worktree(record: dict[str, str], is_main: bool) -> Worktree:
    branch = record.get("branch")
    return Worktree(
        path=Path(record["worktree"]),
        head=record.get("HEAD"),
        branch=branch.removeprefix("refs/heads/") if branch else None,
        is_main=is_main,
        bare="bare" in record,
        locked="locked" in record,
        prunable="prunable" in record,
    )


def status_entries(fields: list[str]) -> list[StatusEntry]:
    """`git status --porcelain=v1 -z`: "XY path", renames followed by their old path."""
    entries: list[StatusEntry] = []
    items = iter(fields)
    for item in items:
        code, path = item[:2], item[3:]
        old_path = next(items, None) if code[0] in "RC" or code[1] in "RC" else None
        entries.append(StatusEntry(code, path, old_path))
    return entries


def status_v2(fields: list[str]) -> tuple[list[StatusEntry], str | None]:
    """`git status --porcelain=v2 -z --branch`: the entries (in v1's "XY" codes, `??` for
    untracked) and the commit HEAD is at (None before the first commit)."""
    entries: list[StatusEntry] = []
    head: str | None = None
    items = iter(fields)
    for item in items:
        kind = item[:1]
        if item.startswith("# branch.oid "):
            oid = item.removeprefix("# branch.oid ")
            head = None if oid == "(initial)" else oid
        elif kind == "?":
            entries.append(StatusEntry("??", item[2:]))
        elif kind in "12u":
            # 1: 8 fields then the path; 2: 9 fields, the path, then the old path; u: 10 fields then the path
            parts = item.split(" ", {"1": 8, "2": 9, "u": 10}[kind])
            code = parts[1].replace(".", " ")
            old_path = next(items, None) if kind == "2" else None
            entries.append(StatusEntry(code, parts[-1], old_path))
    return entries, head


def name_status(fields: list[str]) -> list[ChangedFile]:
    """`git diff --name-status -z`: a status (R and C carry a score) then one or two paths."""
    changes: list[ChangedFile] = []
    items = iter(fields)
    for status in items:
        letter = status[:1]
        if letter in "RC":
            old_path, path = next(items), next(items)
            changes.append(ChangedFile(path, letter, old_path))
        else:
            changes.append(ChangedFile(next(items), letter))
    return changes


def raw_changes_and_patch(stdout: bytes) -> tuple[list[RawChange], bytes]:
    """`git diff --raw -p -z`: NUL-ended raw records (`:modes ids status`, then the path), an
    empty field, then the patch as text."""
    raw, _, patch = stdout.partition(b"\0\0")
    fields = raw.split(b"\0") if raw else []
    changes = []
    for meta, path in zip(fields[0::2], fields[1::2], strict=False):  # a torn last record is dropped
        old_mode, new_mode, old_id, new_id, status = meta.decode("ascii").removeprefix(":").split(" ")
        changes.append(RawChange(old_mode, new_mode, old_id, new_id, status, os.fsdecode(path)))
    return changes, patch


def commit_parents(body: bytes) -> tuple[str, ...]:
    """The parent ids of a commit object as `git cat-file` prints it (its header's `parent` lines)."""
    header = body.split(b"\n\n", 1)[0]
    return tuple(line[7:].decode("ascii") for line in header.split(b"\n") if line.startswith(b"parent "))


def merge_tree(fields: list[str]) -> tuple[str, list[str], list[str]]:
    """`git merge-tree --write-tree --name-only -z`: tree, conflicted names, then messages.

    Messages come as: count of paths, the paths, a type, the message text.
    """
    tree, rest = fields[0], fields[1:]
    conflicts: list[str] = []
    while rest and rest[0] != "":
        conflicts.append(rest.pop(0))
    messages: list[str] = []
    rest = rest[1:]
    while rest:
        count = int(rest[0])
        text = rest[count + 2] if len(rest) > count + 2 else ""
        messages.append(text.strip())
        rest = rest[count + 3 :]
    return tree, list(dict.fromkeys(conflicts)), messages


def refused_merge(stderr: str) -> tuple[str, list[str]]:
    """Why `git merge` refused to touch a checkout, as one line for the user plus the files."""
    tracked: list[str] = []
    untracked: list[str] = []
    listing: list[str] | None = None
    for line in stderr.splitlines():
        if line.startswith("\t") and listing is not None:
            listing.append(line.strip())
        else:
            listing = tracked if _LOCAL_CHANGES in line else untracked if _UNTRACKED in line else None
    if not tracked and not untracked:
        return f"git refused to update the checkout: {_first_message(stderr)}", []
    parts = []
    if tracked:
        parts.append(f"uncommitted changes to {file_names(tracked)}")
    if untracked:
        parts.append(f"untracked {file_names(untracked)}")
    reason = f"{' and '.join(parts)} would be overwritten; commit, move or revert them and the merge resumes"
    return reason, tracked + untracked


_READ_TREE_REFUSALS = re.compile(
    r"^error: (?:Entry|Untracked working tree file) '(.+)' (?:not uptodate|would be overwritten)"
)


def refused_read_tree(stderr: str) -> tuple[str, list[str]]:
    """Why `git read-tree -m -u` refused to move a checkout, as one line plus the files."""
    files = [m.group(1) for m in map(_READ_TREE_REFUSALS.match, stderr.splitlines()) if m]
    if not files:
        return f"git refused to update the checkout: {_first_message(stderr)}", []
    return (
        f"local changes to {file_names(files)} are in the way; commit, move or revert them and the checkout follows"
    ), files


def file_names(files: list[str]) -> str:
    shown = ", ".join(files[:_SHOWN_FILES])
    more = len(files) - _SHOWN_FILES
    return f"{shown} and {more} more" if more > 0 else shown


def _first_message(stderr: str) -> str:
    lines = [line.strip() for line in stderr.splitlines() if re.match(r"(error|fatal):", line)]
    if lines:
        return lines[0]
    return stderr.strip().splitlines()[-1] if stderr.strip() else "unknown reason"
