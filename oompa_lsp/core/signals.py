"""Signals and verdicts, read only from an agent's final message.

A signal counts only when it stands alone on its own line (quoted instructions or prose that
mention a signal do not). For reviewers, the last `VERDICT:` line wins and no verdict counts
as changes requested.

Must not import: anything outside the standard library, msgspec and oompa_lsp.core.
"""

from __future__ import annotations

import re
from typing import Literal

from msgspec import Struct

COMPLETE = "COMPLETE_AND_READY_FOR_MERGE"
NEEDS_FOLLOWUP = "NEEDS_FOLLOWUP"
DONE = "__DONE__"
_CLAIM = re.compile(r"^CLAIM\(\s*([^)]*)\)$")
_FOLLOWUP = re.compile(rf"^{NEEDS_FOLLOWUP}(?:\s*:\s*(.*))?$")
_VERDICT = re.compile(r"^VERDICT:\s*(APPROVED|CHANGES_REQUESTED)\s*$")
_NUMBERED = re.compile(r"^\s*\d+[.)]\s+\S")

SignalKind = Literal["complete", "followup", "claim", "done", "none"]


class Signal(Struct, frozen=True):
    kind: SignalKind
    reason: str = ""
    claims: tuple[str, ...] = ()


class Verdict(Struct, frozen=True):
    approved: bool
    issues: tuple[str, ...] = ()
    text: str = ""


def _lines(message: str) -> list[str]:
    return [line.strip() for line in message.splitlines()]


def read_signal(message: str) -> Signal:
    """The last signal line of the final message wins; none means the turn must be resumed."""
    for line in reversed(_lines(message)):
        if line == COMPLETE:
            return Signal("complete")
        if line == DONE:
            return Signal("done")
        followup = _FOLLOWUP.match(line)
        if followup:
            return Signal("followup", reason=(followup.group(1) or "").strip())
        claim = _CLAIM.match(line)
        if claim:
            ids = tuple(p.strip() for p in claim.group(1).split(",") if p.strip())
            return Signal("claim", claims=ids)
    return Signal("none")


def read_verdict(message: str) -> Verdict:
    lines = message.splitlines()
    last = None
    for index, line in enumerate(lines):
        match = _VERDICT.match(line.strip())
        if match:
            last = (index, match.group(1))
    if last is None:
        return Verdict(False, ("the reviewer gave no VERDICT line; treat the review as changes requested",), message)
    index, word = last
    issues = tuple(line.strip() for line in lines[index + 1:] if _NUMBERED.match(line))
    return Verdict(word == "APPROVED", issues, message)
