"""The git adapter against real repositories in temporary folders (no mocks of git).

Each test builds the situation a user would be in (a checkout with uncommitted work, a target
that moved on, two workers editing the same lines) with plain git commands, then checks what
the adapter did to it.
"""

from __future__ import annotations

import os
import random
import subprocess
from pathlib import Path

import pytest

from oompa_lsp.adapters.git import Repo, default_worktree_root, disk_usage, parsing
from oompa_lsp.core.errors import GitCommandFailed, RepositoryError, TargetMoved

pytestmark = pytest.mark.timeout(60)

APP = "".join(f"line {n}\n" for n in range(1, 11))


def git(cwd: Path, *args: str) -> str:
    done = subprocess.run(["git", *args], cwd=cwd, capture_output=True, text=True, check=True)
    return done.stdout.strip()


def write(path: Path, text: str) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text)
    return path


def commit_file(cwd: Path, name: str, text: str, message: str) -> str:
    write(cwd / name, text)
    git(cwd, "add", name)
    git(cwd, "commit", "-q", "-m", message)
    return git(cwd, "rev-parse", "HEAD")


def edit_line(text: str, number: int, new: str) -> str:
    lines = text.splitlines(keepends=True)
    lines[number - 1] = new + "\n"
    return "".join(lines)


@pytest.fixture(autouse=True)
def isolated_git(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """No global or system git config, no identity from the environment, caches in tmp."""
    home = tmp_path / "home"
    home.mkdir()
    monkeypatch.setenv("HOME", str(home))
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))
    monkeypatch.setenv("GIT_CONFIG_NOSYSTEM", "1")
    monkeypatch.setenv("GIT_CONFIG_GLOBAL", str(home / "gitconfig"))
    for name in ("GIT_AUTHOR_NAME", "GIT_AUTHOR_EMAIL", "GIT_COMMITTER_NAME", "GIT_COMMITTER_EMAIL", "EMAIL", "GIT_DIR", "GIT_WORK_TREE"):
        monkeypatch.delenv(name, raising=False)


@pytest.fixture
def root(tmp_path: Path) -> Path:
    """A repository on `main` with three commits, an ignored build/ folder and a user identity."""
    root = tmp_path / "repo"
    root.mkdir()
    git(root, "init", "-q", "-b", "main")
    git(root, "config", "user.name", "Test User")
    git(root, "config", "user.email", "test@example.com")
    commit_file(root, ".gitignore", "build/\n", "Ignore build outputs")
    commit_file(root, "src/app.py", APP, "Add app")
    commit_file(root, "README.md", "# demo\n", "Add readme")
    return root


@pytest.fixture
def repo(root: Path) -> Repo:
    return Repo.discover(root)


def branch_with(root: Path, branch: str, name: str, text: str, start: str = "main") -> str:
    """Commit `name` on a new `branch` cut from `start`, without touching the checkout."""
    wt = root.parent / f"wt-{branch.replace('/', '-')}"
    git(root, "worktree", "add", "-q", "-b", branch, str(wt), start)
    sha = commit_file(wt, name, text, f"{branch}: edit {name}")
    git(root, "worktree", "remove", "--force", str(wt))
    return sha


# -- discovery ----------------------------------------------------------------------------------


def test_discover_finds_the_main_root_from_a_subfolder_and_from_a_linked_worktree(root: Path, tmp_path: Path) -> None:
    assert Repo.discover(root / "src").root == root.resolve()
    git(root, "worktree", "add", "-q", "-b", "side", str(tmp_path / "side"))
    assert Repo.discover(tmp_path / "side").root == root.resolve()
    assert Repo.discover(root).current_branch() == "main"


def test_discover_explains_unusable_folders(tmp_path: Path) -> None:
    plain = tmp_path / "plain"
    plain.mkdir()
    with pytest.raises(RepositoryError, match="not inside a git repository"):
        Repo.discover(plain)
    git(tmp_path, "init", "-q", "--bare", "bare.git")
    with pytest.raises(RepositoryError, match="bare repository"):
        Repo.discover(tmp_path / "bare.git")
    git(tmp_path, "init", "-q", "fresh")
    with pytest.raises(RepositoryError, match="no commits yet.*git commit --allow-empty"):
        Repo.discover(tmp_path / "fresh")


def test_a_checkout_whose_git_dir_lives_elsewhere_is_the_users_checkout(root: Path, tmp_path: Path) -> None:
    """A submodule's checkout (its .git a file pointing into the superproject) and a
    `--separate-git-dir` repository: the checkout is the root, and merges land in it."""
    super_ = tmp_path / "super"
    super_.mkdir()
    git(super_, "init", "-q", "-b", "main")
    git(super_, "-c", "protocol.file.allow=always", "submodule", "add", "-q", str(root), "lib")
    separate = tmp_path / "separate"
    git(tmp_path, "init", "-q", "-b", "main", f"--separate-git-dir={tmp_path / 'separate.git'}", str(separate))
    for checkout in (super_ / "lib", separate):
        git(checkout, "config", "user.name", "Test User")
        git(checkout, "config", "user.email", "test@example.com")
    commit_file(separate, "a.txt", "a\n", "first")
    for checkout in (super_ / "lib", separate):
        repo = Repo.discover(checkout / ".")
        assert repo.root == checkout.resolve()
        wt = tmp_path / f"wt-{checkout.name}"
        repo.ensure_worktree(wt, "oompa/w1", "refs/heads/main")
        write(wt / "new.txt", "from a worker\n")
        old = repo.rev_parse("refs/heads/main")
        merged = repo.merge_trees(old, repo.commit_all(wt, "worker"), "Merge w1").commit
        assert repo.advance_target("main", merged, old).advanced
        assert (checkout / "new.txt").read_text() == "from a worker\n" and git(checkout, "status", "--porcelain") == ""


def test_rev_parse_and_branch_lookup(repo: Repo, root: Path) -> None:
    assert repo.rev_parse("main") == git(root, "rev-parse", "HEAD")
    assert repo.branch_exists("main") and not repo.branch_exists("nope")
    with pytest.raises(RepositoryError, match="does not name a commit"):
        repo.rev_parse("nope")


def test_commits_branches_and_heads_agree_with_git_whatever_the_storage(repo: Repo, root: Path, tmp_path: Path) -> None:
    wt = tmp_path / "w1"
    repo.ensure_worktree(wt, "oompa/w1", "main")
    worker = commit_file(wt, "a.txt", "a\n", "worker")

    def agree() -> None:
        for ref in ("main", "refs/heads/oompa/w1", worker, "oompa/w1"):
            assert repo.rev_parse(ref) == git(root, "rev-parse", f"{ref}^{{commit}}")
        assert repo.head(wt) == git(wt, "rev-parse", "HEAD") and repo.head(root) == git(root, "rev-parse", "HEAD")

    agree()  # loose objects and refs, as git writes them
    git(root, "gc", "-q")  # everything packed
    agree()
    git(wt, "checkout", "-q", "--detach", "main")
    commit_file(root, "b.txt", "b\n", "main moves on")  # a loose ref newer than its packed copy
    agree()
    tree = git(root, "rev-parse", "main^{tree}")
    with pytest.raises(RepositoryError, match="does not name a commit"):
        repo.rev_parse(tree)  # a full id that is not a commit
    git(root, "tag", "-a", "-m", "annotated", "t1")
    git(root, "update-ref", "refs/oompa/parked/tagged", git(root, "rev-parse", "t1"))  # a ref at a tag object
    assert repo.rev_parse("refs/oompa/parked/tagged") == git(root, "rev-parse", "t1^{commit}")


