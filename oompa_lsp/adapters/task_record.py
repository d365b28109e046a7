"""The engine's record of the task files, and their restoration when someone else removes them.

Task files are the engine's to keep: an agent's `rm tasks/pending/*` must not lose a task.
The record holds, per task, the state folder and the bytes the engine last wrote there (or
last read from a file it did not write: a task a user or planner created). A file that has
gone from every state folder is written back where it was; a file the engine owns (claimed
in current/, or complete/) that someone rewrote gets the engine's content back. Pending and
failed files may be edited (users fix tasks before they run): their new content is what
is recorded. Only content this engine wrote itself is defended against a rewrite (a file
another engine wrote is read, not owned). Restoring never overwrites: a file in the way is
left as it is.

Every write of the task store and every check here hold the record's lock, so a check never
sees the engine halfway through its own write. May import: the standard library,
oompa_lsp.core, oompa_lsp.adapters.atomic_files. Must not import: engine, lsp, cli.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from pathlib import Path
from typing import NamedTuple

from oompa_lsp.adapters.atomic_files import create_exclusive, write_atomic
from oompa_lsp.core.tasks import TASK_STATES, TaskState

# Folders whose files only the engine writes: a rewrite by anyone else is undone.
ENGINE_OWNED: frozenset[TaskState] = frozenset({"current", "complete"})


class RestoredFile(NamedTuple):
    task_id: str
    state: TaskState
    path: str
    why: str  # "removed" or "rewritten"
    content: str


class TaskRecord:
    def __init__(self, path_of: Callable[[TaskState, str], Path]) -> None:
        self._path_of = path_of
        self._known: dict[str, tuple[TaskState, bytes]] = {}
        self._ours: set[str] = set()  # ids whose recorded content is this engine's own write
        self._rewritten: set[str] = set()  # engine-owned files a scan found changed
        self._undone: list[RestoredFile] = []  # rewrites the engine's own next write undid
        self.lock = threading.RLock()

    def remember(self, state: TaskState, task_id: str, data: bytes) -> None:
        """The engine wrote `data` for `task_id` in `state` (call with the lock held)."""
        self._known[task_id] = (state, data)
        self._ours.add(task_id)

    def overwriting(self, state: TaskState, task_id: str) -> None:
        """The engine is about to write an owned file: if someone rewrote it since the
        engine's last write, that rewrite is undone now, and said (call with the lock held)."""
        known = self._known.get(task_id)
        if known is None or known[0] != state or state not in ENGINE_OWNED or task_id not in self._ours:
            return
        if _content_of(self._path_of(state, task_id)) not in (None, known[1]):
            self._undone.append(self._restored(task_id, state, "rewritten", known[1]))

    def moved(self, task_id: str, to_state: TaskState) -> None:
        known = self._known.get(task_id)
        if known is not None:
            self._known[task_id] = (to_state, known[1])

    def seen(self, state: TaskState, task_id: str, data: bytes) -> None:
        """A valid file found by a scan. An engine-owned file whose content is not the engine's
        write is noted for `restore`; any other is recorded as it is (a user's edit of a
        pending task, a task a planner wrote)."""
        with self.lock:
            known = self._known.get(task_id)
            if known is not None and known[0] == state and state in ENGINE_OWNED and task_id in self._ours:
                if known[1] != data:
                    self._rewritten.add(task_id)
                return
            self._known[task_id] = (state, data)
            self._ours.discard(task_id)

    def restore(self, listed: set[str]) -> list[RestoredFile]:
        """Put back every recorded file a scan did not find in any folder (`listed`: the ids
        it found), and the engine's content of owned files someone rewrote. Costs nothing
        when nothing is wrong: only the suspects are looked at again."""
        with self.lock:
            restored, self._undone = self._undone, []
            suspects = sorted((self._known.keys() - listed) | self._rewritten)
            self._rewritten.clear()
            for task_id in suspects:
                state, data = self._known[task_id]
                found = self._restore_one(task_id, state, data)
                if found is not None:
                    restored.append(found)
        return restored

    def _restore_one(self, task_id: str, state: TaskState, data: bytes) -> RestoredFile | None:
        path = self._path_of(state, task_id)
        if self._nowhere(task_id) and self._nowhere(task_id):
            try:
                path.parent.mkdir(parents=True, exist_ok=True)
                create_exclusive(path, data)
            except FileExistsError:
                return None  # written back meanwhile by someone else: theirs stands
            return self._restored(task_id, state, "removed", data)
        if state in ENGINE_OWNED and task_id in self._ours and _content_of(path) not in (None, data):
            write_atomic(path, data)
            return self._restored(task_id, state, "rewritten", data)
        return None

    def _restored(self, task_id: str, state: TaskState, why: str, data: bytes) -> RestoredFile:
        return RestoredFile(task_id, state, str(self._path_of(state, task_id)), why, data.decode("utf-8", "replace"))

    def _nowhere(self, task_id: str) -> bool:
        """In no state folder. Asked twice by `_restore_one`: another process moving the file
        back (current/ to pending/) while one look goes through the folders can hide it from
        that look, not from two."""
        return not any(self._path_of(s, task_id).exists() for s in TASK_STATES)


def _content_of(path: Path) -> bytes | None:
    try:
        with open(path, "rb") as file:
            return file.read()
    except OSError:  # gone, or unreadable: nothing to compare, so nothing is overwritten
        return None
