"""oompa.json: every mistake gives one message with the file, the place and what to do."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from oompa_lsp.adapters.config_file import load_config
from oompa_lsp.core.config import parse_model_ref, reviewer_models
from oompa_lsp.core.errors import ConfigError


def write(tmp_path: Path, text: str) -> Path:
    (tmp_path / "oompa.json").write_text(text, encoding="utf-8")
    return tmp_path


def error_of(tmp_path: Path, text: str) -> str:
    with pytest.raises(ConfigError) as caught:
        load_config(write(tmp_path, text))
    return str(caught.value)


def test_original_oompa_config_loads(tmp_path):
    original = {"review_model": "codex:gpt-5.3-codex:medium",
                "workers": [{"model": "claude:opus", "iterations": 5, "count": 2, "prompt": "prompts/worker.md"},
                            {"model": "codex:gpt-5.3-codex:xhigh", "iterations": 3, "count": 1}]}
    (tmp_path / "prompts").mkdir()
    (tmp_path / "prompts" / "worker.md").write_text("be good", encoding="utf-8")
    loaded = load_config(write(tmp_path, json.dumps(original)))
    assert loaded.worker_prompts[0] == [str(tmp_path / "prompts" / "worker.md")]
    assert loaded.worker_prompts[1][0].endswith("worker.md")  # the bundled default
    assert reviewer_models(loaded.config)[0].model == "codex:gpt-5.3-codex:medium"
    assert parse_model_ref("codex:gpt-5.3-codex:xhigh").reasoning == "xhigh"


def test_bad_json_names_line_and_column(tmp_path):
    message = error_of(tmp_path, '{\n  "workers": [\n    {"model": "claude:opus",}\n  ]\n}')
    assert "oompa.json:3:" in message and "malformed" in message


def test_a_byte_order_mark_is_not_an_error_and_positions_ignore_it(tmp_path):
    (tmp_path / "oompa.json").write_bytes(b'\xef\xbb\xbf{"workers": [{"model": "claude:opus"}], "review": {"mode": "none"}}\r\n')
    assert load_config(tmp_path).config.workers[0].model == "claude:opus"
    (tmp_path / "oompa.json").write_bytes(b'\xef\xbb\xbf{"workers": [{"model": "claude:opus", "iteratons": 3}]}')
    with pytest.raises(ConfigError, match="1:39"):  # where an editor (which hides the mark) shows it
        load_config(tmp_path)


def test_unknown_key_names_its_path_and_position(tmp_path):
    message = error_of(tmp_path, '{"workers": [{"model": "claude:opus", "iteratons": 3}], "review": {"mode": "none"}}')
    assert "1:39" in message and "workers[0].iteratons" in message and "unknown field" in message


def test_wrong_type_names_the_key(tmp_path):
    message = error_of(tmp_path, '{"workers": [{"model": "claude:opus", "count": "two"}], "review": {"mode": "none"}}')
    assert "workers[0].count" in message and "Expected `int`" in message


def test_unknown_harness_is_an_error_not_a_default(tmp_path):
    message = error_of(tmp_path, '{"workers": [{"model": "cluade:opus"}], "review": {"mode": "none"}}')
    assert "unknown harness 'cluade'" in message and "workers[0].model" in message


def test_missing_prompt_file(tmp_path):
    message = error_of(tmp_path, '{"workers": [{"model": "claude:opus", "prompt": "nope.md"}], "review": {"mode": "none"}}')
    assert "nope.md" in message and "workers.0.prompt" in message


def test_no_reviewer_at_all_turns_review_off_and_says_so(tmp_path):
    loaded = load_config(write(tmp_path, '{"workers": [{"model": "claude:opus"}]}'))
    assert loaded.config.review.mode == "none"
    assert any("review is off" in str(w) and "merges without review" in str(w) for w in loaded.warnings)


def test_model_review_asked_for_without_reviewer_is_an_error(tmp_path):
    message = error_of(tmp_path, '{"workers": [{"model": "claude:opus"}], "review": {"mode": "model"}}')
    assert "review_model" in message and "no reviewer" in message


def test_custom_harness_needs_a_command(tmp_path):
    message = error_of(tmp_path, '{"workers": [{"model": "mine:x"}], "harnesses": {"mine": {}}, "review": {"mode": "none"}}')
    assert "harnesses.mine" in message and "command" in message


def test_cli_prints_one_line_and_no_traceback(tmp_path):
    write(tmp_path, '{"workers": [{"model": "claude:opus", "bogus": 1}]}')
    for argv in (["init", "-q"], ["-c", "user.name=t", "-c", "user.email=t@x.invalid", "commit", "-q", "--allow-empty", "-m", "init"]):
        subprocess.run(["git", *argv], cwd=tmp_path, check=True)
    result = subprocess.run([sys.executable, "-m", "oompa_lsp.cli", "-C", str(tmp_path), "tasks"],
                            capture_output=True, text=True, timeout=60)
    assert result.returncode != 0
    assert "Traceback" not in result.stderr
    assert "oompa.json:1:" in result.stderr and "bogus" in result.stderr


def test_parallel_checks_is_at_least_one(tmp_path):
    config = '{"workers": [{"model": "claude:opus"}], "review": {"mode": "none"}, "merge": {"parallel_checks": %s}}'
    (tmp_path / "oompa.json").write_text(config % "3", encoding="utf-8")
    assert load_config(tmp_path).config.merge.parallel_checks == 3
    message = error_of(tmp_path, config % "0")
    assert "merge.parallel_checks" in message and ">= 1" in message