def test_ancestry_and_trees_agree_with_git_loose_and_packed(repo: Repo, root: Path) -> None:
    first = repo.rev_parse("main")
    side = branch_with(root, "side", "side.txt", "side\n")
    mainline = commit_file(root, "main.txt", "main\n", "main moves on")
    merged = repo.merge_trees(mainline, side, "Merge side").commit
    commits = [first, side, mainline, merged]

    def agree() -> None:
        for a in commits:
            for b in commits:
                expected = subprocess.run(["git", "merge-base", "--is-ancestor", a, b], cwd=root).returncode == 0
                assert repo.is_ancestor(a, b) is expected, (a, b)
        assert repo.merge_trees(merged, side, "again").status == "up_to_date"

    agree()
    git(root, "gc", "-q")
    agree()


def test_paths_a_move_adds_are_read_from_its_diff_as_git_lists_them(root: Path) -> None:
    from oompa_lsp.adapters.git import checkout

    write(root / "gone" / "x.txt", "becomes a file\n")
    write(root / "flat.txt", "becomes a folder\n")
    write(root / "kept" / "same.txt", "same\n")
    git(root, "add", "-A")
    git(root, "commit", "-q", "-m", "before")
    old = git(root, "rev-parse", "HEAD")
    subprocess.run(["rm", "-rf", str(root / "gone"), str(root / "flat.txt")], check=True)
    write(root / "gone", "now a file\n")
    write(root / "flat.txt" / "inside.txt", "now in a folder\n")
    write(root / "deep" / "er" / "new file.txt", "new, with a space\n")
    write(root / "src" / "app.py", edit_line(APP, 2, "changed, not added"))
    write(root / "ünïcode.txt", "named in UTF-8\n")
    os.symlink("README.md", root / "link")
    git(root, "add", "-A")
    git(root, "commit", "-q", "-m", "after")
    new = git(root, "rev-parse", "HEAD")

    def listed_by_git() -> list[str]:
        out = subprocess.run(["git", "-c", "core.quotePath=false", "diff", "--name-only", "-z", "--no-renames",
                              "--diff-filter=A", old, new], cwd=root, capture_output=True, text=True, check=True)
        return sorted(filter(None, out.stdout.split("\0")))

    diff = checkout._diff(root, old, new)
    assert diff is not None
    assert sorted(checkout._added_paths(root, old, new, diff)) == listed_by_git()
    assert "gone" in listed_by_git() and "flat.txt/inside.txt" in listed_by_git()
    assert sorted(checkout._added_paths(root, old, new, None)) == listed_by_git()  # no diff: git lists them


def test_exclude_local_adds_missing_lines_once_and_never_touches_gitignore(repo: Repo, root: Path) -> None:
    assert repo.exclude_local([".oompa/", "*.log"]) == [".oompa/", "*.log"]
    assert repo.exclude_local([".oompa/"]) == []
    exclude = (root / ".git" / "info" / "exclude").read_text().splitlines()
    assert exclude.count(".oompa/") == 1
    assert (root / ".gitignore").read_text() == "build/\n"
    write(root / ".oompa" / "runs" / "x.jsonl", "{}\n")
    assert not repo.has_changes(root)


# -- worktrees ----------------------------------------------------------------------------------


def test_worktree_is_created_then_reused_keeping_ignored_outputs(repo: Repo, root: Path, tmp_path: Path) -> None:
    wt = tmp_path / "worktrees" / "w1"
    assert repo.ensure_worktree(wt, "oompa/w1", "main") is False
    assert (wt / "src" / "app.py").read_text() == APP
    write(wt / "build" / "x", "compiled")
    write(wt / "scratch.txt", "agent leftovers")
    write(wt / "README.md", "half-done edit\n")
    new_main = commit_file(root, "NEWS.md", "news\n", "Main moves on")

    assert repo.ensure_worktree(wt, "oompa/w1", "main") is True
    assert (wt / "build" / "x").read_text() == "compiled"
    assert not (wt / "scratch.txt").exists()
    assert (wt / "README.md").read_text() == "# demo\n"
    assert repo.head(wt) == new_main
    assert [w.branch for w in repo.list_worktrees()] == ["main", "oompa/w1"]


def test_reusing_a_worktree_parks_unmerged_work_on_its_branch(repo: Repo, tmp_path: Path) -> None:
    wt = tmp_path / "w1"
    repo.ensure_worktree(wt, "oompa/w1", "main")
    work = commit_file(wt, "feature.txt", "unmerged\n", "Work the target never got")
    repo.ensure_worktree(wt, "oompa/w1", "main")
    assert [(p.name, p.commit) for p in repo.list_parked()] == [("oompa/w1", work)]
    assert repo.file_at(work, "feature.txt") == b"unmerged\n"


def test_worktree_folder_that_is_not_a_worktree_is_left_alone(repo: Repo, tmp_path: Path) -> None:
    stranger = write(tmp_path / "stranger" / "notes.txt", "mine")
    with pytest.raises(RepositoryError, match="not a worktree"):
        repo.ensure_worktree(stranger.parent, "oompa/w1", "main")
    with pytest.raises(RepositoryError, match="not a worktree"):
        repo.remove_worktree(stranger.parent)
    assert stranger.read_text() == "mine"


def test_default_worktree_root_is_outside_the_repository_and_per_clone(root: Path, tmp_path: Path) -> None:
    location = default_worktree_root(root)
    assert location.parent == tmp_path / "cache" / "oompa" / "worktrees"
    assert location.name.startswith("repo-")
    assert default_worktree_root(tmp_path / "elsewhere" / "repo") != location


def test_remove_worktrees_reports_disk_freed_and_refuses_the_main_checkout(repo: Repo, root: Path, tmp_path: Path) -> None:
    wt = tmp_path / "w1"
    repo.ensure_worktree(wt, "oompa/w1", "main")
    write(wt / "build" / "big.bin", "x" * 200_000)
    size = disk_usage(wt)
    assert size >= 200_000

    report = repo.remove_worktrees([wt, root])
    assert report.removed == (wt.resolve(),)
    assert report.bytes_freed == size
    assert [path for path, _ in report.skipped] == [root.resolve()]
    assert not wt.exists() and (root / "README.md").exists()
    assert repo.branch_exists("oompa/w1")


def test_removing_many_worktrees_at_once_removes_each_and_adds_up_the_disk_freed(repo: Repo, tmp_path: Path) -> None:
    """The end of a run removes one worktree per worker, several at a time."""
    worktrees = [tmp_path / f"w{n}" for n in range(12)]
    for n, wt in enumerate(worktrees):
        repo.ensure_worktree(wt, f"oompa/w{n}", "main")
        write(wt / "build" / "out.bin", "x" * (10_000 * (n + 1)))
    sizes = [disk_usage(wt) for wt in worktrees]

    report = repo.remove_worktrees([*worktrees, tmp_path / "w0"])
    assert report.removed == tuple(wt.resolve() for wt in worktrees)  # w0, named twice, removed once
    assert report.bytes_freed == sum(sizes) and report.skipped == ()
    assert [wt.is_main for wt in repo.list_worktrees()] == [True]


def test_removing_a_worktree_with_uncommitted_work_needs_force(repo: Repo, tmp_path: Path) -> None:
    wt = tmp_path / "w1"
    repo.ensure_worktree(wt, "oompa/w1", "main")
    write(wt / "wip.txt", "unsaved")
    report = repo.remove_worktrees([wt])
    assert report.removed == () and wt.exists()
    assert repo.remove_worktrees([wt], force=True).removed == (wt.resolve(),)


# -- commits, diffs -----------------------------------------------------------------------------


def test_commit_all_includes_new_files(repo: Repo, tmp_path: Path) -> None:
    wt = tmp_path / "w1"
    repo.ensure_worktree(wt, "oompa/w1", "main")
    write(wt / "src" / "new_module.py", "print('new')\n")
    write(wt / "README.md", "# demo\nmore\n")
    write(wt / "build" / "out.o", "ignored")
    assert [e.path for e in repo.status_porcelain(wt)] == ["README.md", "src/new_module.py"]

    head = repo.commit_all(wt, "Worker changes")
    assert head is not None and head == repo.rev_parse("oompa/w1")
    assert repo.file_at(head, "src/new_module.py") == b"print('new')\n"
    assert repo.file_at(head, "build/out.o") is None
    assert not repo.has_changes(wt)
    assert repo.commit_all(wt, "Nothing") is None


