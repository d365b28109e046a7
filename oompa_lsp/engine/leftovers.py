"""What a swarm leaves undone when it ends, named in one short line (invariant 10).

A swarm is done only when every task file it can see is complete. Anything else (tasks still
claimed, failed or pending, tasks that can never be claimed, task files it could not read,
files where no task file may be) makes it stop with a reason that names them and says why:
a few names per kind, then "and N more", so the CLI's last line stays short.

May import: core, adapters. Must not import: lsp, cli.
"""

from __future__ import annotations

from pathlib import Path

from ..adapters.task_scan import StoreScan, StrayFile
from ..core.tasks import Task, blocked_forever, why_blocked

_NAMED_PER_KIND = 5
_PROBLEM_CHARS = 60


def leftovers(scan: StoreScan, strays: list[StrayFile], shown_from: Path) -> list[str]:
    """One phrase per kind of unfinished business, each naming its first few; [] when done."""
    parts: list[str] = []
    if scan.current:
        parts.append(f"{len(scan.current)} task(s) still claimed: " + named([t.id for t in scan.current]))
    if scan.failed:
        parts.append(f"{len(scan.failed)} task(s) failed: " + named([t.id for t in scan.failed]))
    parts += _pending_parts(scan)
    unread = [
        f"{_shown(bad.path, shown_from)} ({_short(bad.problems[0].message if bad.problems else 'unreadable')})"
        for bad in scan.invalid
    ]
    unread += [f"{_shown(stray.path, shown_from)} ({stray.problem})" for stray in strays]
    if unread:
        parts.append(f"{len(unread)} task file(s) not read: " + named(unread))
    return parts


def _pending_parts(scan: StoreScan) -> list[str]:
    if not scan.pending:
        return []
    parts = []
    stuck_ids = {t.id for t in _stuck(scan)}
    reasons = blocked_reasons(scan)
    if reasons:
        parts.append(f"{len(reasons)} task(s) can never be claimed: " + named(reasons))
    waiting = [t.id for t in scan.pending if t.id not in stuck_ids]
    if waiting:
        parts.append(f"{len(waiting)} task(s) still pending (the workers ran out of iterations): " + named(waiting))
    return parts


def blocked_reasons(scan: StoreScan) -> list[str]:
    """`a waits for b (failed)` for each pending task that can never be claimed."""
    stuck = _stuck(scan)
    stuck_ids = {t.id for t in stuck}
    unreadable = {Path(bad.path).name.removesuffix(".json") for bad in scan.invalid}
    return [why_blocked(t, stuck_ids, _known_ids(scan), scan.ids("failed"), unreadable) for t in stuck]


def _stuck(scan: StoreScan) -> list[Task]:
    return blocked_forever(scan.pending, _known_ids(scan), scan.ids("failed"))


def _known_ids(scan: StoreScan) -> set[str]:
    return {t.id for tasks in scan.tasks.values() for t in tasks}


def named(items: list[str]) -> str:
    """The first few items, then how many more."""
    shown = ", ".join(items[:_NAMED_PER_KIND])
    rest = len(items) - _NAMED_PER_KIND
    return f"{shown} and {rest} more" if rest > 0 else shown


def _short(problem: str) -> str:
    line = problem.splitlines()[0] if problem else ""
    return line if len(line) <= _PROBLEM_CHARS else line[: _PROBLEM_CHARS - 1] + "…"


def _shown(path: str, shown_from: Path) -> str:
    try:
        return Path(path).relative_to(shown_from).as_posix()
    except ValueError:
        return path
