"""Running one agent process group: stdin in, stdout lines out, bounded in time, always ended.

The agent runs in a session (process group) of its own, so ending it ends everything it
started: on timeout, on cancellation of the caller, on an early stop, and also after a normal
exit (children left behind, e.g. a dev server, would outlive the turn and keep our pipes open).
Ending means SIGTERM to the group, a short grace, then SIGKILL. Then what left the group
(a child that called `setsid`: a daemon, a dev server started with `nohup`) is found by the
marker every run carries in its environment and stopped the same way; `ProcessResult.leftovers`
names it. Reading stdout never hangs the caller: once the group is ended, the pipes are
drained for a moment and then abandoned.

Must not import: engine, lsp, cli; anything but the standard library, anyio, psutil,
oompa_lsp.core and oompa_lsp.adapters.processes.
"""

from __future__ import annotations

import logging
import os
import signal
from collections import deque
from collections.abc import Callable, Collection
from contextlib import suppress
from dataclasses import dataclass, field
from pathlib import Path
from typing import BinaryIO

import anyio
import psutil
from anyio.abc import ByteReceiveStream, ByteSendStream, Process

from oompa_lsp.core.agents import LeftoverProcess

from ..processes import TURN_VARIABLE, group_of, kept_services, new_turn_marker, stop_marked, turn_value

logger = logging.getLogger(__name__)

GRACE_S = 2.0  # between SIGTERM and SIGKILL
CLOSING_GRACE_S = 10.0  # how long a CLI may take to exit after its closing event
DRAIN_S = 1.0  # reading what is left in the pipes once the group is gone
STDERR_LINES = 100  # how much stderr is kept for error messages and the transcript
_POLL_S = 0.05


@dataclass
class ProcessResult:
    exit_code: int | None
    timed_out: bool = False  # the deadline (or the grace after the closing event) passed
    stopped: bool = False  # ended early because a line said the run was hopeless
    stdout_lines: list[str] = field(default_factory=list)
    stderr_tail: list[str] = field(default_factory=list)
    duration_s: float = 0.0
    leftovers: list[LeftoverProcess] = field(default_factory=list)  # outlived the group; stopped since
    kept: list[LeftoverProcess] = field(default_factory=list)  # declared services, still running
    marker: str = ""  # what the run's processes carry


# What a line means for the run: go on (None), STOP now, or CLOSING (the CLI has said its last
# word: it gets CLOSING_GRACE_S to exit, so one that hangs on exit does not cost the whole timeout).
STOP = "stop"
CLOSING = "closing"
LineHandler = Callable[[str], str | None]


async def run_process_group(
    argv: list[str],
    *,
    cwd: str,
    env: dict[str, str],
    stdin: bytes,
    timeout_s: float,
    on_line: LineHandler | None = None,
    transcript: Path | None = None,
    keep: Collection[str] = (),
) -> ProcessResult:
    """Run argv to completion or until `timeout_s`; raises OSError if it cannot start.
    What it leaves running is stopped, but for the programs named in `keep` (declared
    services, in `ProcessResult.kept`: stop them later with `stop_services`)."""
    started = anyio.current_time()
    marker = new_turn_marker()
    env = {**env, TURN_VARIABLE: turn_value(marker, os.environ.get(TURN_VARIABLE))}
    existing = frozenset(psutil.pids())  # what runs before the turn is not the turn's
    process = await anyio.open_process(argv, cwd=cwd, env=env, start_new_session=True)
    run = _Run(process, on_line, _open_transcript(transcript), marker, tuple(keep), existing)
    try:
        await run.supervise(stdin, timeout_s)
    finally:
        with anyio.CancelScope(shield=True):
            await end_group(process)
            await run.stop_leftovers()  # done already, unless the run was cancelled or failed
            await _close(process)
            run.finish_transcript()
    result = run.result()
    result.duration_s = anyio.current_time() - started
    result.marker = marker
    if keep:
        result.kept = await anyio.to_thread.run_sync(kept_services, marker, tuple(keep), existing)
    return result


async def stop_services(marker: str) -> list[LeftoverProcess]:
    """Stop the declared services a run was allowed to leave running (its checks are done)."""
    return await anyio.to_thread.run_sync(stop_marked, marker, GRACE_S)


async def stop_leftovers(
    marker: str, pid: int, keep: tuple[str, ...] = (), existing: frozenset[int] = frozenset()
) -> list[LeftoverProcess]:
    """Stop what the run left outside its group: a sweep of the machine, so in a worker thread."""
    leftovers = await anyio.to_thread.run_sync(stop_marked, marker, GRACE_S, keep, existing)
    if leftovers:
        logger.warning(
            "process %d left %d process(es) running; stopped: %s",
            pid,
            len(leftovers),
            ", ".join(f"{p.pid} {p.command}" for p in leftovers),
        )
    return leftovers


