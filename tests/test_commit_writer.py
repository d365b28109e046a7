"""Merge commits written without a process are the very objects `git commit-tree` writes,
and git writes them itself wherever the repository asks for more than the plain case."""

from __future__ import annotations

import os
import subprocess
import time
from pathlib import Path

import pytest

from oompa_lsp.adapters.git import Repo
from oompa_lsp.adapters.git.commit_writer import CommitWriter
from oompa_lsp.adapters.git.command import read_config

from test_git import branch_with, git, isolated_git, root  # noqa: F401 (fixtures: a repository, no outside config)

pytestmark = pytest.mark.timeout(60)

MESSAGES = ("Merge oompa/alpha/1 (task alpha: write alpha.txt)", "ends with a newline\n",
            "two\n\nparagraphs", "naïve ünïcode — ✓", "")


@pytest.fixture
def local_time(monkeypatch: pytest.MonkeyPatch):
    """Run in the given time zone (half-hour offsets west and east of UTC are the telling ones)."""
    def use(zone: str) -> None:
        monkeypatch.setenv("TZ", zone)
        time.tzset()
    yield use
    monkeypatch.undo()
    time.tzset()


def commit_tree(root: Path, tree: str, parents: list[str], message: str, when: int) -> str:
    argv = ["git", "commit-tree", tree, *(f"-p{parent}" for parent in parents), "-m", message]
    env_date = f"@{when}"
    done = subprocess.run(argv, cwd=root, capture_output=True, check=True,
                          env={**os.environ, "GIT_AUTHOR_DATE": env_date, "GIT_COMMITTER_DATE": env_date})
    return done.stdout.decode().strip()


@pytest.mark.parametrize("zone", ["Asia/Kolkata", "America/St_Johns", "UTC"])
def test_the_written_commit_is_the_object_commit_tree_writes(root: Path, local_time, zone: str) -> None:
    local_time(zone)
    writer = CommitWriter.for_repository(root, read_config(root))
    assert writer is not None
    tree, head = git(root, "rev-parse", "HEAD^{tree}"), git(root, "rev-parse", "HEAD")
    side = branch_with(root, "side", "b.txt", "b\n")
    when = 1_700_000_000
    for message in MESSAGES:
        for parents in ([head], [head, side]):
            written = writer.write(tree, parents, message, now=when)
            assert written == commit_tree(root, tree, parents, message, when)
            assert git(root, "cat-file", "-t", written) == "commit"
    git(root, "fsck", "--strict", "--no-dangling")


def test_merges_through_the_repo_are_written_in_process_with_the_users_identity(root: Path) -> None:
    repo = Repo.discover(root)
    side = branch_with(root, "side", "b.txt", "b\n")
    merged = repo.merge_trees("main", side, "Merge side")
    assert merged.status == "merged"
    assert git(root, "log", "-1", "--format=%an <%ae>|%cn <%ce>|%P|%s", merged.commit) == \
        f"Test User <test@example.com>|Test User <test@example.com>|{git(root, 'rev-parse', 'main')} {side}|Merge side"
    assert abs(int(git(root, "log", "-1", "--format=%ct", merged.commit)) - time.time()) < 60
    assert git(root, "show", f"{merged.commit}:b.txt") == "b"
    assert list((root / ".git" / "objects").rglob("tmp_obj_*")) == []


def test_the_same_commit_written_twice_is_one_object_made_fresh_again(root: Path) -> None:
    writer = CommitWriter.for_repository(root, read_config(root))
    tree, head = git(root, "rev-parse", "HEAD^{tree}"), git(root, "rev-parse", "HEAD")
    first = writer.write(tree, [head], "again", now=1_700_000_000)
    stored = root / ".git" / "objects" / first[:2] / first[2:]
    os.utime(stored, (1_000_000_000, 1_000_000_000))
    assert writer.write(tree, [head], "again", now=1_700_000_000) == first
    assert stored.stat().st_mtime > time.time() - 60


@pytest.mark.parametrize("setting", [("commit.gpgSign", "true"), ("core.sharedRepository", "group"),
                                     ("i18n.commitEncoding", "ISO-8859-1"), ("core.fsync", "loose-object"),
                                     ("extensions.compatObjectFormat", "sha256")])
def test_settings_that_ask_more_of_a_commit_leave_it_to_git(root: Path, setting: tuple[str, str]) -> None:
    git(root, "config", *setting)
    assert CommitWriter.for_repository(root, read_config(root)) is None


def test_dates_from_the_environment_leave_the_commit_to_git(root: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("GIT_COMMITTER_DATE", "@1700000000 +0000")
    assert CommitWriter.for_repository(root, read_config(root)) is None
    side = branch_with(root, "side", "b.txt", "b\n")
    merged = Repo.discover(root).merge_trees("main", side, "Merge side")
    assert git(root, "log", "-1", "--format=%ct", merged.commit) == "1700000000"


def test_sha256_repositories_leave_the_commit_to_git(tmp_path: Path) -> None:
    root = tmp_path / "sha256"
    git(tmp_path, "init", "-q", "--object-format=sha256", "-b", "main", str(root))
    assert CommitWriter.for_repository(root, read_config(root)) is None


def test_without_an_identity_git_writes_the_commit_with_the_fallback_author(root: Path) -> None:
    side = branch_with(root, "side", "b.txt", "b\n")
    git(root, "config", "--unset", "user.name")
    git(root, "config", "--unset", "user.email")
    assert CommitWriter.for_repository(root, read_config(root)) is None
    merged = Repo.discover(root).merge_trees("main", side, "Merge side")
    assert git(root, "log", "-1", "--format=%an <%ae>", merged.commit) == "oompa <oompa@localhost>"
