"""The merge train on a real repository, with real check processes: requests checked at once,
each on top of the ones ahead, landed in order; failures, hangs and the user's own commits."""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import time
from pathlib import Path

import anyio
import msgspec
import pytest

from oompa_lsp.adapters.task_store import TaskStore
from oompa_lsp.console import status_table
from oompa_lsp.core import events as ev
from oompa_lsp.core.snapshot import fold
from oompa_lsp.core.tasks import Attempt, Owner, Task
from oompa_lsp.lsp import protocol as p

from .swarm_fixtures import git, make_project, run_swarm
from .test_cli import oompa, start_swarm, wait_for
from .test_merge_queue import QueuedRun, _branch

pytestmark = [pytest.mark.anyio, pytest.mark.timeout(90)]

# A check that logs the commit it runs on (and its pid), sleeps, and fails where bad.txt exists
# (hangs where hang.txt does).
CHECK = """
import os, pathlib, subprocess, sys, time
head = subprocess.run(["git", "rev-parse", "HEAD"], capture_output=True, text=True).stdout.strip()
log = pathlib.Path(sys.argv[1])
with log.open("a") as out:
    out.write(f"{head} {os.getpid()}\\n")
if pathlib.Path("hang.txt").exists():
    time.sleep(60)
time.sleep(float(sys.argv[2]))
if pathlib.Path("bad.txt").exists():
    sys.exit("bad.txt is not allowed here")
"""


def _project(tmp_path: Path, sleep_s: float = 0.6, **merge):
    project = make_project(tmp_path)
    script = tmp_path / "check.py"
    script.write_text(CHECK, encoding="utf-8")
    log = tmp_path / "checked.log"
    project.configure({"roles": {}}, merge={"checks": [[sys.executable, str(script), str(log), str(sleep_s)]], **merge})
    return project, log


def _checked(log: Path) -> list[str]:
    """The commits the checks ran on, in the order they started."""
    lines = log.read_text(encoding="utf-8").splitlines() if log.exists() else []
    return [line.split()[0] for line in lines if not line.startswith("done ")]


def _started(log: Path) -> list[tuple[str, int]]:
    lines = log.read_text(encoding="utf-8").splitlines() if log.exists() else []
    return [(line.split()[0], int(line.split()[1])) for line in lines if not line.startswith("done ")]


def _landed_commits(root: Path, old: str) -> list[str]:
    return git(root, "rev-list", "--first-parent", "--reverse", f"{old}..main").splitlines()


def _states(events: list, task_id: str) -> list[str]:
    return [e.state for e in events if isinstance(e, ev.MergeTrainUpdated) and e.task_id == task_id]


async def _run(root: Path, requests: list[tuple[str, str]], during=None) -> QueuedRun:
    run = QueuedRun(root)
    async with anyio.create_task_group() as tg:
        await run.start(tg, requests)
        with anyio.fail_after(60):
            if during is not None:
                await during(run)
            await run.wait_for(len(requests))
        run.queue.close()
    return run


async def test_a_failing_request_in_the_middle_lands_the_other_two_each_checked_on_its_own_tree(tmp_path):
    project, log = _project(tmp_path)
    root = project.root
    heads = [(name, _branch(root, name, path, f"{name}\n")) for name, path in
             [("a", "a.txt"), ("b", "bad.txt"), ("c", "c.txt")]]
    old = git(root, "rev-parse", "main")

    run = await _run(root, heads)

    assert run.kinds() == {"a": "landed", "b": "checks_failed", "c": "landed"}
    assert "bad.txt is not allowed" in run.outcomes["b"].results[0].output_tail
    landed = _landed_commits(root, old)
    assert landed == [run.outcomes["a"].commit, run.outcomes["c"].commit]
    assert set(landed) <= set(_checked(log))  # every commit the target got was checked itself
    assert not (root / "bad.txt").exists() and (root / "c.txt").exists()
    # They were checked at once, c on top of a and b, before anything landed; then c again without b.
    first_landing = next(i for i, e in enumerate(run.events) if isinstance(e, ev.MergeLanded))
    checking = {e.task_id for e in run.events[:first_landing] if isinstance(e, ev.MergeTrainUpdated)
                and e.state == "checking"}
    assert checking == {"a", "b", "c"}
    assert _states(run.events, "c").count("checking") == 2 and _states(run.events, "b")[-1] == "failed"
    # What `oompa status --json` shows while the three were checked: positions and states.
    all_checking = next(i for i, e in enumerate(run.events) if isinstance(e, ev.MergeTrainUpdated)
                        and e.task_id == "c" and e.state == "checking")
    snapshot = fold(run.events[:all_checking + 1])
    assert [(q.task_id, q.position, q.state) for q in snapshot.queue] == [
        ("a", 1, "checking"), ("b", 2, "checking"), ("c", 3, "checking")]
    assert "main + a + b + c" in snapshot.queue[2].detail
    table = status_table(msgspec.structs.replace(snapshot, run_id="r1")).splitlines()
    train = table[table.index("MERGE TRAIN") + 1:]
    assert [line.split()[:3] for line in train] == [["1", "a", "checking"], ["2", "b", "checking"],
                                                    ["3", "c", "checking"]]
    # ... and what the editor's `oompa/status` returns: the same snapshot, as builtins.
    fields = {name: getattr(snapshot, name) for name in snapshot.__struct_fields__}
    payload = p.to_payload(p.StatusResult(**fields))
    assert [(q["task_id"], q["position"], q["state"]) for q in payload["queue"]][0] == ("a", 1, "checking")


