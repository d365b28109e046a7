"""Reading the task store: what a scan finds (`StoreScan`: valid tasks by state, invalid
files with their problems, ids in two folders), the read cache that makes a scan before
every claim cheap, and the files under the tasks folder that no scan reads (`stray_files`).

A swarm scans the whole store before every claim. With a thousand tasks, opening and reading
every file each time was most of the engine's work, so a store keeps the bytes of the files
it read and reads a file again only when its inode, size or times changed (one `stat`
instead of open, read and close). Files changed within the last seconds are always read
again: the file system's timestamps are coarser than the moments between two writes.

May import: the standard library, msgspec, oompa_lsp.core. Must not import: engine, lsp, cli.
"""

from __future__ import annotations

import os
import time
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import NamedTuple

from msgspec import Struct

from oompa_lsp.core.jsonpos import Position, Span
from oompa_lsp.core.tasks import TASK_STATES, Task, TaskProblem, TaskState

FILE_START = Span(Position(0, 0), Position(0, 1))

# Changes within one tick of the kernel's coarse clock can keep mtime and size the same.
_SETTLED_AFTER_NS = 2_000_000_000


class InvalidTaskFile(Struct, frozen=True):
    path: str
    state: TaskState
    problems: list[TaskProblem]


class StoreScan(Struct):
    """Valid tasks by state, and every file that is not a claimable task, with its reasons."""

    tasks: dict[str, list[Task]]
    invalid: list[InvalidTaskFile]
    duplicates: dict[str, list[TaskState]]  # id -> the folders that each hold a copy

    def ids(self, state: TaskState) -> set[str]:
        return {task.id for task in self.tasks.get(state, [])}

    @property
    def pending(self) -> list[Task]:
        return self.tasks.get("pending", [])

    @property
    def current(self) -> list[Task]:
        return self.tasks.get("current", [])

    @property
    def complete(self) -> list[Task]:
        return self.tasks.get("complete", [])

    @property
    def failed(self) -> list[Task]:
        return self.tasks.get("failed", [])

    def find(self, task_id: str) -> tuple[TaskState, Task] | None:
        for state in TASK_STATES:
            for task in self.tasks.get(state, []):
                if task.id == task_id:
                    return state, task
        return None


class StrayFile(NamedTuple):
    """A file under the tasks folder that is not where a task file must be, and what to do."""

    path: str
    problem: str  # e.g. "not in a state folder: move it to tasks/pending/"


class ReadCache:
    """File bytes by folder and name, valid while the file's stat signature is unchanged."""

    def __init__(self) -> None:
        self._folders: dict[str, dict[str, tuple[tuple[int, int, int, int], bytes]]] = {}

    def read(self, folder: str, name: str) -> bytes:
        """The file's bytes; raises what reading it raises (FileNotFoundError, OSError)."""
        path = os.path.join(folder, name)
        info = os.stat(path)
        signature = (info.st_ino, info.st_size, info.st_mtime_ns, info.st_ctime_ns)
        entries = self._folders.setdefault(folder, {})
        kept = entries.get(name)
        if kept is not None and kept[0] == signature:
            return kept[1]
        with open(path, "rb") as file:
            data = file.read()
        settled = time.time_ns() - max(info.st_mtime_ns, info.st_ctime_ns) > _SETTLED_AFTER_NS
        if settled and len(data) == info.st_size:
            entries[name] = (signature, data)
        else:
            entries.pop(name, None)
        return data

    def keep_only(self, folder: str, names: Iterable[str]) -> None:
        """Forget the files of `folder` that are not among `names` (moved or deleted)."""
        entries = self._folders.get(folder)
        if entries:
            for gone in entries.keys() - set(names):
                entries.pop(gone, None)


