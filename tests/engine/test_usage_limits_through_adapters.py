"""Usage limits as each built-in CLI reports them, read through its adapter, pause or end the
run as stated: a stand-in executable replays the CLI's stream (tests/harness_samples/), the
clock is faked (a reset hours away passes at once)."""

from __future__ import annotations

import json
import sys
from datetime import datetime
from pathlib import Path

import pytest

from oompa_lsp.adapters.harnesses import run_agent
from oompa_lsp.core import events as ev
from oompa_lsp.core.agents import AgentRequest
from oompa_lsp.core.config import HarnessConfig
from oompa_lsp.core.tasks import Task

from .swarm_fixtures import FAKE_AGENT, make_project
from .test_spending import LA, START, JumpingClock, of, run

pytestmark = pytest.mark.anyio
SAMPLES = Path(__file__).resolve().parent.parent / "harness_samples"
SUCCESS = {"claude": "write_file", "codex": "success", "gemini": "success", "opencode": "write_file"}


def stand_in(folder: Path, streams: list[Path], exit_codes: list[int]) -> Path:
    """A CLI that prints the next stream on each call (the last one repeats); a call that
    succeeds also writes a file in its working directory, as the agent would have."""
    path = folder / "stand-in-cli"
    counter = folder / "stand-in.calls"
    path.write_text(f"""#!{sys.executable}
import pathlib, sys
sys.stdin.read()
counter = pathlib.Path({str(counter)!r})
n = int(counter.read_text()) if counter.exists() else 0
counter.write_text(str(n + 1))
streams, codes = {[str(s) for s in streams]!r}, {exit_codes!r}
i = min(n, len(streams) - 1)
if codes[i] == 0:
    pathlib.Path("stand-in.txt").write_text("written on call %d\\n" % n)
sys.stdout.write(open(streams[i]).read())
sys.exit(codes[i])
""")
    path.chmod(0o755)
    return path


@pytest.mark.parametrize(("harness", "sample"), [
    ("claude", "usage_limit"), ("codex", "usage_limit"), ("codex", "usage_limit_at"),
    ("gemini", "usage_limit"), ("opencode", "usage_limit"),
])
async def test_each_adapter_reports_a_usage_limit_with_the_notice(tmp_path, harness, sample):
    cli = stand_in(tmp_path, [SAMPLES / harness / f"{sample}.jsonl"], [1])
    request = AgentRequest(harness=harness, model="", prompt="go", cwd=str(tmp_path), role="worker", timeout_s=20)
    outcome = await run_agent(request, HarnessConfig(command=[str(cli)]))
    assert outcome.error_kind == "usage_limit", outcome.error
    assert "limit" in outcome.usage_limit or "quota" in outcome.usage_limit


def at_la(*parts) -> float:
    return datetime(*parts, tzinfo=LA).timestamp()


@pytest.mark.parametrize(("harness", "sample", "max_wait", "resets_at", "ends"), [
    ("claude", "usage_limit", "6h", at_la(2026, 7, 5, 0, 50), False),       # 2 h 13 min away
    ("codex", "usage_limit", "6h", START + 5 * 86400 + 22 * 3600 + 11 * 60, True),  # a weekly limit
    ("codex", "usage_limit_at", "1 day", datetime.fromisoformat("2026-07-05T20:19").astimezone().timestamp(), False),
    ("gemini", "usage_limit", "6h", at_la(2026, 7, 5, 0, 0), False),         # midnight Pacific time
    ("opencode", "usage_limit", "6h", datetime.fromisoformat("2026-07-05T09:30:24").astimezone().timestamp(), False),
])
async def test_a_usage_limit_from_each_cli_pauses_or_ends_the_run(tmp_path, harness, sample, max_wait, resets_at, ends):
    project = make_project(tmp_path)
    cli = stand_in(tmp_path, [SAMPLES / harness / f"{sample}.jsonl", SAMPLES / harness / f"{SUCCESS[harness]}.jsonl"],
                   [1, 0])
    script = {"roles": {"reviewer": {"*": [{"final": "VERDICT: APPROVED"}]}, "*": {"*": [{"final": "__DONE__"}]}}}
    project.configure(script, workers=[{"model": f"{harness}:", "count": 1, "can_plan": False,
                                        "max_wait_for_tasks": 0}],
                      limits={"max_wait": max_wait},
                      harnesses={harness: {"command": [str(cli)]},
                                 "fake": {"command": [sys.executable, str(FAKE_AGENT)],
                                          "env": {"FAKE_AGENT_SCRIPT": str(project.script)}}})
    project.add_tasks(Task(id="a", summary="met a usage limit"))
    clock = JumpingClock(START)

    result, events, _ = await run(project.root, clock)

    hit = of(events, ev.UsageLimitHit)[0]
    assert hit.harness == harness and hit.resets_at == pytest.approx(resets_at)
    assert hit.ends_run == ends
    assert not of(events, ev.TaskFailed)
    if ends:
        assert not result.ok and "no task failed" in result.reason and "usage limit" in result.reason
        assert project.task_files("pending") == ["a"] and clock.waits == []
    else:
        assert result.ok, result.reason
        assert clock.time >= resets_at and project.task_files("complete") == ["a"]
        assert len(project.task("complete", "a").attempts) == 1
    assert json.loads(json.dumps(hit.message))  # the notice, as the CLI wrote it