# Fails after a second on b's tree; slow on c's (which, on top of b, cannot land once b failed).
STOPPABLE = """
import os, pathlib, subprocess, sys, time
head = subprocess.run(["git", "rev-parse", "HEAD"], capture_output=True, text=True).stdout.strip()
log = pathlib.Path(sys.argv[1])
with log.open("a") as out:
    out.write(f"{head} {os.getpid()}\\n")
slow = pathlib.Path("slow.txt").exists()
if pathlib.Path("bad.txt").exists() and not slow:
    time.sleep(1)  # the checks behind it have started by then
    sys.exit("bad.txt is not allowed here")
time.sleep(4 if slow else 0.2)
with log.open("a") as out:
    out.write(f"done {head}\\n")
"""


async def test_the_checks_of_a_merge_that_can_no_longer_land_are_stopped(tmp_path):
    project, log = _project(tmp_path)
    (tmp_path / "check.py").write_text(STOPPABLE, encoding="utf-8")
    root = project.root
    heads = [(name, _branch(root, name, path, f"{name}\n")) for name, path in
             [("a", "a.txt"), ("b", "bad.txt"), ("c", "slow.txt")]]

    run = await _run(root, heads)

    assert run.kinds() == {"a": "landed", "b": "checks_failed", "c": "landed"}
    c_head = heads[2][1]
    c_checks = [(commit, pid) for commit, pid in _started(log)
                if _contains(root, commit, c_head)]
    finished = {line.split()[1] for line in log.read_text(encoding="utf-8").splitlines() if line.startswith("done ")}
    (on_b, pid), (without_b, _) = c_checks
    assert on_b not in finished and not _alive(pid)  # on top of b: stopped when b failed, its process gone
    assert without_b in finished and without_b == run.outcomes["c"].commit
    assert not (root / "bad.txt").exists()


async def test_a_hanging_check_is_timed_out_and_its_member_removed(tmp_path):
    project, log = _project(tmp_path, check_timeout_s=2)
    root = project.root
    heads = [("a", _branch(root, "a", "a.txt", "a\n")), ("hang", _branch(root, "hang", "hang.txt", "zzz\n")),
             ("c", _branch(root, "c", "c.txt", "c\n"))]
    old = git(root, "rev-parse", "main")

    run = await _run(root, heads)

    assert run.kinds() == {"a": "landed", "hang": "checks_failed", "c": "landed"}
    assert run.outcomes["hang"].results[0].exit_code == 124
    assert "timed out after 2s" in run.outcomes["hang"].results[0].output_tail
    assert _landed_commits(root, old) == [run.outcomes["a"].commit, run.outcomes["c"].commit]
    assert not any(_alive(pid) for _, pid in _started(log))  # every check process was ended, the hung one too


