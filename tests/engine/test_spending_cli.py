"""The budget and usage limits as `oompa swarm` and `oompa status` say them (real processes,
the real clock: the usage limit here resets in a few seconds)."""

from __future__ import annotations

import json

from oompa_lsp.core.tasks import Task

from .swarm_fixtures import make_project
from .test_cli import oompa, start_swarm, wait_for

APPROVE = {"reviewer": {"*": [{"final": "VERDICT: APPROVED"}]}}
FINISH = {"write": {"{task_id}.txt": "{task_id}\n"}, "final": "COMPLETE_AND_READY_FOR_MERGE"}
DONE = {"-": [{"final": "__DONE__"}]}


def test_a_budget_ends_oompa_swarm_non_zero_naming_the_limit_and_status_shows_it(tmp_path):
    project = make_project(tmp_path)
    cents = {"usage": {"input_tokens": 1000, "output_tokens": 100, "cost_usd": 0.02}}
    project.configure({"roles": {**APPROVE, "worker": {"*": [{**FINISH, **cents}], **DONE}}},
                      workers=[{"model": "fake:m", "count": 1}], budget={"usd": 0.03})
    project.add_tasks(*(Task(id=f"t{i}", summary=f"task {i}") for i in range(1, 4)))

    ran = oompa(project, "swarm")

    assert ran.returncode != 0
    last = ran.stdout.strip().splitlines()[-1]
    assert last == "stopped: budget.usd reached ($0.0400 of $0.03): no new agent turn started"
    assert project.task_files("current") == []
    status = oompa(project, "status")
    assert "budget $0.04 of $0.03 (133%)" in status.stdout
    snapshot = json.loads(oompa(project, "status", "--json").stdout)
    assert snapshot["budget"]["usd_limit"] == 0.03 and snapshot["budget"]["reached"]
    assert snapshot["usage"]["cost_usd"] == 0.04


def test_a_usage_limit_is_said_while_the_run_waits_and_the_run_goes_on_by_itself(tmp_path):
    project = make_project(tmp_path)
    limited = {"stderr": 'Error: 429 {"error":{"type":"usage_limit_reached","message":"The usage limit has been '
                         'reached","resets_in_seconds":6}}', "exit": 1}
    project.configure({"roles": {**APPROVE, "worker": {"a": [limited, FINISH], **DONE}}},
                      workers=[{"model": "fake:m", "count": 1}])
    project.add_tasks(Task(id="a", summary="waits for the reset"))

    swarm = start_swarm(project)
    try:
        wait_for(lambda: "usage limit, resumes" in oompa(project, "status").stdout, timeout=30,
                 what="oompa status to name the usage limit")
        status = oompa(project, "status").stdout
        assert "fake: usage limit, resumes" in status and "(in " in status
        out, _ = swarm.communicate(timeout=60)
    finally:
        if swarm.poll() is None:
            swarm.kill()
    assert swarm.returncode == 0, out
    assert "warning: fake: usage limit, resumes" in out and "every fake worker waits" in out
    assert out.strip().splitlines()[-1].startswith("done: all 1 task(s) complete")
    assert project.task_files("complete") == ["a"]
    assert len(project.task("complete", "a").attempts) == 1
