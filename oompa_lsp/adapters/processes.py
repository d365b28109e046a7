"""Processes agents leave behind: those of a run that was killed, and those a turn left running.

- A `kill -9` of the swarm leaves its agents running (each has a process group of its own).
  The next run finds them by the OOMPA_WORKTREE in their environment (or their working
  directory) inside the worktrees, and ends their groups before it reuses the worktrees.
- A child that left its agent's process group or session (`setsid`, a daemonizing dev server,
  a watcher) outlives the turn: killing the group does not reach it, and once its parent is
  gone it is reparented to init, out of reach of a walk of our descendants. What it cannot
  shed is its environment: every run carries a marker variable (`TURN_VARIABLE`, a fresh value
  per run) that its descendants inherit, and the end of the run sweeps the machine for it.
  A process that rewrites its whole environment escapes this (a cgroup per turn would not
  let it; see docs/agents.md).

Inspection goes through psutil, so both work on Linux and macOS alike.
May import: core. Must not import: engine, lsp, cli.
"""

from __future__ import annotations

import logging
import os
import signal
import time
import uuid
from collections.abc import Collection, Iterable
from contextlib import suppress
from pathlib import Path

import psutil

from oompa_lsp.core.agents import LeftoverProcess

log = logging.getLogger(__name__)

TURN_VARIABLE = "OOMPA_TURN"
SWEEP_ROUNDS = 3  # a leftover may fork while it is being stopped: look again, this often
_POLL_S = 0.02
_COMMAND_CHARS = 200


def processes_under(root: Path) -> list[int]:
    """Pids of agent processes (not this one) working inside `root`.

    Only processes the engine started count: they carry OOMPA_WORKTREE in their environment.
    One counts when its working directory is inside `root`, or the OOMPA_WORKTREE it carries
    is (a daemon that moved to `/` still carries it). A user's shell that happens to sit in a
    worktree is left alone."""
    root = Path(os.path.realpath(root))
    found = []
    for process in psutil.process_iter(["cwd", "environ"], ad_value=None):
        environ = process.info["environ"] or {}
        if process.pid == os.getpid() or "OOMPA_WORKTREE" not in environ:
            continue
        places = [process.info["cwd"], os.path.realpath(environ["OOMPA_WORKTREE"])]
        if any(place and _inside(Path(place), root) for place in places):
            found.append(process.pid)
    return found


def _inside(path: Path, root: Path) -> bool:
    return path == root or root in path.parents


def kill_processes_under(root: Path) -> list[int]:
    """SIGKILL every process group with a member working inside `root`; the pids found."""
    pids = processes_under(root) if root.exists() else []
    groups = {group for pid in pids if (group := group_of(pid)) is not None} - {os.getpgrp()}
    for group in groups:
        try:
            os.killpg(group, signal.SIGKILL)
        except OSError as exc:
            log.warning("could not end process group %s: %s", group, exc)
    for pid in pids:
        with suppress(OSError):
            os.kill(pid, signal.SIGKILL)
    return pids


def new_turn_marker() -> str:
    """A marker that no other run shares."""
    return uuid.uuid4().hex


def turn_value(marker: str, inherited: str | None) -> str:
    """TURN_VARIABLE for a run: its own marker after the ones it inherited. A swarm started by
    an agent keeps its agents findable by the outer turn too, should it die without a cleanup."""
    return f"{inherited},{marker}" if inherited else marker


def _carries(environ: dict[str, str] | None, marker: str) -> bool:
    if not environ:
        return False
    return marker in environ.get(TURN_VARIABLE, "").split(",")


def marked_processes(marker: str, existing: Collection[int] = ()) -> list[psutil.Process]:
    """Live processes (not this one) whose environment carries `marker` in TURN_VARIABLE.
    `existing`: pids that were there before the run started, which cannot be its own: only
    the others are looked at (reading every process's environment costs milliseconds)."""
    found = []
    for pid in set(psutil.pids()) - set(existing) - {os.getpid()}:
        try:
            process = psutil.Process(pid)
            if _carries(process.environ(), marker) and process.status() != psutil.STATUS_ZOMBIE:
                found.append(process)
        except (psutil.NoSuchProcess, psutil.AccessDenied, psutil.ZombieProcess):
            continue
    return found


