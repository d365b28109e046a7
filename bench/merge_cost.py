"""Point 3: time per landed merge through the queue as the repository grows.

For each size (generated trees of 1k, 10k, 50k files) the same set of branches, each
changing one different file, is landed three ways, interleaved merge by merge (the order
rotates each round):

- queue, target checked out: the engine's `MergeQueue` landing on `main`, which the user has
  checked out (the usual case: the queue fast-forwards their checkout safely);
- queue, target not checked out: the same queue landing on a branch no worktree holds
  (the ref moves by compare-and-swap alone);
- baseline: a worktree that checks out its target and runs `git merge --no-ff`, then moves
  the ref by compare-and-swap. Its worktree stays on the target between merges, so its
  checkout is as cheap as a checkout can be: the baseline is the kind one.

The queue is the real engine object, run on a real swarm context (config, run log, events);
only the workers are left out, so the figure is the merge and nothing else.

Then, for context (no target is judged on it), what a busy swarm sees: 8 requests submitted
together onto the checked-out `main`, 3 rounds; the queue lands requests that wait together
with one update of the user's checkout, and the figure is the round's time over its 8 merges.
"""

from __future__ import annotations

import shutil
import statistics
import time
from pathlib import Path

import anyio

from oompa_lsp.adapters.config_file import load_config
from oompa_lsp.adapters.git import Repo
from oompa_lsp.adapters.run_log import RunLog
from oompa_lsp.adapters.task_store import TaskStore
from oompa_lsp.core.snapshot import Snapshot
from oompa_lsp.engine.context import SwarmContext
from oompa_lsp.engine.merge_queue import MergeQueue, MergeRequest

from .gitrepo import file_path, git, make_repo, write_config
from .stats import Figure, at_most, ratios

SIDES = ("checked_out", "not_checked_out", "baseline")
GROUP, GROUP_ROUNDS = 8, 3


def measure(workdir: Path, *, sizes: list[int], merges: int, log) -> list[Figure]:
    figures: list[Figure] = []
    per_size: dict[int, dict[str, list[float]]] = {}
    for size in sizes:
        times = anyio.run(_land_all, workdir / f"merge-{size}", size, merges)
        per_size[size] = times
        log(f"merge cost {size} files, median: "
            + ", ".join(f"{side} {statistics.median(v) * 1000:.1f} ms" for side, v in times.items()))
        figures += _size_figures(size, times)
        figures.append(Figure("3", f"queue merge, 8 waiting together, checked out ({size // 1000}k files)", "ms",
                              [t * 1000 for t in times.pop("grouped")],
                              note="per merge: 8 requests submitted at once land with one update of the checkout"))
    smallest, largest = min(sizes), max(sizes)
    if largest != smallest:
        for side in SIDES[:2]:
            growth = ratios(per_size[largest][side], per_size[smallest][side])
            flatness = Figure("3", f"queue ({side.replace('_', ' ')}) {largest // 1000}k / {smallest // 1000}k files",
                              "x", growth, note="flatness: merge time at the largest size over the smallest")
            figures.append(at_most(flatness, 4.0))  # a guard: the landing must not grow with the tree
    return figures


def _size_figures(size: int, times: dict[str, list[float]]) -> list[Figure]:
    label = f"{size // 1000}k files"
    figures = [
        Figure("3", f"queue merge, target checked out ({label})", "ms", [t * 1000 for t in times["checked_out"]]),
        Figure("3", f"queue merge, target not checked out ({label})", "ms", [t * 1000 for t in times["not_checked_out"]]),
        Figure("3", f"checkout + git merge ({label})", "ms", [t * 1000 for t in times["baseline"]]),
    ]
    for side in SIDES[:2]:
        speedup = Figure("3", f"speed-up over checkout+merge, {side.replace('_', ' ')} ({label})", "x",
                         ratios(times["baseline"], times[side]))
        figures.append(speedup)  # context, not judged: git does the landing's work now
    return figures


