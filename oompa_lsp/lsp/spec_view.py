"""spec.md's code lenses and diagnostics, kept item by item and redone only where something
changed.

A `SpecView` belongs to one version of one spec.md buffer. It parses the text once, links the
snapshot's tasks to its items once and renders each item's lenses and diagnostic once, in wire
form (`wire.Prebuilt`, what pygls would have made of the lsprotocol objects). After that, only
what an event touched is rendered again:

- an event naming a task (`tasks_changed`): the item that task is linked to;
- a task seen again, whose `spec` may have changed (`relink`): that task is linked again, and
  moved to its new item in the place a fresh link would give it (the snapshot's order);
- the swarm starting or stopping to run: the items of claimed tasks (their actions change);
- the snapshot replaced by another object (the session changed mode), or
  `everything_changed`: all items.

A new version of the buffer gets a new view, which takes over the renderings of the items
that did not change (same item on the same line, same tasks), and the lines and `spec` texts
already parsed: typing in one item renders that item again, not the other 1,999.

Must not import: oompa_lsp.engine, oompa_lsp.adapters, oompa_lsp.cli.
"""

from __future__ import annotations

from bisect import insort
from collections.abc import Callable, Iterable
from typing import Any

from lsprotocol import types as lsp
from msgspec.structs import astuple
from pygls.workspace import TextDocument
from pygls.workspace.position_codec import ServerTextPosition, ServerTextRange

from oompa_lsp.core import events as ev
from oompa_lsp.core.snapshot import ReviewView, Snapshot
from oompa_lsp.core.spec import KnownLines, SpecDocument, SpecLinker, SpecLinks, link_tasks, parse_spec

from .diagnostics import item_diagnostic, spec_header_diagnostics
from .labels import reviews_by_task, train_of
from .lenses import item_lenses, shows_running
from .wire import Prebuilt

Unstructure = Callable[[Any], Any]


