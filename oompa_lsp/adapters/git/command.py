"""Running git: one subprocess per call, argv lists, a predictable environment.

Every git call of the adapter goes through `run_git`, so all of them share the same rules:
no prompts (stdin closed, GIT_TERMINAL_PROMPT=0), untranslated messages (we parse a few of
them), no optional locks (the user's editor runs `git status` in the same checkout), no
inherited GIT_DIR-style variables (the server may be started from a git hook), and a timeout
so a stuck git cannot hang a worker thread forever.

Must not import: engine, lsp, cli, anything but the standard library and oompa_lsp.core.
"""

from __future__ import annotations

import os
import re
import subprocess
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

from oompa_lsp.core.errors import GitCommandFailed, RepositoryError

DEFAULT_TIMEOUT_S = 900.0
FALLBACK_NAME = "oompa"
FALLBACK_EMAIL = "oompa@localhost"

# Variables that would point git at another repository or index than the cwd's.
_REPOSITORY_VARIABLES = (
    "GIT_DIR",
    "GIT_WORK_TREE",
    "GIT_INDEX_FILE",
    "GIT_COMMON_DIR",
    "GIT_OBJECT_DIRECTORY",
    "GIT_ALTERNATE_OBJECT_DIRECTORIES",
    "GIT_NAMESPACE",
    "GIT_PREFIX",
    "GIT_QUARANTINE_PATH",
)
# `git worktree add` fills .git/worktrees/<id>/ after creating it; a git reading the worktree
# list meanwhile (any `worktree add/list`, `checkout -B`) dies on the half-written entry before
# changing anything. That is a race between two gits, so the loser is simply run again.
_HALF_WRITTEN_WORKTREE = re.compile(r"failed to read .*worktrees/")
_RACE_RETRIES = 6
_RACE_PAUSE_S = 0.02

# Settings that keep output parseable whatever the user configured.
_OUTPUT_SETTINGS = {"core.quotePath": "false", "color.ui": "false", "advice.detachedHead": "false"}


@dataclass(frozen=True, slots=True)
class GitOutput:
    """What one git run printed; `text` is stdout decoded (invalid UTF-8 replaced)."""

    code: int
    stdout: bytes
    stderr: str

    @property
    def text(self) -> str:
        return self.stdout.decode("utf-8", "replace")

    @property
    def line(self) -> str:
        """stdout as one stripped line (for commands that print a single value)."""
        return self.text.strip()

    def fields(self) -> list[str]:
        """NUL-separated output (`-z`) as strings, without the empty tail."""
        parts = self.text.split("\0")
        return parts[:-1] if parts and parts[-1] == "" else parts


def git_environment() -> dict[str, str]:
    env = {key: value for key, value in os.environ.items() if key not in _REPOSITORY_VARIABLES}
    env.update(GIT_TERMINAL_PROMPT="0", GIT_OPTIONAL_LOCKS="0", LC_ALL="C", LANGUAGE="C", GIT_EDITOR=":")
    return env


def git_argv(args: Sequence[str], config: Mapping[str, str] | None = None) -> list[str]:
    """`git <args>` with the settings that keep its output parseable (and `config`)."""
    settings = {**_OUTPUT_SETTINGS, **(config or {})}
    return ["git", *(part for key, value in settings.items() for part in ("-c", f"{key}={value}")), *args]


def run_git(
    args: Sequence[str],
    cwd: Path,
    *,
    check: bool = True,
    stdin: bytes | None = None,
    config: Mapping[str, str] | None = None,
    timeout: float = DEFAULT_TIMEOUT_S,
) -> GitOutput:
    """Run `git <args>` in `cwd`; raise GitCommandFailed on a non-zero exit when `check`."""
    argv = git_argv(args, config)
    for attempt in range(_RACE_RETRIES):
        try:
            result = _run_once(argv, cwd, stdin, timeout)
        except subprocess.TimeoutExpired as exc:
            raise GitCommandFailed(list(args), -1, f"timed out after {timeout:.0f}s") from exc
        if result.code == 0 or not _HALF_WRITTEN_WORKTREE.search(result.stderr):
            break
        time.sleep(_RACE_PAUSE_S * 2**attempt)
    if check and result.code != 0:
        raise GitCommandFailed(list(args), result.code, result.stderr)
    return result


def _run_once(argv: list[str], cwd: Path, stdin: bytes | None, timeout: float) -> GitOutput:
    try:
        done = subprocess.run(
            argv,
            cwd=cwd,
            env=git_environment(),
            timeout=timeout,
            capture_output=True,
            input=stdin,
            stdin=None if stdin is not None else subprocess.DEVNULL,
        )
    except FileNotFoundError as exc:
        if not Path(cwd).is_dir():
            raise RepositoryError(f"{cwd} does not exist or is not a folder") from exc
        raise RepositoryError("git is not installed or not on PATH: install git 2.38 or newer") from exc
    return GitOutput(done.returncode, done.stdout, done.stderr.decode("utf-8", "replace"))


def run_git_with_identity(args: Sequence[str], cwd: Path) -> GitOutput:
    """Run a git command that records an author (commit, commit-tree). When it fails and the
    user has no identity configured, run it again with the fallback of `identity_config`.

    Asking first would cost two `git var` processes on every commit; users almost always
    have an identity, so the question is asked only when git has refused.
    """
    out = run_git(args, cwd, check=False)
    if out.code != 0:
        filled = identity_config(cwd)
        if filled:
            out = run_git(args, cwd, check=False, config=filled)
    if out.code != 0:
        raise GitCommandFailed(list(args), out.code, out.stderr)
    return out


def identity_config(cwd: Path) -> dict[str, str]:
    """`-c` settings that give commits an author where the user configured none.

    Only the missing half is filled in, so a user with just `user.email` keeps it.
    """
    idents = [run_git(["var", name], cwd, check=False) for name in ("GIT_AUTHOR_IDENT", "GIT_COMMITTER_IDENT")]
    if all(ident.code == 0 for ident in idents):
        return {}
    fallback = {"user.name": FALLBACK_NAME, "user.email": FALLBACK_EMAIL}
    return {key: value for key, value in fallback.items() if not run_git(["config", key], cwd, check=False).line}
