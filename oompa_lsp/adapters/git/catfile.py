"""One long-lived `git cat-file --batch-command` per repository: git's answers without a process each.

A git process costs milliseconds and one swarm task asks dozens of plain questions (which
commit does this name, what is its tree, its parents, this file at that commit). They are put,
one line each, to a single `cat-file` that git keeps running for the run: git itself resolves
the names (loose or packed refs, reftable, abbreviations, `^{commit}` peeling) and reads the
objects, so nothing here knows how git stores anything. Git re-reads refs and looks for new packs
on every question, so a ref moved or a `gc` run meanwhile is seen.

`CatFile` is shared by the worker threads of a run: one question at a time holds its lock. The
process starts on the first question and ends with `close()` (or when the owner is collected);
a question after `close()` starts a new one. A process that died is started again once.

Must not import: engine, lsp, cli; anything but the standard library and this package's command.py.
"""

from __future__ import annotations

import subprocess
import threading
import weakref
from dataclasses import dataclass
from pathlib import Path

from oompa_lsp.core.errors import GitCommandFailed

from .command import git_argv, git_environment

_ARGS = ("cat-file", "--batch-command")


@dataclass(frozen=True, slots=True)
class ObjectInfo:
    """What git says an object name resolves to."""

    oid: str
    kind: str  # commit, tree, blob, tag
    size: int


class CatFile:
    """Questions about objects, asked of one `git cat-file --batch-command` run in `cwd`."""

    __slots__ = ("__weakref__", "_cwd", "_finalizer", "_lock", "_process")

    def __init__(self, cwd: Path) -> None:
        self._cwd = cwd
        self._lock = threading.Lock()
        self._process: subprocess.Popen[bytes] | None = None
        self._finalizer: weakref.finalize[[subprocess.Popen[bytes]], CatFile] | None = None

    def info(self, name: str) -> ObjectInfo | None:
        """The object `name` resolves to (any name git understands); None when it names none."""
        if not _askable(name):
            return None
        with self._lock:
            header = self._ask(f"info {name}\n")
            return _object_info(header)

    def contents(self, name: str) -> tuple[ObjectInfo, bytes] | None:
        """The object `name` resolves to, with its content; None when it names none."""
        if not _askable(name):
            return None
        with self._lock:
            header = self._ask(f"contents {name}\n")
            found = _object_info(header)
            if found is None:
                return None
            assert self._process is not None and self._process.stdout is not None
            body = self._process.stdout.read(found.size + 1)  # the content, then a newline
            if len(body) != found.size + 1:
                self._stop()
                raise GitCommandFailed(list(_ARGS), -1, f"cat-file ended while sending {name}")
            return found, body[:-1]

    def close(self) -> None:
        """End the process (a later question starts another)."""
        with self._lock:
            self._stop()

    # -- the process ------------------------------------------------------------------------

    def _ask(self, line: str) -> bytes:
        """Send one command and read git's header line; once more with a fresh process if the
        first has died (killed, or the repository's gc replaced what it had open)."""
        for _attempt in (1, 2):
            process = self._running()
            try:
                assert process.stdin is not None and process.stdout is not None
                process.stdin.write(line.encode("utf-8", "surrogateescape"))
                process.stdin.flush()
                header = process.stdout.readline()
            except (BrokenPipeError, OSError):
                header = b""
            if header.endswith(b"\n"):
                return header
            self._stop()
        raise GitCommandFailed(list(_ARGS), -1, f"cat-file stopped answering in {self._cwd}")

    def _running(self) -> subprocess.Popen[bytes]:
        if self._process is None or self._process.poll() is not None:
            self._stop()
            # stderr goes nowhere: git explains a name it cannot resolve there, and an unread
            # pipe would fill up and stall it; the answer line says "missing" anyway.
            self._process = subprocess.Popen(
                git_argv(_ARGS),
                cwd=self._cwd,
                env=git_environment(),
                stdin=subprocess.PIPE,
                stdout=subprocess.PIPE,
                stderr=subprocess.DEVNULL,
            )
            self._finalizer = weakref.finalize(self, _end, self._process)
        return self._process

    def _stop(self) -> None:
        if self._finalizer is not None:
            self._finalizer()  # runs _end once
        self._process, self._finalizer = None, None


def _end(process: subprocess.Popen[bytes]) -> None:
    """Close git's input (it exits at end of input) and reap it; kill it if it lingers."""
    try:
        if process.stdin is not None:
            process.stdin.close()
        process.wait(timeout=5)
    except (OSError, subprocess.TimeoutExpired):
        process.kill()
        process.wait()
    if process.stdout is not None:
        process.stdout.close()


def _askable(name: str) -> bool:
    # One command per line: a name with a line break (or an empty one) cannot be sent whole,
    # and surrounding spaces would be read differently than the caller meant.
    return bool(name) and "\n" not in name and "\r" not in name and name == name.strip()


def _object_info(header: bytes) -> ObjectInfo | None:
    """`<oid> <type> <size>`, or `<name> missing` / `<name> ambiguous` (None)."""
    parts = header.decode("utf-8", "replace").rstrip("\n").rsplit(" ", 2)
    if len(parts) != 3 or not parts[2].isdigit():
        return None
    return ObjectInfo(parts[0], parts[1], int(parts[2]))
