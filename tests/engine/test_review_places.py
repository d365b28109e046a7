"""Line comments checked against a real review's diff: each gets the text of its lines from
the side it names (the merge base for removed lines, a renamed file's old path there), and a
place the change has not is refused naming it."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest

from oompa_lsp.adapters.git import Repo
from oompa_lsp.core.errors import EngineRequestError
from oompa_lsp.core.review_notes import LineComment
from oompa_lsp.engine.review_places import check_comments


def _git(repo: Path, *args: str) -> str:
    return subprocess.run(["git", "-c", "user.name=t", "-c", "user.email=t@t", *args], cwd=repo, check=True,
                          capture_output=True, text=True).stdout.strip()


@pytest.fixture
def review(tmp_path: Path):
    """A base commit and a head that edits app.py (removes `old()`) and renames lib/a.py to lib/b.py."""
    _git(tmp_path, "init", "-q", "-b", "main")
    (tmp_path / "lib").mkdir()
    (tmp_path / "app.py").write_text("def old():\n    pass\n\n\ndef keep():\n    return 1\n")
    (tmp_path / "lib" / "a.py").write_text("".join(f"row {n}\n" for n in range(1, 12)))
    _git(tmp_path, "add", "-A")
    _git(tmp_path, "commit", "-qm", "base")
    base = _git(tmp_path, "rev-parse", "HEAD")
    (tmp_path / "app.py").write_text("def keep():\n    return 2\n")
    _git(tmp_path, "mv", "lib/a.py", "lib/b.py")
    (tmp_path / "lib" / "b.py").write_text("".join(f"row {n}\n" for n in range(1, 12)).replace("row 1\n", "row 0\nrow 1\n"))
    _git(tmp_path, "add", "-A")
    _git(tmp_path, "commit", "-qm", "head")
    repo = Repo.discover(tmp_path)
    yield repo, base, _git(tmp_path, "rev-parse", "HEAD")
    repo.close()


def test_each_comment_gets_its_lines_text_from_the_side_it_names(review):
    repo, base, head = review
    checked = check_comments(repo, base, head, [
        LineComment("app.py", "head", 2, 2, "why 2?"),
        LineComment("app.py", "base", 1, 2, "who called old()?"),
        LineComment("lib/b.py", "base", 3, 3, "at the base this was row 3"),
        LineComment("lib/a.py", "head", 1, 2, "named by the old path"),
    ])
    assert [(c.path, c.side, c.lines) for c in checked] == [
        ("app.py", "head", ("    return 2",)),
        ("app.py", "base", ("def old():", "    pass")),
        ("lib/b.py", "base", ("row 3",)),  # the renamed file's base content, read at its old path
        ("lib/b.py", "head", ("row 0", "row 1")),  # filed under the new path
    ]


@pytest.mark.parametrize(("comment", "problem"), [
    (LineComment("app.py", "base", 7, 7, "x"), "app.py has 6 lines on the base side, the comment names line 7"),
    (LineComment("README.md", "head", 1, 1, "x"), "'README.md' is not a file this review changes"),
])
def test_a_place_the_change_has_not_is_refused_naming_it(review, comment, problem):
    repo, base, head = review
    with pytest.raises(EngineRequestError, match=problem):
        check_comments(repo, base, head, [LineComment("app.py", "head", 1, 1, "fine"), comment])
