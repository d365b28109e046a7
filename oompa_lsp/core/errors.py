"""The one exception tree of oompa-lsp.

    OompaError                    base of everything we raise on purpose
    ├── ConfigError               oompa.json is unreadable or invalid (file, line/col or key path)
    ├── TaskFileError             a task file is invalid (path, reason, range)
    ├── ClaimLost                 another owner claimed or moved the task first
    ├── RepositoryError           the repository is not in a state the swarm can use
    │   ├── GitCommandFailed      a git command exited non-zero (argv, stderr)
    │   └── TargetMoved           compare-and-swap on the target ref lost a race
    ├── MergeBlocked              the merge cannot advance the user's checkout safely (reason)
    ├── SwarmLocked               another process already runs the swarm on this repository
    ├── HarnessError              an agent harness could not be started (binary missing, ...)
    └── EngineRequestError        a request to the engine names a missing task/review or bad state

Task-level failures (agent errors, timeouts, check failures, conflicts) are not exceptions
that cross the engine: they become events.
"""

from __future__ import annotations


class OompaError(Exception):
    """Base class: the message is meant for the user, one line, saying what to do."""


class ConfigError(OompaError):
    def __init__(self, path: str, where: str, problem: str, hint: str = "") -> None:
        self.path = path
        self.where = where
        self.problem = problem
        self.hint = hint
        text = f"{path}:{where}: {problem}" if where else f"{path}: {problem}"
        super().__init__(f"{text} ({hint})" if hint else text)


class TaskFileError(OompaError):
    def __init__(self, path: str, problem: str) -> None:
        self.path = path
        self.problem = problem
        super().__init__(f"{path}: {problem}")


class ClaimLost(OompaError):
    pass


class RepositoryError(OompaError):
    pass


class GitCommandFailed(RepositoryError):
    def __init__(self, argv: list[str], code: int, stderr: str) -> None:
        self.argv = argv
        self.code = code
        self.stderr = stderr
        detail = stderr.strip().splitlines()[-1] if stderr.strip() else f"exit {code}"
        super().__init__(f"git {' '.join(argv)}: {detail}")


class TargetMoved(RepositoryError):
    pass


class MergeBlocked(OompaError):
    pass


class SwarmLocked(OompaError):
    def __init__(self, message: str, pid: int | None = None, run_id: str | None = None) -> None:
        self.pid = pid  # the holder, when known, so a caller can name or signal it
        self.run_id = run_id
        super().__init__(message)


class HarnessError(OompaError):
    pass


class EngineRequestError(OompaError):
    pass


class RunNotFound(EngineRequestError):
    """A run named by id (or prefix) that is not in `.oompa/runs/`, or none ran yet."""