def assemble_scan(
    read: dict[TaskState, list[Task | InvalidTaskFile | None]], path: Callable[[TaskState, str], Path]
) -> StoreScan:
    """The scan of what was read per folder: a task in two folders is invalid in both."""
    found: dict[str, dict[TaskState, Task | InvalidTaskFile]] = {}
    for state, entries in read.items():
        for entry in entries:
            if entry is not None:
                found.setdefault(_stem(entry), {})[state] = entry
    scan = StoreScan(tasks={state: [] for state in TASK_STATES}, invalid=[], duplicates={})
    for stem, by_state in sorted(found.items()):
        _add_to_scan(scan, stem, by_state, path)
    return scan


def _add_to_scan(
    scan: StoreScan,
    stem: str,
    by_state: dict[TaskState, Task | InvalidTaskFile],
    path: Callable[[TaskState, str], Path],
) -> None:
    # a copy seen during the scan may have been moved since; only copies still there count
    still_there = {s: e for s, e in by_state.items() if len(by_state) == 1 or path(s, stem).is_file()}
    if len(still_there) > 1:
        scan.duplicates[stem] = list(still_there)
        for state in still_there:
            others = ", ".join(f"{o}/" for o in still_there if o != state)
            problem = TaskProblem(
                f"task {stem} is also in {others}: a task must be in one folder only; delete the stale copy", FILE_START
            )
            scan.invalid.append(InvalidTaskFile(str(path(state, stem)), state, [problem]))
        return
    for state, entry in still_there.items():
        if isinstance(entry, Task):
            scan.tasks[state].append(entry)
        else:
            scan.invalid.append(entry)


def stray_files(tasks_dir: Path, shown_from: Path) -> list[StrayFile]:
    """Files no scan reads: `.json` files directly in the tasks folder or in a folder that
    is not a state folder, and other files (or folders) inside a state folder. Paths in
    the advice are shown relative to `shown_from` (the repository). Dot files are skipped:
    they are temp files mid-write and tools' own (`.gitkeep`, `.DS_Store`)."""
    pending = _shown(tasks_dir / "pending", shown_from) + "/"
    stray: list[StrayFile] = []
    for entry in _visible_entries(tasks_dir):
        if entry.is_dir() and entry.name in TASK_STATES:
            stray += _strays_in_state_folder(Path(entry.path), pending)
        elif entry.is_dir():
            stray += [
                StrayFile(path, f"not in a state folder: move it to {pending}")
                for path in _json_files_under(Path(entry.path))
            ]
        elif entry.name.endswith(".json"):
            stray.append(StrayFile(entry.path, f"not in a state folder: move it to {pending}"))
    return sorted(stray)


def _strays_in_state_folder(folder: Path, pending: str) -> list[StrayFile]:
    stray: list[StrayFile] = []
    for entry in _visible_entries(folder):
        if entry.is_dir():
            stray += [
                StrayFile(path, f"in a subfolder of {folder.name}/: task files sit directly in {pending}")
                for path in _json_files_under(Path(entry.path))
            ]
        elif not entry.name.endswith(".json"):
            stray.append(StrayFile(entry.path, "not a task file: task files end in .json"))
    return stray


def _visible_entries(folder: Path) -> list[os.DirEntry[str]]:
    try:
        return sorted((e for e in os.scandir(folder) if not e.name.startswith(".")), key=lambda e: e.name)
    except (FileNotFoundError, NotADirectoryError):
        return []


def _json_files_under(folder: Path) -> list[str]:
    found = []
    for top, dirs, files in os.walk(folder):
        dirs[:] = sorted(d for d in dirs if not d.startswith("."))
        found += [os.path.join(top, f) for f in sorted(files) if f.endswith(".json") and not f.startswith(".")]
    return found


def _shown(path: Path, shown_from: Path) -> str:
    try:
        return path.relative_to(shown_from).as_posix()
    except ValueError:
        return str(path)


def _stem(entry: Task | InvalidTaskFile) -> str:
    return entry.id if isinstance(entry, Task) else Path(entry.path).name.removesuffix(".json")
