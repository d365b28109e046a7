"""The scripted agent behind `oompa demo`: speaks the command-harness contract, needs no model.

It plays every role from what the engine gives it (OOMPA_ROLE, OOMPA_TASK_ID, the prompt on
stdin) and writes real files in its worktree, so the demo exercises the real engine:
claims, commits, checks, a review that asks for a fix, a merge conflict and its resolution.
Run as `python -m oompa_lsp.demo_agent`. Standard library only.
"""

from __future__ import annotations

import os
import re
import sys
import time
from pathlib import Path

# What each demo task writes: (file, text appended). Two tasks append to the end of calc.py,
# so whichever merges second conflicts and gets a resolver turn.
RECIPES = {
    "add-subtract": ("calc.py", "\n\ndef subtract(a, b):\n    return a - b\n"),
    "add-multiply": ("calc.py", "\n\ndef multiply(a, b):\n    return a * b\n"),
    "add-divide": ("divide.py", "def divide(a, b):\n    return a / b\n"),
    "write-readme": ("README.md", "# calc\n\nA tiny calculator, built by an oompa swarm.\n"),
}
DIVIDE_FIXED = (
    'def divide(a, b):\n    if b == 0:\n        raise ZeroDivisionError("divide by zero")\n    return a / b\n'
)
_OURS, _BASE, _THEIRS, _END = "<<<<<<<", "|||||||", "=======", ">>>>>>>"


def main() -> int:
    prompt = sys.stdin.read()
    role = os.environ.get("OOMPA_ROLE", "worker")
    time.sleep(float(os.environ.get("DEMO_AGENT_DELAY_S", "0.2")))  # so the live view has something to show
    actions = {"reviewer": review, "resolver": resolve}
    print(actions.get(role, work)(prompt))
    return 0


def work(prompt: str) -> str:
    task_id = os.environ.get("OOMPA_TASK_ID", "")
    if not task_id:
        return "Nothing assigned and nothing left to plan.\n__DONE__"
    if task_id == "add-divide" and "needs more work" in prompt:
        Path("divide.py").write_text(DIVIDE_FIXED, encoding="utf-8")
        return "Guarded division by zero as the reviewer asked.\nCOMPLETE_AND_READY_FOR_MERGE"
    name, text = RECIPES.get(task_id, (f"notes/{task_id}.md", f"# {task_id}\n\nDone by the demo agent.\n"))
    path = Path(name)
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("a", encoding="utf-8") as handle:
        handle.write(text)
    return f"Wrote {name} for {task_id}.\nCOMPLETE_AND_READY_FOR_MERGE"


def review(prompt: str) -> str:
    diff = prompt.partition("```diff")[2]
    if "def divide" in diff and "ZeroDivisionError" not in diff:
        return (
            "The change divides without guarding b == 0.\n"
            "VERDICT: CHANGES_REQUESTED\n1. divide.py: raise ZeroDivisionError with a clear message when b == 0"
        )
    return "The change does what the task asks and nothing else.\nVERDICT: APPROVED"


def resolve(prompt: str) -> str:
    files = re.findall(r"^- (\S+)$", prompt, flags=re.MULTILINE)
    for name in files:
        path = Path(name)
        if path.exists():
            path.write_text(keep_both_sides(path.read_text(encoding="utf-8")), encoding="utf-8")
    return f"Kept both sides in {', '.join(files)}.\nCOMPLETE_AND_READY_FOR_MERGE"


def keep_both_sides(text: str) -> str:
    """Resolve conflict hunks by keeping ours then theirs, dropping the base section."""
    kept: list[str] = []
    in_base = False
    for line in text.splitlines():
        if line.startswith((_OURS, _END)):
            continue
        if line.startswith(_BASE):
            in_base = True
        elif line.startswith(_THEIRS):
            in_base = False
            kept += [""] if kept and kept[-1] else []
        elif not in_base:
            kept.append(line)
    return "\n".join(kept) + "\n"


if __name__ == "__main__":
    sys.exit(main())
