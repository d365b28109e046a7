"""Lenses, diagnostics and hovers rendered from a Snapshot (pure functions of lsp/)."""

from lsprotocol import types as lsp

from oompa_lsp.console import status_table
from oompa_lsp.core import events as ev
from oompa_lsp.core.snapshot import fold
from oompa_lsp.core.spec import link_tasks, parse_spec
from oompa_lsp.core.tasks import Attempt, Task
from oompa_lsp.lsp.diagnostics import spec_diagnostics, task_file_diagnostics
from oompa_lsp.lsp.hover import item_hover
from oompa_lsp.lsp.lenses import spec_lenses, task_file_lenses

SPEC = """# Spec
- [ ] Login page
- [ ] Logout button
- [ ] Password reset
- [x] Done by hand
"""


def running_snapshot():
    return fold([
        ev.SwarmStarted(run_id="r1", repo="/repo", target="main", pid=42, review_mode="human",
                        workers=[ev.WorkerInfo("w1", "fake:a", "worker"), ev.WorkerInfo("w2", "fake:b", "worker")]),
        ev.TaskSeen(task_id="login", state="pending", summary="Add the login page", spec="Login page"),
        ev.TaskSeen(task_id="logout", state="pending", summary="Add logout", spec="logout button"),
        ev.TaskClaimed(task_id="login", worker="w1", attempt=1, branch="oompa/w1/login"),
        ev.WorkerStateChanged(worker="w1", state="working", task_id="login"),
        ev.ReviewRequested(review_id="rv1", task_id="login", worker="w1", branch="oompa/w1/login",
                           base="b" * 40, head="h" * 40, mode="human", round=2),
    ])


def titles(lenses):
    return [(lens.range.start.line, lens.command.title, lens.command.command, lens.command.arguments) for lens in lenses]


def test_spec_lenses_show_summary_with_stop_and_each_linked_item_with_actions():
    snapshot = running_snapshot()
    document = parse_spec(SPEC)
    shown = titles(spec_lenses(snapshot, document, link_tasks(document, [(t.id, t.spec) for t in snapshot.tasks.values()]),
                               viewer=False))
    assert shown[0] == (0, "oompa: running · 2 workers · 1 pending · 1 running · 1 in review · 0 merged", "", None)
    assert shown[1] == (0, "■ Stop swarm", "oompa.stopSwarm", None)
    on_login = [s for s in shown if s[0] == 1]
    assert on_login[0][1] == "◐ login: awaiting your review · w1 · round 2"
    assert [(s[1], s[2], s[3]) for s in on_login[1:]] == [
        ("Open Diff", "oompa.openDiff", ["rv1"]), ("Approve", "oompa.approve", ["rv1"]),
        ("Reject", "oompa.reject", ["rv1"])]
    assert [s[1] for s in shown if s[0] == 2] == ["○ logout: pending"]
    assert not [s for s in shown if s[0] in (3, 4)]


def test_a_stopped_swarm_offers_start():
    snapshot = running_snapshot()
    snapshot.apply(ev.SwarmStopped(ok=False, reason="stopped by user"))
    document = parse_spec(SPEC)
    shown = titles(spec_lenses(snapshot, document, link_tasks(document, []), viewer=False))
    assert shown[0][1].startswith("oompa: stopped · ")
    assert shown[0][1].endswith("stopped by user")
    assert shown[1][1:3] == ("▶ Start swarm", "oompa.startSwarm")


def test_a_merged_task_offers_to_tick_its_unticked_item():
    snapshot = running_snapshot()
    snapshot.apply(ev.ReviewVerdictGiven(review_id="rv1", task_id="login", reviewer="human", approved=True))
    snapshot.apply(ev.TaskCompleted(task_id="login", commit="c0ffee1234"))
    document = parse_spec(SPEC)
    links = link_tasks(document, [(t.id, t.spec) for t in snapshot.tasks.values()])
    shown = [s for s in titles(spec_lenses(snapshot, document, links, viewer=False)) if s[0] == 1]
    assert [s[1] for s in shown] == ["✓ login: merged c0ffee12", "Tick item"]
    assert shown[1][2:] == ("oompa.tickItem", ["login"])


