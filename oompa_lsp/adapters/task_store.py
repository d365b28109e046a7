"""The task store: task files in state folders, and the one atomic claim.

Layout: `<tasks_dir>/{pending,current,complete,failed}/<id>.json` (folders created on demand).
A claim is `os.rename(pending/<id>.json, current/<id>.json)`: whoever's rename succeeds owns
the task, every other claimer gets `ClaimLost`; the owner is then recorded in the claimed file.
Every rewrite goes through a temp file plus `os.replace` in the same folder, so a reader never
sees half a file, and a task file only changes folder by rename, so it is always in exactly one
state folder. No lock is needed: atomicity comes from the rename, across threads and processes.

Files that are not valid tasks (bad JSON, an unsafe id or file name, one id in two folders)
are reported by `scan` and never claimed. A task's id is its file name (the engine moves
files by name), and the fields of a file that oompa does not use are written back as they
were on every rewrite (see `core.tasks.encode_task`). Files under the tasks folder that no
scan reads (a `.json` outside the state folders, a non-`.json` file inside one) are named by
`stray_files`, so none is skipped silently.

A swarm scans the whole store before every claim; the read cache that makes that cheap, the
scan's types and assembly, and the stray-file finding are in `task_scan`.

May import: the standard library, msgspec, oompa_lsp.core, oompa_lsp.adapters.atomic_files,
task_record and task_scan.
Must not import: engine, lsp, cli.
"""

from __future__ import annotations

import logging
import os
import socket
import time
from collections.abc import Callable, Iterable, Mapping
from pathlib import Path
from typing import NamedTuple

import msgspec

from oompa_lsp.adapters.atomic_files import create_exclusive, write_atomic
from oompa_lsp.adapters.task_record import TaskRecord
from oompa_lsp.adapters.task_scan import (
    FILE_START,
    InvalidTaskFile,
    ReadCache,
    StoreScan,
    StrayFile,
    assemble_scan,
    stray_files,
)
from oompa_lsp.core.errors import ClaimLost, TaskFileError
from oompa_lsp.core.tasks import (
    TASK_STATES,
    Owner,
    Task,
    TaskProblem,
    TaskState,
    claim_order,
    decode_task,
    encode_task,
    is_safe_id,
)

logger = logging.getLogger(__name__)

_STABLE_SCAN_TRIES = 3
_DEFAULT_UNOWNED_AFTER_S = 60.0


class RecoveredClaim(NamedTuple):
    task_id: str
    owner: Owner | None  # None: a claim whose claimer died before recording itself


def owner_here(worker: str, run_id: str) -> Owner:
    """The owner record for a claim made by this process."""
    return Owner(worker=worker, run_id=run_id, pid=os.getpid(), host=socket.gethostname())


