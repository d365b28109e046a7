"""Which declared paths overlap: the rules scheduling keeps tasks apart by."""

from __future__ import annotations

import pytest

from oompa_lsp.core.paths import blocking_task, overlaps
from oompa_lsp.core.tasks import Task, claim_order, waiting_reason

pytestmark = pytest.mark.timeout(30)


@pytest.mark.parametrize(
    ("a", "b"),
    [
        ("src/app.py", "src/app.py"),  # the same file
        ("./src//app.py", "src/app.py"),  # the same file, written differently
        ("src/auth/", "src/auth/login.py"),  # a folder and a file under it
        ("src/auth", "src/auth/deep/token.py"),  # a folder named without its slash
        ("src/**/*.py", "src/auth/login.py"),  # a glob across folders
        ("src/*.py", "src/app.py"),
        ("src/*", "src/auth/login.py"),  # the glob matches the folder holding the file
        ("**", "README.md"),
        ("src/**", "src/auth/"),
        ("src/*.py", "src/a*.py"),  # two globs that can match the same name
        ("docs/[ab].md", "docs/a.md"),
    ],
)
def test_overlapping_names(a, b):
    assert overlaps(a, b) and overlaps(b, a)


@pytest.mark.parametrize(
    ("a", "b"),
    [
        ("src/app.py", "src/apps.py"),
        ("src/auth/", "src/authz/login.py"),  # a prefix of a name is not a folder
        ("src/*.py", "src/auth/login.py"),  # `*` stays within one segment
        ("src/*.py", "src/*.md"),  # fixed ends that disagree
        ("tests/**", "src/app.py"),
        ("docs/[ab].md", "docs/c.md"),
        ("", "src/app.py"),  # an empty name declares nothing
    ],
)
def test_names_that_do_not_overlap(a, b):
    assert not overlaps(a, b) and not overlaps(b, a)


def test_the_blocking_task_and_the_path_it_holds_are_named():
    in_flight = {"other-task": {"src/auth/"}, "docs-task": {"docs/guide.md"}}
    assert blocking_task(["src/auth/login.py"], in_flight) == ("other-task", "src/auth/")
    assert blocking_task(["README.md"], in_flight) is None
    assert blocking_task([], {"all": {"**"}}) is None  # a task declaring nothing is never held back


def test_claim_order_keeps_overlapping_tasks_back_and_says_why():
    pending = [
        Task(id="login", summary="s", files=["src/auth/login.py"]),
        Task(id="readme", summary="s", target_files=["README.md"]),
        Task(id="free", summary="s"),
        Task(id="later", summary="s", depends_on=["readme"]),
    ]
    in_flight = {"auth-refactor": {"src/auth/"}}
    assert [t.id for t in claim_order(pending, set(), in_flight)] == ["free", "readme"]
    assert waiting_reason(pending[0], set(), in_flight) == "behind auth-refactor on src/auth/"
    assert waiting_reason(pending[3], set(), in_flight) == "waits for readme"
    assert waiting_reason(pending[2], set(), in_flight) == ""
