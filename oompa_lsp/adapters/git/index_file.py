"""The user's index moved from one commit to the next in place, when the change is small.

Every git command that changes an index rewrites the whole file and hashes all of it with
git's collision-detecting SHA-1 (about 470 MB/s here): 15 ms for 50,000 entries, however
small the change. The merge queue moves the user's checkout once per landing, so on large
trees that rewrite was most of a landing. Here only the entries of the changed paths are
replaced in the file as it is: they are found by bisecting the file's bytes (entries are
sorted by name; each one found is checked against the old commit's object id), not by
reading every entry; the file is then hashed with the standard library's SHA-1 and renamed
into place, under git's own lock.

Only the plain case is done here. `move_in_place` declines, having changed nothing, and the
caller lets git do the move, unless: the index is version 2 (no v3 flags, no v4
compression); its extensions are only TREE (the cache tree: the nodes on the changed paths
are invalidated, as git does) and REUC (kept as is); every modified or deleted path has one
entry, at stage 0, with the old object id and no assume-unchanged bit; no added path has an
entry; names are shorter than 4,095 bytes; the repository uses SHA-1; and nobody holds the
index lock.

Racy entries. Git trusts an entry's stat data only when it was recorded before the index
file's mtime; entries recorded in the same instant are "racy" and git compares their
content. The new file keeps the old file's mtime, so every entry that was racy stays racy,
and the entries written here (recorded now, after that mtime) are racy too: git checks
their content when it reads them, until it next writes the index itself.

Must not import: engine, lsp, cli; anything but the standard library and this package.
"""

from __future__ import annotations

import contextlib
import hashlib
import mmap
import os
import re
import struct
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO

from .command import setting_is_off
from .records import RawChange

_Data = bytes | mmap.mmap  # an index file's content, read or mapped
_HEADER = struct.Struct(">4sII")
_STAT = struct.Struct(">10I")  # ctime s, ns; mtime s, ns; dev, ino, mode, uid, gid, size
_ID_LENGTH = 20
_FIXED = 62  # stat data, object id and flags, before the name
_MODE_AT, _ID_AT, _FLAGS_AT = 24, 40, 60  # offsets in an entry
_LONG_NAME = 0xFFF
_ENTRY_MODES = {0o100644, 0o100755, 0o120000, 0o160000}
_KEPT_EXTENSIONS = (b"TREE", b"REUC")
_MOST_ENTRIES_WALKED = 4096  # between two entries the search placed: more means a strange file
_WORD = 0xFFFFFFFF
_NODE = re.compile(rb"([^\x00]*)\x00(-?[0-9]+) ([0-9]+)\n")  # a cache-tree node's header
# Settings under which git writes the index differently from the plain file made here.
_INDEX_SETTINGS = ("core.fsync", "core.splitindex", "core.sharedrepository", "index.skiphash")


def in_place_allowed(settings: Mapping[str, str]) -> bool:
    """Whether the repository's settings (`git config --list`) leave the index to be written
    here: SHA-1 objects and none of the settings that change how git writes an index."""
    if settings.get("extensions.objectformat", "sha1").lower() != "sha1":
        return False
    return all(setting_is_off(settings, key) for key in _INDEX_SETTINGS)


@dataclass(frozen=True, slots=True)
class _Entry:
    start: int
    end: int
    name: bytes


@dataclass(frozen=True, slots=True)
class _Edit:
    """Bytes [start, end) of the old file (empty for an added path) replaced by the entry for
    `change` (nothing for a deleted path)."""

    start: int
    end: int
    name: bytes
    change: RawChange


def move_in_place(index: Path, worktree: Path, changes: Sequence[RawChange],
                  write_files: Callable[[], bool], undo_files: Callable[[], object]) -> bool:
    """Bring `index` from the old commit of `changes` to the new one, with `write_files`
    bringing the files of `worktree`; False, having changed nothing, when this is not the
    plain case (see the module docstring) or `write_files` refused."""
    lock = index.with_name(index.name + ".lock")
    try:
        descriptor = os.open(lock, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o666)
    except OSError:
        return False  # someone's git holds the index; git's own move will say so
    written = False
    try:
        mapped = _mapped(index)
        if mapped is None:
            os.close(descriptor)
            return False
        data, old_mtime = mapped
        with _closing_map(data), os.fdopen(descriptor, "wb") as out:
            plan = _plan(data, changes)
            if plan is None or not write_files():
                return False
            try:
                with memoryview(data) as view:
                    _write_preallocated(out, _rebuilt(view, plan, worktree))
                out.flush()
                os.utime(out.fileno(), ns=(old_mtime, old_mtime))
                out.close()
                os.replace(lock, index)
            except BaseException:
                undo_files()  # the files go back to the old commit, as the index still has it
                raise
        written = True
        return True
    finally:
        if not written:
            lock.unlink(missing_ok=True)


