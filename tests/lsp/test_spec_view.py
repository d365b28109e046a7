"""spec.md kept item by item (lsp/spec_view.py): what the editor is sent after events and edits
is what a rendering from scratch would send, and an event changes only its task's item."""

from __future__ import annotations

from pygls.workspace import TextDocument

from oompa_lsp.core import events as ev
from oompa_lsp.core.snapshot import Snapshot
from oompa_lsp.core.spec import link_tasks, parse_spec
from oompa_lsp.lsp.diagnostics import in_client_units, spec_diagnostics
from oompa_lsp.lsp.lenses import spec_lenses
from oompa_lsp.lsp.spec_view import SpecView, tasks_named
from oompa_lsp.lsp.wire import converter

ITEMS = 40
SPEC = "# Big\n\n" + "".join(f"- [ ] Item {n} does thing {n}\n" for n in range(ITEMS)) + "- [ ] Naïve café 😀 item\n"
UNSTRUCTURE = converter().unstructure


def seen(task_id: str, spec: str | None, state: str = "pending") -> ev.TaskSeen:
    return ev.TaskSeen(task_id=task_id, state=state, summary=task_id, spec=spec)


def started() -> ev.SwarmStarted:
    return ev.SwarmStarted(run_id="r1", repo="/r", target="main", pid=1, review_mode="human",
                           workers=[ev.WorkerInfo("w1", "fake:a", "worker")])


class Editor:
    """A spec.md buffer, the snapshot, and the view, told of every event as the server does."""

    def __init__(self) -> None:
        self.snapshot = Snapshot()
        self.version = 1
        self.document = TextDocument("file:///r/spec.md", SPEC, version=1)
        self.view = SpecView(self.document, UNSTRUCTURE)
        for n in range(ITEMS):
            self.apply(seen(f"t{n}", f"Item {n} does thing {n}"))
        self.apply(seen("emoji", "naive-cafe"))  # a prefix that is too short: unlinked

    def apply(self, event: ev.Event) -> None:
        self.snapshot.apply(event)
        if isinstance(event, ev.TaskSeen):
            self.view.relink(event.task_id)
        named = tasks_named(event, self.snapshot)
        if named:
            self.view.tasks_changed(named)

    def edit(self, text: str) -> None:
        self.version += 1
        self.document = TextDocument(self.document.uri, text, version=self.version)
        self.view = SpecView(self.document, UNSTRUCTURE, previous=self.view)

    def shown(self) -> tuple[list, list]:
        header = [UNSTRUCTURE({"fixed": "header"})]
        return self.view.lenses(self.snapshot, header)[1:], list(self.view.diagnostics(self.snapshot))

    def from_scratch(self) -> tuple[list, list]:
        parsed = parse_spec(self.document.source)
        links = link_tasks(parsed, ((t.id, t.spec) for t in self.snapshot.tasks.values()))
        lenses = spec_lenses(self.snapshot, parsed, links, viewer=False)[2:]  # without the swarm's two
        diagnostics = in_client_units(self.document, spec_diagnostics(self.snapshot, parsed, links))
        return [UNSTRUCTURE(x) for x in lenses], [UNSTRUCTURE(x) for x in diagnostics]


def lens_lines(lenses: list) -> dict[int, list[str]]:
    out: dict[int, list[str]] = {}
    for lens in lenses:
        out.setdefault(lens["range"]["start"]["line"], []).append(lens["command"]["title"])
    return out


def test_an_event_changes_only_the_lens_of_its_tasks_item():
    editor = Editor()
    before, _ = editor.shown()
    editor.apply(started())
    editor.apply(ev.TaskClaimed(task_id="t7", worker="w1", attempt=1, branch="oompa/w1/t7"))
    after, _ = editor.shown()
    changed = {line for line in lens_lines(before).keys() | lens_lines(after).keys()
               if lens_lines(before).get(line) != lens_lines(after).get(line)}
    assert changed == {2 + 7}
    assert lens_lines(after)[9] == ["● t7: running · w1", "Cancel"]
    assert (after, editor.shown()[1]) == editor.from_scratch()


def test_what_is_kept_equals_a_rendering_from_scratch_through_events_and_edits():
    editor = Editor()
    steps = [
        lambda: editor.apply(started()),
        lambda: editor.apply(ev.TaskClaimed(task_id="t1", worker="w1", attempt=1, branch="b")),
        lambda: editor.apply(ev.ReviewRequested(review_id="rv1", task_id="t1", worker="w1", branch="b",
                                                base="a" * 40, head="b" * 40, mode="human", round=1)),
        lambda: editor.apply(seen("t3", "Item 5 does thing 5")),  # t3 now implements item 5 too
        lambda: editor.apply(seen("late", "Item 5 does thing 5")),  # a new task on the same item
        lambda: editor.edit(SPEC.replace("- [ ] Item 20 does thing 20\n", "")),  # an item deleted
        lambda: editor.apply(ev.ReviewVerdictGiven(review_id="rv1", task_id="t1", approved=False, reviewer="human",
                                                   feedback="more tests")),
        lambda: editor.edit("# Top\n" + SPEC.replace("Item 9 does", "Item nine does")),  # shifted, one unlinked
        lambda: editor.apply(ev.TaskClaimed(task_id="t4", worker="w1", attempt=1, branch="b4")),
        lambda: editor.apply(ev.TaskClaimed(task_id="t5", worker="w1", attempt=1, branch="b5")),
        lambda: editor.apply(ev.MergeQueued(task_id="t4", branch="b4", head="h4")),
        lambda: editor.apply(ev.MergeQueued(task_id="t5", branch="b5", head="h5")),  # second in the train
        lambda: editor.apply(ev.MergeTrainUpdated(task_id="t5", state="checking")),
        lambda: editor.apply(ev.MergeLanded(task_id="t4", commit="d" * 40, previous="a" * 40, target="main")),  # t5 moves up
        lambda: editor.apply(ev.TaskCompleted(task_id="t2", commit="c" * 40)),
        lambda: editor.apply(ev.MergePaused(reason="your checkout has changes")),
        lambda: editor.apply(ev.SwarmStopped(ok=True, reason="done")),  # claimed tasks: Requeue now
        lambda: editor.edit(editor.document.source + "- [ ] Item 9 does thing 9\n"),  # t9 linked again
    ]
    for step in steps:
        step()
        assert editor.shown() == editor.from_scratch()


def test_an_edit_renders_again_only_what_it_changed():
    editor = Editor()
    editor.shown()
    earlier = editor.view
    editor.edit(SPEC.replace("Item 3 does thing 3", "Item three does thing 3"))
    lenses, _ = editor.shown()
    assert editor.view.parsed.items[4].text == "Item 4 does thing 4"
    assert editor.view._item_lenses[4] is earlier._item_lenses[4]  # taken over, not rendered again
    assert lens_lines(lenses).get(5) is None  # item 3 no longer names t3's spec: no lens
    assert (lenses, editor.shown()[1]) == editor.from_scratch()
