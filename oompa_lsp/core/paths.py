"""Which declared paths overlap: what scheduling keeps apart while a task is in flight.

A task names the files it works on (`files`, or the original's `target_files`) as repository
paths, folders or globs. Two names overlap when some file could fall under both: a file and
itself, a folder and anything under it, a glob and whatever it can match (`*` and `?` within
one path segment, `**` across any number of segments, `[...]` classes). Where two globs could
only be told apart by solving them, they are taken to overlap: holding a task back a little
longer costs time, starting two that conflict costs a paid resolver turn.

Must not import: anything outside the standard library and oompa_lsp.core.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from fnmatch import fnmatchcase
from functools import lru_cache

_WILD = frozenset("*?[")


def path_segments(name: str) -> tuple[str, ...]:
    """A declared name as its segments: `./src//auth/` and `src/auth` are the same place."""
    parts = name.strip().replace("\\", "/").split("/")
    return tuple(part for part in parts if part not in ("", "."))


def overlaps(a: str, b: str) -> bool:
    """Whether some file could fall under both declared names."""
    first, second = path_segments(a), path_segments(b)
    if not first or not second:
        return False  # an empty name declares nothing
    return _segments_overlap(first, second)


@lru_cache(maxsize=4096)
def _segments_overlap(a: tuple[str, ...], b: tuple[str, ...]) -> bool:
    # Running out of either side means one names a folder that holds what the other names.
    if not a or not b:
        return True
    if a[0] == "**":
        return _segments_overlap(a[1:], b) or _segments_overlap(a, b[1:])
    if b[0] == "**":
        return _segments_overlap(a, b[1:]) or _segments_overlap(a[1:], b)
    return _segment_overlaps(a[0], b[0]) and _segments_overlap(a[1:], b[1:])


def _segment_overlaps(a: str, b: str) -> bool:
    wild_a, wild_b = _is_wild(a), _is_wild(b)
    if not wild_a and not wild_b:
        return a == b
    if not wild_b:
        return fnmatchcase(b, a)
    if not wild_a:
        return fnmatchcase(a, b)
    # Two patterns: apart only when their fixed starts or fixed ends disagree (`*.py`, `*.md`).
    head_a, head_b = _fixed_head(a), _fixed_head(b)
    tail_a, tail_b = _fixed_tail(a), _fixed_tail(b)
    heads_agree = head_a.startswith(head_b) or head_b.startswith(head_a)
    tails_agree = tail_a.endswith(tail_b) or tail_b.endswith(tail_a)
    return heads_agree and tails_agree


def _is_wild(segment: str) -> bool:
    return any(char in _WILD for char in segment)


def _fixed_head(pattern: str) -> str:
    cut = min((pattern.index(c) for c in _WILD if c in pattern), default=len(pattern))
    return pattern[:cut]


def _fixed_tail(pattern: str) -> str:
    cut = max((pattern.rindex(c) for c in _WILD if c in pattern), default=-1)
    tail = pattern[cut + 1 :]
    return "" if "]" in tail else tail  # the end of a class is not a fixed character


def first_overlap(names: Iterable[str], others: Iterable[str]) -> tuple[str, str] | None:
    """The first pair (one of `names`, one of `others`) that overlaps, or None."""
    listed = list(others)
    for name in names:
        for other in listed:
            if overlaps(name, other):
                return name, other
    return None


def blocking_task(names: Iterable[str], in_flight: Mapping[str, Iterable[str]]) -> tuple[str, str] | None:
    """The task in flight whose paths overlap `names`, and the path they meet on (the one the
    task in flight holds): ("other-task", "src/auth/"), or None when nothing is in the way.
    A task that declares nothing is never held back."""
    declared = list(names)
    if not declared:
        return None
    for task_id, held in sorted(in_flight.items()):
        pair = first_overlap(declared, held)
        if pair is not None:
            return task_id, pair[1]
    return None