def test_commits_get_a_fallback_author_only_when_none_is_configured(repo: Repo, root: Path, tmp_path: Path) -> None:
    wt = tmp_path / "w1"
    repo.ensure_worktree(wt, "oompa/w1", "main")
    write(wt / "a.txt", "a")
    configured = repo.commit_all(wt, "With identity")
    assert git(root, "log", "-1", "--format=%an <%ae>", configured) == "Test User <test@example.com>"

    git(root, "config", "--unset", "user.name")
    git(root, "config", "--unset", "user.email")
    write(wt / "b.txt", "b")
    fallback = repo.commit_all(wt, "Without identity")
    assert git(root, "log", "-1", "--format=%an <%ae>|%cn <%ce>", fallback) == "oompa <oompa@localhost>|oompa <oompa@localhost>"


def test_commit_all_refuses_the_users_checkout(repo: Repo, root: Path) -> None:
    write(root / "README.md", "user edit\n")
    with pytest.raises(RepositoryError, match="user's checkout"):
        repo.commit_all(root, "nope")
    assert git(root, "status", "--porcelain") == "M README.md"


def test_diff_from_merge_base_shows_only_the_branchs_change(repo: Repo, root: Path) -> None:
    branch = branch_with(root, "oompa/w1", "src/app.py", edit_line(APP, 3, "line three by worker"))
    commit_file(root, "OTHER.md", "merged by someone else\n", "Another worker's merge")
    commit_file(root, "README.md", "# demo, renamed\n", "Target edits readme")

    diff = repo.diff_from_merge_base("main", branch)
    assert "+line three by worker" in diff and "-line 3" in diff
    assert "OTHER.md" not in diff and "README.md" not in diff
    assert [(c.path, c.status) for c in repo.changed_files(repo.merge_base("main", branch), branch)] == [("src/app.py", "M")]


def test_diff_names_binary_files_and_changed_files_sees_renames(repo: Repo, root: Path, tmp_path: Path) -> None:
    wt = tmp_path / "w1"
    repo.ensure_worktree(wt, "oompa/w1", "main")
    (wt / "logo.png").write_bytes(b"\x89PNG\r\n\x1a\n\x00\x00binary")
    git(wt, "mv", "README.md", "README.txt")
    head = repo.commit_all(wt, "Binary and rename")

    assert "Binary files /dev/null and b/logo.png differ" in repo.diff_from_merge_base("main", head)
    changes = {c.path: (c.status, c.old_path) for c in repo.changed_files("main", head)}
    assert changes == {"logo.png": ("A", None), "README.txt": ("R", "README.md")}
    assert repo.file_at(head, "logo.png").startswith(b"\x89PNG")
    assert repo.file_at(head, "src") is None and repo.file_at("main", "missing") is None


# -- merging without a checkout -----------------------------------------------------------------


def checkout_state(root: Path) -> tuple[str, str, str]:
    return git(root, "rev-parse", "HEAD"), git(root, "status", "--porcelain"), (root / "src" / "app.py").read_text()


def test_merge_trees_clean_merge_creates_a_two_parent_commit_without_touching_checkouts(repo: Repo, root: Path) -> None:
    one = branch_with(root, "oompa/w1", "src/app.py", edit_line(APP, 2, "two by w1"))
    two = branch_with(root, "oompa/w2", "src/app.py", edit_line(APP, 9, "nine by w2"))
    first = repo.merge_trees("main", one, "Merge w1")
    assert first.status == "merged"
    write(root / "README.md", "user typing\n")
    before = checkout_state(root)

    second = repo.merge_trees(first.commit, two, "Merge w2")
    assert second.status == "merged" and second.clean
    assert git(root, "rev-parse", f"{second.commit}^1", f"{second.commit}^2").split() == [first.commit, two]
    merged = repo.file_at(second.commit, "src/app.py").decode()
    assert "two by w1" in merged and "nine by w2" in merged
    assert checkout_state(root) == before
    assert repo.rev_parse("main") == before[0]


def test_merge_trees_reports_conflicts_and_creates_nothing(repo: Repo, root: Path) -> None:
    one = branch_with(root, "oompa/w1", "src/app.py", edit_line(APP, 5, "five by w1"))
    two = branch_with(root, "oompa/w2", "src/app.py", edit_line(APP, 5, "five by w2"))
    merged = repo.merge_trees("main", one, "Merge w1").commit
    before = checkout_state(root)
    objects_before = git(root, "for-each-ref")

    result = repo.merge_trees(merged, two, "Merge w2")
    assert result.status == "conflict" and not result.clean
    assert result.conflicts == ("src/app.py",)
    assert any("CONFLICT (content)" in message for message in result.messages)
    assert result.commit is None
    assert checkout_state(root) == before and git(root, "for-each-ref") == objects_before


def test_merge_trees_squash_up_to_date_and_optional_fast_forward(repo: Repo, root: Path) -> None:
    one = branch_with(root, "oompa/w1", "src/app.py", edit_line(APP, 1, "first"))
    main = repo.rev_parse("main")
    squashed = repo.merge_trees(main, one, "Squash w1", strategy="squash")
    assert squashed.status == "merged"
    assert git(root, "rev-parse", f"{squashed.commit}^@").split() == [main]
    assert repo.merge_trees(squashed.commit, one, "again", strategy="squash").status == "up_to_date"

    assert repo.merge_trees(main, one, "Merge w1").status == "merged"
    fast = repo.merge_trees(main, one, "Merge w1", fast_forward=True)
    assert (fast.status, fast.commit) == ("fast_forward", one)
    assert repo.merge_trees(one, main, "nothing").status == "up_to_date"


# -- moving the target ----------------------------------------------------------------------------


def test_advance_ref_is_a_compare_and_swap(repo: Repo, root: Path) -> None:
    git(root, "branch", "target")
    old = repo.rev_parse("target")
    one = branch_with(root, "oompa/w1", "a.txt", "a\n", start="target")
    two = branch_with(root, "oompa/w2", "b.txt", "b\n", start="target")
    repo.advance_ref("target", one, old)
    assert repo.rev_parse("target") == one
    with pytest.raises(TargetMoved):
        repo.advance_ref("target", two, old)
    assert repo.rev_parse("target") == one


def test_advance_target_not_checked_out_moves_the_ref(repo: Repo, root: Path) -> None:
    git(root, "branch", "release")
    old = repo.rev_parse("release")
    merged = repo.merge_trees(old, branch_with(root, "oompa/w1", "a.txt", "a\n"), "Merge w1").commit
    result = repo.advance_target("release", merged, old)
    assert (result.status, result.how) == ("advanced", "update-ref")
    assert repo.rev_parse("release") == merged


def test_sixty_four_workers_adding_their_worktrees_at_once_all_get_one(repo: Repo, tmp_path: Path) -> None:
    """A git reading the worktree list dies on an entry another add is writing; at 64 at once
    that outlasted every retry, and tasks went back with an internal error."""
    from concurrent.futures import ThreadPoolExecutor

    def add(n: int) -> bool:
        return repo.ensure_worktree(tmp_path / "wts" / f"w{n}", f"oompa/t{n}/1", "refs/heads/main")

    with ThreadPoolExecutor(max_workers=64) as pool:
        reused = list(pool.map(add, range(64)))
    assert reused == [False] * 64
    assert len(repo.list_worktrees()) == 65


