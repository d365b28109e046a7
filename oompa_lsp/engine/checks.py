"""Running the configured checks (argv lists) in a worktree, bounded by a timeout, and the
results kept by the tree they ran on.

A check runs in a process group of its own (killed whole on timeout or cancellation) and
carries OOMPA_WORKTREE, so a later run ends it when this one was killed (recovery.py).
`CheckMemo` keeps finished results by (tree id, the checks' argv): the same tree is not
checked twice in a run (the worktree's tree before review is often the merged tree).

May import: core. Must not import: lsp, cli.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import time
from contextlib import suppress
from pathlib import Path

import anyio

from ..core.events import CheckResult

_TAIL_CHARS = 4000
_TIMED_OUT = 124


class CheckMemo:
    """Results of complete runs of the checks, by the tree they ran on. A run that timed out
    or was stopped is not kept: the next look runs it again."""

    def __init__(self) -> None:
        self._results: dict[tuple[str, str], tuple[list[CheckResult], str]] = {}

    def put(self, tree: str, checks: list[list[str]], results: list[CheckResult], where: str) -> None:
        if results and all(r.exit_code != _TIMED_OUT for r in results):
            self._results[(tree, json.dumps(checks))] = (results, where)

    def get(self, tree: str, checks: list[list[str]]) -> tuple[list[CheckResult], str] | None:
        """The results kept for `tree` and where they were taken."""
        return self._results.get((tree, json.dumps(checks)))


async def run_checks(checks: list[list[str]], cwd: Path, timeout_s: float) -> list[CheckResult]:
    results: list[CheckResult] = []
    for argv in checks:
        result = await run_check(argv, cwd, timeout_s)
        results.append(result)
        if result.exit_code != 0:
            break  # later checks would only repeat the failure's noise
    return results


async def run_check(argv: list[str], cwd: Path, timeout_s: float) -> CheckResult:
    started = time.monotonic()
    try:
        process = await anyio.open_process(
            argv,
            cwd=cwd,
            stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            start_new_session=True,
            env={**os.environ, "OOMPA_WORKTREE": str(cwd)},
        )
    except OSError as exc:
        return CheckResult(argv, 127, f"could not start: {exc}", 0.0)
    chunks: list[bytes] = []
    code = await _collect(process, chunks, timeout_s)
    tail = b"".join(chunks).decode("utf-8", errors="replace")[-_TAIL_CHARS:]
    if code is None:
        return CheckResult(argv, _TIMED_OUT, tail + f"\n(timed out after {timeout_s:g}s)", time.monotonic() - started)
    return CheckResult(argv, code, tail, time.monotonic() - started)


async def _collect(process: anyio.abc.Process, chunks: list[bytes], timeout_s: float) -> int | None:
    try:
        assert process.stdout is not None  # opened with stdout=PIPE
        with anyio.move_on_after(timeout_s):
            async for chunk in process.stdout:
                chunks.append(chunk)
            return await process.wait()
        return None
    finally:
        with anyio.CancelScope(shield=True):
            if process.returncode is None:
                _kill_group(process.pid)
                await process.wait()


def _kill_group(pid: int) -> None:
    with suppress(ProcessLookupError):
        os.killpg(pid, signal.SIGKILL)
