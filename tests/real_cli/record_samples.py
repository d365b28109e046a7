"""Re-record sample streams of the pinned CLIs into `tests/harness_samples/` (run it after
changing a pin in `oompa_lsp/adapters/harnesses/verified.py`, then check the parser tests).

    .venv/bin/python -m tests.real_cli.record_samples      (from the repository root)

Each sample is one run of the real CLI through `run_agent` against a scripted model server,
in a scratch worktree; the stdout lines are kept, with the worktree's path replaced by
/home/dev/project so the samples do not depend on where they were made.
"""

from __future__ import annotations

import shutil
import sys
import tempfile
from dataclasses import dataclass
from pathlib import Path

import anyio

from oompa_lsp.adapters.harnesses import run_agent
from oompa_lsp.core.agents import AgentRequest

TESTS = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(TESTS))

from model_servers.anthropic import AnthropicServer  # noqa: E402  (needs the path above)
from model_servers.gemini import GeminiServer  # noqa: E402
from model_servers.openai_responses import ResponsesServer  # noqa: E402
from model_servers.scenario import EditFile, Fail, Reply, Rule, RunShell, Say, Scenario, WriteFile  # noqa: E402

from .clis import harness_config, harness_for  # noqa: E402
from .install_clis import install  # noqa: E402

SAMPLES = TESTS / "harness_samples"
STAND_IN_PATH = "/home/dev/project"
DONE = Say("Edited notes.txt.\nCOMPLETE_AND_READY_FOR_MERGE")
TOOLS = [WriteFile("notes.txt", "draft\n"), EditFile("notes.txt", "draft", "final"), RunShell("echo checked"), DONE]


@dataclass(frozen=True)
class Recording:
    cli: str
    name: str
    replies: tuple[Reply, ...]
    model: str


RECORDINGS = (
    Recording("codex", "shell_and_patch", tuple(TOOLS), "scripted"),
    Recording("gemini", "write_edit_shell", tuple(TOOLS), "scripted"),
    Recording("gemini", "rate_limit_429",
              (Fail(429, "You exceeded your current quota, please check your plan and billing details. "
                         "Please retry in 42s."),), "scripted"),
    Recording("gemini", "server_500", (Fail(500, "An internal error has occurred."),), "scripted"),
)
SERVERS = {"claude": AnthropicServer, "codex": ResponsesServer, "gemini": GeminiServer, "opencode": AnthropicServer}


async def record(recording: Recording, scratch: Path) -> Path:
    worktree = scratch / recording.name / "project"
    worktree.mkdir(parents=True)
    cli = install(recording.cli)
    with SERVERS[recording.cli](Scenario(Rule("Do the task", list(recording.replies)))) as server:
        entry = harness_for(recording.cli, cli, server.url, scratch / recording.name / "home")
        # A home of its own: the login shell codex runs commands in must not print this machine's set-up.
        entry["env"]["HOME"] = str(scratch / recording.name / "home")
        harness = harness_config(entry)
        transcript = scratch / recording.name / "stream.log"
        await run_agent(AgentRequest(harness=recording.cli, model=recording.model, prompt="Do the task.\n",
                                     cwd=str(worktree), role="worker", timeout_s=120,
                                     transcript_path=str(transcript)), harness)
    stdout = transcript.read_text(encoding="utf-8").split("\n--- stderr (last lines) ---\n")[0]
    target = SAMPLES / recording.cli / f"{recording.name}.jsonl"
    target.write_text(stdout.replace(str(worktree), STAND_IN_PATH).strip() + "\n", encoding="utf-8")
    return target


async def main() -> None:
    scratch = Path(tempfile.mkdtemp(prefix="oompa-samples-"))
    try:
        for recording in RECORDINGS:
            print(f"recorded {await record(recording, scratch)}")
    finally:
        shutil.rmtree(scratch, ignore_errors=True)


if __name__ == "__main__":
    anyio.run(main)
