"""The run report as one self-contained HTML page: totals, the timeline (inline SVG, so it
opens offline), per-task and per-worker tables. No script, no external file.

Colours follow the viewer: VS Code's webview theme variables when shown there, the system's
light or dark scheme in a browser.
May import: core, report.plot. Must not import: lsp, engine, adapters.
"""

from __future__ import annotations

import time
from html import escape

from oompa_lsp.core.costs import describe_usage
from oompa_lsp.core.run_tables import RunReport, TaskRow, WorkerRow
from oompa_lsp.core.tasks import Usage

from .plot import timeline_svg

_STYLE = """
:root { color-scheme: light dark; --ink: var(--vscode-editor-foreground, #222);
  --paper: var(--vscode-editor-background, #fff); --muted: var(--vscode-descriptionForeground, #666);
  --rule: var(--vscode-panel-border, #ddd); }
@media (prefers-color-scheme: dark) { :root { --ink: var(--vscode-editor-foreground, #ddd);
  --paper: var(--vscode-editor-background, #1e1e1e); --muted: var(--vscode-descriptionForeground, #999);
  --rule: var(--vscode-panel-border, #444); } }
body { background: var(--paper); color: var(--ink); font: 14px/1.45 var(--vscode-font-family, system-ui, sans-serif);
  margin: 1.5em auto; max-width: 1200px; padding: 0 1em; }
h1 { font-size: 1.4em; margin-bottom: .2em; } h2 { font-size: 1.1em; margin-top: 1.6em; }
.muted { color: var(--muted); } .failed { color: #e15759; } .ok { color: #59a14f; }
table { border-collapse: collapse; width: 100%; } th, td { text-align: left; padding: .3em .6em;
  border-bottom: 1px solid var(--rule); vertical-align: top; } th { font-weight: 600; }
td.num, th.num { text-align: right; font-variant-numeric: tabular-nums; }
.totals { display: flex; flex-wrap: wrap; gap: .4em 2em; margin: .8em 0; } .totals b { font-size: 1.2em; }
#timeline svg { width: 100%; height: auto; } details { margin: .2em 0; } summary { cursor: pointer; }
"""


def report_html(report: RunReport) -> str:
    t = report.timeline
    title = f"oompa run {t.run_id}" if t.run_id else "oompa run"
    outcome = "finished" if t.ok else ("stopped" if t.ok is False else "running")
    started = time.strftime("%Y-%m-%d %H:%M:%S", time.localtime(t.started_at)) if t.started_at else "?"
    return "\n".join(
        [
            "<!DOCTYPE html>",
            '<html lang="en"><head><meta charset="utf-8">',
            '<meta name="viewport" content="width=device-width, initial-scale=1">',
            f"<title>{escape(title)}</title><style>{_STYLE}</style></head><body>",
            f"<h1>{escape(title)}</h1>",
            f'<p class="muted">on {escape(t.target or "?")}, started {started}: {outcome}'
            + (f" ({escape(t.reason)})" if t.reason else "")
            + "</p>",
            _totals(report),
            '<h2>Timeline</h2><div id="timeline">',
            timeline_svg(t),
            "</div>",
            "<h2>Tasks</h2>",
            _task_table(report.tasks),
            "<h2>Workers</h2>",
            _worker_table(report),
            "</body></html>",
        ]
    )


def _totals(report: RunReport) -> str:
    totals = report.totals
    states = ", ".join(f"{n} {state}" for state, n in sorted(totals.tasks_by_state.items())) or "none"
    items = [
        ("wall time", duration_text(totals.wall_s)),
        ("tasks", states),
        ("landings", str(totals.landings)),
        ("agent turns", str(totals.turns)),
        ("reviews", f"{totals.reviews} ({totals.changes_requested} asked for changes)"),
        ("conflicts", str(totals.conflicts)),
        ("cost", usage_text(totals.usage)),
    ]
    if totals.budget:
        items.append(("budget", totals.budget))
    items += [("usage limit", line) for line in totals.usage_limits]
    cells = "".join(f'<div><span class="muted">{name}</span><br><b>{escape(v)}</b></div>' for name, v in items)
    return f'<div class="totals" id="totals">{cells}</div>'


def _task_table(tasks: list[TaskRow]) -> str:
    head = (
        "<tr><th>task</th><th>state</th><th class=num>attempts</th><th>reviews</th>"
        "<th class=num>conflicts</th><th>checks</th><th class=num>wall time</th><th>cost</th></tr>"
    )
    return f'<table id="tasks">{head}{"".join(_task_row(t) for t in tasks)}</table>'


def _task_row(task: TaskRow) -> str:
    state = f'<span class="{"failed" if task.state == "failed" else ""}">{escape(task.state)}</span>'
    reason = f'<br><span class="muted">{escape(task.reason.splitlines()[0])}</span>' if task.reason else ""
    return (
        f'<tr data-task="{escape(task.id)}"><td><b>{escape(task.id)}</b><br>'
        f'<span class="muted">{escape(task.summary)}</span></td><td>{state}{reason}</td>'
        f"<td class=num>{task.attempts}</td><td>{_reviews(task)}</td><td class=num>{task.conflicts}</td>"
        f"<td>{_checks(task)}</td><td class=num>{duration_text(task.wall_s)}</td>"
        f"<td>{escape(usage_text(task.usage))}</td></tr>"
    )


def _reviews(task: TaskRow) -> str:
    if not task.reviews:
        return '<span class="muted">none</span>'
    parts = []
    for review in task.reviews:
        verdict = '<span class="ok">approved</span>' if review.approved else '<span class="failed">changes</span>'
        line = f"round {review.round}: {verdict} <span class=muted>by {escape(review.reviewer)}</span>"
        if review.feedback:
            line = f"<details><summary>{line}</summary><pre>{escape(review.feedback)}</pre></details>"
        parts.append(line)
    return "<br>".join(parts)


def _checks(task: TaskRow) -> str:
    if not task.checks:
        return '<span class="muted">none</span>'
    return ", ".join(
        f'<span class="{"ok" if c.ok else "failed"}">{escape(c.stage)} {"passed" if c.ok else "failed"}</span>'
        f" <span class=muted>{duration_text(c.duration_s)}</span>"
        for c in task.checks
    )


def _worker_table(report: RunReport) -> str:
    head = "<tr><th>worker</th><th>model</th><th class=num>busy</th><th class=num>turns</th><th>cost</th></tr>"
    rows = [_worker_row(w, report.totals.wall_s) for w in report.workers]
    if report.reviewers is not None:
        rows.append(_worker_row(report.reviewers, report.totals.wall_s))
    return f'<table id="workers">{head}{"".join(rows)}</table>'


def _worker_row(worker: WorkerRow, wall_s: float) -> str:
    share = worker.busy_s / wall_s if wall_s else 0.0
    return (
        f'<tr data-worker="{escape(worker.id)}"><td>{escape(worker.id)}</td><td>{escape(worker.model)}</td>'
        f"<td class=num>{share:.0%} <span class=muted>({duration_text(worker.busy_s)})</span></td>"
        f"<td class=num>{worker.turns}</td><td>{escape(usage_text(worker.usage))}</td></tr>"
    )


def duration_text(seconds: float) -> str:
    if seconds < 60:
        return f"{seconds:.1f} s"
    minutes, secs = divmod(int(seconds), 60)
    if minutes < 60:
        return f"{minutes} min {secs:02d} s"
    return f"{minutes // 60} h {minutes % 60:02d} min"


def usage_text(usage: Usage) -> str:
    if not usage.tokens and usage.cost_usd is None and not usage.unpriced:
        return "cost unknown"
    return describe_usage(usage)
