"""Prompt files as `oompa.json` names them: include directives, the original's paths, and what
the engine cannot fill, each reported with its file and line at load (before any agent runs)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from oompa_lsp.adapters.config_file import load_config
from oompa_lsp.core.errors import ConfigError


def project(tmp_path: Path, files: dict[str, str], **config) -> Path:
    for name, text in files.items():
        (tmp_path / name).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / name).write_text(text, encoding="utf-8")
    base = {"workers": [{"model": "claude:opus", "prompt": "mine.md"}], "review_model": "claude:sonnet"}
    (tmp_path / "oompa.json").write_text(json.dumps({**base, **config}), encoding="utf-8")
    return tmp_path


def test_includes_are_expanded_recursively_relative_to_the_repository_then_the_file(tmp_path):
    root = project(tmp_path, {"mine.md": "top\n#oompa_directive:include_file \"parts/a.md\"\nend\n",
                              "parts/a.md": "a\n#oompa_directive:include_file \"b.md\"\n",  # next to a.md
                              "parts/b.md": "b\n"})
    loaded = load_config(root)
    assert loaded.template(loaded.worker_prompts[0]) == "top\na\nb\nend"


def test_an_include_cycle_names_the_file_and_line(tmp_path):
    root = project(tmp_path, {"mine.md": "#oompa_directive:include_file \"a.md\"\n",
                              "a.md": "a\n\n#oompa_directive:include_file \"mine.md\"\n"})
    with pytest.raises(ConfigError) as raised:
        load_config(root)
    assert str(raised.value).startswith(f"{root / 'a.md'}:3: include cycle: {root / 'mine.md'} -> {root / 'a.md'} -> ")


def test_a_missing_include_names_the_file_and_line(tmp_path):
    root = project(tmp_path, {"mine.md": "x\n#oompa_directive:include_file \"nowhere.md\"\n"})
    with pytest.raises(ConfigError) as raised:
        load_config(root)
    assert str(raised.value).startswith(f"{root / 'mine.md'}:2: included file 'nowhere.md' not found")


def test_unfillable_tokens_are_errors_and_unknown_dollar_names_warnings(tmp_path):
    root = project(tmp_path, {"mine.md": "{{TASKS_ROOT}} {pending_count} {\"json\": 1}\n$HOME and $$5\n{{FOO}}\n"
                                         "#oompa_directive:run \"x\"\n"})
    with pytest.raises(ConfigError, match=r"mine.md:3: `\{\{FOO\}\}` is not a token"):
        load_config(root)
    loaded = load_config(root, strict=False)
    assert [(e.where, e.problem.split(" ")[0]) for e in loaded.prompt_errors] == [("3", "`{{FOO}}`"), ("4", "an")]
    assert [str(w) for w in loaded.warnings if "mine.md" in w.where] == [
        f"{root / 'mine.md'}:2: `$HOME` is not a placeholder the engine knows; it is left as written "
        "(write `$$` for a literal `$`)"]


def test_the_originals_install_paths_fall_back_to_the_bundled_prompt_with_a_warning(tmp_path):
    root = project(tmp_path, {}, workers=[{"model": "claude:opus", "prompt": ["config/prompts/executor.md"]}],
                   review_model={"model": "claude:sonnet", "prompt": ["config/prompts/magicgenie-reviewer.md"]})
    with pytest.raises(ConfigError, match="magicgenie-reviewer.md"):  # no bundled prompt of that name
        load_config(root)
    (root / "oompa.json").write_text(json.dumps({"workers": [{"model": "claude:opus",
                                                              "prompt": ["config/prompts/executor.md"]}]}))
    loaded = load_config(root)
    assert Path(loaded.worker_prompts[0][0]).name == "executor.md" and Path(loaded.worker_prompts[0][0]).is_file()
    assert any("config/prompts/executor.md" in w.message and "bundled executor.md" in w.message for w in loaded.warnings)


def test_the_bundled_prompts_load_without_a_warning(tmp_path):
    roles = [{"model": "claude:opus", "role": role} for role in ("worker", "executor", "planner")]
    root = project(tmp_path, {}, workers=roles, planner={"model": "claude:opus"})
    loaded = load_config(root)
    assert loaded.warnings == [] and loaded.prompt_errors == []
    assert len(loaded.templates) == 5  # worker, executor, planner, reviewer, resolver


def test_a_prompt_that_asks_agents_to_merge_themselves_is_flagged_with_its_line(tmp_path):
    root = project(tmp_path, {"mine.md": "Do the task.\nWhen complete, commit and merge your work.\n"
                                         "Never run git push yourself.\n"})
    loaded = load_config(root)
    flagged = [str(w) for w in loaded.warnings if "mine.md" in w.where]
    assert flagged == [f"{root / 'mine.md'}:2: asks the agent to merge, push or switch branches: the engine commits "
                       "and lands work through its merge queue, and a move of the target by an agent fails its task; "
                       "remove the instruction"]
    (tmp_path / "b").mkdir()
    bundled = load_config(project(tmp_path / "b", {}, workers=[{"model": "claude:opus"}]))
    assert not [w for w in bundled.warnings if "merge, push" in str(w)]  # our own prompts forbid it instead