def test_landing_deletes_the_landed_branches_in_the_same_ref_transaction(repo: Repo, root: Path, tmp_path: Path) -> None:
    """Target checked out (the user's checkout) and not: the move and the deletions are one
    transaction; the worker's checkout of a deleted branch is moved on by the next reset."""
    git(root, "branch", "release")
    for target in ("main", "release"):
        wt = tmp_path / f"worker-{target}"
        repo.ensure_worktree(wt, f"oompa/{target}/1", f"refs/heads/{target}")
        write(wt / f"{target}.txt", "work\n")
        head = repo.commit_all(wt, "work")
        old = repo.rev_parse(target)
        merged = repo.merge_trees(old, head, "Merge").commit
        result = repo.advance_target(target, merged, old, drop=[(f"oompa/{target}/1", head)])
        assert result.advanced and result.dropped == (f"oompa/{target}/1",)
        assert repo.rev_parse(target) == merged and not repo.branch_exists(f"oompa/{target}/1")
        assert "oompa: merge queue" in git(root, "reflog", "-1", f"refs/heads/{target}")
        assert repo.ensure_worktree(wt, f"oompa/{target}/2", f"refs/heads/{target}")
        assert git(wt, "rev-parse", "HEAD") == merged and git(wt, "status", "--porcelain") == ""
    assert "oompa: merge queue" in git(root, "reflog", "-1", "HEAD")  # the user's HEAD saw the move


def test_a_landed_branch_that_moved_is_kept_and_the_target_still_moves(repo: Repo, root: Path, tmp_path: Path) -> None:
    wt = tmp_path / "worker"
    repo.ensure_worktree(wt, "oompa/t1/1", "refs/heads/main")
    write(wt / "a.txt", "a\n")
    head = repo.commit_all(wt, "work")
    old = repo.rev_parse("main")
    merged = repo.merge_trees(old, head, "Merge").commit
    write(wt / "b.txt", "later\n")
    later = repo.commit_all(wt, "committed after it was queued")
    result = repo.advance_target("main", merged, old, drop=[("oompa/t1/1", head)])
    assert result.advanced and result.dropped == ()
    assert repo.rev_parse("main") == merged and repo.rev_parse("oompa/t1/1") == later


def test_detach_points_a_worktree_at_a_commit_and_keeps_its_files(repo: Repo, root: Path, tmp_path: Path) -> None:
    wt = tmp_path / "worker"
    repo.ensure_worktree(wt, "oompa/t1/1", "refs/heads/main")
    write(wt / "a.txt", "a\n")
    head = repo.commit_all(wt, "work")
    git(root, "update-ref", "-d", "refs/heads/oompa/t1/1")
    repo.detach(wt, head)
    assert git(wt, "rev-parse", "HEAD") == head and git(wt, "status", "--porcelain") == ""
    with pytest.raises(RepositoryError, match="user's checkout"):
        repo.detach(root, head)


def test_advance_target_keeps_uncommitted_work_in_files_the_merge_does_not_touch(repo: Repo, root: Path) -> None:
    old = repo.rev_parse("main")
    merged = repo.merge_trees(old, branch_with(root, "oompa/w1", "src/app.py", edit_line(APP, 4, "four")), "Merge").commit
    write(root / "README.md", "# demo\nuser's unsaved line\n")
    write(root / "notes.txt", "untracked user notes\n")
    git(root, "add", "README.md")

    result = repo.advance_target("main", merged, old)
    assert (result.status, result.how) == ("advanced", "fast-forward")
    assert git(root, "rev-parse", "HEAD") == merged
    assert "four" in (root / "src" / "app.py").read_text()
    assert (root / "README.md").read_text() == "# demo\nuser's unsaved line\n"
    assert (root / "notes.txt").read_text() == "untracked user notes\n"
    assert git(root, "status", "--porcelain").splitlines() == ["M  README.md", "?? notes.txt"]
    assert git(root, "reflog", "-1", "--format=%gs", "HEAD") == "oompa: merge queue (fast-forward)"


def test_advance_target_blocks_on_uncommitted_work_in_a_merged_file_then_resumes(repo: Repo, root: Path) -> None:
    old = repo.rev_parse("main")
    merged = repo.merge_trees(old, branch_with(root, "oompa/w1", "src/app.py", edit_line(APP, 4, "four")), "Merge").commit
    user_text = edit_line(APP, 8, "user's unsaved edit")
    write(root / "src" / "app.py", user_text)

    result = repo.advance_target("main", merged, old)
    assert result.status == "blocked" and not result.advanced
    assert result.files == ("src/app.py",)
    assert "src/app.py" in result.reason and "\n" not in result.reason
    assert git(root, "rev-parse", "HEAD") == old and repo.rev_parse("main") == old
    assert (root / "src" / "app.py").read_text() == user_text

    git(root, "checkout", "--", "src/app.py")
    assert repo.advance_target("main", merged, old).advanced
    assert git(root, "rev-parse", "HEAD") == merged


def test_advance_target_accepts_a_file_touched_but_not_changed(repo: Repo, root: Path) -> None:
    old = repo.rev_parse("main")
    merged = repo.merge_trees(old, branch_with(root, "oompa/w1", "src/app.py", edit_line(APP, 4, "four")), "Merge").commit
    app = root / "src" / "app.py"
    app.write_text(app.read_text())  # an editor saved it unchanged: new timestamp, same content
    os.utime(app, (1_000_000_000, 1_000_000_000))

    result = repo.advance_target("main", merged, old)
    assert result.advanced and git(root, "rev-parse", "HEAD") == merged
    assert "four" in app.read_text() and git(root, "status", "--porcelain") == ""


def git_commands_run(trace: Path) -> list[str]:
    """The git subcommands `GIT_TRACE` recorded (`trace: built-in: git apply ...`)."""
    lines = trace.read_text().splitlines() if trace.exists() else []
    return [line.split("built-in: git ", 1)[1].split()[0] for line in lines if "built-in: git " in line]


