"""Prompt templates as users write them: include directives, the original oompa's tokens and
our `$name` placeholders.

Three things live here, all pure: expanding `#oompa_directive:include_file "path"` lines
(reading a file is a function the caller passes in), finding what a template places or cannot
fill (with the file and line each came from), and filling it in one pass, so that text put
in (a diff that mentions `$HOME` or `{{x}}`) is never read as a placeholder itself.

Must not import: anything outside the standard library, msgspec and oompa_lsp.core.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from types import MappingProxyType
from typing import NamedTuple

from .errors import ConfigError

# The original's tokens. Single braces count only for these names: prompts hold JSON and code.
ORIGINAL_TOKENS: tuple[str, ...] = (
    "TASKS_ROOT",
    "TASK_ROOT",
    "pending_count",
    "current_count",
    "complete_count",
    "pending_tasks",
    "task_status",
    "mode_hint",
    "targets",
    "recent_sec",
    "context_header",
    "queue_md",
    "recent_files_md",
    "next_work_md",
    "diffstat_md",
)

# Our placeholders, with the roles whose turn gives them a meaning. Any of them is filled in
# every role (with a short "not part of this prompt" text where it has none), so none reaches
# an agent raw; `oompa check` warns about one used in a role where it means nothing.
PLACEHOLDER_ROLES: Mapping[str, frozenset[str]] = MappingProxyType(
    {
        name: frozenset(roles.split())
        for name, roles in {
            "task_block": "worker executor reviewer resolver",
            "task_id": "worker executor reviewer resolver",
            "worktree": "worker executor planner reviewer resolver",
            "target": "worker executor planner reviewer resolver",
            "tasks_dir": "worker executor planner reviewer resolver",
            "pending_dir": "worker executor planner",
            "spec_path": "worker executor planner",
            "existing_tasks": "worker planner",
            "signals": "worker executor planner resolver",
            "check_block": "reviewer",
            "diff": "reviewer",
            "verdict_contract": "reviewer",
            "conflict_files": "resolver",
        }.items()
    }
)

_INCLUDE = re.compile(r'^\s*#oompa_directive:include_file\s+"([^"]+)"\s*$')
_DIRECTIVE = re.compile(r"#oompa_directive:")
_SINGLE_TOKENS = "|".join(ORIGINAL_TOKENS)
# One alternation, read left to right: `$$`, `$name`, `${name}`, `{{NAME}}`, `{known}`.
_PLACEHOLDER = re.compile(
    r"\$(?P<escape>\$)|\$(?P<name>[A-Za-z_][A-Za-z0-9_]*)|\$\{(?P<braced>[A-Za-z_][A-Za-z0-9_]*)\}"
    rf"|\{{\{{\s*(?P<double>[A-Za-z_][A-Za-z0-9_]*)\s*\}}\}}|\{{(?P<single>{_SINGLE_TOKENS})\}}"
)


class SourceLine(NamedTuple):
    """One line of an expanded template and where it was written."""

    text: str
    path: str
    line: int


class PromptProblem(NamedTuple):
    path: str
    line: int
    message: str
    fatal: bool  # True: the engine cannot fill it, the swarm must not start


# -- include directives -------------------------------------------------------------------

Locate = Callable[[str, str], "str | None"]  # (name, including file) -> absolute path or None


def expand_includes(
    path: str, read: Callable[[str], str], locate: Locate, chain: tuple[str, ...] = ()
) -> list[SourceLine]:
    """The file's lines with every include directive replaced by the named file's (recursively).

    A missing file or a cycle is a ConfigError at the directive's file and line."""
    out: list[SourceLine] = []
    for number, text in enumerate(read(path).splitlines(), 1):
        match = _INCLUDE.match(text)
        if match is None:
            out.append(SourceLine(text, path, number))
            continue
        included = _included_path(match.group(1), path, number, locate, (*chain, path))
        out += expand_includes(included, read, locate, (*chain, path))
    return out