@contextlib.contextmanager
def _closing_map(data: mmap.mmap) -> Iterator[mmap.mmap]:
    try:
        yield data
    finally:
        try:
            data.close()
        except BufferError:  # views of it live on in a traceback: the collector unmaps it later
            pass


def _write_preallocated(out: BinaryIO, parts: list[bytes | memoryview]) -> None:
    """Write `parts`, with the file's blocks reserved first. On ext4, renaming a file over
    another makes the kernel write back the new one's delayed blocks there and then (2 ms for
    a 4 MB index); blocks reserved ahead are not delayed, and the rename stays cheap."""
    reserve = getattr(os, "posix_fallocate", None)  # not on macOS
    try:
        if reserve is not None:
            reserve(out.fileno(), 0, sum(len(part) for part in parts))
    except OSError:  # a file system that cannot: the write still works
        pass
    out.writelines(parts)


def _mapped(index: Path) -> tuple[mmap.mmap, int] | None:
    """The index file mapped (not copied: it is read in a few places only) and its mtime."""
    try:
        with open(index, "rb") as stream:
            size_and_time = os.fstat(stream.fileno())
            return mmap.mmap(stream.fileno(), 0, access=mmap.ACCESS_READ), size_and_time.st_mtime_ns
    except (OSError, ValueError):  # ValueError: an empty file cannot be mapped
        return None


@dataclass(frozen=True, slots=True)
class _Plan:
    entries_end: int
    edits: list[_Edit]
    tree: tuple[int, int, bytes] | None  # the TREE extension's span and its new content


def _plan(data: _Data, changes: Sequence[RawChange]) -> _Plan | None:
    """Where each change goes in `data`, or None unless this is the plain case."""
    if len(data) < _HEADER.size + _ID_LENGTH or _HEADER.unpack_from(data)[:2] != (b"DIRC", 2):
        return None
    if not changes or any(len(change.new_id) != 2 * _ID_LENGTH for change in changes):
        return None
    entries_end = _entries_end(data)
    if entries_end is None:
        return None
    extensions = _extensions(data, entries_end)
    if extensions is None or any(signature not in _KEPT_EXTENSIONS for signature, _, _ in extensions):
        return None
    edits = [_edit_for(data, change, entries_end) for change in changes]
    if any(edit is None for edit in edits):
        return None
    tree = _tree_extension(data, extensions, [edit.name for edit in edits if edit is not None])
    if tree is False:
        return None
    return _Plan(entries_end, sorted(edits, key=lambda edit: (edit.start, edit.end, edit.name)), tree)


def _edit_for(data: _Data, change: RawChange, limit: int) -> _Edit | None:
    name = os.fsencode(change.path)
    if not name or len(name) >= _LONG_NAME or b"\0" in name or change.status not in ("A", "M", "D", "T"):
        return None
    found = _position(data, name, limit)
    if found is None:
        return None
    at, entry = found
    if change.status == "A":
        in_the_way = entry is not None or _folder_or_file_in_the_way(data, name, limit)
        return None if in_the_way else _Edit(at, at, name, change)
    if entry is None or not _is_plain_entry_of(data, entry, bytes.fromhex(change.old_id)):
        return None
    return _Edit(entry.start, entry.end, name, change)


def _folder_or_file_in_the_way(data: _Data, name: bytes, limit: int) -> bool:
    """An entry for one of the folders of `name` (as a file), or entries under `name` (as a
    folder): git would refuse to add `name`, and so does this (an unreadable spot counts)."""
    for folder in _folders_of(name):
        found = _position(data, folder, limit)
        if found is None or found[1] is not None:
            return True
    found = _position(data, name + b"/", limit)
    if found is None:
        return True
    following = _entry_at(data, found[0], limit) if found[0] < limit else None
    return following is not None and following.name.startswith(name + b"/")


def _is_plain_entry_of(data: _Data, entry: _Entry, object_id: bytes) -> bool:
    """Stage 0, no assume-unchanged bit, and `object_id`."""
    flags = data[entry.start + _FLAGS_AT:entry.start + _FIXED]
    return flags == len(entry.name).to_bytes(2, "big") and data[entry.start + _ID_AT:entry.start + _FLAGS_AT] == object_id


