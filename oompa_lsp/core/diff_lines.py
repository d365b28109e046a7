"""A unified diff read as lines: which lines of each file the change added, removed or kept,
and how a line of the merge base's version maps to the reviewed version.

Review comments and the model reviewer's findings are placed with it (core/review_notes.py):
a line number is only meaningful on one side of the change, and a line the change kept has a
number on both sides (shifted by what was added or removed above it).

Must not import: anything outside the standard library, msgspec and oompa_lsp.core.
"""

from __future__ import annotations

import re
from typing import Literal

from msgspec import Struct

Side = Literal["head", "base"]  # head: the worker's version; base: the merge base's
_HUNK = re.compile(r"^@@ -(\d+)(?:,(\d+))? \+(\d+)(?:,(\d+))? @@")


class Hunk(Struct):
    base_start: int
    base_len: int
    head_start: int
    head_len: int
    added: dict[int, str] = {}  # head line number → text
    removed: dict[int, str] = {}  # base line number → text


class FileDiff(Struct):
    path: str  # the path in the reviewed version (the old path when the file was deleted)
    old_path: str  # the path at the merge base (the same unless renamed)
    status: str = "M"  # A, M, D or R
    hunks: list[Hunk] = []

    def added(self) -> dict[int, str]:
        return {n: t for h in self.hunks for n, t in h.added.items()}

    def removed(self) -> dict[int, str]:
        return {n: t for h in self.hunks for n, t in h.removed.items()}

    def head_line_of(self, base_line: int) -> int | None:
        """Where a base line is in the reviewed version; None when the change removed it."""
        shift = 0
        for hunk in self.hunks:
            if base_line < hunk.base_start:
                break
            if base_line < hunk.base_start + hunk.base_len:
                return _kept_in_hunk(hunk, base_line)
            shift = (hunk.head_start + hunk.head_len) - (hunk.base_start + hunk.base_len)
        return base_line + shift


def _kept_in_hunk(hunk: Hunk, base_line: int) -> int | None:
    if base_line in hunk.removed:
        return None
    base_no, head_no = hunk.base_start, hunk.head_start
    while base_no < base_line:
        if base_no in hunk.removed:
            base_no += 1
            continue
        while head_no in hunk.added:
            head_no += 1
        base_no, head_no = base_no + 1, head_no + 1
    while head_no in hunk.added:
        head_no += 1
    return head_no


def parse_diff(text: str) -> dict[str, FileDiff]:
    """The files of a `git diff` (renames detected), by their path in the reviewed version."""
    files: dict[str, FileDiff] = {}
    current: FileDiff | None = None
    hunk: Hunk | None = None
    base_no = head_no = 0
    for line in text.splitlines():
        if line.startswith("diff --git "):
            current, hunk = _file_header(line), None
            files[current.path] = current
        elif current is None:
            continue
        elif hunk is None or line[:1] not in (" ", "+", "-", "\\"):
            hunk = _header_line(current, line)
            if hunk is not None:
                base_no, head_no = hunk.base_start, hunk.head_start
        elif line.startswith("+"):
            hunk.added[head_no], head_no = line[1:], head_no + 1
        elif line.startswith("-"):
            hunk.removed[base_no], base_no = line[1:], base_no + 1
        elif line.startswith(" "):
            base_no, head_no = base_no + 1, head_no + 1
    return {f.path: f for f in files.values()}


def _file_header(line: str) -> FileDiff:
    rest = line[len("diff --git ") :]
    old, _, new = rest.partition(" b/")
    old = old[2:] if old.startswith("a/") else old
    return FileDiff(path=new, old_path=old)


def _header_line(current: FileDiff, line: str) -> Hunk | None:
    """One line between hunks: a hunk header (the new hunk), or file metadata."""
    match = _HUNK.match(line)
    if match:
        base_start, base_len, head_start, head_len = match.groups()
        hunk = Hunk(int(base_start), int(base_len or 1), int(head_start), int(head_len or 1), {}, {})
        # a zero-length side starts *after* the line named; keep numbering from the next one
        hunk.base_start += hunk.base_len == 0
        hunk.head_start += hunk.head_len == 0
        current.hunks.append(hunk)
        return hunk
    if line.startswith("new file mode"):
        current.status = "A"
    elif line.startswith("deleted file mode"):
        current.status = "D"
    elif line.startswith("rename from "):
        current.old_path, current.status = line[len("rename from ") :], "R"
    elif line.startswith("rename to "):
        current.path = line[len("rename to ") :]
    return None