def test_task_file_lens_shows_state_and_review_actions():
    shown = titles(task_file_lenses(running_snapshot(), "login", "current", running=True))
    assert shown[0][1] == "oompa: awaiting your review · w1 · round 2 · attempt 1"
    assert [s[1] for s in shown[1:]] == ["Open Diff", "Approve", "Reject"]


def test_task_file_in_current_without_a_running_swarm_offers_requeue():
    snapshot = fold([ev.TaskSeen(task_id="x", state="pending", summary="s")])
    shown = titles(task_file_lenses(snapshot, "x", "current", running=False))
    assert [s[1] for s in shown[1:]] == ["Requeue"]


def test_bad_task_file_gets_errors_with_exact_ranges():
    text = '{\n  "id": "login",\n  "summary": "Add login",\n  "priority": "high"\n}\n'
    found = task_file_diagnostics(text, "login", "pending", fold([]), running=False)
    assert len(found) == 1
    assert found[0].severity == lsp.DiagnosticSeverity.Error
    assert "Expected `int`, got `str`" in found[0].message
    assert (found[0].range.start.line, found[0].range.start.character, found[0].range.end.character) == (3, 14, 20)


def test_a_field_oompa_does_not_use_is_a_hint_at_its_key_not_an_error():
    text = '{"id": "a", "summary": "s", "colour": 1, "acceptence": ["works"]}'
    colour, typo = task_file_diagnostics(text, "a", "pending", fold([]), running=False)
    assert colour.severity == typo.severity == lsp.DiagnosticSeverity.Hint
    assert colour.message == "`colour`: not a field oompa uses; kept as is"
    assert text[colour.range.start.character:colour.range.end.character] == '"colour"'
    assert typo.message.endswith("did you mean `acceptance`?)")


def test_an_id_that_differs_from_the_file_name_is_a_warning_saying_the_name_wins():
    text = '{"id": "other", "summary": "s"}'
    (found,) = task_file_diagnostics(text, "login", "pending", fold([]), running=False)
    assert found.severity == lsp.DiagnosticSeverity.Warning
    assert found.message == "id 'other' differs from the file name login.json: the file name wins, this task is login"
    assert text[found.range.start.character:found.range.end.character] == '"other"'


def test_syntax_error_is_pointed_at():
    text = '{"id": "a",\n "summary": "s",,\n}'
    (found,) = task_file_diagnostics(text, "a", "pending", fold([]), running=False)
    assert found.range.start.line == 1
    assert found.severity == lsp.DiagnosticSeverity.Error


def test_stale_claim_and_failed_task_are_warnings():
    claimed = '{"id": "a", "summary": "s", "claimed_by": "w3"}'
    (stale,) = task_file_diagnostics(claimed, "a", "current", fold([]), running=False)
    assert stale.severity == lsp.DiagnosticSeverity.Warning
    assert stale.message.startswith("claimed by w3 but no swarm is running")
    failed = '{"id": "a", "summary": "s", "failure": "checks failed three times"}'
    (warning,) = task_file_diagnostics(failed, "a", "failed", fold([]), running=False)
    assert warning.message == "task failed: checks failed three times (Requeue to try again)"


def test_spec_items_get_live_status_or_a_hint_when_no_task_implements_them():
    snapshot = running_snapshot()
    document = parse_spec(SPEC)
    found = spec_diagnostics(snapshot, document, link_tasks(document, [(t.id, t.spec) for t in snapshot.tasks.values()]))
    by_line = {d.range.start.line: (d.severity, d.message) for d in found}
    assert by_line[1] == (lsp.DiagnosticSeverity.Information, "login: awaiting your review · w1 · round 2")
    assert by_line[2] == (lsp.DiagnosticSeverity.Information, "logout: pending")
    assert by_line[3] == (lsp.DiagnosticSeverity.Hint, "no task implements this item yet")
    assert 4 not in by_line  # ticked by hand: nothing to say