def _entry_at(data: _Data, start: int, limit: int) -> _Entry | None:
    """The well-formed entry at `start`, if there is one (any stage, no v3 flags)."""
    if start + _FIXED + 1 > limit or int.from_bytes(data[start + _MODE_AT:start + _MODE_AT + 4], "big") not in _ENTRY_MODES:
        return None
    flags = int.from_bytes(data[start + _FLAGS_AT:start + _FIXED], "big")
    length = flags & _LONG_NAME
    end = start + ((_FIXED + length + 8) & ~7)
    if flags & 0x4000 or length in (0, _LONG_NAME) or end > limit:
        return None
    name = data[start + _FIXED:start + _FIXED + length]
    if b"\0" in name or data[start + _FIXED + length:end].strip(b"\0"):
        return None
    return _Entry(start, end, name)


def _entries_end(data: _Data) -> int | None:
    """Where the entries stop and the extensions (or the checksum) begin. Git writes the cache
    tree first and resolve-undo next, so the search starts from the end for either; a place
    counts when the extensions from there chain exactly to the checksum and an entry ends
    exactly there."""
    body_end = len(data) - _ID_LENGTH
    for signature in _KEPT_EXTENSIONS:
        at = data.rfind(signature, _HEADER.size, body_end)
        while at != -1:
            if (at - _HEADER.size) % 8 == 0 and _extensions(data, at) is not None and _an_entry_ends_at(data, at):
                return at
            at = data.rfind(signature, _HEADER.size, at)
    return body_end if _an_entry_ends_at(data, body_end) else None


def _extensions(data: _Data, start: int) -> list[tuple[bytes, int, int]] | None:
    """(signature, data start, data end) of each extension from `start` to the checksum, or
    None when they do not chain exactly to it."""
    body_end, found, at = len(data) - _ID_LENGTH, [], start
    while at < body_end:
        if at + 8 > body_end:
            return None
        signature, size = data[at:at + 4], int.from_bytes(data[at + 4:at + 8], "big")
        if not signature.isalpha() or at + 8 + size > body_end:
            return None
        found.append((signature, at + 8, at + 8 + size))
        at += 8 + size
    return found


def _an_entry_ends_at(data: _Data, end: int) -> bool:
    """An entry ends exactly at `end`: its padding, its name, and its flags naming that length."""
    if (end - _HEADER.size) % 8:
        return False
    name_end = end
    while name_end > end - 8 and data[name_end - 1] == 0:
        name_end -= 1
    if name_end == end:
        return False
    start = end - 64
    while start >= _HEADER.size and b"\0" not in data[start + _FIXED:name_end]:
        entry = _entry_at(data, start, end)
        if entry is not None and entry.end == end:
            return True
        start -= 8
    return False