def stop_marked(
    marker: str, grace_s: float, keep: Collection[str] = (), existing: Collection[int] = ()
) -> list[LeftoverProcess]:
    """Stop every process still carrying `marker`: SIGTERM, `grace_s` to go, then SIGKILL;
    but those whose program is named in `keep` (declared services) are left running.

    Blocks (run it in a worker thread). Returns the processes found, described before
    they were stopped; an empty list in the usual case, when the turn left nothing."""
    stopped: dict[int, LeftoverProcess] = {}
    for round_ in range(SWEEP_ROUNDS):
        found = [p for p in marked_processes(marker, existing) if not is_service(p, keep)]
        if not found:
            break
        for process in found:
            stopped.setdefault(process.pid, describe(process))
        # The first round asks politely (a dev server may remove its pid file); what is
        # still there, or was forked meanwhile, is not asked again.
        _stop(found, grace_s if round_ == 0 else 0.0)
    return list(stopped.values())


def kept_services(marker: str, keep: Collection[str], existing: Collection[int] = ()) -> list[LeftoverProcess]:
    """The declared services a run left running (see `stop_marked`)."""
    return [describe(p) for p in marked_processes(marker, existing) if is_service(p, keep)] if keep else []


def is_service(process: psutil.Process, keep: Collection[str]) -> bool:
    """Whether the process runs one of the programs named in `keep` (by name or argv[0])."""
    if not keep:
        return False
    try:
        names = {process.name(), *(os.path.basename(a) for a in process.cmdline()[:1])}
    except (psutil.NoSuchProcess, psutil.AccessDenied):
        return False
    return bool(names & set(keep))


def describe(process: psutil.Process) -> LeftoverProcess:
    try:
        command = " ".join(process.cmdline()) or process.name()
    except (psutil.NoSuchProcess, psutil.AccessDenied):
        command = "?"
    if len(command) > _COMMAND_CHARS:
        command = command[: _COMMAND_CHARS - 3] + "..."
    return LeftoverProcess(pid=process.pid, command=command)


def _stop(processes: list[psutil.Process], grace_s: float) -> None:
    if grace_s > 0:
        _signal_all(processes, signal.SIGTERM)
        processes = _wait_gone(processes, grace_s)
    _signal_all(processes, signal.SIGKILL)
    _wait_gone(processes, 1.0)


def _signal_all(processes: Iterable[psutil.Process], signum: int) -> None:
    for process in processes:
        with suppress(psutil.NoSuchProcess, psutil.AccessDenied):
            process.send_signal(signum)  # psutil checks the pid was not reused meanwhile


def _wait_gone(processes: list[psutil.Process], timeout_s: float) -> list[psutil.Process]:
    """Wait up to `timeout_s` for the processes to exit; those still running.

    Not psutil.wait_procs: a process reparented to an init that does not reap (a container's)
    stays a zombie, which would count as running until the timeout."""
    deadline = time.monotonic() + timeout_s
    alive = processes
    while True:
        alive = [p for p in alive if is_running(p)]
        if not alive or time.monotonic() >= deadline:
            return alive
        time.sleep(_POLL_S)


def is_running(process: psutil.Process) -> bool:
    """Running, not a zombie waiting for a reaper."""
    try:
        return process.is_running() and process.status() != psutil.STATUS_ZOMBIE
    except psutil.NoSuchProcess:
        return False
    except psutil.AccessDenied:
        return True


def group_of(pid: int) -> int | None:
    """The process group of `pid`; None when it is gone (or not ours to ask about)."""
    try:
        return os.getpgid(pid)
    except OSError:
        return None
