"""`oompa report` on a real run of `oompa demo`: the timeline's lanes and landings from the
events, the tables, and the HTML file opened offline in headless Chromium (DOM and screenshot)."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import pytest
from matplotlib import image
from system_tools import chromium

from oompa_lsp.adapters.run_log import RunLog
from oompa_lsp.core import events as ev
from oompa_lsp.core.run_tables import build_report
from oompa_lsp.report.plot import PHASE_COLORS


def oompa(*args: str, timeout: float = 120) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "oompa_lsp.cli", *args], capture_output=True, text=True,
                          timeout=timeout)


@pytest.fixture(scope="module")
def demo_run(tmp_path_factory) -> tuple[Path, list[ev.Event]]:
    """The demo, run for real once (three workers, a review asking for changes, a conflict)."""
    where = tmp_path_factory.mktemp("demo")
    done = oompa("demo", "--dir", str(where))
    assert done.returncode == 0, done.stdout + done.stderr
    repo = where / "calc"
    return repo, RunLog.open_latest(repo / ".oompa").read_all()


@pytest.fixture(scope="module")
def report_file(demo_run, tmp_path_factory) -> Path:
    repo, _ = demo_run
    out = tmp_path_factory.mktemp("report") / "run.html"
    done = oompa("-C", str(repo), "report", "-o", str(out), "--png")
    assert done.returncode == 0, done.stderr
    assert f"{out}" in done.stdout and str(out.with_suffix(".png")) in done.stdout
    return out


def landed(events: list[ev.Event]) -> list[str]:
    return [e.task_id for e in events if isinstance(e, ev.MergeLanded)]


def test_the_timeline_has_a_lane_per_worker_and_every_landing(demo_run):
    _, events = demo_run
    report = build_report(events)
    timeline = report.timeline
    assert [lane.worker for lane in timeline.lanes] == ["w1", "w2", "w3"]
    kinds = {p.kind for lane in timeline.lanes for p in lane.phases}
    # the demo goes through every phase a worker can be in with a model reviewer
    assert {"turn", "checks", "review", "queue_wait", "resolving"} <= kinds
    assert [landing.task_id for landing in timeline.landings] == landed(events)
    assert len(timeline.landings) == 4
    for lane in timeline.lanes:
        for phase in lane.phases:
            assert timeline.started_at <= phase.start <= phase.end <= timeline.ended_at


def test_the_tables_tell_each_tasks_story(demo_run):
    _, events = demo_run
    report = build_report(events)
    tasks = {t.id: t for t in report.tasks}
    assert set(tasks) == {"add-subtract", "add-multiply", "add-divide", "write-readme"}
    divide = tasks["add-divide"]
    assert [r.approved for r in divide.reviews] == [False, True]
    assert [r.round for r in divide.reviews] == [1, 2]
    assert "ZeroDivisionError" in divide.reviews[0].feedback
    assert sum(t.conflicts for t in tasks.values()) == 1
    assert all(t.state == "complete" and t.wall_s > 0 and t.attempts == 1 for t in tasks.values())
    assert all(any(c.stage == "merged" and c.ok for c in t.checks) for t in tasks.values())
    assert report.totals.turns == sum(1 for e in events if isinstance(e, ev.AgentFinished))
    assert report.totals.landings == 4 and report.totals.changes_requested == 1
    workers = {w.id: w for w in report.workers}
    assert set(workers) == {"w1", "w2", "w3"}
    assert all(0 < w.busy_share <= 1 and w.turns >= 1 for w in workers.values())
    assert report.reviewers is not None and report.reviewers.turns == report.totals.reviews


def test_the_report_is_one_file_that_needs_nothing_else(report_file):
    html = report_file.read_text(encoding="utf-8")
    assert "<svg" in html and "<script" not in html and "<link" not in html
    # nothing fetched: the only URLs are the SVG namespace declarations
    urls = set(re.findall(r"""(?:src|href)=["']([^"']+)""", html))
    assert not {u for u in urls if not u.startswith("#")}, urls
    assert report_file.with_suffix(".png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


@pytest.mark.timeout(900)  # on a fresh machine, chromium() may first install it with apt
def test_chromium_shows_a_lane_per_worker_and_a_mark_per_landing(report_file, demo_run, tmp_path):
    _, events = demo_run
    browser = chromium()
    flags = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage", "--no-first-run",
             "--disable-background-networking", f"--user-data-dir={tmp_path / 'profile'}"]
    url = report_file.as_uri()
    dom = subprocess.run([browser, *flags, "--dump-dom", url], capture_output=True, text=True, timeout=120).stdout
    lanes = re.findall(r'<g id="lane-([\w-]+?)">', dom)
    assert lanes == ["w1", "w2", "w3", "merge-queue"]
    assert re.findall(r'<g id="landing-([\w-]+)">', dom) == landed(events)
    assert [row for row in re.findall(r'<tr data-worker="([^"]+)"', dom)] == ["w1", "w2", "w3", "reviewers"]

    shot = tmp_path / "report.png"
    subprocess.run([browser, *flags, "--window-size=1300,1400", f"--screenshot={shot}", url],
                   capture_output=True, timeout=120, check=True)
    pixels = image.imread(str(shot))[:, :, :3]
    assert pixels.shape[0] >= 1000 and pixels.shape[1] >= 1200
    for kind in ("turn", "checks", "review", "queue_wait", "resolving", "landing"):
        assert _has_colour(pixels, PHASE_COLORS[kind]), f"no {kind} bar on the screenshot"


def _has_colour(pixels, hex_colour: str, tolerance: float = 6 / 255) -> bool:
    rgb = [int(hex_colour[i : i + 2], 16) / 255 for i in (1, 3, 5)]
    close = (abs(pixels - rgb) <= tolerance).all(axis=2)
    return int(close.sum()) >= 50  # a bar, not a stray antialiased pixel


def test_report_names_a_run_it_does_not_know(demo_run):
    repo, _ = demo_run
    done = oompa("-C", str(repo), "report", "nope")
    assert done.returncode == 2 and "no run match 'nope'" in done.stderr


def test_report_where_no_swarm_ran(tmp_path):
    subprocess.run(["git", "init", "-q", str(tmp_path)], check=True)
    subprocess.run(["git", "-C", str(tmp_path), "-c", "user.name=t", "-c", "user.email=t@example.invalid",
                    "commit", "-q", "--allow-empty", "-m", "initial"], check=True)
    done = oompa("-C", str(tmp_path), "report")
    assert done.returncode == 2 and "no swarm has run in this repository yet" in done.stderr
