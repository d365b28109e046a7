"""`oompa report`: a run's events turned into one self-contained HTML file (and a PNG of its
timeline). The pure part is core/timeline.py and core/run_tables.py; this package draws
(plot.py, with matplotlib), lays out the page (page.py) and writes the files (this module).

Importing this package imports matplotlib: the CLI and the language server import it only
when a report is asked for.
May import: core, adapters.run_log, matplotlib. Must not import: lsp, engine, cli.
"""

from __future__ import annotations

from pathlib import Path

from msgspec import Struct

from oompa_lsp.adapters.atomic_files import write_atomic
from oompa_lsp.adapters.run_log import RunLog, list_runs
from oompa_lsp.core.errors import RunNotFound
from oompa_lsp.core.run_tables import RunReport, build_report

from .page import report_html
from .plot import timeline_png

REPORT_FILE = "report.html"


class ReportFiles(Struct):
    run_id: str
    html_path: str
    png_path: str | None = None


def find_run(oompa_dir: Path, run: str | None) -> RunLog:
    """The run named by `run` (a run id, or a prefix only one id has), else the latest run."""
    runs = list_runs(oompa_dir)
    if not runs:
        raise RunNotFound("no swarm has run in this repository yet: nothing to report")
    if not run:
        return RunLog.open(oompa_dir, runs[-1])
    matches = [r for r in runs if r.startswith(run)]
    if len(matches) != 1:
        known = ", ".join(runs[-5:])
        what = "no run" if not matches else f"{len(matches)} runs"
        raise RunNotFound(f"{what} match {run!r} (latest runs: {known})")
    return RunLog.open(oompa_dir, matches[0])


def load_report(run_log: RunLog) -> RunReport:
    return build_report(run_log.read_all())


def write_report(
    oompa_dir: Path, run: str | None = None, out: Path | None = None, png: Path | bool = False
) -> ReportFiles:
    """Writes the report of `run` (default: the latest) to `out` (default: the run's folder),
    and its timeline as an image to `png` (True: beside the HTML file, with .png for .html)."""
    run_log = find_run(oompa_dir, run)
    report = load_report(run_log)
    html_path = Path(out) if out else run_log.run_dir / REPORT_FILE
    write_atomic(html_path, report_html(report).encode("utf-8"))
    png_path = html_path.with_suffix(".png") if png is True else (Path(png) if png else None)
    if png_path is not None:
        write_atomic(png_path, timeline_png(report.timeline))
    return ReportFiles(run_log.run_id, str(html_path), str(png_path) if png_path else None)


def report_page(oompa_dir: Path, run: str | None = None) -> tuple[ReportFiles, str]:
    """The report's HTML, also written to the run's folder: what an editor shows in a webview."""
    run_log = find_run(oompa_dir, run)
    html = report_html(load_report(run_log))
    path = run_log.run_dir / REPORT_FILE
    write_atomic(path, html.encode("utf-8"))
    return ReportFiles(run_log.run_id, str(path)), html
