"""spec.md: its checklist items (with line ranges) and how tasks link to them.

`spec.md` is the user's document; this module only reads it. An item is a Markdown task-list
line (`- [ ] text`, `* [x] text`, `1. [ ] text`) outside fenced code blocks, with the
indented lines that continue it.

How a task's `spec` field names an item (lenient, first rule that matches wins):

1. **Explicit id.** An item may end with `{#some-id}`; a task whose `spec` is `some-id`
   (or `#some-id`, or `spec.md#some-id`) links to it.
2. **Same text.** Otherwise the item's *key* is the slug of its text (lower case, runs of
   anything but letters and digits become `-`, Markdown emphasis and code marks dropped), and
   a task links when the slug of its `spec` equals it. So `"Add a /login page"`,
   `"add a login page"` and `"- [ ] Add a **/login** page"` all name the item
   `- [ ] Add a /login page` written with the path in backticks.
3. **Unique prefix.** Otherwise, if the slug of the task's `spec` (at least 8 characters) is
   a prefix of exactly one item's key, it links to that item (agents often shorten a long item).

A task links to at most one item; one item may be implemented by several tasks.

Must not import: anything outside the standard library, msgspec and oompa_lsp.core.
"""

from __future__ import annotations

import bisect
import re
from collections.abc import Iterable

from msgspec import Struct
from msgspec.structs import replace

_ITEM = re.compile(r"^(?P<indent>[ \t]*)(?P<bullet>[-*+]|\d{1,9}[.)])[ \t]+\[(?P<mark>[ xX])\](?:[ \t]+(?P<text>.*))?$")
_FENCE = re.compile(r"^[ \t]{0,3}(?P<fence>`{3,}|~{3,})")
_HEADING = re.compile(r"^[ \t]{0,3}(#{1,6})[ \t]+(?P<text>.*?)[ \t#]*$")
_ANCHOR = re.compile(r"[ \t]*\{#(?P<id>[^}\s]+)\}[ \t]*$")
_CHECKBOX_PREFIX = re.compile(r"^\s*(?:[-*+]|\d{1,9}[.)])?\s*\[[ xX]\]\s*")
_NON_ALNUM = re.compile(r"[^0-9a-z]+")
_MARKUP = re.compile(r"[`*_~]")
MIN_PREFIX = 8


class SpecItem(Struct, frozen=True):
    """One checklist item. Lines are 0-based; `end_line` is the last line of the item."""

    index: int
    line: int
    end_line: int
    checked: bool
    text: str  # the item's text without the checkbox and without an explicit `{#id}`
    key: str  # the slug of `text`
    anchor: str | None  # the explicit `{#id}`, if any
    heading: str  # the nearest heading above the item ("" when none)
    box_character: int  # column of the mark inside `[ ]`, for ticking the item
    line_length: int


class SpecDocument(Struct, frozen=True):
    items: list[SpecItem]

    def item_at_line(self, line: int) -> SpecItem | None:
        starts = [item.line for item in self.items]
        at = bisect.bisect_right(starts, line) - 1
        if at >= 0 and self.items[at].line <= line <= self.items[at].end_line:
            return self.items[at]
        return None


def slug(text: str) -> str:
    """The key an item and a task's `spec` are compared by."""
    text = _CHECKBOX_PREFIX.sub("", text)
    text = _MARKUP.sub("", text.lower())
    return _NON_ALNUM.sub("-", text).strip("-")


def spec_reference(spec: str) -> str:
    """A task's `spec` field reduced to what is compared: `spec.md#id` and `#id` become `id`."""
    reference = spec.strip()
    head, sep, tail = reference.rpartition("#")
    if sep and (head == "" or head.lower().endswith(".md")) and tail:
        reference = tail
    return reference


# An item line as parsed before: the item (at whatever place it was) and its bullet's indent.
KnownLines = dict[str, tuple["SpecItem", int]]


def parse_spec(text: str, known: KnownLines | None = None) -> SpecDocument:
    """The items of `text`. `known` (item lines of an earlier version, filled in as lines are
    parsed) spares parsing an item line again: typing in one item leaves the others as they were."""
    known = {} if known is None else known
    items: list[SpecItem] = []
    lines = text.split("\n")
    fence: str | None = None
    heading = ""
    open_item: tuple[int, int] | None = None  # (index in items, indent of its bullet)
    for number, raw in enumerate(lines):
        line = raw.rstrip("\r")
        fence_match = _FENCE.match(line)
        if fence is not None:
            if (
                fence_match
                and fence_match.group("fence")[0] == fence[0]
                and len(fence_match.group("fence")) >= len(fence)
            ):
                fence = None
            _extend(items, open_item, number)
            continue
        if fence_match:
            fence = fence_match.group("fence")
            open_item = _continue(items, open_item, number, line)
            continue
        item = _item_line(line, known)
        if item is not None:
            before, indent = item
            items.append(replace(before, index=len(items), line=number, end_line=number, heading=heading))
            open_item = (len(items) - 1, indent)
            continue
        heading_match = _HEADING.match(line)
        if heading_match:
            heading, open_item = heading_match.group("text"), None
            continue
        open_item = _continue(items, open_item, number, line)
    return SpecDocument(items)


