"""The task board against a real task store: claims from a recent listing never double up,
and tasks written after it are still found."""

from __future__ import annotations

from types import SimpleNamespace

import anyio
import pytest

from oompa_lsp.adapters.task_store import TaskStore
from oompa_lsp.core.tasks import Task
from oompa_lsp.engine.board import TaskBoard
from oompa_lsp.engine.context import Wakeup

pytestmark = [pytest.mark.anyio, pytest.mark.timeout(60)]


def board_on(store: TaskStore, run_id: str) -> TaskBoard:
    # The board uses the context's store, run id, event sink and wake-up signal only.
    return TaskBoard(SimpleNamespace(store=store, run_id=run_id, emit=lambda event: None, wakeup=Wakeup(),
                                     recent_agents=list))


async def claim_all(board: TaskBoard, worker: str, got: list[tuple[str, str]]) -> None:
    never = anyio.Event()
    while (task := await board.next_task(worker, never)) is not None:
        got.append((worker, task.id))
        board.release(task.id)  # done with it (still in current/, so nobody claims it again)


async def test_two_swarms_claiming_from_their_listings_take_every_task_once(tmp_path):
    store = TaskStore(tmp_path / "tasks")
    for n in range(40):
        store.write_new(Task(id=f"t{n:02d}", summary=f"task {n}"))
    boards = [board_on(TaskStore(tmp_path / "tasks"), f"run{b}") for b in range(2)]
    got: list[tuple[str, str]] = []
    async with anyio.create_task_group() as tg:
        for b, board in enumerate(boards):
            for w in range(4):
                tg.start_soon(claim_all, board, f"b{b}w{w}", got)
    claimed = sorted(task_id for _, task_id in got)
    assert claimed == [f"t{n:02d}" for n in range(40)]
    assert sorted(p.stem for p in (tmp_path / "tasks" / "current").glob("*.json")) == claimed


async def test_a_task_written_after_the_last_listing_is_claimed(tmp_path):
    store = TaskStore(tmp_path / "tasks")
    store.write_new(Task(id="first", summary="there from the start"))
    board = board_on(store, "run")
    never = anyio.Event()
    assert (await board.next_task("w1", never)).id == "first"
    store.write_new(Task(id="later", summary="written by an agent meanwhile"))
    with anyio.fail_after(5):
        assert (await board.next_task("w1", never)).id == "later"
