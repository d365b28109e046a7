"""The run log: one folder per swarm run with its event log and transcripts, and the swarm lock.

`.oompa/runs/<run-id>/events.jsonl` holds one JSON event per line. The writer appends each
line with a single `write` on an O_APPEND descriptor, so lines from concurrent appenders never
interleave; readers only consume up to the last newline, so a line still being written (or
torn by a crash) is never decoded half. Everything a view shows is a fold of this file.

`.oompa/swarm.lock` allows one swarm per repository: an exclusive `flock` held for the run's
life (the kernel drops it when the holder dies, even by kill -9), with the holder's pid and run
id in `.oompa/swarm.json` so a refused start can say who is running.

May import: the standard library, msgspec, anyio, oompa_lsp.core, oompa_lsp.adapters.atomic_files.
Must not import: engine, lsp, cli.
"""

from __future__ import annotations

import fcntl
import logging
import os
import re
import secrets
import socket
import threading
import time
from collections.abc import AsyncIterator, Callable, Iterator
from contextlib import suppress
from pathlib import Path

import anyio
import msgspec
from msgspec import Struct

from oompa_lsp.adapters.atomic_files import write_atomic
from oompa_lsp.core.errors import SwarmLocked
from oompa_lsp.core.events import Event, decode_event, encode_event
from oompa_lsp.core.snapshot import Snapshot, fold

logger = logging.getLogger(__name__)

EVENTS_FILE = "events.jsonl"
_RUN_ID = re.compile(r"^\d{8}-\d{6}-\d{3}-[0-9a-f]{4}$")
_UNSAFE_NAME = re.compile(r"[^A-Za-z0-9._-]")
_LOCK_TRIES = 3  # a `holder()` probe takes the lock for an instant; don't mistake it for a swarm
_LOCK_RETRY_S = 0.02


def new_run_id(now: float | None = None) -> str:
    """`20261121-101500-123-ab12`: UTC time to the millisecond (so names sort by start time),
    then random hex (so two processes starting together still differ)."""
    now = time.time() if now is None else now
    stamp = time.strftime("%Y%m%d-%H%M%S", time.gmtime(now))
    return f"{stamp}-{int(now * 1000) % 1000:03d}-{secrets.token_hex(2)}"


def runs_dir(oompa_dir: Path) -> Path:
    return Path(oompa_dir) / "runs"


def list_runs(oompa_dir: Path) -> list[str]:
    """Run ids, oldest first."""
    try:
        names = os.listdir(runs_dir(oompa_dir))
    except FileNotFoundError:
        return []
    return sorted(n for n in names if _RUN_ID.match(n) and (runs_dir(oompa_dir) / n).is_dir())


class LogCursor:
    """A reading position in an event log: `poll()` returns the events completed since the
    last poll. Keep `offset` to resume later without reading the log again."""

    def __init__(self, events_path: Path, offset: int = 0) -> None:
        self.events_path = events_path
        self.offset = offset

    def poll(self) -> list[Event]:
        events, self.offset = read_events(self.events_path, self.offset)
        return events


def read_events(events_path: Path, offset: int = 0) -> tuple[list[Event], int]:
    """The complete lines after `offset`, decoded, and the offset just past the last of them.
    An unfinished last line is left for the next read; an undecodable line is skipped."""
    try:
        with open(events_path, "rb") as log:
            log.seek(offset)
            data = log.read()
    except FileNotFoundError:
        return [], offset
    complete = data[: data.rfind(b"\n") + 1]
    return _decode_lines(complete, offset), offset + len(complete)


def _decode_lines(data: bytes, offset: int) -> list[Event]:
    events: list[Event] = []
    for line in data.splitlines():
        if not line.strip():
            continue
        try:
            events.append(decode_event(line))
        except msgspec.DecodeError as exc:
            # a line torn by a crash, or an event type from a newer version: skip, say so
            logger.warning("skipping an unreadable event line after byte %d: %s", offset, exc)
    return events


class RunLog:
    """One run's folder: its event log (append and read), transcripts, and snapshot."""

    def __init__(self, run_dir: Path) -> None:
        self.run_dir = Path(run_dir)
        self.run_id = self.run_dir.name
        self.events_path = self.run_dir / EVENTS_FILE
        self._append_lock = threading.Lock()
        self._fd: int | None = None

    @classmethod
    def create(cls, oompa_dir: Path) -> RunLog:
        """A new run folder whose id sorts after every existing run."""
        latest = max(list_runs(oompa_dir), default="")
        run_id = new_run_id()
        while run_id[:19] == latest[:19]:
            time.sleep(0.002)  # same millisecond as the latest run: keep the order unambiguous
            run_id = new_run_id()
        run_dir = runs_dir(oompa_dir) / run_id
        run_dir.mkdir(parents=True)
        run_dir.joinpath(EVENTS_FILE).touch()
        return cls(run_dir)

    @classmethod
    def open(cls, oompa_dir: Path, run_id: str) -> RunLog:
        return cls(runs_dir(oompa_dir) / run_id)

    @classmethod
    def open_latest(cls, oompa_dir: Path) -> RunLog | None:
        """The most recent run, or None if no swarm ever ran here."""
        runs = list_runs(oompa_dir)
        return cls.open(oompa_dir, runs[-1]) if runs else None

    def append(self, event: Event) -> Event:
        """Stamp the event with the current time and append it as one line."""
        event.at = time.time()
        line = encode_event(event) + b"\n"
        with self._append_lock:
            _write_all(self._append_fd(), line)
        return event

    def read_all(self) -> list[Event]:
        return read_events(self.events_path)[0]

    def cursor(self, offset: int = 0) -> LogCursor:
        return LogCursor(self.events_path, offset)

    def snapshot(self) -> Snapshot:
        return fold(self.read_all())

    def snapshot_and_offset(self) -> tuple[Snapshot, int]:
        """The state now and where live events continue: what an attaching viewer needs."""
        events, offset = read_events(self.events_path)
        return fold(events), offset

    def follow(self, offset: int = 0, poll_s: float = 0.1, until: Callable[[], bool] | None = None) -> Iterator[Event]:
        """Yield events from `offset` on as they are appended, polling; stops after a final
        drain once `until()` is true (never, without it)."""
        cursor = self.cursor(offset)
        while True:
            stopping = until is not None and until()
            events = cursor.poll()
            yield from events
            if stopping:
                return
            if not events:
                time.sleep(poll_s)

    async def follow_async(self, offset: int = 0, poll_s: float = 0.1) -> AsyncIterator[Event]:
        """Like `follow`, for an event loop; ends when the consumer stops iterating."""
        cursor = self.cursor(offset)
        while True:
            events = cursor.poll()
            for event in events:
                yield event
            if not events:
                await anyio.sleep(poll_s)

    def transcript_path(self, worker: str, turn: int) -> Path:
        """Where the raw output of one agent turn is kept (folder created)."""
        folder = self.run_dir / "transcripts"
        folder.mkdir(parents=True, exist_ok=True)
        return folder / f"{_UNSAFE_NAME.sub('_', worker)}-turn{turn:03d}.log"

    def close(self) -> None:
        with self._append_lock:
            if self._fd is not None:
                os.close(self._fd)
                self._fd = None

    def _append_fd(self) -> int:
        if self._fd is None:
            self.run_dir.mkdir(parents=True, exist_ok=True)
            fd = os.open(self.events_path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o644)
            _end_torn_line(fd, self.events_path)
            self._fd = fd
        return self._fd