def _position(data: _Data, name: bytes, limit: int) -> tuple[int, _Entry | None] | None:
    """Where `name`'s entry is (and the entry) or would go (the start of the first entry after
    it), by bisecting the file's bytes; None when the entries are not as expected."""
    low, high = _HEADER.size, limit
    while high - low > 1024:
        boundary = _entry_boundary_from(data, low + (high - low) // 2, high)
        if boundary is None:
            break
        entry = _entry_at(data, boundary, limit)
        if entry is None:
            return None
        if entry.name == name:
            return boundary, entry
        if entry.name < name:
            low = entry.end
        else:
            high = boundary
    return _walk_to(data, name, low, high, limit)


def _entry_boundary_from(data: _Data, at: int, limit: int) -> int | None:
    """The first entry start at or after `at` and before `limit`: a well-formed entry
    followed by a well-formed, later-sorting one (or by `limit`)."""
    start = at + (_HEADER.size - at) % 8
    while start < limit:
        entry = _entry_at(data, start, limit)
        if entry is not None:
            following = _entry_at(data, entry.end, limit) if entry.end < limit else None
            if entry.end == limit or (following is not None and following.name >= entry.name):
                return start
        start += 8
    return None


def _walk_to(data: _Data, name: bytes, start: int, stop: int, limit: int) -> tuple[int, _Entry | None] | None:
    for _ in range(_MOST_ENTRIES_WALKED):
        if start >= stop:
            return stop, None
        entry = _entry_at(data, start, limit)
        if entry is None:
            return None
        if entry.name >= name:
            return start, entry if entry.name == name else None
        start = entry.end
    return None


def _tree_extension(data: _Data, extensions: list[tuple[bytes, int, int]],
                    names: list[bytes]) -> tuple[int, int, bytes] | None | bool:
    """The TREE extension's span and its content with the nodes above `names` invalidated;
    None without one, False when it cannot be read."""
    spans = [(start, end) for signature, start, end in extensions if signature == b"TREE"]
    if not spans:
        return None
    start, end = spans[0]
    content = invalidated_cache_tree(data[start:end], {b"", *(folder for name in names for folder in _folders_of(name))})
    return False if content is None else (start, end, content)


def _folders_of(name: bytes) -> Iterable[bytes]:
    """"a", "a/b" for "a/b/c"."""
    at = name.find(b"/")
    while at != -1:
        yield name[:at]
        at = name.find(b"/", at + 1)


def invalidated_cache_tree(tree: bytes, folders: set[bytes]) -> bytes | None:
    """The cache tree `tree` (the TREE extension's content) with the nodes of `folders`
    marked invalid, as git does when paths under them change; None when it cannot be read.
    The nodes come in pre-order, each with its count of subtrees; reading stops once every
    folder has been met (on large trees most nodes are then copied, not read)."""
    parts, copied_to, at, open_nodes, remaining = [], 0, 0, [], set(folders)
    while at < len(tree) and remaining:
        header = _NODE.match(tree, at)
        if header is None:
            return None
        component, count = header.group(1), int(header.group(2))
        while open_nodes and open_nodes[-1][1] == 0:
            open_nodes.pop()
        if open_nodes:
            open_nodes[-1][1] -= 1
        path = open_nodes[-1][0] + b"/" + component if open_nodes and open_nodes[-1][0] else component
        after = header.end() + (_ID_LENGTH if count >= 0 else 0)
        if path in remaining:
            remaining.discard(path)
            if count >= 0:
                parts += [tree[copied_to:at], component, b"\0-1 ", header.group(3), b"\n"]
                copied_to = after
        open_nodes.append([path, int(header.group(3))])
        at = after
    return b"".join([*parts, tree[copied_to:]])


def _rebuilt(data: memoryview, plan: _Plan, worktree: Path) -> list[bytes | memoryview]:
    """The new index file, in pieces (most of them views of the old one, not copies): the
    old bytes with the edits, the new count, the new cache tree and a new checksum."""
    count = _HEADER.unpack_from(data)[2]
    parts: list[bytes | memoryview] = [b""]
    copied_to = _HEADER.size
    for edit in plan.edits:
        parts.append(data[copied_to:edit.start])
        if edit.change.status != "D":
            parts.append(_entry_bytes(edit.name, edit.change, worktree))
        count += (edit.change.status == "A") - (edit.change.status == "D")
        copied_to = edit.end
    parts.append(data[copied_to:plan.entries_end])
    parts += _extension_parts(data, plan)
    parts[0] = _HEADER.pack(b"DIRC", 2, count)
    checksum = hashlib.sha1()
    for part in parts:
        checksum.update(part)
    return [*parts, checksum.digest()]


def _extension_parts(data: memoryview, plan: _Plan) -> list[bytes | memoryview]:
    body_end = len(data) - _ID_LENGTH
    if plan.tree is None:
        return [data[plan.entries_end:body_end]]
    start, end, content = plan.tree
    return [data[plan.entries_end:start - 4], len(content).to_bytes(4, "big"), content, data[end:body_end]]


def _entry_bytes(name: bytes, change: RawChange, worktree: Path) -> bytes:
    """The index entry git would record for the file just written at `name`."""
    mode = int(change.new_mode, 8)
    try:
        info = os.lstat(worktree / os.fsdecode(name))
        stat = (info.st_ctime_ns // 10**9, info.st_ctime_ns % 10**9, info.st_mtime_ns // 10**9,
                info.st_mtime_ns % 10**9, info.st_dev, info.st_ino, mode, info.st_uid, info.st_gid, info.st_size)
    except OSError:  # gone already: zero stat data makes git look at the file again
        stat = (0, 0, 0, 0, 0, 0, mode, 0, 0, 0)
    fixed = _STAT.pack(*(value & _WORD for value in stat)) + bytes.fromhex(change.new_id) + len(name).to_bytes(2, "big")
    return (fixed + name).ljust((_FIXED + len(name) + 8) & ~7, b"\0")