class _Run:
    """The state of one running group: its output so far and why it stopped."""

    def __init__(
        self,
        process: Process,
        on_line: LineHandler | None,
        transcript: BinaryIO | None,
        marker: str,
        keep: tuple[str, ...] = (),
        existing: frozenset[int] = frozenset(),
    ) -> None:
        self.process = process
        self.on_line = on_line
        self.transcript = transcript
        self.stdout: list[str] = []
        self.stderr: deque[str] = deque(maxlen=STDERR_LINES)
        self.timed_out = False
        self.stopped = False
        self.deadline: anyio.CancelScope | None = None
        self.marker = marker
        self.keep = keep
        self.existing = existing
        self.leftovers: list[LeftoverProcess] | None = None  # None until looked for

    async def supervise(self, stdin: bytes, timeout_s: float) -> None:
        async with anyio.create_task_group() as tg:
            tg.start_soon(_feed, self.process.stdin, stdin)
            readers = [anyio.Event(), anyio.Event()]
            tg.start_soon(self._pump, self.process.stdout, self._stdout_line, readers[0], True)
            tg.start_soon(self._pump, self.process.stderr, self.stderr.append, readers[1], False)
            with anyio.move_on_after(timeout_s) as deadline:
                self.deadline = deadline
                await self.process.wait()
            self.timed_out = deadline.cancelled_caught
            await end_group(self.process)
            # Before the drain: a leftover holding our pipes would make it wait DRAIN_S.
            await self.stop_leftovers()
            with anyio.move_on_after(DRAIN_S):
                for done in readers:
                    await done.wait()
            tg.cancel_scope.cancel()

    async def _pump(
        self, stream: ByteReceiveStream | None, deliver: Callable[[str], object], done: anyio.Event, to_transcript: bool
    ) -> None:
        pending = b""
        try:
            if stream is None:
                return
            async for chunk in stream:
                if to_transcript:
                    self._record(chunk)
                *lines, pending = (pending + chunk).split(b"\n")
                for raw in lines:
                    deliver(_text(raw))
            if pending:
                deliver(_text(pending))
        except (anyio.ClosedResourceError, anyio.BrokenResourceError):
            pass
        finally:
            done.set()

    async def stop_leftovers(self) -> None:
        if self.leftovers is None:
            self.leftovers = await stop_leftovers(self.marker, self.process.pid, self.keep, self.existing)

    def _stdout_line(self, line: str) -> None:
        self.stdout.append(line)
        if self.on_line is None or self.stopped:
            return
        try:
            meaning = self.on_line(line)
        except Exception:  # a broken live view must not break the run
            logger.exception("line handler failed")
            return
        if meaning == STOP:
            self.stopped = True
            signal_group(self.process.pid, signal.SIGTERM)
        elif meaning == CLOSING and self.deadline is not None:
            self.deadline.deadline = min(self.deadline.deadline, anyio.current_time() + CLOSING_GRACE_S)

    def _record(self, chunk: bytes) -> None:
        if self.transcript is None:
            return
        try:
            self.transcript.write(chunk)
            self.transcript.flush()
        except OSError as exc:  # a full disk loses the transcript, not the agent's turn
            logger.warning("transcript stopped: %s", exc)
            self.transcript.close()
            self.transcript = None

    def finish_transcript(self) -> None:
        if self.stderr:
            self._record(b"\n--- stderr (last lines) ---\n" + "\n".join(self.stderr).encode("utf-8", "replace") + b"\n")
        if self.transcript is not None:
            self.transcript.close()

    def result(self) -> ProcessResult:
        return ProcessResult(
            exit_code=self.process.returncode,
            timed_out=self.timed_out,
            stopped=self.stopped,
            stdout_lines=self.stdout,
            stderr_tail=list(self.stderr),
            leftovers=self.leftovers or [],
        )


async def _feed(stream: ByteSendStream | None, data: bytes) -> None:
    """Write the prompt and close stdin; an agent that never reads it is not an error."""
    if stream is None:
        return
    try:
        if data:
            await stream.send(data)
    except (anyio.BrokenResourceError, anyio.ClosedResourceError, OSError):
        pass
    finally:
        with suppress(anyio.BrokenResourceError, OSError):
            await stream.aclose()


async def end_group(process: Process, grace_s: float = GRACE_S) -> None:
    """SIGTERM the process group, wait up to `grace_s` for it to go, then SIGKILL what is left."""
    pgid = process.pid
    if not live_members(pgid) and process.returncode is not None:
        return
    signal_group(pgid, signal.SIGTERM)
    with anyio.move_on_after(grace_s):
        await process.wait()
        while live_members(pgid):  # noqa: ASYNC110 -- polling the OS: no event says a group is gone
            await anyio.sleep(_POLL_S)
        return
    signal_group(pgid, signal.SIGKILL)
    with anyio.move_on_after(grace_s):
        await process.wait()


def signal_group(pgid: int, signum: int) -> None:
    with suppress(ProcessLookupError, PermissionError):
        os.killpg(pgid, signum)


def live_members(pgid: int) -> list[int]:
    """Processes of the group that are still running (zombies waiting for a reaper are not)."""
    # The usual answer after an agent exits is "none": the kernel says so in one call, where
    # looking at every process on the machine blocks the event loop for ms.
    if not _group_exists(pgid):
        return []
    return [
        process.pid
        for process in psutil.process_iter(["status"])
        if process.info["status"] not in (psutil.STATUS_ZOMBIE, psutil.STATUS_DEAD) and group_of(process.pid) == pgid
    ]


def _group_exists(pgid: int) -> bool:
    try:
        os.killpg(pgid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


async def _close(process: Process) -> None:
    for stream in (process.stdin, process.stdout, process.stderr):
        if stream is not None:
            with suppress(anyio.BrokenResourceError, OSError):
                await stream.aclose()
    if process.returncode is None:
        with anyio.move_on_after(GRACE_S):
            await process.wait()


def _open_transcript(path: Path | None) -> BinaryIO | None:
    if path is None:
        return None
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        return path.open("ab")
    except OSError as exc:
        logger.warning("cannot write transcript %s: %s", path, exc)
        return None


def _text(raw: bytes) -> str:
    return raw.decode("utf-8", "replace").rstrip("\r")