def _item_line(line: str, known: KnownLines) -> tuple[SpecItem, int] | None:
    if line in known:
        return known[line]
    found = _ITEM.match(line)
    if not found:
        return None
    known[line] = _item(0, 0, line, found, ""), len(found.group("indent").expandtabs(4))
    return known[line]


def _item(index: int, number: int, line: str, found: re.Match[str], heading: str) -> SpecItem:
    body = found.group("text") or ""
    anchor_match = _ANCHOR.search(body)
    anchor = anchor_match.group("id") if anchor_match else None
    if anchor_match:
        body = body[: anchor_match.start()]
    return SpecItem(
        index=index,
        line=number,
        end_line=number,
        checked=found.group("mark") != " ",
        text=body.strip(),
        key=slug(body),
        anchor=anchor,
        heading=heading,
        box_character=found.start("mark"),
        line_length=len(line),
    )


def _continue(
    items: list[SpecItem], open_item: tuple[int, int] | None, number: int, line: str
) -> tuple[int, int] | None:
    """A non-item line continues the open item when it is indented deeper than its bullet."""
    if open_item is None or not line.strip():
        return open_item
    indent = len(line) - len(line.lstrip(" \t"))
    if len(line[:indent].expandtabs(4)) <= open_item[1]:
        return None
    _extend(items, open_item, number)
    return open_item


def _extend(items: list[SpecItem], open_item: tuple[int, int] | None, number: int) -> None:
    if open_item is None:
        return
    item = items[open_item[0]]
    items[open_item[0]] = SpecItem(
        item.index,
        item.line,
        number,
        item.checked,
        item.text,
        item.key,
        item.anchor,
        item.heading,
        item.box_character,
        item.line_length,
    )


class SpecLinks(Struct, frozen=True):
    """Which tasks implement which item (by item index), and the tasks that name no item."""

    by_item: dict[int, list[str]]
    item_of_task: dict[str, int]
    unmatched: list[str]


class SpecLinker:
    """Finds the item a task's `spec` names in one parsed document (the rules above), so one
    task can be linked again without linking every task. It remembers each answer: the same
    `spec` text always names the same item of the same document."""

    def __init__(self, document: SpecDocument, references: dict[str, str] | None = None) -> None:
        # `references`: each `spec` text reduced to what is compared, shared across versions
        self._references = {} if references is None else references
        self._by_anchor = {slug(item.anchor): item.index for item in document.items if item.anchor}
        self._by_key: dict[str, int] = {}
        for item in document.items:
            self._by_key.setdefault(item.key, item.index)
        self._sorted_keys = sorted((item.key, item.index) for item in document.items)
        self._known: dict[str, int | None] = {}

    def item_for(self, spec: str | None) -> int | None:
        """The index of the item `spec` names, or None (no spec, or no item matches)."""
        if not spec:
            return None
        if spec not in self._known:
            if spec not in self._references:
                self._references[spec] = slug(spec_reference(spec))
            self._known[spec] = _match(self._references[spec], self._by_anchor, self._by_key, self._sorted_keys)
        return self._known[spec]


def link_tasks(
    document: SpecDocument, tasks: Iterable[tuple[str, str | None]], linker: SpecLinker | None = None
) -> SpecLinks:
    """Link `(task_id, spec)` pairs to items by the rules in the module docstring (`linker`:
    one already made for `document`, whose answers are reused)."""
    linker = linker or SpecLinker(document)
    by_item: dict[int, list[str]] = {}
    item_of_task: dict[str, int] = {}
    unmatched: list[str] = []
    for task_id, spec in tasks:
        if not spec:
            continue
        index = linker.item_for(spec)
        if index is None:
            unmatched.append(task_id)
            continue
        by_item.setdefault(index, []).append(task_id)
        item_of_task[task_id] = index
    return SpecLinks(by_item, item_of_task, unmatched)


def _match(
    reference: str, by_anchor: dict[str, int], by_key: dict[str, int], sorted_keys: list[tuple[str, int]]
) -> int | None:
    if not reference:
        return None
    if reference in by_anchor:
        return by_anchor[reference]
    if reference in by_key:
        return by_key[reference]
    if len(reference) < MIN_PREFIX:
        return None
    start = bisect.bisect_left(sorted_keys, (reference, -1))
    candidates = []
    for key, index in sorted_keys[start : start + 2]:
        if key.startswith(reference):
            candidates.append(index)
    return candidates[0] if len(candidates) == 1 else None
