"""Running one agent turn through its harness, and probing a harness for `oompa check`.

`run_agent` never raises for agent trouble: a missing binary, a non-zero exit, a timeout, an
API failure all come back as an `AgentOutcome` with `error` and `error_kind`. Cancellation
of the caller ends the agent's process group and propagates.

Environment of an agent: ours, minus inherited OOMPA_* (a swarm started from inside an agent
must not leak its own role or task) and minus git's repository variables (a swarm started
from a git hook must not point the agent's git at another checkout), plus the harness's
`env`, plus the request's `env`, plus what the adapter adds; PWD is the agent's working
directory (opencode believes $PWD over its real working directory). `run_process_group` adds
OOMPA_TURN, the marker by which what the agent leaves running is found when the run ends.

Must not import: engine, lsp, cli; anything but the standard library, anyio, msgspec and
oompa_lsp.core.
"""

from __future__ import annotations

import logging
import os
import re
import shutil
import time
from collections.abc import Callable
from pathlib import Path

import msgspec

from oompa_lsp.core.agents import AgentOutcome, AgentRequest, ErrorKind
from oompa_lsp.core.config import BUILTIN_HARNESSES, HarnessConfig
from oompa_lsp.core.usage_limits import is_usage_limit

from . import claude, codex, command, gemini, opencode
from .process import CLOSING, STOP, ProcessResult, run_process_group
from .stream import Adapter, Launch, StreamResult, classify_failure, one_line, retry_after_in
from .verified import version_warning

logger = logging.getLogger(__name__)

PROBE_TIMEOUT_S = 15.0
_ERROR_LINE = re.compile(r"(?i)^(?:error|fatal|unknown (?:argument|option)s?)\b")
_USAGE_LINE = re.compile(r"(?i)^(?:usage|options|positionals):")
_ANSI = re.compile(r"\x1b\[[0-9;?]*[A-Za-z]")
_GIT_REPOSITORY_VARIABLES = (
    "GIT_DIR",
    "GIT_WORK_TREE",
    "GIT_INDEX_FILE",
    "GIT_COMMON_DIR",
    "GIT_OBJECT_DIRECTORY",
    "GIT_NAMESPACE",
    "GIT_PREFIX",
)


class HarnessProbe(msgspec.Struct, omit_defaults=True):
    """What `oompa check` says about one harness."""

    name: str
    found: bool
    path: str | None = None
    version: str | None = None
    error: str | None = None
    warning: str | None = None


def adapter_for(name: str, harness: HarnessConfig | None) -> Adapter | None:
    """The adapter of a built-in, the command adapter for a custom harness, None if neither."""
    builtin = {
        "claude": claude.ADAPTER,
        "codex": codex.ADAPTER,
        "gemini": gemini.ADAPTER,
        "opencode": opencode.ADAPTER,
    }.get(name)
    if builtin is not None:
        return builtin
    return command.ADAPTER if harness is not None and harness.command else None


def command_of(adapter: Adapter, harness: HarnessConfig | None) -> list[str]:
    """The configured command, else the built-in's binary name."""
    return list(harness.command) if harness is not None and harness.command else [adapter.binary]


def args_of(harness: HarnessConfig | None) -> list[str]:
    """Extra arguments: after the command for a custom harness, after our flags for a built-in."""
    return list(harness.args) if harness is not None else []


async def run_agent(
    request: AgentRequest, harness: HarnessConfig | None, on_activity: Callable[[str], None] | None = None
) -> AgentOutcome:
    """Run one turn of an agent; every failure becomes the outcome's `error`/`error_kind`."""
    started = time.monotonic()
    adapter = adapter_for(request.harness, harness)
    if adapter is None:
        return _failed(
            f"unknown harness {request.harness!r}: not built in "
            f'({", ".join(BUILTIN_HARNESSES)}) and no "command" configured',
            "not_found",
            started,
        )
    launch = adapter.launch(request, command_of(adapter, harness), args_of(harness))
    env = agent_env(request, harness, launch)
    program = resolve_program(launch.argv[0], request.cwd, env)
    problem = _cannot_start(launch.argv[0], program, request.cwd)
    if problem or program is None:
        return _failed(problem, "not_found", started)
    lines = _LineHandler(adapter, request.cwd, on_activity)
    try:
        ran = await run_process_group(
            [program, *launch.argv[1:]],
            cwd=request.cwd,
            env=env,
            stdin=launch.stdin,
            timeout_s=request.timeout_s,
            on_line=lines,
            transcript=Path(request.transcript_path) if request.transcript_path else None,
            keep=request.keep_running,
        )
    except OSError as exc:
        return _failed(f"cannot start {launch.argv[0]}: {exc.strerror or exc}", "not_found", started)
    return outcome_of(adapter, request, launch, ran, lines.stop)


