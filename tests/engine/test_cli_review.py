"""`oompa review` with line comments: `--comment path:line:text` reaches the worker's next turn
with the line's text, and a comment on a line the change has not is refused before it is sent."""

from __future__ import annotations

from oompa_lsp.core.tasks import Task

from .swarm_fixtures import git, make_project
from .test_cli import oompa, start_swarm, wait_for

DONE = "COMPLETE_AND_READY_FOR_MERGE"


def test_line_comments_from_the_cli_reach_the_worker(tmp_path):
    project = make_project(tmp_path)
    project.configure({"roles": {"worker": {"r": [{"write": {"r.py": "a = 1\nb = 2\n"}, "final": DONE},
                                                  {"write": {"r.py": "a = 1\nb = 3\n"}, "final": DONE}],
                                            "-": [{"final": "__DONE__"}]}}},
                      workers=[{"model": "fake:m", "count": 1}], review={"mode": "human"})
    project.add_tasks(Task(id="r", summary="reviewed from the CLI"))
    swarm = start_swarm(project)

    def pending_review() -> str | None:
        listed = oompa(project, "review").stdout
        return listed.split()[0] if listed.startswith("r-") else None

    wait_for(lambda: pending_review() is not None, what="a pending review")
    first = pending_review()
    bad = oompa(project, "review", "reject", first, "--comment", "r.py:7:too far")
    assert bad.returncode == 2 and "r.py has 2 lines on the head side, the comment names line 7" in bad.stderr
    malformed = oompa(project, "review", "reject", first, "--comment", "r.py:two:x")
    assert malformed.returncode == 2 and "PATH:LINE[-END]:TEXT" in malformed.stderr
    sent = oompa(project, "review", "reject", first, "--comment", "r.py:2:b must be 3")
    assert sent.returncode == 0 and sent.stdout.strip() == f"sent: reject {first} with 1 line comment(s)"
    wait_for(lambda: (pending_review() or first) != first, what="the second round")
    assert oompa(project, "review", "approve", pending_review()).returncode == 0
    output, _ = swarm.communicate(timeout=60)

    assert swarm.returncode == 0, output
    assert git(project.root, "show", "main:r.py") == "a = 1\nb = 3"
    fix_prompt = [c for c in project.calls() if c["task_id"] == "r"][1]["prompt"]
    assert "- `r.py` line 2 (your version):\n    | b = 2\n  b must be 3" in fix_prompt