def test_advance_target_patches_the_checkout_when_its_files_are_as_the_old_tip_had_them(
        repo: Repo, root: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Edits, additions, a deletion, a binary file, a link, an executable and an awkward name
    arrive by `git apply --index` (its cost follows the change); the user's own work in other
    files stays as it was, staged or not."""
    old = repo.rev_parse("main")
    wt = tmp_path / "worker"
    repo.ensure_worktree(wt, "oompa/w1", "main")
    write(wt / "src" / "app.py", edit_line(APP, 4, "four"))
    write(wt / "docs" / "new guide ü.md", "guide\n")
    (wt / "logo.png").write_bytes(b"\x89PNG\r\n\x1a\n\x00\x00binary")
    os.symlink("src/app.py", wt / "app-link")
    write(wt / "tools" / "run.sh", "#!/bin/sh\necho run\n").chmod(0o755)
    (wt / "README.md").unlink()
    merged = repo.merge_trees(old, repo.commit_all(wt, "Worker changes"), "Merge").commit
    write(root / ".gitignore", "build/\n# the user's staged edit\n")
    git(root, "add", ".gitignore")
    write(root / "notes.txt", "untracked user notes\n")
    monkeypatch.setenv("GIT_TRACE", str(tmp_path / "trace.txt"))

    result = repo.advance_target("main", merged, old)
    monkeypatch.delenv("GIT_TRACE")
    assert (result.status, result.how) == ("advanced", "fast-forward")
    assert "apply" in git_commands_run(tmp_path / "trace.txt")
    assert "read-tree" not in git_commands_run(tmp_path / "trace.txt")
    assert git(root, "rev-parse", "HEAD") == merged
    assert git(root, "status", "--porcelain").splitlines() == ["M  .gitignore", "?? notes.txt"]
    assert git(root, "diff", "--cached", "--name-only") == ".gitignore"
    assert not (root / "README.md").exists() and os.readlink(root / "app-link") == "src/app.py"
    assert os.access(root / "tools" / "run.sh", os.X_OK) and (root / "logo.png").read_bytes().endswith(b"binary")
    assert (root / "docs" / "new guide ü.md").read_text() == "guide\n"


def test_advance_target_never_patches_a_touched_file_holding_a_staged_change(
        repo: Repo, root: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """The user's staged edit is in other lines of the file the merge changes: a patch would
    apply, but git's own rule (the merge waits for them) holds."""
    old = repo.rev_parse("main")
    merged = repo.merge_trees(old, branch_with(root, "oompa/w1", "src/app.py", edit_line(APP, 4, "four")), "Merge").commit
    user_text = edit_line(APP, 8, "user's staged edit")
    write(root / "src" / "app.py", user_text)
    git(root, "add", "src/app.py")
    monkeypatch.setenv("GIT_TRACE", str(tmp_path / "trace.txt"))

    result = repo.advance_target("main", merged, old)
    monkeypatch.delenv("GIT_TRACE")
    assert result.status == "blocked" and result.files == ("src/app.py",)
    assert "apply" not in git_commands_run(tmp_path / "trace.txt")
    assert (root / "src" / "app.py").read_text() == user_text
    assert git(root, "diff", "--cached", "--name-only") == "src/app.py" and repo.rev_parse("main") == old


def test_advance_target_lands_a_file_with_converted_line_endings_as_git_converts_it(
        repo: Repo, root: Path) -> None:
    """git status calls the CRLF file unchanged (its filters say so), and git apply converts
    as it patches: the file ends as a checkout would write it."""
    commit_file(root, ".gitattributes", "*.txt text eol=crlf\n", "CRLF text files")
    commit_file(root, "notes.txt", "a\nb\n", "Add notes")
    (root / "notes.txt").unlink()
    git(root, "checkout", "--", "notes.txt")
    assert (root / "notes.txt").read_bytes() == b"a\r\nb\r\n"
    old = repo.rev_parse("main")
    merged = repo.merge_trees(old, branch_with(root, "oompa/w1", "notes.txt", "a\nb\nc\n"), "Merge").commit

    assert repo.advance_target("main", merged, old).advanced
    assert (root / "notes.txt").read_bytes() == b"a\r\nb\r\nc\r\n" and git(root, "status", "--porcelain") == ""
    assert_landed_cleanly(root, merged)


# -- the user's index, moved by git, across the repositories users have -------------------------


def git_trace_lines(trace: Path) -> list[str]:
    """The git command lines `GIT_TRACE` recorded, from the subcommand on."""
    lines = trace.read_text().splitlines() if trace.exists() else []
    return [line.split("built-in: git ", 1)[1] for line in lines if "built-in: git " in line]


def moved_by_apply(trace: Path) -> bool:
    """The checkout moved by `git apply --index` (its cost follows the change), not the two-way merge."""
    commands = git_trace_lines(trace)
    return any(line.startswith("apply") and "--index" in line for line in commands) and not any(
        line.startswith(("read-tree", "merge")) for line in commands)


def assert_landed_cleanly(root: Path, commit: str, own: list[str] = (), *, sparse: bool = False) -> None:
    """After a landing, git's own answers about the checkout: HEAD is `commit`, the index holds
    exactly its tree (nothing staged against HEAD beyond the user's own), git finds the
    repository sound, and `git status` lists only the user's own changes."""
    assert git(root, "rev-parse", "HEAD") == commit
    staged_by_user = {line[3:] for line in own if line[0] not in " ?"}
    assert set(git(root, "diff-index", "--cached", "--name-only", "HEAD").splitlines()) == staged_by_user
    if not staged_by_user:
        assert git(root, "write-tree") == git(root, "rev-parse", f"{commit}^{{tree}}")
    if not sparse and not staged_by_user:
        listed = git(root, "ls-files", "-s").splitlines()
        expected = [f"{mode} {oid} 0\t{path}" for mode, _, oid, path in
                    (line.replace("\t", " ", 1).split(" ", 3) for line in git(root, "ls-tree", "-r", commit).splitlines())]
        assert listed == expected
    git(root, "fsck", "--strict", "--no-dangling")
    status = subprocess.run(["git", "status", "--porcelain"], cwd=root, capture_output=True, text=True, check=True)
    assert sorted(status.stdout.splitlines()) == sorted(own)


def test_advance_target_moves_the_users_index_through_git_as_a_checkout_would(
        repo: Repo, root: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Edits, additions (in a new folder too), a deletion that empties a folder, a mode change
    and a file becoming a link arrive by `git apply --index`; the user's untracked and unstaged
    work stays as it was."""
    commit_file(root, "lib/one.py", "one\n", "Add lib")
    commit_file(root, "lib/two.py", "two\n", "Add more lib")
    commit_file(root, "old/gone.txt", "gone\n", "Add old")
    commit_file(root, "tools/run.sh", "#!/bin/sh\n", "Add tool")
    old = repo.rev_parse("main")
    wt = tmp_path / "worker"
    repo.ensure_worktree(wt, "oompa/w1", "main")
    write(wt / "src" / "app.py", edit_line(APP, 4, "four"))
    write(wt / "src" / "util.py", "util\n")
    write(wt / "docs" / "deep" / "guide ü.md", "guide\n")
    (wt / "old" / "gone.txt").unlink()
    (wt / "tools" / "run.sh").chmod(0o755)
    (wt / "README.md").unlink()
    os.symlink("src/app.py", wt / "README.md")
    merged = repo.merge_trees(old, repo.commit_all(wt, "Worker changes"), "Merge").commit
    write(root / "notes.txt", "untracked user notes\n")
    write(root / "lib" / "two.py", "the user's unstaged edit\n")
    monkeypatch.setenv("GIT_TRACE", str(tmp_path / "trace.txt"))

    result = repo.advance_target("main", merged, old)
    monkeypatch.delenv("GIT_TRACE")
    assert result.advanced and moved_by_apply(tmp_path / "trace.txt")
    assert_landed_cleanly(root, merged, [" M lib/two.py", "?? notes.txt"])
    assert (root / "lib" / "two.py").read_text() == "the user's unstaged edit\n"
    assert not (root / "old").exists() and os.readlink(root / "README.md") == "src/app.py"
    assert os.access(root / "tools" / "run.sh", os.X_OK)


def test_moving_the_index_through_git_agrees_with_git_over_many_random_moves(
        repo: Repo, root: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Twelve rounds of random additions, edits and deletions across nested folders: after
    each move the index is exactly the new commit's, and git finds nothing to say about it."""
    rng = random.Random(7)
    for number in range(60):
        write(root / f"d{number % 4}" / f"s{number % 3}" / f"f{number}.txt", f"file {number}\n")
    git(root, "add", "-A")
    git(root, "commit", "-q", "-m", "Many files")
    wt = tmp_path / "worker"
    by_apply = 0
    for round_number in range(12):
        old = repo.rev_parse("main")
        repo.ensure_worktree(wt, "oompa/w1", "main")
        tracked = git(wt, "ls-files").splitlines()
        for path in rng.sample(tracked, 3):
            write(wt / path, f"edited in round {round_number}\n")
        (wt / rng.choice(tracked)).unlink(missing_ok=True)
        write(wt / f"d{rng.randrange(6)}" / f"new{round_number}" / "n.txt", "new\n")
        write(wt / f"d{rng.randrange(4)}" / f"added{round_number}.txt", "added\n")
        merged = repo.merge_trees(old, repo.commit_all(wt, f"Round {round_number}"), "Merge").commit
        trace = tmp_path / f"trace{round_number}.txt"
        monkeypatch.setenv("GIT_TRACE", str(trace))
        assert repo.advance_target("main", merged, old).advanced
        monkeypatch.delenv("GIT_TRACE")
        by_apply += moved_by_apply(trace)
        assert_landed_cleanly(root, merged)
    assert by_apply == 12


FSMONITOR_HOOK = "#!/bin/sh\n# protocol 2: a new token, then the paths that may have changed; / is all of them\nprintf 'oompa-token\\0/\\0'\n"

REPOSITORY_KINDS = ["index v2", "index v4", "split index", "sha256", "untracked cache", "fsmonitor",
                    "sparse checkout", "sparse index"]


def repository_of_kind(tmp_path: Path, kind: str) -> Path:
    """The `root` fixture's repository, made with the setting a user may have."""
    root = tmp_path / "kind"
    root.mkdir()
    git(root, "init", "-q", "-b", "main", *(["--object-format=sha256"] if kind == "sha256" else []))
    git(root, "config", "user.name", "Test User")
    git(root, "config", "user.email", "test@example.com")
    commit_file(root, ".gitignore", "build/\n", "Ignore build outputs")
    commit_file(root, "src/app.py", APP, "Add app")
    commit_file(root, "README.md", "# demo\n", "Add readme")
    commit_file(root, "outside/far.txt", "far\n", "Add a folder a sparse checkout leaves out")
    branch_with(root, "oompa/far", "outside/far.txt", "far, edited by a worker\n")  # before any sparse checkout
    if kind in ("index v2", "index v4"):
        git(root, "update-index", "--index-version", kind[-1])
    elif kind == "split index":
        git(root, "config", "core.splitIndex", "true")
        git(root, "update-index", "--split-index")
    elif kind == "untracked cache":
        git(root, "config", "core.untrackedCache", "true")
        git(root, "update-index", "--untracked-cache")
        git(root, "status")  # writes the UNTR extension
    elif kind == "fsmonitor":
        hook = write(root / ".git" / "fsmonitor-hook", FSMONITOR_HOOK)
        hook.chmod(0o755)
        git(root, "config", "core.fsmonitor", str(hook))
        git(root, "config", "core.fsmonitorHookVersion", "2")
        git(root, "update-index", "--fsmonitor")
        git(root, "status")
    elif kind.startswith("sparse"):
        git(root, "sparse-checkout", "set", "--cone", *(["--sparse-index"] if kind == "sparse index" else []), "src")
        assert not (root / "outside").exists()
    return root


@pytest.mark.parametrize("kind", REPOSITORY_KINDS)
def test_every_kind_of_repository_gets_a_correct_landing_or_a_pause_with_its_reason(tmp_path: Path, kind: str) -> None:
    """In each repository a clean landing keeps the user's untouched, staged and untracked work
    and leaves git's answers sound; a local change in a file the landing touches pauses it with
    the file named, changing nothing; the pause lifts once the change is gone."""
    root = repository_of_kind(tmp_path, kind)
    repo = Repo.discover(root)
    sparse = kind.startswith("sparse")
    if kind == "sha256":
        assert len(repo.rev_parse("main")) == 64
    old = repo.rev_parse("main")
    far = repo.rev_parse("oompa/far")
    first = repo.merge_trees(old, branch_with(root, "oompa/w1", "src/app.py", edit_line(APP, 4, "four")), "Merge w1").commit
    first = repo.merge_trees(first, far, "Merge far").commit
    write(root / "README.md", "# demo\nthe user's staged line\n")
    git(root, "add", "README.md")
    write(root / "notes.txt", "untracked user notes\n")

    assert repo.advance_target("main", first, old).advanced
    assert "four" in (root / "src" / "app.py").read_text()
    assert (root / "README.md").read_text() == "# demo\nthe user's staged line\n"
    assert_landed_cleanly(root, first, ["M  README.md", "?? notes.txt"], sparse=sparse)
    assert (root / "outside").exists() is not sparse  # a sparse checkout stays sparse

    second = repo.merge_trees(first, branch_with(root, "oompa/w2", "src/app.py", edit_line(APP, 8, "eight"), first),
                              "Merge w2").commit
    user_text = edit_line((root / "src" / "app.py").read_text(), 2, "the user's unsaved edit")
    write(root / "src" / "app.py", user_text)
    paused = repo.advance_target("main", second, first)
    assert paused.status == "blocked" and paused.files == ("src/app.py",) and "src/app.py" in paused.reason
    assert (root / "src" / "app.py").read_text() == user_text and repo.rev_parse("main") == first
    assert_landed_cleanly(root, first, ["M  README.md", " M src/app.py", "?? notes.txt"], sparse=sparse)

    git(root, "checkout", "--", "src/app.py")
    assert repo.advance_target("main", second, first).advanced
    assert_landed_cleanly(root, second, ["M  README.md", "?? notes.txt"], sparse=sparse)
    repo.close()


@pytest.mark.parametrize("kind", REPOSITORY_KINDS)
def test_a_held_index_lock_pauses_the_landing_with_its_reason_in_every_kind_of_repository(
        tmp_path: Path, kind: str) -> None:
    root = repository_of_kind(tmp_path, kind)
    repo = Repo.discover(root)
    old = repo.rev_parse("main")
    merged = repo.merge_trees(old, branch_with(root, "oompa/w1", "src/app.py", edit_line(APP, 4, "four")), "Merge").commit
    lock = root / ".git" / "index.lock"
    lock.write_text("the user's git is running")

    result = repo.advance_target("main", merged, old)
    assert result.status == "blocked" and "index.lock" in result.reason and "\n" not in result.reason
    assert lock.read_text() == "the user's git is running"
    assert (root / "src" / "app.py").read_text() == APP and repo.rev_parse("main") == old

    lock.unlink()  # the user's git finished: the pause lifts
    assert repo.advance_target("main", merged, old).advanced
    assert_landed_cleanly(root, merged, sparse=kind.startswith("sparse"))
    repo.close()


def test_a_staged_file_where_the_merge_adds_a_folder_is_left_to_git(repo: Repo, root: Path) -> None:
    """The user staged a file `notes` and removed it from disk; the merge adds `notes/a.txt`.
    An index cannot hold both: git refuses the move, or makes it whole."""
    old = repo.rev_parse("main")
    merged = repo.merge_trees(old, branch_with(root, "oompa/w1", "notes/a.txt", "a\n"), "Merge").commit
    write(root / "notes", "staged, then removed\n")
    git(root, "add", "notes")
    (root / "notes").unlink()

    result = repo.advance_target("main", merged, old)
    listed = git(root, "ls-files").splitlines()
    assert not ("notes" in listed and "notes/a.txt" in listed)
    assert result.status == "blocked" or "notes" not in listed
    git(root, "fsck", "--strict", "--no-dangling")


def test_plain_questions_go_to_one_long_lived_cat_file(
        repo: Repo, root: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Names, trees, parents and file contents, asked many times from threads: one `git cat-file`
    answers them all, sees refs moved after it started, and ends with `close()`."""
    from concurrent.futures import ThreadPoolExecutor

    fresh = Repo.discover(root)
    side = branch_with(root, "side", "side.txt", "side\n")
    monkeypatch.setenv("GIT_TRACE", str(tmp_path / "trace.txt"))
    merged = fresh.merge_trees("main", side, "Merge side").commit

    def ask(_: int) -> tuple[str, bool, bytes | None]:
        return fresh.rev_parse("side"), fresh.is_ancestor(side, merged), fresh.file_at(merged, "side.txt")

    with ThreadPoolExecutor(8) as pool:
        answers = set(pool.map(ask, range(64)))
    assert answers == {(side, True, b"side\n")}
    monkeypatch.delenv("GIT_TRACE")
    git(root, "update-ref", "refs/heads/side", merged)  # moved by someone else's git
    assert fresh.rev_parse("side") == merged
    commands = git_trace_lines(tmp_path / "trace.txt")
    assert [line for line in commands if line.startswith("cat-file")] == ["cat-file --batch-command"]
    assert not any(line.startswith(("rev-parse", "merge-base")) for line in commands)
    fresh.close()
    assert fresh.rev_parse("side") == merged  # a question after close() starts another
    fresh.close()


def test_merge_commits_are_written_by_commit_tree_with_the_users_identity_or_the_fallback(
        repo: Repo, root: Path) -> None:
    side = branch_with(root, "side", "side.txt", "side\n")
    message = "two\n\nparagraphs, naïve ünïcode — ✓"
    merged = repo.merge_trees("main", side, message).commit
    assert git(root, "log", "-1", "--format=%an <%ae>%n%P", merged).splitlines() == [
        "Test User <test@example.com>", f"{repo.rev_parse('main')} {side}"]
    assert git(root, "log", "-1", "--format=%B", merged) == message
    git(root, "config", "--unset", "user.name")
    git(root, "config", "--unset", "user.email")
    squashed = Repo.discover(root).merge_trees("main", side, "Squash side", strategy="squash").commit
    assert git(root, "log", "-1", "--format=%an <%ae>", squashed) == "oompa <oompa@localhost>"
    git(root, "fsck", "--strict", "--no-dangling")


def test_advance_target_blocks_on_an_untracked_file_the_merge_would_create(repo: Repo, root: Path) -> None:
    old = repo.rev_parse("main")
    merged = repo.merge_trees(old, branch_with(root, "oompa/w1", "docs/guide.md", "worker\n"), "Merge").commit
    write(root / "docs" / "guide.md", "the user's own draft\n")
    result = repo.advance_target("main", merged, old)
    assert result.status == "blocked" and result.files == ("docs/guide.md",)
    assert "untracked docs/guide.md" in result.reason
    assert (root / "docs" / "guide.md").read_text() == "the user's own draft\n"


def test_advance_target_blocks_while_the_user_is_mid_merge(repo: Repo, root: Path) -> None:
    old = repo.rev_parse("main")
    merged = repo.merge_trees(old, branch_with(root, "oompa/w1", "a.txt", "a\n"), "Merge").commit
    branch_with(root, "feature", "src/app.py", edit_line(APP, 6, "feature six"))
    commit_file(root, "src/app.py", edit_line(APP, 6, "main six"), "User edits six")
    with pytest.raises(subprocess.CalledProcessError):
        git(root, "merge", "feature")
    user_head = repo.rev_parse("main")
    merged = repo.merge_trees(user_head, merged, "Merge").commit

    result = repo.advance_target("main", merged, user_head)
    assert result.status == "blocked" and "middle of a merge" in result.reason
    assert (root / ".git" / "MERGE_HEAD").exists() and repo.rev_parse("main") == user_head


def test_advance_target_raises_when_the_user_committed_meanwhile(repo: Repo, root: Path) -> None:
    old = repo.rev_parse("main")
    merged = repo.merge_trees(old, branch_with(root, "oompa/w1", "a.txt", "a\n"), "Merge").commit
    user = commit_file(root, "mine.txt", "mine\n", "User commit")
    with pytest.raises(TargetMoved):
        repo.advance_target("main", merged, old)
    assert git(root, "rev-parse", "HEAD") == user


# -- parking, deleting branches -------------------------------------------------------------------


def test_parked_work_survives_gc_and_unmerged_branches_are_never_deleted(repo: Repo, root: Path) -> None:
    rejected = branch_with(root, "oompa/rejected", "idea.txt", "rejected idea\n")
    parked = repo.park("task-7/attempt-1", rejected)
    assert parked.ref == "refs/oompa/parked/task-7/attempt-1"
    assert repo.park("task-7/attempt-1", rejected) == parked
    other = branch_with(root, "oompa/other", "other.txt", "other\n")
    assert repo.park("task-7/attempt-1", other).name == "task-7/attempt-1-2"

    assert repo.delete_branch_if_merged("oompa/rejected", "main") is False
    assert repo.branch_exists("oompa/rejected")
    git(root, "branch", "-D", "oompa/rejected", "oompa/other")
    git(root, "reflog", "expire", "--expire=now", "--all")
    git(root, "gc", "-q", "--prune=now")
    listed = {p.name: (p.commit, p.subject) for p in repo.list_parked()}
    assert listed["task-7/attempt-1"] == (rejected, "oompa/rejected: edit idea.txt")
    assert repo.file_at(rejected, "idea.txt") == b"rejected idea\n"

    repo.drop_parked("task-7/attempt-1-2")
    assert [p.name for p in repo.list_parked()] == ["task-7/attempt-1"]


def test_delete_branch_if_merged_accepts_merged_and_squashed_work(repo: Repo, root: Path) -> None:
    old = repo.rev_parse("main")
    merged_branch = branch_with(root, "oompa/merged", "m.txt", "m\n")
    squashed_branch = branch_with(root, "oompa/squashed", "s.txt", "s\n")
    step = repo.merge_trees(old, merged_branch, "Merge").commit
    step = repo.merge_trees(step, squashed_branch, "Squash", strategy="squash").commit
    repo.advance_target("main", step, old)

    assert repo.delete_branch_if_merged("oompa/merged", "main") is True
    assert repo.delete_branch_if_merged("oompa/squashed", "main") is True
    assert not repo.branch_exists("oompa/merged") and not repo.branch_exists("oompa/squashed")


# -- resolver turns ------------------------------------------------------------------------------


def test_merge_into_worktree_leaves_conflict_markers_for_a_resolver(repo: Repo, root: Path, tmp_path: Path) -> None:
    wt = tmp_path / "w1"
    repo.ensure_worktree(wt, "oompa/w1", "main")
    write(wt / "src" / "app.py", edit_line(APP, 5, "five by worker"))
    worker_head = repo.commit_all(wt, "Worker edits five")
    commit_file(root, "src/app.py", edit_line(APP, 5, "five on main"), "Main edits five")

    assert repo.merge_into_worktree(wt, "main") == ["src/app.py"]
    text = (wt / "src" / "app.py").read_text()
    assert "<<<<<<< " in text and "five by worker" in text and "five on main" in text and ">>>>>>> " in text
    assert repo.files_with_conflict_markers(wt, ["src/app.py", "README.md"]) == ["src/app.py"]

    write(wt / "src" / "app.py", edit_line(APP, 5, "five resolved"))
    resolved = repo.commit_all(wt, "Resolve conflict")
    assert git(wt, "rev-parse", f"{resolved}^1", f"{resolved}^2").split() == [worker_head, repo.rev_parse("main")]
    assert repo.merge_trees("main", resolved, "Merge").status == "merged"


def test_abort_merge_restores_the_worker_branch(repo: Repo, root: Path, tmp_path: Path) -> None:
    wt = tmp_path / "w1"
    repo.ensure_worktree(wt, "oompa/w1", "main")
    write(wt / "src" / "app.py", edit_line(APP, 5, "five by worker"))
    worker_head = repo.commit_all(wt, "Worker edits five")
    commit_file(root, "src/app.py", edit_line(APP, 5, "five on main"), "Main edits five")
    repo.merge_into_worktree(wt, "main")

    assert repo.abort_merge(wt) is True and repo.abort_merge(wt) is False
    assert repo.head(wt) == worker_head and not repo.has_changes(wt)


def test_a_worktree_left_mid_conflict_is_reused_clean_and_its_work_parked(repo: Repo, root: Path, tmp_path: Path) -> None:
    wt = tmp_path / "w1"
    repo.ensure_worktree(wt, "oompa/w1", "main")
    write(wt / "src" / "app.py", edit_line(APP, 5, "five by worker"))
    worker_head = repo.commit_all(wt, "Worker edits five")
    new_main = commit_file(root, "src/app.py", edit_line(APP, 5, "five on main"), "Main edits five")
    repo.merge_into_worktree(wt, "main")  # the run stopped here: conflict markers, MERGE_HEAD

    assert repo.ensure_worktree(wt, "oompa/w1", "main") is True
    assert repo.head(wt) == new_main and not repo.has_changes(wt)
    assert repo.unmerged_files(wt) == [] and repo.abort_merge(wt) is False
    assert (wt / "src" / "app.py").read_text() == edit_line(APP, 5, "five on main")
    assert [p.commit for p in repo.list_parked()] == [worker_head]


def test_checkout_detached_puts_a_worktree_on_a_merge_result(repo: Repo, root: Path, tmp_path: Path) -> None:
    wt = tmp_path / "checks"
    repo.ensure_worktree(wt, "oompa/checks", "main")
    write(wt / "build" / "cache", "kept")
    write(wt / "stray.txt", "removed")
    merged = repo.merge_trees("main", branch_with(root, "oompa/w1", "a.txt", "a\n"), "Merge").commit

    repo.checkout_detached(wt, merged)
    assert repo.head(wt) == merged and (wt / "a.txt").read_text() == "a\n"
    assert (wt / "build" / "cache").exists() and not (wt / "stray.txt").exists()
    with pytest.raises(RepositoryError, match="user's checkout"):
        repo.checkout_detached(root, merged)


def test_a_check_worktree_is_made_detached_and_reused_on_the_next_merge(repo: Repo, root: Path, tmp_path: Path) -> None:
    slot = tmp_path / "worktrees" / "check-1"
    first = repo.merge_trees("main", branch_with(root, "oompa/w1", "a.txt", "a\n"), "Merge a").commit
    second = repo.merge_trees(first, branch_with(root, "oompa/w2", "b.txt", "b\n"), "Merge b").commit

    assert repo.ensure_check_worktree(slot, first) is False
    assert repo.head(slot) == first and (slot / "a.txt").exists()
    assert repo.worktree_for_branch("oompa/w1") is None  # detached: no branch is held by a check
    write(slot / "build" / "cache", "kept")
    write(slot / "stray.txt", "removed")
    assert repo.ensure_check_worktree(slot, second) is True
    assert repo.head(slot) == second and (slot / "b.txt").exists()
    assert (slot / "build" / "cache").exists() and not (slot / "stray.txt").exists()
    with pytest.raises(RepositoryError, match="user's checkout"):
        repo.ensure_check_worktree(root, second)


def test_first_parent_subjects_since_a_time(repo: Repo, root: Path) -> None:
    merged = repo.merge_trees("main", branch_with(root, "oompa/w1", "a.txt", "a\n"), "oompa: merge t1: a").commit
    git(root, "merge", "-q", "--ff-only", merged)
    rows = repo.first_parent_subjects("refs/heads/main", 0)
    assert rows[0][0] == merged and rows[0][2] == "oompa: merge t1: a" and rows[0][1] > 0
    assert all(subject != "oompa/w1: edit a.txt" for _, _, subject in rows)  # first parents only
    assert repo.first_parent_subjects("refs/heads/main", rows[0][1] + 3600) == []


def test_git_failures_name_the_command(repo: Repo) -> None:
    with pytest.raises(GitCommandFailed, match="git merge-base"):
        repo.merge_base("main", "0" * 40)


def test_advance_target_never_overwrites_an_ignored_file_of_the_user(repo: Repo, root: Path) -> None:
    commit_file(root, ".gitignore", "build/\n.env\n", "Ignore .env")
    old = repo.rev_parse("main")
    wt = root.parent / "wt-env"
    git(root, "worktree", "add", "-q", "-b", "oompa/w1", str(wt))
    write(wt / ".env", "SECRET=worker\n")
    git(wt, "add", "-f", ".env")
    git(wt, "commit", "-q", "-m", "Worker commits an .env")
    merged = repo.merge_trees(old, repo.rev_parse("oompa/w1"), "Merge").commit
    write(root / ".env", "SECRET=user\n")

    result = repo.advance_target("main", merged, old)
    assert result.status == "blocked" and result.files == (".env",)
    assert (root / ".env").read_text() == "SECRET=user\n" and repo.rev_parse("main") == old


def test_which_worktree_holds_a_branch_agrees_with_git(repo: Repo, root: Path, tmp_path: Path) -> None:
    for name in ("kept", "gone", "locked-away"):
        git(root, "worktree", "add", "-q", "-b", f"oompa/{name}", str(tmp_path / name))
    git(root, "worktree", "lock", str(tmp_path / "locked-away"))
    subprocess.run(["rm", "-rf", str(tmp_path / "gone"), str(tmp_path / "locked-away")], check=True)
    listed = {wt.branch: wt for wt in repo.list_worktrees()}  # git's own answer

    for branch in ("main", "oompa/kept", "oompa/gone", "oompa/locked-away", "oompa/none"):
        holder = repo.worktree_for_branch(branch)
        expected = listed.get(branch)
        expected = None if expected is None or expected.prunable else expected
        assert (holder and holder.path.resolve()) == (expected and expected.path.resolve()), branch
    assert repo.worktree_for_branch("main").is_main
    # The vanished folder is pruned and made again; the kept one is reused as it is.
    assert repo.ensure_worktree(tmp_path / "gone", "oompa/gone", "main") is False
    assert repo.ensure_worktree(tmp_path / "kept", "oompa/kept", "main") is True


def test_a_packed_branch_and_a_deleted_one_are_told_apart(repo: Repo, root: Path) -> None:
    git(root, "branch", "oompa/packed")
    git(root, "branch", "oompa/doomed")
    git(root, "pack-refs", "--all")
    assert not (root / ".git" / "refs" / "heads" / "oompa" / "packed").exists()
    assert repo.branch_exists("oompa/packed") and repo.rev_parse("refs/heads/oompa/packed") == git(root, "rev-parse", "main")
    git(root, "branch", "-D", "oompa/doomed")
    assert not repo.branch_exists("oompa/doomed") and not repo.branch_exists("oompa/never")


def test_a_worktree_whose_folder_was_deleted_is_recreated(repo: Repo, tmp_path: Path) -> None:
    wt = tmp_path / "w1"
    repo.ensure_worktree(wt, "oompa/w1", "main")
    subprocess.run(["rm", "-rf", str(wt)], check=True)
    assert repo.ensure_worktree(wt, "oompa/w1", "main") is False
    assert (wt / "README.md").exists()


def test_discard_changes_undoes_edits_made_during_a_review(repo: Repo, tmp_path: Path) -> None:
    wt = tmp_path / "w1"
    repo.ensure_worktree(wt, "oompa/w1", "main")
    write(wt / "a.txt", "worker\n")
    reviewed = repo.commit_all(wt, "Worker")
    write(wt / "a.txt", "reviewer sneaks an edit\n")
    write(wt / "b.txt", "and a file\n")
    repo.commit_all(wt, "Reviewer commit")
    repo.discard_changes(wt, reviewed)
    assert repo.head(wt) == reviewed == repo.rev_parse("oompa/w1")
    assert (wt / "a.txt").read_text() == "worker\n" and not (wt / "b.txt").exists()


def test_workers_can_use_the_adapter_from_threads_at_once(repo: Repo, tmp_path: Path) -> None:
    from concurrent.futures import ThreadPoolExecutor

    def one_cycle(n: int) -> str:
        wt = tmp_path / f"w{n}"
        repo.ensure_worktree(wt, f"oompa/w{n}", "main")
        write(wt / f"file{n}.txt", f"{n}\n")
        return repo.commit_all(wt, f"Worker {n}")

    with ThreadPoolExecutor(4) as pool:
        heads = list(pool.map(one_cycle, range(4)))
    assert [repo.rev_parse(f"oompa/w{n}") for n in range(4)] == heads


def test_status_and_head_say_what_git_status_v1_and_rev_parse_say(repo: Repo, root: Path) -> None:
    (root / "a b.txt").write_text("spaces in the name\n", encoding="utf-8")
    git(root, "add", "-A")
    git(root, "commit", "-q", "-m", "a file with spaces")
    git(root, "mv", "a b.txt", "moved b.txt")
    (root / "README.md").write_text("changed\n", encoding="utf-8")
    (root / "staged.txt").write_text("new\n", encoding="utf-8")
    git(root, "add", "staged.txt")
    (root / "staged.txt").write_text("new, then edited\n", encoding="utf-8")
    (root / "sub").mkdir()
    (root / "sub" / "untracked.txt").write_text("x\n", encoding="utf-8")

    entries, head = repo.status_and_head(root)

    v1 = subprocess.run(["git", "status", "--porcelain=v1", "-z", "--untracked-files=all"], cwd=root,
                        capture_output=True, text=True, check=True).stdout.split("\0")[:-1]
    assert entries == parsing.status_entries(v1)  # git's v1 answer, read by the v1 reader
    assert {(e.code, e.path, e.old_path) for e in entries} >= {("R ", "moved b.txt", "a b.txt"), (" M", "README.md", None),
                                                               ("AM", "staged.txt", None), ("??", "sub/untracked.txt", None)}
    assert head == git(root, "rev-parse", "HEAD")
