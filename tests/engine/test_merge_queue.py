"""The merge queue on its own, on a real repository: requests that wait together land together."""

from __future__ import annotations

from pathlib import Path

import anyio
import pytest

from oompa_lsp.adapters.config_file import load_config
from oompa_lsp.adapters.git import Repo
from oompa_lsp.adapters.run_log import RunLog
from oompa_lsp.adapters.task_store import TaskStore
from oompa_lsp.core import events as ev
from oompa_lsp.engine.context import SwarmContext
from oompa_lsp.engine.merge_queue import MergeOutcome, MergeQueue, MergeRequest

from .swarm_fixtures import git, make_project

pytestmark = [pytest.mark.anyio, pytest.mark.timeout(60)]


def _branch(root: Path, name: str, path: str, text: str) -> str:
    """A branch off main that writes `path`, made without touching the user's checkout."""
    worktree = root.parent / f"wt-{name}"
    git(root, "worktree", "add", "-q", "-b", name, str(worktree), "main")
    (worktree / path).write_text(text, encoding="utf-8")
    git(worktree, "add", "-A")
    git(worktree, "commit", "-q", "-m", f"{name} writes {path}")
    head = git(worktree, "rev-parse", "HEAD")
    git(root, "worktree", "remove", "--force", str(worktree))
    return head


def _repository(tmp_path: Path) -> Path:
    """A project with main checked out and an oompa.json (the queue reads its merge settings)."""
    project = make_project(tmp_path)
    project.configure({"roles": {}})
    return project.root


def _queue(root: Path, events: list) -> MergeQueue:
    run_log = RunLog.create(root / ".oompa")

    def emit(event) -> None:
        run_log.append(event)
        events.append(event)

    ctx = SwarmContext(repo=Repo.discover(root), store=TaskStore(root / "tasks"), loaded=load_config(root),
                       run_log=run_log, run_id=run_log.run_id, target="main", tasks_dir=root / "tasks",
                       spec_path=root / "spec.md", worktree_root=root.parent / "worktrees", emit=emit)
    return MergeQueue(ctx)


class QueuedRun:
    """Requests queued in a given order before the queue starts, and what became of them."""

    def __init__(self, root: Path) -> None:
        self.events: list = []
        self.queue = _queue(root, self.events)
        self.outcomes: dict[str, MergeOutcome] = {}

    async def submit(self, name: str, head: str) -> None:
        request = MergeRequest(task_id=name, worker="w", branch=name, head=head, worktree=Path(), summary=name)
        self.outcomes[name] = await self.queue.submit(request)

    async def start(self, tg, requests: list[tuple[str, str]]) -> None:
        for name, head in requests:
            tg.start_soon(self.submit, name, head)
            await anyio.wait_all_tasks_blocked()  # queued in this order before the queue runs
        await tg.start(self.queue.run)

    async def wait_for(self, count: int) -> None:
        while len(self.outcomes) < count:
            await anyio.sleep(0.01)

    def kinds(self) -> dict[str, str]:
        return {name: outcome.kind for name, outcome in self.outcomes.items()}


async def test_requests_waiting_together_land_in_order_with_one_move_of_the_users_checkout(tmp_path):
    root = _repository(tmp_path)
    heads = {name: _branch(root, name, f"{name}.txt", f"by {name}\n") for name in ("a", "b", "c")}
    clash = _branch(root, "clash", "shared.txt", "the clash rewrites line one\nsecond line\n")
    rival = _branch(root, "rival", "shared.txt", "the rival rewrites line one\nsecond line\n")
    old = git(root, "rev-parse", "main")
    moves_before = len(git(root, "reflog", "HEAD").splitlines())
    run = QueuedRun(root)
    outcomes, events = run.outcomes, run.events

    async with anyio.create_task_group() as tg:
        await run.start(tg, [("a", heads["a"]), ("clash", clash), ("b", heads["b"]), ("rival", rival), ("c", heads["c"])])
        with anyio.fail_after(30):
            await run.wait_for(5)
        run.queue.close()

    assert run.kinds() == {
        "a": "landed", "clash": "landed", "b": "landed", "rival": "conflict", "c": "landed"}
    assert outcomes["rival"].files == ["shared.txt"]
    # The target's history is as if they had landed one by one, in the order they came.
    first_parents = git(root, "rev-list", "--first-parent", f"{old}..main").splitlines()[::-1]
    assert first_parents == [outcomes[name].commit for name in ("a", "clash", "b", "c")]
    for name, head in [("a", heads["a"]), ("clash", clash), ("b", heads["b"]), ("c", heads["c"])]:
        assert git(root, "rev-parse", f"{outcomes[name].commit}^2") == head
    landed = [e for e in events if isinstance(e, ev.MergeLanded)]
    assert [(e.task_id, e.previous) for e in landed] == [
        ("a", old), ("clash", outcomes["a"].commit), ("b", outcomes["clash"].commit), ("c", outcomes["b"].commit)]
    # The user's checkout followed: the files are there, nothing shows as changed, and it moved once.
    assert all((root / f"{name}.txt").read_text(encoding="utf-8") == f"by {name}\n" for name in "abc")
    assert git(root, "status", "--porcelain", "--untracked-files=no") == ""
    assert len(git(root, "reflog", "HEAD").splitlines()) == moves_before + 1