def _end_torn_line(fd: int, path: Path) -> None:
    """If an earlier writer died mid-line, end that line so the next event starts clean."""
    size = os.fstat(fd).st_size
    if size == 0:
        return
    with open(path, "rb") as log:
        log.seek(size - 1)
        if log.read(1) != b"\n":
            _write_all(fd, b"\n")


def _write_all(fd: int, data: bytes) -> None:
    written = os.write(fd, data)
    while written < len(data):  # only on a full disk or a signal; one write is the norm
        written += os.write(fd, data[written:])


class SwarmHolder(Struct, frozen=True, omit_defaults=True):
    pid: int | None = None  # None: the lock is held, but by whom was not (yet) written down
    run_id: str | None = None
    host: str = ""
    since: float = 0.0

    def describe(self) -> str:
        if self.pid is None:
            return "an unknown process"
        return f"pid {self.pid}" + (f" on {self.host}" if self.host else "") + f", run {self.run_id}"


class SwarmLock:
    """One swarm per repository. `acquire` never blocks: it raises SwarmLocked naming the
    holder. The lock lives as long as this process holds its descriptor."""

    def __init__(self, oompa_dir: Path) -> None:
        self.lock_path = Path(oompa_dir) / "swarm.lock"
        self.info_path = Path(oompa_dir) / "swarm.json"
        self._fd: int | None = None

    @property
    def held(self) -> bool:
        return self._fd is not None

    def acquire(self, run_id: str) -> SwarmHolder:
        if self._fd is not None:
            return self._read_info() or SwarmHolder()
        self.lock_path.parent.mkdir(parents=True, exist_ok=True)
        # not inherited by child processes (PEP 446): an agent outliving us cannot keep the lock
        fd = os.open(self.lock_path, os.O_RDWR | os.O_CREAT, 0o644)
        if not _try_lock(fd, fcntl.LOCK_EX, _LOCK_TRIES):
            os.close(fd)
            raise _locked_error(self._read_info() or SwarmHolder())
        self._fd = fd
        me = SwarmHolder(pid=os.getpid(), run_id=run_id, host=socket.gethostname(), since=time.time())
        write_atomic(self.info_path, msgspec.json.encode(me))
        return me

    def release(self) -> None:
        if self._fd is None:
            return
        # remove the holder file while still holding the lock, so a successor's is never removed
        with suppress(FileNotFoundError):
            self.info_path.unlink()
        fcntl.flock(self._fd, fcntl.LOCK_UN)
        os.close(self._fd)
        self._fd = None

    def holder(self) -> SwarmHolder | None:
        """Who holds the lock, or None if it is free (a swarm.json left by a killed holder
        does not count: the kernel released its lock)."""
        if self._fd is not None:
            return self._read_info() or SwarmHolder()
        try:
            fd = os.open(self.lock_path, os.O_RDONLY)
        except FileNotFoundError:
            return None
        try:
            if _try_lock(fd, fcntl.LOCK_SH, 1):
                fcntl.flock(fd, fcntl.LOCK_UN)
                return None
        finally:
            os.close(fd)
        return self._read_info() or SwarmHolder()

    def _read_info(self) -> SwarmHolder | None:
        try:
            return msgspec.json.decode(self.info_path.read_bytes(), type=SwarmHolder)
        except (FileNotFoundError, msgspec.DecodeError):
            return None


def _try_lock(fd: int, kind: int, tries: int) -> bool:
    for attempt in range(tries):
        try:
            fcntl.flock(fd, kind | fcntl.LOCK_NB)
            return True
        except BlockingIOError:
            if attempt + 1 < tries:
                time.sleep(_LOCK_RETRY_S)
    return False


def _locked_error(holder: SwarmHolder) -> SwarmLocked:
    return SwarmLocked(
        f"another swarm is already running on this repository ({holder.describe()}); "
        "stop it with `oompa stop` or wait for it to finish",
        pid=holder.pid,
        run_id=holder.run_id,
    )