def test_a_paused_merge_queue_is_a_warning_with_its_reason_until_it_resumes():
    snapshot = running_snapshot()
    document = parse_spec(SPEC)
    links = link_tasks(document, [(t.id, t.spec) for t in snapshot.tasks.values()])
    snapshot.apply(ev.MergePaused(reason="your uncommitted change to app.py is in the way"))
    paused = [d for d in spec_diagnostics(snapshot, document, links) if d.code == "merge-paused"]
    assert len(paused) == 1 and paused[0].severity == lsp.DiagnosticSeverity.Warning
    assert "app.py" in paused[0].message and paused[0].range.start.line == 0
    snapshot.apply(ev.MergeResumed())
    assert not [d for d in spec_diagnostics(snapshot, document, links) if d.code == "merge-paused"]


def test_hover_shows_attempts_and_last_feedback():
    snapshot = running_snapshot()
    snapshot.apply(ev.ReviewVerdictGiven(review_id="rv1", task_id="login", reviewer="human", approved=False,
                                         feedback="1. The form has no CSRF token."))
    item = parse_spec(SPEC).items[0]
    task = Task(id="login", summary="Add the login page", acceptance=["a form posts to /login"],
                attempts=[Attempt(worker="w1", branch="oompa/w1/login", started_at="t", verdicts=["changes requested"],
                                  outcome="rejected")])
    text = item_hover(snapshot, item, ["login"], {"login": task})
    assert "### `login` — running · w1 · round 3" in text
    assert "1. w1 on `oompa/w1/login` — rejected, verdicts: changes requested" in text
    assert "> 1. The form has no CSRF token." in text
    assert "- a form posts to /login" in text


def test_commits_that_reached_the_target_outside_the_queue_are_a_warning_on_spec_md_and_in_status():
    snapshot = running_snapshot()
    document = parse_spec(SPEC)
    links = link_tasks(document, [(t.id, t.spec) for t in snapshot.tasks.values()])
    snapshot.apply(ev.TargetMovedOutsideQueue(old="a" * 40, new="b" * 40, commits=["bbbbbbbbbb agent: merged"],
                                              worker="w1", task_id="login", checkout="moved"))
    (warning,) = [d for d in spec_diagnostics(snapshot, document, links) if d.code == "outside-queue"]
    assert warning.severity == lsp.DiagnosticSeverity.Warning and warning.range.start.line == 0
    assert "unreviewed, unchecked" in warning.message and "w1 (task login)" in warning.message
    assert "WARNING: 1 unreviewed, unchecked commit(s) reached the target" in status_table(snapshot)


def test_a_pending_task_says_why_it_waits_on_its_spec_item():
    snapshot = running_snapshot()
    snapshot.apply(ev.TaskHeldBack(task_id="logout", reason="behind login on src/auth/"))
    document = parse_spec(SPEC)
    links = link_tasks(document, [(t.id, t.spec) for t in snapshot.tasks.values()])
    assert [s[1] for s in titles(spec_lenses(snapshot, document, links, viewer=False)) if s[0] == 2] == [
        "○ logout: pending · behind login on src/auth/"]
    by_line = {d.range.start.line: d.message for d in spec_diagnostics(snapshot, document, links)}
    assert by_line[2] == "logout: pending · behind login on src/auth/"
    snapshot.apply(ev.TaskHeldBack(task_id="logout", reason=""))
    assert [s[1] for s in titles(spec_lenses(snapshot, document, links, viewer=False)) if s[0] == 2] == [
        "○ logout: pending"]


def test_a_task_in_the_merge_train_shows_its_place_and_check_state():
    snapshot = running_snapshot()
    for event in (ev.ReviewVerdictGiven(review_id="rv1", task_id="login", reviewer="you", approved=True),
                  ev.MergeQueued(task_id="logout-first", branch="b1", head="h1", worker="w2"),
                  ev.MergeQueued(task_id="login", branch="b2", head="h2", worker="w1"),
                  ev.MergeTrainUpdated(task_id="login", state="checking")):
        snapshot.apply(event)
    document = parse_spec(SPEC)
    links = link_tasks(document, [(t.id, t.spec) for t in snapshot.tasks.values()])
    assert [s[1] for s in titles(spec_lenses(snapshot, document, links, viewer=False)) if s[0] == 1][0] == (
        "● login: merge train #2 · checking · w1")
    assert titles(task_file_lenses(snapshot, "login", "current", running=True))[0][1].startswith(
        "oompa: merge train #2 · checking · w1")
