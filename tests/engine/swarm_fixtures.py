"""Real git repositories with an oompa.json that drives the scripted fake agent."""

from __future__ import annotations

import json
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

import anyio
import msgspec

from oompa_lsp.adapters.task_store import TaskStore
from oompa_lsp.core.tasks import Task
from oompa_lsp.engine.swarm import Swarm, SwarmResult

FAKE_AGENT = Path(__file__).resolve().parent.parent / "fake_agent.py"


def git(cwd: Path, *args: str) -> str:
    return subprocess.run(["git", *args], cwd=cwd, check=True, capture_output=True, text=True).stdout.strip()


@dataclass
class Project:
    root: Path
    script: Path

    def configure(self, script: dict, **config) -> None:
        self.script.write_text(json.dumps(script), encoding="utf-8")
        base = {"workers": [{"model": "fake:model", "count": 3, "iterations": 10, "timeout_s": 30, "max_working_resumes": 1}],
                "review_model": "fake:reviewer",
                "worktree": {"dir": str(self.root.parent / "worktrees")},
                "harnesses": {"fake": {"command": [sys.executable, str(FAKE_AGENT)],
                                       "env": {"FAKE_AGENT_SCRIPT": str(self.script)}}}}
        base.update(config)
        (self.root / "oompa.json").write_text(json.dumps(base, indent=2), encoding="utf-8")

    def add_tasks(self, *tasks: Task) -> None:
        store = TaskStore(self.root / "tasks")
        for task in tasks:
            store.write_new(task)

    def calls(self) -> list[dict]:
        log = self.script.with_name(self.script.name + ".log.jsonl")
        if not log.exists():
            return []
        return [json.loads(line) for line in log.read_text(encoding="utf-8").splitlines() if line]

    def task_files(self, state: str) -> list[str]:
        folder = self.root / "tasks" / state
        return sorted(p.stem for p in folder.glob("*.json")) if folder.exists() else []

    def task(self, state: str, task_id: str) -> Task:
        return msgspec.json.decode((self.root / "tasks" / state / f"{task_id}.json").read_bytes(), type=Task)

    def log(self) -> str:
        return git(self.root, "log", "--oneline", "main")

    def branches(self) -> list[str]:
        return git(self.root, "for-each-ref", "--format=%(refname)", "refs/heads/", "refs/oompa/").splitlines()


def make_project(tmp_path: Path) -> Project:
    root = tmp_path / "repo"
    root.mkdir()
    git(root, "init", "-q", "-b", "main")
    git(root, "config", "user.email", "test@example.invalid")
    git(root, "config", "user.name", "test")
    (root / "shared.txt").write_text("first line\nsecond line\n", encoding="utf-8")
    (root / "spec.md").write_text("# spec\n\n- [ ] everything\n", encoding="utf-8")
    git(root, "add", "-A")
    git(root, "commit", "-q", "-m", "initial")
    return Project(root, tmp_path / "script.json")


async def run_swarm(root: Path, timeout: float = 60, *, alongside=None) -> tuple[SwarmResult, list, Swarm]:
    """Run the swarm on `root` to its end, with every event it emitted; `alongside(swarm,
    events)` runs beside it (a user who acts while it runs)."""
    swarm = Swarm.open(root)
    seen: list = []
    swarm.subscribe(seen.append)
    with anyio.fail_after(timeout):
        async with anyio.create_task_group() as group:
            if alongside is not None:
                group.start_soon(alongside, swarm, seen)
            result = await swarm.run()
    return result, seen, swarm


async def until_seen(events: list, kind: type) -> None:
    """Wait until an event of `kind` was emitted."""
    while not any(isinstance(e, kind) for e in events):
        await anyio.sleep(0.05)