async def _land_all(root: Path, size: int, merges: int) -> dict[str, list[float]]:
    repo_path = make_repo(root / "repo", size)
    write_config(repo_path, workers=1, worktrees=root / "worktrees")
    heads = _make_branches(repo_path, size, merges)
    git(repo_path, "branch", "land", "main")
    git(repo_path, "branch", "baseline", "main")
    merge_tree = root / "baseline-worktree"
    git(repo_path, "worktree", "add", "-q", "--detach", str(merge_tree), "baseline")
    times: dict[str, list[float]] = {side: [] for side in SIDES}
    async with anyio.create_task_group() as tg:
        queues = {"checked_out": await _start_queue(tg, repo_path, "main", root),
                  "not_checked_out": await _start_queue(tg, repo_path, "land", root)}
        for index, head in enumerate(heads):
            order = SIDES[index % 3:] + SIDES[:index % 3]
            for side in order:
                started = time.perf_counter()
                if side == "baseline":
                    await anyio.to_thread.run_sync(_checkout_and_merge, merge_tree, index, head)
                else:
                    await _land(queues[side], index, head, root)
                times[side].append(time.perf_counter() - started)
        _check_landed(repo_path, merges)
        times["grouped"] = [await _land_group(queues["checked_out"], repo_path, size, merges + r * GROUP, root)
                            for r in range(GROUP_ROUNDS)]
        for queue in queues.values():
            queue.close()
    shutil.rmtree(root)
    return times


async def _land_group(queue: MergeQueue, repo_path: Path, size: int, first: int, root: Path) -> float:
    """Submit GROUP requests at once; the time until all landed, per merge."""
    heads = _make_branches(repo_path, size, GROUP, first=first, base_ref="main")
    started = time.perf_counter()
    async with anyio.create_task_group() as tg:
        for offset, head in enumerate(heads):
            tg.start_soon(_land, queue, first + offset, head, root)
    return (time.perf_counter() - started) / GROUP


async def _start_queue(tg, repo_path: Path, target: str, root: Path) -> MergeQueue:
    repo = Repo.discover(repo_path)
    run_log = RunLog.create(repo_path / ".oompa")
    snapshot = Snapshot()

    def emit(event) -> None:
        run_log.append(event)
        snapshot.apply(event)

    ctx = SwarmContext(repo=repo, store=TaskStore(repo_path / "tasks"), loaded=load_config(repo_path),
                       run_log=run_log, run_id=run_log.run_id, target=target, tasks_dir=repo_path / "tasks",
                       spec_path=repo_path / "spec.md", worktree_root=root / "worktrees", emit=emit)
    queue = MergeQueue(ctx)
    await tg.start(queue.run)
    return queue


async def _land(queue: MergeQueue, index: int, head: str, root: Path) -> None:
    outcome = await queue.submit(MergeRequest(task_id=f"m{index}", worker="bench", branch=f"q/{index}", head=head,
                                              worktree=root / "worktrees" / "unused", summary=f"change {index}"))
    if outcome.kind != "landed":
        raise RuntimeError(f"merge {index} did not land: {outcome.kind}")


def _checkout_and_merge(worktree: Path, index: int, head: str) -> None:
    old = git(worktree, "rev-parse", "baseline")
    git(worktree, "checkout", "-q", "--detach", "baseline")
    git(worktree, "merge", "-q", "--no-ff", "-m", f"merge {index}", head)
    git(worktree, "update-ref", "refs/heads/baseline", "HEAD", old)


def _make_branches(repo: Path, size: int, count: int, *, first: int = 0, base_ref: str = "main") -> list[str]:
    """`count` branches q/<i> off `base_ref`, each changing one file spread across the tree
    (different files for the branches made together)."""
    base = git(repo, "rev-parse", base_ref)
    step = max(1, size // count)
    stream = []
    for index in range(first, first + count):
        content = f"changed by branch {index}\n".encode()
        changed = index * step if first == 0 else (index * 37 + 1) % size
        stream += [f"commit refs/heads/q/{index}".encode(), b"committer bench <bench@example.invalid> 1700000001 +0000",
                   b"data 6", b"change", f"from {base}".encode(),
                   f"M 100644 inline {file_path(changed)}".encode(), b"data %d" % len(content), content]
    git(repo, "fast-import", "--quiet", stdin=b"\n".join(stream) + b"\n")
    return [git(repo, "rev-parse", f"q/{index}") for index in range(first, first + count)]


def _check_landed(repo: Path, merges: int) -> None:
    for ref in ("main", "land", "baseline"):
        count = int(git(repo, "rev-list", "--count", "--merges", ref))
        if count != merges:
            raise RuntimeError(f"{ref} has {count} merges, expected {merges}")
    if git(repo, "rev-parse", "main^{tree}") != git(repo, "rev-parse", "baseline^{tree}"):
        raise RuntimeError("the queue and the baseline ended on different trees")
