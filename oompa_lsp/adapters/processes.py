"""Processes left behind: agents of a run that was killed still working in its worktrees.

Agents run in their own process groups, so a `kill -9` of the swarm leaves them running.
The next run finds them by their working directory (Linux /proc; elsewhere nothing is found)
and ends their groups before it reuses the worktrees.
May import: core. Must not import: engine, lsp, cli.
"""

from __future__ import annotations

import logging
import os
import signal
from pathlib import Path

log = logging.getLogger(__name__)
_PROC = Path("/proc")


def processes_under(root: Path) -> list[int]:
    """Pids of agent processes (not this one) whose working directory is inside `root`.

    Only processes the engine started count: they carry OOMPA_WORKTREE in their
    environment. A user's shell that happens to sit in a worktree is left alone."""
    root = Path(os.path.realpath(root))
    found = []
    for entry in _PROC.glob("[0-9]*"):
        try:
            cwd = Path(os.readlink(entry / "cwd"))
            if not (cwd == root or root in cwd.parents) or int(entry.name) == os.getpid():
                continue
            if b"\0OOMPA_WORKTREE=" in b"\0" + (entry / "environ").read_bytes():
                found.append(int(entry.name))
        except OSError:
            continue
    return found


def kill_processes_under(root: Path) -> list[int]:
    """SIGKILL every process group with a member working inside `root`; the pids found."""
    pids = processes_under(root) if root.exists() else []
    groups = {_group_of(pid) for pid in pids} - {None, os.getpgrp()}
    for group in groups:
        try:
            os.killpg(group, signal.SIGKILL)
        except OSError as exc:
            log.warning("could not end process group %s: %s", group, exc)
    for pid in pids:
        try:
            os.kill(pid, signal.SIGKILL)
        except OSError:
            pass
    return pids


def _group_of(pid: int) -> int | None:
    try:
        return os.getpgid(pid)
    except OSError:
        return None
