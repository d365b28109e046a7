"""Review notes on the lines of a review's change: a human's line comments checked against
the diff (and given the text of the lines they name), and the model reviewer's findings
placed on the diff. The git reads are here; the rules are core/review_notes.py's.

Blocking (git): call from a worker thread. May import: core, adapters. Must not import: lsp, cli.
"""

from __future__ import annotations

from msgspec.structs import replace

from ..adapters.git import Repo
from ..core.diff_lines import FileDiff, parse_diff
from ..core.errors import EngineRequestError
from ..core.review_notes import Finding, LineComment, comment_problem, read_findings, side_path


def review_files(repo: Repo, base: str, head: str) -> dict[str, FileDiff]:
    return parse_diff(repo.diff_from_merge_base(base, head))


def check_comments(repo: Repo, base: str, head: str, comments: list[LineComment]) -> tuple[LineComment, ...]:
    """The comments, each with the text of the lines it names; raises EngineRequestError
    naming the first comment whose place the change does not have."""
    if not comments:
        return ()
    files = review_files(repo, base, head)
    side_commits = {"head": head, "base": repo.merge_base(base, head) or base}
    checked = []
    for comment in comments:
        comment = _on_new_path(comment, files)
        content = repo.file_at(side_commits[comment.side], side_path(comment, files)) if comment.path in files else None
        lines = content.decode("utf-8", "replace").splitlines() if content is not None else None
        problem = comment_problem(comment, files, None if lines is None else len(lines))
        if problem is not None:
            raise EngineRequestError(problem)
        assert lines is not None
        checked.append(_with_lines(comment, lines))
    return tuple(checked)


def _on_new_path(comment: LineComment, files: dict[str, FileDiff]) -> LineComment:
    """A comment may name a renamed file by its old path: it is filed under the new one."""
    if comment.path in files:
        return comment
    for file in files.values():
        if file.old_path == comment.path:
            return replace(comment, path=file.path)
    return comment


def _with_lines(comment: LineComment, lines: list[str]) -> LineComment:
    return replace(comment, lines=tuple(lines[comment.start_line - 1 : comment.end_line]))


def place_findings(issues: tuple[str, ...], diff: str) -> list[Finding]:
    """The model reviewer's issues, placed on the diff it reviewed."""
    return read_findings(issues, parse_diff(diff))
