"""A review read like a pull request, from a real LSP client: line comments sent with a
rejection reach the worker's next (resumed) turn with their paths, lines and the lines' text;
a bad place is refused naming it; approval notes go to the log; the model reviewer's findings
come back placed on the diff's lines, and the review's summary says the rest."""

from __future__ import annotations

import json

import pytest
from lsp_helpers import agent_config, git, make_repo, start_client, stop_client
from pygls.exceptions import JsonRpcInvalidParams

pytestmark = pytest.mark.slow

SPEC = "# Calc\n- [ ] Division {#calc}\n"
TASKS = {"calc": {"summary": "Add division", "spec": "calc", "acceptance": ["divide(4, 2) == 2"]}}
BASE_FILES = {"calc/ops.py": "def add(a, b):\n    return a + b\n\n\ndef legacy():\n    return None\n",
              "calc/cli.py": "import sys\n"}
CHANGED = {"calc/ops.py": "def add(a, b):\n    return a + b\n\n\ndef divide(a, b):\n    return a / b\n",
           "calc/cli.py": "import sys\nfrom calc.ops import divide\nprint(divide(*map(int, sys.argv[1:])))\n"}
DONE = "Done.\nCOMPLETE_AND_READY_FOR_MERGE"
WORK = {"write": CHANGED, "final": DONE}
FIX = {"append": {"calc/ops.py": "# b == 0 is checked by the caller"}, "final": DONE}


def prompts_of(tmp_path, role: str) -> list[dict]:
    log = tmp_path / "script.json.log.jsonl"
    calls = [json.loads(line) for line in log.read_text().splitlines()] if log.exists() else []
    return [c for c in calls if c["role"] == role and c.get("task_id") == "calc"]


async def test_line_comments_reach_the_worker_s_next_turn_with_their_places(tmp_path, marker, clients):
    script = {"roles": {"*": {"calc": [WORK, FIX], "*": [{"final": "__DONE__"}]}}}
    repo = make_repo(tmp_path / "repo", spec=SPEC, tasks=TASKS, files=BASE_FILES,
                     config=agent_config(marker, tmp_path, script))
    client = await start_client(repo)
    clients.append(client)
    await client.command("oompa.startSwarm")
    review = await client.wait_for_oompa("oompa/reviewRequested", lambda r: r["task_id"] == "calc")
    review_id = review["review_id"]

    with pytest.raises(JsonRpcInvalidParams, match="'calc/nope.py' is not a file this review changes"):
        await client.command("oompa.reject", review_id, "", [
            {"path": "calc/nope.py", "side": "head", "startLine": 1, "endLine": 1, "body": "x"}])
    with pytest.raises(JsonRpcInvalidParams, match="calc/cli.py has 3 lines on the head side, the comment names line 9"):
        await client.command("oompa.reject", review_id, "", [
            {"path": "calc/cli.py", "side": "head", "startLine": 9, "endLine": 9, "body": "x"}])
    with pytest.raises(JsonRpcInvalidParams, match="startLine"):
        await client.command("oompa.reject", review_id, "", [{"path": "calc/cli.py", "side": "head", "body": "x"}])

    comments = [
        {"path": "calc/ops.py", "side": "head", "startLine": 5, "endLine": 6, "body": "Guard against b == 0."},
        {"path": "calc/ops.py", "side": "base", "startLine": 5, "endLine": 5, "body": "Who called legacy()?"},
        {"path": "calc/cli.py", "side": "head", "startLine": 3, "endLine": 3, "body": "Print a usage line on bad input."},
    ]
    answer = await client.command("oompa.reject", review_id, "Close, but not yet.", comments)
    assert answer["message"] == f"rejected {review_id} with 3 line comment(s)"

    again = await client.wait_for_oompa("oompa/reviewRequested", lambda r: r["task_id"] == "calc" and r["round"] == 2)
    fix_turn = prompts_of(tmp_path, "worker")[-1]
    assert fix_turn["env"].get("OOMPA_RESUME") == "1"  # the worker's own session, resumed
    prompt = fix_turn["prompt"]
    assert "Close, but not yet." in prompt
    assert "- `calc/ops.py` lines 5-6 (your version):\n    | def divide(a, b):\n    |     return a / b\n" \
           "  Guard against b == 0." in prompt
    assert "- `calc/ops.py` line 5 (removed lines, as they were at the merge base):\n    | def legacy():\n" \
           "  Who called legacy()?" in prompt
    assert "- `calc/cli.py` line 3 (your version):\n    | print(divide(*map(int, sys.argv[1:])))\n" in prompt

    notes = [{"path": "calc/cli.py", "side": "head", "startLine": 1, "endLine": 1, "body": "Fine for now."}]
    approved = await client.command("oompa.approve", again["review_id"], notes)
    assert approved["message"] == f"approved {again['review_id']} with 1 note(s)"
    logged = await client.wait_for_oompa("oompa/log", lambda m: "approved with 1 note(s)" in m["message"])
    assert "`calc/cli.py` line 1" in logged["message"] and "Fine for now." in logged["message"]
    await client.wait_for_oompa("oompa/taskUpdated", lambda t: t["id"] == "calc" and t["state"] == "complete")
    assert git(repo, "show", "main:calc/ops.py").endswith("# b == 0 is checked by the caller\n")
    await stop_client(client)
    clients.remove(client)


REVIEW_ANSWER = """Mostly fine.
VERDICT: APPROVED
1. calc/ops.py:6 divides by zero when b is 0
2. `calc/cli.py`: `map(int, sys.argv[1:])` fails on a non-number
3. The README does not mention division
"""


async def test_the_model_s_findings_come_back_on_the_diff_and_the_summary_says_the_rest(tmp_path, marker, clients):
    script = {"roles": {"reviewer": {"*": [{"final": REVIEW_ANSWER, "usage": {"input_tokens": 100,
                                                                             "output_tokens": 10, "cost_usd": 0.25}}]},
                        "*": {"calc": [WORK], "*": [{"final": "__DONE__"}]}}}
    repo = make_repo(tmp_path / "repo", spec=SPEC, tasks=TASKS, files=BASE_FILES,
                     config=agent_config(marker, tmp_path, script, review_mode="model+human"))
    client = await start_client(repo)
    clients.append(client)
    await client.command("oompa.startSwarm")
    await client.wait_for_oompa("oompa/reviewResolved", lambda r: r["task_id"] == "calc" and r["approved"])
    review_id = next(r["review_id"] for r in client.of("oompa/reviewRequested") if r["task_id"] == "calc")

    diff = await client.request("oompa/diff", {"review_id": review_id})
    placed = {(f["number"], f["path"], f["side"], f["startLine"], f["endLine"]) for f in diff["findings"]}
    assert placed == {(1, "calc/ops.py", "head", 6, 6), (2, "calc/cli.py", "head", 3, 3), (3, None, "head", None, None)}

    summary = (await client.request("oompa/reviewSummary", {"review_id": review_id}))["markdown"]
    assert summary.startswith(f"# Review {review_id}: Add division")
    assert "## Acceptance criteria\n\n- divide(4, 2) == 2" in summary
    assert "### Round 1 — approved by fake:reviewer" in summary
    assert "with no place in the code\n\n3. The README does not mention division" in summary
    assert "$0.25" in summary
    with pytest.raises(JsonRpcInvalidParams, match="no pending review 'nope'"):
        await client.request("oompa/reviewSummary", {"review_id": "nope"})
    await client.command("oompa.approve", review_id)
    await client.wait_for_oompa("oompa/taskUpdated", lambda t: t["id"] == "calc" and t["state"] == "complete")
    await stop_client(client)
    clients.remove(client)