def _included_path(name: str, path: str, number: int, locate: Locate, chain: tuple[str, ...]) -> str:
    found = locate(name, path)
    if found is None:
        raise ConfigError(
            path,
            str(number),
            f"included file {name!r} not found",
            "paths are relative to the repository root, then to this file's folder",
        )
    if found in chain:
        cycle = " -> ".join([*chain[chain.index(found) :], found])
        raise ConfigError(path, str(number), f"include cycle: {cycle}", "remove one of the include lines")
    return found


# -- reading and filling placeholders -------------------------------------------------------


def _placeholder_name(match: re.Match[str]) -> str | None:
    return match.group("name") or match.group("braced") or match.group("double") or match.group("single")


def placed_names(text: str) -> set[str]:
    """Every placeholder and token name the text uses (not `$$` escapes)."""
    return {name for m in _PLACEHOLDER.finditer(text) if (name := _placeholder_name(m))}


def fill(text: str, values: Mapping[str, str]) -> str:
    """Placeholders and tokens with a value are replaced, `$$` becomes `$`, the rest stays."""

    def replace(match: re.Match[str]) -> str:
        if match.group("escape"):
            return "$"
        name = _placeholder_name(match)
        return values[name] if name is not None and name in values else match.group(0)

    return _PLACEHOLDER.sub(replace, text)


# An instruction to move branches itself: agents that follow it put unreviewed work on the target.
_BRANCH_WORK = re.compile(
    r"\bgit\s+(?:merge|push|rebase|update-ref|checkout\s+(?:main|master)|switch)\b"
    r"|\bcommit\s+and\s+(?:merge|push)\b|\bmerge\s+(?:it|them|your\s+\w+)\s+(?:in)?to\b"
    r"|\bmerge\s+(?:in)?to\s+(?:main|master)\b",
    re.IGNORECASE,
)
_NEGATED = re.compile(r"\b(?:do\s+not|don't|never|not|no)\b", re.IGNORECASE)


def asks_to_move_branches(text: str) -> bool:
    """A line telling the agent to merge, push or switch branches (not one forbidding it)."""
    return bool(_BRANCH_WORK.search(text)) and not _NEGATED.search(text)


def template_problems(lines: list[SourceLine], role: str) -> list[PromptProblem]:
    """What a template for `role` holds that no agent should see raw, line by line."""
    problems: list[PromptProblem] = []
    for text, path, number in lines:
        if asks_to_move_branches(text):
            problems.append(
                PromptProblem(
                    path,
                    number,
                    "asks the agent to merge, push or switch branches: the "
                    "engine commits and lands work through its merge queue, and a move of "
                    "the target by an agent fails its task; remove the instruction",
                    False,
                )
            )
        if _DIRECTIVE.search(text) and not _INCLUDE.match(text):
            problems.append(
                PromptProblem(
                    path,
                    number,
                    "an `#oompa_directive:` the engine does not know "
                    '(only `#oompa_directive:include_file "path"` alone on a line)',
                    True,
                )
            )
        for match in _PLACEHOLDER.finditer(text):
            problem = _placeholder_problem(match, role)
            if problem:
                problems.append(PromptProblem(path, number, *problem))
    return problems


def _placeholder_problem(match: re.Match[str], role: str) -> tuple[str, bool] | None:
    double = match.group("double")
    if double is not None:
        return None if double in ORIGINAL_TOKENS else (f"`{match.group(0)}` is not a token the engine can fill", True)
    name = match.group("name") or match.group("braced")
    if name is None:
        return None
    roles = PLACEHOLDER_ROLES.get(name)
    if roles is None:
        return (
            f"`${name}` is not a placeholder the engine knows; it is left as written (write `$$` for a literal `$`)",
            False,
        )
    if role not in roles:
        return f"`${name}` means nothing in a {role}'s prompt; it becomes a short note saying so", False
    return None
