"""The protocol module: docs/protocol.md cannot drift from it, and params are checked."""

from pathlib import Path

import pytest
from pygls.exceptions import JsonRpcInvalidParams

from oompa_lsp.lsp import protocol as p
from oompa_lsp.lsp.protocol_doc import render_markdown

DOC = Path(__file__).resolve().parents[2] / "docs" / "protocol.md"


def test_docs_protocol_md_is_generated_from_the_module():
    assert DOC.read_text(encoding="utf-8") == render_markdown(), (
        "docs/protocol.md is out of date: run `python -m oompa_lsp.lsp.protocol_doc > docs/protocol.md`")


def test_every_command_request_and_notification_is_documented():
    text = DOC.read_text(encoding="utf-8")
    for name in [*p.COMMANDS, *p.REQUESTS, *p.NOTIFICATIONS]:
        assert f"### `{name}`" in text


def test_bad_request_params_name_the_problem():
    bad = p.decode_params(p.DIFF, {"review": "x"})
    assert isinstance(bad, p.BadParams)
    assert "review_id" in bad.problem
    assert p.decode_params(p.DIFF, {"review_id": "rv1"}) == p.DiffParams("rv1")
    assert p.decode_params(p.STATUS, None) == p.StatusParams()


def test_command_arguments_are_checked_by_count_and_type():
    assert p.command_arguments(p.REJECT, ("rv1", "fix the test")) == ["rv1", "fix the test"]
    assert p.command_arguments(p.REJECT, ("rv1",)) == ["rv1"]
    with pytest.raises(JsonRpcInvalidParams, match=r"oompa.approve takes \[review_id, notes\], got 0"):
        p.command_arguments(p.APPROVE, ())
    with pytest.raises(JsonRpcInvalidParams, match="task_id must be a non-empty string"):
        p.command_arguments(p.REQUEUE, (7,))


def test_git_uris_round_trip_and_refuse_what_is_not_a_commit():
    uri = p.git_uri("src/a b.py", "0123abcd")
    assert p.parse_git_uri(uri) == ("src/a b.py", "0123abcd")
    with pytest.raises(JsonRpcInvalidParams, match="ref must be a commit sha"):
        p.parse_git_uri("oompa-git:/a.py?ref=--output=x")
    with pytest.raises(JsonRpcInvalidParams, match="expected oompa-git"):
        p.parse_git_uri("file:///a.py")
