"""Throwaway git repositories for the benchmarks: generated trees, tasks and an oompa.json.

A tree of N files is written in one `git fast-import` stream (seconds even for 50,000
files) and checked out once; every benchmark repository looks like a user's: the target
branch `main` checked out in the main worktree, `oompa.json` untracked next to it.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
from collections.abc import Callable
from pathlib import Path

from oompa_lsp.adapters.task_store import TaskStore
from oompa_lsp.core.tasks import Task

BENCH_DIR = Path(__file__).resolve().parent
INSTANT_AGENT = BENCH_DIR / "instant_agent.sh"
FILES_PER_FOLDER = 100
IDENTITY = {"GIT_AUTHOR_NAME": "bench", "GIT_AUTHOR_EMAIL": "bench@example.invalid",
            "GIT_COMMITTER_NAME": "bench", "GIT_COMMITTER_EMAIL": "bench@example.invalid"}


def git(cwd: Path, *args: str, stdin: bytes | None = None) -> str:
    """Run git in `cwd`, return stdout stripped; raises CalledProcessError on failure."""
    done = subprocess.run(["git", *args], cwd=cwd, input=stdin, capture_output=True, check=True,
                          env={**os.environ, **IDENTITY})
    return done.stdout.decode().strip()


def make_repo(path: Path, files: int) -> Path:
    """A repository at `path` whose `main` has `files` small files (plus spec.md) checked out."""
    if path.exists():
        shutil.rmtree(path)
    path.mkdir(parents=True)
    git(path, "init", "-q", "-b", "main")
    git(path, "config", "user.name", "bench")
    git(path, "config", "user.email", "bench@example.invalid")
    git(path, "fast-import", "--quiet", stdin=_tree_stream(files))
    git(path, "checkout", "-q", "-f", "main")
    return path


def file_path(index: int) -> str:
    """Where generated file number `index` lives: 100 files per folder, like a real source tree."""
    return f"src/d{index // FILES_PER_FOLDER:04d}/f{index % FILES_PER_FOLDER:02d}.txt"


def _tree_stream(files: int) -> bytes:
    body = [b"# bench spec\n\n- [ ] everything\n"]
    lines = [b"commit refs/heads/main", b"committer bench <bench@example.invalid> 1700000000 +0000",
             _data(b"generated tree"), b"M 100644 inline spec.md", _data(body[0])]
    for index in range(files):
        lines += [f"M 100644 inline {file_path(index)}".encode(), _data(f"file {index}\nline two\n".encode())]
    return b"\n".join(lines) + b"\n\n"


def _data(payload: bytes) -> bytes:
    return b"data %d\n" % len(payload) + payload


def add_tasks(repo: Path, count: int, prefix: str = "t", files: Callable[[str], list[str]] | None = None) -> list[str]:
    """`count` independent pending tasks (no dependencies); `files(id)`: the files each declares
    (none by default)."""
    store = TaskStore(repo / "tasks")
    ids = [f"{prefix}{n:04d}" for n in range(count)]
    for task_id in ids:
        store.write_new(Task(id=task_id, summary=f"write bench-{task_id}.txt", files=files(task_id) if files else []))
    return ids


def write_config(repo: Path, *, workers: int, worktrees: Path, timeout_s: float = 120.0,
                 agent_env: dict[str, str] | None = None, target: str | None = None,
                 merge: dict | None = None) -> None:
    """oompa.json: `workers` executors and a reviewer, both the instant agent."""
    config = {
        "workers": [{"model": "instant:worker", "role": "executor", "count": workers, "iterations": 100_000,
                     "timeout_s": timeout_s, "max_working_resumes": 0}],
        "review_model": "instant:reviewer",
        "review": {"mode": "model", "timeout_s": timeout_s},
        "worktree": {"dir": str(worktrees)},
        "harnesses": {"instant": {"command": ["sh", str(INSTANT_AGENT)], "env": agent_env or {}}},
    }
    if target:
        config["target_branch"] = target
    if merge:
        config["merge"] = merge
    (repo / "oompa.json").write_text(json.dumps(config, indent=2), encoding="utf-8")
