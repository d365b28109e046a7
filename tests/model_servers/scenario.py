"""What the scripted "model" says, turn by turn, whatever API it is spoken through.

A scenario is a list of rules. Each request a CLI sends is read into a `Conversation` (the
user's texts, how many replies the model already gave in it, the tool results it got back,
the working directory the CLI announced). The first rule whose `when` matches picks the reply:
`replies[n]`, where n is the number of replies of this server already in the conversation's
history (placeholders a CLI puts there itself do not count). So a step is chosen by what the
request *carries*: a resumed session that lost its history would get the first reply again,
and the test would see it.

Replies: `Say` (text, ends the turn), `WriteFile`, `EditFile` and `RunShell` (the CLI's own
file-writing, file-editing or shell tool, translated by each server into that CLI's tool), `UseTool` (any tool by its
CLI-specific name), `Fail` (an HTTP error), `Stall` (no answer at all). `Attempts(a, b, ...)`
answers the k-th request at the same step with the k-th item (the last one repeats): a 429
followed by a real reply, for example. `Decide(fn)` lets the request choose: a reviewer that
requests changes while the diff still says "draft" and approves once it does not.

Must not import: the engine. Standard library only.
"""

from __future__ import annotations

import os
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, Union


@dataclass
class Conversation:
    """One request, as the scenario sees it."""

    api: str                                   # "anthropic" | "openai-responses" | "gemini"
    model: str
    user_texts: list[str]                      # every user message's text, oldest first
    replies_so_far: int                        # model replies already in the history
    tool_results: list[str] = field(default_factory=list)
    tool_names: list[str] = field(default_factory=list)  # the tools the CLI offered
    cwd: str = ""                              # the working directory the CLI announced
    system: str = ""

    @property
    def text(self) -> str:
        """All the user said, for matching rules."""
        return "\n".join(self.user_texts)

    def mentions(self, *needles: str) -> bool:
        return all(n in self.text for n in needles)


@dataclass(frozen=True)
class Say:
    text: str


@dataclass(frozen=True)
class WriteFile:
    path: str        # relative paths are taken from the CLI's working directory
    content: str


@dataclass(frozen=True)
class EditFile:
    path: str
    old_line: str    # one whole line of the file, replaced by new_line
    new_line: str


@dataclass(frozen=True)
class RunShell:
    command: str


@dataclass(frozen=True)
class UseTool:
    name: str
    input: dict[str, Any]


@dataclass(frozen=True)
class Fail:
    status: int
    message: str = ""
    retry_after_s: float | None = None


@dataclass(frozen=True)
class Stall:
    seconds: float = 3600.0   # released early when the server stops


Reply = Union[Say, WriteFile, EditFile, RunShell, UseTool, Fail, Stall]


@dataclass(frozen=True)
class Attempts:
    items: tuple[Reply, ...]

    def __init__(self, *items: Reply) -> None:
        object.__setattr__(self, "items", tuple(items))


@dataclass(frozen=True)
class Decide:
    choose: Callable[[Conversation], Reply]


Step = Union[Reply, Attempts, Decide]
Matcher = Union[str, tuple[str, ...], Callable[[Conversation], bool]]


@dataclass
class Rule:
    when: Matcher
    replies: list[Step]
    name: str = ""

    def matches(self, conversation: Conversation) -> bool:
        if callable(self.when):
            return bool(self.when(conversation))
        needles = (self.when,) if isinstance(self.when, str) else self.when
        return conversation.mentions(*needles)


# Side requests that are not the agent's turn (titles, topic checks) and requests no rule
# claims get this, so a scenario only has to script the conversations it is about.
DEFAULT_REPLY = Say("OK")


class Scenario:
    """The rules, and how often each step has been asked (for `Attempts`)."""

    def __init__(self, *rules: Rule, fallback: Reply = DEFAULT_REPLY) -> None:
        self.rules = list(rules)
        self.fallback = fallback
        self._asked: dict[tuple[int, int], int] = {}
        self._lock = threading.Lock()

    def reply_to(self, conversation: Conversation) -> tuple[Reply, str]:
        """The reply, and which rule and step gave it (for the request record)."""
        if not conversation.tool_names:
            # An agent's turn always offers tools; a request without any is the CLI's own side
            # question (opencode asks for a title, quoting the whole prompt).
            return self.fallback, "side request"
        for index, rule in enumerate(self.rules):
            if rule.matches(conversation):
                return self._step(index, rule, conversation)
        return self.fallback, "fallback"

    def _step(self, index: int, rule: Rule, conversation: Conversation) -> tuple[Reply, str]:
        step = conversation.replies_so_far
        label = f"{rule.name or f'rule {index}'} step {step}"
        if step >= len(rule.replies):
            return Say(f"(the scenario has no step {step} for {rule.name or f'rule {index}'})"), label
        chosen = rule.replies[step]
        if isinstance(chosen, Attempts):
            with self._lock:
                asked = self._asked.get((index, step), 0)
                self._asked[(index, step)] = asked + 1
            return chosen.items[min(asked, len(chosen.items) - 1)], f"{label} attempt {asked + 1}"
        if isinstance(chosen, Decide):
            return chosen.choose(conversation), label
        return chosen, label


def absolute(path: str, cwd: str) -> str:
    return path if os.path.isabs(path) or not cwd else os.path.join(cwd, path)