def _cannot_start(name: str, program: str | None, cwd: str) -> str:
    if not os.path.isdir(cwd):
        return f"the agent's working directory {cwd} does not exist"
    if program is None:
        return f"{name}: not found (not on PATH, or not executable)"
    return ""


def agent_env(request: AgentRequest, harness: HarnessConfig | None, launch: Launch) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("OOMPA_") and k not in _GIT_REPOSITORY_VARIABLES}
    env.update(harness.env if harness is not None else {})
    env.update(request.env)
    env.update(launch.env)
    # PWD must name the worktree: opencode (1.18) takes its project folder from $PWD, not from
    # its real working directory, and would otherwise edit the checkout the swarm started in.
    env["PWD"] = request.cwd
    return env


def resolve_program(program: str, cwd: str, env: dict[str, str]) -> str | None:
    """The program as an absolute path: a name through the agent's PATH, a relative path from
    its working directory (where the agent itself would look)."""
    if os.sep in program:
        path = program if os.path.isabs(program) else os.path.join(cwd, program)
        return path if os.path.isfile(path) and os.access(path, os.X_OK) else None
    return shutil.which(program, path=env.get("PATH", os.defpath))


class _LineHandler:
    """Feeds the live view, and notices a closing event or a hopeless run."""

    def __init__(self, adapter: Adapter, cwd: str, on_activity: Callable[[str], None] | None) -> None:
        self.adapter = adapter
        self.cwd = cwd
        self.on_activity = on_activity
        self.stop: tuple[ErrorKind, str] | None = None

    def __call__(self, line: str) -> str | None:
        self._show(line)
        stop = self.adapter.stop_on(line)
        if stop:
            self.stop = stop
            return STOP
        return CLOSING if self.adapter.closes(line) else None

    def _show(self, line: str) -> None:
        if self.on_activity is None:
            return
        try:
            text = self.adapter.activity(line, self.cwd)
            if text:
                self.on_activity(text)
        except Exception:  # the live view is a nicety; the run goes on without it
            logger.exception("activity callback failed")


def outcome_of(
    adapter: Adapter,
    request: AgentRequest,
    launch: Launch,
    ran: ProcessResult,
    stop: tuple[ErrorKind, str] | None = None,
) -> AgentOutcome:
    parsed = adapter.parse(ran.stdout_lines, request.cwd)
    error, kind, retry_after = _failure(adapter, request, parsed, ran, stop)
    notice = _usage_limit_notice(error, parsed, ran)
    kind = "usage_limit" if notice else kind
    session_id = (parsed.session_id or launch.session_id) if parsed.session_saved else None
    return AgentOutcome(
        final_text="" if error else parsed.final_text,
        exit_code=ran.exit_code,
        session_id=session_id,
        usage=parsed.usage,
        tool_calls=parsed.tool_calls,
        error=error,
        error_kind=kind,
        retry_after_s=retry_after,
        usage_limit=notice,
        model=parsed.model,
        duration_s=round(ran.duration_s, 3),
        leftovers=ran.leftovers,
        kept=ran.kept,
        turn_marker=ran.marker if ran.kept else "",
        usage_is_session_total=adapter.usage_is_session_total,
    )


def _failure(
    adapter: Adapter,
    request: AgentRequest,
    parsed: StreamResult,
    ran: ProcessResult,
    stop: tuple[ErrorKind, str] | None,
) -> tuple[str | None, ErrorKind | None, float | None]:
    """What went wrong, most telling first: our own stop, the CLI's report, the exit."""
    if ran.stopped and stop:
        return stop[1], stop[0], None
    if ran.timed_out and not parsed.finished:
        context = parsed.last_api_error or parsed.error or _stderr_summary(ran.stderr_tail)
        detail = f" (last error: {context})" if context else ""
        message = f"{request.harness} gave no result within {request.timeout_s:g}s and was stopped{detail}"
        return message, "timeout", None
    if parsed.error:
        return parsed.error, parsed.error_kind or "exit", parsed.retry_after_s
    # A CLI that hung on exit after its closing event was ended by us: its result stands.
    if ran.exit_code != 0 and not (ran.timed_out and parsed.finished):
        return _exit_failure(request.harness, ran)
    if adapter.expects_closing_event and not parsed.finished:
        return f"{request.harness} exited without its closing result event", "protocol", None
    return None, None, None


