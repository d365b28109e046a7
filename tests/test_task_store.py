"""The task store keeps invariants 1 and 2: one claim per task, every file in one folder."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import threading
import time
from pathlib import Path

import msgspec
import pytest

from oompa_lsp.adapters import task_scan
from oompa_lsp.adapters.task_store import TaskStore, owner_here, owner_process_alive
from oompa_lsp.core.errors import ClaimLost, TaskFileError
from oompa_lsp.core.tasks import TASK_STATES, Attempt, Owner, Task

RACERS = 8
RACE_TASKS = 200

# Each racer waits for the go file so that all of them start claiming at the same moment.
RACER = r"""
import json, sys, time
from pathlib import Path
from oompa_lsp.adapters.task_store import TaskStore, owner_here
store = TaskStore(Path(sys.argv[1]))
go, worker = Path(sys.argv[2]), sys.argv[3]
owner = owner_here(worker, "race-run")
print("ready", flush=True)
while not go.exists():
    time.sleep(0.002)
claimed = []
while (task := store.claim_next(owner, set(), {})) is not None:
    claimed.append(task.id)
print(json.dumps(claimed), flush=True)
"""


def _store_with(tmp_path: Path, count: int) -> TaskStore:
    store = TaskStore(tmp_path / "tasks")
    for n in range(count):
        store.write_new(Task(id=f"t{n:03d}", summary=f"task {n}", priority=n % 5))
    return store


def _files_by_state(store: TaskStore) -> dict[str, list[str]]:
    return {state: sorted(p.name for p in (store.tasks_dir / state).glob("*")) if (store.tasks_dir / state).exists() else []
            for state in TASK_STATES}


def test_processes_racing_claim_every_task_exactly_once(tmp_path: Path) -> None:
    store = _store_with(tmp_path, RACE_TASKS)
    go = tmp_path / "go"
    racers = [subprocess.Popen([sys.executable, "-c", RACER, str(store.tasks_dir), str(go), f"w{i}"],
                               stdout=subprocess.PIPE, text=True) for i in range(RACERS)]
    for racer in racers:
        assert racer.stdout.readline().strip() == "ready"
    go.touch()
    claims = {}
    for i, racer in enumerate(racers):
        out, _ = racer.communicate(timeout=60)
        assert racer.returncode == 0
        claims[f"w{i}"] = (racer.pid, json.loads(out))

    all_claimed = [task_id for _, ids in claims.values() for task_id in ids]
    assert sorted(all_claimed) == [f"t{n:03d}" for n in range(RACE_TASKS)]  # each exactly once
    assert sum(1 for _, ids in claims.values() if ids) >= 2, "the racers did not overlap"

    files = _files_by_state(store)
    assert files["pending"] == [] and files["complete"] == [] and files["failed"] == []
    assert len(files["current"]) == RACE_TASKS  # no temp files left behind either
    scan = store.scan()
    assert scan.invalid == [] and len(scan.tasks["current"]) == RACE_TASKS
    for worker, (pid, ids) in claims.items():
        for task_id in ids:
            state, task = store.get(task_id)
            assert state == "current"
            assert task.claimed_by == worker and task.owner.worker == worker and task.owner.pid == pid
            assert task.claimed_at


def test_threads_racing_claim_every_task_exactly_once(tmp_path: Path) -> None:
    store = _store_with(tmp_path, 60)
    claims: dict[str, list[str]] = {f"thread{i}": [] for i in range(4)}
    start = threading.Barrier(4)

    def race(worker: str) -> None:
        own = TaskStore(store.tasks_dir)
        start.wait()
        while (task := own.claim_next(owner_here(worker, "run"), set(), {})) is not None:
            claims[worker].append(task.id)

    threads = [threading.Thread(target=race, args=(w,)) for w in claims]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=30)
    assert sorted(i for ids in claims.values() for i in ids) == [f"t{n:03d}" for n in range(60)]


def test_claim_order_is_priority_then_id_and_respects_dependencies_and_busy_files(tmp_path: Path) -> None:
    store = TaskStore(tmp_path / "tasks")
    store.write_new(Task(id="low", summary="low", priority=0))
    store.write_new(Task(id="high", summary="high", priority=9, files=["a.py"]))
    store.write_new(Task(id="after", summary="after", priority=20, depends_on=["low"]))
    owner = owner_here("w", "run")
    assert store.claim_next(owner, set(), in_flight={"other": ["a.py"]}).id == "low"
    assert store.claim_next(owner, set(), in_flight={"other": ["a.py"]}) is None  # high is blocked by a.py
    assert store.claim_next(owner, complete_ids={"low"}, in_flight={}).id == "after"
    assert store.claim_next(owner, set(), {}).id == "high"


def test_a_second_claim_of_the_same_task_is_lost(tmp_path: Path) -> None:
    store = _store_with(tmp_path, 1)
    store.claim("t000", owner_here("w1", "run"))
    with pytest.raises(ClaimLost, match="t000"):
        store.claim("t000", owner_here("w2", "run"))
    assert store.get("t000")[1].claimed_by == "w1"


def test_invalid_files_are_reported_with_path_and_reason_and_never_claimed(tmp_path: Path) -> None:
    store = _store_with(tmp_path, 1)
    pending = store.tasks_dir / "pending"
    (pending / "broken.json").write_text('{"id": "broken", "summary": ')
    (pending / "bad id.json").write_text('{"id": "bad id", "summary": "spaces"}')
    (pending / "unsafe.json").write_text('{"id": "../escape", "summary": "an unsafe id"}')

    scan = store.scan()
    reasons = {Path(f.path).name: " ".join(p.message for p in f.problems) for f in scan.invalid}
    assert set(reasons) == {"broken.json", "bad id.json", "unsafe.json"}
    assert "truncated" in reasons["broken.json"] or "malformed" in reasons["broken.json"].lower()
    assert "not a safe task id" in reasons["bad id.json"]
    assert "not a safe file name" in reasons["unsafe.json"]
    assert all(Path(f.path).parent == pending and f.state == "pending" for f in scan.invalid)
    assert scan.ids("pending") == {"t000"}

    owner = owner_here("w", "run")
    assert store.claim_next(owner, set(), {}).id == "t000"
    assert store.claim_next(owner, set(), {}) is None
    for bad in ("broken", "unsafe"):
        with pytest.raises(TaskFileError):
            store.claim(bad, owner)
    assert sorted(p.name for p in pending.iterdir()) == ["bad id.json", "broken.json", "unsafe.json"]


def test_an_original_oompa_ticket_keeps_every_field_through_claim_update_and_completion(tmp_path: Path) -> None:
    store = TaskStore(tmp_path / "tasks")
    (store.tasks_dir / "pending").mkdir(parents=True)
    ticket = {"id": "login", "summary": "Add login", "description": "a form", "difficulty": "medium",
              "acceptance": ["it logs in"], "completed_by": None, "target_files": ["app.py"],
              "notes": {"from": "an agent", "tries": [1, 2]}}
    (store.tasks_dir / "pending" / "login.json").write_text(json.dumps(ticket))

    claimed = store.claim("login", owner_here("w1", "run"))
    assert claimed.target_files == ["app.py"] and claimed.touched_files() == {"app.py"}
    claimed.attempts = [Attempt(worker="w1", branch="oompa/login/1", started_at="now")]
    store.update(claimed)
    claimed.completed_by, claimed.claimed_by, claimed.owner = "w1", None, None
    store.move("login", "current", "complete", claimed)

    written = json.loads((store.tasks_dir / "complete" / "login.json").read_text())
    assert list(written)[:len(ticket)] == list(ticket)  # the file's order; the engine's keys after
    assert {key: written[key] for key in ("difficulty", "notes")} == {key: ticket[key] for key in ("difficulty", "notes")}
    assert written["completed_by"] == "w1" and written["attempts"][0]["worker"] == "w1"
    assert "claimed_by" not in written and "owner" not in written


def test_a_requeued_ticket_keeps_its_own_fields_and_its_id_as_written(tmp_path: Path) -> None:
    store = TaskStore(tmp_path / "tasks")
    (store.tasks_dir / "pending").mkdir(parents=True)
    (store.tasks_dir / "pending" / "by-name.json").write_text(
        '{"id": "by-field", "summary": "s", "notes": "mine", "completed_by": null}')

    claimed = store.claim("by-name", owner_here("w1", "run"))
    assert claimed.id == "by-name"
    store.requeue("by-name")

    written = json.loads((store.tasks_dir / "pending" / "by-name.json").read_text())
    assert list(written) == ["id", "summary", "notes", "completed_by"]
    assert written == {"id": "by-field", "summary": "s", "notes": "mine", "completed_by": None}
    assert store.scan().ids("pending") == {"by-name"}


def test_files_where_no_task_file_may_be_are_named_with_what_to_do(tmp_path: Path) -> None:
    store = _store_with(tmp_path, 1)
    (store.tasks_dir / "loose.json").write_text('{"id": "loose", "summary": "s"}')
    (store.tasks_dir / "todo").mkdir()
    (store.tasks_dir / "todo" / "later.json").write_text('{"id": "later", "summary": "s"}')
    (store.tasks_dir / "pending" / "notes.txt").write_text("not a task file")
    (store.tasks_dir / "pending" / ".gitkeep").write_text("")
    (store.tasks_dir / "README.md").write_text("what this folder is")

    strays = {Path(s.path).relative_to(tmp_path).as_posix(): s.problem for s in store.stray_files(tmp_path)}

    assert strays == {"tasks/loose.json": "not in a state folder: move it to tasks/pending/",
                      "tasks/todo/later.json": "not in a state folder: move it to tasks/pending/",
                      "tasks/pending/notes.txt": "not a task file: task files end in .json"}


def test_a_task_file_saved_with_a_byte_order_mark_and_crlf_is_a_task(tmp_path: Path) -> None:
    store = TaskStore(tmp_path / "tasks")
    pending = store.tasks_dir / "pending"
    pending.mkdir(parents=True)
    (pending / "notepad.json").write_bytes(b'\xef\xbb\xbf{\r\n  "id": "notepad",\r\n  "summary": "saved on Windows"\r\n}\r\n')
    (pending / "typo.json").write_bytes(b'\xef\xbb\xbf{"id": "typo", "summary": 7}')

    scan = store.scan()
    assert scan.ids("pending") == {"notepad"}
    [typo] = scan.invalid
    assert "Expected `str`" in typo.problems[0].message and typo.problems[0].span.start.line == 0
    assert typo.problems[0].span.start.character == len('{"id": "typo", "summary": ')  # counted as the editor shows it
    assert store.claim_next(owner_here("w", "run"), set(), set()).summary == "saved on Windows"


def test_a_task_in_two_folders_is_reported_not_picked(tmp_path: Path) -> None:
    store = _store_with(tmp_path, 1)
    (store.tasks_dir / "complete").mkdir()
    (store.tasks_dir / "complete" / "t000.json").write_bytes((store.tasks_dir / "pending" / "t000.json").read_bytes())

    scan = store.scan()
    assert scan.duplicates == {"t000": ["pending", "complete"]}
    assert {Path(f.path).parent.name for f in scan.invalid} == {"pending", "complete"}
    assert all("also in" in f.problems[0].message for f in scan.invalid)
    assert scan.find("t000") is None
    assert store.claim_next(owner_here("w", "run"), set(), set()) is None


def _dead_pid() -> int:
    gone = subprocess.Popen([sys.executable, "-c", "pass"])
    gone.wait()
    return gone.pid


def test_recover_returns_dead_owners_claims_to_pending_and_leaves_live_ones(tmp_path: Path) -> None:
    store = _store_with(tmp_path, 3)
    dead = Owner(worker="w-dead", run_id="old-run", pid=_dead_pid(), host=owner_here("x", "y").host)
    live = owner_here("w-live", "this-run")
    store.claim("t000", dead)
    store.claim("t001", live)
    store.update(msgspec.structs.replace(store.get("t000")[1], attempts=[Attempt("w-dead", "oompa/t000", "2026-01-01T00:00:00Z")]))

    recovered = store.recover(owner_process_alive)

    assert recovered == [("t000", dead)]
    state, task = store.get("t000")
    assert state == "pending" and task.owner is None and task.claimed_by is None
    assert [a.worker for a in task.attempts] == ["w-dead"]
    assert store.get("t001")[0] == "current"
    assert store.recover(owner_process_alive) == []


def test_recover_takes_back_a_claim_whose_claimer_died_before_recording_itself(tmp_path: Path) -> None:
    store = _store_with(tmp_path, 1)
    (store.tasks_dir / "current").mkdir()
    (store.tasks_dir / "pending" / "t000.json").rename(store.tasks_dir / "current" / "t000.json")

    assert store.recover(owner_process_alive) == []  # may still be a claim in progress
    time.sleep(0.05)
    assert store.recover(owner_process_alive, unowned_after_s=0.01) == [("t000", None)]
    assert store.get("t000")[0] == "pending"


def test_a_claim_records_the_claimers_attempt_with_its_owner(tmp_path: Path) -> None:
    store = _store_with(tmp_path, 2)

    def start(task: Task) -> Task:
        return msgspec.structs.replace(task, attempts=[*task.attempts, Attempt("w1", f"oompa/{task.id}/1", "now")])

    claimed = store.claim_next(owner_here("w1", "run"), set(), set(), start=start)
    state, on_disk = store.get(claimed.id)
    assert state == "current" and on_disk == claimed
    assert on_disk.claimed_by == "w1" and [a.branch for a in on_disk.attempts] == [f"oompa/{claimed.id}/1"]


def test_requeue_clears_the_claim_and_keeps_the_attempts(tmp_path: Path) -> None:
    store = _store_with(tmp_path, 1)
    task = store.claim("t000", owner_here("w1", "run"))
    attempt = Attempt("w1", "oompa/t000-1", "2026-01-01T00:00:00Z", verdicts=["CHANGES_REQUESTED"],
                      feedback=["tests missing"], outcome="rejected")
    store.update(msgspec.structs.replace(task, attempts=[attempt]))
    store.move("t000", "current", "failed", msgspec.structs.replace(task, attempts=[attempt], failure="3 rejections"))
    assert store.get("t000")[1].failure == "3 rejections"

    requeued = store.requeue("t000")

    state, on_disk = store.get("t000")
    assert state == "pending" and on_disk == requeued
    assert on_disk.claimed_by is None and on_disk.claimed_at is None and on_disk.owner is None
    assert on_disk.failure is None and on_disk.attempts == [attempt]
    assert _files_by_state(store)["failed"] == []
    with pytest.raises(ClaimLost):
        store.requeue("t000")  # pending already


def test_move_to_complete_records_the_new_content(tmp_path: Path) -> None:
    store = _store_with(tmp_path, 1)
    task = store.claim("t000", owner_here("w1", "run"))
    store.move("t000", "current", "complete", msgspec.structs.replace(task, merged_commit="abc123"))
    assert store.get("t000") == ("complete", msgspec.structs.replace(task, merged_commit="abc123"))
    assert _files_by_state(store)["current"] == []
    with pytest.raises(ClaimLost):
        store.update(task)  # no longer current


def test_write_new_refuses_an_id_that_exists_in_any_state(tmp_path: Path) -> None:
    store = _store_with(tmp_path, 1)
    with pytest.raises(TaskFileError, match="already exists in pending"):
        store.write_new(Task(id="t000", summary="again"))
    store.claim("t000", owner_here("w", "run"))
    with pytest.raises(TaskFileError, match="already exists in current"):
        store.write_new(Task(id="t000", summary="again"))
    with pytest.raises(TaskFileError, match="safe"):
        store.write_new(Task(id="../escape", summary="no"))
    with pytest.raises(TaskFileError, match="summary"):
        store.write_new(Task(id="empty", summary=" "))
    assert _files_by_state(store) == {"pending": [], "current": ["t000.json"], "complete": [], "failed": []}


def test_an_edit_in_place_is_seen_even_when_size_and_mtime_stay_the_same(tmp_path: Path, monkeypatch) -> None:
    monkeypatch.setattr(task_scan, "_SETTLED_AFTER_NS", 0)  # keep what was read at once (normally: after 2 s)
    store = _store_with(tmp_path, 1)
    path = store.path("pending", "t000")
    long_ago = time.time() - 60
    os.utime(path, (long_ago, long_ago))
    assert store.scan().pending[0].summary == "task 0"
    with open(path, "r+b") as file:  # same inode, same size, as an editor writing in place
        file.write(path.read_bytes().replace(b"task 0", b"TASK 0"))
    os.utime(path, (long_ago, long_ago))  # and a tool that keeps the old mtime (ctime still moves)

    assert store.scan().pending[0].summary == "TASK 0"
    assert store.claim_next(owner_here("w1", "run"), set(), set()).summary == "TASK 0"
