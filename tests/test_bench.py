"""The benchmark command of the README runs end to end and reports what it promises.

Speed is not asserted here (figures on a shared machine are for `bench/`, as ratios); what is
checked is that `python -m bench --quick` runs every suite against the real engine and git,
prints the table and writes the JSON: a median with min and max for every figure, a paired
ratio with its target for each comparison of issue 6 and of the editor's latency (issue 18).
"""

from __future__ import annotations

import json
import re
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent

pytestmark = pytest.mark.timeout(600)


def test_the_quick_suite_prints_the_table_and_writes_the_figures(tmp_path: Path) -> None:
    results = tmp_path / "results"
    done = subprocess.run([sys.executable, "-m", "bench", "--quick", "--workdir", str(tmp_path), "--results", str(results)],
                          cwd=ROOT, capture_output=True, text=True, timeout=560)
    assert done.returncode == 0, done.stderr[-3000:]
    assert re.search(r"^pt +figure", done.stdout, re.MULTILINE) and "raw values in" in done.stdout

    [written] = results.glob("*-quick.json")
    report = json.loads(written.read_text(encoding="utf-8"))
    assert report["mode"] == "quick" and report["machine"]["cores"] >= 1
    figures = report["figures"]
    assert {f["point"] for f in figures} >= {"2", "3", "4", "5", "17", "18.5"}
    for figure in figures:
        assert figure["min"] <= figure["median"] <= figure["max"] and figure["values"]
    judged = {f["name"]: f for f in figures if f["target"]}
    assert judged["overhead: swarm / baseline"]["target"] == "<= 2"  # a guard against regressions
    assert any(name.startswith("queue (checked out)") and f["target"] == "<= 4" for name, f in judged.items())
    assert judged["double claims"]["values"] == [0] * len(judged["double claims"]["values"])
    assert judged["double claims"]["met"] is True
    assert any(name.startswith("reuse / fastest fresh add") for name in judged)
    conflicts = next(f for name, f in judged.items() if name.startswith("merge conflicts (8 tasks on one declared file"))
    assert conflicts["target"] == "= 0"
    assert judged["declared apart / undeclared"]["target"] == "<= 1.2"
    assert judged["train / serial floor"]["target"] == "<= 0.4"  # the merge train against checking in series
    assert any(name.startswith("one at a time (parallel_checks: 1)") for name in (f["name"] for f in figures))
    # the language server's latency on a 2,000-item spec.md (issue 18, point 5)
    assert judged["codeLens on spec.md / baseline p50"]["target"] == "<= 10"
    assert judged["codeLens on spec.md p95 / baseline p50"]["target"] == "<= 20"
    assert judged["codeLens while the swarm runs / idle, p50"]["target"] == "<= 2"
    assert judged["codeLens while the swarm runs / idle, p95"]["target"] == "<= 2"
    assert list(tmp_path.glob("oompa-bench-*")) == []  # its throwaway repositories are gone
