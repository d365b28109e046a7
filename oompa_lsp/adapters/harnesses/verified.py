"""The agent CLI releases the adapters were verified with, and how to compare a found version.

`tests/real_cli/` installs exactly these releases from npm and drives them against scripted
model servers; `docs/agents.md` says what was verified for each. `oompa check` warns when the
CLI it finds reports a different version: flags and stream formats change between releases.

Must not import: engine, lsp, cli; anything but the standard library.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from types import MappingProxyType


@dataclass(frozen=True)
class VerifiedCli:
    package: str  # the npm package that provides the binary
    binary: str
    version: str


VERIFIED_CLIS = MappingProxyType(
    {
        "claude": VerifiedCli("@anthropic-ai/claude-code", "claude", "2.1.197"),
        "codex": VerifiedCli("@openai/codex", "codex", "0.169.0"),
        "gemini": VerifiedCli("@google/gemini-cli", "gemini", "0.61.0"),
        "opencode": VerifiedCli("opencode-ai", "opencode", "1.18.33"),
    }
)

_VERSION = re.compile(r"\b(\d+\.\d+\.\d+(?:-[0-9A-Za-z.-]+)?)\b")


def version_in(text: str) -> str | None:
    """The release number in a `--version` line: `2.1.197 (Claude Code)`, `codex-cli 0.169.0`."""
    match = _VERSION.search(text)
    return match.group(1) if match else None


def version_warning(name: str, reported: str) -> str | None:
    """Why a found CLI may not behave as the adapter expects; None when it is the verified one."""
    verified = VERIFIED_CLIS.get(name)
    if verified is None:
        return None
    found = version_in(reported)
    if found == verified.version:
        return None
    what = f"version {found}" if found else f"an unrecognised version ({reported!r})"
    return (
        f"{what}, but the {name} adapter was verified with {verified.version}: "
        f"`npm install -g {verified.package}@{verified.version}` installs that one"
    )
