"""The command harness: any program speaking the contract of DESIGN §6.

argv is the configured command (plus `args`), cwd the worktree, the prompt arrives on stdin
(UTF-8), and the environment adds OOMPA_MODEL, OOMPA_SESSION_ID and, on resumed turns,
OOMPA_RESUME=1 (the engine adds OOMPA_ROLE, OOMPA_WORKTREE, OOMPA_TASKS_DIR, OOMPA_TASK_ID,
OOMPA_TARGET). Everything the agent prints on stdout is its final message.

Optional usage report: when the last non-empty stdout line is a JSON object
`{"oompa_usage": {"input_tokens": N, "output_tokens": N, "cost_usd": X}}` (optionally
`cache_read_tokens`, `cache_write_tokens`: the cached parts of `input_tokens`), it is taken as
the run's usage and left out of the final message. Without `cost_usd` the price table prices
the tokens by OOMPA_MODEL (core.costs).

Must not import: engine, lsp, cli; anything but the standard library and oompa_lsp.core.
"""

from __future__ import annotations

import uuid

from oompa_lsp.core.agents import AgentRequest
from oompa_lsp.core.tasks import Usage

from .stream import Adapter, Launch, StreamResult, as_count, json_event, one_line


def launch(request: AgentRequest, command: list[str], args: list[str]) -> Launch:
    session_id = request.session_id or str(uuid.uuid4())
    env = {"OOMPA_MODEL": request.model, "OOMPA_SESSION_ID": session_id}
    if request.resume:
        env["OOMPA_RESUME"] = "1"
    return Launch(argv=[*command, *args], stdin=request.prompt.encode("utf-8"), env=env, session_id=session_id)


def parse(lines: list[str], cwd: str = "") -> StreamResult:
    kept = list(lines)
    while kept and not kept[-1].strip():
        kept.pop()
    result = StreamResult()
    usage = _usage_line(kept[-1]) if kept else None
    if usage is not None:
        result.usage = usage
        kept.pop()
    result.final_text = "\n".join(kept).rstrip()
    return result


def _usage_line(line: str) -> Usage | None:
    event = json_event(line)
    report = event.get("oompa_usage") if event and len(event) == 1 else None
    if not isinstance(report, dict):
        return None
    cost = report.get("cost_usd")
    return Usage(
        input_tokens=as_count(report.get("input_tokens")),
        output_tokens=as_count(report.get("output_tokens")),
        cost_usd=float(cost) if isinstance(cost, (int, float)) else None,
        cache_read_tokens=as_count(report.get("cache_read_tokens")),
        cache_write_tokens=as_count(report.get("cache_write_tokens")),
    )


def activity(line: str, cwd: str = "") -> str | None:
    """A custom agent's stdout is its message; its lines are what the live view can show."""
    text = one_line(line)
    return text if text and json_event(line) is None else None


ADAPTER = Adapter(name="command", binary="", launch=launch, parse=parse, activity=activity, expects_closing_event=False)
