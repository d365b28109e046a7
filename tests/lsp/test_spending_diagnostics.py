"""The budget and usage limits as the editor shows them: spec.md's first-line Warnings and the
swarm lens's summary (pure functions of the Snapshot)."""

from datetime import datetime
from zoneinfo import ZoneInfo

from lsprotocol import types as lsp

from oompa_lsp.core import events as ev
from oompa_lsp.core.snapshot import fold
from oompa_lsp.core.spec import link_tasks, parse_spec
from oompa_lsp.core.tasks import Usage
from oompa_lsp.lsp.diagnostics import spec_diagnostics

SPEC = "# Spec\n- [ ] Login page\n"
LA = ZoneInfo("America/Los_Angeles")


def snapshot_with_budget(spent: float):
    return fold([
        ev.SwarmStarted(run_id="r1", repo="/repo", target="main", pid=42,
                        workers=[ev.WorkerInfo("w1", "claude:sonnet", "worker")]),
        ev.BudgetSet(usd=1.0),
        ev.AgentFinished(worker="w1", role="worker", task_id="login",
                         usage=Usage(input_tokens=1000, output_tokens=100, cost_usd=spent)),
    ])


def spending(snapshot):
    document = parse_spec(SPEC)
    links = link_tasks(document, [])
    return [d for d in spec_diagnostics(snapshot, document, links) if d.code == "spending"]


def test_the_budget_warns_on_spec_md_at_80_percent_and_the_lens_shows_it():
    assert spending(snapshot_with_budget(0.79)) == []
    snapshot = snapshot_with_budget(0.84)
    (warning,) = spending(snapshot)
    assert warning.severity == lsp.DiagnosticSeverity.Warning and warning.range.start.line == 0
    assert warning.message == "budget $0.84 of $1.00 (84%): the run stops at 100%"
    assert "budget $0.84 of $1.00 (84%)" in snapshot.summary_line()
    assert snapshot.tasks["login"].usage.cost_usd == 0.84 and snapshot.workers["w1"].usage.cost_usd == 0.84


def test_a_usage_limit_is_said_in_the_editor_with_its_reset_and_the_wait():
    snapshot = snapshot_with_budget(0.1)
    resets = datetime(2026, 7, 5, 0, 50, tzinfo=LA).timestamp()
    snapshot.apply(ev.UsageLimitHit(harness="claude", message="You've hit your session limit", resets_at=resets))
    now = resets - (2 * 3600 + 13 * 60)
    assert "claude: usage limit, resumes" in snapshot.summary_line(now)
    assert "(in 2 h 13 min)" in snapshot.summary_line(now)
    (warning,) = spending(snapshot)
    assert warning.message.startswith("claude: usage limit, resumes")
    snapshot.apply(ev.UsageLimitLifted(harness="claude"))
    assert spending(snapshot) == [] and "usage limit" not in snapshot.summary_line()


def test_models_without_a_price_are_named_where_the_budget_is_shown():
    snapshot = snapshot_with_budget(0.2)
    snapshot.apply(ev.AgentFinished(worker="w1", role="reviewer", usage=Usage(10, 10, unpriced=["codex:gpt-9"])))
    (warning,) = spending(snapshot)
    assert "cost unknown for codex:gpt-9" in warning.message and '"prices"' in warning.message