async def test_the_users_commit_during_a_train_rebuilds_it_without_losing_or_landing_twice(tmp_path):
    project, log = _project(tmp_path, sleep_s=1.5)
    root = project.root
    heads = [(name, _branch(root, name, f"{name}.txt", f"{name}\n")) for name in ("a", "b", "c")]
    old = git(root, "rev-parse", "main")

    async def user_commits(run: QueuedRun) -> None:
        while len(_checked(log)) < 3:  # the three are being checked
            await anyio.sleep(0.05)
        (root / "user.txt").write_text("the user's own work\n", encoding="utf-8")
        git(root, "add", "user.txt")
        git(root, "commit", "-q", "-m", "the user's commit")

    run = await _run(root, heads, during=user_commits)

    assert run.kinds() == {"a": "landed", "b": "landed", "c": "landed"}
    assert any(isinstance(e, ev.TargetMovedOutsideQueue) for e in run.events)
    landed = _landed_commits(root, old)
    assert git(root, "log", "-1", "--format=%s", landed[0]) == "the user's commit"
    assert landed[1:] == [run.outcomes[name].commit for name in "abc"]
    assert set(landed[1:]) <= set(_checked(log))  # checked again on the new tip, each on its own tree
    subjects = git(root, "log", "--format=%s", f"{old}..main").splitlines()
    assert sorted(s for s in subjects if s.startswith("oompa: merge")) == [
        "oompa: merge a: a", "oompa: merge b: b", "oompa: merge c: c"]
    assert all((root / f"{name}.txt").exists() for name in ("a", "b", "c", "user"))
    assert git(root, "status", "--porcelain", "--untracked-files=no") == ""


async def test_parallel_checks_1_lands_one_at_a_time(tmp_path):
    project, log = _project(tmp_path, sleep_s=0.2, parallel_checks=1)
    root = project.root
    heads = [(name, _branch(root, name, f"{name}.txt", f"{name}\n")) for name in ("a", "b", "c")]
    old = git(root, "rev-parse", "main")

    run = await _run(root, heads)

    assert run.kinds() == {"a": "landed", "b": "landed", "c": "landed"}
    landed = _landed_commits(root, old)
    assert _checked(log) == landed  # each checked alone, on the tip the one before left
    assert landed == [run.outcomes[name].commit for name in "abc"]


async def test_a_merged_tree_checked_before_review_is_not_checked_again(tmp_path):
    project, log = _project(tmp_path, sleep_s=0)
    finish = {"write": {"{task_id}.txt": "{task_id}\n"}, "final": "COMPLETE_AND_READY_FOR_MERGE"}
    project.configure({"roles": {"reviewer": {"*": [{"final": "VERDICT: APPROVED"}]},
                                 "worker": {"*": [finish], "-": [{"final": "__DONE__"}]}}},
                      workers=[{"model": "fake:m", "iterations": 5}],
                      merge={"checks": [[sys.executable, str(tmp_path / "check.py"), str(log), "0"]]})
    project.add_tasks(Task(id="r1", summary="one"), Task(id="r2", summary="two"))

    result, events, _ = await run_swarm(project.root)

    assert result.ok, result.reason
    merged = [e for e in events if isinstance(e, ev.ChecksRan) and e.stage == "merged"]
    assert [(e.task_id, e.ok) for e in merged] == [("r1", True), ("r2", True)]
    assert all("worktree's check before review" in e.reused for e in merged)
    assert len(_checked(log)) == 2  # the checks ran once per task, in its worktree


def _contains(root: Path, commit: str, ancestor: str) -> bool:
    return subprocess.run(["git", "merge-base", "--is-ancestor", ancestor, commit], cwd=root).returncode == 0


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    return True


def _train_checking(project) -> set[str]:
    """The tasks the run's event log shows being checked in the train."""
    found = set()
    for log in project.root.glob(".oompa/runs/*/events.jsonl"):
        for line in log.read_text(encoding="utf-8").splitlines():
            event = json.loads(line)
            if event.get("type") == "MergeTrainUpdated" and event.get("state") == "checking":
                found.add(event["task_id"])
    return found