def _usage_limit_notice(error: str | None, parsed: StreamResult, ran: ProcessResult) -> str:
    """The plan's or quota's limit a failed run reported (also one a CLI kept retrying until
    it timed out), verbatim; "" when none."""
    if error is None:
        return ""
    texts = (parsed.error, parsed.last_api_error, _ANSI.sub("", "\n".join(ran.stderr_tail)).strip(), error)
    return next((text for text in texts if text and is_usage_limit(text)), "")


def _exit_failure(harness: str, ran: ProcessResult) -> tuple[str, ErrorKind, float | None]:
    stderr = "\n".join(ran.stderr_tail)
    summary = _stderr_summary(ran.stderr_tail)
    message = f"{harness} exited with code {ran.exit_code}" + (f": {summary}" if summary else "")
    kind = classify_failure(stderr) or "exit"
    return message, kind, retry_after_in(stderr) if kind == "rate_limit" else None


def _stderr_summary(lines: list[str], count: int = 3) -> str:
    """The last few telling stderr lines: stack frames and lone brackets say nothing. An
    `error: ...` line leads even when more follows it, and a usage text (what codex, gemini and
    opencode print after an argument they do not accept) is named, not quoted."""
    plain = [_ANSI.sub("", ln).strip() for ln in lines]  # opencode colours its "Error:"
    telling = [ln for ln in plain if ln and not _is_noise(ln)]
    errors = [ln for ln in telling if _ERROR_LINE.match(ln)]
    if any(_USAGE_LINE.match(ln) for ln in telling):
        usage = 'it printed its usage text: an argument it does not accept? (see the harness\'s "args")'
        return one_line(" | ".join([*errors[-1:], usage]), 500)
    chosen = telling[-count:]
    if errors and errors[-1] not in chosen:
        chosen = [errors[-1], *telling[-(count - 1) :]]
    return one_line(" | ".join(chosen), 500)


def _is_noise(line: str) -> bool:
    return line in ("}", "{", "]", "[", ")") or line.startswith(("at ", 'File "', "^"))


def _failed(message: str, kind: ErrorKind, started: float) -> AgentOutcome:
    return AgentOutcome(
        final_text="", exit_code=None, error=message, error_kind=kind, duration_s=round(time.monotonic() - started, 3)
    )


async def probe_harness(name: str, harness: HarnessConfig | None) -> HarnessProbe:
    """Is the harness there, and which version? Built-ins answer `--version` (a warning when it
    is not the release the adapter was verified with); custom commands are only looked up
    (running them would start an agent)."""
    adapter = adapter_for(name, harness)
    if adapter is None:
        return HarnessProbe(name=name, found=False, error='not a built-in harness and no "command" configured')
    argv = command_of(adapter, harness)
    env = {**os.environ, **(harness.env if harness is not None else {})}
    path = resolve_program(argv[0], os.getcwd(), env)
    if path is None:
        return HarnessProbe(name=name, found=False, error=f"{argv[0]}: not found (not on PATH, or not executable)")
    if adapter is command.ADAPTER:
        return HarnessProbe(name=name, found=True, path=path)
    return await _probe_version(name, [path, *argv[1:]], env)


async def _probe_version(name: str, argv: list[str], env: dict[str, str]) -> HarnessProbe:
    try:
        ran = await run_process_group(
            [*argv, "--version"], cwd=os.getcwd(), env=env, stdin=b"", timeout_s=PROBE_TIMEOUT_S
        )
    except OSError as exc:
        return HarnessProbe(name=name, found=False, path=argv[0], error=f"cannot run {argv[0]}: {exc.strerror or exc}")
    version = next((ln.strip() for ln in ran.stdout_lines if ln.strip()), None)
    if ran.timed_out or ran.exit_code != 0 or version is None:
        why = "timed out" if ran.timed_out else f"exited with code {ran.exit_code}"
        detail = _stderr_summary(ran.stderr_tail)
        return HarnessProbe(
            name=name,
            found=True,
            path=argv[0],
            version=version,
            warning=f"`--version` {why}" + (f": {detail}" if detail else ""),
        )
    return HarnessProbe(
        name=name, found=True, path=argv[0], version=one_line(version), warning=version_warning(name, version)
    )