def owner_process_alive(owner: Owner) -> bool:
    """False only when the owner's process provably no longer exists (same host, no such pid);
    an owner on another host is assumed alive, since we cannot look."""
    if owner.host != socket.gethostname():
        return True
    try:
        os.kill(owner.pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True  # exists, owned by another user
    return True


class TaskStore:
    def __init__(self, tasks_dir: Path) -> None:
        self.tasks_dir = Path(tasks_dir)
        self._folder_names = {state: str(self.tasks_dir / state) for state in TASK_STATES}
        self._cache = ReadCache()
        self.record = TaskRecord(self.path)  # what the engine knows each file holds (task_record.py)

    def path(self, state: TaskState, task_id: str) -> Path:
        return self.tasks_dir / state / f"{task_id}.json"

    # --- reading -------------------------------------------------------------------------

    def scan(self) -> StoreScan:
        """Every task file by state. The listing is retried until it holds still (a task
        moving mid-scan could otherwise be missed or seen twice)."""
        for _ in range(_STABLE_SCAN_TRIES):
            listing = self._listing()
            read = {state: [self._read(state, name) for name in names] for state, names in listing.items()}
            if self._listing() == listing:
                break
        for state, names in listing.items():
            self._cache.keep_only(self._folder_names[state], names)
        return assemble_scan(read, self.path)

    def read_state(self, state: TaskState) -> tuple[list[Task], list[InvalidTaskFile]]:
        """The valid tasks and invalid files of one folder (no cross-folder duplicate check)."""
        tasks: list[Task] = []
        invalid: list[InvalidTaskFile] = []
        for name in self._names(state):
            found = self._read(state, name)
            if isinstance(found, Task):
                tasks.append(found)
            elif isinstance(found, InvalidTaskFile):
                invalid.append(found)
        return tasks, invalid

    def stray_files(self, shown_from: Path) -> list[StrayFile]:
        """Files no scan reads, with what to do about them (see task_scan.stray_files)."""
        return stray_files(self.tasks_dir, shown_from)

    def states_of(self, task_id: str) -> list[TaskState]:
        """The folders holding a file for this id: one normally, none if unknown."""
        return [state for state in TASK_STATES if self.path(state, task_id).is_file()]

    def get(self, task_id: str) -> tuple[TaskState, Task] | None:
        states = self.states_of(task_id) if is_safe_id(task_id) else []
        if len(states) != 1:
            return None
        found = self._read(states[0], f"{task_id}.json")
        return (states[0], found) if isinstance(found, Task) else None

    # --- claiming ------------------------------------------------------------------------

    def claim(self, task_id: str, owner: Owner, start: Callable[[Task], Task] | None = None) -> Task:
        """Move the task from pending to current for `owner`; raises ClaimLost if another
        owner got it first, TaskFileError if the file is not a valid, unique task. `start`
        adds what the claimer records with its claim (its attempt), in the same write."""
        self._check_claimable(task_id)
        with self.record.lock:  # the rename and the owner's write are one change to the record
            self._rename(task_id, "pending", "current")
            return self._record_owner(task_id, owner, start)

    def claim_next(
        self,
        owner: Owner,
        complete_ids: Iterable[str],
        in_flight: Mapping[str, Iterable[str]],
        pending: list[Task] | None = None,
        start: Callable[[Task], Task] | None = None,
    ) -> Task | None:
        """Claim the best claimable pending task (see `claim_order`), skipping lost races;
        None when nothing is claimable. `pending` is a listing the caller read recently: the
        folder is then not read again, as a claim re-reads its one file and is a rename that
        fails for a task someone else took meanwhile. `in_flight`: the paths each task in flight
        holds (task id -> declared and changed paths). `start` as for `claim`."""
        if pending is None:
            pending, _ = self.read_state("pending")
        for candidate in claim_order(pending, set(complete_ids), in_flight):
            try:
                return self.claim(candidate.id, owner, start)
            except (ClaimLost, TaskFileError) as exc:
                logger.debug("skipping %s: %s", candidate.id, exc)
        return None

    # --- moving --------------------------------------------------------------------------

    def update(self, task: Task) -> None:
        """Rewrite a claimed task (attempts, feedback) in place."""
        path = self.path("current", task.id)
        if not path.is_file():
            raise ClaimLost(f"task {task.id} is no longer current")
        self._write("current", task)

    def move(self, task_id: str, from_state: TaskState, to_state: TaskState, task: Task | None = None) -> None:
        """Move a task between folders, writing `task` as its new content when given."""
        with self.record.lock:
            self._move(task_id, from_state, to_state, task)

    def _move(self, task_id: str, from_state: TaskState, to_state: TaskState, task: Task | None) -> None:
        self._ensure_absent(task_id, to_state)
        if to_state == "pending":
            # content first: a file must appear in pending complete, because it is claimable
            if task is not None:
                self._rewrite_existing(from_state, task)
            self._rename(task_id, from_state, to_state)
            return
        self._rename(task_id, from_state, to_state)
        if task is not None:
            self._write(to_state, task)

    def _write(self, state: TaskState, task: Task) -> None:
        """Every content the engine writes goes through here: the record knows it first."""
        data = encode_task(task)
        with self.record.lock:
            self.record.overwriting(state, task.id)
            write_atomic(self.path(state, task.id), data)
            self.record.remember(state, task.id, data)

    def requeue(self, task_id: str) -> Task:
        """Put a current or failed task back in pending: the claim and failure are cleared,
        the attempt history is kept."""
        requeueable: tuple[TaskState, ...] = ("current", "failed")
        state = next((s for s in requeueable if self.path(s, task_id).is_file()), None)
        if state is None:
            raise ClaimLost(f"task {task_id} is not current or failed, so it cannot be requeued")
        task = self._read_valid(state, task_id)
        cleared = msgspec.structs.replace(task, claimed_by=None, claimed_at=None, owner=None, failure=None)
        self.move(task_id, state, "pending", cleared)
        return cleared

    def write_new(self, task: Task) -> Path:
        """Create a task in pending; refuses an invalid task or an id that exists in any state."""
        data = encode_task(task)
        decoded, problems = decode_task(data, task.id)
        if decoded is None:
            raise TaskFileError(str(self.path("pending", task.id)), problems[0].message)
        existing = self.states_of(task.id)
        if existing:
            raise TaskFileError(
                str(self.path(existing[0], task.id)), f"task {task.id} already exists in {existing[0]}/"
            )
        target = self.path("pending", task.id)
        with self.record.lock:
            try:
                create_exclusive(target, data)
            except FileExistsError as exc:
                raise TaskFileError(str(target), f"task {task.id} already exists in pending/") from exc
            self.record.remember("pending", task.id, data)
        return target

    def recover(
        self, is_owner_alive: Callable[[Owner], bool], unowned_after_s: float = _DEFAULT_UNOWNED_AFTER_S
    ) -> list[RecoveredClaim]:
        """Send claims of dead owners back to pending and say which ones (the engine records
        an event for each). A current file with no owner is a claimer that died between its
        rename and recording itself, once it is older than `unowned_after_s`."""
        recovered: list[RecoveredClaim] = []
        current, _ = self.read_state("current")
        for task in current:
            if not self._claim_is_dead(task, is_owner_alive, unowned_after_s):
                continue
            try:
                self.requeue(task.id)
            except (ClaimLost, TaskFileError) as exc:
                logger.warning("could not recover task %s: %s", task.id, exc)
                continue
            recovered.append(RecoveredClaim(task.id, task.owner))
        return recovered

    # --- internals -----------------------------------------------------------------------

    def _folder(self, state: TaskState) -> Path:
        folder = self.tasks_dir / state
        folder.mkdir(parents=True, exist_ok=True)
        return folder

    def _names(self, state: TaskState) -> list[str]:
        try:
            entries = list(os.scandir(self.tasks_dir / state))
        except FileNotFoundError:
            return []
        # dot files are our own temp files mid-write; other extensions are not tasks
        return sorted(
            e.name for e in entries if e.name.endswith(".json") and not e.name.startswith(".") and e.is_file()
        )

    def _listing(self) -> dict[TaskState, list[str]]:
        return {state: self._names(state) for state in TASK_STATES}

    def _read(self, state: TaskState, name: str) -> Task | InvalidTaskFile | None:
        """The task in one file, its problems, or None if the file moved away meanwhile."""
        folder = self._folder_names[state]  # strings, not Paths: this runs for every file of every scan
        try:
            data = self._cache.read(folder, name)
        except FileNotFoundError:
            return None
        except OSError as exc:
            problem = TaskProblem(f"cannot read the file: {exc.strerror}", FILE_START)
            return InvalidTaskFile(os.path.join(folder, name), state, [problem])
        task, problems = decode_task(data, file_stem=name.removesuffix(".json"))
        if task is not None:
            self.record.seen(state, task.id, data)
            return task
        # the hints beside an error (fields oompa does not use) are the editor's, not the scan's
        errors = [problem for problem in problems if problem.severity == "error"]
        return InvalidTaskFile(os.path.join(folder, name), state, errors)

    def _check_claimable(self, task_id: str) -> None:
        if not is_safe_id(task_id):
            raise TaskFileError(task_id, "not a safe task id (letters, digits, . _ -)")
        self._read_valid("pending", task_id)
        elsewhere = [s for s in ("current", "complete", "failed") if self.path(s, task_id).is_file()]
        if elsewhere:
            raise TaskFileError(
                str(self.path("pending", task_id)), f"task {task_id} is also in {elsewhere[0]}/; delete the stale copy"
            )

    def _read_valid(self, state: TaskState, task_id: str) -> Task:
        found = self._read(state, f"{task_id}.json")
        if found is None:
            raise ClaimLost(f"task {task_id} is no longer {state}: another owner moved it first")
        if isinstance(found, InvalidTaskFile):
            raise TaskFileError(found.path, found.problems[0].message)
        return found

    def _rename(self, task_id: str, from_state: TaskState, to_state: TaskState) -> None:
        """The atomic step: only one of several concurrent renames of a file can succeed."""
        target = self._folder(to_state) / f"{task_id}.json"
        try:
            with self.record.lock:
                os.rename(self.path(from_state, task_id), target)
                self.record.moved(task_id, to_state)
        except FileNotFoundError as exc:
            raise ClaimLost(f"task {task_id} is no longer {from_state}: another owner moved it first") from exc
        except OSError as exc:
            raise ClaimLost(f"task {task_id} could not move from {from_state}/ to {to_state}/: {exc.strerror}") from exc

    def _record_owner(self, task_id: str, owner: Owner, start: Callable[[Task], Task] | None) -> Task:
        try:
            task = self._read_valid("current", task_id)
        except TaskFileError:
            # rewritten into something invalid between our check and our rename: hand it back
            self._rename(task_id, "current", "pending")
            raise
        claimed = msgspec.structs.replace(task, owner=owner, claimed_by=owner.worker, claimed_at=_utc_now())
        if start is not None:
            claimed = start(claimed)
        self._write("current", claimed)
        return claimed

    def _rewrite_existing(self, state: TaskState, task: Task) -> None:
        path = self.path(state, task.id)
        if not path.is_file():
            raise ClaimLost(f"task {task.id} is no longer {state}: another owner moved it first")
        self._write(state, task)

    def _ensure_absent(self, task_id: str, state: TaskState) -> None:
        # rename silently replaces its target; this check keeps a second copy from being lost
        if self.path(state, task_id).exists():
            raise TaskFileError(
                str(self.path(state, task_id)),
                f"task {task_id} already exists in {state}/; a task must be in one folder only",
            )

    def _claim_is_dead(self, task: Task, is_owner_alive: Callable[[Owner], bool], unowned_after_s: float) -> bool:
        if task.owner is not None:
            return not is_owner_alive(task.owner)
        try:
            info = self.path("current", task.id).stat()
        except FileNotFoundError:
            return False
        # rename keeps mtime but updates ctime, so the later of the two is when it was claimed
        return time.time() - max(info.st_mtime, info.st_ctime) > unowned_after_s


def _utc_now() -> str:
    return time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())