class SpecView:
    """The lenses and diagnostics of one version of a spec.md buffer."""

    def __init__(self, document: TextDocument, unstructure: Unstructure, previous: SpecView | None = None) -> None:
        self.version = document.version
        # what earlier versions parsed and reduced, reused (kept from growing without end)
        lines, references = (previous._lines, previous._references) if previous else ({}, {})
        self._lines: KnownLines = lines if len(lines) < 4 * document.source.count("\n") + 100 else {}
        self._references: dict[str, str] = references if len(references) < 10_000 else {}
        self.parsed: SpecDocument = parse_spec(document.source, self._lines)
        self.revision = 0  # counts changes of the diagnostics, so an unchanged set is not sent again
        self._document = document
        self._ascii = document.source.isascii()
        self._unstructure = unstructure
        self._linker = SpecLinker(self.parsed, self._references)
        self._links: SpecLinks | None = None
        self._snapshot: Snapshot | None = None  # the snapshot the links and renderings are of
        self._running = False
        self._relink: dict[str, None] = {}  # tasks to link again, in the order they were seen
        self._order: dict[str, int] = {}  # each task's place in the snapshot
        count = len(self.parsed.items)
        self._dirty: set[int] = set(range(count))
        self._item_lenses: list[list[Any]] = [[] for _ in range(count)]
        self._item_diagnostics: list[Any] = [None] * count
        self._item_inputs: list[Any] = [None] * count  # what each item was rendered from
        self._lenses: list[Any] | None = None  # every item's lenses, in wire form
        self._diagnostics: Prebuilt | None = None
        self._header: list[Any] = []
        self._previous = previous  # whose renderings of unchanged items this view takes over

    # -- what changed -----------------------------------------------------------------------

    def tasks_changed(self, task_ids: Iterable[str]) -> None:
        """Events changed these tasks (state, worker, review): their items are rendered again."""
        if self._previous is not None:
            self._previous.tasks_changed(task_ids)  # nothing taken over may be stale
        if self._links is None:
            return
        for task_id in task_ids:
            index = self._links.item_of_task.get(task_id)
            if index is not None:
                self._dirty.add(index)

    def relink(self, task_id: str) -> None:
        """A task was seen again: its `spec` may name another item now."""
        if self._previous is not None:
            self._previous.relink(task_id)
        if self._links is not None:
            self._relink[task_id] = None

    def everything_changed(self) -> None:
        if self._previous is not None:
            self._previous.everything_changed()
        self._links = None
        self._dirty = set(range(len(self.parsed.items)))

    # -- what is shown ----------------------------------------------------------------------

    def links(self, snapshot: Snapshot) -> SpecLinks:
        """Which tasks implement which items, for `snapshot`."""
        if self._links is None or snapshot is not self._snapshot:
            self._link(snapshot)
        elif self._relink:
            self._link_again(snapshot)
        assert self._links is not None
        return self._links

    def lenses(self, snapshot: Snapshot, header: list[Any]) -> Prebuilt:
        """The lenses of spec.md: `header` (the swarm's, in wire form), then every item's."""
        self._render(snapshot)
        if self._lenses is None:
            links = self.links(snapshot)
            self._lenses = [lens for index in sorted(links.by_item) for lens in self._item_lenses[index]]
        return Prebuilt(header + self._lenses)

    def diagnostics(self, snapshot: Snapshot) -> Prebuilt:
        self._render(snapshot)
        header = [self._unstructure(d) for d in spec_header_diagnostics(snapshot)]
        if header != self._header:
            self._header, self._diagnostics = header, None
            self.revision += 1
        if self._diagnostics is None:
            self._diagnostics = Prebuilt(header + [d for d in self._item_diagnostics if d is not None])
        return self._diagnostics

    # -- rendering --------------------------------------------------------------------------

    def _link(self, snapshot: Snapshot) -> None:
        tasks = snapshot.tasks.values()
        self._links = link_tasks(self.parsed, ((t.id, t.spec) for t in tasks), self._linker)
        self._order = {task_id: place for place, task_id in enumerate(snapshot.tasks)}
        self._snapshot, self._relink, self._lenses = snapshot, {}, None
        self._dirty = set(range(len(self.parsed.items)))

    def _link_again(self, snapshot: Snapshot) -> None:
        """Link the tasks seen since to the items their `spec` names now."""
        assert self._links is not None
        links, seen, self._relink = self._links, list(self._relink), {}
        if len(self._order) != len(snapshot.tasks):  # tasks were added (never removed)
            self._order = {task_id: place for place, task_id in enumerate(snapshot.tasks)}
        for task_id in seen:
            task = snapshot.tasks.get(task_id)
            old, new = links.item_of_task.get(task_id), self._linker.item_for(task.spec if task else None)
            if old == new:
                continue
            if old is not None:
                links.by_item[old].remove(task_id)
                if not links.by_item[old]:
                    del links.by_item[old]
                del links.item_of_task[task_id]
                self._dirty.add(old)
            if task_id in links.unmatched:
                links.unmatched.remove(task_id)
            if new is not None:
                insort(links.by_item.setdefault(new, []), task_id, key=self._order.__getitem__)
                links.item_of_task[task_id] = new
                self._dirty.add(new)
            elif task is not None and task.spec:
                links.unmatched.append(task_id)
            self._lenses = None

    def _render(self, snapshot: Snapshot) -> None:
        links = self.links(snapshot)
        running = snapshot.state == "running"
        if running != self._running:
            self._running = running
            self._dirty |= {i for t, i in links.item_of_task.items() if shows_running(snapshot.tasks[t])}
        self._take_over(links, snapshot)
        if not self._dirty:
            return
        reviews = reviews_by_task(snapshot)
        changed = False
        for index in self._dirty:
            item, task_ids = self.parsed.items[index], links.by_item.get(index, [])
            inputs = _inputs_of(snapshot, task_ids, reviews, running)
            if inputs == self._item_inputs[index]:
                continue  # e.g. a task seen again as it was: nothing to render
            self._item_inputs[index] = inputs
            self._item_lenses[index] = [
                self._unstructure(lens) for lens in item_lenses(snapshot, item, task_ids, reviews, running=running)
            ]
            found = item_diagnostic(snapshot, item, task_ids, reviews)
            wire = None if found is None else self._unstructure(self._in_client_units(found))
            if wire != self._item_diagnostics[index]:
                self._item_diagnostics[index], changed = wire, True
        self._dirty.clear()
        self._lenses = None
        if changed:
            self._diagnostics = None
            self.revision += 1

    def _take_over(self, links: SpecLinks, snapshot: Snapshot) -> None:
        """Once, on the first rendering: the previous version's renderings of items that are
        the same item with the same tasks, rendered against the same snapshot."""
        previous, self._previous = self._previous, None
        if previous is None or previous._links is None:
            return
        if previous._snapshot is not snapshot or previous._running != self._running:
            return
        if previous._relink:
            previous._link_again(snapshot)  # what it would render again is not taken over
        before = previous.parsed.items
        for index in list(self._dirty):
            if (
                index < len(before)
                and index not in previous._dirty
                and before[index] == self.parsed.items[index]
                and previous._links.by_item.get(index) == links.by_item.get(index)
            ):
                self._item_lenses[index] = previous._item_lenses[index]
                self._item_diagnostics[index] = previous._item_diagnostics[index]
                self._item_inputs[index] = previous._item_inputs[index]
                self._dirty.discard(index)

    def _in_client_units(self, diagnostic: lsp.Diagnostic) -> lsp.Diagnostic:
        """Diagnostics are computed in code points; the client may count otherwise."""
        if not self._ascii:
            start, end = diagnostic.range.start, diagnostic.range.end
            diagnostic.range = self._document.range_to_client_units(
                ServerTextRange(
                    ServerTextPosition(start.line, start.character), ServerTextPosition(end.line, end.character)
                )
            )
        return diagnostic


_TRAIN_EVENTS = (
    ev.MergeQueued,
    ev.MergeTrainUpdated,
    ev.MergeLanded,
    ev.MergeConflicted,
    ev.TaskReturned,
    ev.TaskFailed,
)


def tasks_named(event: ev.Event, snapshot: Snapshot) -> tuple[str, ...]:
    """The tasks whose items an event (already applied to `snapshot`) may change: the one it
    names, and, when a request joins, moves in or leaves the merge train, every request in it
    (their places move)."""
    task_id = getattr(event, "task_id", None)
    if not isinstance(task_id, str):
        return ()
    if isinstance(event, _TRAIN_EVENTS):
        return (task_id, *(q.task_id for q in snapshot.queue))
    return (task_id,)


def _inputs_of(snapshot: Snapshot, task_ids: list[str], reviews: dict[str, ReviewView], running: bool) -> Any:
    """Everything an item's lenses and diagnostic are rendered from, besides the item itself."""
    tasks = snapshot.tasks
    return running, tuple(
        (
            task_id,
            astuple(tasks[task_id]) if task_id in tasks else None,
            astuple(reviews[task_id]) if task_id in reviews else None,
            astuple(train) if (train := train_of(snapshot, task_id)) is not None else None,
        )
        for task_id in task_ids
    )
