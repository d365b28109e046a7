"""Review notes with a place in the code: a human's line comments and the model reviewer's
findings, checked against and placed on the lines of the change (core/diff_lines.py), and the
located feedback the worker's next turn reads.

A comment names a side: `head` (the worker's version) or `base` (the merge base's, for lines
the change removed). A finding is one of the reviewer's numbered issues; it has a place when
it names a changed file, and a line when the reviewer gave one or the diff makes it certain
(the one changed line that holds the code it quotes).

Must not import: anything outside the standard library, msgspec and oompa_lsp.core.
"""

from __future__ import annotations

import re

from msgspec import Struct

from .diff_lines import FileDiff, Side
from .errors import OompaError

_LEADING_NUMBER = re.compile(r"^\s*(?:(\d+)[.)]|[-*])\s+")
_QUOTED = re.compile(r"`([^`\n]{3,})`")
_COMMENT_ARG = re.compile(r"^(?P<path>[^:]+):(?P<start>\d+)(?:-(?P<end>\d+))?:(?P<body>.*\S.*)$", re.S)
_LINE_AFTER = r"(?::|,?\s+(?:at\s+|on\s+)?lines?\s+|\s+\(lines?\s+|#L)(\d+)(?:\s*[-\u2013:]\s*L?(\d+))?"


class LineComment(Struct, frozen=True, omit_defaults=True):
    path: str
    side: Side
    start_line: int  # 1-based, inclusive
    end_line: int
    body: str
    lines: tuple[str, ...] = ()  # the commented lines' text, filled when the comment is checked
    author: str = "human"  # human | model


class Finding(Struct, frozen=True, omit_defaults=True):
    number: int
    text: str
    path: str | None = None  # a changed file it names (its path in the reviewed version)
    side: Side = "head"
    start_line: int | None = None  # None: the file as a whole
    end_line: int | None = None


def read_findings(issues: tuple[str, ...], files: dict[str, FileDiff]) -> list[Finding]:
    """The reviewer's issues, each placed where it says (or as far as the diff makes certain)."""
    return [_place(index, issue, files) for index, issue in enumerate(issues, start=1)]


def _place(index: int, issue: str, files: dict[str, FileDiff]) -> Finding:
    number_match = _LEADING_NUMBER.match(issue)
    number = int(number_match.group(1)) if number_match and number_match.group(1) else index
    text = issue[number_match.end() :] if number_match else issue
    named = _named_file(text, files)
    if named is None:
        return Finding(number, text)
    file, written_path, lines = named
    if lines is None:
        return _by_quote(number, text, file)
    start, end = lines
    if written_path == file.old_path != file.path or file.status == "D":
        return _from_base(number, text, file, start, end)
    return Finding(number, text, file.path, "head", start, end)


def _named_file(text: str, files: dict[str, FileDiff]) -> tuple[FileDiff, str, tuple[int, int] | None] | None:
    """The changed file the text names (longest path first; a bare file name when unique),
    with the path as written and the line range written after it."""
    candidates: list[tuple[str, FileDiff]] = []
    for file in files.values():
        candidates += [(file.path, file), (file.old_path, file)]
    by_name: dict[str, list[FileDiff]] = {}
    for file in files.values():
        by_name.setdefault(file.path.rsplit("/", 1)[-1], []).append(file)
    candidates += [(name, group[0]) for name, group in by_name.items() if len(group) == 1]
    for written, file in sorted(candidates, key=lambda c: -len(c[0])):
        match = re.search(rf"(?<![\w/.-]){re.escape(written)}(?![\w/-])[`'*]*(?:{_LINE_AFTER})?", text)
        if match:
            start, end = match.group(1), match.group(2)
            lines = (int(start), int(end or start)) if start else None
            return file, written, lines
    return None


def _from_base(number: int, text: str, file: FileDiff, start: int, end: int) -> Finding:
    """Lines named in the merge base's numbering: on the reviewed side when the change kept them."""
    head_start, head_end = file.head_line_of(start), file.head_line_of(end)
    if file.status != "D" and head_start is not None and head_end is not None:
        return Finding(number, text, file.path, "head", head_start, head_end)
    return Finding(number, text, file.path, "base", start, end)


def _by_quote(number: int, text: str, file: FileDiff) -> Finding:
    """A line is certain when the code the finding quotes is on exactly one changed line, or
    when the change to the file is one line."""
    changed: list[tuple[Side, int, str]] = [("head", n, t) for n, t in file.added().items()]
    changed += [("base", n, t) for n, t in file.removed().items()]
    for quoted in _QUOTED.findall(text):
        spots = [(side, n) for side, n, t in changed if quoted in t]
        if len(spots) == 1:
            return Finding(number, text, file.path, spots[0][0], spots[0][1], spots[0][1])
    if len(changed) == 1:
        side, line, _ = changed[0]
        return Finding(number, text, file.path, side, line, line)
    return Finding(number, text, file.path, "base" if file.status == "D" else "head")


def comment_problem(comment: LineComment, files: dict[str, FileDiff], line_count: int | None) -> str | None:
    """What is wrong with a comment's place, or None; `line_count` is the length of the file on
    the comment's side (None when the file does not exist there)."""
    where = f"{comment.path}:{comment.start_line}"
    if not comment.body.strip():
        return f"the comment on {where} is empty"
    if comment.path not in files:
        return f"{comment.path!r} is not a file this review changes"
    if comment.start_line < 1 or comment.end_line < comment.start_line:
        return f"bad line range {comment.start_line}-{comment.end_line} on {comment.path}"
    if line_count is None:
        made = "deletes" if comment.side == "head" else "adds"
        return f"{comment.path} has no {comment.side} side: the change {made} it"
    if comment.end_line > line_count:
        return f"{comment.path} has {line_count} lines on the {comment.side} side, the comment names line {comment.end_line}"
    return None


def side_path(comment: LineComment, files: dict[str, FileDiff]) -> str:
    """The path the commented lines have on their side (a renamed file's old path at base)."""
    file = files.get(comment.path)
    return file.old_path if file is not None and comment.side == "base" else comment.path


def located_feedback(comment: LineComment) -> str:
    """One comment as the worker reads it: place, the lines' text, then the comment."""
    span = (
        f"line {comment.start_line}"
        if comment.start_line == comment.end_line
        else (f"lines {comment.start_line}-{comment.end_line}")
    )
    side = "your version" if comment.side == "head" else "removed lines, as they were at the merge base"
    who = "" if comment.author == "human" else " (from the model reviewer)"
    quoted = "\n".join(f"    | {text}" for text in comment.lines)
    return f"- `{comment.path}` {span} ({side}){who}:\n{quoted}\n  {comment.body.strip()}"


def parse_comment(text: str, side: Side) -> LineComment:
    """`path:line:text` or `path:start-end:text` (the CLI's `--comment`)."""
    match = _COMMENT_ARG.match(text)
    if match is None:
        raise OompaError(f"a comment is PATH:LINE[-END]:TEXT, got {text!r}")
    start = int(match["start"])
    end = int(match["end"] or start)
    return LineComment(match["path"], side, start, end, match["body"].strip())
