"""`oompa init`: the files a repository needs before its first swarm, written once.

Writes `oompa.json` (workers and a reviewer on the agent CLIs found installed, each with the
version found and whether it is the one the adapter was verified with), a `spec.md`
skeleton and the tasks folders. Refuses to overwrite: an existing `oompa.json` stops it
before anything is written; an existing `spec.md` or tasks folder is kept as it is.

A view: may import core, adapters. Must not import: engine, lsp.
"""

from __future__ import annotations

import json
from pathlib import Path

import anyio

from .adapters.config_file import CONFIG_NAME
from .adapters.git import Repo
from .adapters.harnesses import probe_harness
from .adapters.harnesses.runner import HarnessProbe
from .core.config import BUILTIN_HARNESSES
from .core.tasks import TASK_STATES

# A model to work and one to review, per CLI: the reviewer is a different (stronger) model.
_MODELS = {
    "claude": ("claude:sonnet", "claude:opus"),
    "codex": ("codex:gpt-5:medium", "codex:gpt-5:high"),
    "gemini": ("gemini:gemini-2.5-pro", "gemini:gemini-2.5-pro"),
    "opencode": ("opencode:anthropic/claude-sonnet-4", "opencode:anthropic/claude-opus-4"),
}
SPEC_SKELETON = """# Specification

What this repository should do, for the swarm and for you. Each checklist item is one piece
of work: write a task for it in tasks/pending/ (or let a planner do it), and the item shows
the task's state in your editor.

- [ ] The first thing the swarm should build {#first-item}
"""


def run_init(path: Path) -> int:
    repo = Repo.discover(path)
    root = Path(repo.root)
    config_path = root / CONFIG_NAME
    if config_path.exists():
        print(f"{config_path} exists: oompa init writes nothing over it (check it with `oompa check`)")
        return 1
    probes = anyio.run(_probe_all)
    config_path.write_text(json.dumps(starter_config(probes), indent=2) + "\n", encoding="utf-8")
    print(f"wrote {config_path}")
    for probe in probes:
        print(f"  {_probe_line(probe)}")
    if not any(p.found for p in probes):
        print(
            "  no agent CLI is installed: the config names claude; install one (docs/agents.md lists the "
            "verified releases) or change the models"
        )
    _write_unless_there(root / "spec.md", SPEC_SKELETON)
    _make_task_folders(root / "tasks")
    print(
        "next: describe the work in spec.md and add tasks to tasks/pending/ "
        "(docs/config.md says what every key means), then `oompa check` and `oompa swarm`"
    )
    return 0


async def _probe_all() -> list[HarnessProbe]:
    return [await probe_harness(name, None) for name in BUILTIN_HARNESSES]


def starter_config(probes: list[HarnessProbe]) -> dict[str, object]:
    """Workers on the first CLI found, reviewed by a second CLI when there is one (a different
    model family catches different mistakes), else by a stronger model of the same CLI."""
    found = [p.name for p in probes if p.found] or ["claude"]
    worker_model = _MODELS[found[0]][0]
    reviewer = _MODELS[found[1]][1] if len(found) > 1 else _MODELS[found[0]][1]
    return {
        "workers": [{"model": worker_model, "count": 2, "iterations": 10}],
        "review_model": reviewer,
        "merge": {"checks": []},
    }


def _probe_line(probe: HarnessProbe) -> str:
    if not probe.found:
        return f"{probe.name}: not installed ({probe.error})"
    note = f" - {probe.warning}" if probe.warning else " (the verified release)"
    return f"{probe.name}: {probe.path} {probe.version or ''}{note}"


def _write_unless_there(path: Path, text: str) -> None:
    if path.exists():
        print(f"kept your {path.name}")
        return
    path.write_text(text, encoding="utf-8")
    print(f"wrote {path}")


def _make_task_folders(tasks_dir: Path) -> None:
    existed = tasks_dir.exists()
    for state in TASK_STATES:
        (tasks_dir / state).mkdir(parents=True, exist_ok=True)
    print(
        f"kept your {tasks_dir.name}/ (state folders added where missing)"
        if existed
        else f"made {tasks_dir}/{{{','.join(TASK_STATES)}}}/"
    )
