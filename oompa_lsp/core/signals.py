"""Signals and verdicts, read only from an agent's final message.

A signal counts only when it stands alone on its own line (quoted instructions or prose that
mention a signal do not). For reviewers, the last verdict line wins and no verdict counts
as changes requested. Verdict lines are ours (`VERDICT: APPROVED`, `VERDICT: CHANGES_REQUESTED`)
and the original oompa's (`VERDICT: NEEDS_CHANGES`, `VERDICT: REJECTED`, and a line that is
just `APPROVED` or `NEEDS_CHANGES`, markdown emphasis allowed). The issues are the list items
(`1.`, `1)`, `-`, `*`) after the verdict line, or before it when none follow.

Must not import: anything outside the standard library, msgspec and oompa_lsp.core.
"""

from __future__ import annotations

import re
from typing import Literal

from msgspec import Struct

from .review_notes import LineComment

COMPLETE = "COMPLETE_AND_READY_FOR_MERGE"
NEEDS_FOLLOWUP = "NEEDS_FOLLOWUP"
DONE = "__DONE__"
_CLAIM = re.compile(r"^CLAIM\(\s*([^)]*)\)$")
_FOLLOWUP = re.compile(rf"^{NEEDS_FOLLOWUP}(?:\s*:\s*(.*))?$")
_VERDICT = re.compile(r"^(?:VERDICT:\s*(APPROVED|CHANGES_REQUESTED|NEEDS_CHANGES|REJECTED)|(APPROVED|NEEDS_CHANGES))$")
_EMPHASIS = "*_`#> \t"
_LIST_ITEM = re.compile(r"^\s*(?:\d+[.)]|[-*])\s+\S")

SignalKind = Literal["complete", "followup", "claim", "done", "none"]


class Signal(Struct, frozen=True):
    kind: SignalKind
    reason: str = ""
    claims: tuple[str, ...] = ()


class Verdict(Struct, frozen=True):
    approved: bool
    issues: tuple[str, ...] = ()
    text: str = ""
    comments: tuple[LineComment, ...] = ()  # a human's, each with its place and the lines' text


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
        word = verdict_word(line)
        if word is not None:
            last = (index, word)
    if last is None:
        return Verdict(False, ("the reviewer gave no VERDICT line; treat the review as changes requested",), message)
    index, word = last
    issues = _issues(lines[index + 1 :]) or _issues(lines[:index])
    return Verdict(word == "APPROVED", issues, message)


def verdict_word(line: str) -> str | None:
    """APPROVED or CHANGES_REQUESTED when the line is a verdict (in our words or the original's)."""
    match = _VERDICT.match(line.strip().strip(_EMPHASIS).strip())
    if match is None:
        return None
    word = match.group(1) or match.group(2)
    return "APPROVED" if word == "APPROVED" else "CHANGES_REQUESTED"


def _issues(lines: list[str]) -> tuple[str, ...]:
    """List items, each with the indented lines that continue it."""
    items: list[str] = []
    for line in lines:
        if _LIST_ITEM.match(line):
            items.append(line.strip())
        elif items and line.startswith((" ", "\t")) and line.strip():
            items[-1] += " " + line.strip()
        elif line.strip() and items:
            break
    return tuple(items)