async def test_a_group_the_users_checkout_blocks_lands_what_it_can_and_waits_for_the_rest(tmp_path):
    root = _repository(tmp_path)
    free = _branch(root, "free", "free.txt", "touches nothing of the user's\n")
    blocked = _branch(root, "blocked", "shared.txt", "the worker rewrites line one\nsecond line\n")
    (root / "shared.txt").write_text("the user's unsaved edit\nsecond line\n", encoding="utf-8")
    run = QueuedRun(root)

    async with anyio.create_task_group() as tg:
        await run.start(tg, [("free", free), ("blocked", blocked)])
        with anyio.fail_after(30):
            while not any(isinstance(e, ev.MergePaused) for e in run.events):
                await anyio.sleep(0.01)
            assert "shared.txt" in next(e for e in run.events if isinstance(e, ev.MergePaused)).reason
            assert run.kinds() == {"free": "landed"}  # it did not wait for the blocked one
            git(root, "checkout", "--", "shared.txt")  # the user gives up the edit
            await run.wait_for(2)
        run.queue.close()

    assert run.kinds() == {"blocked": "landed", "free": "landed"}
    assert any(isinstance(e, ev.MergeResumed) for e in run.events)
    assert (root / "free.txt").exists() and "worker rewrites" in (root / "shared.txt").read_text(encoding="utf-8")


async def test_a_request_git_cannot_merge_fails_alone_and_the_queue_goes_on(tmp_path):
    root = _repository(tmp_path)
    good = _branch(root, "good", "good.txt", "fine\n")
    later = _branch(root, "later", "later.txt", "also fine\n")
    run = QueuedRun(root)

    async with anyio.create_task_group() as tg:
        await run.start(tg, [("ghost", "0" * 40), ("good", good)])
        with anyio.fail_after(30):
            await run.wait_for(2)
            tg.start_soon(run.submit, "later", later)  # the queue still serves
            await run.wait_for(3)
        run.queue.close()

    assert run.kinds() == {"ghost": "failed", "good": "landed", "later": "landed"}
    assert "0000000000" in run.outcomes["ghost"].reason
    assert (root / "good.txt").exists() and (root / "later.txt").exists()


async def test_a_target_gone_mid_run_fails_the_waiting_requests_with_the_reason_not_the_swarm(tmp_path):
    root = _repository(tmp_path)
    early = _branch(root, "early", "early.txt", "early\n")
    late = _branch(root, "late", "late.txt", "late\n")
    tip = git(root, "rev-parse", "main")
    run = QueuedRun(root)
    git(root, "update-ref", "-d", "refs/heads/main")  # the user deletes the target branch

    async with anyio.create_task_group() as tg:
        await run.start(tg, [("early", early)])
        with anyio.fail_after(30):
            await run.wait_for(1)
            git(root, "update-ref", "refs/heads/main", tip)  # and puts it back
            tg.start_soon(run.submit, "late", late)
            await run.wait_for(2)
        run.queue.close()

    assert run.kinds() == {"early": "failed", "late": "landed"}
    assert "refs/heads/main" in run.outcomes["early"].reason
    assert any(isinstance(e, ev.LogMessage) and "merging early failed" in e.message for e in run.events)
