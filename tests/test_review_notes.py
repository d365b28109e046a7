"""Placing review notes on the lines of a change: the model reviewer's findings and the human's
line comments, on added, removed and moved lines, and across a file renamed in the change."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest

from oompa_lsp.core.diff_lines import parse_diff
from oompa_lsp.core.review_notes import Finding, LineComment, comment_problem, located_feedback, read_findings

BASE_APP = "".join(f"line {n}\n" for n in range(1, 21))
# the change: two lines inserted after line 2, line 10 removed, line 15 replaced
HEAD_APP = BASE_APP.replace("line 2\n", "line 2\nnew a\nnew b\n").replace("line 10\n", "").replace(
    "line 15\n", "line 15 changed\n"
)


def _git(repo: Path, *args: str) -> str:
    return subprocess.run(["git", *args], cwd=repo, check=True, capture_output=True, text=True).stdout


@pytest.fixture(scope="module")
def diff(tmp_path_factory: pytest.TempPathFactory) -> str:
    """A real git diff: app.py edited, old/name.py renamed (and edited), gone.py deleted, fresh.py added."""
    repo = tmp_path_factory.mktemp("repo")
    _git(repo, "init", "-q", "-b", "main")
    (repo / "app.py").write_text(BASE_APP)
    (repo / "old").mkdir()
    (repo / "old" / "name.py").write_text("".join(f"kept {n}\n" for n in range(1, 30)))
    (repo / "gone.py").write_text("bye\nbye again\n")
    _git(repo, "add", "-A")
    _git(repo, "-c", "user.name=t", "-c", "user.email=t@t", "commit", "-qm", "base")
    (repo / "app.py").write_text(HEAD_APP)
    (repo / "new").mkdir()
    renamed = "".join(f"kept {n}\n" for n in range(1, 30)).replace("kept 1\n", "kept 1\ninserted\n")
    (repo / "new" / "name.py").write_text(renamed)
    (repo / "old" / "name.py").unlink()
    (repo / "gone.py").unlink()
    (repo / "fresh.py").write_text("def fresh():\n    return divide(1, 0)\n")
    _git(repo, "add", "-A")
    _git(repo, "-c", "user.name=t", "-c", "user.email=t@t", "commit", "-qm", "head")
    return _git(repo, "diff", "--find-renames", "HEAD~1", "HEAD")


def test_the_diff_reads_added_removed_and_renamed_files(diff: str) -> None:
    files = parse_diff(diff)
    assert {p: f.status for p, f in files.items()} == {"app.py": "M", "new/name.py": "R", "gone.py": "D", "fresh.py": "A"}
    assert files["new/name.py"].old_path == "old/name.py"
    app = files["app.py"]
    assert app.added() == {3: "new a", 4: "new b", 16: "line 15 changed"}
    assert app.removed() == {10: "line 10", 15: "line 15"}


def test_base_lines_move_with_what_the_change_added_or_removed_above_them(diff: str) -> None:
    app = parse_diff(diff)["app.py"]
    assert app.head_line_of(1) == 1  # above every change
    assert app.head_line_of(5) == 7  # two lines inserted above
    assert app.head_line_of(10) is None  # removed
    assert app.head_line_of(12) == 13  # +2 -1 above
    assert app.head_line_of(15) is None  # replaced
    assert app.head_line_of(20) == 21


def test_a_finding_with_a_path_and_line_sits_on_that_line_of_the_worker_s_version(diff: str) -> None:
    (finding,) = read_findings(("1. app.py:16 the changed line drops the unit",), parse_diff(diff))
    assert finding == Finding(1, "app.py:16 the changed line drops the unit", "app.py", "head", 16, 16)


def test_line_ranges_and_prose_forms_of_a_place(diff: str) -> None:
    files = parse_diff(diff)
    found = read_findings(("2) `app.py` lines 3-4 are never read", "- in app.py, line 7: off by one"), files)
    assert [(f.number, f.path, f.start_line, f.end_line) for f in found] == [(2, "app.py", 3, 4), (2, "app.py", 7, 7)]


def test_a_finding_on_the_old_path_of_a_renamed_file_moves_to_the_new_path_and_line(diff: str) -> None:
    (finding,) = read_findings(("1. old/name.py:5 still uses the old helper",), parse_diff(diff))
    assert (finding.path, finding.side, finding.start_line) == ("new/name.py", "head", 6)


def test_a_finding_on_a_deleted_file_sits_on_the_base_side(diff: str) -> None:
    (finding,) = read_findings(("1. gone.py:2 was still imported by the CLI",), parse_diff(diff))
    assert (finding.path, finding.side, finding.start_line) == ("gone.py", "base", 2)


def test_a_line_is_certain_when_the_quoted_code_is_on_one_changed_line(diff: str) -> None:
    files = parse_diff(diff)
    quoted, removed, vague = read_findings(
        ("1. fresh.py: `divide(1, 0)` raises", "2. app.py drops `line 10` which the parser needs", "3. app.py: tidy up"),
        files,
    )
    assert (quoted.path, quoted.side, quoted.start_line) == ("fresh.py", "head", 2)
    assert (removed.path, removed.side, removed.start_line) == ("app.py", "base", 10)
    assert (vague.path, vague.start_line) == ("app.py", None)  # the file, no line: a thread at its top


def test_a_line_is_certain_when_the_change_to_the_file_is_one_line(diff: str) -> None:
    files = parse_diff(diff)
    files["fresh.py"].hunks[0].added.pop(2)  # fresh.py now adds only its first line
    (finding,) = read_findings(("1. fresh.py needs a docstring",), files)
    assert (finding.path, finding.side, finding.start_line) == ("fresh.py", "head", 1)


def test_a_bare_file_name_places_a_finding_when_only_one_changed_file_has_it(diff: str) -> None:
    (finding,) = read_findings(("1. name.py:2 the inserted line is unused",), parse_diff(diff))
    assert (finding.path, finding.start_line) == ("new/name.py", 2)


def test_findings_that_name_no_changed_file_have_no_place(diff: str) -> None:
    found = read_findings(("1. The README is out of date", "2. other.py:3 is not in this change"), parse_diff(diff))
    assert [(f.number, f.path) for f in found] == [(1, None), (2, None)]


@pytest.mark.parametrize(
    ("comment", "count", "problem"),
    [
        (LineComment("app.py", "head", 3, 4, "why?"), 20, None),
        (LineComment("app.py", "base", 10, 10, "keep this"), 20, None),
        (LineComment("nope.py", "head", 1, 1, "x"), 3, "'nope.py' is not a file this review changes"),
        (LineComment("app.py", "head", 5, 3, "x"), 21, "bad line range 5-3 on app.py"),
        (LineComment("app.py", "head", 30, 30, "x"), 21, "app.py has 21 lines on the head side, the comment names line 30"),
        (LineComment("fresh.py", "base", 1, 1, "x"), None, "fresh.py has no base side: the change adds it"),
        (LineComment("app.py", "head", 1, 1, "  "), 21, "the comment on app.py:1 is empty"),
    ],
)
def test_a_comment_s_place_is_checked_against_the_change(diff: str, comment: LineComment, count: int | None,
                                                        problem: str | None) -> None:
    assert comment_problem(comment, parse_diff(diff), count) == problem


def test_the_worker_reads_each_comment_with_its_place_and_the_lines_text() -> None:
    comment = LineComment("app.py", "head", 3, 4, "These are never read.", ("new a", "new b"))
    assert located_feedback(comment) == (
        "- `app.py` lines 3-4 (your version):\n    | new a\n    | new b\n  These are never read."
    )
