"""Commands posted by the CLI or another editor window reach the engine once, in order."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from oompa_lsp.adapters.control import inbox_dir, post, take
from oompa_lsp.core.commands import Approve, CancelTask, Reject, Requeue, StopSwarm

POSTER = r"""
import sys
from pathlib import Path
from oompa_lsp.adapters.control import post
from oompa_lsp.core.commands import Requeue
post(Path(sys.argv[1]), Requeue("t9"), sender="oompa requeue")
"""


def test_commands_are_taken_once_in_posting_order(tmp_path: Path) -> None:
    assert take(tmp_path) == []
    sent = [Approve("rv1"), Reject("rv2", "the tests do not cover the error path"), Requeue("t1"),
            CancelTask("t2"), StopSwarm()]
    for command in sent:
        post(tmp_path, command, sender="test")

    taken = take(tmp_path)

    assert [type(c) for c in taken] == [type(c) for c in sent]
    assert taken[1].review_id == "rv2" and taken[1].feedback.startswith("the tests")
    assert taken[4].reason == "stopped by the user"
    assert all(c.sender == "test" and c.sent_at > 0 for c in taken)
    assert take(tmp_path) == [] and list(inbox_dir(tmp_path).iterdir()) == []


def test_a_command_from_another_process_arrives_and_junk_is_skipped(tmp_path: Path) -> None:
    subprocess.run([sys.executable, "-c", POSTER, str(tmp_path)], check=True, timeout=30)
    (inbox_dir(tmp_path) / "00000000000000000000-1-junk.json").write_text('{"type": "FormatDisk"}')

    taken = take(tmp_path)

    assert [(type(c), c.task_id, c.sender) for c in taken] == [(Requeue, "t9", "oompa requeue")]
    assert list(inbox_dir(tmp_path).iterdir()) == []
