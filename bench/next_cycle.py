"""Point 4: giving a worker a clean worktree at the target tip for its next cycle.

On a generated repository (50k files in the full run), each round first plays out the end
of a cycle as the engine leaves it: the worker's commit merged into `main`, the worktree
detached at that commit, a build output (ignored) and a stray untracked file left behind.
Then, side by side:

- reuse: what a worker does before its next task — resolve the target and
  `Repo.ensure_worktree` on its existing worktree (abandon half-done operations, reset the
  branch to the tip, remove untracked files, keep ignored ones);
- fresh: `git worktree add` of a new worktree at the same tip (removed again untimed).

A fresh add writes every file, so its time follows the disk: on this shared machine the same
50k-file add took 1.3 s or 30 s depending on the moment (the disk's burst allowance, it
seems). The ratio that carries the target is therefore taken against the fastest fresh add
of the run (the most demanding comparison); the round-by-round ratio is reported beside it.

A real cycle lasts as long as an agent's turn; the played-out one waits a second before its
commit, so the worktree's index is written after its files, as it would be (otherwise git
must re-read every "racily clean" file on the next reset, a cost real cycles do not pay).
"""

from __future__ import annotations

import shutil
import time
from pathlib import Path

from oompa_lsp.adapters.git import Repo

from .gitrepo import git, make_repo
from .stats import Figure, at_most, ratios


def measure(workdir: Path, *, size: int, rounds: int, log) -> list[Figure]:
    root = workdir / f"cycle-{size}"
    repo_path = make_repo(root / "repo", size)
    (repo_path / ".gitignore").write_text("build/\n", encoding="utf-8")
    git(repo_path, "add", ".gitignore")
    git(repo_path, "commit", "-q", "-m", "ignore build outputs")
    repo = Repo.discover(repo_path)
    worktree = root / "worktrees" / "w1"
    repo.ensure_worktree(worktree, "oompa/warm-up/1", "main")
    reuse, fresh = [], []
    for number in range(rounds):
        _finish_a_cycle(repo_path, worktree, number)
        started = time.perf_counter()
        repo.ensure_worktree(worktree, f"oompa/t{number}/1", repo.rev_parse("main"))
        reuse.append(time.perf_counter() - started)
        _check_clean(worktree, repo_path)
        fresh.append(_timed_add(repo_path, root / "fresh"))
        log(f"next cycle round {number + 1}/{rounds}: reuse {reuse[-1] * 1000:.0f} ms, "
            f"worktree add {fresh[-1] * 1000:.0f} ms")
    shutil.rmtree(root)
    label = f"{size // 1000}k files"
    return [
        Figure("4", f"reused worktree ready at the tip ({label})", "ms", [t * 1000 for t in reuse]),
        Figure("4", f"fresh git worktree add ({label})", "ms", [t * 1000 for t in fresh]),
        Figure("4", f"reuse / fresh add, round by round ({label})", "x", ratios(reuse, fresh)),
        at_most(Figure("4", f"reuse / fastest fresh add of the run ({label})", "x", [t / min(fresh) for t in reuse]),
                0.10),
    ]


def _finish_a_cycle(repo_path: Path, worktree: Path, number: int) -> None:
    """The state a finished, merged task leaves: commit merged, worktree detached on it."""
    time.sleep(1.1)  # the agent's turn: files of the last reset are older than the next index write
    (worktree / f"cycle-{number}.txt").write_text(f"work of cycle {number}\n", encoding="utf-8")
    git(worktree, "add", "-A")
    git(worktree, "commit", "-q", "-m", f"cycle {number}")
    head = git(worktree, "rev-parse", "HEAD")
    tree = git(repo_path, "merge-tree", "--write-tree", "main", head)
    merged = git(repo_path, "commit-tree", tree, "-p", "main", "-p", head, "-m", f"merge cycle {number}")
    git(repo_path, "merge", "--ff-only", "-q", merged)
    git(worktree, "checkout", "-q", "--detach", head)
    (worktree / "build").mkdir(exist_ok=True)
    (worktree / "build" / "output.bin").write_bytes(b"kept across cycles\n")
    (worktree / f"stray-{number}.tmp").write_text("left by the agent\n", encoding="utf-8")


def _check_clean(worktree: Path, repo_path: Path) -> None:
    if git(worktree, "status", "--porcelain"):
        raise RuntimeError(f"the reused worktree is not clean: {git(worktree, 'status', '--porcelain')}")
    if git(worktree, "rev-parse", "HEAD") != git(repo_path, "rev-parse", "main"):
        raise RuntimeError("the reused worktree is not at the target tip")
    if not (worktree / "build" / "output.bin").exists():
        raise RuntimeError("the reused worktree lost its ignored build output")


def _timed_add(repo_path: Path, path: Path) -> float:
    started = time.perf_counter()
    git(repo_path, "worktree", "add", "-q", "--detach", str(path), "main")
    elapsed = time.perf_counter() - started
    git(repo_path, "worktree", "remove", "--force", str(path))
    return elapsed