def test_kill_9_mid_train_then_a_restart_lands_everything_exactly_once(tmp_path):
    project, log = _project(tmp_path, sleep_s=3)
    finish = {"write": {"{task_id}.txt": "{task_id}\n"}, "final": "COMPLETE_AND_READY_FOR_MERGE"}
    script = [sys.executable, str(tmp_path / "check.py"), str(log), "3"]
    project.configure({"roles": {"reviewer": {"*": [{"final": "VERDICT: APPROVED"}]},
                                 "worker": {"*": [finish], "-": [{"final": "__DONE__"}]}}},
                      workers=[{"model": "fake:m", "count": 4, "iterations": 5}],
                      merge={"checks": [script], "parallel_checks": 4})
    ids = [f"k{n}" for n in range(1, 5)]
    project.add_tasks(*(Task(id=task_id, summary=f"task {task_id}") for task_id in ids))
    old = git(project.root, "rev-parse", "main")
    swarm = start_swarm(project)
    try:
        wait_for(lambda: len(_train_checking(project)) >= 2, timeout=60, what="two merges checked in the train")
    finally:
        swarm.kill()  # SIGKILL: no cleanup runs, the train's checks are left running
        swarm.communicate(timeout=10)

    rerun = oompa(project, "swarm", timeout=120)

    assert rerun.returncode == 0, rerun.stdout + rerun.stderr
    assert project.task_files("complete") == ids
    subjects = git(project.root, "log", "--first-parent", "--format=%s", f"{old}..main").splitlines()
    assert sorted(subjects) == [f"oompa: merge {task_id}: task {task_id}" for task_id in ids]  # each once
    for task_id in ids:
        assert git(project.root, "show", f"main:{task_id}.txt") == task_id
    assert not any(_alive(pid) for _, pid in _started(log))  # the killed run's checks were ended too


async def test_a_task_whose_merge_landed_before_a_kill_is_completed_not_done_again(tmp_path):
    project, _ = _project(tmp_path)
    project.configure({"roles": {"reviewer": {"*": [{"final": "VERDICT: APPROVED"}]},
                                 "worker": {"*": [{"final": "__DONE__"}]}}}, workers=[{"model": "fake:m"}])
    root = project.root
    store = TaskStore(root / "tasks")
    store.write_new(Task(id="gone", summary="landed, then the run was killed"))
    started = time.strftime("%Y-%m-%dT%H:%M:%S+00:00", time.gmtime())
    dead = Owner(worker="w1", run_id="dead-run", pid=999_999, host=socket.gethostname())
    store.claim("gone", dead, lambda task: msgspec.structs.replace(
        task, attempts=[Attempt(worker="w1", branch="oompa/gone/1", started_at=started)]))
    head = _branch(root, "oompa/gone/1", "gone.txt", "its work\n")
    git(root, "merge", "-q", "--no-ff", "-m", "oompa: merge gone: landed, then the run was killed", head)
    git(root, "branch", "-D", "oompa/gone/1")  # the landing's ref transaction deleted it
    landing = git(root, "rev-parse", "main")

    result, events, _ = await run_swarm(root)

    assert result.ok, result.reason
    assert project.task_files("complete") == ["gone"]
    assert project.task("complete", "gone").merged_commit == landing
    assert [e.task_id for e in events if isinstance(e, ev.TaskRecovered)] == []
    assert not [c for c in project.calls() if c["task_id"] == "gone"]  # no agent did it again
    assert git(root, "rev-parse", "main") == landing


def test_the_trains_view_keeps_landed_and_failed_entries_until_the_next_request_is_queued():
    snapshot = fold([
        ev.MergeQueued(task_id="a", branch="oompa/a/1", head="1" * 40, worker="w1"),
        ev.MergeQueued(task_id="b", branch="oompa/b/1", head="2" * 40, worker="w2"),
        ev.MergeQueued(task_id="c", branch="oompa/c/1", head="3" * 40, worker="w3"),
        ev.MergeTrainUpdated(task_id="b", state="failed", detail="`pytest` exit 1"),
        ev.MergeLanded(task_id="a", commit="4" * 40, target="main", previous="0" * 40),
    ])
    assert [(q.task_id, q.worker, q.position, q.state) for q in snapshot.queue] == [
        ("a", "w1", 0, "landed"), ("b", "w2", 0, "failed"), ("c", "w3", 1, "queued")]
    snapshot.apply(ev.MergeQueued(task_id="b", branch="oompa/b/2", head="5" * 40, worker="w2"))  # b again, fixed
    assert [(q.task_id, q.position, q.state) for q in snapshot.queue] == [("c", 1, "queued"), ("b", 2, "queued")]
    snapshot.apply(ev.TaskReturned(task_id="c", reason="the queue stopped"))
    assert [(q.task_id, q.position) for q in snapshot.queue] == [("b", 1)]
